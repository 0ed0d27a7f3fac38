"""How markers are written into, and read out of, comment bodies (no I/O: see :mod:`.markers`)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from casewarden.connectors.base import MARKER_PREFIX, marker_text

if TYPE_CHECKING:
    from casewarden.connectors.zendesk.steps import Step

__all__ = ["RECORD_HEADER", "is_record_only", "keys_in", "keys_of_steps", "with_markers"]

#: the first line of a private comment casewarden adds only to record keyed changes (no note asked)
RECORD_HEADER = "casewarden recorded this update."
_LINE = re.compile(r"^[ \t]*\[" + re.escape(MARKER_PREFIX) + r"([^\]\r\n]+)\][ \t]*\r?$", re.MULTILINE)


def keys_in(body: str) -> set[str]:
    return set(_LINE.findall(body)) if "[" + MARKER_PREFIX in body else set()


def with_markers(texts: Sequence[str], keys: Sequence[str]) -> str:
    """One comment body: the notes' texts (or the record header), then one marker line per key."""
    parts = [t for t in texts if t] or [RECORD_HEADER]
    return "\n\n".join(parts) + "".join(f"\n{marker_text(k)}" for k in keys)


def is_record_only(body: str) -> bool:
    """A comment that only records keys: not a reply anyone wrote, so not part of the timeline."""
    rest = _LINE.sub("", body).strip()
    return rest in ("", RECORD_HEADER)


def keys_of_steps(steps: Sequence[Step]) -> set[str]:
    """The keys recorded by these updates: marker lines of private comments, and audit metadata."""
    found: set[str] = set()
    for step in steps:
        found.update(step.metadata_keys)
        if step.comment is not None and not step.comment.public:
            found |= keys_in(step.comment.body)
    return found
