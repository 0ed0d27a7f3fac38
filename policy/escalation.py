"""Escalation paths: the level a case has reached, when the next falls, and the actions each level runs.

The level is measured from the path's start event (the opening, or the reopen that started the current
epoch; or the moment the current level was set) on the path's calendar. It never goes down while the
case is open: the clock freezes when the case is solved or closed. A customer-requested escalation
jumps straight to the path's ``customer_request`` level.
"""

from __future__ import annotations

from datetime import datetime

from casewarden.policy.clock import add_duration
from casewarden.policy.compiled import EscalationPath, EscalationStep, Policy
from casewarden.policy.references import CUSTOMER_ESCALATION
from casewarden.policy.results import ActionKey, EscalationResult, PlannedAction
from casewarden.policy.timeline import Timeline


def step_times(
    path: EscalationPath, start: datetime, until: datetime | None = None
) -> list[tuple[EscalationStep, datetime]]:
    """When each time-based level of the path falls for a case whose path started at ``start`` (levels
    reached only by a customer request are left out). With ``until``, stop after the first level that
    falls later: the rest cannot matter yet, and each costs a calendar computation."""
    cal = path.calendar
    floor = add_duration(cal, path.not_before, start) if path.not_before is not None else None
    out = []
    for step in path.steps:
        if step.after is None:
            continue
        at = add_duration(cal, step.after, start)
        if floor is not None and floor.timestamp() > at.timestamp():  # one zone: compare instants
            at = floor
        out.append((step, at))
        if until is not None and at > until:
            break
    return out


def _path_start(tl: Timeline, path: EscalationPath) -> datetime:
    if path.start == "level_set":
        return max(tl.epoch_start, tl.levels[-1].start)
    return tl.epoch_start


def _reached(
    tl: Timeline, path: EscalationPath, start: datetime, end: datetime
) -> tuple[list[tuple[EscalationStep, datetime]], int, datetime | None, bool, datetime | None]:
    """On ``path`` started at ``start``, as of ``end``: the step times computed, the level reached, when,
    whether by a customer's request, and when that request takes (or took) effect."""
    times = step_times(path, start, until=end)
    level, reached_at = 0, None
    for step, at in times:
        if at <= end:
            level, reached_at = step.level, at
    customer = False
    requests = [
        m.at for m in tl.case.milestones if m.name == CUSTOMER_ESCALATION and tl.epoch_start <= m.at <= end
    ]
    jump_at: datetime | None = None
    if requests and path.customer_request:
        jump_at = min(requests)
        if path.not_before is not None:
            # "cannot be escalated before" binds a customer's request too: it waits
            jump_at = max(jump_at, add_duration(path.calendar, path.not_before, start))
        if jump_at <= end and path.customer_request > level:
            level, reached_at, customer = path.customer_request, jump_at, True
    return times, level, reached_at, customer, jump_at


def evaluate_escalation(policy: Policy, tl: Timeline, now: datetime) -> EscalationResult | None:
    path = tl.level.path
    end = min(now, tl.stopped_at) if tl.stopped_at is not None else now
    if path is None:
        return _reached_before(tl, end)
    start = _path_start(tl, path)
    times, level, reached_at, customer, jump_at = _reached(tl, path, start, end)
    tl.cache["escalation_times"] = times
    nxt = next(((s.level, at) for s, at in times if s.level > level), None)
    if nxt is None and len(times) < sum(1 for s in path.steps if s.after is not None):
        times = step_times(path, start)  # a customer's jump went past the levels computed so far
        tl.cache["escalation_times"] = times
        nxt = next(((s.level, at) for s, at in times if s.level > level), None)
    if (
        jump_at is not None
        and jump_at > end
        and path.customer_request
        and path.customer_request > level
        and (nxt is None or jump_at.timestamp() <= nxt[1].timestamp())
    ):
        nxt = (path.customer_request, jump_at)
    if tl.stopped_at is not None:
        nxt = None
    return EscalationResult(
        path.name, level, reached_at, nxt[0] if nxt else None, nxt[1] if nxt else None, customer
    )


def _reached_before(tl: Timeline, end: datetime) -> EscalationResult | None:
    """The current level has no escalation path, but the case may have been escalated under an earlier
    level of this epoch (a customer escalation whose action raised it to a level without a path): that
    level stands, frozen, since it never goes down while the case is open. The highest one reached,
    each earlier path measured until its level ended."""
    best: tuple[EscalationResult, list[tuple[EscalationStep, datetime]]] | None = None
    for ls in tl.levels[:-1]:
        path = ls.level.path
        if path is None or ls.end is None or ls.end <= tl.epoch_start:
            continue
        start = max(tl.epoch_start, ls.start) if path.start == "level_set" else tl.epoch_start
        times, level, reached_at, customer, _jump = _reached(tl, path, start, min(ls.end, end))
        if level and (best is None or level > best[0].level):
            best = EscalationResult(path.name, level, reached_at, None, None, customer), times
    if best is None:
        return None
    tl.cache["escalation_times"] = best[1]
    return best[0]


def escalation_actions(
    policy: Policy, tl: Timeline, result: EscalationResult | None, now: datetime
) -> list[PlannedAction]:
    """The actions of every level reached (due) and of the next level (upcoming), each keyed so it runs
    once per case and reopen epoch."""
    if result is None:
        return []
    path = policy.paths[result.path]
    times = {s.level: at for s, at in tl.cache["escalation_times"]}
    out: list[PlannedAction] = []
    case_id = tl.case.id
    for step in path.steps:
        if step.level > result.level and step.level != result.next_level:
            continue
        due = times.get(step.level)
        if step.level <= result.level and result.customer_requested and result.reached_at is not None:
            due = (
                min(due, result.reached_at, key=datetime.timestamp) if due is not None else result.reached_at
            )
        if due is None:
            continue
        why = (
            f"escalation level {step.level}{' (' + step.name + ')' if step.name else ''} on path {path.name}"
        )
        if result.customer_requested and step.level <= result.level:
            why += ", requested by the customer"
        level = str(step.level)
        for action_id, kind, value, targets in step.compiled:
            key = ActionKey(case_id, action_id, level, tl.epoch)
            out.append(PlannedAction(key, kind, why if kind == "notify" else value, due, why, targets))
    return out
