"""Doctor on Jira: each check says what an admin must fix (permission, workflow transition, screen,
field type), against the wire fake with the real ``jira`` client, Cloud and Data Center."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import responses

from casewarden.connectors.base import FieldType, HealthCheck
from casewarden.connectors.jira.health import Target, read_workflow, run_checks
from tests.fakes.jira import FakeJira
from tests.test_jira_native_sla import api_for

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
STATUSES = (
    ("New", "Waiting for support"),
    ("In Progress", "In Progress"),
    ("Awaiting Customer", "Waiting for customer"),
    ("Solved", "Resolved"),
    ("Closed", "Closed"),
)
TARGET = Target(
    project="SUP",
    levels=("Highest", "High", "Medium"),
    statuses=STATUSES,
    fields={
        "Response due": FieldType.DATETIME,
        "Breach count": FieldType.NUMBER,
        "Case flags": FieldType.TEXT,
        "Support level": FieldType.SELECT,
    },
)


@pytest.fixture(params=["cloud", "datacenter"])
def wire(request: pytest.FixtureRequest) -> Iterator[tuple[FakeJira, responses.RequestsMock]]:
    fake = FakeJira(request.param, now=NOW)
    with fake.serve() as mock:
        yield fake, mock


@pytest.fixture
def fake(wire: tuple[FakeJira, responses.RequestsMock]) -> FakeJira:
    return wire[0]


def populate(fake: FakeJira) -> None:
    """One issue in each status the default workflow can reach, so doctor can see every way out."""
    opened = NOW - timedelta(days=1)
    for status in (
        "Waiting for support",
        "In Progress",
        "Waiting for customer",
        "Escalated",
        "Resolved",
        "Closed",
    ):
        case = fake.create_issue("SUP", f"in {status}", created=opened)
        if status != "Waiting for support":
            fake.transition(case, opened + timedelta(hours=1), status)


def by_name(checks: list[HealthCheck]) -> dict[str, HealthCheck]:
    """Checks by name, without the project prefix of per-project checks."""
    return {c.name.removeprefix("SUP "): c for c in checks}


def test_a_ready_project_passes_and_says_what_it_found(fake: FakeJira) -> None:
    populate(fake)
    checks = by_name(run_checks(api_for(fake), [TARGET]))
    failed = [c for c in checks.values() if not c.ok]
    assert failed == []
    assert "Casewarden Bot" in checks["token"].detail and "Europe/Berlin" in checks["token"].detail
    assert ("Jira Cloud" if fake.mode == "cloud" else "Jira Data Center") in checks["deployment"].detail
    assert "all 7 project permissions" in checks["permissions"].detail
    assert checks["field Response due"].detail.startswith(fake.field_id("Response due"))


def test_a_bad_token_stops_at_the_first_check(fake: FakeJira) -> None:
    client = api_for(fake)
    fake.accounts.clear()
    (token,) = run_checks(client, [TARGET])
    assert not token.ok and "401" in token.detail


def test_missing_permissions_are_named_with_what_needs_them(fake: FakeJira) -> None:
    populate(fake)
    fake.permissions -= {"TRANSITION_ISSUES", "MANAGE_WATCHERS", "BULK_CHANGE"}
    checks = by_name(run_checks(api_for(fake), [TARGET]))
    detail = checks["permissions"].detail
    assert not checks["permissions"].ok
    assert "TRANSITION_ISSUES (to move statuses)" in detail and "MANAGE_WATCHERS" in detail
    assert "EDIT_ISSUES" not in detail
    assert ("bulk edit" in checks) == (fake.mode == "cloud")


def test_the_workflow_graph_as_the_issues_show_it(fake: FakeJira) -> None:
    populate(fake)
    flow = read_workflow(api_for(fake), "SUP")
    names = {flow.names[s] for s in flow.reachable_from(flow.id_of("Escalated") or "")}
    assert names == {"In Progress", "Waiting for support", "Waiting for customer", "Resolved", "Closed"}
    assert {flow.names[s] for s in flow.unknown} == {"Canceled"}
    assert flow.reachable_from(flow.id_of("Canceled") or "") == set()


def test_statuses_reachable_in_several_steps_unreachable_and_absent(fake: FakeJira) -> None:
    populate(fake)
    statuses = (*STATUSES, ("Escalated", "Escalated"), ("Cancelled", "Canceled"), ("Duplicate", "Duplicate"))
    checks = by_name(run_checks(api_for(fake), [Target("SUP", statuses=statuses)]))
    escalated = checks["workflow: Escalated"]
    assert escalated.ok and "directly from In Progress" in escalated.detail
    canceled = checks["workflow: Canceled"]
    assert not canceled.ok and "no transition leads to 'Canceled'" in canceled.detail
    assert not checks["statuses"].ok and "'Duplicate' (for Duplicate)" in checks["statuses"].detail
    assert "Canceled" in checks["workflow"].detail, "its way out is unknown: no issue is in it"
    closed = checks["workflow: Closed"]
    assert closed.ok and "directly from Resolved" in closed.detail


def test_an_empty_project_still_checks_what_it_can(fake: FakeJira) -> None:
    """A fresh project passes: what cannot be seen yet (transitions, the edit screen) is no fault."""
    checks = by_name(run_checks(api_for(fake), [TARGET]))
    assert all(c.ok for c in checks.values()), [c for c in checks.values() if not c.ok]
    assert "no issue yet" in checks["edit screen"].detail
    assert "no way there seen yet" in checks["workflow: In Progress"].detail
    assert checks["field Response due"].ok


def test_fields_missing_off_screen_or_of_the_wrong_type(fake: FakeJira) -> None:
    populate(fake)
    fake.edit_screen_hidden.add(fake.field_id("Breach count"))
    target = Target(
        "SUP",
        fields={
            "Response due": FieldType.DATETIME,
            "Escalation note": FieldType.DATETIME,  # a text field cannot hold an instant
            "Breach count": FieldType.NUMBER,
            "casewarden_next_due": FieldType.DATETIME,
            "Case flags": FieldType.LABEL,
        },
    )
    checks = by_name(run_checks(api_for(fake), [target]))
    assert checks["field Response due"].ok and checks["field Case flags"].ok
    assert "must be a Date Time Picker" in checks["field Escalation note"].detail
    assert "not on the edit screen of SUP" in checks["field Breach count"].detail
    missing = checks["field casewarden_next_due"]
    assert missing.ok and "bootstrap --apply" in missing.detail, "doctor's bootstrap check fails for it"
    assert not any(checks[f"field {n}"].ok for n in ("Escalation note", "Breach count"))


def test_levels_must_be_priorities_or_options_the_screen_offers(fake: FakeJira) -> None:
    populate(fake)
    checks = by_name(run_checks(api_for(fake), [Target("SUP", levels=("Highest", "Blocker"))]))
    assert not checks["levels"].ok and "Blocker" in checks["levels"].detail
    in_field = Target("SUP", levels=("L1", "L2", "L4"), level_field="Support level")
    checks = by_name(run_checks(api_for(fake), [in_field]))
    assert not checks["levels"].ok and checks["levels"].detail.endswith("L4")
    ok = by_name(run_checks(api_for(fake), [Target("SUP", levels=("L1", "L3"), level_field="Support level")]))
    assert ok["levels"].ok


def test_every_request_follows_the_platform_spec() -> None:
    """The published spec describes Cloud; Data Center's legacy search is not held to it."""
    from tests.fakes.openapi import ApiSpec, SpecRecorder

    fake = FakeJira("cloud", now=NOW)
    recorder = SpecRecorder(ApiSpec.jira_platform(), ApiSpec.jira_service_management(), responses_too=True)
    populate(fake)
    with fake.serve() as mock:
        assert all(c.ok for c in run_checks(api_for(fake), [TARGET]))
        recorder.assert_clean(mock.calls)


def test_each_governed_project_is_checked_on_its_own(fake: FakeJira) -> None:
    """A software project beside the service project: its workflow has none of the JSM statuses."""
    populate(fake)
    fake.create_issue("ENG", "a bug", created=NOW - timedelta(hours=1))
    targets = [TARGET, Target("ENG", levels=TARGET.levels, statuses=STATUSES, fields=TARGET.fields)]
    checks = run_checks(api_for(fake), targets)
    names = [c.name for c in checks]
    assert names.count("token") == 1 and "SUP permissions" in names and "ENG permissions" in names
    failed = {c.name: c.detail for c in checks if not c.ok}
    assert list(failed) == ["ENG statuses"], failed
    assert "'Waiting for support' (for New)" in failed["ENG statuses"]
