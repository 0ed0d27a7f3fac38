"""casewarden's own writes during a read: a ticket it updates after one page of the ticket export moves to
the end of that export, so a reader that pages on to the export's end reads it again (and the engine,
de-duplicating, throws it away) in the same cycle. The read ends at the instant the cycle began
(``until``): what casewarden writes later, and what a person changes later, is read next cycle."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from casewarden.connectors.base import CaseChanges, ChangeResult, Connector
from casewarden.policy.case import Author, Reply
from casewarden.sync.snapshot import decode
from casewarden.sync.state import StateStore
from tests.connector_faults import APPLY_AT, NOW, Delegating, Deployment, populate
from tests.trackers.zendesk import ZendeskUnderTest, make

EXPORT = "GET /api/v2/incremental/tickets/cursor"


@pytest.fixture
def tut(tmp_path: Path) -> Iterator[ZendeskUnderTest]:
    under_test = make(tmp_path, lambda: APPLY_AT)
    try:
        yield under_test
    finally:
        under_test.close()


def test_the_first_cycle_does_not_read_its_own_writes_again(tut: ZendeskUnderTest, tmp_path: Path) -> None:
    ids = populate(tut)
    run = Deployment(tmp_path, tut)
    tickets = len(tut.fake.tickets)
    per_page = tut.page_size
    tut.fake.log.clear()
    first = run.cycle(NOW)
    pages = tut.fake.log.count(EXPORT)
    assert first.read == tickets >= len(ids)
    assert first.applied > 0, "the cycle wrote to tickets while it read (what this test is about)"
    # every ticket once: its pages, and one more page that shows the read has reached the cycle's start
    assert pages <= -(-tickets // per_page) + 1, f"{pages} export pages for {tickets} tickets"


class RepliedToAfterTheWrite(Delegating):
    """The customer answers the first ticket casewarden writes to, moments after the write, while the
    cycle still reads (the ticket is then both casewarden's and a person's change since the read began)."""

    def __init__(self, inner: Connector, tut: ZendeskUnderTest, at: datetime) -> None:
        super().__init__(inner)
        self.tut = tut
        self.at = at
        self.replied: str | None = None

    def apply(self, batch: Sequence[CaseChanges]) -> list[ChangeResult]:
        results = self.inner.apply(batch)
        if self.replied is None and batch:
            self.replied = batch[0].case_id
            self.tut.harness.add_comment(self.replied, self.at, "customer", "thanks, any news?")
        return results


def test_a_reply_right_after_casewardens_write_is_read_next_cycle(
    tut: ZendeskUnderTest, tmp_path: Path
) -> None:
    populate(tut)
    run = Deployment(tmp_path, tut)
    reply_at = APPLY_AT  # casewarden goes on writing at APPLY_AT (the fake's history only moves forward)
    replying = RepliedToAfterTheWrite(tut.connector(), tut, reply_at)
    run.cycle(NOW, replying)
    assert replying.replied is not None
    case_id = replying.replied
    run.cycle(NOW + timedelta(seconds=10))
    state = StateStore(tmp_path / "state.sqlite")
    try:
        [stored] = state.known_cases("suite", [case_id]).values()
    finally:
        state.close()
    replies = decode(stored, simulated=False).case.replies
    assert Reply(reply_at, Author.CUSTOMER, True) in replies, "the customer's reply was lost"


def test_the_next_cycle_learns_casewardens_own_status_and_level_moves(
    tut: ZendeskUnderTest, tmp_path: Path
) -> None:
    """The engine stores a case without the status and level moves casewarden made (the tracker reports
    them, with their real instants): the next cycle must read the tickets casewarden wrote."""
    populate(tut)
    run = Deployment(tmp_path, tut)
    run.cycle(NOW)
    run.cycle(NOW + timedelta(seconds=10))
    state = StateStore(tmp_path / "state.sqlite")
    try:
        rows = state.known_cases("suite", [str(i) for i in tut.fake.tickets])
        stored = {cid: decode(data, simulated=False).case for cid, data in rows.items()}
    finally:
        state.close()
    now = {tc.case.id: tc.case for tc in tut.connector().read_cases(list(stored))}
    moved = [
        cid for cid in stored if now[cid].status_history[-1].status != stored[cid].status_history[-1].status
    ]
    assert not moved, f"the state does not know the status casewarden set on {moved}"
    levels = [cid for cid in stored if now[cid].level_history[-1:] != stored[cid].level_history[-1:]]
    assert not levels, f"the state does not know the level casewarden set on {levels}"
