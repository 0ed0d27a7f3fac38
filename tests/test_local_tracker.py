"""The embedded tracker: the shared connector contract, plus what only the local tracker promises."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck as HypothesisHealthCheck
from hypothesis import given, settings
from hypothesis import strategies as st

from casewarden.connectors.base import (
    BootstrapNeeds,
    Change,
    ChangeKind,
    ChangeResult,
    FieldType,
    NeededField,
    NeededStatus,
    Outcome,
    group_by_case,
    marker_text,
)
from casewarden.connectors.local import CaseRecord, LocalTracker
from casewarden.connectors.local.tracker import SCHEMA_VERSION
from casewarden.errors import (
    FatalConnectorError,
    RetriableConnectorError,
    SkippableConnectorError,
)
from casewarden.policy.case import Author, LevelChange, Link, Milestone, Reply, StatusChange
from tests.connector_contract import HOUR, MINUTE, T0

FAR = datetime(2100, 1, 1, tzinfo=UTC)
APPLIED_AT = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def tracker(tmp_path: Path) -> Iterator[LocalTracker]:
    """A tracker whose writes through ``apply`` happen at APPLIED_AT."""
    with LocalTracker(tmp_path / "tracker.db", page_size=5, clock=lambda: APPLIED_AT) as tracker:
        yield tracker


def needs(fields: tuple[str, ...], statuses: tuple[str, ...], levels: tuple[str, ...]) -> BootstrapNeeds:
    return BootstrapNeeds(
        tuple(NeededField(f, FieldType.DATETIME) for f in fields),
        tuple(NeededStatus(st, "open") for st in statuses),
        levels,
    )


def apply_changes(tracker: LocalTracker, changes: list[Change]) -> list[ChangeResult]:
    return tracker.apply(group_by_case(changes))


def markers_of(tracker: LocalTracker, case_id: str) -> set[str]:
    return tracker.find_markers([case_id]).get(case_id, set())


def new_case(tracker: LocalTracker, at: datetime = T0, **kwargs: object) -> str:
    return tracker.create_case("Case", opened_at=at, level="S3", **kwargs)  # type: ignore[arg-type]


def read_ids(tracker: LocalTracker, since: datetime | None = None, until: datetime = FAR) -> list[str]:
    return [tc.case.id for page in tracker.pages_between(since, until) for tc in page]


# ------------------------------------------------------------------------------------- fault hook


def test_fault_hook_skippable_and_retriable_fail_one_change(tmp_path: Path) -> None:
    def fail(change: Change) -> Exception | None:
        if change.value == "refused":
            return SkippableConnectorError("refused by the hook")
        if change.value == "busy":
            return RetriableConnectorError("try later")
        return None

    with LocalTracker(tmp_path / "t.db", fail=fail) as tracker:
        case_id = new_case(tracker)
        results = apply_changes(
            tracker,
            [
                Change(case_id, ChangeKind.ADD_TAG, "refused", key="k-refused"),
                Change(case_id, ChangeKind.ADD_TAG, "busy"),
                Change(case_id, ChangeKind.ADD_TAG, "fine"),
            ],
        )
        assert [r.outcome for r in results] == [Outcome.REFUSED, Outcome.REFUSED, Outcome.APPLIED]
        assert results[0].error == "refused by the hook"
        assert tracker.get_case(case_id).tags == {"fine"}
        assert markers_of(tracker, case_id) == set()


def test_fault_hook_fatal_stops_the_batch_after_committing_earlier_changes(tmp_path: Path) -> None:
    def fail(change: Change) -> Exception | None:
        return FatalConnectorError("token revoked") if change.value == "boom" else None

    with LocalTracker(tmp_path / "t.db", fail=fail) as tracker:
        case_id = new_case(tracker)
        with pytest.raises(FatalConnectorError, match="token revoked"):
            apply_changes(
                tracker,
                [
                    Change(case_id, ChangeKind.ADD_TAG, "landed", key="k1"),
                    Change(case_id, ChangeKind.ADD_TAG, "boom"),
                    Change(case_id, ChangeKind.ADD_TAG, "never"),
                ],
            )
        assert tracker.get_case(case_id).tags == {"landed"}
        assert markers_of(tracker, case_id) == {"k1"}


def test_fault_hook_any_exception_propagates(tmp_path: Path) -> None:
    with LocalTracker(tmp_path / "t.db", fail=lambda change: RuntimeError("crash")) as tracker:
        case_id = new_case(tracker)
        with pytest.raises(RuntimeError, match="crash"):
            apply_changes(tracker, [Change(case_id, ChangeKind.ADD_TAG, "x")])
        assert tracker.get_case(case_id).tags == frozenset()


# ---------------------------------------------------------------------------------------- markers


def test_markers_are_parsed_from_internal_notes(tracker: LocalTracker) -> None:
    case_id = new_case(tracker)
    body = f"Escalated.\n{marker_text('a:1')}\n  {marker_text('b:2')}  \r\nnot a [casewarden:c:3] line"
    tracker.add_comment(case_id, T0 + MINUTE, Author.AGENT, body, public=False)
    tracker.add_comment(case_id, T0 + 2 * MINUTE, Author.CUSTOMER, marker_text("customer:typed"))
    assert markers_of(tracker, case_id) == {"a:1", "b:2"}


def test_note_marker_survives_a_lost_marker_row(tracker: LocalTracker) -> None:
    case_id = new_case(tracker)
    apply_changes(
        tracker, [Change(case_id, ChangeKind.ADD_NOTE, "Warning: due in 1 hour.", key=f"{case_id}:warn:1")]
    )
    [note] = tracker.comments(case_id)
    assert note.body == f"Warning: due in 1 hour.\n{marker_text(f'{case_id}:warn:1')}"
    assert (note.author, note.public, note.at) == (Author.AGENT, False, APPLIED_AT)
    with sqlite3.connect(tracker.path) as raw:
        raw.execute("DELETE FROM markers")
    assert markers_of(tracker, case_id) == {f"{case_id}:warn:1"}


def test_every_keyed_change_records_a_marker(tracker: LocalTracker) -> None:
    case_id, other = new_case(tracker), new_case(tracker)
    apply_changes(
        tracker,
        [
            Change(case_id, ChangeKind.ADD_TAG, "cw", key="tag-key"),
            Change(case_id, ChangeKind.LINK, other, field="related", key="link-key"),
            Change(case_id, ChangeKind.SET_FIELD, "x", field="f"),
        ],
    )
    assert markers_of(tracker, case_id) == {"tag-key", "link-key"}


# -------------------------------------------------------------------------------- writes and clock


def test_apply_uses_the_tracker_clock(tracker: LocalTracker) -> None:
    case_id = new_case(tracker, status="Open")
    apply_changes(
        tracker,
        [
            Change(case_id, ChangeKind.SET_LEVEL, "S1"),
            Change(case_id, ChangeKind.SET_STATUS, "Pending"),
        ],
    )
    case = tracker.get_case(case_id).case
    assert case.level_history == (LevelChange(T0, "S3"), LevelChange(APPLIED_AT, "S1"))
    assert case.status_history[-1] == StatusChange(APPLIED_AT, "Pending")
    assert case.updated_at == APPLIED_AT


def test_same_level_or_status_adds_no_history(tracker: LocalTracker) -> None:
    case_id = new_case(tracker, status="Open")
    apply_changes(
        tracker, [Change(case_id, ChangeKind.SET_LEVEL, "S3"), Change(case_id, ChangeKind.SET_STATUS, "Open")]
    )
    tracker.set_status(case_id, T0 + HOUR, "Open")
    case = tracker.get_case(case_id).case
    assert len(case.level_history) == 1 and len(case.status_history) == 1


def test_updated_at_keeps_the_latest_instant(tracker: LocalTracker) -> None:
    case_id = new_case(tracker, at=T0 + HOUR)
    tracker.add_comment(case_id, T0 + 2 * HOUR, Author.AGENT, "Later.")
    tracker.add_comment(case_id, T0 + 30 * MINUTE, Author.CUSTOMER, "Backdated.")
    case = tracker.get_case(case_id).case
    assert case.updated_at == T0 + 2 * HOUR
    assert [r.at for r in case.replies] == [T0 + 30 * MINUTE, T0 + 2 * HOUR]


def test_hold_until_is_kept_while_on_hold_and_cleared_after(tracker: LocalTracker) -> None:
    case_id = new_case(tracker, status="Open")
    tracker.set_status(case_id, T0 + HOUR, "On Hold", hold_until=T0 + 48 * HOUR)
    assert tracker.get_case(case_id).case.hold_until == T0 + 48 * HOUR
    apply_changes(tracker, [Change(case_id, ChangeKind.SET_STATUS, "Open")])
    assert tracker.get_case(case_id).case.hold_until is None


def test_etr_and_milestones(tracker: LocalTracker) -> None:
    case_id = new_case(tracker)
    tracker.set_etr(case_id, T0 + HOUR, T0 + 72 * HOUR)
    tracker.add_milestone(case_id, T0 + 2 * HOUR, "restoration")
    case = tracker.get_case(case_id).case
    assert case.etr == T0 + 72 * HOUR
    assert case.milestones == (Milestone(T0 + 2 * HOUR, "restoration"),)
    tracker.set_etr(case_id, T0 + 3 * HOUR, None)
    assert tracker.get_case(case_id).case.etr is None


def test_assignment_and_followers_are_stored(tracker: LocalTracker) -> None:
    case_id = new_case(tracker)
    apply_changes(
        tracker,
        [
            Change(case_id, ChangeKind.ASSIGN_GROUP, "tier-2"),
            Change(case_id, ChangeKind.ADD_FOLLOWER, "duty-manager@example.com"),
            Change(case_id, ChangeKind.ADD_FOLLOWER, "duty-manager@example.com"),
        ],
    )
    assert tracker.assigned_group(case_id) == "tier-2"
    assert tracker.followers(case_id) == {"duty-manager@example.com"}


def test_open_related_copies_the_requester_and_links_both_ways(tracker: LocalTracker) -> None:
    source = tracker.create_case(
        "Original",
        opened_at=T0,
        level="S2",
        status="New",
        channel="phone",
        region="apac",
        requester="bo@example.com",
        requester_authorized=False,
        provided=["logs"],
    )
    tracker.set_status(source, T0 + HOUR, "Closed")
    [result] = apply_changes(tracker, [Change(source, ChangeKind.OPEN_RELATED, "Follow-up", key="k")])
    assert result.ok
    [related] = [tc.case for tc in tracker.read_cases(tracker.case_ids()) if tc.case.id != source]
    assert (related.channel, related.region, related.requester) == ("phone", "apac", "bo@example.com")
    assert related.requester_authorized is False and related.provided == frozenset()
    assert related.level == "S2" and related.status_history == (StatusChange(APPLIED_AT, "New"),)
    assert related.links == (Link("related", source),)
    assert Link("related", related.id) in tracker.get_case(source).case.links
    assert markers_of(tracker, source) == {"k"}


@pytest.mark.parametrize(
    ("change", "error"),
    [
        (Change("L-404", ChangeKind.ADD_TAG, "x"), "does not exist"),
        (Change("L-1", ChangeKind.LINK, "L-404", field="duplicate_of"), "no such case"),
        (Change("L-1", ChangeKind.LINK, "L-1"), "link kind"),
        (Change("L-1", ChangeKind.ADD_NOTE, None), "text"),
        (Change("L-1", ChangeKind.SET_FIELD, "x"), "field name"),
    ],
)
def test_refused_changes(tracker: LocalTracker, change: Change, error: str) -> None:
    new_case(tracker)
    [result] = apply_changes(tracker, [change])
    assert result.outcome is Outcome.REFUSED
    assert error in (result.error or "")


def test_statuses_and_fields_are_checked_once_bootstrapped(tracker: LocalTracker) -> None:
    case_id = new_case(tracker, status="Whatever")
    assert apply_changes(tracker, [Change(case_id, ChangeKind.SET_FIELD, "x", field="anything")])[0].ok
    tracker.bootstrap_apply(tracker.bootstrap_plan(needs(("cw_due",), ("New", "Open"), ("S1",))))
    results = apply_changes(
        tracker,
        [
            Change(case_id, ChangeKind.SET_STATUS, "Whatever else"),
            Change(case_id, ChangeKind.SET_FIELD, "x", field="anything"),
            Change(case_id, ChangeKind.SET_FIELD, "x", field="cw_due"),
            Change(case_id, ChangeKind.SET_STATUS, "Open"),
        ],
    )
    assert [r.ok for r in results] == [False, False, True, True]
    with pytest.raises(SkippableConnectorError, match="unknown status"):
        tracker.set_status(case_id, T0 + HOUR, "Whatever else")
    with pytest.raises(SkippableConnectorError, match="unknown status"):
        new_case(tracker, status="Bogus")


def test_bootstrap_plan_lists_levels_as_existing(tracker: LocalTracker) -> None:
    plan = tracker.bootstrap_plan(needs(("cw_due",), ("Open",), ("S1", "S2")))
    assert [(s.kind, s.name, s.exists) for s in plan] == [
        ("field", "cw_due", False),
        ("status", "Open", False),
        ("priority", "S1", True),
        ("priority", "S2", True),
    ]


# ------------------------------------------------------------------------------ tracker-side API


def test_tracker_side_errors(tracker: LocalTracker) -> None:
    with pytest.raises(SkippableConnectorError, match="does not exist"):
        tracker.add_comment("L-9", T0, Author.AGENT, "x")
    with pytest.raises(SkippableConnectorError, match="does not exist"):
        tracker.get_case("L-9")
    with pytest.raises(ValueError, match="naive"):
        new_case(tracker, at=datetime(2025, 1, 1))
    with pytest.raises(ValueError):
        tracker.add_comment(new_case(tracker), T0, "robot", "x")


def test_instants_in_other_zones_are_stored_as_utc(tracker: LocalTracker) -> None:
    from zoneinfo import ZoneInfo

    local = datetime(2025, 3, 3, 10, 0, tzinfo=ZoneInfo("Europe/Paris"))
    case = tracker.get_case(new_case(tracker, at=local)).case
    assert case.opened_at == local and case.opened_at.tzinfo is UTC


def test_case_ids_filter(tracker: LocalTracker) -> None:
    a, b = new_case(tracker, status="Open"), new_case(tracker, at=T0 + HOUR, status="Closed")
    assert tracker.case_ids() == [a, b]
    assert tracker.case_ids(["Open"]) == [a]
    assert tracker.case_ids(updated_before=T0 + MINUTE) == [a]
    assert tracker.count() == 2


def test_transactions_nest_as_savepoints(tracker: LocalTracker) -> None:
    case_id = new_case(tracker)
    with tracker.transaction():
        tracker.add_comment(case_id, T0 + MINUTE, Author.AGENT, "kept")
        with pytest.raises(SkippableConnectorError), tracker.transaction():
            tracker.add_comment(case_id, T0 + 2 * MINUTE, Author.AGENT, "undone")
            tracker.add_comment("L-404", T0, Author.AGENT, "fails")
    assert [c.body for c in tracker.comments(case_id)] == ["kept"]
    with pytest.raises(RuntimeError), tracker.transaction():
        tracker.add_comment(case_id, T0 + 3 * MINUTE, Author.AGENT, "rolled back")
        raise RuntimeError
    assert [c.body for c in tracker.comments(case_id)] == ["kept"]


# ---------------------------------------------------------------------------------------- bulk insert


def full_record(case_id: str | None = None, at: datetime = T0) -> CaseRecord:
    return CaseRecord(
        subject="Bulk",
        opened_at=at,
        id=case_id,
        level_history=[(at, "S3"), (at + 2 * HOUR, "S2")],
        status_history=[(at, "New"), (at + HOUR, "Open")],
        comments=[(at + HOUR, "agent", True, "Hi"), (at + 3 * HOUR, "customer", True, "Thanks")],
        milestones=[(at + 4 * HOUR, "restoration")],
        links=[("related", "L-1")],
        fields={"cw_due": "x"},
        tags=["vip"],
        channel="chat",
        region="emea",
        requester="c@example.com",
        requester_authorized=True,
        provided=["logs"],
        hold_until=None,
        etr=at + 24 * HOUR,
    )


def test_bulk_insert_round_trips_full_histories(tracker: LocalTracker) -> None:
    ids = tracker.bulk_insert([full_record(), full_record(at=T0 + HOUR)])
    assert ids == ["L-1", "L-2"]
    tracker_case = tracker.get_case("L-2")
    case = tracker_case.case
    start = T0 + HOUR
    assert case.level_history == (LevelChange(start, "S3"), LevelChange(start + 2 * HOUR, "S2"))
    assert case.status_history == (StatusChange(start, "New"), StatusChange(start + HOUR, "Open"))
    assert case.replies == (Reply(start + HOUR, Author.AGENT), Reply(start + 3 * HOUR, Author.CUSTOMER))
    assert case.milestones == (Milestone(start + 4 * HOUR, "restoration"),)
    assert case.links == (Link("related", "L-1"),)
    assert case.updated_at == start + 4 * HOUR and case.etr == start + 24 * HOUR
    assert tracker_case.fields == {"cw_due": "x"} and tracker_case.tags == {"vip"}
    assert tracker_case.url == "local://case/L-2"


def test_automatic_ids_skip_explicit_ones(tracker: LocalTracker) -> None:
    assert tracker.bulk_insert([full_record("L-7"), full_record("ACME-1"), full_record()]) == [
        "L-7",
        "ACME-1",
        "L-8",
    ]
    assert new_case(tracker) == "L-9"


def test_bulk_insert_is_all_or_nothing(tracker: LocalTracker) -> None:
    tracker.bulk_insert([full_record("L-1")])
    with pytest.raises(SkippableConnectorError, match="cannot create case"):
        tracker.bulk_insert([full_record("L-2"), full_record("L-1")], chunk=1)
    assert tracker.case_ids() == ["L-1"]


def test_bulk_insert_needs_histories(tracker: LocalTracker) -> None:
    with pytest.raises(ValueError, match="must not be empty"):
        tracker.bulk_insert([CaseRecord("x", T0, level_history=[], status_history=[(T0, "New")])])


# --------------------------------------------------------------------------------------------- paging


def test_paging_with_identical_updated_at(tracker: LocalTracker) -> None:
    ids = [new_case(tracker) for _ in range(12)]
    pages = list(tracker.pages_between(None, FAR))
    assert [len(page) for page in pages] == [5, 5, 2]
    assert [tc.case.id for page in pages for tc in page] == sorted(ids)


def test_paging_stops_on_an_exact_last_page(tracker: LocalTracker) -> None:
    for _ in range(10):
        new_case(tracker)
    assert [len(page) for page in tracker.pages_between(None, FAR)] == [5, 5]
    assert list(tracker.pages_between(None, T0 - HOUR)) == []


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HypothesisHealthCheck.function_scoped_fixture]
)
@given(
    minutes=st.lists(st.integers(min_value=0, max_value=4), min_size=0, max_size=25),
    page_size=st.integers(min_value=1, max_value=7),
    window=st.tuples(st.integers(0, 4), st.integers(0, 4)),
)
def test_pages_cover_the_window_exactly_once(
    tmp_path_factory: pytest.TempPathFactory, minutes: list[int], page_size: int, window: tuple[int, int]
) -> None:
    with LocalTracker(tmp_path_factory.mktemp("p") / "t.db", page_size=page_size) as tracker:
        created = [(T0 + m * MINUTE, new_case(tracker, at=T0 + m * MINUTE)) for m in minutes]
        low, high = T0 + window[0] * MINUTE, T0 + window[1] * MINUTE
        expected = [case_id for at, case_id in sorted(created) if low <= at <= high]
        pages = list(tracker.pages_between(low, high))
        assert all(0 < len(page) <= page_size for page in pages)
        assert [tc.case.id for page in pages for tc in page] == expected


def test_writes_between_pages_skip_nothing(tracker: LocalTracker) -> None:
    ids = [new_case(tracker, at=T0 + n * MINUTE) for n in range(15)]
    seen: list[str] = []
    for page in tracker.pages_between(None, T0 + HOUR):
        seen += [tc.case.id for tc in page]
        tracker.add_comment(page[0].case.id, T0 + 2 * HOUR, Author.CUSTOMER, "moved past the window")
    assert seen == ids


def test_read_costs_a_fixed_number_of_queries_per_page(tracker: LocalTracker) -> None:
    tracker.bulk_insert([full_record(at=T0 + n * MINUTE) for n in range(20)])
    statements: list[str] = []
    tracker._conn.set_trace_callback(statements.append)
    pages = list(tracker.pages_between(None, FAR))
    tracker._conn.set_trace_callback(None)
    selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert len(pages) == 4
    # cases + seven child tables per page, whatever the page size, and one last query that finds the end
    assert len(selects) == 4 * 8 + 1


def test_read_cases_keeps_the_order_asked(tracker: LocalTracker) -> None:
    ids = [new_case(tracker) for _ in range(7)]
    wanted = [ids[6], "L-404", ids[0], ids[3], ids[0]]
    assert [tc.case.id for tc in tracker.read_cases(wanted)] == [ids[6], ids[0], ids[3]]


# ------------------------------------------------------------------------------------ file and health


def test_file_is_shared_and_reopened(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "t.db"
    with LocalTracker(path) as writer, LocalTracker(path) as reader:
        case_id = new_case(writer)
        assert reader.get_case(case_id).case.id == case_id
        assert "journal mode wal" in writer.health()[0].detail
    with LocalTracker(path) as again:
        assert again.case_ids() == [case_id]


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "t.db"
    LocalTracker(path).close()
    with sqlite3.connect(path) as raw:
        raw.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION + 1),))
    with pytest.raises(FatalConnectorError, match="upgrade casewarden"):
        LocalTracker(path)


def test_health_reports_counts(tracker: LocalTracker) -> None:
    new_case(tracker)
    checks = {c.name: c for c in tracker.health()}
    assert set(checks) == {"database", "schema", "contents"}
    assert all(c.ok for c in checks.values())
    assert checks["contents"].detail.startswith("1 cases")


def test_health_reports_a_closed_database(tmp_path: Path) -> None:
    tracker = LocalTracker(tmp_path / "t.db")
    tracker.close()
    [check] = tracker.health()
    assert not check.ok


def test_capabilities_cover_every_change_kind(tracker: LocalTracker) -> None:
    assert tracker.capabilities().supported == frozenset(ChangeKind)
    assert LocalTracker.type == "local"


def test_usable_from_several_threads(tracker: LocalTracker) -> None:
    case_id = new_case(tracker)

    def work(n: int) -> None:
        for i in range(20):
            tracker.add_comment(case_id, T0 + timedelta(seconds=n * 100 + i + 1), Author.AGENT, "x")
            tracker.read_cases([case_id])

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(tracker.get_case(case_id).case.replies) == 80
