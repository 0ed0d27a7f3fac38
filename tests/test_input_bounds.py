"""Durations and calendar arithmetic are bounded to what makes sense, and what is out of bounds is
refused at once with a message, never an overflow, a traceback or a ten-minute loop."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from casewarden.errors import CaseError
from casewarden.policy.calendar import BusinessCalendar
from casewarden.policy.durations import (
    MAX_BUSINESS_DAYS,
    MAX_DAYS,
    DurationKind,
    parse_duration,
)
from casewarden.policy.evaluate import evaluate
from casewarden.sync.cli import main
from tests.policy_fixtures import case, policy

WEEKDAYS = {d: [(time(8), time(17))] for d in range(5)}


@pytest.mark.parametrize(
    ("inside", "outside"),
    [
        (f"{MAX_DAYS} days", f"{MAX_DAYS + 1} days"),
        (f"{MAX_DAYS * 24} hours", f"{MAX_DAYS * 24 + 1} hours"),
        (f"{MAX_DAYS // 7} weeks", f"{MAX_DAYS // 7 + 1} weeks"),
        (f"{MAX_DAYS * 24} business hours", f"{MAX_DAYS * 24 + 1} business hours"),
        (f"{MAX_BUSINESS_DAYS} business days", f"{MAX_BUSINESS_DAYS + 1} business days"),
        (f"{MAX_BUSINESS_DAYS // 5} business weeks", f"{MAX_BUSINESS_DAYS // 5 + 1} business weeks"),
        (f"1 to {MAX_DAYS} days", f"1 to {MAX_DAYS + 1} days"),
    ],
)
def test_durations_end_at_ten_years(inside: str, outside: str) -> None:
    parse_duration(inside)
    with pytest.raises(ValueError, match=r"is too long; a duration is at most 3650 days \(10 years"):
        parse_duration(outside)


def test_a_quantity_too_big_for_a_float_is_too_long_not_an_overflow() -> None:
    with pytest.raises(ValueError, match="is too long") as info:
        parse_duration("9" * 400 + " business days")
    assert len(str(info.value)) < 300  # the value is cut in the message, not repeated whole
    with pytest.raises(ValueError, match="is too long"):
        parse_duration("9" * 400 + " minutes")


@pytest.mark.parametrize("minutes", [-1, float("nan"), float("inf"), MAX_DAYS * 1440 + 1])
def test_a_number_of_minutes_out_of_range_is_refused(minutes: float) -> None:
    with pytest.raises(ValueError, match="out of range"):
        parse_duration(minutes)
    assert parse_duration(30).kind is DurationKind.ELAPSED


def test_business_days_past_the_calendar_range_fail_at_once() -> None:
    cal = BusinessCalendar("office", "America/Denver", WEEKDAYS)
    start = datetime(2026, 3, 2, 9, tzinfo=UTC)
    with pytest.raises(ValueError, match=r"9999999 business days from 2026-03-02 end outside the supported"):
        cal.add_business_days(start, 9_999_999)
    with pytest.raises(ValueError, match="end outside the supported years"):
        cal.add_business_days(start, -9_999_999)
    # the longest a policy allows still works, and lands about ten years on
    due = cal.add_business_days(start, MAX_BUSINESS_DAYS)
    assert 9.9 < (due - start).days / 365.25 < 10.1


def test_open_time_past_the_calendar_range_is_refused_not_overflowed() -> None:
    start = datetime(9990, 1, 5, 9, tzinfo=UTC)
    office = BusinessCalendar("office", "UTC", WEEKDAYS)
    always = BusinessCalendar("24x7", "UTC", None)
    with pytest.raises(ValueError, match="end after year 9998"):
        office.add(start, 20 * 365 * 86400)
    with pytest.raises(ValueError, match="past the last supported year"):
        always.add(datetime(9999, 12, 31, 23, tzinfo=UTC), 7200)
    with pytest.raises(ValueError, match=r"outside the supported range \(years 2\.\.9998\)"):
        office.is_open(datetime(1, 1, 1, 12, tzinfo=UTC))


def test_a_far_instant_counts_the_same_as_the_two_halves() -> None:
    cal = BusinessCalendar("office", "America/Denver", WEEKDAYS)
    a = datetime(2026, 1, 5, 9, tzinfo=UTC)
    b = a + timedelta(days=365 * 60)
    far = cal.between(a, b)
    mid = a + timedelta(days=365 * 30)
    fresh = BusinessCalendar("office", "America/Denver", WEEKDAYS)
    assert far == fresh.between(a, mid) + fresh.between(mid, b)


# --------------------------------------------------------------------------- the due command


def due(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["due", *args])
    assert isinstance(result.exception, SystemExit) or result.exception is None, repr(result.exception)
    assert "Traceback" not in result.output
    return result.exit_code, result.output


@pytest.mark.parametrize(
    ("opened", "level"),
    [("9999-12-31T10:00:00Z", "P1"), ("9999-12-31T10:00:00Z", "P3"), ("0001-01-01T10:00:00+05:00", "P3")],
)
def test_due_at_the_ends_of_time_is_a_usage_error(opened: str, level: str) -> None:
    code, out = due("priority-lifecycle", "--level", level, "--opened", opened)
    assert code == 2
    assert f"cannot work out due times for a case opened {datetime.fromisoformat(opened).isoformat()}" in out


def test_due_for_a_region_that_does_not_exist_is_a_usage_error() -> None:
    code, out = due(
        "severity-follow-the-sun", "--level", "S3", "--region", "mars", "--opened", "2026-01-01T10:00Z"
    )
    assert code == 2
    assert "unknown region 'mars'; regions: americas, emea, apac" in out
    code, out = due(
        "priority-lifecycle", "--level", "P3", "--region", "emea", "--opened", "2026-01-01T10:00Z"
    )
    assert code == 2
    assert "unknown region 'emea'; this policy defines no regions" in out


def test_due_with_a_broken_policy_exits_1_and_a_bad_instant_2(tmp_path: Path) -> None:
    broken = tmp_path / "p.yaml"
    broken.write_bytes("policy: {name: x}\n".encode("utf-16"))
    code, out = due(str(broken), "--level", "P1", "--opened", "2026-01-01T10:00Z")
    assert code == 1 and "saved as UTF-16 LE" in out
    code, out = due("priority-lifecycle", "--level", "P1", "--opened", "yesterday")
    assert code == 2 and "'yesterday' is not an ISO-8601 instant" in out


# --------------------------------------------------------------------------- cases from a tracker


@pytest.mark.parametrize(
    ("opened", "level"),
    [
        (datetime(9999, 12, 30, tzinfo=UTC), "P3"),  # business hours: past the calendar's last year
        (datetime(1, 1, 2, tzinfo=UTC), "P3"),  # before its first
        (datetime(9999, 12, 31, 23, 50, tzinfo=UTC), "P1"),  # clock time: 30 minutes overflow datetime
    ],
)
def test_a_case_dated_outside_the_calendar_years_cannot_be_placed(opened: datetime, level: str) -> None:
    """A tracker record with an absurd date is one skipped case (CaseError), not a failed cycle."""
    pol = policy()
    with pytest.raises(CaseError, match=r"its timers cannot be worked out: .*outside the supported"):
        evaluate(pol, case(opened, level), datetime(2026, 5, 1, tzinfo=UTC))
    # clock-time targets of a far but representable date are worked out as usual
    ev = evaluate(pol, case(datetime(9999, 12, 30, tzinfo=UTC), "P1"), datetime(2026, 5, 1, tzinfo=UTC))
    assert ev.targets[0].due_at == datetime(9999, 12, 30, 0, 30, tzinfo=UTC)
