"""The incremental exports: which tickets and events a request at ``now`` may see, and the paging.

Since 2024-10-28 Zendesk leaves out of every incremental export what changed in the minute before
the request. Both exports below compute a visibility cutoff ``now - max(60 s, lag)`` and return only
records stamped at or before it; the cursor (tickets) and ``end_time`` (events) never move past the
last record returned, so a later request picks up whatever was held back: nothing lost, nothing
skipped. ``lag`` (a fault) widens the held-back window beyond the minute.

Ticket export: cursor-based, ordered by (generated_timestamp, id); a ticket appears once, in its
current state, at the position of its latest change. Ticket events export: time-based, ordered by
(timestamp, id); a page is extended to the end of its last second and the next page starts at that
second again, so the records of that second come twice (Zendesk documents these duplicates).
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime

from tests.fakes.zendesk.records import ApiError, Audit, Ticket, bad_request, unix
from tests.fakes.zendesk.state import ZendeskState

EXCLUDED_SECONDS = 60
MAX_PER_PAGE = 1000

Key = tuple[int, int]


def cutoff(now: datetime, lag_seconds: int) -> int:
    """The last second an export at ``now`` may show."""
    return unix(now) - max(EXCLUDED_SECONDS, lag_seconds)


def parse_start_time(raw: str | None, now: datetime) -> int:
    if raw is None or raw == "":
        raise bad_request("InvalidValue", "start_time is required")
    try:
        start = int(raw)
    except ValueError:
        raise bad_request("InvalidValue", f"start_time {raw!r} is not a Unix time in seconds") from None
    if start > unix(now) - EXCLUDED_SECONDS:
        raise bad_request(
            "InvalidValue", "Too recent start_time. Use a start_time that is at least one minute in the past"
        )
    return start


def parse_per_page(raw: str | None) -> int:
    if raw in (None, "", "None"):
        return MAX_PER_PAGE
    try:
        value = int(str(raw))
    except ValueError:
        raise bad_request("InvalidValue", f"per_page {raw!r} is not a number") from None
    return max(1, min(MAX_PER_PAGE, value))


def encode_cursor(direction: str, key: Key) -> str:
    """``direction`` is ``a`` (after) or ``b`` (before); URL-safe and unpadded, because zenpy puts
    cursors into URLs without encoding them."""
    raw = f"zdfake:{direction}:{key[0]}:{key[1]}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[str, Key]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        tag, direction, ts, ident = raw.split(":")
        if tag != "zdfake" or direction not in ("a", "b"):
            raise ValueError(tag)
        return direction, (int(ts), int(ident))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise ApiError(400, "InvalidPaginationParameter", f"invalid cursor {cursor!r}") from None


@dataclass(frozen=True)
class TicketPage:
    tickets: list[Ticket]
    after: Key
    before: Key
    end_of_stream: bool


def ticket_page(
    state: ZendeskState,
    *,
    start_time: int | None,
    after: Key | None,
    before: Key | None,
    per_page: int,
    lag_seconds: int,
    exclude_deleted: bool,
) -> TicketPage:
    last_visible = cutoff(state.now, lag_seconds)
    ordered = sorted(
        (
            t
            for t in state.tickets.values()
            if t.generated_timestamp <= last_visible and not (exclude_deleted and t.deleted)
        ),
        key=_ticket_key,
    )
    if before is not None:
        earlier = [t for t in ordered if _ticket_key(t) < before]
        page = earlier[-per_page:]
        position = before
        end = len(earlier) <= per_page  # nothing earlier is left in this direction
    else:
        position = after if after is not None else (start_time or 0, 0)
        rest = [t for t in ordered if _ticket_key(t) > position]
        page = rest[:per_page]
        end = len(rest) <= per_page
    if not page:
        return TicketPage([], position, position, end)
    return TicketPage(page, _ticket_key(page[-1]), _ticket_key(page[0]), end)


@dataclass(frozen=True)
class EventPage:
    audits: list[Audit]
    end_time: int
    end_of_stream: bool


def ticket_events_page(state: ZendeskState, *, start_time: int, per_page: int, lag_seconds: int) -> EventPage:
    last_visible = cutoff(state.now, lag_seconds)
    ordered = sorted(
        (
            a
            for t in state.tickets.values()
            for a in t.audits
            if start_time <= unix(a.created_at) <= last_visible
        ),
        key=lambda a: (unix(a.created_at), a.id),
    )
    page = ordered[:per_page]
    if page:
        last_second = unix(page[-1].created_at)
        page += [a for a in ordered[per_page:] if unix(a.created_at) == last_second]
    end_of_stream = len(page) == len(ordered)
    end_time = unix(page[-1].created_at) if page else start_time
    return EventPage(page, end_time, end_of_stream)


def _ticket_key(ticket: Ticket) -> Key:
    return (ticket.generated_timestamp, ticket.id)
