"""The Jira connector's reads against the fake, Cloud and Data Center: the window across DST changes in the
querying user's zone, the overlap and its de-duplication under search lag, truncated changelogs completed
in bulk only when the known case cannot, and the resume point's shape."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from casewarden.connectors.base import TrackerCase
from casewarden.policy.case import Author
from tests.connector_contract import Reader
from tests.trackers.jira import JiraUnderTest, make_cloud, make_dc

FAR = datetime(2030, 1, 1, tzinfo=UTC)


@pytest.fixture(params=["cloud", "dc"])
def tut(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[JiraUnderTest]:
    clock_at = datetime(2020, 1, 1, tzinfo=UTC)  # never ahead of the harness: writes stamp the fake's own now
    made = (make_cloud if request.param == "cloud" else make_dc)(tmp_path, lambda: clock_at)
    yield made
    made.close()


def ids(cases: list[TrackerCase]) -> list[str]:
    return [tc.case.id for tc in cases]


def search_jql(tut: JiraUnderTest) -> list[str]:
    return [
        str((c.request_body or {}).get("jql"))
        for c in tut.fake.log
        if c.endpoint and ("search" in c.endpoint and "bulk" not in c.endpoint)
    ]


@pytest.mark.parametrize(
    "change",
    [
        datetime(2026, 10, 25, 0, 58, tzinfo=UTC),  # 02:58 CEST, two minutes before Berlin falls back
        datetime(2026, 3, 29, 0, 58, tzinfo=UTC),  # 01:58 CET, two minutes before Berlin springs forward
    ],
)
def test_a_dst_change_inside_the_window_loses_nothing(tut: JiraUnderTest, change: datetime) -> None:
    h = tut.harness
    before = h.create_case("Before", opened_at=change - timedelta(minutes=10), level="S3")
    reader = Reader()
    assert ids(reader.read(tut.connector())) == [before]
    # updates in the hour the clocks change (repeated on 25 Oct, skipped on 29 Mar)
    later = [
        h.create_case(f"During {n}", opened_at=change + timedelta(minutes=5 + 20 * n), level="S3")
        for n in range(3)
    ]
    h.add_comment(before, change + timedelta(minutes=40), Author.CUSTOMER, "Any news?")
    got = ids(reader.read(tut.connector()))
    assert sorted(got) == sorted([*later, before])
    assert reader.read(tut.connector()) == []
    # the window is written as the user's wall time (Europe/Berlin), to the minute
    windows = [q for q in search_jql(tut) if "updated >=" in q]
    assert windows and all(re.search(r'updated >= "\d{4}/\d\d/\d\d \d\d:\d\d"', q) for q in windows)


def test_the_overlap_catches_what_search_showed_late_and_reads_nothing_twice(tut: JiraUnderTest) -> None:
    h, fake = tut.harness, tut.fake
    t0 = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)
    first = h.create_case("First", opened_at=t0, level="S3")
    reader = Reader()
    assert ids(reader.read(tut.connector())) == [first]
    fake.search_lag = timedelta(minutes=2)
    late = h.create_case("Late", opened_at=t0 + timedelta(minutes=1), level="S3")
    fresh = h.create_case("Fresh", opened_at=t0 + timedelta(minutes=3), level="S3")
    fake.now = t0 + timedelta(minutes=3, seconds=30)  # 'late' is in the index, 'fresh' not yet
    assert ids(reader.read(tut.connector())) == [late]
    fake.now = t0 + timedelta(minutes=10)
    assert ids(reader.read(tut.connector())) == [fresh]
    assert reader.read(tut.connector()) == []


def test_the_resume_point_is_small_json(tut: JiraUnderTest) -> None:
    t0 = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)
    for n in range(7):
        tut.harness.create_case(f"C{n}", opened_at=t0 + timedelta(hours=n), level="S4")
    reader = Reader()
    reader.read(tut.connector())
    resume = reader.resume or {}
    assert set(resume) == {"since", "seen", "roster"}
    assert len(resume["roster"]) == 1, "consecutive ids kept as one range"
    assert len(resume["seen"]) == 1, "only what lies inside the next window's overlap"
    assert len(json.dumps(resume)) < 200


def test_a_truncated_changelog_is_fetched_in_bulk_only_when_needed(tmp_path: Path) -> None:
    tut = make_cloud(tmp_path, lambda: datetime(2020, 1, 1, tzinfo=UTC))
    try:
        h, fake = tut.harness, tut.fake
        t0 = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)
        long_story = h.create_case("Long", opened_at=t0, level="S3")
        short = h.create_case("Short", opened_at=t0, level="S3")
        for i in range(14):
            h.set_status(long_story, t0 + timedelta(minutes=i + 1), "Open" if i % 2 == 0 else "Pending")
        reader = Reader()
        cases = {tc.case.id: tc for tc in reader.read(tut.connector())}
        assert len(cases[long_story].case.status_history) == 15
        bulk = fake.log.of("POST /rest/api/{v}/changelog/bulkfetch")
        assert len(bulk) == 1 and bulk[0].request_body["issueIdsOrKeys"] == [long_story]
        fake.log.clear()
        h.set_status(long_story, t0 + timedelta(hours=1), "Solved")
        [again] = reader.read(tut.connector())
        assert [s.status for s in again.case.status_history][-2:] == ["Pending", "Solved"]
        assert len(again.case.status_history) == 16
        assert fake.log.count("POST /rest/api/{v}/changelog/bulkfetch") == 0, "completed from the known case"
        assert short
    finally:
        tut.close()


def test_deleted_issues_are_found_by_the_id_sweep(tut: JiraUnderTest) -> None:
    h = tut.harness
    t0 = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)
    keep, doomed = (h.create_case(n, opened_at=t0, level="S3") for n in ("Keep", "Doomed"))
    reader = Reader()
    reader.read(tut.connector())
    h.delete_case(doomed, t0 + timedelta(hours=1))
    gone = [g for page in reader.pages(tut.connector()) for g in page.gone]
    assert [(g.case_id, g.reason) for g in gone] == [(doomed, "deleted")]
    assert [g for page in reader.pages(tut.connector()) for g in page.gone] == [], "reported once"
    assert keep


def test_nothing_later_than_until_is_read(tut: JiraUnderTest) -> None:
    h = tut.harness
    t0 = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)
    early = h.create_case("Early", opened_at=t0, level="S3")
    late = h.create_case("Late", opened_at=t0 + timedelta(hours=2), level="S3")
    reader = Reader()
    first = [
        tc.case.id for p in reader.pages(tut.connector(), up_to=t0 + timedelta(hours=1)) for tc in p.cases
    ]
    assert first == [early]
    assert ids(reader.read(tut.connector())) == [late]


def test_read_cases_uses_numeric_ids_and_skips_unknown_ones(tut: JiraUnderTest) -> None:
    h = tut.harness
    case_id = h.create_case("Case", opened_at=datetime(2026, 5, 4, 9, 0, tzinfo=UTC), level="S2")
    found = tut.connector().read_cases([case_id, "999999999", "SUP-1"])
    assert ids(found) == [case_id]
    assert found[0].url.endswith("/browse/SUP-1")


def test_levels_on_a_select_field_read_and_write(tut: JiraUnderTest) -> None:
    from casewarden.connectors.base import CaseChanges, Change, ChangeKind
    from casewarden.connectors.mapping import NameMap
    from tests.trackers import LEVELS, STATUSES
    from tests.trackers.jira import STATUS_MAP

    h, fake = tut.harness, tut.fake
    t0 = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)
    case_id = h.create_case("Case", opened_at=t0, level="S3")
    fake.set_field(case_id, t0, "Support level", "L3")
    fake.set_field(case_id, t0 + timedelta(minutes=5), "Support level", "L2")
    tut.overrides["level_field"] = "Support level"
    conn = tut.connector()
    conn.names = conn.context.names = NameMap(
        {"S1": "L1", "S2": "L2", "S3": "L3", "S4": "L3"}, STATUS_MAP, policy_levels=LEVELS,
        policy_statuses=list(STATUSES),
    )  # fmt: skip
    [tc] = conn.read_cases([case_id])
    assert [(x.at, x.level) for x in tc.case.level_history] == [(t0, "S3"), (t0 + timedelta(minutes=5), "S2")]
    [result] = conn.apply([CaseChanges(case_id, (Change(case_id, ChangeKind.SET_LEVEL, "S1"),))])
    assert result.ok, result
    option = fake.site.custom_field("Support level").option_by_id(
        fake.issue(case_id).custom[fake.field_id("Support level")]
    )
    assert option is not None and option.value == "L1"


def test_region_from_the_reporters_time_zone_and_unmapped_values_are_problems(tut: JiraUnderTest) -> None:
    from casewarden.connectors.sources import CaseSources, Source

    h = tut.harness
    case_id = h.create_case("Case", opened_at=datetime(2026, 5, 4, 9, 0, tzinfo=UTC), level="S3")
    conn = tut.connector()
    conn.context.case_data = CaseSources(region=Source(requester_timezone=True, map={"Europe/": "emea"}))
    [tc] = conn.read_cases([case_id])
    assert tc.case.region == "emea", "carol, the JSM customer, is in Europe/London"
    tut.fake.set_priority(case_id, None, "Lowest")  # mapped to no policy level
    [tc] = tut.connector().read_cases([case_id])
    assert tc.problems and "Lowest" in tc.problems[0]


def test_bulk_changelog_pages_are_followed(tmp_path: Path) -> None:
    tut = make_cloud(tmp_path, lambda: datetime(2020, 1, 1, tzinfo=UTC))
    try:
        h = tut.harness
        t0 = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)
        case_id = h.create_case("Long", opened_at=t0, level="S3")
        for i in range(25):
            h.set_status(case_id, t0 + timedelta(minutes=i + 1), "Open" if i % 2 == 0 else "Pending")
        tut.overrides["changelog_page"] = 4
        [tc] = tut.connector().read_cases([case_id])
        assert len(tc.case.status_history) == 26
        assert tut.fake.log.count("POST /rest/api/{v}/changelog/bulkfetch") == 7
    finally:
        tut.close()


def test_deletions_are_found_even_when_others_change_after_until(tut: JiraUnderTest) -> None:
    h = tut.harness
    t0 = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)
    busy, doomed = (h.create_case(n, opened_at=t0, level="S3") for n in ("Busy", "Doomed"))
    reader = Reader()
    reader.read(tut.connector())
    h.delete_case(doomed, t0 + timedelta(hours=1))
    h.add_comment(busy, t0 + timedelta(hours=3), Author.CUSTOMER, "Still there?")  # after the read's until
    pages = list(reader.pages(tut.connector(), up_to=t0 + timedelta(hours=2)))
    assert [(g.case_id, g.reason) for p in pages for g in p.gone] == [(doomed, "deleted")]
    assert not [tc for p in pages for tc in p.cases]


def test_a_complete_read_moves_the_window_to_the_servers_clock(tut: JiraUnderTest) -> None:
    """Nine issues written at once (as casewarden's bulk writes are) are read in the next read, and
    then not searched again: the window starts from the server's clock on the read that took them
    (its Date header), not from their own ``updated``, which no newer change would move past."""
    h, fake = tut.harness, tut.fake
    fake.send_date = True
    t0 = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)
    cases = [h.create_case(f"C{n}", opened_at=t0, level="S3") for n in range(9)]
    fake.now = t0 + timedelta(minutes=1)
    reader = Reader()
    assert sorted(ids(reader.read(tut.connector()))) == sorted(cases)
    for case_id in cases:  # one write to every issue, after the read
        h.set_level(case_id, t0 + timedelta(minutes=2), "S2")
    fake.now = t0 + timedelta(minutes=12)
    assert sorted(ids(reader.read(tut.connector()))) == sorted(cases)
    fake.now = t0 + timedelta(minutes=22)
    h.add_comment(cases[4], t0 + timedelta(minutes=21), Author.CUSTOMER, "Any news?")
    fake.log.clear()
    assert ids(reader.read(tut.connector())) == [cases[4]]
    windows = [q for q in search_jql(tut) if "updated >=" in q]
    assert len(windows) == 1, "one page for the one changed issue, none for the nine read before"
    fake.now = t0 + timedelta(minutes=32)
    assert reader.read(tut.connector()) == []


def test_search_lag_with_the_servers_clock_loses_nothing(tut: JiraUnderTest) -> None:
    """The window moves to the server's clock, less the overlap: an update made just before a read
    but not yet in the index is read the next time."""
    h, fake = tut.harness, tut.fake
    fake.send_date = True
    t0 = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)
    fake.now = t0
    first = h.create_case("First", opened_at=t0, level="S3")
    reader = Reader()
    assert ids(reader.read(tut.connector())) == [first]
    fake.search_lag = timedelta(minutes=4)
    late = h.create_case("Late", opened_at=t0 + timedelta(minutes=1), level="S3")
    fresh = h.create_case("Fresh", opened_at=t0 + timedelta(minutes=3), level="S3")
    fake.now = t0 + timedelta(minutes=5, seconds=30)  # 'late' is in the index, 'fresh' not yet
    assert ids(reader.read(tut.connector())) == [late]
    fake.now = t0 + timedelta(minutes=8)
    assert ids(reader.read(tut.connector())) == [fresh]
    fake.now = t0 + timedelta(minutes=20)
    assert reader.read(tut.connector()) == []
