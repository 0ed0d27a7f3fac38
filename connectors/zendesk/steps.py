"""One Zendesk update (an audit) in one shape, whether it came from the audits API or the ticket events
export, which describe the same update differently (``events`` with ``field_name``/``value`` vs
``child_events`` keyed by the field; ``via`` an object vs a string; ``created_at`` vs ``timestamp``).
The timeline is built from these steps only, so both sources give the very same case.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

__all__ = ["Comment", "Step", "from_audit", "from_event", "parse_instant"]

_META_KEYS = frozenset({"id", "via", "via_reference_id", "previous_value", "event_type", "type"})


def parse_instant(text: Any) -> datetime | None:
    if text in (None, ""):
        return None
    try:
        at = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return None
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


@dataclass(frozen=True)
class Comment:
    author_id: int | None
    public: bool
    body: str


@dataclass
class Step:
    """What one update did: field values after it (``status``, ``custom_status_id``, ``priority``,
    ``tags`` as the whole list, ``type``, ``problem_id``, custom fields as ``cf:<id>``), its comment, and
    the tickets a merge joined it with."""

    audit_id: int
    ticket_id: int
    at: datetime
    author_id: int | None
    changes: dict[str, Any] = field(default_factory=dict)
    comment: Comment | None = None
    creating: bool = False
    merged_with: tuple[int, ...] = ()
    metadata_keys: tuple[str, ...] = ()


def _comment(raw: dict[str, Any]) -> Comment:
    author = raw.get("author_id")
    return Comment(
        int(author) if author is not None else None, bool(raw.get("public", True)), str(raw.get("body") or "")
    )


def from_audit(audit: dict[str, Any]) -> Step:
    """A step from ``GET /tickets/{id}/audits``."""
    at = parse_instant(audit.get("created_at")) or datetime.fromtimestamp(0, UTC)
    step = Step(int(audit["id"]), int(audit["ticket_id"]), at, audit.get("author_id"))
    for event in audit.get("events") or []:
        kind = event.get("type")
        if kind in ("Create", "Change"):
            step.creating = step.creating or kind == "Create"
            name = str(event.get("field_name"))
            step.changes["cf:" + name if name.isdigit() else name] = event.get("value")
        elif kind == "Comment":
            step.comment = _comment(event)
    source = (audit.get("via") or {}).get("source") or {}
    if source.get("rel") == "merge":
        step.merged_with = tuple(int(i) for i in (source.get("from") or {}).get("ticket_ids") or [])
    custom = (audit.get("metadata") or {}).get("custom") or {}
    keys = custom.get("casewarden")
    if isinstance(keys, list):
        step.metadata_keys = tuple(str(k) for k in keys)
    return step


def from_event(event: dict[str, Any]) -> Step:
    """A step from the incremental ticket events export (read with ``include=comment_events``)."""
    at = datetime.fromtimestamp(int(event["timestamp"]), UTC)
    step = Step(int(event["id"]), int(event["ticket_id"]), at, event.get("updater_id"))
    for child in event.get("child_events") or []:
        kind = child.get("event_type")
        if kind in ("Create", "Change"):
            step.creating = step.creating or kind == "Create"
            for name, value in child.items():
                if name in _META_KEYS or name in ("added_tags", "removed_tags"):
                    continue
                if name == "custom_ticket_fields" and isinstance(value, dict):
                    for fid, fval in value.items():
                        step.changes[f"cf:{fid}"] = fval
                else:
                    step.changes[name] = value
        elif kind == "Comment" and "body" in child:
            step.comment = _comment(child)
    if event.get("merged_ticket_ids"):
        step.merged_with = tuple(int(i) for i in event["merged_ticket_ids"])
    return step
