"""The retry policy: Retry-After parsing, status classification and the tenacity policy itself.

The policy is exercised with an injected ``sleep`` that records waits instead of sleeping, so the
backoff schedule is asserted exactly and the tests take no time.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
import requests

from casewarden.connectors.retrying import classify_status, retry_after_seconds, retrying
from casewarden.errors import (
    FatalConnectorError,
    NotifyError,
    RetriableConnectorError,
    SkippableConnectorError,
)

NOW = datetime(2026, 11, 20, 10, 0, 0, tzinfo=UTC)


def http_date(when: datetime) -> str:
    return format_datetime(when, usegmt=True)


class Sleeps(list[float]):
    """An injectable ``sleep`` that records what it was asked to wait."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


class CeilingRng(random.Random):
    """Always draws the top of the jitter range, so the backoff ceilings become observable."""

    def uniform(self, a: float, b: float) -> float:
        return b


def failing(errors: list[BaseException], result: str = "done") -> tuple[Callable[[], str], list[int]]:
    """A callable raising ``errors`` one per call, then returning ``result``; also counts calls."""
    calls: list[int] = []

    def fn() -> str:
        calls.append(1)
        if errors:
            raise errors.pop(0)
        return result

    return fn, calls


# ------------------------------------------------------------------------------------------------
# retry_after_seconds


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("120", 120.0),
        ("0", 0.0),
        (" 7 ", 7.0),
        ("1.5", 1.5),
        ("-5", 0.0),
        ("100000", 300.0),
        (http_date(NOW + timedelta(seconds=30)), 30.0),
        (http_date(NOW - timedelta(hours=1)), 0.0),
        (http_date(NOW + timedelta(days=2)), 300.0),
        ("Fri, 20 Nov 2026 10:01:00 -0000", 60.0),  # RFC 2822 "-0000": zone unknown, taken as UTC
    ],
)
def test_retry_after_parses_delta_seconds_and_http_dates(value: str, expected: float) -> None:
    assert retry_after_seconds(value, now=NOW) == pytest.approx(expected)


@pytest.mark.parametrize("value", [None, "", "   ", "soon", "1e3", "nan", "inf", "12 seconds", "Fri, 99 Foo"])
def test_retry_after_garbage_is_none(value: str | None) -> None:
    assert retry_after_seconds(value, now=NOW) is None


def test_retry_after_cap_is_a_parameter() -> None:
    assert retry_after_seconds("90", now=NOW, cap=60.0) == 60.0
    assert retry_after_seconds(http_date(NOW + timedelta(seconds=90)), now=NOW, cap=60.0) == 60.0


def test_retry_after_accepts_naive_now_as_utc() -> None:
    naive = NOW.replace(tzinfo=None)
    assert retry_after_seconds(http_date(NOW + timedelta(seconds=10)), now=naive) == 10.0


# ------------------------------------------------------------------------------------------------
# classify_status

STATUS_TABLE: list[tuple[int, str]] = [
    (200, "ok"),
    (201, "ok"),
    (202, "ok"),
    (204, "ok"),
    (299, "ok"),
    (408, "retry"),
    (425, "retry"),
    (429, "retry"),
    (500, "retry"),
    (502, "retry"),
    (503, "retry"),
    (504, "retry"),
    (401, "fatal"),
    (403, "fatal"),
    (400, "skip"),
    (404, "skip"),
    (409, "skip"),
    (410, "skip"),
    (422, "skip"),
    # other 4xx: fatal
    (405, "fatal"),
    (411, "fatal"),
    (413, "fatal"),
    (415, "fatal"),
    (418, "fatal"),
    (451, "fatal"),
    # other 5xx: retry
    (501, "retry"),
    (505, "retry"),
    (507, "retry"),
    (599, "retry"),
    # neither: redirects are not followed, informational replies are not final
    (100, "fatal"),
    (301, "fatal"),
    (302, "fatal"),
    (304, "fatal"),
    (0, "fatal"),
    (600, "fatal"),
]


@pytest.mark.parametrize(("status", "expected"), STATUS_TABLE)
def test_classify_status(status: int, expected: str) -> None:
    assert classify_status(status) == expected


# ------------------------------------------------------------------------------------------------
# retrying


def test_retry_after_seconds_is_waited_exactly() -> None:
    sleeps = Sleeps()
    fn, calls = failing([RetriableConnectorError("429", retry_after=retry_after_seconds("2", now=NOW))])
    assert retrying(sleep=sleeps)(fn) == "done"
    assert sleeps == [2.0]
    assert len(calls) == 2


def test_retry_after_http_date_is_waited_exactly() -> None:
    sleeps = Sleeps()
    wait = retry_after_seconds(http_date(NOW + timedelta(seconds=20)), now=NOW)
    fn, _ = failing([RetriableConnectorError("503", retry_after=wait)])
    retrying(sleep=sleeps)(fn)
    assert sleeps == [20.0]


def test_retry_after_is_capped_and_never_negative() -> None:
    sleeps = Sleeps()
    fn, _ = failing(
        [
            RetriableConnectorError("slow down", retry_after=3600.0),
            RetriableConnectorError("odd", retry_after=-4.0),
        ]
    )
    retrying(cap=30.0, sleep=sleeps)(fn)
    assert sleeps == [30.0, 0.0]


def test_retry_after_zero_is_honoured_not_replaced_by_backoff() -> None:
    sleeps = Sleeps()
    fn, _ = failing([RetriableConnectorError("now", retry_after=0.0)])
    retrying(sleep=sleeps, rng=CeilingRng())(fn)
    assert sleeps == [0.0]


def test_backoff_grows_exponentially_and_is_capped() -> None:
    sleeps = Sleeps()
    fn, calls = failing([RetriableConnectorError(f"boom {i}") for i in range(7)])
    assert retrying(attempts=8, base=0.5, cap=5.0, sleep=sleeps, rng=CeilingRng())(fn) == "done"
    assert sleeps == [0.5, 1.0, 2.0, 4.0, 5.0, 5.0, 5.0]
    assert len(calls) == 8


def test_backoff_is_full_jitter_within_the_ceiling() -> None:
    ceilings = [0.5, 1.0, 2.0, 4.0, 4.0]
    seen: list[list[float]] = []
    for seed in range(50):
        sleeps = Sleeps()
        fn, _ = failing([RetriableConnectorError("boom") for _ in range(5)])
        retrying(attempts=6, base=0.5, cap=4.0, sleep=sleeps, rng=random.Random(seed))(fn)
        assert all(0.0 <= s <= c for s, c in zip(sleeps, ceilings, strict=True))
        seen.append(list(sleeps))
    # jitter: the waits differ between runs, and they use the lower part of the range as well
    assert len({tuple(s) for s in seen}) == len(seen)
    assert min(s[3] for s in seen) < 2.0


def test_backoff_without_rng_is_bounded() -> None:
    sleeps = Sleeps()
    fn, _ = failing([RetriableConnectorError("boom") for _ in range(3)])
    retrying(attempts=4, base=0.5, cap=30.0, sleep=sleeps)(fn)
    assert len(sleeps) == 3
    assert all(0.0 <= s <= c for s, c in zip(sleeps, [0.5, 1.0, 2.0], strict=True))


@pytest.mark.parametrize(
    "error",
    [
        FatalConnectorError("401"),
        SkippableConnectorError("404"),
        NotifyError("permanent"),
        ValueError("bug"),
        requests.exceptions.SSLError("certificate verify failed"),
        requests.HTTPError("500"),
    ],
)
def test_non_retriable_errors_are_raised_at_once(error: Exception) -> None:
    sleeps = Sleeps()
    fn, calls = failing([error])
    with pytest.raises(type(error)) as info:
        retrying(sleep=sleeps)(fn)
    assert info.value is error
    assert len(calls) == 1
    assert sleeps == []


@pytest.mark.parametrize(
    "error",
    [
        RetriableConnectorError("reset"),
        requests.ConnectionError("reset"),
        requests.Timeout("slow"),
        requests.exceptions.ReadTimeout("slow"),
        requests.exceptions.ConnectTimeout("slow"),
    ],
)
def test_passing_errors_are_retried(error: Exception) -> None:
    sleeps = Sleeps()
    fn, calls = failing([error])
    assert retrying(sleep=sleeps)(fn) == "done"
    assert len(calls) == 2
    assert len(sleeps) == 1


def test_attempts_are_bounded_and_the_last_error_is_reraised() -> None:
    sleeps = Sleeps()
    errors: list[BaseException] = [RetriableConnectorError(f"attempt {i}") for i in range(1, 10)]
    fn, calls = failing(errors)
    with pytest.raises(RetriableConnectorError, match="attempt 3"):
        retrying(attempts=3, sleep=sleeps)(fn)
    assert len(calls) == 3
    assert len(sleeps) == 2


def test_one_attempt_means_no_retry() -> None:
    sleeps = Sleeps()
    fn, calls = failing([RetriableConnectorError("once")])
    with pytest.raises(RetriableConnectorError):
        retrying(attempts=1, sleep=sleeps)(fn)
    assert len(calls) == 1
    assert sleeps == []


def test_attempts_must_be_positive() -> None:
    with pytest.raises(ValueError, match="attempts"):
        retrying(attempts=0)


def test_iteration_style_works_too() -> None:
    sleeps = Sleeps()
    fn, calls = failing([RetriableConnectorError("x", retry_after=1.0)])
    for attempt in retrying(sleep=sleeps):
        with attempt:
            fn()
    assert len(calls) == 2
    assert sleeps == [1.0]


def test_retry_log_names_the_error_type_but_not_its_message(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="casewarden")
    fn, _ = failing([requests.ConnectionError("https://hooks.example.com/services/T0/B0/s3cret refused")])
    retrying(sleep=Sleeps())(fn)
    assert "ConnectionError" in caplog.text
    assert "s3cret" not in caplog.text
