"""Zendesk's own SLA timers, read in bulk from ``include=slas`` and mapped to policy metrics, for the
cross-check against casewarden's due times."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import responses
from zenpy import Zenpy

from casewarden.connectors.base import NativeTimer
from casewarden.connectors.zendesk import native_sla
from tests.fakes.zendesk import FakeZendesk, User

T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
SHOW_MANY = "GET /api/v2/tickets/show_many"


@dataclass
class Client:
    client: Any


@pytest.fixture
def fake() -> FakeZendesk:
    return FakeZendesk(now=T0)


@pytest.fixture
def conn(fake: FakeZendesk) -> Iterator[Client]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        fake.mount(rsps)
        yield Client(Zenpy(**fake.zenpy_kwargs()))


@pytest.fixture
def people(fake: FakeZendesk) -> tuple[User, User]:
    return (
        fake.create_user("Carla Customer", "carla@example.com", at=T0),
        fake.create_user("Ann Agent", "ann@acme.example", role="agent", at=T0),
    )


def sla_policy(fake: FakeZendesk) -> None:
    fake.create_sla_policy(
        "Everything",
        filter={"all": [], "any": []},
        policy_metrics=[
            {"priority": "high", "metric": m, "target": target, "business_hours": False}
            for m, target in (
                ("first_reply_time", 60),
                ("next_reply_time", 120),
                ("periodic_update_time", 240),
                ("requester_wait_time", 600),
            )
        ],
        at=T0,
    )


def test_timers_map_zendesk_metrics_to_policy_metrics_with_breach_instants(
    fake: FakeZendesk, conn: Client, people: tuple[User, User]
) -> None:
    customer, agent = people
    sla_policy(fake)
    waiting = fake.create_ticket("no reply yet", "help", requester=customer, created_at=T0, priority="high")
    answered = fake.create_ticket("answered", "help", requester=customer, created_at=T0, priority="high")
    fake.add_comment(answered, T0 + timedelta(minutes=30), agent, "on it")
    fake.now = T0 + timedelta(hours=2)

    found = {(t.case_id, t.source): t for t in native_sla.timers(conn, [str(waiting.id), str(answered.id)])}

    late = found[(str(waiting.id), "first_reply_time")]
    assert late.metric == "first_response" and late.due == T0 + timedelta(hours=1)
    assert late.breached and not late.paused, "an hour overdue"
    met = found[(str(answered.id), "first_reply_time")]
    assert met.due is None and not met.breached, "achieved: no running target"
    update = found[(str(answered.id), "periodic_update_time")]
    assert update.metric == "periodic_update" and update.due == T0 + timedelta(minutes=30, hours=4)
    assert not update.breached
    wait = found[(str(waiting.id), "requester_wait_time")]
    assert wait.metric == "resolution" and wait.due == T0 + timedelta(hours=10)
    assert not any(t.source == "next_reply_time" for t in found.values()), "no policy counterpart"


def test_timers_read_100_tickets_a_call_and_skip_what_zendesk_has_no_sla_for(
    fake: FakeZendesk, conn: Client, people: tuple[User, User]
) -> None:
    customer, _ = people
    sla_policy(fake)
    tickets = [
        fake.create_ticket(f"c{i}", "help", requester=customer, created_at=T0, priority="high")
        for i in range(230)
    ]
    no_sla = fake.create_ticket("low", "help", requester=customer, created_at=T0, priority="low")
    fake.now = T0 + timedelta(minutes=30)
    ids = [str(t.id) for t in tickets] + [str(no_sla.id), "99999", "not-a-ticket", str(tickets[0].id)]

    timers = native_sla.timers(conn, ids)

    assert fake.log.count(SHOW_MANY) == 3, "230 tickets + 2 unknown ids: three calls of at most 100"
    assert all(e.query["include"] == "slas" for e in fake.log.of(SHOW_MANY))
    assert {t.case_id for t in timers} == {str(t.id) for t in tickets}
    assert len([t for t in timers if t.source == "first_reply_time"]) == 230, "each ticket once"
    assert fake.log.count() == 3, "never one call per ticket"


def test_paused_and_pinned_sla_data_are_read_as_zendesk_states_them(
    fake: FakeZendesk, conn: Client, people: tuple[User, User]
) -> None:
    customer, _ = people
    ticket = fake.create_ticket("t", "help", requester=customer, created_at=T0, priority="high")
    fake.set_sla(
        ticket,
        [
            {"metric": "agent_work_time", "stage": "paused", "breach_at": None},
            {
                "metric": "pausable_update_time",
                "stage": "active",
                "breach_at": "2025-03-03T08:00:00Z",
                "days": 0,
                "hours": -1,
                "minutes": -5,
            },
            {"metric": "group_ownership_time", "stage": "active", "breach_at": "2025-03-03T12:00:00Z"},
        ],
    )
    timers = native_sla.timers(conn, [str(ticket.id)])
    assert [(t.metric, t.source, t.paused, t.breached, t.due) for t in timers] == [
        ("resolution", "agent_work_time", True, False, None),
        ("periodic_update", "pausable_update_time", False, True, datetime(2025, 3, 3, 8, tzinfo=UTC)),
    ]


def test_no_ids_cost_no_call(fake: FakeZendesk, conn: Client) -> None:
    assert native_sla.timers(conn, []) == []
    assert native_sla.timers(conn, ["abc"]) == []
    assert fake.log.count() == 0


def test_sla_data_in_odd_shapes_is_no_timer() -> None:
    assert native_sla.from_slas("1", None) == []
    assert native_sla.from_slas("1", {"policy_metrics": None}) == []
    assert native_sla.from_slas("1", {"policy_metrics": ["x", {"metric": "first_reply_time"}]}) == [
        NativeTimer("1", "first_response", "first_reply_time", None)
    ]
    odd = native_sla.from_slas("1", {"policy_metrics": [{"metric": "first_reply_time", "breach_at": "soon"}]})
    assert odd[0].due is None


def test_the_connector_reads_zendesks_timers_through_its_own_session(tmp_path: Path) -> None:
    """``ZendeskConnector.native_timers`` (NATIVE_SLA) on the suite factory: Zendesk's figures for the
    tickets asked about, in one request."""
    from tests.trackers.zendesk import make

    clock_at = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)
    tut = make(tmp_path, lambda: clock_at)
    try:
        tut.fake.create_sla_policy(
            "Urgent",
            filter={"all": [], "any": []},
            policy_metrics=[
                {"priority": "urgent", "metric": "first_reply_time", "target": 30, "business_hours": False}
            ],
            at=clock_at - timedelta(days=1),
        )
        opened = clock_at - timedelta(hours=1)
        s1 = tut.harness.create_case("down", opened_at=opened, level="S1")
        s3 = tut.harness.create_case("question", opened_at=opened, level="S3")
        conn = tut.connector()
        assert type(conn).NATIVE_SLA
        before = len(tut.fake.log)
        timers = conn.native_timers([s1, s3])
        assert [(t.case_id, t.metric, t.due, t.breached) for t in timers] == [
            (s1, "first_response", opened + timedelta(minutes=30), True)
        ], "the S3 (normal) ticket has no SLA of Zendesk's"
        assert len(tut.fake.log) - before == 1
    finally:
        tut.close()
