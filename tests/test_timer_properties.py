"""Properties of the timers over generated case histories: what must hold whatever the history.

Each property is checked against hand-computed examples elsewhere (test_timers, test_presets); here
hypothesis looks for histories where it breaks.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from casewarden.policy.case import Author, Case, LevelChange, Reply, StatusChange
from casewarden.policy.evaluate import evaluate
from casewarden.policy.loader import load_policy
from tests.policy_fixtures import DEN, policy

P = policy()

# 06:00Z on 1 November 2026 is midnight MDT; 07:00Z-09:00Z is the repeated 01:00-02:00 in Denver
FALL_BACK = datetime(2026, 11, 1, 6, 0, tzinfo=UTC)


@st.composite
def zoned_histories(draw):  # type: ignore[no-untyped-def]
    """A case around the fall-back night, each instant drawn as minutes after FALL_BACK, plus a flag per
    instant saying whether to hand it over in Denver time rather than UTC."""
    opened = draw(st.integers(0, 120))
    agent = draw(st.lists(st.integers(opened, opened + 240), max_size=6))
    customer = draw(st.lists(st.integers(opened, opened + 240), max_size=3))
    moves = sorted(draw(st.lists(st.integers(opened + 1, opened + 240), max_size=3, unique=True)))
    statuses = [draw(st.sampled_from(["Open", "Waiting"])) for _ in moves]
    level = draw(st.sampled_from(["P1", "P2", "P3"]))
    now = draw(st.integers(opened, opened + 300))
    n = 2 + len(agent) + len(customer) + len(moves)
    local = draw(st.lists(st.booleans(), min_size=n, max_size=n))
    return opened, agent, customer, list(zip(moves, statuses, strict=True)), level, now, local


def _build(h, zoned: bool) -> tuple[Case, datetime]:  # type: ignore[no-untyped-def]
    opened, agent, customer, moves, level, now, local = h
    flags = iter(local)

    def at(minutes: int) -> datetime:
        t = FALL_BACK + timedelta(minutes=minutes)
        return t.astimezone(DEN) if zoned and next(flags) else t

    o = at(opened)
    replies = [Reply(at(m), Author.AGENT) for m in agent] + [Reply(at(m), Author.CUSTOMER) for m in customer]
    history = (StatusChange(o, "New"), *(StatusChange(at(m), s) for m, s in moves))
    case = Case("C-1", o, (LevelChange(o, level),), history, tuple(replies))
    return case, at(now)


def plain(x: Any) -> Any:
    """An evaluation with every datetime as epoch seconds: aware datetimes in the repeated hour never
    compare equal to another zone's (PEP 495), so instants are compared as numbers."""
    if isinstance(x, datetime):
        return x.timestamp()
    if dataclasses.is_dataclass(x) and not isinstance(x, type):
        return tuple(plain(getattr(x, f.name)) for f in dataclasses.fields(x))
    if isinstance(x, tuple | list):
        return tuple(plain(i) for i in x)
    return x


@settings(max_examples=150, deadline=None)
@given(zoned_histories())
def test_evaluation_does_not_depend_on_the_zone_instants_are_given_in(h) -> None:  # type: ignore[no-untyped-def]
    """The same instants handed over in Denver time (folds included) or in UTC give the same answer."""
    in_utc, now_utc = _build(h, zoned=False)
    in_den, now_den = _build(h, zoned=True)
    assert [r.at.timestamp() for r in in_den.replies] == [r.at.timestamp() for r in in_utc.replies]
    assert plain(evaluate(P, in_den, now_den)) == plain(evaluate(P, in_utc, now_utc))


# -- periodic updates in business days ------------------------------------------------------------

LIFECYCLE = load_policy("priority-lifecycle")
EXTENDED = LIFECYCLE.calendars["extended"]  # Mon-Fri 07:00-19:00 America/Denver, US holidays
MONDAY = datetime(2026, 11, 2, 0, 0, tzinfo=DEN)  # Thanksgiving (26 Nov) falls in the range


def _instant_near(day: int, minute: int, exact: str | None) -> datetime:
    base = MONDAY + timedelta(days=day)
    if exact is not None:  # exactly an opening or a closing: where the day's budget runs out
        h = 7 if exact == "open" else 19
        return datetime(base.year, base.month, base.day, h, 0, tzinfo=DEN)
    return (base + timedelta(minutes=minute)).astimezone(UTC)


instants = st.builds(
    _instant_near,
    st.integers(0, 27),
    st.integers(0, 24 * 60 - 1),
    st.one_of(st.none(), st.just("open"), st.just("close")),
)


@settings(max_examples=200, deadline=None)
@given(instants, instants)
def test_business_day_updates_fall_due_on_the_same_local_time_of_each_business_day(
    last: datetime, now: datetime
) -> None:
    """P3 (every 1 business day): the k-th update is due at add_business_days(last, k); ``missed``
    counts those at or before now, and the state is breached exactly when the first has passed."""
    if now < last:
        last, now = now, last
    case = Case(
        "C-1",
        last,
        (LevelChange(last, "P3"),),
        (StatusChange(last, "In Progress"),),
        (Reply(last, Author.AGENT),),
    )
    pu = evaluate(LIFECYCLE, case, now).target("periodic_update")
    assert pu is not None
    due = [EXTENDED.add_business_days(last, k) for k in range(1, 25)]
    expected = sum(1 for d in due if d <= now)
    assert pu.due_at is not None and pu.due_at.timestamp() == due[0].timestamp()
    assert pu.missed == expected
    assert (pu.state.value == "breached") == (expected > 0)


# -- periodic updates over time: a miss, once counted, stays counted ------------------------------

TEMPORARY_FIX = "      - {metric: temporary_fix, within: 5 to 10 days}"
PERIODIC = policy(
    **{
        # P2 gets business-hour updates (they run out at a closing and fall due there), and an ETR
        # replaces scheduled updates
        TEMPORARY_FIX: TEMPORARY_FIX
        + "\n      - {metric: periodic_update, within: 3 business hours, calendar: office}",
        "  reopen_window: 7 days": "  reopen_window: 7 days\n  etr_replaces_updates: true",
    }
)
THURSDAY = datetime(2026, 11, 19, 15, 0, tzinfo=UTC)  # 08:00 in Denver, the office opens


@st.composite
def growing_histories(draw):  # type: ignore[no-untyped-def]
    """Minutes after THURSDAY (over a weekend): updates, moves between Open and Waiting (pauses all),
    maybe an ETR, and two evaluation instants."""
    span = 4 * 24 * 60
    updates = sorted(draw(st.lists(st.integers(1, span), max_size=8, unique=True)))
    moves = sorted(draw(st.lists(st.integers(1, span), max_size=4, unique=True)))
    statuses = [draw(st.sampled_from(["Open", "Waiting"])) for _ in moves]
    etr = draw(st.one_of(st.none(), st.integers(1, span)))
    level = draw(st.sampled_from(["P1", "P2", "P3"]))
    # evaluation instants often exactly at an update (on time or not is decided there)
    points = st.one_of(st.integers(0, span), st.sampled_from(updates or [0]))
    first, second = sorted((draw(points), draw(points)))
    return updates, list(zip(moves, statuses, strict=True)), etr, level, first, second


def _as_known_at(h, now_min: int) -> tuple[Case, datetime]:  # type: ignore[no-untyped-def]
    """The case as the tracker shows it at ``now_min``: nothing that happened later."""
    updates, moves, etr, level, _first, _second = h

    def at(m: int) -> datetime:
        return THURSDAY + timedelta(minutes=m)

    history = (StatusChange(at(0), "Open"), *(StatusChange(at(m), s) for m, s in moves if m <= now_min))
    replies = tuple(Reply(at(m), Author.AGENT) for m in updates if m <= now_min)
    case = Case(
        "C-1",
        at(0),
        (LevelChange(at(0), level),),
        history,
        replies,
        etr=at(etr) if etr is not None else None,
    )
    return case, at(now_min)


@settings(max_examples=300, deadline=None)
@given(growing_histories())
def test_missed_updates_never_go_down_as_time_passes(h) -> None:  # type: ignore[no-untyped-def]
    """Whatever happens between two instants (updates, pauses), the updates missed by the first are
    still missed at the second: a late update does not make a passed due instant on time."""
    _u, _m, _e, _level, first, second = h
    before = evaluate(PERIODIC, *_as_known_at(h, first)).target("periodic_update")
    after = evaluate(PERIODIC, *_as_known_at(h, second)).target("periodic_update")
    assert before is not None and after is not None
    assert after.missed >= before.missed
    if before.state.value == "breached":
        assert after.missed >= 1


# -- level_change: from_change restarts the update schedule at the change -------------------------

ACTIVATION = load_policy("priority-activation")  # from_change; calendar time; Normal 7 days, High daily
DAY = 86400


@settings(max_examples=200, deadline=None)
@given(
    st.integers(1, 20 * DAY),  # the change, in seconds after the opening
    st.lists(st.integers(1, 30 * DAY), max_size=8, unique=True),  # updates
    st.integers(0, 30 * DAY),  # now
)
def test_periodic_updates_restart_at_a_level_change(change: int, updates: list[int], now: int) -> None:
    """Against plain arithmetic: intervals before the change owe an update every 7 days, after it every
    day, and the change itself starts a new interval."""
    o = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    now = max(now, change)
    known = sorted(u for u in updates if u <= now)
    case = Case(
        "C-1",
        o,
        (LevelChange(o, "Normal"), LevelChange(o + timedelta(seconds=change), "High")),
        (StatusChange(o, "In Progress"),),
        tuple(Reply(o + timedelta(seconds=u), Author.AGENT) for u in known),
    )
    pu = evaluate(ACTIVATION, case, o + timedelta(seconds=now)).target("periodic_update")
    assert pu is not None
    anchors = sorted({0, change, *known})
    missed = 0
    for a, b in pairwise(anchors):
        every = 7 * DAY if a < change else DAY
        missed += sum(1 for k in range(1, 40) if a + k * every < b)
    last = anchors[-1]
    missed += sum(1 for k in range(1, 40) if last + k * DAY <= now)
    assert pu.due_at == o + timedelta(seconds=last + DAY)
    assert pu.missed == missed


# -- hourly updates with pauses, against a minute-by-minute walk ----------------------------------


@st.composite
def paused_histories(draw):  # type: ignore[no-untyped-def]
    span = 12 * 60
    updates = sorted(draw(st.lists(st.integers(1, span), max_size=6, unique=True)))
    cuts = sorted(draw(st.lists(st.integers(1, span), max_size=6, unique=True)))
    now = draw(st.integers(0, span + 60))
    return updates, cuts, now


@settings(max_examples=200, deadline=None)
@given(paused_histories())
def test_hourly_updates_with_pauses_match_a_minute_walk(h) -> None:  # type: ignore[no-untyped-def]
    """P1 (every hour, calendar time), waiting on the customer between alternate cuts (pauses all): a
    due instant falls when 60 running minutes have passed since the last update; it is missed if the
    next update came later (or has not come by now)."""
    updates, cuts, now = h
    o = THURSDAY
    moves = [
        StatusChange(o + timedelta(minutes=m), "Waiting" if i % 2 == 0 else "Open")
        for i, m in enumerate(cuts)
    ]
    known = [u for u in updates if u <= now]
    case = Case(
        "C-1",
        o,
        (LevelChange(o, "P1"),),
        (StatusChange(o, "Open"), *(mv for mv in moves if mv.at <= o + timedelta(minutes=now))),
        tuple(Reply(o + timedelta(minutes=u), Author.AGENT) for u in known),
    )
    pu = evaluate(P, case, o + timedelta(minutes=now)).target("periodic_update")
    assert pu is not None

    def paused(m: int) -> bool:  # minute [m, m+1) falls in a pause
        return sum(1 for c in cuts if c <= m and c <= now) % 2 == 1

    anchors = [0, *known]
    expected = 0
    for i, a in enumerate(anchors):
        b = anchors[i + 1] if i + 1 < len(anchors) else None
        run, m = 0, a
        while m < (b if b is not None else now):
            if not paused(m):
                run += 1
                if run % 60 == 0 and (m + 1 < b if b is not None else m + 1 <= now):
                    expected += 1
            m += 1
    assert pu.missed == expected
