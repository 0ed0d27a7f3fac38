"""Tests for policy.calendar: hand-checked edge cases, then properties against a slow reference.

The reference below walks minute by minute over instants, deciding each minute from the *definition* of
the calendar (weekly wall times turned into instants per local date with zoneinfo, minus holidays and
closures), with none of the prefix sums, binary searches or year caching of the real implementation.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays as pyholidays
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from casewarden.policy.calendar import BusinessCalendar, Closure

DENVER = ZoneInfo("America/Denver")
LONDON = ZoneInfo("Europe/London")
H, M = 3600, 60
WEEKDAYS_8_17 = {d: [(time(8), time(17))] for d in range(5)}


def us_holidays(year: int) -> Iterable[date]:
    return pyholidays.country_holidays("US", years=year).keys()


def den(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=DENVER)


@pytest.fixture(scope="module")
def office() -> BusinessCalendar:
    """The benchmark's calendar: Mon-Fri 08:00-17:00 America/Denver with US federal holidays."""
    return BusinessCalendar("office", "America/Denver", WEEKDAYS_8_17, us_holidays)


def utc_pairs(pairs: list[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    return [(s.astimezone(UTC), e.astimezone(UTC)) for s, e in pairs]


def same_instant(a: datetime, b: datetime) -> bool:
    """Equal as instants *and* both in the same zone (== on aware datetimes ignores the zone)."""
    return a == b and a.tzinfo == b.tzinfo and a.utcoffset() == b.utcoffset()


# ---------------------------------------------------------------------------------------------- basics


def test_add_within_a_day_and_across_closing(office: BusinessCalendar) -> None:
    assert office.add(den(2026, 11, 24, 10), 2 * H) == den(2026, 11, 24, 12)
    assert office.add(den(2026, 11, 24, 16), 2 * H) == den(2026, 11, 25, 9)


def test_add_that_runs_out_exactly_at_closing_returns_the_closing_instant(office: BusinessCalendar) -> None:
    assert office.add(den(2026, 11, 24, 16), 1 * H) == den(2026, 11, 24, 17)
    assert office.add(den(2026, 11, 24, 8), 9 * H) == den(2026, 11, 24, 17)


def test_add_zero_is_next_open(office: BusinessCalendar) -> None:
    assert office.add(den(2026, 11, 24, 10), 0) == den(2026, 11, 24, 10)
    assert office.add(den(2026, 11, 24, 17), 0) == den(2026, 11, 25, 8)
    assert office.add(den(2026, 11, 21, 12), 0) == den(2026, 11, 23, 8)  # Saturday


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        (den(2026, 11, 24, 6), den(2026, 11, 24, 9)),  # before opening
        (den(2026, 11, 24, 18), den(2026, 11, 25, 9)),  # after closing
        (den(2026, 11, 24, 17), den(2026, 11, 25, 9)),  # at closing: closed (half-open intervals)
        (den(2026, 11, 21, 10), den(2026, 11, 23, 9)),  # Saturday
        (den(2026, 11, 22, 23, 59), den(2026, 11, 23, 9)),  # Sunday night
    ],
)
def test_start_outside_hours_counts_from_next_opening(
    office: BusinessCalendar, start: datetime, expected: datetime
) -> None:
    assert office.add(start, 1 * H) == expected


def test_thanksgiving_and_christmas_are_closed(office: BusinessCalendar) -> None:
    # Wed 25 Nov 16:00 + 2h: 1h on Wednesday, Thursday 26 is Thanksgiving, so Friday 09:00
    assert office.add(den(2026, 11, 25, 16), 2 * H) == den(2026, 11, 27, 9)
    assert not office.is_open(den(2026, 11, 26, 12))
    assert not office.is_business_day(date(2026, 11, 26))
    assert office.between(den(2026, 11, 26, 0), den(2026, 11, 27, 0)) == 0
    # Christmas 2026 is a Friday: Thursday 24 Dec 16:00 + 2h is Monday 28 Dec 09:00
    assert office.add(den(2026, 12, 24, 16), 2 * H) == den(2026, 12, 28, 9)
    assert office.between(den(2026, 12, 21), den(2026, 12, 28)) == 4 * 9 * H


def test_observed_holiday_listed_under_the_neighbouring_year() -> None:
    """New Year's Day 2022 was a Saturday, observed Friday 31 Dec 2021; the answer must not depend on
    which year the calendar happened to build first."""
    for first_query in (date(2021, 12, 31), date(2022, 1, 3)):
        cal = BusinessCalendar("us", DENVER, WEEKDAYS_8_17, us_holidays)
        cal.is_business_day(first_query)
        assert not cal.is_business_day(date(2021, 12, 31))
        assert cal.is_business_day(date(2022, 1, 3))


def test_fixed_holiday_list() -> None:
    cal = BusinessCalendar("fixed", "Europe/London", WEEKDAYS_8_17, [date(2026, 12, 25), date(2026, 12, 28)])
    start = datetime(2026, 12, 24, 16, 30, tzinfo=LONDON)
    assert cal.add(start, 8 * H) == datetime(2026, 12, 29, 15, 30, tzinfo=LONDON)
    assert not cal.is_business_day(date(2026, 12, 28))
    assert cal.is_business_day(date(2026, 12, 29))


def test_outputs_are_in_the_calendar_zone_whatever_the_input_zone(office: BusinessCalendar) -> None:
    start_utc = datetime(2026, 11, 24, 17, tzinfo=UTC)  # 10:00 in Denver
    result = office.add(start_utc, 1 * H)
    assert same_instant(result, den(2026, 11, 24, 11))
    assert same_instant(office.next_open(start_utc), den(2026, 11, 24, 10))
    tokyo = datetime(2026, 11, 25, 2, tzinfo=ZoneInfo("Asia/Tokyo"))  # 24 Nov 10:00 Denver
    assert office.between(tokyo, den(2026, 11, 24, 12)) == 2 * H
    assert office.is_open(tokyo)


def test_naive_datetimes_are_refused(office: BusinessCalendar) -> None:
    naive = datetime(2026, 11, 24, 10)
    aware = den(2026, 11, 24, 10)
    always = BusinessCalendar("24x7", "UTC", None)
    for cal in (office, always):
        with pytest.raises(ValueError, match="naive"):
            cal.add(naive, 60)
        with pytest.raises(ValueError, match="naive"):
            cal.is_open(naive)
        with pytest.raises(ValueError, match="naive"):
            cal.next_open(naive)
        with pytest.raises(ValueError, match="naive"):
            cal.between(aware, naive)
        with pytest.raises(ValueError, match="naive"):
            cal.between(naive, aware)
        with pytest.raises(ValueError, match="naive"):
            cal.open_intervals(naive, aware)
        with pytest.raises(ValueError, match="naive"):
            cal.add_business_days(naive, 1)


def test_between_is_negative_when_b_is_before_a(office: BusinessCalendar) -> None:
    a, b = den(2026, 11, 24, 10), den(2026, 11, 27, 9)
    forward = office.between(a, b)
    assert forward == 7 * H + 9 * H + 1 * H  # Tue 7h, Wed 9h, Thu holiday, Fri 1h
    assert office.between(b, a) == -forward
    assert office.between(a, a) == 0


def test_open_intervals_are_clipped_and_skip_closed_days(office: BusinessCalendar) -> None:
    got = office.open_intervals(den(2026, 11, 25, 16), den(2026, 11, 30, 9))
    assert got == [
        (den(2026, 11, 25, 16), den(2026, 11, 25, 17)),
        (den(2026, 11, 27, 8), den(2026, 11, 27, 17)),
        (den(2026, 11, 30, 8), den(2026, 11, 30, 9)),
    ]
    assert all(s.tzinfo is DENVER and e.tzinfo is DENVER for s, e in got)
    assert office.open_intervals(den(2026, 11, 30, 9), den(2026, 11, 25, 16)) == []


def test_several_intervals_per_day_lunch_break() -> None:
    hours = {d: [(time(13), time(17)), (time(9), time(12))] for d in range(5)}  # given out of order
    cal = BusinessCalendar("lunch", LONDON, hours)
    mon = datetime(2026, 6, 1, tzinfo=LONDON)
    assert cal.add(mon.replace(hour=11, minute=30), 1 * H) == mon.replace(hour=13, minute=30)
    assert cal.add(mon.replace(hour=12, minute=15), 30 * M) == mon.replace(hour=13, minute=30)
    assert cal.add(mon.replace(hour=11), 1 * H) == mon.replace(hour=12)  # runs out at the break
    assert cal.between(mon.replace(hour=9), mon.replace(hour=17)) == 7 * H
    assert not cal.is_open(mon.replace(hour=12, minute=30))
    assert cal.next_open(mon.replace(hour=12, minute=30)) == mon.replace(hour=13)
    assert len(cal.open_intervals(mon, mon + timedelta(days=1))) == 2
    assert cal.describe() == "Mon-Fri 09:00-12:00+13:00-17:00 Europe/London"


def test_negative_add_counts_backwards(office: BusinessCalendar) -> None:
    assert office.add(den(2026, 11, 23, 9), -2 * H) == den(2026, 11, 20, 16)
    # landing exactly on a closing boundary gives the later instant: the opening
    assert office.add(den(2026, 11, 24, 9), -1 * H) == den(2026, 11, 24, 8)
    assert office.add(den(2026, 11, 24, 8), -9 * H) == den(2026, 11, 23, 8)


def test_non_finite_amounts_are_refused(office: BusinessCalendar) -> None:
    with pytest.raises(ValueError):
        office.add(den(2026, 11, 24, 10), float("inf"))
    with pytest.raises(ValueError):
        office.add(den(2026, 11, 24, 10), float("nan"))


# ------------------------------------------------------------------------------------------------ DST


def test_dst_spring_forward_and_fall_back_office(office: BusinessCalendar) -> None:
    # 8 Mar 2026: clocks jump 02:00 MST -> 03:00 MDT (a Sunday: closed anyway); offsets differ across it
    fri, mon = den(2026, 3, 6, 16), den(2026, 3, 9, 9)
    assert fri.utcoffset() == timedelta(hours=-7) and mon.utcoffset() == timedelta(hours=-6)
    assert office.between(fri, mon) == 2 * H
    assert same_instant(office.add(fri, 2 * H), mon)
    # 1 Nov 2026: 02:00 MDT -> 01:00 MST
    assert office.add(den(2026, 10, 30, 16), 2 * H) == den(2026, 11, 2, 9)
    assert office.add(den(2026, 10, 30, 16), 2 * H).utcoffset() == timedelta(hours=-7)


def test_dst_calendar_open_all_day() -> None:
    cal = BusinessCalendar("allday", DENVER, {d: [(time(0), time(0))] for d in range(7)})
    assert not cal.always_open
    assert cal.between(den(2026, 3, 8), den(2026, 3, 9)) == 23 * H
    assert cal.between(den(2026, 11, 1), den(2026, 11, 2)) == 25 * H
    assert cal.add(den(2026, 3, 8), 3 * H) == den(2026, 3, 8, 4)  # 02:00-03:00 does not exist
    assert cal.add(den(2026, 11, 1), 3 * H) == den(2026, 11, 1, 2)  # 01:00-02:00 happens twice
    # one stretch, not one per day: touching days are merged (also across the year boundary)
    assert len(cal.open_intervals(den(2026, 12, 30), den(2027, 1, 3))) == 1
    assert cal.describe() == "Mon-Sun 00:00-24:00 America/Denver"


def test_dst_intervals_crossing_the_transition_hours() -> None:
    cal = BusinessCalendar("night", DENVER, {d: [(time(1), time(3))] for d in range(7)})
    # spring forward: 01:00 MST (08:00Z) to 03:00 MDT (09:00Z) is one real hour
    assert cal.between(den(2026, 3, 8), den(2026, 3, 9)) == 1 * H
    assert cal.is_open(datetime(2026, 3, 8, 8, 30, tzinfo=UTC))
    assert not cal.is_open(datetime(2026, 3, 8, 9, 0, tzinfo=UTC))
    assert cal.add(den(2026, 3, 8, 1), 1 * H) == datetime(2026, 3, 8, 9, tzinfo=UTC)
    # fall back: 01:00 MDT (07:00Z) to 03:00 MST (10:00Z) is three real hours
    assert cal.between(den(2026, 11, 1), den(2026, 11, 2)) == 3 * H
    assert cal.add(den(2026, 11, 1, 1), 150 * M) == datetime(2026, 11, 1, 9, 30, tzinfo=UTC)
    assert cal.between(den(2026, 11, 2), den(2026, 11, 3)) == 2 * H


def test_dst_wall_times_in_the_gap_move_forward_and_ambiguous_ones_take_the_first() -> None:
    # 02:30 on 8 Mar does not exist: it moves forward by the gap, to 03:30 MDT (09:30Z)
    # (compared as UTC: Python never finds a fold-sensitive local time equal to another zone's time)
    gap = BusinessCalendar("gap", DENVER, {6: [(time(0), time(2, 30))]})
    assert utc_pairs(gap.open_intervals(den(2026, 3, 8), den(2026, 3, 9))) == [
        (datetime(2026, 3, 8, 7, tzinfo=UTC), datetime(2026, 3, 8, 9, 30, tzinfo=UTC))
    ]
    # 01:30 on 1 Nov happens twice: the interval starts at the first (MDT, 07:30Z)
    amb = BusinessCalendar("amb", DENVER, {6: [(time(1, 30), time(4))]})
    assert utc_pairs(amb.open_intervals(den(2026, 11, 1), den(2026, 11, 2))) == [
        (datetime(2026, 11, 1, 7, 30, tzinfo=UTC), datetime(2026, 11, 1, 11, tzinfo=UTC))
    ]
    assert amb.between(den(2026, 11, 1), den(2026, 11, 2)) == 3.5 * H
    # wall times 02:30 and 03:00 cross over in the gap; the union is kept
    crossing = BusinessCalendar("x", DENVER, {6: [(time(1), time(2, 30)), (time(3), time(5))]})
    assert utc_pairs(crossing.open_intervals(den(2026, 3, 8), den(2026, 3, 9))) == [
        (datetime(2026, 3, 8, 8, tzinfo=UTC), datetime(2026, 3, 8, 11, tzinfo=UTC))
    ]


# -------------------------------------------------------------------------------------- 24x7 and closures


def test_always_open_fast_path() -> None:
    cal = BusinessCalendar("24x7", "UTC", None)
    assert cal.always_open
    assert cal.describe() == "24x7 UTC"
    t = datetime(2026, 3, 7, 12, tzinfo=DENVER)
    assert same_instant(cal.add(t, 24 * H), datetime(2026, 3, 8, 19, tzinfo=ZoneInfo("UTC")))
    assert cal.between(t, t + timedelta(hours=5)) == 5 * H
    assert cal.is_open(t)
    assert same_instant(cal.next_open(t), t.astimezone(ZoneInfo("UTC")))
    den24 = BusinessCalendar("24x7 denver", DENVER, None)
    # real elapsed time, not wall time: 24h after Sat 12:00 MST is Sun 13:00 MDT
    assert same_instant(den24.add(t, 24 * H), den(2026, 3, 8, 13))
    assert den24.between(den(2026, 3, 8), den(2026, 3, 9)) == 23 * H
    assert den24.between(den(2026, 3, 9), den(2026, 3, 8)) == -23 * H
    assert den24.add_business_days(den(2026, 3, 7, 2, 30), 1) == den(2026, 3, 8, 3, 30)
    assert den24.add(t, -H) == t - timedelta(hours=1)
    assert den24._span.n == 0  # nothing was built: plain datetime arithmetic


def test_closure_third_friday_spanning_midnight_on_24x7() -> None:
    third_friday = Closure(time(22), time(4), nth=3, weekday=4)
    cal = BusinessCalendar("ops", DENVER, None, closures=[third_friday])
    assert not cal.always_open
    assert cal.describe() == "24x7 America/Denver, 1 closure"
    # January 2026 starts on a Thursday: Fridays 2, 9, 16
    assert cal.is_open(den(2026, 1, 16, 21, 59))
    assert not cal.is_open(den(2026, 1, 16, 22))
    assert not cal.is_open(den(2026, 1, 17, 3, 59))
    assert cal.is_open(den(2026, 1, 17, 4))
    assert cal.is_open(den(2026, 1, 9, 23))  # second Friday
    assert cal.add(den(2026, 1, 16, 21), 2 * H) == den(2026, 1, 17, 5)
    assert cal.next_open(den(2026, 1, 16, 23)) == den(2026, 1, 17, 4)
    assert cal.between(den(2026, 1, 16), den(2026, 1, 18)) == 42 * H
    assert cal.is_business_day(date(2026, 1, 17))
    assert cal.open_intervals(den(2026, 1, 16, 12), den(2026, 1, 17, 12)) == [
        (den(2026, 1, 16, 12), den(2026, 1, 16, 22)),
        (den(2026, 1, 17, 4), den(2026, 1, 17, 12)),
    ]


def test_closure_across_the_year_boundary_whichever_year_is_built_first() -> None:
    nye = Closure(time(22), time(4), on=date(2026, 12, 31))
    for probe in (den(2027, 1, 1, 2), den(2026, 12, 31, 23)):
        cal = BusinessCalendar("ops", DENVER, None, closures=[nye])
        assert not cal.is_open(probe)
        assert cal.between(den(2026, 12, 31), den(2027, 1, 2)) == 42 * H
        assert cal.next_open(den(2026, 12, 31, 22)) == den(2027, 1, 1, 4)


def test_closure_last_weekday_on_business_hours() -> None:
    # last Monday of the month 08:00-10:00: the first two hours of that day are closed
    last_monday = Closure(time(8), time(10), nth=-1, weekday=0)
    cal = BusinessCalendar("b", DENVER, WEEKDAYS_8_17, closures=[last_monday])
    assert cal.next_open(den(2026, 8, 31, 8)) == den(2026, 8, 31, 10)  # 31 Aug 2026 is the last Monday
    assert cal.next_open(den(2026, 8, 24, 8)) == den(2026, 8, 24, 8)
    assert cal.between(den(2026, 8, 31), den(2026, 9, 1)) == 7 * H
    assert cal.describe() == "Mon-Fri 08:00-17:00 America/Denver, 1 closure"
    assert Closure(time(8), time(10), nth=-1, weekday=0).describe() == "last Mon 08:00-10:00"


def test_closure_that_closes_a_whole_day_makes_it_no_business_day() -> None:
    all_day = Closure(time(7), time(18), on=date(2026, 6, 3))
    cal = BusinessCalendar("b", DENVER, WEEKDAYS_8_17, closures=[all_day])
    assert not cal.is_business_day(date(2026, 6, 3))
    assert cal.add_business_days(den(2026, 6, 2, 10), 1) == den(2026, 6, 4, 10)


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"nth": 3},
        {"weekday": 4},
        {"nth": 3, "weekday": 4, "on": date(2026, 1, 1)},
        {"nth": 6, "weekday": 4},
        {"nth": 0, "weekday": 4},
        {"nth": 1, "weekday": 7},
    ],
)
def test_closure_validation(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        Closure(time(22), time(4), **kwargs)  # type: ignore[arg-type]


# -------------------------------------------------------------------------------------- business days


def test_add_business_days(office: BusinessCalendar) -> None:
    assert office.add_business_days(den(2026, 11, 20, 16), 1) == den(2026, 11, 23, 16)  # Fri -> Mon
    assert office.add_business_days(den(2026, 11, 23, 7), 1) == den(2026, 11, 24, 8)  # before opening
    assert office.add_business_days(den(2026, 11, 20, 18), 1) == den(2026, 11, 24, 8)  # after Fri close
    assert office.add_business_days(den(2026, 11, 25, 10), 1) == den(2026, 11, 27, 10)  # over Thanksgiving
    assert office.add_business_days(den(2026, 11, 20, 10), 5) == den(2026, 11, 30, 10)
    assert office.add_business_days(den(2026, 11, 21, 10), 0) == den(2026, 11, 23, 8)
    assert office.add_business_days(den(2026, 11, 23, 10), -1) == den(2026, 11, 20, 10)
    assert office.add_business_days(den(2026, 12, 31, 10), 1) == den(2027, 1, 4, 10)  # New Year's Day
    # about a year of business days, across the year boundary, checked against a slow count
    far = office.add_business_days(den(2026, 1, 5, 9), 260)
    assert far.time() == time(9) and office.is_business_day(far.date())
    assert count_business_days(date(2026, 1, 6), far.date() + timedelta(days=1)) == 260


def test_add_business_days_when_the_local_time_is_not_open_on_the_target_day() -> None:
    hours = {**WEEKDAYS_8_17, 5: [(time(9), time(12))]}  # Saturday mornings too
    cal = BusinessCalendar("sat", DENVER, hours)
    assert cal.add_business_days(den(2026, 11, 20, 10), 1) == den(2026, 11, 21, 10)
    assert cal.add_business_days(den(2026, 11, 20, 16), 1) == den(2026, 11, 23, 8)  # Sat 16:00 is closed
    assert cal.describe() == "Mon-Fri 08:00-17:00, Sat 09:00-12:00 America/Denver"


def test_is_business_day(office: BusinessCalendar) -> None:
    assert office.is_business_day(date(2026, 11, 24))
    assert not office.is_business_day(date(2026, 11, 21))  # Saturday
    assert not office.is_business_day(date(2026, 7, 3))  # Independence Day observed
    with pytest.raises(ValueError):
        office.is_business_day(den(2026, 11, 24, 10))


# ---------------------------------------------------------------------------------- years and long spans


def count_business_days(first: date, last: date) -> int:
    """Weekdays that are not US holidays, in [first, last), counted the slow way."""
    days = (first + timedelta(days=k) for k in range((last - first).days))
    return sum(1 for d in days if d.weekday() < 5 and d not in set(us_holidays(d.year)))


def test_year_boundary_crossing() -> None:
    cal = BusinessCalendar("office", DENVER, WEEKDAYS_8_17, us_holidays)
    cal.is_open(den(2027, 1, 4, 9))  # build 2027 first, then reach back into 2026
    assert cal.add(den(2026, 12, 31, 16), 2 * H) == den(2027, 1, 4, 9)  # Fri 1 Jan 2027 is a holiday
    assert cal.between(den(2026, 12, 31, 16), den(2027, 1, 4, 9)) == 2 * H
    assert cal.add(den(2027, 1, 4, 9), -2 * H) == den(2026, 12, 31, 16)


def test_multi_year_spans(office: BusinessCalendar) -> None:
    start, end = den(2026, 1, 1), den(2030, 1, 1)
    expected = count_business_days(date(2026, 1, 1), date(2030, 1, 1)) * 9 * H
    assert office.between(start, end) == expected
    assert office.between(end, start) == -expected
    assert office.add(start, expected) == den(2029, 12, 31, 17)  # 31 Dec 2029 is a Monday
    fresh = BusinessCalendar("office", DENVER, WEEKDAYS_8_17, us_holidays)
    assert fresh.add(den(2026, 6, 1, 9), 5 * 2000 * H) > den(2030, 1, 1)  # built years on demand
    assert fresh.between(den(2026, 6, 1, 9), fresh.add(den(2026, 6, 1, 9), 5 * 2000 * H)) == 5 * 2000 * H
    assert fresh.add(den(2031, 6, 2, 9), -4 * 2000 * H) < den(2028, 1, 1)  # and backwards


def test_never_open_calendar_fails_loudly() -> None:
    with pytest.raises(ValueError, match="never open"):
        BusinessCalendar("none", DENVER, {})
    everything = BusinessCalendar(
        "hol",
        DENVER,
        WEEKDAYS_8_17,
        lambda y: [
            date(y, 1, 1) + timedelta(days=k)
            for k in range(366)
            if (date(y, 1, 1) + timedelta(days=k)).year == y
        ],
    )
    with pytest.raises(ValueError, match="no open time"):
        everything.next_open(den(2026, 1, 1))


@pytest.mark.parametrize(
    "weekly",
    [
        {0: [(time(9), time(8))]},  # ends before it starts
        {0: [(time(9), time(9))]},  # empty
        {0: [(time(9), time(12)), (time(11), time(13))]},  # overlap
        {0: [(time(9), time(0)), (time(10), time(11))]},  # overlap with a 24:00 end
        {7: [(time(9), time(12))]},  # no such weekday
        {0: [(time(9, tzinfo=UTC), time(12))]},  # tz-aware wall time
    ],
)
def test_weekly_validation(weekly: dict[int, list[tuple[time, time]]]) -> None:
    with pytest.raises(ValueError):
        BusinessCalendar("bad", DENVER, weekly)


def test_describe(office: BusinessCalendar) -> None:
    assert office.describe() == "Mon-Fri 08:00-17:00 America/Denver, holidays"
    closures = [Closure(time(22), time(4), nth=3, weekday=4), Closure(time(1), time(2), on=date(2026, 6, 2))]
    cal = BusinessCalendar("x", DENVER, WEEKDAYS_8_17, us_holidays, closures=closures)
    assert cal.describe() == "Mon-Fri 08:00-17:00 America/Denver, holidays, 2 closures"
    assert BusinessCalendar("e", "UTC", None, holidays=[date(2026, 1, 1)]).describe() == "24x7 UTC, holidays"


# ------------------------------------------------------------------------ reference and property tests


@dataclass
class Spec:
    """A calendar as plain data, from which both the real calendar and the reference are made."""

    zone: str
    weekly: dict[int, list[tuple[time, time]]]
    holidays: frozenset[date]
    closures: list[Closure]

    def calendar(self) -> BusinessCalendar:
        return BusinessCalendar("prop", self.zone, self.weekly, sorted(self.holidays), self.closures)


@dataclass
class Reference:
    """Slow reference: an instant is open when it lies in a weekly interval of a non-holiday local date,
    turned into instants by zoneinfo on that date (fold=0), and in no closure window. Open minutes are
    found by walking minute by minute; all instants and intervals are whole minutes."""

    spec: Spec
    zone: ZoneInfo = field(init=False)
    _windows: dict[date, list[tuple[int, int]]] = field(default_factory=dict)
    _closed: dict[date, list[tuple[int, int]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.zone = ZoneInfo(self.spec.zone)

    def _ts(self, d: date, t: time) -> int:
        return int(datetime.combine(d, t, self.zone).timestamp())

    def windows(self, d: date) -> list[tuple[int, int]]:
        if d not in self._windows:
            out = []
            if d not in self.spec.holidays:
                for s, e in self.spec.weekly.get(d.weekday(), []):
                    end = self._ts(d + timedelta(days=1), time(0)) if e == time(0) else self._ts(d, e)
                    out.append((self._ts(d, s), end))
            self._windows[d] = out
        return self._windows[d]

    @staticmethod
    def closure_starts_on(c: Closure, d: date) -> bool:
        if c.on is not None:
            return c.on == d
        if d.weekday() != c.weekday:
            return False
        if c.nth == -1:
            return (d + timedelta(days=7)).month != d.month
        return (d.day - 1) // 7 + 1 == c.nth

    def closed_windows(self, d: date) -> list[tuple[int, int]]:
        if d not in self._closed:
            out = []
            for c in self.spec.closures:
                if self.closure_starts_on(c, d):
                    end_day = d + timedelta(days=1) if c.end <= c.start else d
                    out.append((self._ts(d, c.start), self._ts(end_day, c.end)))
            self._closed[d] = out
        return self._closed[d]

    def is_open(self, ts: int) -> bool:
        d = datetime.fromtimestamp(ts, self.zone).date()
        near = [d + timedelta(days=k) for k in (-2, -1, 0, 1)]
        if not any(s <= ts < e for dd in near for s, e in self.windows(dd)):
            return False
        return not any(s <= ts < e for dd in near for s, e in self.closed_windows(dd))

    def between(self, a: int, b: int) -> int:
        if b < a:
            return -self.between(b, a)
        return 60 * sum(1 for m in range(a, b, 60) if self.is_open(m))

    def next_open(self, ts: int, horizon: int) -> int | None:
        for m in range(ts, ts + horizon, 60):
            if self.is_open(m):
                return m
        return None

    def add(self, ts: int, seconds: int, horizon: int) -> int | None:
        if seconds == 0:
            return self.next_open(ts, horizon)
        left = seconds
        for m in range(ts, ts + horizon, 60):
            if self.is_open(m):
                left -= 60
                if left == 0:
                    return m + 60
        return None

    def is_business_day(self, d: date) -> bool:
        lo, hi = self._ts(d, time(0)), self._ts(d + timedelta(days=1), time(0))
        return any(self.is_open(m) for m in range(lo, hi, 60))

    def add_business_days(self, ts: int, days: int, horizon: int) -> int | None:
        start = self.next_open(ts, horizon)
        if start is None or days == 0:
            return start
        local = datetime.fromtimestamp(start, self.zone)
        d, found = local.date(), 0
        while found < days:
            d += timedelta(days=1)
            found += self.is_business_day(d)
        return self.next_open(int(datetime.combine(d, local.time(), self.zone).timestamp()), horizon)


ZONES = ["America/Denver", "Europe/London", "Asia/Singapore", "Australia/Lord_Howe"]
# DST changes in 2026 (local dates) of the zones above, and a year boundary: starts are drawn near them
ANCHORS = [
    datetime(2026, 3, 8),
    datetime(2026, 11, 1),
    datetime(2026, 3, 29),
    datetime(2026, 10, 25),
    datetime(2026, 4, 5),
    datetime(2026, 10, 4),
    datetime(2026, 12, 31),
    datetime(2026, 7, 15),
]
DAY = 86400


@st.composite
def specs(draw: st.DrawFn) -> Spec:
    zone = draw(st.sampled_from(ZONES))
    weekly: dict[int, list[tuple[time, time]]] = {}
    for wd in range(7):
        # boundaries on the half hour (so 01:00-03:00 around DST changes comes up often), 48 = 24:00
        points = sorted(draw(st.lists(st.integers(0, 48), max_size=4, unique=True)))
        pairs = list(zip(points[::2], points[1::2], strict=False))
        if pairs:
            weekly[wd] = [
                (time(s // 2, 30 * (s % 2)), time(0) if e == 48 else time(e // 2, 30 * (e % 2)))
                for s, e in pairs
            ]
    if not weekly:
        weekly[0] = [(time(9), time(17))]
    holidays = frozenset(draw(st.lists(st.dates(date(2026, 2, 25), date(2027, 1, 15)), max_size=25)))
    closures = []
    if draw(st.booleans()):
        start = time(draw(st.integers(0, 23)), draw(st.sampled_from([0, 30])))
        end = time(draw(st.integers(0, 23)), draw(st.sampled_from([0, 30])))
        if draw(st.booleans()):
            closures.append(
                Closure(
                    start,
                    end,
                    nth=draw(st.sampled_from([1, 2, 3, 4, 5, -1])),
                    weekday=draw(st.integers(0, 6)),
                )
            )
        else:
            closures.append(Closure(start, end, on=draw(st.dates(date(2026, 2, 25), date(2027, 1, 15)))))
    return Spec(zone, weekly, holidays, closures)


@st.composite
def instants(draw: st.DrawFn, zone: str) -> int:
    """A whole-minute instant within four days of an interesting local date."""
    anchor = draw(st.sampled_from(ANCHORS)).replace(tzinfo=ZoneInfo(zone))
    return int(anchor.timestamp()) // 60 * 60 + 60 * draw(st.integers(-4 * 1440, 4 * 1440))


PROPS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def aware(ts: int | float, zone: str = "UTC") -> datetime:
    return datetime.fromtimestamp(ts, ZoneInfo(zone))


@PROPS
@given(data=st.data(), spec=specs())
def test_prop_is_open_and_between_match_the_minute_walk(data: st.DataObject, spec: Spec) -> None:
    cal, ref = spec.calendar(), Reference(spec)
    a = data.draw(instants(spec.zone))
    b = a + 60 * data.draw(st.integers(-14 * 1440, 14 * 1440))
    in_zone = data.draw(st.sampled_from(["UTC", spec.zone, "Asia/Tokyo"]))
    assert cal.between(aware(a, in_zone), aware(b, in_zone)) == ref.between(a, b)
    for m in range(min(a, b), max(a, b), max(60, abs(b - a) // 200 // 60 * 60)):
        assert cal.is_open(aware(m, in_zone)) == ref.is_open(m), aware(m, spec.zone)


@PROPS
@given(data=st.data(), spec=specs())
def test_prop_add_and_next_open_match_the_minute_walk(data: st.DataObject, spec: Spec) -> None:
    cal, ref = spec.calendar(), Reference(spec)
    s = data.draw(instants(spec.zone))
    window = 60 * data.draw(st.integers(0, 14 * 1440))
    available = ref.between(s, s + window)
    # an amount that is reachable within the window, so the walk stays short
    seconds = 60 * (available // 60 * data.draw(st.integers(0, 1000)) // 1000)
    expected = ref.add(s, seconds, horizon=max(window, 1) if seconds else 21 * DAY)
    got = cal.add(aware(s), seconds)
    assert got.tzinfo == ZoneInfo(spec.zone)
    if expected is None:  # seconds == 0 and no opening within three weeks
        assert got.timestamp() >= s + 21 * DAY
    else:
        assert got.timestamp() == expected, (aware(s, spec.zone), seconds)
    nxt = ref.next_open(s, 21 * DAY)
    if nxt is not None:
        assert cal.next_open(aware(s)).timestamp() == nxt


@PROPS
@given(data=st.data(), spec=specs())
def test_prop_add_business_days_matches_the_day_walk(data: st.DataObject, spec: Spec) -> None:
    cal, ref = spec.calendar(), Reference(spec)
    s = data.draw(instants(spec.zone))
    days = data.draw(st.integers(0, 3))
    expected = ref.add_business_days(s, days, horizon=10 * DAY)
    assume(expected is not None)
    assert cal.add_business_days(aware(s), days).timestamp() == expected
    d = aware(s, spec.zone).date()
    assert cal.is_business_day(d) == ref.is_business_day(d)


@PROPS
@given(data=st.data(), spec=specs())
def test_prop_inverses(data: st.DataObject, spec: Spec) -> None:
    """between undoes add, add undoes between (up to the choice of instant within a closed stretch),
    and between is antisymmetric and additive; amounts up to three years, in whole seconds."""
    cal = spec.calendar()
    s = aware(data.draw(instants(spec.zone)) + data.draw(st.integers(0, 59)))
    d = data.draw(st.one_of(st.integers(1, 3 * DAY), st.integers(1, 3 * 365 * DAY)))
    end = cal.add(s, d)
    assert cal.between(s, end) == d
    assert cal.between(end, s) == -d
    assert end > s and (cal.is_open(end - timedelta(seconds=1)))  # the last second counted was open

    t = s + timedelta(seconds=data.draw(st.integers(0, 30 * DAY)))
    elapsed = cal.between(s, t)
    back = cal.add(s, elapsed)
    if cal.is_open(t):
        # as epoch seconds: an instant in a DST fold never equals another zone's (PEP 495)
        assert back.timestamp() == t.timestamp()
    elif elapsed > 0:  # t is closed: add stops at the end of the last open stretch before t
        assert back <= t and cal.between(back, t) == 0 and cal.between(s, back) == elapsed
    mid = s + (t - s) / 3
    assert cal.between(s, mid) + cal.between(mid, t) == elapsed

    earlier = cal.add(s, -d)  # the latest instant with d open seconds up to s: always an open instant
    assert cal.between(earlier, s) == d
    assert cal.is_open(earlier)


def test_reference_agrees_with_hand_checked_cases() -> None:
    """The reference itself, on the DST cases checked by hand above."""
    ref = Reference(Spec("America/Denver", {d: [(time(1), time(3))] for d in range(7)}, frozenset(), []))
    day = int(den(2026, 3, 8).timestamp())
    assert ref.between(day, int(den(2026, 3, 9).timestamp())) == 1 * H
    assert ref.between(int(den(2026, 11, 1).timestamp()), int(den(2026, 11, 2).timestamp())) == 3 * H
