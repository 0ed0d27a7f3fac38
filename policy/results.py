"""What evaluating a case returns. Plain data, so the sync engine, the CLI and reports share it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class TargetState(StrEnum):
    RUNNING = "running"
    PAUSED = "paused"
    WARNING = "warning"
    MET = "met"
    BREACHED = "breached"


@dataclass(frozen=True, slots=True)
class TargetResult:
    """One timer of the case. ``remaining`` is in seconds of the target's own time (business seconds for
    business targets); negative means overdue. ``missed`` counts missed periodic updates;
    ``missed_due_at`` is the first due instant of the latest run of them and ``missed_until`` the
    instant that ended it (the late update, solving, a level change), None while it goes on.
    ``recheck_at``: for a periodic target already behind, when the next update will be missed too."""

    name: str
    metric: str
    level: str
    state: TargetState
    due_at: datetime | None
    warn_at: datetime | None
    met_at: datetime | None
    remaining: float | None
    duration: str
    calendar: str
    missed: int = 0
    missed_due_at: datetime | None = None
    missed_until: datetime | None = None
    recheck_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class ActionKey:
    """Identity of a side effect: it runs at most once per (case, action, level, reopen epoch)."""

    case_id: str
    action: str
    level: str
    epoch: int

    def __str__(self) -> str:
        return f"{self.case_id}:{self.action}:{self.level}:{self.epoch}"


@dataclass(frozen=True, slots=True)
class PlannedAction:
    """A side effect the policy asks for. ``kind`` is one of: note, tag, field, assign_group,
    add_follower, raise_level, set_level, notify, set_status, open_related; ``value`` its argument
    (``field`` carries "name=value"); ``targets`` the contacts of a notify."""

    key: ActionKey
    kind: str
    value: str
    due_at: datetime
    reason: str
    targets: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class EscalationResult:
    path: str
    level: int
    reached_at: datetime | None
    next_level: int | None
    next_at: datetime | None
    customer_requested: bool = False


@dataclass(frozen=True, slots=True)
class Evaluation:
    """Everything the policy says about one case at one instant."""

    case_id: str
    at: datetime
    level: str
    status: str
    case_type: str | None
    epoch: int
    open: bool
    targets: tuple[TargetResult, ...]
    escalation: EscalationResult | None
    due: tuple[PlannedAction, ...]
    upcoming: tuple[PlannedAction, ...]
    flags: tuple[str, ...]
    next_change_at: datetime | None = None
    level_defaulted: bool = False

    def target(self, name: str) -> TargetResult | None:
        return next((t for t in self.targets if t.name == name), None)
