"""The ticket export and the ticket events export are separate indexes, read at different instants: the
ticket export can show a ticket as changed before the events export shows the update that changed it.
The case given then is as new as the last update it holds (not the ticket's own ``updated_at``), so the
update, once the events export shows it, is newer than the stored case and read, never lost. The same
holds for a ticket whose updates straddle the end of a read (``until``)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import responses

from casewarden.connectors.zendesk import ZendeskConnector
from casewarden.policy.case import Author, Reply
from tests import zendesk_core_fixtures as zc
from tests.fakes.zendesk import FakeZendesk, User
from tests.test_zendesk_reading import EVENTS, MINUTE, Engine
from tests.zendesk_core_fixtures import T0, connector

fake, rsps, people = zc.fake, zc.rsps, zc.people


def events_read_early(conn: ZendeskConnector, fake: FakeZendesk) -> ZendeskConnector:
    """The connector, with two minutes passing on Zendesk's clock after each events request (so the
    ticket export, asked after it, sees what the events export did not)."""
    get_json = conn.get_json

    def late(url: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        body = get_json(url, params)
        if "/incremental/ticket_events" in url:
            fake.advance(2 * MINUTE)
        return body

    conn.get_json = late  # type: ignore[method-assign]
    return conn


def test_an_update_the_ticket_export_shows_first_is_read_once_the_events_export_shows_it(
    fake: FakeZendesk, rsps: responses.RequestsMock, people: tuple[User, User]
) -> None:
    fake.mount(rsps)
    customer, agent = people
    ticket = fake.create_ticket("t", "help", requester=customer, created_at=T0, priority="normal")
    fake.now = T0 + 10 * MINUTE
    engine = Engine()
    [first] = engine.read(connector(fake))
    assert first.case.replies == (Reply(T0, Author.CUSTOMER, True),)

    answered = fake.now - timedelta(seconds=30)  # inside the minute the events export leaves out
    fake.add_comment(ticket, answered, agent, "on it")
    [lagging] = engine.read(events_read_early(connector(fake), fake))
    events_requests = fake.log.count(EVENTS)
    assert lagging.case.replies == first.case.replies, "the events export did not show the answer yet"
    assert lagging.case.updated_at == T0, "as new as the last update it holds, not as the ticket"

    fake.advance(2 * MINUTE)
    [caught_up] = engine.read(connector(fake))
    assert fake.log.count(EVENTS) > events_requests
    assert caught_up.case.replies == (Reply(T0, Author.CUSTOMER, True), Reply(answered, Author.AGENT, True))
    assert caught_up.case.updated_at == answered
    assert engine.read(connector(fake)) == [], "and only once"


def test_a_ticket_changed_before_and_after_the_reads_end_has_both_updates_once(
    fake: FakeZendesk, rsps: responses.RequestsMock, people: tuple[User, User]
) -> None:
    """The read ends at ``until``; the ticket's update before it is given now (the events position
    passes it), the one after it next read, and neither twice."""
    fake.mount(rsps)
    customer, agent = people
    ticket = fake.create_ticket("t", "help", requester=customer, created_at=T0, priority="normal")
    fake.now = T0 + 10 * MINUTE
    engine = Engine()
    conn = connector(fake)

    def read(until: Any) -> list[Any]:
        out = []
        for page in conn.read_changed(engine.resume, until, engine.lookup):
            for tc in page.cases:
                engine.known[tc.case.id] = tc
            out += page.cases
            if page.resume is not None:
                engine.resume = page.resume
        return out

    read(fake.now)
    before, after = T0 + 11 * MINUTE, T0 + 13 * MINUTE
    fake.add_comment(ticket, before, agent, "looking")
    fake.add_comment(ticket, after, customer, "thanks")
    fake.now = T0 + 20 * MINUTE
    [now] = read(T0 + 12 * MINUTE)
    assert [r.at for r in now.case.replies] == [T0, before]
    [later] = read(fake.now)
    assert [r.at for r in later.case.replies] == [T0, before, after]
    assert read(fake.now) == []
