"""Cloud bulk edit of labels: the same unkeyed label change on at least ``bulk_min`` issues of a batch is
one ``POST /rest/api/3/bulk/issues/fields`` (polled at ``/bulk/queue/{taskId}``) instead of one edit per
issue; fewer issues, no *Make bulk changes* permission, a keyed change or Data Center keep the per-issue
edit; a task still running when the wait ends is ``unknown``; a refused submit falls back to per-issue
edits. Requests are counted from the fake's log and checked against the published platform spec."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from casewarden.connectors.base import (
    CaseChanges,
    Change,
    ChangeKind,
    ChangeResult,
    ConnectorContext,
    CycleBudget,
    Outcome,
)
from casewarden.connectors.jira import JiraConnector, JiraSettings
from casewarden.connectors.jira.bulk import _outcomes, _Task
from casewarden.connectors.mapping import NameMap
from tests.fakes.jira import FAKE_API_TOKEN, FAKE_PAT, FakeJira
from tests.fakes.openapi import ApiSpec, SpecRecorder

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
LEVELS = {"S1": "Highest", "S2": "High", "S3": "Medium", "S4": "Low"}
STATUSES = {"New": "Waiting for support", "Open": "In Progress", "Solved": "Resolved", "Closed": "Closed"}
BULK = "POST /rest/api/{v}/bulk/issues/fields"
POLL = "GET /rest/api/{v}/bulk/queue/{taskId}"
EDIT = "PUT /rest/api/{v}/issue/{issueIdOrKey}"
PERMS = "GET /rest/api/{v}/mypermissions"


def connector(fake: FakeJira, **overrides: Any) -> JiraConnector:
    if fake.mode == "cloud":
        auth: dict[str, Any] = {"email": fake.user("agent").email, "token_env": "JIRA_API_TOKEN"}
    else:
        auth = {"pat_env": "JIRA_PAT"}
    settings = JiraSettings(server=fake.base_url, projects=("SUP",), **auth, **overrides)
    context = ConnectorContext(
        tracker="jira",
        names=NameMap(LEVELS, STATUSES, policy_levels=list(LEVELS), policy_statuses=list(STATUSES)),
        environ={"JIRA_API_TOKEN": FAKE_API_TOKEN, "JIRA_PAT": FAKE_PAT},
        budget=CycleBudget(),
    )
    return JiraConnector(settings, context, sleep=fake.sleep, now=lambda: fake.now)


def issues(fake: FakeJira, n: int, label: str | None = None) -> list[str]:
    ids = []
    for k in range(n):
        issue = fake.create_issue("SUP", f"Case {k}", created=NOW - timedelta(hours=2), reporter="carol")
        if label:
            fake.add_label(issue, NOW - timedelta(hours=1), label)
        ids.append(str(issue.id))
    fake.now = NOW
    return ids


def tags(ids: list[str], kind: ChangeKind, label: str, keyed: bool = False) -> list[Change]:
    return [Change(i, kind, label, key=f"{i}:{label}:1" if keyed else None) for i in ids]


def apply(conn: JiraConnector, *changes: Change) -> list[ChangeResult]:
    grouped: dict[str, list[Change]] = {}
    for c in changes:
        grouped.setdefault(c.case_id, []).append(c)
    return conn.apply([CaseChanges(k, tuple(v)) for k, v in grouped.items()])


def test_identical_label_changes_on_many_issues_are_one_bulk_edit_each_and_fit_the_spec() -> None:
    recorder = SpecRecorder(ApiSpec.jira_platform(), responses_too=True)
    fake = FakeJira("cloud", now=NOW)
    ids = issues(fake, 12, label="stale")
    with fake.serve() as wire:
        conn = connector(fake)
        fake.log.clear()
        level = Change(ids[0], ChangeKind.SET_LEVEL, "S1")
        results = apply(
            conn,
            level,
            *tags(ids, ChangeKind.ADD_TAG, "sla-risk"),
            *tags(ids, ChangeKind.REMOVE_TAG, "stale"),
        )
        assert [r.outcome for r in results] == [Outcome.APPLIED] * 25, results
        counts = fake.log.counts()
        assert counts[BULK] == 2, "one bulk edit per (label, add|remove)"
        assert counts[POLL] == 2, "each task polled once: the fake's tasks finish at once"
        assert counts[PERMS] == 1, "the permission is asked once"
        assert counts[EDIT] == 1, "only the issue with another change gets its own edit"
        [edit] = fake.log.of(EDIT)
        assert "labels" in str(edit.request_body), "an issue with its own edit carries its labels in it"
        for i in ids:
            assert fake.issue(i).labels == ["sla-risk"]
        assert fake.site.priorities[fake.issue(ids[0]).priority or ""].name == "Highest"
        [first, _second] = fake.log.of(BULK)
        body = first.request_body
        assert body["selectedIssueIdsOrKeys"] == ids[1:] and body["selectedActions"] == ["labels"]
        assert body["editedFieldsInput"]["labelsFields"] == [
            {"fieldId": "labels", "bulkEditMultiSelectFieldOption": "ADD", "labels": [{"name": "sla-risk"}]}
        ]
        assert body["sendBulkNotification"] is False
        # a second batch asks no more about the permission
        apply(conn, *tags(ids, ChangeKind.REMOVE_TAG, "sla-risk"))
        assert fake.log.count(PERMS) == 1 and fake.log.count(BULK) == 3
        assert all(fake.issue(i).labels == [] for i in ids)
        recorder.assert_clean(wire.calls)


def test_fewer_issues_than_bulk_min_are_edited_one_by_one() -> None:
    fake = FakeJira("cloud", now=NOW)
    ids = issues(fake, 4)
    with fake.serve():
        conn = connector(fake, bulk_min=5)
        fake.log.clear()
        results = apply(conn, *tags(ids, ChangeKind.ADD_TAG, "sla-risk"))
        assert all(r.ok for r in results)
        assert fake.log.count(BULK) == 0 and fake.log.count(EDIT) == 4
        assert fake.log.count(PERMS) == 0, "no permission check when nothing would go in bulk"


def test_bulk_min_zero_never_bulks() -> None:
    fake = FakeJira("cloud", now=NOW)
    ids = issues(fake, 12)
    with fake.serve():
        conn = connector(fake, bulk_min=0)
        fake.log.clear()
        assert all(r.ok for r in apply(conn, *tags(ids, ChangeKind.ADD_TAG, "sla-risk")))
        assert fake.log.count(BULK) == 0 and fake.log.count(EDIT) == 12


def test_without_make_bulk_changes_every_issue_gets_its_own_edit() -> None:
    fake = FakeJira("cloud", now=NOW)
    fake.permissions.discard("BULK_CHANGE")
    ids = issues(fake, 12)
    with fake.serve():
        conn = connector(fake)
        fake.log.clear()
        assert all(r.ok for r in apply(conn, *tags(ids, ChangeKind.ADD_TAG, "sla-risk")))
        assert all(r.ok for r in apply(conn, *tags(ids, ChangeKind.REMOVE_TAG, "sla-risk")))
        assert fake.log.count(BULK) == 0 and fake.log.count(EDIT) == 24
        assert fake.log.count(PERMS) == 1, "the answer is kept for the connector's life"
        assert all(fake.issue(i).labels == [] for i in ids)


def test_a_keyed_tag_is_never_bulk_it_travels_with_its_marker() -> None:
    fake = FakeJira("cloud", now=NOW)
    ids = issues(fake, 12)
    with fake.serve():
        conn = connector(fake)
        fake.log.clear()
        assert all(r.ok for r in apply(conn, *tags(ids, ChangeKind.ADD_TAG, "esc-1", keyed=True)))
        assert fake.log.count(BULK) == 0 and fake.log.count(EDIT) == 12
        for i in ids:
            assert f"{i}:esc-1:1" in fake.issue(i).properties["casewarden.markers"]["keys"]


def test_a_task_still_running_when_the_wait_ends_is_unknown() -> None:
    fake = FakeJira("cloud", now=NOW)
    fake.bulk_duration = timedelta(minutes=10)
    ids = issues(fake, 12)
    with fake.serve():
        conn = connector(fake, bulk_wait=20)
        fake.log.clear()
        results = apply(conn, *tags(ids, ChangeKind.ADD_TAG, "sla-risk"))
        assert {r.outcome for r in results} == {Outcome.UNKNOWN}
        assert all("still running" in (r.error or "") and r.token for r in results)
        assert fake.log.count(BULK) == 1 and fake.log.count(EDIT) == 0
        assert 1 < fake.log.count(POLL) < 10, "polled a few times, backing off"
        assert sum(fake.sleeps) <= 20, "never waited past bulk_wait"


def test_a_refused_bulk_edit_falls_back_to_one_edit_per_issue() -> None:
    fake = FakeJira("cloud", now=NOW)
    ids = issues(fake, 12)
    with fake.serve():
        conn = connector(fake)
        apply(conn, *tags(ids[:10], ChangeKind.ADD_TAG, "warm-up"))  # the permission is checked and kept
        fake.permissions.discard("BULK_CHANGE")  # ... and withdrawn since
        fake.log.clear()
        results = apply(conn, *tags(ids, ChangeKind.ADD_TAG, "sla-risk"))
        assert all(r.ok for r in results), results
        assert fake.log.count(BULK) == 1, "refused once (403) ..."
        assert fake.log.count(EDIT) == 12, "... then each issue edited"
        assert all("sla-risk" in fake.issue(i).labels for i in ids)
        apply(conn, *tags(ids, ChangeKind.REMOVE_TAG, "sla-risk"))
        assert fake.log.count(BULK) == 1, "not tried again by this connector"


def test_a_lost_bulk_answer_is_unknown_and_not_repeated_per_issue() -> None:
    fake = FakeJira("cloud", now=NOW)
    ids = issues(fake, 12)
    with fake.serve():
        conn = connector(fake)
        fake.log.clear()
        fake.faults.lands_then_fails(BULK)
        results = apply(conn, *tags(ids, ChangeKind.ADD_TAG, "sla-risk"))
        assert {r.outcome for r in results} == {Outcome.UNKNOWN}
        assert fake.log.count(BULK) == 1 and fake.log.count(EDIT) == 0, "it may have landed: not repeated"


def test_a_poll_refused_after_the_submit_leaves_the_task_unknown_not_the_tracker_unusable() -> None:
    fake = FakeJira("cloud", now=NOW)
    ids = issues(fake, 12)
    with fake.serve():
        conn = connector(fake)
        fake.faults.server_error(POLL, status=403)
        results = apply(conn, *tags(ids, ChangeKind.ADD_TAG, "sla-risk"))
        assert {r.outcome for r in results} == {Outcome.UNKNOWN}


def test_an_issue_with_two_changes_of_one_label_keeps_both_in_its_own_edit() -> None:
    fake = FakeJira("cloud", now=NOW)
    ids = issues(fake, 12, label="sla-risk")
    with fake.serve():
        conn = connector(fake)
        fake.log.clear()
        # the first issue removes the label and adds it back with a marker: order matters, so no bulk
        keyed = Change(ids[0], ChangeKind.ADD_TAG, "sla-risk", key=f"{ids[0]}:risk:1")
        results = apply(conn, *tags(ids, ChangeKind.REMOVE_TAG, "sla-risk"), keyed)
        assert all(r.ok for r in results), results
        assert fake.log.count(BULK) == 1 and fake.log.count(EDIT) == 1
        assert fake.log.of(BULK)[0].request_body["selectedIssueIdsOrKeys"] == ids[1:]
        assert fake.issue(ids[0]).labels == ["sla-risk"]
        assert all(fake.issue(i).labels == [] for i in ids[1:])


def test_data_center_never_bulks() -> None:
    fake = FakeJira("datacenter", now=NOW)
    ids = issues(fake, 12)
    with fake.serve():
        conn = connector(fake)
        fake.log.clear()
        assert all(r.ok for r in apply(conn, *tags(ids, ChangeKind.ADD_TAG, "sla-risk")))
        assert fake.log.count(BULK) == 0 and fake.log.count(PERMS) == 0
        assert fake.log.count(EDIT) == 12


@pytest.mark.parametrize(
    ("progress", "expected"),
    [
        (
            {"status": "COMPLETE", "processedAccessibleIssues": [1, 2], "invalidOrInaccessibleIssueCount": 0},
            "AA",
        ),
        (
            {"status": "COMPLETE", "processedAccessibleIssues": [1], "invalidOrInaccessibleIssueCount": 1},
            "AU",
        ),
        (
            {"status": "COMPLETE", "processedAccessibleIssues": [1], "failedAccessibleIssues": {"2": ["no"]}},
            "AU",
        ),
        ({"status": "FAILED"}, "UU"),
        ({"status": "RUNNING"}, "UU"),
    ],
)
def test_a_task_proves_only_the_issues_it_lists_as_processed(progress: dict[str, Any], expected: str) -> None:
    changes = tags(["1", "2"], ChangeKind.ADD_TAG, "x")
    out = _outcomes(_Task(changes, "10000", "bulk add", progress))
    letters = "".join("A" if out[id(c)].outcome is Outcome.APPLIED else "U" for c in changes)
    assert letters == expected
