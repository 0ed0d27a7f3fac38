"""The malformed-policy corpus: every file in ``tests/corpus/policy`` holds one mistake, and
``casewarden policy validate`` must answer it with one located line and exit code 1, never a traceback.

Each file states what the answer must be in its first line::

    # expect: LINE: FIELD.PATH: a fragment of the message
    # also: another fragment (optional, any number of lines)

``-`` stands for "no line" or "no field" (a file that cannot be read as text has neither). Files whose
first line cannot hold a comment (binary, UTF-16, UTF-32) are described in ``expectations.yaml``.
The expected lines were counted from where each mistake was written, not from the program's output.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from ruamel.yaml import YAML

from casewarden.sync.cli import main

CORPUS = Path(__file__).parent / "corpus" / "policy"
SIDECAR = CORPUS / "expectations.yaml"
_EXPECT = re.compile(r"# expect: (?P<line>\d+|-): (?P<path>\S+): (?P<fragment>.+)")


@dataclass(frozen=True)
class Expectation:
    line: int | None
    path: str
    fragments: tuple[str, ...]


def _from_comments(path: Path) -> Expectation | None:
    head = path.read_bytes()[:4096].decode("utf-8", errors="replace").removeprefix("\ufeff").splitlines()
    found = _EXPECT.fullmatch(head[0]) if head else None
    if found is None:
        return None
    also = []
    for text in head[1:]:
        if not text.startswith("# also: "):
            break
        also.append(text.removeprefix("# also: "))
    line = found["line"]
    return Expectation(
        None if line == "-" else int(line),
        "" if found["path"] == "-" else found["path"],
        (found["fragment"], *also),
    )


def read_expectations(corpus: Path) -> dict[str, Expectation]:
    """Every corpus file's expected answer: from its ``# expect:`` line, or from the folder's
    ``expectations.yaml`` for files that cannot hold a comment. Shared by the deployment corpus."""
    sidecar = corpus / "expectations.yaml"
    side = YAML(typ="safe").load(sidecar.read_text(encoding="utf-8"))
    out: dict[str, Expectation] = {}
    for path in sorted(corpus.glob("*.yaml")):
        if path == sidecar:
            continue
        if path.name in side:
            spec = side[path.name]
            out[path.name] = Expectation(spec["line"], spec["path"], (spec["message"], *spec.get("also", [])))
        else:
            found = _from_comments(path)
            assert found is not None, f"{path.name}: no '# expect:' line and no entry in {sidecar.name}"
            out[path.name] = found
    return out


EXPECTATIONS = read_expectations(CORPUS)


def test_the_corpus_is_big_enough_and_every_sidecar_entry_has_a_file() -> None:
    assert len(EXPECTATIONS) >= 100
    side = YAML(typ="safe").load(SIDECAR.read_text(encoding="utf-8"))
    assert set(side) <= set(EXPECTATIONS)


def assert_answered(
    result: Result, path: Path, expected: Expectation, *, exit_code: int = 1, nothing_else: bool = False
) -> None:
    """The exit code, no traceback, and exactly one problem line naming file, line, field and the
    message (``nothing_else``: and no other line on stderr)."""
    assert result.exit_code == exit_code, result.output
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    errors = [
        line
        for line in result.stderr.splitlines()
        if (line.strip() if nothing_else else line.startswith("error "))
    ]
    assert len(errors) == 1, "\n".join(errors)
    [error] = errors
    where = f"error {path}:"
    if expected.line is not None:
        where += f"{expected.line}:"
    assert error.startswith(where), f"expected {where!r}: {error}"
    rest = error[len(where) :]
    if expected.line is not None:
        rest = rest.split(":", 1)[1]  # the column
    if expected.path:
        assert rest.startswith(f" {expected.path}: "), f"expected field {expected.path!r}: {error}"
    else:  # no field: the message follows the location
        assert rest.startswith(f" {expected.fragments[0]}"), f"expected no field: {error}"
    for fragment in expected.fragments:
        assert fragment in error, f"expected {fragment!r} in: {error}"


@pytest.mark.parametrize("name", sorted(EXPECTATIONS))
def test_validate_answers_each_mistake_with_one_located_line(name: str) -> None:
    path = CORPUS / name
    result = CliRunner().invoke(main, ["policy", "validate", str(path)])
    assert_answered(result, path, EXPECTATIONS[name])
    assert "1 of 1 file(s) have problems." in result.stderr


SAMPLE = sorted(EXPECTATIONS)[::7]


@pytest.mark.parametrize("name", SAMPLE)
def test_explain_answers_the_same_way(name: str) -> None:
    path = CORPUS / name
    result = CliRunner().invoke(main, ["policy", "explain", str(path)])
    assert_answered(result, path, EXPECTATIONS[name])
    assert "1 problem(s) found." in result.stderr
    assert result.stdout == ""
