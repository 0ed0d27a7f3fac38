"""The Jira connector's writes against the fake, Cloud and Data Center: one edit per issue, transition
paths (several steps; none), link direction both ways, watchers that leave the assignee alone, a write
that lands but answers 503 (never repeated), related issues opened once."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from casewarden.connectors.base import CaseChanges, Change, ChangeKind, Outcome, Pending
from casewarden.connectors.jira.settings import LinkTypeSpec
from casewarden.policy.case import Author, Link
from tests.connector_contract import needs
from tests.trackers.jira import STATUS_MAP, JiraUnderTest, make_cloud, make_dc

T0 = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)


@pytest.fixture(params=["cloud", "dc"])
def tut(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[JiraUnderTest]:
    made = (make_cloud if request.param == "cloud" else make_dc)(tmp_path, lambda: T0 + timedelta(days=1))
    yield made
    made.close()


def open_case(tut: JiraUnderTest, subject: str = "Case", status: str = "Open") -> str:
    h = tut.harness
    case_id = h.create_case(subject, opened_at=T0, level="S3")
    h.add_comment(case_id, T0 + timedelta(minutes=1), Author.AGENT, "Looking into it.")
    h.set_status(case_id, T0 + timedelta(minutes=2), status)
    return case_id


def apply(tut: JiraUnderTest, *changes: Change) -> list[Outcome]:
    conn = tut.connector()
    conn.bootstrap_apply(conn.bootstrap_plan(needs()))
    grouped: dict[str, list[Change]] = {}
    for c in changes:
        grouped.setdefault(c.case_id, []).append(c)
    results = conn.apply([CaseChanges(k, tuple(v)) for k, v in grouped.items()])
    return [r.outcome for r in results]


def test_one_edit_carries_fields_labels_level_and_the_marker(tut: JiraUnderTest) -> None:
    case_id = open_case(tut)
    tut.fake.add_label(case_id, T0 + timedelta(minutes=3), "old-tag")
    conn = tut.connector()
    conn.bootstrap_apply(conn.bootstrap_plan(needs()))
    tut.fake.log.clear()
    key = f"{case_id}:tag:1"
    results = conn.apply(
        [
            CaseChanges(
                case_id,
                (
                    Change(case_id, ChangeKind.SET_FIELD, "2026-05-05T10:00:00Z", field="cw_next_due"),
                    Change(case_id, ChangeKind.SET_LEVEL, "S1"),
                    Change(case_id, ChangeKind.ADD_TAG, "esc-1", key=key),
                    Change(case_id, ChangeKind.REMOVE_TAG, "old-tag"),
                ),
            )
        ]
    )
    assert all(r.ok for r in results), results
    edits = tut.fake.log.of("PUT /rest/api/{v}/issue/{issueIdOrKey}")
    assert len(edits) == 1, "one request for the issue's edit"
    assert tut.fake.log.count("GET /rest/api/{v}/issue/{issueIdOrKey}") == 0, "no re-read after the edit"
    issue = tut.fake.issue(case_id)
    assert issue.labels == ["esc-1"] and tut.fake.site.priorities[issue.priority or ""].name == "Highest"
    assert key in issue.properties["casewarden.markers"]["keys"], "the marker travelled in the same request"
    [tc] = tut.connector().read_cases([case_id])
    assert tc.fields["cw_next_due"] == "2026-05-05T10:00:00Z"
    assert [lv.level for lv in tc.case.level_history] == ["S3", "S1"]


def test_a_status_two_transitions_away_is_reached_and_reads_as_one_move(tut: JiraUnderTest) -> None:
    case_id = open_case(tut, status="Pending")  # Waiting for customer: Open is via Waiting for support
    # Jira shows transitions per issue; the way out of Waiting for support is learned from an issue in it
    tut.harness.create_case("Another", opened_at=T0, level="S4")
    assert apply(tut, Change(case_id, ChangeKind.SET_STATUS, "Open", key=f"{case_id}:open")) == [
        Outcome.APPLIED
    ]
    moves = tut.fake.log.of("POST /rest/api/{v}/issue/{issueIdOrKey}/transitions")
    assert [m.request_body["transition"]["id"] for m in moves] == ["31", "11"]
    assert "properties" in moves[-1].request_body and "properties" not in moves[0].request_body
    [tc] = tut.connector().read_cases([case_id])
    assert [s.status for s in tc.case.status_history] == ["New", "Pending", "Open"]
    # On Hold ("Escalated") is reachable only from In Progress: a path through it is found too
    assert apply(tut, Change(case_id, ChangeKind.SET_STATUS, "On Hold")) == [Outcome.APPLIED]
    assert tut.fake.site.statuses[tut.fake.issue(case_id).status].name == "Escalated"


def test_a_path_through_statuses_no_issue_is_in_is_refused_as_not_known(tut: JiraUnderTest) -> None:
    case_id = open_case(tut, status="Pending")
    conn = tut.connector()
    [result] = conn.apply([CaseChanges(case_id, (Change(case_id, ChangeKind.SET_STATUS, "Open"),))])
    assert result.outcome is Outcome.REFUSED and "not known yet" in (result.error or "")


def test_an_unreachable_status_is_refused_with_the_reason_and_nothing_moves(tut: JiraUnderTest) -> None:
    STATUS_MAP["Closed"] = "Canceled"  # in the workflow, but no transition leads there
    try:
        case_id = open_case(tut)
        conn = tut.connector()
        conn.bootstrap_apply(conn.bootstrap_plan(needs()))
        tut.fake.log.clear()
        [result] = conn.apply(
            [CaseChanges(case_id, (Change(case_id, ChangeKind.SET_STATUS, "Closed", key=f"{case_id}:c"),))]
        )
    finally:
        STATUS_MAP["Closed"] = "Closed"
    assert result.outcome is Outcome.REFUSED and "Canceled" in (result.error or "")
    assert tut.fake.log.count("POST /rest/api/{v}/issue/{issueIdOrKey}/transitions") == 0
    assert tut.fake.site.statuses[tut.fake.issue(case_id).status].name == "In Progress"


@pytest.mark.parametrize("direction", ["outward", "inward"])
def test_link_direction_is_right_both_ways(tut: JiraUnderTest, direction: str) -> None:
    """With Duplicate's outward end ("duplicates"), the duplicate is the link's source; a deployment whose
    link type reads the other way round says ``direction: inward``, and the link is made reversed."""
    if direction == "inward":
        tut.fake.site.link_types["10002"] = type(tut.fake.site.link_types["10002"])(
            "10002", "Duplicate", "duplicates", "is duplicated by"
        )
        tut.overrides["link_types"] = {
            "duplicate_of": LinkTypeSpec(type="Duplicate", direction="inward"),
            "related": LinkTypeSpec(type="Relates", direction="both"),
        }
    duplicate, original = open_case(tut, "Duplicate"), open_case(tut, "Original")
    change = Change(duplicate, ChangeKind.LINK, original, field="duplicate_of")
    assert apply(tut, change) == [Outcome.APPLIED]
    [link] = tut.fake.state.links.values()
    source = int(duplicate) if direction == "outward" else int(original)
    assert link.source_id == source
    outward_text = tut.fake.site.link_types[link.type_id].outward
    assert outward_text == "duplicates" if direction == "outward" else outward_text == "is duplicated by"
    by_id = {tc.case.id: tc.case for tc in tut.connector().read_cases([duplicate, original])}
    assert Link("duplicate_of", original) in by_id[duplicate].links
    assert not [x for x in by_id[original].links if x.kind == "duplicate_of"]
    assert apply(tut, change) == [Outcome.APPLIED] and len(tut.fake.state.links) == 1, "not linked twice"


def test_a_watcher_is_added_without_touching_the_assignee(tut: JiraUnderTest) -> None:
    case_id = open_case(tut)
    tut.fake.assign(case_id, T0 + timedelta(minutes=5), "bob")
    assert apply(tut, Change(case_id, ChangeKind.ADD_FOLLOWER, "duty-manager@example.com")) == [
        Outcome.APPLIED
    ]
    issue = tut.fake.issue(case_id)
    assert issue.assignee == "bob"
    assert "duty-manager@example.com" in tut.harness.followers(case_id)
    assert apply(tut, Change(case_id, ChangeKind.ADD_FOLLOWER, "nobody@example.com")) == [Outcome.REFUSED]


def test_a_comment_that_lands_but_answers_503_is_unknown_and_never_repeated(tut: JiraUnderTest) -> None:
    case_id = open_case(tut)
    conn = tut.connector()
    conn.bootstrap_apply(conn.bootstrap_plan(needs()))
    key = f"{case_id}:note:1"
    tut.fake.faults.lands_then_fails(
        "POST /rest/api/{v}/issue/{issueIdOrKey}/comment", status=503, retry_after=1
    )
    tut.fake.log.clear()
    [result] = conn.apply(
        [CaseChanges(case_id, (Change(case_id, ChangeKind.ADD_NOTE, "Escalated.", key=key),))]
    )
    assert result.outcome is Outcome.UNKNOWN
    assert tut.fake.log.count("POST /rest/api/{v}/issue/{issueIdOrKey}/comment") == 1, (
        "the POST was not retried"
    )
    assert sum("Escalated." in b for b in tut.harness.note_bodies(case_id)) == 1
    assert tut.connector().settle([Pending(key, case_id, "add_note", result.token)]) == {key: Outcome.APPLIED}
    # planned again by mistake, the marker stops it: still one note
    [again] = tut.connector().apply(
        [CaseChanges(case_id, (Change(case_id, ChangeKind.ADD_NOTE, "Escalated.", key=key),))]
    )
    assert again.outcome is Outcome.APPLIED
    assert sum("Escalated." in b for b in tut.harness.note_bodies(case_id)) == 1


def test_a_related_issue_whose_creation_answer_was_lost_is_found_not_created_twice(
    tut: JiraUnderTest,
) -> None:
    source = open_case(tut)
    conn = tut.connector()
    conn.bootstrap_apply(conn.bootstrap_plan(needs()))
    key = f"{source}:related:1"
    tut.fake.faults.lands_then_fails("POST /rest/api/{v}/issue", status=503)
    [result] = conn.apply(
        [CaseChanges(source, (Change(source, ChangeKind.OPEN_RELATED, "Follow-up", key=key),))]
    )
    assert result.outcome is Outcome.UNKNOWN
    assert len(tut.fake.state.issues) == 2
    assert tut.connector().settle([Pending(key, source, "open_related", result.token)]) == {
        key: Outcome.APPLIED
    }
    assert len(tut.fake.state.issues) == 2, "found by its origin, not opened again"
    assert key in tut.connector().find_markers([source])[source]
    [tc] = [
        tc
        for tc in tut.connector().read_cases([str(i) for i in tut.fake.state.issues])
        if tc.case.id != source
    ]
    assert Link("related", source) in tc.case.links


def test_internal_notes_in_jsm_plain_comments_elsewhere(tut: JiraUnderTest) -> None:
    case_id = open_case(tut)
    assert apply(tut, Change(case_id, ChangeKind.ADD_NOTE, "For the team.", key=f"{case_id}:n")) == [
        Outcome.APPLIED
    ]
    [comment] = [c for c in tut.fake.issue(case_id).comments if "For the team." in c.body]
    assert comment.internal and comment.body.endswith(f"[casewarden:{case_id}:n]")
    caps = tut.connector().capabilities()
    assert ChangeKind.ADD_NOTE in caps.supported
    tut.overrides["jsm"] = False
    assert any("plain comments" in n for n in tut.connector().capabilities().notes)


def test_a_status_outside_the_workflow_is_a_capability_never_planned(tut: JiraUnderTest) -> None:
    STATUS_MAP["Closed"] = "Done"  # the software projects' status: not in the service desk's workflow
    try:
        caps = tut.connector().capabilities()
    finally:
        STATUS_MAP["Closed"] = "Closed"
    assert set(caps.unreachable_statuses) == {"Closed"}
    why = caps.refusal(Change("1", ChangeKind.SET_STATUS, "Closed"))
    assert why and "'Done' is not a status of the workflow of SUP" in why
    assert caps.refusal(Change("1", ChangeKind.SET_STATUS, "Open")) is None


def test_a_related_issue_opened_by_an_interrupted_attempt_is_not_opened_again(tut: JiraUnderTest) -> None:
    """The issue was opened, then the link's answer was lost: no marker on the source. Planned again (as
    after a kill that left no token), the connector finds the issue by its origin and opens none."""
    source = open_case(tut)
    conn = tut.connector()
    conn.bootstrap_apply(conn.bootstrap_plan(needs()))
    key = f"{source}:related:2"
    change = Change(source, ChangeKind.OPEN_RELATED, "Follow-up", key=key)
    tut.fake.faults.lands_then_fails("POST /rest/api/{v}/issueLink", status=503)
    [first] = conn.apply([CaseChanges(source, (change,))])
    assert first.outcome is Outcome.UNKNOWN and len(tut.fake.state.issues) == 2
    assert key not in tut.connector().find_markers([source]).get(source, set())
    [again] = tut.connector().apply([CaseChanges(source, (change,))])
    assert again.outcome is Outcome.APPLIED
    assert len(tut.fake.state.issues) == 2, "found by casewarden.origin, not opened twice"
    assert key in tut.connector().find_markers([source])[source]


def test_bootstrap_adopts_by_name_and_never_duplicates(tut: JiraUnderTest) -> None:
    conn = tut.connector()
    plan = conn.bootstrap_plan(needs())
    missing = [s.name for s in plan if s.kind == "field" and not s.exists]
    assert "cw_next_due" in missing and "cw_breached" in missing
    tut.fake.site.add_custom_field("cw_next_due", "datetime")  # an admin was quicker
    conn.bootstrap_apply(plan)
    conn.bootstrap_apply(plan)
    names = [f.name for f in tut.fake.site.custom_fields.values()]
    assert names.count("cw_next_due") == 1 and names.count("cw_breached") == 1
    from casewarden.connectors.base import BootstrapNeeds, NeededStatus

    mapped = BootstrapNeeds((), tuple(NeededStatus(STATUS_MAP[p], "open", p) for p in STATUS_MAP), ())
    statuses = tut.connector().bootstrap_plan(mapped)
    assert statuses and all(s.exists for s in statuses if s.kind == "status"), "all in the workflow"
    unknown = BootstrapNeeds((), (NeededStatus("Triage", "new", "New"),), ())
    [step] = [s for s in tut.connector().bootstrap_plan(unknown) if s.kind == "status"]
    assert not step.exists and "workflow" in step.manual, "a status an admin must add"
