"""Measuring one timer: elapsed time, due and warn instants, with pauses, on a calendar or not.

A timer runs from its start until its stop event (or now), except while the case sits in a status that
pauses it. Its budget is spent only in running time that the calendar counts: all of it for calendar
durations, open hours only for business durations. The walk below is over the case's status segments
(a handful), never over minutes or days: each segment costs one closed-form calendar call.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from casewarden.policy.calendar import BusinessCalendar, OutOfRange
from casewarden.policy.durations import Duration, DurationKind


def shift(t: datetime, seconds: float) -> datetime:
    """``t`` plus elapsed seconds, in t's zone. Not ``t + timedelta``: Python adds wall-clock time within
    one ZoneInfo, which is an hour off across a DST change."""
    try:
        return datetime.fromtimestamp(t.timestamp() + seconds, t.tzinfo)
    except (OverflowError, OSError, ValueError):
        raise OutOfRange(f"{t.isoformat()} plus {seconds:g} seconds is outside the supported years") from None


def elapsed(a: datetime, b: datetime) -> float:
    """Real seconds from a to b (``b - a`` is wall-clock when both share a ZoneInfo)."""
    return b.timestamp() - a.timestamp()


@dataclass(frozen=True, slots=True)
class Span:
    """How time is counted: ``calendar`` None or ``business`` False means every second counts."""

    calendar: BusinessCalendar | None
    business: bool

    def between(self, a: datetime, b: datetime) -> float:
        if self.business and self.calendar is not None:
            return self.calendar.between(a, b)
        return elapsed(a, b)

    def add(self, a: datetime, seconds: float) -> datetime:
        if self.business and self.calendar is not None:
            return self.calendar.add(a, seconds)
        return shift(a, seconds)


def add_duration(cal: BusinessCalendar, duration: Duration, start: datetime) -> datetime:
    """``start`` plus a duration on ``cal``: N business days, business time, or elapsed time."""
    if duration.kind is DurationKind.BUSINESS_DAYS:
        return cal.add_business_days(start, duration.days)
    return Span(cal, duration.business).add(start, duration.seconds)


@dataclass(frozen=True, slots=True)
class Measure:
    elapsed: float  # counted seconds from start to min(stop, now)
    due_at: datetime | None  # None: paused now before the budget ran out
    warn_at: datetime | None
    paused_now: bool


def running_intervals(
    start: datetime, pauses: Sequence[tuple[datetime, datetime | None]], stop: datetime | None
) -> list[tuple[datetime, datetime | None]]:
    """[start, stop) minus the pauses (sorted, non-overlapping). After ``stop`` the timer is projected to
    run on, pauses ignored, so a met target still shows when it would have fallen due. Without a stop, an
    open-ended pause ends the list: the timer is paused now."""
    if stop is not None and stop < start:
        stop = start
    out: list[tuple[datetime, datetime | None]] = []
    cursor = start
    for p_start, p_end in pauses:
        if stop is not None and p_start >= stop:
            break
        if p_end is not None and p_end <= cursor:
            continue
        if p_start > cursor:
            out.append((cursor, p_start))
        if stop is not None and (p_end is None or p_end >= stop):
            cursor = stop
            break
        if p_end is None:
            return out  # paused now, open-ended
        cursor = max(cursor, p_end)
    if stop is None:
        out.append((cursor, None))
        return out
    if cursor < stop:
        out.append((cursor, stop))
    out.append((stop, None))
    return out


def measure(
    span: Span,
    budget: float,
    warn_budget: float | None,
    start: datetime,
    stop: datetime | None,
    pauses: Sequence[tuple[datetime, datetime | None]],
    now: datetime,
) -> Measure:
    end = stop if stop is not None else now
    intervals = running_intervals(start, pauses, stop)
    elapsed = 0.0
    spent = 0.0
    due_at: datetime | None = None
    warn_at: datetime | None = None
    for a, b in intervals:
        if a < end:
            elapsed += span.between(a, end if b is None or b > end else b)
        if due_at is not None and (warn_budget is None or warn_at is not None):
            if b is None or b >= end:
                break
            continue
        avail = float("inf") if b is None else span.between(a, b)
        if warn_budget is not None and warn_at is None and spent + avail >= warn_budget:
            warn_at = span.add(a, warn_budget - spent)
        if due_at is None and spent + avail >= budget:
            due_at = span.add(a, budget - spent)
        spent += avail
    paused_now = stop is None and not (intervals and intervals[-1][1] is None and intervals[-1][0] <= now)
    return Measure(elapsed, due_at, warn_at, paused_now)
