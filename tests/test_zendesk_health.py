"""doctor's Zendesk checks against the fake: token, role, plan features, mappings, field types."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
import responses
from zenpy import Zenpy

from casewarden.connectors.base import ConnectorContext, FieldType, HealthCheck
from casewarden.connectors.mapping import NameMap
from casewarden.connectors.zendesk import ZendeskConnector, ZendeskSettings, health
from casewarden.connectors.zendesk.health import Wanted
from tests.fakes.zendesk import Account, FakeZendesk

T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)

WANTED = Wanted(
    levels=("urgent", "high", "normal", "low"),
    statuses=(
        ("New", "New", "new"),
        ("In Progress", "In Progress", "open"),
        ("Awaiting Customer", "Awaiting Customer", "pending"),
        ("Solved", "Solved", "solved"),
        ("Closed", "closed", "closed"),
    ),
    fields=(
        ("casewarden_next_due", FieldType.DATETIME),
        ("casewarden_breached", FieldType.TEXT),
        ("casewarden_escalation_level", FieldType.NUMBER),
    ),
)


@dataclass
class Client:
    client: Any


@pytest.fixture
def rsps() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def connect(fake: FakeZendesk, rsps: responses.RequestsMock, email: str | None = None) -> Client:
    fake.mount(rsps)
    kwargs = fake.zenpy_kwargs()
    if email is not None:
        kwargs["email"] = email
    return Client(Zenpy(**kwargs))


def ready(fake: FakeZendesk) -> FakeZendesk:
    fake.create_custom_status("open", "In Progress")
    fake.create_custom_status("pending", "Awaiting Customer")
    fake.create_ticket_field("text", "casewarden_next_due")
    fake.create_ticket_field("textarea", "casewarden_breached")
    fake.create_ticket_field("integer", "casewarden_escalation_level")
    fake.create_sla_policy(
        "Standard",
        filter={"all": [], "any": []},
        policy_metrics=[
            {"priority": "high", "metric": "first_reply_time", "target": 60, "business_hours": False}
        ],
    )
    return fake


def by_name(checks: list[HealthCheck]) -> dict[str, HealthCheck]:
    return {c.name: c for c in checks}


def test_a_ready_instance_passes_every_check_in_five_reads(rsps: responses.RequestsMock) -> None:
    fake = ready(FakeZendesk(now=T0))
    checks = health.checks(connect(fake, rsps), WANTED)
    assert [c for c in checks if not c.ok] == []
    names = list(by_name(checks))
    assert names[:2] == ["token", "role"]
    assert {"custom statuses activated", "SLA policies", "levels resolve", "statuses resolve"} <= set(names)
    assert "field casewarden_next_due" in names
    assert len(fake.log) == 5, "users/me, account settings, fields, statuses, SLA policies"


def test_a_wrong_token_fails_alone_and_says_what_to_check(rsps: responses.RequestsMock) -> None:
    fake = FakeZendesk(now=T0)
    fake.mount(rsps)
    conn = Client(Zenpy(**{**fake.zenpy_kwargs(), "token": "wrong"}))
    checks = health.checks(conn, WANTED)
    assert [(c.name, c.ok) for c in checks] == [("token", False)]
    assert "401" in checks[0].detail and "wrong" not in checks[0].detail


def test_an_agent_token_fails_the_role_check(rsps: responses.RequestsMock) -> None:
    fake = ready(FakeZendesk(now=T0))
    fake.create_user("Agent", "agent@acme.example", role="agent", at=T0)
    checks = by_name(health.checks(connect(fake, rsps, "agent@acme.example"), WANTED))
    assert checks["token"].ok and not checks["role"].ok
    assert "admin" in checks["role"].detail and "events export" in checks["role"].detail


def test_plan_features_missing_are_named(rsps: responses.RequestsMock) -> None:
    fake = FakeZendesk(
        now=T0, account=Account(plan="team", sla_available=False, custom_statuses_enabled=False)
    )
    checks = by_name(health.checks(connect(fake, rsps), WANTED))
    assert not checks["custom statuses activated"].ok
    assert "Ticket statuses" in checks["custom statuses activated"].detail
    assert checks["SLA policies"].ok and "not on this plan" in checks["SLA policies"].detail
    builtin_only = Wanted(statuses=(("New", "new", "new"), ("Solved", "solved", "solved")))
    assert by_name(health.checks(connect(fake, rsps), builtin_only))["custom statuses activated"].ok


def test_unresolved_levels_statuses_and_unusable_fields_fail_with_reasons(
    rsps: responses.RequestsMock,
) -> None:
    fake = FakeZendesk(now=T0)
    fake.create_custom_status("hold", "In Progress")  # the right name in the wrong category
    fake.create_ticket_field("date", "casewarden_next_due")
    fake.create_ticket_field("checkbox", "casewarden_breached")
    wanted = Wanted(
        levels=("urgent", "critical"),
        statuses=WANTED.statuses,
        fields=(*WANTED.fields, ("casewarden_warning", FieldType.TEXT)),
    )
    checks = by_name(health.checks(connect(fake, rsps), wanted))
    assert not checks["levels resolve"].ok and "critical" in checks["levels resolve"].detail
    statuses = checks["statuses resolve"]
    assert not statuses.ok
    assert "'In Progress' is in the hold category" in statuses.detail
    assert "'Awaiting Customer' does not exist" in statuses.detail
    assert "New" not in statuses.detail.split(";")[0] or "does not exist" not in statuses.detail.split(";")[0]
    assert "a day, not an instant" in checks["field casewarden_next_due"].detail
    assert "yes/no" in checks["field casewarden_breached"].detail
    assert "does not exist" in checks["field casewarden_escalation_level"].detail
    assert "bootstrap" in checks["field casewarden_warning"].detail


def test_levels_on_a_dropdown_resolve_by_option_name_or_tag(rsps: responses.RequestsMock) -> None:
    fake = FakeZendesk(now=T0)
    fake.create_ticket_field("tagger", "Severity", options=[("S1", "cw_s1"), ("S2", "cw_s2")])
    fake.create_ticket_field("text", "Not a dropdown")
    conn = connect(fake, rsps)
    ok = by_name(health.checks(conn, Wanted(levels=("S1", "cw_s2"), level_field="Severity")))
    assert ok["levels resolve"].ok
    missing = by_name(health.checks(conn, Wanted(levels=("S1", "S3"), level_field="Severity")))
    assert not missing["levels resolve"].ok and "S3" in missing["levels resolve"].detail
    wrong = by_name(health.checks(conn, Wanted(levels=("S1",), level_field="Not a dropdown")))
    assert "not a drop-down" in wrong["levels resolve"].detail
    absent = by_name(health.checks(conn, Wanted(levels=("S1",), level_field="Nope")))
    assert "does not exist" in absent["levels resolve"].detail


def test_a_failing_read_is_one_failed_check_not_a_crash(rsps: responses.RequestsMock) -> None:
    fake = ready(FakeZendesk(now=T0))
    fake.faults.fail_next("GET /api/v2/ticket_fields", count=10, status=503)
    checks = by_name(health.checks(connect(fake, rsps), WANTED))
    assert checks["token"].ok and checks["statuses resolve"].ok
    assert not checks["fields usable"].ok and "503" in checks["fields usable"].detail


def test_the_connectors_doctor_checks_each_field_for_what_it_holds(rsps: responses.RequestsMock) -> None:
    """Through the real connector: the deployment's managed fields with their kinds (from the context),
    its level and status maps; a due instant in a date field, a level in a checkbox are named."""
    fake = ready(FakeZendesk(now=T0))
    fake.create_ticket_field("date", "casewarden_due_first_response")
    fake.create_ticket_field("checkbox", "casewarden_level")
    fake.mount(rsps)
    statuses = {"New": "New", "In Progress": "In Progress", "Solved": "Solved", "Closed": "closed"}
    context = ConnectorContext(
        tracker="zendesk",
        names=NameMap({"P1": "urgent", "P2": "high"}, statuses, policy_levels=["P1", "P2"]),
        fields=("casewarden_next_due", "casewarden_due_first_response", "casewarden_level"),
        field_types={
            "casewarden_next_due": FieldType.DATETIME,
            "casewarden_due_first_response": FieldType.DATETIME,
            "casewarden_level": FieldType.SELECT,
        },
        environ={"ZD_TOKEN": fake.api_token},
    )
    settings = ZendeskSettings(subdomain="acme", email=fake.admin.email, token_env="ZD_TOKEN")
    categories = {"New": "new", "In Progress": "open", "Solved": "solved", "Closed": "closed"}
    context.status_categories = categories
    conn = ZendeskConnector(settings, context, sleep=lambda _s: None)
    try:
        checks = by_name(conn.health())
    finally:
        conn.close()
    assert checks["token"].ok and checks["role"].ok
    assert checks["levels resolve"].ok and checks["statuses resolve"].ok
    assert checks["field casewarden_next_due"].ok
    assert "a day, not an instant" in checks["field casewarden_due_first_response"].detail
    assert "yes/no" in checks["field casewarden_level"].detail
    # the same map, with the policy saying In Progress is a pending status
    context.status_categories = {**categories, "In Progress": "pending"}
    conn = ZendeskConnector(settings, context, sleep=lambda _s: None)
    try:
        statuses = by_name(conn.health())["statuses resolve"]
    finally:
        conn.close()
    assert (
        not statuses.ok
        and "'In Progress' is in the open category, the policy's is pending" in statuses.detail
    )
