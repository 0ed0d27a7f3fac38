"""Reading incrementally: the ticket cursor export for *which* tickets changed (with their users, groups
and organizations sideloaded on the page), the ticket events export for *what* changed, and audits only
for the tickets whose history neither the engine nor this read's events hold (first sight of a ticket
older than the events window: the first run's backfill, a lost state store).

The resume point (opaque to the engine) keeps both exports' positions together::

    {"v": 1, "cursor": <ticket export after_cursor or null>, "start": <unix start of the first run>,
     "events_at": <unix second the events export resumes at>, "events_seen": [<audit ids of that second>]}

**The last minute.** Zendesk leaves what changed in the minute before a request out of both exports;
the cursor and ``end_time`` it returns account for it, so resuming from them picks the held-back changes
up next time. The events export restarts at its ``end_time`` second (inclusive) and returns that
second's audits again: the ids already read at that second are kept in the resume point and skipped, so
nothing is read twice, and nothing at that second is lost.

**The read ends where the cycle began** (``until``): the ticket export stops before the first ticket
changed after it, and the events export keeps no update after it. What casewarden writes while it reads
(after each page) moves the written tickets to the end of the ticket export; they, and anything a person
does after ``until``, are read next cycle, with their updates, instead of again in this read (where the
engine would drop them as already seen, a person's reply after casewarden's write with them).

**Pages and crashes.** Every ticket page's resume point moves the ticket cursor but keeps the events
position of the start of the read; only the final page moves it. A process that dies in between re-reads
the events next time, and the updates a committed page already gave the engine are skipped because
they are not newer than the case the engine stored (``known``).

**Every update the events position passes is given in this read.** A ticket with such updates that the
ticket export did not give (it changed again after ``until``, a same-second tie behind the cursor, or it
was already given by an earlier read while the events export lagged behind the ticket export) is read by
id on the final page when an update is newer than the case the engine knows: the case is then as new as
its last update read (see :mod:`.timeline`), and the rest follows next cycle.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from casewarden.connectors.base import Gone, KnownCases, Page, Resume, TrackerCase
from casewarden.connectors.zendesk.marker_text import keys_of_steps
from casewarden.connectors.zendesk.steps import Step, from_audit, from_event, parse_instant
from casewarden.connectors.zendesk.timeline import People, build_case
from casewarden.errors import ConnectorError

if TYPE_CHECKING:
    from casewarden.connectors.zendesk.connector import ZendeskConnector

__all__ = ["Position", "audits_of", "read_cases", "read_changed", "read_events"]

MERGE_TAG = "closed_by_merge"
SIDELOADS = "users,groups,organizations"
SHOW_MANY = 100


@dataclass(frozen=True)
class Position:
    cursor: str | None
    start: int
    events_at: int
    events_seen: tuple[int, ...] = ()
    #: the latest ``generated_timestamp`` among the tickets the ticket export has given so far
    tickets_upto: int = 0

    def to_json(self) -> Resume:
        return {
            "v": 1,
            "cursor": self.cursor,
            "start": self.start,
            "events_at": self.events_at,
            "events_seen": sorted(self.events_seen),
            "tickets_upto": self.tickets_upto,
        }

    @classmethod
    def parse(cls, resume: Resume | None, start: int) -> Position:
        if not resume:
            return cls(None, start, start)
        try:
            return cls(
                resume.get("cursor"),
                int(resume["start"]),
                int(resume["events_at"]),
                tuple(int(i) for i in resume.get("events_seen") or ()),
                int(resume.get("tickets_upto") or 0),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ConnectorError(f"the saved Zendesk resume point is not one ({exc}); reset it") from None


@dataclass
class Events:
    """What the events export said since the last read, per ticket, and where to resume it."""

    steps: dict[int, list[Step]] = field(default_factory=lambda: defaultdict(list))
    at: int = 0
    seen: tuple[int, ...] = ()
    #: the export was read to its end (not cut short to leave time for the ticket pages)
    complete: bool = True


def _start(conn: ZendeskConnector) -> int:
    latest = int(time.time()) - 61  # the exports refuse a start_time inside the last minute
    wanted = conn.settings.backfill_from
    return min(int(wanted.timestamp()), latest) if wanted is not None else 0


def read_events(
    conn: ZendeskConnector,
    start: int,
    seen: Sequence[int],
    enough: Callable[[], bool] | None = None,
    until: int | None = None,
) -> Events:
    """Every update after (``start``, ``seen``), paging on ``end_time``; duplicates are dropped.
    ``enough`` is asked after each page: True stops the read there (``complete`` False). Updates after
    the second ``until`` are left for the next read: once the export shows one, every update up to
    ``until`` has been read (the export is in time order), so the read resumes at the second after."""
    out = Events(at=start)
    read: set[int] = set(seen)
    at_last: set[int] = set(seen)
    params: dict[str, Any] | None = {
        "start_time": start,
        "include": "comment_events",
        "per_page": conn.settings.events_page_size,
    }
    url: str | None = conn.api_url("incremental/ticket_events.json")
    while url:
        body = conn.get_json(url, params)
        params = None
        fresh = 0
        past = False
        for raw in body.get("ticket_events") or []:
            if until is not None and int(raw.get("timestamp", 0)) > until:
                past = True
                continue
            audit_id = int(raw["id"])
            if audit_id in read:
                continue
            read.add(audit_id)
            fresh += 1
            step = from_event(raw)
            out.steps[step.ticket_id].append(step)
        if past:
            assert until is not None
            if until + 1 > out.at:
                out.at, at_last = until + 1, set()
            break
        end = int(body.get("end_time") or out.at)
        if not fresh and end == out.at and not body.get("end_of_stream") and body.get("ticket_events"):
            # A page of updates all read before, all in the second the page started at (more updates in
            # one second than a page holds, e.g. casewarden's own bulk jobs): the export hands that page
            # back for as long as it is asked from that second, so go on from the next one.
            url = conn.api_url("incremental/ticket_events.json")
            params = {
                "start_time": end + 1,
                "include": "comment_events",
                "per_page": conn.settings.events_page_size,
            }
            out.at, at_last = end + 1, set()
            continue
        if end != out.at:
            at_last = set()
        out.at = end
        at_last |= {
            int(e["id"]) for e in body.get("ticket_events") or [] if int(e.get("timestamp", -1)) == end
        }
        if body.get("end_of_stream") or not body.get("next_page"):
            break
        if enough is not None and enough():
            out.complete = False
            break
        url = body["next_page"]
    out.seen = tuple(sorted(at_last))
    return out


def audits_of(conn: ZendeskConnector, ticket_id: int) -> list[dict[str, Any]]:
    """A ticket's whole audit trail, 100 per page (one call per page: only for the few that need it)."""
    out: list[dict[str, Any]] = []
    url: str | None = conn.api_url(f"tickets/{ticket_id}/audits.json")
    params: dict[str, Any] | None = {"page[size]": 100}
    while url:
        body = conn.get_json(url, params)
        params = None
        out += body.get("audits") or []
        url = (body.get("links") or {}).get("next") if (body.get("meta") or {}).get("has_more") else None
    return out


def _load_people(conn: ZendeskConnector, people: People, ids: Sequence[int | None]) -> None:
    missing = people.missing(ids)
    for i in range(0, len(missing), SHOW_MANY):
        chunk = ",".join(str(x) for x in missing[i : i + SHOW_MANY])
        people.add(conn.get_json(conn.api_url("users/show_many.json"), {"ids": chunk}))


class _Pages:
    """Builds cases for one read; the events and the people are shared by its pages."""

    def __init__(self, conn: ZendeskConnector, known: KnownCases, events: Events, events_from: int) -> None:
        self.conn = conn
        self.known = known
        self.events = events
        self.events_from = events_from
        self.people = People()

    def cases(self, tickets: Sequence[Mapping[str, Any]]) -> tuple[list[TrackerCase], list[Gone]]:
        known = self.known([str(t["id"]) for t in tickets])
        plans: list[tuple[Mapping[str, Any], list[Step], TrackerCase | None]] = []
        gone: list[Gone] = []
        for t in tickets:
            tid = int(t["id"])
            steps = self.events.steps.get(tid, [])
            base = known.get(str(tid))
            if t.get("status") == "deleted":
                gone.append(Gone(str(tid), "deleted"))
                continue
            if t.get("status") == "closed" and MERGE_TAG in (t.get("tags") or []):
                into = self._merged_into(tid, steps)
                gone.append(Gone(str(tid), "merged", into))
                continue
            if base is not None and base.case.updated_at is not None:
                newer = [s for s in steps if s.at > base.case.updated_at]
                plans.append((t, newer, base))
            elif any(s.creating for s in steps):
                plans.append((t, steps, None))
            else:
                plans.append((t, [from_audit(a) for a in audits_of(self.conn, tid)], None))
        authors = [s.comment.author_id for _t, steps, _b in plans for s in steps if s.comment is not None]
        requesters = [t.get("requester_id") for t, _s, _b in plans]
        _load_people(self.conn, self.people, [*authors, *requesters])
        built = [build_case(self.conn, t, steps, self.people, base) for t, steps, base in plans]
        for t, steps, base in plans:
            if base is None and not t.get("followup_ids"):
                # the whole history was just read: its markers are known without another call
                self.conn.seen_markers[int(t["id"])] = frozenset(keys_of_steps(steps))
        return built, gone

    def _merged_into(self, tid: int, steps: Sequence[Step]) -> str | None:
        merges = [s for s in steps if s.merged_with]
        if not merges:
            merges = [s for s in (from_audit(a) for a in audits_of(self.conn, tid)) if s.merged_with]
        return str(merges[-1].merged_with[0]) if merges else None


def read_changed(
    conn: ZendeskConnector, resume: Resume | None, until: datetime, known: KnownCases
) -> Iterator[Page]:
    """Pages of changed tickets, oldest change first, up to ``until`` (see the module docstring)."""
    conn.catalogue.refresh()
    conn.seen_markers.clear()
    position = Position.parse(resume, _start(conn))
    budget = conn.context.budget
    end = unix(until)
    # the events export may take at most half of what is left of the cycle, so the ticket pages it
    # describes can still be given (a backfill over a big instance then takes several cycles)
    half = budget.remaining() / 2
    events = read_events(
        conn, position.events_at, position.events_seen, lambda: budget.remaining() < half, until=end
    )
    # a ticket changed after this is for the next read: after the cycle began, or after the updates
    # the events export could be read to in time
    bound = end if events.complete else min(end, events.at)
    pages = _Pages(conn, known, events, position.events_at)
    emitted: set[int] = set()
    cursor = position.cursor
    upto = position.tickets_upto
    while True:
        body = export_page(conn, cursor, position.start)
        tickets = body.get("tickets") or []
        within = [t for t in tickets if int(t.get("generated_timestamp") or 0) <= bound]
        past = len(within) < len(tickets)
        if past and within:
            # the page runs past the bound: ask for just the tickets before it, so the cursor can stop
            # exactly there (it is opaque: no position inside a page can be made from it)
            again = export_page(conn, cursor, position.start, len(within))
            again_tickets = again.get("tickets") or []
            if again_tickets and all(int(t.get("generated_timestamp") or 0) <= bound for t in again_tickets):
                body, tickets, within, past = again, again_tickets, again_tickets, True
                cursor = again.get("after_cursor") or cursor
            # else the export moved in between: the cursor stays before this page, and its tickets up to
            # the bound are given again next cycle
        elif not past:
            cursor = body.get("after_cursor") or cursor
        if not within:
            break
        pages.people.add(body)
        page_cases, page_gone = pages.cases(within)
        emitted.update(int(t["id"]) for t in within)
        upto = max([upto, *(int(t.get("generated_timestamp") or 0) for t in within)])
        yield Page(
            page_cases,
            Position(cursor, position.start, position.events_at, position.events_seen, upto).to_json(),
            page_gone,
        )
        if past or budget.exhausted() or body.get("end_of_stream") or not body.get("after_url"):
            break
    if budget.exhausted():
        return  # the engine stops here too; the events are read again next cycle
    # updates the events position passes on tickets the ticket export did not give: read by id now
    candidates = [tid for tid in events.steps if tid not in emitted]
    stored = known([str(tid) for tid in candidates])
    leftovers = [tid for tid in candidates if _unread(events.steps[tid], stored.get(str(tid)), position)]
    cases: list[TrackerCase] = []
    gone: list[Gone] = []
    if leftovers:
        tickets, missing = show_many(conn, leftovers, pages.people)
        # one new to the engine that changed again past the bound is given next cycle, whole (its audits
        # on first sight if its first updates are behind the events position by then)
        tickets = [
            t for t in tickets if str(t["id"]) in stored or int(t.get("generated_timestamp") or 0) <= bound
        ]
        cases, gone = pages.cases(tickets)
        gone += [Gone(str(tid), "deleted") for tid in missing]
    final = Position(cursor, position.start, events.at, events.seen, upto)
    if final != position or cases or gone:
        yield Page(cases, final.to_json(), gone)


def _unread(steps: Sequence[Step], base: TrackerCase | None, position: Position) -> bool:
    """Whether a ticket the ticket export did not give has updates no case given before holds: newer than
    the case the engine knows; for a ticket it does not know, newer than every ticket the export gave
    before this read (older ones came with a page of an earlier read that resumes here; a ticket new to
    the engine without its first updates has its audits read on first sight)."""
    if base is not None:
        return base.case.updated_at is None or any(s.at > base.case.updated_at for s in steps)
    return any(unix(s.at) > position.tickets_upto for s in steps)


def export_page(
    conn: ZendeskConnector, cursor: str | None, start: int, per_page: int | None = None
) -> dict[str, Any]:
    """One page of the ticket cursor export after ``cursor`` (or, on the first run, from ``start``)."""
    params: dict[str, Any] = {"include": SIDELOADS, "per_page": per_page or conn.settings.page_size}
    if cursor:
        params["cursor"] = cursor
    else:
        params["start_time"] = start
    return conn.get_json(conn.api_url("incremental/tickets/cursor.json"), params)


def show_many(
    conn: ZendeskConnector, ids: Sequence[int], people: People
) -> tuple[list[dict[str, Any]], list[int]]:
    """Tickets by id, 100 a call, with their users and organizations; and the ids Zendesk no longer has."""
    tickets: list[dict[str, Any]] = []
    for i in range(0, len(ids), SHOW_MANY):
        chunk = list(ids[i : i + SHOW_MANY])
        body = conn.get_json(
            conn.api_url("tickets/show_many.json"),
            {"ids": ",".join(str(x) for x in chunk), "include": "users,organizations"},
        )
        people.add(body)
        tickets += body.get("tickets") or []
    found = {int(t["id"]) for t in tickets}
    return tickets, [i for i in ids if i not in found]


def read_cases(conn: ZendeskConnector, ids: Sequence[str]) -> list[TrackerCase]:
    """The named tickets with whole timelines (from their audits); unknown, deleted and merged ones
    are left out."""
    numeric = list(dict.fromkeys(int(i) for i in ids if str(i).isdigit()))
    if not numeric:
        return []
    people = People()
    tickets, _missing = show_many(conn, numeric, people)
    pages = _Pages(conn, lambda _ids: {}, Events(), 0)
    pages.people = people
    cases, _gone = pages.cases(tickets)
    return cases


def instant(value: Any) -> datetime | None:
    return parse_instant(value)


def unix(at: datetime) -> int:
    return int(at.astimezone(UTC).timestamp())
