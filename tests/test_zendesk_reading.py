"""Reading Zendesk incrementally: the two exports, their last-minute exclusion, sideloads, audits only
where needed, and what a ticket's history means for the policy."""

from __future__ import annotations

from datetime import timedelta

import responses

from casewarden.connectors.base import Page, TrackerCase
from casewarden.connectors.zendesk import ZendeskConnector
from casewarden.policy.case import Author, Reply, StatusChange
from tests import zendesk_core_fixtures as zc
from tests.fakes.zendesk import FakeZendesk, User
from tests.zendesk_core_fixtures import T0, connector

fake, rsps, people = zc.fake, zc.rsps, zc.people

EXPORT = "GET /api/v2/incremental/tickets/cursor"
EVENTS = "GET /api/v2/incremental/ticket_events"
AUDITS = "GET /api/v2/tickets/{ticket_id}/audits"
MINUTE = timedelta(minutes=1)


class Engine:
    """Reads like the engine: keeps the resume point and what it read (``known``)."""

    def __init__(self) -> None:
        self.resume: dict | None = None
        self.known: dict[str, TrackerCase] = {}

    def read(self, conn: ZendeskConnector) -> list[TrackerCase]:
        out: list[TrackerCase] = []
        page: Page
        for page in conn.read_changed(self.resume, T0 + timedelta(days=999), self.lookup):
            for tc in page.cases:
                self.known[tc.case.id] = tc
            out += page.cases
            if page.resume is not None:
                self.resume = page.resume
        return out

    def lookup(self, ids: object) -> dict[str, TrackerCase]:
        return {i: self.known[i] for i in ids if i in self.known}  # type: ignore[attr-defined]


def test_changes_inside_the_last_minute_are_read_next_time_never_lost_or_doubled(
    fake: FakeZendesk, rsps: responses.RequestsMock, people: tuple[User, User]
) -> None:
    fake.mount(rsps)
    customer, agent = people
    ticket = fake.create_ticket("t", "help", requester=customer, created_at=T0, priority="normal")
    fake.now = T0 + 10 * MINUTE
    engine = Engine()
    conn = connector(fake)
    [first] = engine.read(conn)
    assert [r.at for r in first.case.replies] == [T0]
    # an agent answers 30 s before the next read: both exports hold it back
    fake.add_comment(ticket, fake.now - timedelta(seconds=30), agent, "on it")
    assert engine.read(conn) == []
    fake.advance(2 * MINUTE)
    [again] = engine.read(conn)
    assert again.case.replies == (
        Reply(T0, Author.CUSTOMER, True),
        Reply(T0 + 9 * MINUTE + timedelta(seconds=30), Author.AGENT, True),
    )
    assert engine.read(conn) == []


def test_the_events_second_read_again_is_not_doubled(
    fake: FakeZendesk, rsps: responses.RequestsMock, people: tuple[User, User]
) -> None:
    """Several updates per second across events pages (each page runs to the end of its last second and
    the next starts at that second again): each update becomes one timeline entry."""
    fake.mount(rsps)
    customer, agent = people
    ticket = fake.create_ticket("t", "x", requester=customer, created_at=T0, priority="low")
    for i in range(12):
        fake.add_comment(ticket, T0 + MINUTE + timedelta(seconds=i // 3), agent, f"note {i}", public=False)
    fake.now = T0 + 10 * MINUTE
    engine = Engine()
    conn = connector(fake, events_page_size=5)
    [case] = engine.read(conn)
    assert len(case.case.replies) == 13
    assert fake.log.count(EVENTS) >= 3
    fake.add_comment(ticket, T0 + 2 * MINUTE, agent, "later", public=False)
    fake.advance(2 * MINUTE)
    [later] = engine.read(conn)
    assert len(later.case.replies) == 14


def test_sideloads_are_read_from_the_page_and_audits_only_for_tickets_older_than_the_window(
    fake: FakeZendesk, rsps: responses.RequestsMock, people: tuple[User, User]
) -> None:
    fake.mount(rsps)
    customer, agent = people
    old = fake.create_ticket("old", "x", requester=customer, created_at=T0, priority="high")
    fake.add_comment(old, T0 + 10 * MINUTE, agent, "answered")
    new = [
        fake.create_ticket(
            f"new {i}", "y", requester=customer, created_at=T0 + (60 + i) * MINUTE, priority="low"
        )
        for i in range(5)
    ]
    fake.add_comment(old, T0 + 70 * MINUTE, agent, "again")
    fake.now = T0 + 3 * 60 * MINUTE
    # the first run backfills from after the old ticket was opened: only it needs its audits
    conn = connector(fake, backfill_from=T0 + 30 * MINUTE)
    cases = Engine().read(conn)
    assert {tc.case.id for tc in cases} == {str(old.id), *(str(t.id) for t in new)}
    assert [e.path for e in fake.log.of(AUDITS)] == [f"/api/v2/tickets/{old.id}/audits.json"]
    assert not fake.log.of("GET /api/v2/users/{user_id}")
    # comment authors not on the page (the agent) come in one bulk call, never one call per user
    assert len(fake.log.of("GET /api/v2/users/show_many")) == 1
    by_id = {tc.case.id: tc.case for tc in cases}
    assert [r.at for r in by_id[str(old.id)].replies] == [T0, T0 + 10 * MINUTE, T0 + 70 * MINUTE]
    assert all(by_id[str(t.id)].requester == customer.email for t in new)


def test_custom_statuses_in_one_category_and_closed_and_unmapped_values(
    fake: FakeZendesk, rsps: responses.RequestsMock, people: tuple[User, User]
) -> None:
    fake.mount(rsps)
    customer, agent = people
    waiting = fake.create_custom_status("pending", "Waiting on vendor", at=T0)
    ticket = fake.create_ticket("t", "x", requester=customer, created_at=T0, priority="normal")
    fake.set_status(ticket, T0 + MINUTE, "pending", author=agent)
    fake.set_status(ticket, T0 + 2 * MINUTE, waiting.id, author=agent)
    fake.now = T0 + 10 * MINUTE
    conn = connector(fake)
    [tc] = Engine().read(conn)
    # "Waiting on vendor" is a pending status the deployment does not map: a problem, not a crash
    assert [s.status for s in tc.case.status_history] == ["New", "Pending", "Waiting on vendor"]
    assert tc.problems and "Waiting on vendor" in tc.problems[0]
    fake.set_status(ticket, T0 + 3 * MINUTE, "solved", author=agent)
    fake.set_status(ticket, T0 + 4 * MINUTE, "closed", author=agent)
    fake.now = T0 + 20 * MINUTE
    [closed] = conn.read_cases([str(ticket.id)])
    assert closed.case.status_history[-2:] == (
        StatusChange(T0 + 3 * MINUTE, "Solved"),
        StatusChange(T0 + 4 * MINUTE, "Closed"),
    )


def test_region_from_the_requester_time_zone_or_organization_and_channel_from_via(
    fake: FakeZendesk, rsps: responses.RequestsMock, people: tuple[User, User]
) -> None:
    fake.mount(rsps)
    customer, _agent = people
    org = fake.create_organization("Acme", organization_fields={"support_region": "apac"}, at=T0)
    member = fake.create_user("Mo", "mo@example.com", time_zone="Asia/Tokyo", organization_id=org.id, at=T0)
    a = fake.create_ticket("a", "x", requester=customer, created_at=T0, priority="low", channel="email")
    b = fake.create_ticket("b", "x", requester=member, created_at=T0, priority="low", channel="web")
    fake.now = T0 + 10 * MINUTE
    by_zone = connector(
        fake, case_data={"region": {"requester_timezone": True, "map": {"Europe/": "emea", "Asia/": "apac"}}}
    )
    assert {tc.case.id: tc.case.region for tc in Engine().read(by_zone)} == {
        str(a.id): "emea",
        str(b.id): "apac",
    }
    by_org = connector(fake, case_data={"region": {"organization_field": "support_region"}})
    cases = {tc.case.id: tc.case for tc in Engine().read(by_org)}
    assert (cases[str(a.id)].region, cases[str(b.id)].region) == (None, "apac")
    assert (cases[str(a.id)].channel, cases[str(b.id)].channel) == ("email", "web")


class TickingTime(zc.FakeTime):
    """Every look at the clock costs a second: a cycle's budget runs out after so many requests."""

    def clock(self) -> float:
        self.now += 1
        return self.now


def test_a_cycle_out_of_time_stops_cleanly_and_the_next_resumes_where_it_stopped(
    fake: FakeZendesk, rsps: responses.RequestsMock, people: tuple[User, User]
) -> None:
    from casewarden.connectors.base import CycleBudget

    fake.mount(rsps)
    customer, agent = people
    made = []
    for i in range(30):
        t = fake.create_ticket(f"t{i}", "x", requester=customer, created_at=T0 + i * MINUTE, priority="low")
        fake.add_comment(t, T0 + i * MINUTE + timedelta(seconds=5), agent, "seen")
        made.append(str(t.id))
    fake.now = T0 + 2 * 60 * MINUTE
    engine = Engine()
    seen: list[str] = []
    for _cycle in range(30):
        time = TickingTime(fake)
        conn = connector(
            fake, time=time, budget=CycleBudget(40, clock=time.clock), page_size=5, events_page_size=5
        )
        before = engine.resume
        got = engine.read(conn)
        seen += [tc.case.id for tc in got]
        if not got and engine.resume == before:
            break  # (a cycle may give no ticket yet and still move on: its events read was cut short)
    assert sorted(seen) == sorted(made), "every ticket once, none twice, across the cycles"
    assert len(seen) == len(set(seen))
    assert all(len(engine.known[i].case.replies) == 2 for i in made), "timelines whole"
    # tickets a cut cycle left behind whose first updates are now before the events position need their
    # audits on first sight; the others are built from the events export alone
    assert fake.log.count(AUDITS) < len(made) // 2


def test_an_agent_token_cannot_read_the_exports_and_says_so(
    fake: FakeZendesk, rsps: responses.RequestsMock, people: tuple[User, User]
) -> None:
    import pytest

    from casewarden.errors import FatalConnectorError

    fake.mount(rsps)
    _customer, agent = people
    conn = connector(fake, email=agent.email)
    with pytest.raises(FatalConnectorError, match="HTTP 403") as caught:
        list(conn.read_changed(None, T0))
    assert fake.api_token not in str(caught.value)


def test_a_ticket_without_priority_gets_the_policys_default_level_not_a_problem(
    fake: FakeZendesk, rsps: responses.RequestsMock, people: tuple[User, User]
) -> None:
    fake.mount(rsps)
    customer, agent = people
    ticket = fake.create_ticket("t", "x", requester=customer, created_at=T0)
    fake.now = T0 + 10 * MINUTE
    engine = Engine()
    conn = connector(fake)
    [tc] = engine.read(conn)
    assert tc.case.level_history == () and tc.problems == ()
    fake.set_priority(ticket, T0 + 11 * MINUTE, "urgent", author=agent)
    fake.advance(2 * MINUTE)
    [later] = engine.read(conn)
    assert [lv.level for lv in later.case.level_history] == ["S1"]
