"""More updates in one second than a page of the ticket-events export holds (casewarden's own bulk jobs
land that way): the export keeps answering the same page from that second, and the reader must go on
from the next second instead of asking forever."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from casewarden.connectors.zendesk import ZendeskConnector
from tests.trackers.zendesk import ZendeskUnderTest, make

T0 = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)
EVENTS = "GET /api/v2/incremental/ticket_events"


class Clock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


@pytest.fixture
def tracker(tmp_path: Path) -> Iterator[tuple[ZendeskUnderTest, Clock]]:
    clock = Clock(T0)
    under_test = make(tmp_path, clock)
    try:
        yield under_test, clock
    finally:
        under_test.close()


def bounded(conn: ZendeskConnector, calls: int = 100) -> ZendeskConnector:
    """The connector, failing the test instead of hanging once it has asked more than ``calls`` times."""
    asked = [0]
    get_json = conn.get_json

    def counted(url: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        asked[0] += 1
        assert asked[0] <= calls, f"{calls} requests and still reading: the export is asked in a loop"
        return get_json(url, params)

    conn.get_json = counted  # type: ignore[method-assign]
    return conn


def test_a_burst_of_updates_in_one_second_is_read_once_and_the_read_ends(
    tracker: tuple[ZendeskUnderTest, Clock],
) -> None:
    tut, clock = tracker
    burst = T0 - timedelta(hours=1)
    cases = [tut.harness.create_case(f"case {i}", opened_at=burst, level="S3") for i in range(130)]
    per_page = tut.settings().events_page_size
    assert len(cases) > 2 * per_page, "the burst is more than two pages of the events export"
    conn = bounded(tut.connector())
    pages = list(conn.read_changed(None, T0))
    assert {tc.case.id for p in pages for tc in p.cases} == set(cases)
    resume = next(p.resume for p in reversed(pages) if p.resume is not None)

    clock.at = T0 + timedelta(minutes=5)
    tut.harness.add_comment(cases[7], T0 + timedelta(minutes=1), "customer", "any news?")
    again = list(bounded(tut.connector()).read_changed(resume, clock.at))
    read = [tc.case.id for p in again for tc in p.cases]
    assert cases[7] in read and len(read) < len(cases), "only what changed since, and the burst not again"
