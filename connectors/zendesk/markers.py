"""Where a side effect's key lives on Zendesk, and finding keys again (in bulk, from a fresh process).

Every update that carries keyed changes carries one private comment ending in a ``[casewarden:KEY]`` line
per key (the note itself, or a short record comment when no note was asked for), and the keys again in
its audit metadata (``metadata.custom.casewarden``, which Zendesk keeps write-only with the audit). A
follow-up ticket carries its key in its ``external_id``; a closed source lists it in ``followup_ids``.
Public comments are never read for keys: a customer must not silence an action by typing a marker.

:func:`find_markers` reads audits (one call per ticket, metadata included) for a handful of tickets,
and for more the ticket events export (1000 updates a call, comments included), so rebuilding after a
lost state store does not cost a call per ticket: from the oldest ticket's creation, or, when only keys
written after an instant are asked for (:func:`settle`: :attr:`Pending.since`, when the engine recorded
the side effect), from that instant (less :data:`CLOCK_SKEW`); then a ticket not updated since that
instant cannot hold such a key and is not looked at at all. The events export leaves out the last minute:
a ticket updated after the last update it showed has its audits read (a write that just landed is found
at once, not reported as lost). Tickets whose whole history the current read just gave (first sight) are
answered from that read, with no call at all; a write through this connector forgets them again
(:attr:`ZendeskConnector.seen_markers`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from casewarden.connectors.base import Outcome, Pending
from casewarden.connectors.zendesk.marker_text import keys_of_steps
from casewarden.connectors.zendesk.reading import audits_of, read_events, show_many
from casewarden.connectors.zendesk.steps import from_audit, parse_instant
from casewarden.connectors.zendesk.timeline import EXTERNAL_PREFIX, People
from casewarden.connectors.zendesk.writing import JOB_TOKEN
from casewarden.errors import RetriableConnectorError, SkippableConnectorError

if TYPE_CHECKING:
    from casewarden.connectors.zendesk.connector import ZendeskConnector

__all__ = ["CLOCK_SKEW", "find_markers", "settle"]

#: how far casewarden's clock (which :attr:`Pending.since` is on) may be ahead of Zendesk's
CLOCK_SKEW = timedelta(minutes=10)


def find_markers(
    conn: ZendeskConnector, case_ids: Sequence[str], since: datetime | None = None
) -> dict[str, set[str]]:
    """Keys recorded on the tickets; with ``since``, only those recorded after it are looked for (older
    ones may be left out)."""
    ids = list(dict.fromkeys(int(i) for i in case_ids if str(i).isdigit()))
    found: dict[str, set[str]] = defaultdict(set)
    for tid in [i for i in ids if i in conn.seen_markers]:
        found[str(tid)] |= conn.seen_markers[tid]
    ids = [i for i in ids if i not in conn.seen_markers]
    if not ids:
        return {k: v for k, v in found.items() if v}
    tickets, _missing = show_many(conn, ids, People())
    looked = tickets
    if since is not None:
        floor = since - CLOCK_SKEW
        looked = [t for t in tickets if (at := parse_instant(t.get("updated_at"))) is None or at >= floor]
    if len(looked) <= conn.settings.audit_scan_limit:
        for t in looked:
            found[str(t["id"])] |= _audit_keys(conn, int(t["id"]))
    else:
        wanted = {int(t["id"]) for t in looked}
        created = [at for t in looked if (at := parse_instant(t.get("created_at"))) is not None]
        start = int(min(created).timestamp()) if created else 0
        if since is not None:
            start = max(start, int((since - CLOCK_SKEW).timestamp()))
        try:
            events = read_events(conn, start, ())
            by_ticket, covered = dict(events.steps), events.at
        except SkippableConnectorError:  # a start inside the minute the export refuses: nothing shown yet
            by_ticket, covered = {}, start - 1
        for tid, steps in by_ticket.items():
            if tid in wanted:
                found[str(tid)] |= keys_of_steps(steps)
        for t in looked:
            at = parse_instant(t.get("updated_at"))
            if at is None or int(at.timestamp()) > covered:
                # updated after the last update the export showed (its last minute is left out)
                found[str(t["id"])] |= _audit_keys(conn, int(t["id"]))
    _follow_ups(conn, tickets, found)
    return {k: v for k, v in found.items() if v}


def _audit_keys(conn: ZendeskConnector, ticket_id: int) -> set[str]:
    return keys_of_steps([from_audit(a) for a in audits_of(conn, ticket_id)])


def _follow_ups(
    conn: ZendeskConnector, tickets: Sequence[dict[str, Any]], found: dict[str, set[str]]
) -> None:
    """Keys of the follow-ups closed tickets list (a closed ticket cannot carry a comment)."""
    followups = {int(f): str(t["id"]) for t in tickets for f in t.get("followup_ids") or []}
    if not followups:
        return
    children, _missing = show_many(conn, list(followups), People())
    for child in children:
        external = child.get("external_id")
        if isinstance(external, str) and external.startswith(EXTERNAL_PREFIX):
            found[followups[int(child["id"])]].add(external[len(EXTERNAL_PREFIX) :])


def settle(conn: ZendeskConnector, pending: Sequence[Pending]) -> dict[str, Outcome]:
    """A job still running stays UNKNOWN; otherwise the markers decide: found APPLIED, missing REFUSED."""
    out: dict[str, Outcome] = {}
    running: dict[str, bool] = {}
    rest: list[Pending] = []
    for p in pending:
        if p.token and p.token.startswith(JOB_TOKEN):
            job_id = p.token[len(JOB_TOKEN) :]
            if job_id not in running:
                running[job_id] = _running(conn, job_id)
            if running[job_id]:
                out[p.key] = Outcome.UNKNOWN
                continue
        rest.append(p)
    if rest:
        times = [p.since for p in rest]
        since = None if any(t is None for t in times) else min(t for t in times if t is not None)
        markers = find_markers(conn, sorted({p.case_id for p in rest}), since)
        for p in rest:
            out[p.key] = Outcome.APPLIED if p.key in markers.get(p.case_id, set()) else Outcome.REFUSED
    return out


def _running(conn: ZendeskConnector, job_id: str) -> bool:
    try:
        body = conn.get_json(conn.api_url(f"job_statuses/{job_id}.json")).get("job_status") or {}
    except SkippableConnectorError:  # a job Zendesk no longer knows (kept a day) is over: markers decide
        return False
    except RetriableConnectorError:  # cannot tell now: ask again next cycle
        return True
    return body.get("status") in ("queued", "working")
