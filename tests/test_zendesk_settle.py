"""Settling many side effects of unknown outcome from a fresh process: markers are looked for only among
the changes since the engine recorded them (``Pending.since``), not in the whole history of old tickets,
and a write that landed within the minute the events export leaves out is found all the same."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import responses

from casewarden.connectors.base import CaseChanges, Change, ChangeKind, Outcome, Pending
from casewarden.sync.engine import Engine
from tests import zendesk_core_fixtures as zc
from tests.connector_faults import NOW, Deployment, SimulatedKill, populate
from tests.fakes.zendesk import FakeZendesk, User
from tests.trackers.zendesk import make
from tests.zendesk_core_fixtures import T0, connector

fake, rsps, people = zc.fake, zc.rsps, zc.people

EVENTS = "GET /api/v2/incremental/ticket_events"
AUDITS = "GET /api/v2/tickets/{ticket_id}/audits"
LANDED, NEVER_SENT = 25, 5


def old_tickets_then_writes(fake: FakeZendesk, customer: User, agent: User) -> tuple[datetime, list[Pending]]:
    """Tickets with a month of history, then casewarden's keyed notes on most of them (the rest never
    got theirs): the pending side effects, recorded just before the writes."""
    ids = []
    for i in range(LANDED + NEVER_SENT):
        ticket = fake.create_ticket(f"t{i}", "x", requester=customer, created_at=T0, priority="normal")
        ids.append(str(ticket.id))
    for day in range(1, 31):
        for tid in ids:
            fake.add_comment(int(tid), T0 + timedelta(days=day), agent, f"day {day}", public=False)
    fake.now = T0 + timedelta(days=40)
    recorded = fake.now
    writes = [
        CaseChanges(tid, (Change(tid, ChangeKind.ADD_NOTE, "Warning.", key=f"{tid}:warn:1"),))
        for tid in ids[:LANDED]
    ]
    assert all(r.ok for r in connector(fake).apply(writes))
    return recorded, [Pending(f"{tid}:warn:1", tid, "add_note", since=recorded) for tid in ids]


def expected(pending: list[Pending]) -> dict[str, Outcome]:
    return {p.key: Outcome.APPLIED if i < LANDED else Outcome.REFUSED for i, p in enumerate(pending)}


def test_a_fresh_process_settles_many_from_the_changes_since_they_were_recorded(
    fake: FakeZendesk, rsps: responses.RequestsMock, people: tuple[User, User]
) -> None:
    fake.mount(rsps)
    customer, agent = people
    _recorded, pending = old_tickets_then_writes(fake, customer, agent)
    fake.advance(timedelta(minutes=5))  # the next cycle
    assert len(pending) > connector(fake).settings.audit_scan_limit, "more than audits are read for"

    fake.log.clear()
    assert connector(fake, events_page_size=100).settle(pending) == expected(pending)
    bounded = len(fake.log)
    assert fake.log.count(EVENTS) == 1, "only the writes since the record: one page of the events export"
    assert fake.log.count(AUDITS) == 0
    assert bounded <= 2, "one show_many and one page of events"

    # without knowing when they were recorded, the whole history since the oldest ticket was opened
    fake.log.clear()
    unknown_since = [Pending(p.key, p.case_id, p.action) for p in pending]
    assert connector(fake, events_page_size=100).settle(unknown_since) == expected(pending)
    assert fake.log.count(EVENTS) >= 9 > bounded


def test_writes_the_events_export_does_not_show_yet_are_found(
    fake: FakeZendesk, rsps: responses.RequestsMock, people: tuple[User, User]
) -> None:
    """Settled right after the writes (the same cycle), within the minute the export leaves out: the
    tickets updated since are read from their audits; the ones not updated since need no call."""
    fake.mount(rsps)
    customer, agent = people
    _recorded, pending = old_tickets_then_writes(fake, customer, agent)
    fake.log.clear()
    assert connector(fake).settle(pending) == expected(pending), "a write that landed is never lost"
    assert fake.log.count(AUDITS) == LANDED, "audits only for the tickets updated after the export's end"
    # the same holds when nothing says when they were recorded
    unknown_since = [Pending(p.key, p.case_id, p.action) for p in pending]
    assert connector(fake).settle(unknown_since) == expected(pending)


class Recorded:
    def __init__(self) -> None:
        self.asked: list[Pending] = []


@pytest.fixture
def recorded(monkeypatch: pytest.MonkeyPatch) -> Recorded:
    from casewarden.connectors.zendesk import ZendeskConnector

    out = Recorded()
    real = ZendeskConnector.settle

    def settle(self: ZendeskConnector, pending: Any) -> dict[str, Outcome]:
        out.asked += list(pending)
        return real(self, pending)

    monkeypatch.setattr(ZendeskConnector, "settle", settle)
    return out


def test_the_engine_says_since_when_a_side_effect_is_pending(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, recorded: Recorded
) -> None:
    """After a process died between the writes and their record, the next one asks about the pending
    side effects with the instant the ledger recorded them (the first cycle's)."""
    tut = make(tmp_path, lambda: NOW + timedelta(seconds=5))
    try:
        populate(tut)
        run = Deployment(tmp_path, tut)

        def die(self: Engine, *args: Any, **kwargs: Any) -> None:
            raise SimulatedKill

        real_record = Engine._record
        monkeypatch.setattr(Engine, "_record", die)
        with pytest.raises(SimulatedKill):
            run.cycle(NOW)
        monkeypatch.setattr(Engine, "_record", real_record)
        after = run.cycle(NOW + timedelta(seconds=30))
        assert after.recovered > 0
        assert recorded.asked and {p.since for p in recorded.asked} == {NOW}
    finally:
        tut.close()
