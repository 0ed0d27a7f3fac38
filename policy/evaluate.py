"""Evaluate a case against a policy at a given instant: targets, escalation, lifecycle, intake.

Pure and deterministic: ``now`` is an argument, nothing reads the clock or does I/O, so the same case
at the same instant always gets the same answer, in tests, in ``plan`` and in ``run``.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from datetime import datetime
from itertools import compress, pairwise, repeat
from operator import lt, sub

from casewarden.errors import CaseError
from casewarden.policy.calendar import OutOfRange
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
    """Everything the policy says about ``case`` at ``now``. Raises CaseError if it cannot place it,
    including a case whose dates (from the tracker) put its timers outside the calendar's years."""
    try:
        return _evaluate(policy, case, now)
    except OutOfRange as exc:
        raise CaseError(case.id, f"its timers cannot be worked out: {exc}") from None


def _evaluate(policy: Policy, case: Case, now: datetime) -> Evaluation:
    """Instants computed on a calendar come back in its zone; two of them that share a ZoneInfo compare by
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
        if t.recheck_at is not None and t.recheck_at > now:
            boundaries.append(t.recheck_at)
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
    until: datetime,
    *,
    before: bool = False,
) -> int:
    """How many due instants of a recurring timer started at ``start`` lie at or before ``until``
    (strictly before, with ``before``: an update exactly on time misses nothing), given the timer's
    ``elapsed`` time at ``until``. The k-th falls when ``k * budget`` has run; when the clock stands
    exactly there, it stopped at the due instant (a closing, a pause) and the instant decides: plain and
    business-hour durations fall due where they ran out, 'N business days' at the next opening (the
    same local time N business days on)."""
    k = int(elapsed // budget)
    if k and abs(elapsed - k * budget) < 1e-6:
        due = _first_due(span, duration, k * budget, start, pauses, until)
        if due is not None and (due >= until if before else due > until):
            k -= 1
    return k


def _first_due(
    span: Span,
    duration: Duration,
    budget: float,
    start: datetime,
    pauses: list[tuple[datetime, datetime | None]],
    until: datetime,
) -> datetime | None:
    """When ``budget`` of running time from ``start`` has run (reached by ``until``); for 'N business
    days', moved from a closing to the next opening."""
    due = measure(span, budget, None, start, None, pauses, until).due_at
    cal = span.calendar
    if due is not None and duration.kind is DurationKind.BUSINESS_DAYS and cal is not None:
        due = due if cal.is_open(due) else cal.next_open(due)
    return due


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


def _gap_missed(
    span: Span,
    duration: Duration,
    a: datetime,
    b: datetime,
    pauses: list[tuple[datetime, datetime | None]],
    paused: bool = True,
) -> int:
    """Due instants of a recurring timer started at ``a`` that passed before the next update at ``b``
    (one exactly on time misses nothing). ``paused`` False says no pause overlaps [a, b)."""
    if not span.business and duration.kind is DurationKind.ELAPSED:
        # calendar time: the running seconds are the interval less its paused time, no calendar call
        budget = float(duration.seconds)
        if budget <= 0:
            return 0
        ta, tb = a.timestamp(), b.timestamp()
        elapsed = tb - ta
        if paused:
            for p, q in pauses:
                lo, hi = max(p.timestamp(), ta), tb if q is None else min(q.timestamp(), tb)
                if hi > lo:
                    elapsed -= hi - lo
    else:
        budget = budget_seconds(span, duration, a) or 0.0
        if budget <= 0:
            return 0
        # no pause in the interval (the common case): one calendar call instead of a measured walk
        elapsed = measure(span, budget, None, a, b, pauses, b).elapsed if paused else span.between(a, b)
    k = int(elapsed // budget)
    if k and abs(elapsed - k * budget) < 1e-6:
        return _passed_due(span, duration, budget, a, pauses, elapsed, b, before=True)
    return k


def _interval_missed(
    span: Span,
    duration: Duration,
    a: datetime,
    b: datetime,
    pauses: list[tuple[datetime, datetime | None]],
    etr: datetime | None,
) -> tuple[int, datetime, bool]:
    """``_gap_missed`` with an ETR: an interval that began before the ETR owes nothing before it, one
    update at the ETR (unless paused then), and runs on from the ETR. Returns the count, where the
    schedule of the interval started, and whether the ETR itself was owed."""
    if etr is None or a >= etr:
        return _gap_missed(span, duration, a, b, pauses, _overlap(pauses, a, b)), a, False
    if b <= etr:
        return 0, a, False  # the ETR stood in for every update due in this interval
    owed = _running_at(etr, pauses)
    return _gap_missed(span, duration, etr, b, pauses) + owed, etr, owed


def _overlap(pauses: list[tuple[datetime, datetime | None]], a: datetime, b: datetime) -> bool:
    return any(p < b and (q is None or q > a) for p, q in pauses)


def _running_at(t: datetime, pauses: list[tuple[datetime, datetime | None]]) -> bool:
    return not any(p <= t and (q is None or t < q) for p, q in pauses)


def _periodic(policy: Policy, tl: Timeline, target: Target, now: datetime) -> TargetResult:
    """Recurring updates: next due = last public agent update (or the opening) + interval, counted only
    in running time; ``missed`` counts the due instants that passed without an update, up to now or
    until the case was solved. ``missed_due_at`` is the first due instant of the latest interval with
    misses and ``missed_until`` the update (or solving, or level change) that ended it, None while it
    runs: what a report shows for a periodic breach.

    An estimated time of resolution (ETR) replaces scheduled updates: an interval between updates that
    began before it owes no update before it, and one at the ETR itself (unless the timer is paused
    then); after it, the schedule runs on from the ETR. The case holds only the current ETR, not when
    it was given, so it is read as given at the start of the epoch's first interval that it covers."""
    level = tl.level
    span = target_calendar(policy, tl, target, level)
    cal_name = span.calendar.name if span.calendar is not None and span.business else "calendar time"
    pauses = _pauses(tl, target)
    duration = target.duration
    end = tl.stopped_at if tl.stopped_at is not None else now
    au = tl.agent_updates  # sorted: the epoch's updates up to the end, sliced in C
    updates = list(au[bisect_right(au, tl.epoch_start) : bisect_right(au, end)])
    anchors = [tl.epoch_start, *updates]
    rules = {level.id: (target, span, _min_real_seconds(duration))}
    if policy.spec.level_change == "from_change" and len(tl.levels) > 1:
        # a level change restarts the schedule under the new level; the intervals before it are judged
        # by the level then in effect (a miss under it stays a miss)
        changes = [
            ls.start
            for prev, ls in pairwise(tl.levels)
            if ls.level is not prev.level and tl.epoch_start < ls.start <= end
        ]
        if changes:
            anchors = sorted({*anchors, *changes})
            for ls in tl.levels:
                then = next((x for x in ls.level.targets if x.key == target.key), None)
                if ls.level.id not in rules and then is not None and then.metric is Metric.PERIODIC_UPDATE:
                    then_span = target_calendar(policy, tl, then, ls.level)
                    rules[ls.level.id] = (then, then_span, _min_real_seconds(then.duration))
    etr = tl.case.etr
    if not policy.spec.lifecycle.etr_replaces_updates or (etr is not None and etr <= tl.epoch_start):
        etr = None
    if tl.stopped_at is not None:
        anchors.append(tl.stopped_at)  # solving ends the last interval: what was due before it is missed
    missed = 0
    late_due: datetime | None = None
    late_until: datetime | None = None
    latest: tuple[Span, Duration, datetime, bool, datetime] | None = None
    one_rule = rules[level.id] if len(rules) == 1 else None
    if one_rule is not None and etr is None:
        # The common path (one cadence, no ETR), where a long history costs most. Intervals shorter
        # than any interval can run out are skipped in C: index of each one longer than the floor.
        stamps = list(map(datetime.timestamp, anchors))
        longer = compress(range(len(anchors) - 1), map(lt, repeat(one_rule[2]), map(sub, stamps[1:], stamps)))
        if not pauses and not span.business and duration.kind is DurationKind.ELAPSED:
            # calendar time and nothing ever paused: the k-th falls exactly k intervals on, so an
            # interval of d seconds misses ceil(d / every) - 1 (one exactly on time misses nothing)
            every = float(duration.seconds)
            for i in longer:
                n = math.ceil((stamps[i + 1] - stamps[i] - 1e-6) / every) - 1  # float noise: on time
                if n > 0:
                    missed, latest = missed + n, (span, duration, anchors[i], False, anchors[i + 1])
        else:
            # pauses are sorted and disjoint: only the last one starting before b can reach into [a, b)
            starts = [p for p, _q in pauses]
            for i in longer:
                a, b = anchors[i], anchors[i + 1]
                j = bisect_left(starts, b)
                paused = j > 0 and ((q := pauses[j - 1][1]) is None or q > a)
                n = _gap_missed(span, duration, a, b, pauses, paused)
                if n:
                    missed, latest = missed + n, (span, duration, a, False, b)
        gaps: Iterable[int] = ()
    else:
        gaps = range(len(anchors) - 1)
    for i in gaps:
        a, b = anchors[i], anchors[i + 1]
        rule = one_rule or rules.get(tl.level_at(a).id)
        if rule is None:
            continue  # the level then had no such target
        then, then_span, _floor = rule
        n, began, owed = _interval_missed(then_span, then.duration, a, b, pauses, etr)
        if n:
            missed, latest = missed + n, (then_span, then.duration, began, owed, b)
    if latest is not None:
        # the first due instant of the latest interval with misses, worked out for that one only
        then_span, then_duration, began, owed, late_until = latest
        if owed:
            late_due = began
        else:
            budget = budget_seconds(then_span, then_duration, began) or 0.0
            late_due = _first_due(then_span, then_duration, budget, began, pauses, late_until)
    last_update = updates[-1] if updates else tl.epoch_start
    if tl.stopped_at is not None:
        return TargetResult(
            target.key,
            target.metric.value,
            level.id,
            TargetState.MET,
            None,
            None,
            tl.agent_updates[-1] if tl.agent_updates else None,
            None,
            duration.text,
            cal_name,
            missed,
            late_due,
            late_until,
        )
    anchor = anchors[-1]
    if etr is not None and anchor < etr:
        if now < etr:
            paused = not _running_at(now, pauses)
            return TargetResult(
                target.key,
                target.metric.value,
                level.id,
                TargetState.PAUSED if paused else TargetState.RUNNING,
                None if paused else etr,
                None,
                last_update,
                etr.timestamp() - now.timestamp(),
                duration.text,
                cal_name,
                missed,
                late_due,
                late_until,
            )
        owed_at_etr = _running_at(etr, pauses)
        anchor = etr  # the schedule runs on from the ETR
    else:
        owed_at_etr = False
    budget = budget_seconds(span, duration, anchor) or 0.0
    warn = budget * target.warn_fraction if target.warn_fraction else None
    m = measure(span, budget, warn, anchor, None, pauses, now)
    if duration.kind is DurationKind.BUSINESS_DAYS:
        m = _day_aligned(span, m)
    passed = _passed_due(span, duration, budget, anchor, pauses, m.elapsed, now) if budget > 0 else 0
    due_at, warn_at, remaining = m.due_at, m.warn_at, budget - m.elapsed
    if owed_at_etr:
        # the update owed at the ETR is overdue since then
        passed += 1
        due_at, warn_at, remaining = etr, None, -m.elapsed
    recheck_at = None
    if passed:
        missed, late_due, late_until = missed + passed, due_at, None
        if budget > 0 and not m.paused_now:
            # the next update that will be missed if none comes: re-evaluate then, so its breach note
            # and notification are not left waiting for the case to change
            after = measure(span, (passed + 1) * budget, None, anchor, None, pauses, now)
            if duration.kind is DurationKind.BUSINESS_DAYS:
                after = _day_aligned(span, after)
            recheck_at = after.due_at
    state = _open_state(due_at, warn_at, m.paused_now, now)
    return TargetResult(
        target.key,
        target.metric.value,
        level.id,
        state,
        due_at,
        warn_at,
        last_update,
        remaining,
        duration.text,
        cal_name,
        missed,
        late_due,
        late_until,
        recheck_at,
    )
