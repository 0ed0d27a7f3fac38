"""The normalized case: what every connector produces and the policy evaluates.

Plain frozen dataclasses with slots rather than pydantic models: a sync cycle builds hundreds of
thousands of these, and they come from code (connectors), not from users, so validation at the
boundary of ``policy/`` would cost time and buy nothing. Instants are timezone-aware datetimes;
connectors convert the tracker's representation once, on the way in.

Every instant is held in UTC. Aware datetimes that share a tzinfo compare and subtract by wall clock
and ignore ``fold`` (PEP 495), so two replies in the repeated hour of a DST change, given in the
tracker's local zone, would sort wrongly; in UTC the wall clock is the instant. A connector that already
hands over UTC (the embedded tracker does) pays one identity check per instant.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum


def utc(t: datetime) -> datetime:
    """``t`` in UTC; a naive datetime is refused (it would silently be read as the host's local time)."""
    if t.tzinfo is UTC:
        return t
    if t.tzinfo is None or t.utcoffset() is None:
        raise ValueError(f"{t!r} is naive: the normalized case needs timezone-aware instants")
    return t.astimezone(UTC)


class Author(StrEnum):
    AGENT = "agent"
    CUSTOMER = "customer"


@dataclass(frozen=True, slots=True)
class LevelChange:
    """The case's level became ``level`` at ``at`` (the first entry is the level at opening)."""

    at: datetime
    level: str

    def __post_init__(self) -> None:  # frozen: object.__setattr__; inline, as it runs per entry
        if self.at.tzinfo is not UTC:
            object.__setattr__(self, "at", utc(self.at))


@dataclass(frozen=True, slots=True)
class StatusChange:
    """The case entered ``status`` (a name from the policy's status vocabulary) at ``at``."""

    at: datetime
    status: str

    def __post_init__(self) -> None:  # frozen: object.__setattr__; inline, as it runs per entry
        if self.at.tzinfo is not UTC:
            object.__setattr__(self, "at", utc(self.at))


@dataclass(frozen=True, slots=True)
class Reply:
    """A comment on the case. Only public agent replies count as responses and updates."""

    at: datetime
    author: Author
    public: bool = True

    def __post_init__(self) -> None:  # frozen: object.__setattr__; inline, as it runs per entry
        if self.at.tzinfo is not UTC:
            object.__setattr__(self, "at", utc(self.at))


@dataclass(frozen=True, slots=True)
class Milestone:
    """A named event recorded on the case: restoration, temporary_fix, permanent_fix, a custom one,
    or ``customer_escalation`` when the customer asks for more attention."""

    at: datetime
    name: str

    def __post_init__(self) -> None:  # frozen: object.__setattr__; inline, as it runs per entry
        if self.at.tzinfo is not UTC:
            object.__setattr__(self, "at", utc(self.at))


@dataclass(frozen=True, slots=True)
class Link:
    """A relation to another case: ``duplicate_of``, ``child_of`` (of a master case), ``related``."""

    kind: str
    target: str


@dataclass(frozen=True, slots=True)
class Case:
    """One support case with the timeline the timers are computed from.

    ``level_history`` and ``status_history`` are in time order; their last entries are the current
    level and status. ``hold_until`` is the set time of an On Hold status; ``etr`` an estimated time of
    resolution promised to the customer; ``provided`` the intake checklist items present on the case.
    ``requester_authorized`` is None when the tracker cannot tell.
    """

    id: str
    opened_at: datetime
    level_history: tuple[LevelChange, ...]
    status_history: tuple[StatusChange, ...]
    replies: tuple[Reply, ...] = ()
    milestones: tuple[Milestone, ...] = ()
    links: tuple[Link, ...] = ()
    case_type: str | None = None
    channel: str | None = None
    region: str | None = None
    requester: str | None = None
    requester_authorized: bool | None = None
    provided: frozenset[str] = field(default_factory=frozenset)
    hold_until: datetime | None = None
    etr: datetime | None = None
    updated_at: datetime | None = None

    def __post_init__(self) -> None:
        if self.opened_at.tzinfo is not UTC:
            object.__setattr__(self, "opened_at", utc(self.opened_at))
        for name in ("hold_until", "etr", "updated_at"):
            t = getattr(self, name)
            if t is not None and t.tzinfo is not UTC:
                object.__setattr__(self, name, utc(t))

    @property
    def level(self) -> str | None:
        return self.level_history[-1].level if self.level_history else None

    @property
    def status(self) -> str | None:
        return self.status_history[-1].status if self.status_history else None
