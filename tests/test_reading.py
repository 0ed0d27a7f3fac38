"""The shared reader of the files people write (``casewarden.policy.located``): a file that cannot be
YAML text, or YAML that would take memory or time out of proportion, is refused with one located
problem before anything is built from it."""

from __future__ import annotations

import os
import tracemalloc
from datetime import date
from pathlib import Path

import pytest

from casewarden.policy.located import (
    MAX_ALIAS_NODES,
    MAX_DEPTH,
    MAX_FILE_BYTES,
    YamlProblems,
    load_tree,
    plain,
    read_text,
    read_tree,
)

WHAT = "a test file is a mapping"


def problem_of(text: str) -> str:
    with pytest.raises(YamlProblems) as info:
        load_tree(text, filename="t.yaml", what=WHAT)
    [problem] = info.value.problems
    return str(problem)


def laughs(levels: int) -> str:
    """The 'billion laughs' file: each anchor repeats the one before ten times."""
    lines = ["l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 10) + "]" for i in range(1, levels)]
    return "\n".join(lines) + f"\nroot: *l{levels - 1}\n"


# --------------------------------------------------------------------------- files


def test_a_missing_file_a_directory_and_dev_zero_are_each_one_problem(tmp_path: Path) -> None:
    with pytest.raises(YamlProblems) as info:
        read_text(tmp_path / "nope.yaml", label="deployment file")
    assert str(info.value) == f"{tmp_path / 'nope.yaml'}: cannot read the deployment file: no such file"
    with pytest.raises(YamlProblems) as info:
        read_text(tmp_path, label="deployment file", filename="conf")
    assert str(info.value) == "conf: is a directory, not a deployment file"
    if Path("/dev/zero").exists():  # endless: only the first MiB and a byte are read
        with pytest.raises(YamlProblems) as info:
            read_text("/dev/zero", label="policy file")
        assert "larger than 1 MiB, the limit" in str(info.value)


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="needs a user whom chmod 000 stops")
def test_an_unreadable_file_says_why(tmp_path: Path) -> None:
    path = tmp_path / "secret.yaml"
    path.write_text("a: 1\n")
    path.chmod(0)
    with pytest.raises(YamlProblems) as info:
        read_text(path, label="policy file")
    assert "cannot read the policy file: Permission denied" in str(info.value)


def test_the_size_limit_is_exact(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_bytes(b"#" * (MAX_FILE_BYTES - 1) + b"\n")
    assert len(read_text(path, label="policy file")) == MAX_FILE_BYTES
    path.write_bytes(b"#" * MAX_FILE_BYTES + b"\n")
    with pytest.raises(YamlProblems):
        read_text(path, label="policy file")


def test_a_utf8_byte_order_mark_is_accepted_and_columns_count_from_the_text(tmp_path: Path) -> None:
    path = tmp_path / "bom.yaml"
    path.write_bytes(b"\xef\xbb\xbfa: 1\nb: [\n")
    with pytest.raises(YamlProblems) as info:
        read_tree(path, label="policy file", what=WHAT)
    [problem] = info.value.problems
    assert problem.line == 3 and problem.message.startswith("not valid YAML")
    path.write_bytes(b"\xef\xbb\xbfa: 1\n")
    assert plain(read_tree(path, label="policy file", what=WHAT)) == {"a": 1}


def test_the_label_names_the_file_kind_in_every_message(tmp_path: Path) -> None:
    path = tmp_path / "d.yaml"
    path.write_bytes("a: 1\n".encode("utf-16"))
    with pytest.raises(YamlProblems) as info:
        read_tree(path, label="deployment file", what=WHAT)
    assert "the deployment file is saved as UTF-16 LE" in str(info.value)


# --------------------------------------------------------------------------- YAML limits


def test_billion_laughs_fails_before_expanding_anything() -> None:
    tracemalloc.start()
    try:
        message = problem_of(laughs(9))  # 10**9 values once expanded
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert f"aliases here expand to more than {MAX_ALIAS_NODES} values" in message
    assert message.startswith("t.yaml:4:")  # the fourth anchor's list crosses the limit
    assert peak < 20 * 1024 * 1024, f"peak {peak} bytes"


def test_aliases_within_the_limit_expand_as_usual() -> None:
    text = (
        "base: &targets [{metric: first_response, within: 1 hour}, {metric: resolution, within: 3 days}]\n"
        "defaults: &calendar {zone: UTC, hours: 24x7}\n"
        "levels:\n" + "".join(f"  - {{id: L{i}, targets: *targets}}\n" for i in range(20)) + "calendars:\n"
        "  office:\n    <<: *calendar\n    zone: Europe/Paris\n"
    )
    data = plain(load_tree(text, filename="t.yaml", what=WHAT))
    assert data["levels"][19]["targets"][1] == {"metric": "resolution", "within": "3 days"}
    assert data["calendars"]["office"] == {"zone": "Europe/Paris", "hours": "24x7"}


def test_an_alias_inside_its_own_anchor_is_a_cycle() -> None:
    message = problem_of("a: &loop [1, *loop]\n")
    assert message == (
        "t.yaml:1:14: a[1]: the alias '*loop' is inside the value it names (a cycle): an alias can only "
        "repeat a value that is complete"
    )


@pytest.mark.parametrize("style", ["flow", "block"])
def test_nesting_is_limited_to_max_depth(style: str) -> None:
    def nested(depth: int) -> str:  # the root mapping is the first level
        if style == "flow":
            return "a: " + "[" * (depth - 1) + "]" * (depth - 1) + "\n"
        keys = "".join("  " * i + f"k{i}:\n" for i in range(depth - 1))
        return keys + "  " * (depth - 1) + "x: 1\n"

    load_tree(nested(MAX_DEPTH), filename="t.yaml", what=WHAT)
    message = problem_of(nested(MAX_DEPTH + 1))
    assert f"nested more than {MAX_DEPTH} levels deep (the limit)" in message


def test_a_long_run_of_brackets_is_refused_at_the_first_one_past_the_limit() -> None:
    message = problem_of("a: " + "[" * 5000 + "]" * 5000 + "\n")
    assert message.startswith(f"t.yaml:1:{4 + MAX_DEPTH}: a: nested more than")


@pytest.mark.parametrize(
    ("text", "tag"),
    [
        ("a: !include other.yaml\n", "!include"),
        ("a: !!python/object/apply:os.system [ls]\n", "!!python/object/apply:os.system"),
        ("a: !!binary aGVsbG8=\n", "!!binary"),
        ("a: !!set {x, y}\n", "!!set"),
    ],
)
def test_tags_outside_the_core_schema_are_refused(text: str, tag: str) -> None:
    assert f"t.yaml:1:4: a: the YAML tag '{tag}' is not supported" in problem_of(text)


def test_core_tags_and_impossible_dates_read_as_what_was_written() -> None:
    text = "a: !!str 12\nb: 2026-02-30\nc: 2026-02-28\nd: 1" + "0" * 5000 + "\n"
    data = plain(load_tree(text, filename="t.yaml", what=WHAT))
    assert data["a"] == "12"
    assert data["b"] == "2026-02-30"  # not a date: the field that wants one says so, with its path
    assert data["c"] == date(2026, 2, 28)
    assert data["d"] == "1" + "0" * 5000  # past Python's digit limit for int(): left as text


def test_a_duplicate_key_names_its_first_line() -> None:
    assert problem_of("a:\n  b: 1\n  c: 2\n  b: 3\n") == (
        "t.yaml:4:3: a.b: duplicate key 'b' (first at line 2): a key appears once in a mapping"
    )


def test_control_characters_are_located_with_their_field() -> None:
    assert problem_of("a:\n  b: x\x00y\n") == (
        "t.yaml:2:7: a.b: a NUL character (byte 0x00): a text file has none; was the file written by a "
        "tool that pads with zeros?"
    )
    assert problem_of("a: [1, 2\x1b]\n").startswith("t.yaml:1:9: a")
