"""The pause-aware clock against a slow reference that walks minute by minute."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from casewarden.policy.calendar import BusinessCalendar
from casewarden.policy.clock import Span, measure

OFFICE = BusinessCalendar(
    "office",
    "America/Denver",
    {d: [(time(8), time(12)), (time(13), time(17))] for d in range(5)},
    [date(2026, 11, 26), date(2026, 3, 9)],
)
BASE = datetime(2026, 3, 2, tzinfo=UTC)  # two weeks around the spring-forward change


def minutes(n: int) -> datetime:
    return BASE + timedelta(minutes=n)


def reference(
    business: bool, budget_min: int, start: int, stop: int | None, pauses: list[tuple[int, int]], now: int
) -> tuple[int, int | None]:
    """(elapsed minutes until min(stop, now), minute at which the budget is used up)."""

    def counts(m: int) -> bool:
        if any(a <= m < b for a, b in pauses):
            return False
        return not business or OFFICE.is_open(minutes(m))

    end = stop if stop is not None else now
    elapsed = sum(1 for m in range(start, end) if counts(m))
    used, due = 0, None
    m = start
    while m < start + 60 * 24 * 40:
        if used == budget_min:
            due = m
            break
        if stop is not None and m >= stop:
            # projected after the stop: the timer keeps running on its calendar, pauses no longer apply
            used += 1 if not business or OFFICE.is_open(minutes(m)) else 0
        elif counts(m):
            used += 1
        m += 1
    return elapsed, due


@st.composite
def scenarios(draw):  # type: ignore[no-untyped-def]
    start = draw(st.integers(0, 60 * 24 * 7))
    cuts = sorted(draw(st.lists(st.integers(start, start + 60 * 24 * 6), max_size=6, unique=True)))
    pauses = [(cuts[i], cuts[i + 1]) for i in range(0, len(cuts) - 1, 2)]
    now = draw(st.integers(start, start + 60 * 24 * 7))
    stop = draw(st.one_of(st.none(), st.integers(start, now)))
    budget = draw(st.integers(1, 60 * 30))
    business = draw(st.booleans())
    return business, budget, start, stop, pauses, now


@settings(max_examples=120, deadline=None)
@given(scenarios())
def test_measure_matches_minute_walk(s) -> None:  # type: ignore[no-untyped-def]
    business, budget, start, stop, pauses, now = s
    # pauses that end after the stop keep their shape; measure() ignores them past the stop like the reference
    m = measure(
        Span(OFFICE, business),
        budget * 60,
        None,
        minutes(start),
        None if stop is None else minutes(stop),
        [(minutes(a), minutes(b)) for a, b in pauses],
        minutes(now),
    )
    ref_elapsed, ref_due = reference(business, budget, start, stop, pauses, now)
    assert round(m.elapsed / 60) == ref_elapsed
    if ref_due is not None and m.due_at is not None:
        # the instant the last counted minute ends: equal, or separated only by closed time
        assert m.due_at == minutes(ref_due) or (
            business and OFFICE.between(m.due_at, minutes(ref_due)) == 0 and m.due_at <= minutes(ref_due)
        )
    if stop is None and pauses and pauses[-1][1] > now:
        pass  # paused at now: the reference projects through the pause, measure() reports no due
    elif ref_due is not None:
        assert m.due_at is not None
