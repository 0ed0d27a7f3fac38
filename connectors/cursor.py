"""A resume point for trackers that only have ``updated_at``: the newest instant read plus the case ids
already seen at it.

Reading again from that instant (inclusive) and dropping the ids seen there loses nothing at a tie (many
cases updated in one second, a page boundary inside that second, a write that lands between pages) and
reads nothing twice. The instant is never advanced past the cycle's start (``until``), so a case written
later in the same second is read next cycle. Serialized as JSON so the engine can store it opaquely.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from casewarden.errors import ConnectorError

__all__ = ["TimeCursor"]


@dataclass(frozen=True)
class TimeCursor:
    at: datetime
    seen: frozenset[str]

    def to_json(self) -> dict[str, Any]:
        return {"at": self.at.astimezone(UTC).isoformat(timespec="microseconds"), "seen": sorted(self.seen)}

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> TimeCursor | None:
        if not data:
            return None
        try:
            at = datetime.fromisoformat(str(data["at"]))
            seen = frozenset(str(s) for s in data.get("seen", ()))
        except (KeyError, TypeError, ValueError) as exc:
            raise ConnectorError(f"the saved resume point is not a time cursor ({exc}); reset it") from None
        if at.tzinfo is None:
            at = at.replace(tzinfo=UTC)
        return cls(at, seen)

    def is_seen(self, case_id: str, updated_at: datetime | None) -> bool:
        """Whether a case read again at the cursor's own instant was already handled."""
        return updated_at == self.at and case_id in self.seen

    def advance(self, stamped: Sequence[tuple[str, datetime | None]], cap: datetime) -> TimeCursor:
        """The cursor after a page of (case id, updated_at), never past ``cap``."""
        return advance(self, stamped, cap) or self


def advance(
    cursor: TimeCursor | None, stamped: Sequence[tuple[str, datetime | None]], cap: datetime
) -> TimeCursor | None:
    stamps = [at for _cid, at in stamped if at is not None]
    if not stamps:
        return cursor
    top = min(max(stamps), cap)
    ids = frozenset(cid for cid, at in stamped if at == top)
    if cursor is not None and cursor.at == top:
        ids = ids | cursor.seen
    return TimeCursor(top, ids)
