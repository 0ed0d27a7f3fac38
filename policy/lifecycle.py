"""Lifecycle rules: what should happen to a case because of where it is in its life, and when.

Each rule yields :class:`PlannedAction` with the instant it falls due, so the sync engine both runs what
is due and knows when the next one falls without re-reading the case.
"""

from __future__ import annotations

import bisect
from datetime import datetime

from casewarden.policy.clock import Span, add_duration
from casewarden.policy.compiled import Policy
from casewarden.policy.durations import DurationKind
from casewarden.policy.model import Metric
from casewarden.policy.results import ActionKey, PlannedAction, TargetResult, TargetState
from casewarden.policy.timeline import Timeline

RESTORATION_EVENTS = (Metric.RESTORATION.value, Metric.TEMPORARY_FIX.value)


def lifecycle_actions(
    policy: Policy, tl: Timeline, targets: tuple[TargetResult, ...], now: datetime
) -> list[PlannedAction]:
    out: list[PlannedAction] = []
    out += _breach_notes(tl, targets)
    out += _workaround_step_down(tl)
    out += _reopen(policy, tl)
    out += _close_no_response(policy, tl)
    out += _resume_from_hold(policy, tl)
    out += _master_updates(policy, tl, now)
    return out


def _key(tl: Timeline, action: str, level: str) -> ActionKey:
    return ActionKey(tl.case.id, action, level, tl.epoch)


def _breach_notes(tl: Timeline, targets: tuple[TargetResult, ...]) -> list[PlannedAction]:
    """A note per breach. A breach stays a fact once the target is met late, so a note that could not
    be written while it was running is still owed; a periodic target's breach is keyed by how many
    updates were missed, so each further miss gets its own note."""
    out = []
    for t in targets:
        if t.state is TargetState.BREACHED and t.due_at is not None:
            action = f"breach.{t.name}"
            if t.missed:
                action += f".{t.missed}"
            why = f"{t.level} {t.name.replace('_', ' ')} target ({t.duration}) breached at {t.due_at.isoformat()}"
            out.append(PlannedAction(_key(tl, action, t.level), "note", why, t.due_at, why))
    return out


def _workaround_step_down(tl: Timeline) -> list[PlannedAction]:
    """A successful workaround steps the level down (S1 -> S2), once, if nobody changed it since."""
    level = tl.level
    target = level.spec.on_workaround
    if target is None or tl.status.stopped:
        return []
    times = [tl.first_milestone[e] for e in RESTORATION_EVENTS if e in tl.first_milestone]
    if not times:
        return []
    at = min(times)
    if at < tl.levels[-1].start:
        return []  # the level was set after the workaround: a person decided
    why = f"workaround in place since {at.isoformat()}: {level.id} steps down to {target}"
    return [PlannedAction(_key(tl, "workaround_step_down", level.id), "set_level", target, at, why)]


def _reopen(policy: Policy, tl: Timeline) -> list[PlannedAction]:
    """A customer reply on a closed case reopens it within the window, else opens a related case."""
    lc = policy.spec.lifecycle
    if tl.stopped_at is None or lc.reopen_window is None or lc.reopen_status is None:
        return []
    i = bisect.bisect_right(tl.customer_replies, tl.stopped_at)
    if i >= len(tl.customer_replies):
        return []
    reply = tl.customer_replies[i]
    behaviour = tl.status.spec.customer_reply
    if behaviour == "ignore":
        return []
    window = policy.duration(lc.reopen_window)
    limit = add_duration(policy.default_calendar, window, tl.stopped_at)
    if reply <= limit and behaviour == "reopen":
        why = f"customer replied {reply.isoformat()}, within {lc.reopen_window} of closing: reopen"
        return [PlannedAction(_key(tl, "reopen", tl.level.id), "set_status", lc.reopen_status, reply, why)]
    why = (
        f"customer replied {reply.isoformat()} to a case closed as {tl.status.name}: new related case"
        if behaviour == "new_case"
        else f"customer replied {reply.isoformat()}, more than {lc.reopen_window} after closing: new related case"
    )
    return [
        PlannedAction(
            _key(tl, "open_related", tl.level.id),
            "open_related",
            f"Follow-up to case {tl.case.id}",
            reply,
            why,
        )
    ]


def _close_no_response(policy: Policy, tl: Timeline) -> list[PlannedAction]:
    rule = policy.spec.lifecycle.close_no_response
    if rule is None:
        return []
    seg = tl.segments[-1]
    closed_by_rule = False
    if seg.status.category.value != "pending":
        # a case this rule already closed still owns its note, so a note that failed is retried
        before = tl.segments[-2] if len(tl.segments) > 1 else None
        if seg.status.name != rule.status or before is None or before.status.category.value != "pending":
            return []
        seg, closed_by_rule = before, True
    since = seg.start
    cal = (
        policy.calendars[rule.calendar]
        if rule.calendar
        else (policy.region_calendar(tl.case.region) or policy.default_calendar)
    )
    after = policy.duration(rule.after)
    deadline = add_duration(cal, after, since)
    out = []
    if rule.warn_before and not closed_by_rule:
        ahead = policy.duration(rule.warn_before)
        if after.kind is DurationKind.BUSINESS_DAYS and ahead.kind is DurationKind.BUSINESS_DAYS:
            warn_at = cal.add_business_days(since, after.days - ahead.days)
        else:
            total = Span(cal, after.business or after.kind is DurationKind.BUSINESS_DAYS).between(
                since, deadline
            )
            back = ahead.seconds if ahead.kind is DurationKind.ELAPSED else total / max(after.days, 1)
            warn_at = Span(cal, True).add(since, max(total - back, 0))
        why = f"no customer response since {since.isoformat()}: the case closes at {deadline.isoformat()}"
        out.append(
            PlannedAction(_key(tl, "no_response_warning", tl.level.id), "public_note", why, warn_at, why)
        )
    why = f"no customer response for {rule.after} since {since.isoformat()}"
    out.append(
        PlannedAction(_key(tl, "close_no_response.note", tl.level.id), "note", rule.note, deadline, why)
    )
    if not closed_by_rule:
        out.append(
            PlannedAction(
                _key(tl, "close_no_response", tl.level.id), "set_status", rule.status, deadline, why
            )
        )
    return out


def _resume_from_hold(policy: Policy, tl: Timeline) -> list[PlannedAction]:
    seg = tl.segments[-1]
    resume = policy.spec.lifecycle.resume_status
    if not seg.status.holds_until or resume is None or tl.case.hold_until is None:
        return []
    why = f"hold set until {tl.case.hold_until.isoformat()}: resume work"
    # keyed by the hold's start so that a second hold later resumes too
    action = f"resume.{int(seg.start.timestamp())}"
    return [PlannedAction(_key(tl, action, tl.level.id), "set_status", resume, tl.case.hold_until, why)]


def _master_updates(policy: Policy, tl: Timeline, now: datetime) -> list[PlannedAction]:
    """A master case owes its children (and the status page) an update on a fixed cadence."""
    rule = policy.spec.lifecycle.master_cases
    if rule is None or tl.level.id not in rule.levels or tl.status.stopped:
        return []
    every = policy.duration(rule.update_every)
    last = tl.agent_updates[-1] if tl.agent_updates else tl.epoch_start
    # on the calendar a target of the level would use (no calendar of its own): business hours and
    # business days count only open time, elapsed time runs on
    cal = tl.level.calendar or policy.region_calendar(tl.case.region) or policy.default_calendar
    due = add_duration(cal, every, last)
    # one reminder per missed slot: keyed by the update it follows
    slot = int(last.timestamp())
    why = f"master case: an update to the linked cases is owed every {rule.update_every} (last {last.isoformat()})"
    return [PlannedAction(_key(tl, f"master_update.{slot}", tl.level.id), "note", why, due, why)]
