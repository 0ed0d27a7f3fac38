"""Rate limits and server errors: casewarden's own retry around the jira client (the library's retries are
off). Waits happen in the fake's time (``FakeJira.sleep``), so the tests record them instead of sleeping."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from casewarden.connectors.base import CaseChanges, Change, ChangeKind, Outcome
from casewarden.errors import RetriableConnectorError
from tests.connector_contract import Reader
from tests.trackers.jira import JiraUnderTest, make_cloud, make_dc

T0 = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)
SEARCH = "*search*"
COMMENT = "POST /rest/api/{v}/issue/{issueIdOrKey}/comment"


@pytest.fixture(params=["cloud", "dc"])
def tut(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[JiraUnderTest]:
    made = (make_cloud if request.param == "cloud" else make_dc)(tmp_path, lambda: T0)
    made.harness.create_case("Case", opened_at=T0 - timedelta(hours=1), level="S3")
    yield made
    made.close()


def searches(tut: JiraUnderTest) -> int:
    return len([c for c in tut.fake.log if c.endpoint and "search" in c.endpoint])


def test_retry_after_in_seconds_is_waited_exactly(tut: JiraUnderTest) -> None:
    conn = tut.connector()
    tut.fake.faults.rate_limit(SEARCH, times=1, retry_after=7)
    assert len(Reader().read(conn)) == 1
    assert tut.fake.sleeps == [7.0]


def test_retry_after_as_an_http_date_is_understood(tut: JiraUnderTest) -> None:
    conn = tut.connector()
    conn.site.zone()  # read /myself first: the fake's clock is then the one the date is relative to
    tut.fake.faults.rate_limit(SEARCH, times=1, retry_after=tut.fake.now + timedelta(seconds=40))
    assert len(Reader().read(conn)) == 1
    [wait] = tut.fake.sleeps
    assert 39 <= wait <= 40, "jira's ResilientSession would fail on int('Wed, 04 ...')"


def test_a_spent_budget_waits_until_its_reset(tut: JiraUnderTest) -> None:
    conn = tut.connector()
    conn.site.zone()
    tut.fake.faults.budget(limit=2, window=timedelta(minutes=1))
    assert len(Reader().read(conn)) == 1
    assert tut.fake.sleeps and all(0 < s <= 60 for s in tut.fake.sleeps)
    assert [c for c in tut.fake.log if c.status == 429], "the budget was hit and waited out"


def test_429_without_retry_after_backs_off(tut: JiraUnderTest) -> None:
    conn = tut.connector()
    tut.fake.faults.rate_limit(SEARCH, times=2, retry_after=None)
    assert len(Reader().read(conn)) == 1
    assert len(tut.fake.sleeps) == 2 and all(s >= 0 for s in tut.fake.sleeps)


def test_5xx_on_a_read_is_retried_and_bounded_in_attempts(tut: JiraUnderTest) -> None:
    conn = tut.connector()
    tut.fake.faults.server_error(SEARCH, status=502, times=2)
    assert len(Reader().read(conn)) == 1
    before = searches(tut)
    tut.fake.faults.server_error(SEARCH, status=500, times=50)
    with pytest.raises(RetriableConnectorError):
        Reader().read(tut.connector())
    assert searches(tut) - before == conn.settings.max_attempts


def test_retries_stop_at_the_cycle_budget_deadline(tut: JiraUnderTest) -> None:
    conn = tut.connector()
    conn.site.zone()
    conn.context.budget.start(10)
    tut.fake.faults.rate_limit(SEARCH, times=5, retry_after=60)
    with pytest.raises(RetriableConnectorError):
        Reader().read(conn)
    assert tut.fake.sleeps == [], "a wait past the deadline is left to the next cycle"


def test_a_write_refused_for_rate_is_retried_and_lands_once(tut: JiraUnderTest) -> None:
    conn = tut.connector()
    [case_id] = [str(i) for i in tut.fake.state.issues]
    tut.fake.faults.rate_limit(COMMENT, times=1, retry_after=3)
    [result] = conn.apply([CaseChanges(case_id, (Change(case_id, ChangeKind.ADD_NOTE, "Hi", key="k1"),))])
    assert result.outcome is Outcome.APPLIED
    assert [c.body for c in tut.fake.issue(case_id).comments] == ["Hi\n[casewarden:k1]"]
    assert tut.fake.sleeps == [3.0]


def test_a_503_on_a_write_is_never_retried_by_the_library(tut: JiraUnderTest) -> None:
    """jira's ResilientSession retries a 503 carrying Retry-After, POST included; the connector turns
    those retries off and reports the write as unknown instead."""
    conn = tut.connector()
    [case_id] = [str(i) for i in tut.fake.state.issues]
    tut.fake.faults.server_error(COMMENT, status=503, times=3, retry_after=1)
    [result] = conn.apply([CaseChanges(case_id, (Change(case_id, ChangeKind.ADD_NOTE, "Hi", key="k2"),))])
    assert result.outcome is Outcome.UNKNOWN
    assert tut.fake.log.count(COMMENT) == 1 and tut.fake.sleeps == []
    assert conn.client._session.max_retries == 0
