"""Facts derived once from a case's history, shared by every timer, escalation and lifecycle rule.

Everything here is computed from the case's own timeline (status history, replies, level changes,
milestones), never from when a sync happened to look.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from casewarden.errors import CaseError
from casewarden.policy.case import Author, Case
from casewarden.policy.compiled import Level, Policy, Status


@dataclass(frozen=True, slots=True)
class Segment:
    start: datetime
    end: datetime | None  # None: still in it
    status: Status


@dataclass(frozen=True, slots=True)
class LevelSpan:
    start: datetime
    end: datetime | None
    level: Level


@dataclass(frozen=True, slots=True)
class Timeline:
    case: Case
    segments: tuple[Segment, ...]
    levels: tuple[LevelSpan, ...]
    level: Level
    status: Status
    level_defaulted: bool
    epoch: int
    epoch_start: datetime
    stopped_at: datetime | None  # when the current solved/closed run began; None while open
    agent_updates: tuple[datetime, ...]  # public agent replies, in order
    customer_replies: tuple[datetime, ...]
    first_milestone: dict[str, datetime]
    first_active: datetime | None
    cache: dict[str, Any] = field(default_factory=dict)  # per-evaluation memo (e.g. escalation step times)

    def level_at(self, t: datetime) -> Level:
        for span in reversed(self.levels):
            if span.start <= t:
                return span.level
        return self.levels[0].level


def build_timeline(policy: Policy, case: Case) -> Timeline:
    """Resolve names against the policy and derive the facts timers need; CaseError when the policy
    cannot place the case (unknown level or status, unknown region)."""
    spans: list[LevelSpan] = []
    defaulted = False
    if case.level_history:
        for i, change in enumerate(case.level_history):
            lv = policy.level(change.level)
            if lv is None:
                raise CaseError(
                    case.id,
                    f"level '{change.level}' is not in policy '{policy.name}' "
                    f"(levels: {', '.join(policy.levels)})",
                )
            end = case.level_history[i + 1].at if i + 1 < len(case.level_history) else None
            spans.append(LevelSpan(max(change.at, case.opened_at) if i == 0 else change.at, end, lv))
        spans[0] = LevelSpan(case.opened_at, spans[0].end, spans[0].level)
    else:
        spans.append(LevelSpan(case.opened_at, None, default_level(policy, case)))
        defaulted = True

    if case.region is not None and policy.spec.regions and case.region not in policy.spec.regions:
        raise CaseError(
            case.id,
            f"region '{case.region}' is not in policy '{policy.name}' "
            f"(regions: {', '.join(policy.spec.regions)})",
        )

    history = case.status_history
    if not history:
        raise CaseError(case.id, "the case has no status")
    segments: list[Segment] = []
    epoch = 0
    epoch_start = case.opened_at
    prev: Status | None = None
    first_active: datetime | None = None
    for i, status_change in enumerate(history):
        st = policy.status(status_change.status)
        if st is None:
            raise CaseError(
                case.id,
                f"status '{status_change.status}' is not in policy '{policy.name}' "
                f"(statuses: {', '.join(policy.statuses)})",
            )
        start = case.opened_at if i == 0 else status_change.at
        end = history[i + 1].at if i + 1 < len(history) else None
        segments.append(Segment(start, end, st))
        if prev is not None and prev.stopped and not st.stopped:
            epoch += 1
            epoch_start = start
        if st.active and first_active is None:
            first_active = start
        prev = st
    current = segments[-1].status
    stopped_at = None
    if current.stopped:
        stopped_at = segments[-1].start
        for seg in reversed(segments):
            if not seg.status.stopped:
                break
            stopped_at = seg.start

    agent: list[datetime] = []
    customer: list[datetime] = []
    for r in case.replies:
        if r.public:
            (agent if r.author is Author.AGENT else customer).append(r.at)
    agent.sort()
    customer.sort()
    first_ms: dict[str, datetime] = {}
    for m in case.milestones:
        if m.name not in first_ms or m.at < first_ms[m.name]:
            first_ms[m.name] = m.at
    return Timeline(
        case,
        tuple(segments),
        tuple(spans),
        spans[-1].level,
        current,
        defaulted,
        epoch,
        epoch_start,
        stopped_at,
        tuple(agent),
        tuple(customer),
        first_ms,
        first_active,
    )


def default_level(policy: Policy, case: Case) -> Level:
    """Intake: the channel's default level (if it is one of the case type's levels), else the case
    type's default, else the policy's."""
    spec = policy.spec
    ctype = next((ct for ct in spec.case_types if ct.id == case.case_type), None)
    name = spec.intake.default_level_by_channel.get(case.channel) if case.channel is not None else None
    if ctype is not None and (name is None or name not in ctype.levels):
        name = ctype.default_level  # a channel default from another case type's levels does not apply
    lv = policy.level(name or spec.default_level)
    assert lv is not None  # references were checked at load
    return lv
