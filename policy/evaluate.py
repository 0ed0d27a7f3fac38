"""Evaluate a case against a policy at a given instant: targets, escalation, lifecycle, intake.

Pure and deterministic: ``now`` is an argument, nothing reads the clock or does I/O, so the same case
at the same instant always gets the same answer, in tests, in ``plan`` and in ``run``.
"""

from __future__ import annotations

import math
from datetime import datetime

from casewarden.policy.case import Case, utc
from casewarden.policy.clock import Measure, Span, measure
from casewarden.policy.compiled import Level, Policy, Target
from casewarden.policy.durations import Duration, DurationKind
from casewarden.policy.escalation import escalation_actions, evaluate_escalation
from casewarden.policy.intake import intake_flags
from casewarden.policy.lifecycle import lifecycle_actions
from casewarden.policy.model import Metric
from casewarden.policy.results import Evaluation, TargetResult, TargetState
from casewarden.policy.timeline import Timeline, build_timeline


def evaluate(policy: Policy, case: Case, now: datetime) -> Evaluation:
    """Everything the policy says about ``case`` at ``now``. Raises CaseError if it cannot place it.

    Instants computed on a calendar come back in its zone; two of them that share a ZoneInfo compare by
    wall clock (PEP 495), which is wrong in the repeated hour of a DST change, so they are ordered by
    epoch seconds here. The case's own instants, and ``now``, are UTC."""
    now = utc(now)
    tl = build_timeline(policy, case)
    escalation = evaluate_escalation(policy, tl, now)
    targets = tuple(evaluate_targets(policy, tl, now, escalation.reached_at if escalation else None))
    actions = [*escalation_actions(policy, tl, escalation, now), *lifecycle_actions(policy, tl, targets, now)]
    due = tuple(a for a in actions if a.due_at <= now)
    upcoming = tuple(sorted((a for a in actions if a.due_at > now), key=lambda a: a.due_at.timestamp()))
    boundaries = [a.due_at for a in upcoming]
    for t in targets:
        for instant in (t.warn_at, t.due_at):
            if (
                instant is not None
                and instant > now
                and t.state in (TargetState.RUNNING, TargetState.WARNING)
            ):
                boundaries.append(instant)
    if escalation and escalation.next_at and escalation.next_at > now:
        boundaries.append(escalation.next_at)
    return Evaluation(
        case_id=case.id,
        at=now,
        level=tl.level.id,
        status=tl.status.name,
        case_type=case.case_type,
        epoch=tl.epoch,
        open=not tl.status.stopped,
        targets=targets,
        escalation=escalation,
        due=due,
        upcoming=upcoming,
        flags=tuple(intake_flags(policy, tl)),
        next_change_at=min(boundaries, key=datetime.timestamp) if boundaries else None,
        level_defaulted=tl.level_defaulted,
    )


def target_calendar(policy: Policy, tl: Timeline, target: Target, level: Level) -> Span:
    """Which calendar a target runs on: the target's, else the level's, else the case's region's
    (follow-the-sun), else the policy default."""
    cal = (
        target.calendar or level.calendar or policy.region_calendar(tl.case.region) or policy.default_calendar
    )
    return Span(cal, target.duration.business)


def budget_seconds(span: Span, duration: Duration, start: datetime, *, warn: bool = False) -> float | None:
    """Seconds of the span's time the duration allows from ``start``. 'N business days' becomes the
    business time between the start (moved to the next opening) and the same local time N business days
    later, so pauses extend it like any other business duration."""
    if duration.kind is DurationKind.UNTIMED:
        return None
    if duration.kind is DurationKind.BUSINESS_DAYS:
        days = duration.warn_days if warn else duration.days
        if days is None:
            return None
        cal = span.calendar
        assert cal is not None
        # add_business_days moves a start outside hours to the next opening itself, and the closed
        # time before that opening counts nothing in between()
        return cal.between(start, cal.add_business_days(start, days))
    if not warn:
        return float(duration.seconds)
    return None if duration.warn_seconds is None else float(duration.warn_seconds)


def _min_real_seconds(duration: Duration) -> float:
    """A lower bound of the real time a duration takes: business time never runs faster than the clock,
    and N business days end no earlier than N calendar days (less a DST hour) later."""
    if duration.kind is DurationKind.BUSINESS_DAYS:
        return duration.days * 86400 - 3600
    return float(duration.seconds)


def _open_state(
    due_at: datetime | None, warn_at: datetime | None, paused_now: bool, now: datetime
) -> TargetState:
    """The state of a timer that has not stopped: past due wins over paused, paused over warning."""
    if due_at is not None and due_at <= now:
        return TargetState.BREACHED
    if paused_now:
        return TargetState.PAUSED
    if warn_at is not None and warn_at <= now:
        return TargetState.WARNING
    return TargetState.RUNNING


def _day_aligned(span: Span, m: Measure) -> Measure:
    """Business time runs out at a closing instant, but 'N business days' means the same local time on
    the Nth business day: for a start at an opening that is the next opening, not the previous close
    (no business time lies between the two, so remaining time and state are unchanged)."""
    cal = span.calendar
    if cal is None:
        return m
    due = m.due_at if m.due_at is None or cal.is_open(m.due_at) else cal.next_open(m.due_at)
    warn = m.warn_at if m.warn_at is None or cal.is_open(m.warn_at) else cal.next_open(m.warn_at)
    return Measure(m.elapsed, due, warn, m.paused_now)


def _passed_due(
    span: Span,
    duration: Duration,
    budget: float,
    start: datetime,
    pauses: list[tuple[datetime, datetime | None]],
    elapsed: float,
    now: datetime,
) -> int:
    """How many due instants of a recurring timer started at ``start`` lie at or before ``now``: the
    k-th falls when ``k * budget`` of its time has run. 'N business days' runs out at a closing, but
    falls due at the next opening (the same local time N business days on): while the clock stands at
    exactly ``k * budget`` in the closed night (or a pause), the k-th is not due yet."""
    k = int(elapsed // budget)
    if k and duration.kind is DurationKind.BUSINESS_DAYS and abs(elapsed - k * budget) < 1e-6:
        cal = span.calendar
        assert cal is not None
        ran_out = measure(span, k * budget, None, start, None, pauses, now).due_at
        if ran_out is not None and not cal.is_open(ran_out) and cal.next_open(ran_out) > now:
            k -= 1
    return k


def _stop_event(target: Target, tl: Timeline, escalated_at: datetime | None) -> datetime | None:
    events: list[datetime] = []
    for name in (target.metric.value, *target.met_by):
        at = _event(name, target, tl, escalated_at)
        if at is not None:
            events.append(at)
    return min(events) if events else None


def _event(name: str, target: Target, tl: Timeline, escalated_at: datetime | None) -> datetime | None:
    if name == Metric.FIRST_RESPONSE:
        return tl.agent_updates[0] if tl.agent_updates else None
    if name == Metric.ACTIVATION:
        return tl.first_active
    if name == Metric.RESOLUTION:
        return tl.stopped_at
    if name == Metric.MILESTONE:
        return tl.first_milestone.get(target.milestone or "")
    if name == "escalation":
        return escalated_at
    return tl.first_milestone.get(name)


def _pauses(tl: Timeline, target: Target) -> list[tuple[datetime, datetime | None]]:
    """Intervals in which this target's clock stands still: pausing statuses, and solved/closed ones
    (a reopened case resumes its open timers without counting the time it was closed)."""
    out: list[tuple[datetime, datetime | None]] = []
    key, metric = target.key, target.metric.value
    for seg in tl.segments:
        if seg.status.stopped or seg.status.pauses_target(key, metric):
            if out and out[-1][1] == seg.start:
                out[-1] = (out[-1][0], seg.end)
            else:
                out.append((seg.start, seg.end))
    return out


def evaluate_targets(
    policy: Policy, tl: Timeline, now: datetime, escalated_at: datetime | None
) -> list[TargetResult]:
    results: list[TargetResult] = []
    for current in tl.level.targets:
        if current.metric is Metric.PERIODIC_UPDATE:
            results.append(_periodic(policy, tl, current, now))
            continue
        stop = _stop_event(current, tl, escalated_at)
        if stop is not None and stop > now:
            stop = None
        # A met target stays met: judge it by the level in effect when it was met.
        level = tl.level
        target = current
        if stop is not None:
            then = tl.level_at(stop)
            same = next((t for t in then.targets if t.key == current.key), None)
            if same is not None:
                level, target = then, same
        start = _start(policy, tl, level, stop or now)
        span = target_calendar(policy, tl, target, level)
        results.append(_one_shot(tl, target, level, span, start, stop, now))
    return results


def _start(policy: Policy, tl: Timeline, level: Level, at: datetime) -> datetime:
    if policy.spec.level_change == "from_change":
        for lspan in reversed(tl.levels):
            if lspan.start <= at and lspan.level is level:
                return lspan.start
    return tl.case.opened_at


def _one_shot(
    tl: Timeline,
    target: Target,
    level: Level,
    span: Span,
    start: datetime,
    stop: datetime | None,
    now: datetime,
) -> TargetResult:
    cal_name = span.calendar.name if span.calendar is not None and span.business else "calendar time"
    budget = budget_seconds(span, target.duration, start)
    if budget is None:
        state = TargetState.MET if stop is not None else TargetState.RUNNING
        return TargetResult(
            target.key,
            target.metric.value,
            level.id,
            state,
            None,
            None,
            stop,
            None,
            target.duration.text,
            cal_name,
        )
    warn_budget = budget_seconds(span, target.duration, start, warn=True)
    if target.warn_fraction is not None:
        frac = budget * target.warn_fraction
        warn_budget = frac if warn_budget is None else min(warn_budget, frac)
    m = measure(span, budget, warn_budget, start, stop, _pauses(tl, target), now)
    if target.duration.kind is DurationKind.BUSINESS_DAYS:
        m = _day_aligned(span, m)
    remaining = budget - m.elapsed
    if stop is not None:
        state = TargetState.MET if m.elapsed <= budget else TargetState.BREACHED
    else:
        state = _open_state(m.due_at, m.warn_at, m.paused_now, now)
    return TargetResult(
        target.key,
        target.metric.value,
        level.id,
        state,
        m.due_at,
        m.warn_at,
        stop,
        remaining,
        target.duration.text,
        cal_name,
    )


def _periodic(policy: Policy, tl: Timeline, target: Target, now: datetime) -> TargetResult:
    """Recurring updates: next due = last public agent update (or the opening) + interval, counted only
    in running time; ``missed`` counts every whole interval that passed without an update. An estimated
    time of resolution replaces scheduled updates until it passes."""
    level = tl.level
    span = target_calendar(policy, tl, target, level)
    cal_name = span.calendar.name if span.calendar is not None and span.business else "calendar time"
    pauses = _pauses(tl, target)
    if tl.status.stopped:
        last = tl.agent_updates[-1] if tl.agent_updates else None
        return TargetResult(
            target.key,
            target.metric.value,
            level.id,
            TargetState.MET,
            None,
            None,
            last,
            None,
            target.duration.text,
            cal_name,
        )
    anchors = [tl.epoch_start, *(t for t in tl.agent_updates if tl.epoch_start < t <= now)]
    missed = 0
    floor = _min_real_seconds(target.duration)
    for i in range(len(anchors) - 1):
        a, b = anchors[i], anchors[i + 1]
        if b.timestamp() - a.timestamp() <= floor:
            continue  # the next update came sooner than any interval can run out: nothing missed
        budget = budget_seconds(span, target.duration, a) or 0.0
        if budget > 0:
            m = measure(span, budget, None, a, b, pauses, now)
            # due instants passed without an update before the next one (one exactly on time misses nothing)
            missed += max(0, math.ceil(m.elapsed / budget) - 1)
    anchor = anchors[-1]
    budget = budget_seconds(span, target.duration, anchor) or 0.0
    warn = budget * target.warn_fraction if target.warn_fraction else None
    m = measure(span, budget, warn, anchor, None, pauses, now)
    if target.duration.kind is DurationKind.BUSINESS_DAYS:
        m = _day_aligned(span, m)
    if budget > 0:
        missed += _passed_due(span, target.duration, budget, anchor, pauses, m.elapsed, now)
    due_at, warn_at = m.due_at, m.warn_at
    etr = tl.case.etr
    if policy.spec.lifecycle.etr_replaces_updates and etr is not None and etr > anchors[-1]:
        if now < etr:
            missed -= _passed_due(span, target.duration, budget, anchor, pauses, m.elapsed, now)
            return TargetResult(
                target.key,
                target.metric.value,
                level.id,
                TargetState.RUNNING,
                etr,
                None,
                anchors[-1],
                (etr - now).total_seconds(),
                target.duration.text,
                cal_name,
                missed,
            )
        due_at = etr
    remaining = budget - m.elapsed
    state = _open_state(due_at, warn_at, m.paused_now, now)
    return TargetResult(
        target.key,
        target.metric.value,
        level.id,
        state,
        due_at,
        warn_at,
        anchors[-1],
        remaining,
        target.duration.text,
        cal_name,
        missed,
    )
