"""Writing in bulk: each case's changes of a cycle become ONE item of ``PUT /tickets/update_many``
(fields, tags, status, group, followers, level and a private note carrying the markers travel together),
at most 100 items per job, each job polled until it ends or the job deadline passes.

Outcomes, per change: a completed job's per-ticket result says ``applied`` or ``refused`` (with Zendesk's
reason); a job still running at the deadline is ``unknown`` with ``job:<id>`` as its token (settled next
cycle from the job, then from the markers); a submission answered 5xx, or whose connection dropped, is
``unknown`` (it may have landed: the session never resends a write); a request Zendesk rejected as a
whole (4xx) is ``refused``. Changes that cannot even be expressed (an unmapped status, an unknown field,
group or user) are refused before anything is sent, alone.

Tags change through ``additional_tags``/``remove_tags``, so tags someone else set survive; a follower is
added with ``followers: [{user_id, action: put}]``, which leaves the assignee alone; ``child_of`` makes the
target a problem ticket and the case its incident. ``open_related`` creates a follow-up ticket whose
``external_id`` carries the change's key, looked up before ever creating one (a retried change finds the
ticket it created the first time).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import requests
from zenpy.lib.api_objects import Ticket
from zenpy.lib.exception import APIException, ZenpyException

from casewarden.connectors.base import CaseChanges, Change, ChangeKind, ChangeResult, Outcome
from casewarden.connectors.zendesk.marker_text import with_markers
from casewarden.connectors.zendesk.settings import PRIORITIES
from casewarden.connectors.zendesk.timeline import EXTERNAL_PREFIX
from casewarden.errors import (
    ConnectorError,
    FatalConnectorError,
    RetriableConnectorError,
    SkippableConnectorError,
)

if TYPE_CHECKING:
    from casewarden.connectors.zendesk.connector import ZendeskConnector

__all__ = ["JOB_TOKEN", "MAX_ITEMS", "apply", "external_id_for"]

MAX_ITEMS = 100
JOB_TOKEN = "job:"


class _Refused(Exception):
    """This one change cannot be expressed on this instance."""


@dataclass
class _Item:
    """One ticket's update in a bulk job, and the changes it carries."""

    ticket_id: int
    body: dict[str, Any] = field(default_factory=dict)
    changes: list[Change] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)
    #: an item sent only to make another change possible (a problem ticket for child_of)
    helper: bool = False

    def payload(self, public_notes: bool) -> dict[str, Any]:
        body = {"id": self.ticket_id, **self.body}
        if public_notes and self.notes:
            # a public reply never shows marker lines (and a customer's text is never read for them):
            # the keys travel in the private record item sent just before this one (see split_public)
            body["comment"] = {"body": "\n\n".join(self.notes), "public": True}
            return body
        if self.notes or self.keys:
            body["comment"] = {"body": with_markers(self.notes, self.keys), "public": False}
        if self.keys:
            body["metadata"] = {"custom": {"casewarden": list(self.keys)}}
        return body

    def split_public(self) -> _Item:
        """The private record of this item's keys, for a deployment whose notes are public replies."""
        return _Item(self.ticket_id, changes=self.changes, keys=self.keys)


def external_id_for(change: Change) -> str:
    """The follow-up's external_id: the key (it starts with the source case id)."""
    key = change.key or f"{change.case_id}:open_related:{change.value}"
    return EXTERNAL_PREFIX + key


class _Writer:
    def __init__(self, conn: ZendeskConnector) -> None:
        self.conn = conn
        self.catalogue = conn.catalogue
        self.caps = conn.capabilities()
        self.results: dict[int, ChangeResult] = {}  # id(change) -> result
        #: items made only to carry a follow-up's key on its source
        self.pending_items: list[_Item] = []

    def done(
        self, change: Change, outcome: Outcome, error: str | None = None, token: str | None = None
    ) -> None:
        """Record an outcome; a change carried by two updates (a public reply and its private record)
        whose outcomes differ landed only in part: unknown, for the markers to settle."""
        before = self.results.get(id(change))
        if before is not None and before.outcome is not outcome:
            outcome, error = Outcome.UNKNOWN, f"part of the update landed ({before.error or error})"
            token = token or before.token
        self.results[id(change)] = ChangeResult(change, outcome, error, token)

    # -- building the items ----------------------------------------------------------------------

    def items(self, batch: Sequence[CaseChanges]) -> list[_Item]:
        out: list[_Item] = []
        for group in batch:
            if not group.case_id.isdigit():
                for c in group.changes:
                    self.done(c, Outcome.REFUSED, f"'{group.case_id}' is not a Zendesk ticket id")
                continue
            item = _Item(int(group.case_id))
            helpers: list[_Item] = []
            for change in group.changes:
                reason = self.caps.refusal(change)
                if reason is not None:
                    self.done(change, Outcome.REFUSED, reason)
                    continue
                if change.kind is ChangeKind.OPEN_RELATED:
                    continue  # made before the bulk jobs, see _open_related
                try:
                    self._add(item, change, helpers)
                except _Refused as exc:
                    self.done(change, Outcome.REFUSED, str(exc))
                    continue
                item.changes.append(change)
            out += helpers
            if item.changes:
                if self.conn.settings.public_notes and item.notes and item.keys:
                    out.append(item.split_public())  # recorded first: a lost reply is never repeated
                out.append(item)
        return out

    def _add(self, item: _Item, change: Change, helpers: list[_Item]) -> None:
        kind, value = change.kind, change.value
        body = item.body
        if kind is ChangeKind.SET_FIELD:
            body.setdefault("custom_fields", []).append(self._field_value(change))
        elif kind is ChangeKind.SET_LEVEL:
            self._level(body, _need(value, "a level"))
        elif kind is ChangeKind.ADD_TAG:
            body.setdefault("additional_tags", []).append(_need(value, "a tag"))
        elif kind is ChangeKind.REMOVE_TAG:
            body.setdefault("remove_tags", []).append(_need(value, "a tag"))
        elif kind is ChangeKind.ADD_NOTE:
            item.notes.append(_need(value, "the note's text"))
        elif kind is ChangeKind.SET_STATUS:
            body.update(self._status(_need(value, "a status")))
        elif kind is ChangeKind.ASSIGN_GROUP:
            name = _need(value, "a group")
            group_id = self.catalogue.groups().get(name)
            if group_id is None:
                raise _Refused(f"Zendesk has no group named '{name}'")
            body["group_id"] = group_id
        elif kind is ChangeKind.ADD_FOLLOWER:
            who = _need(value, "a follower")
            user = self.catalogue.user_by_email(who)
            if user is None:
                raise _Refused(f"Zendesk has no user '{who}'")
            if user.get("role") not in ("agent", "admin"):
                raise _Refused(f"'{who}' is an end user: only agents can follow a ticket")
            body.setdefault("followers", []).append({"user_id": str(user["id"]), "action": "put"})
        elif kind is ChangeKind.LINK:
            target = _need(value, "a target case")
            if not target.isdigit():
                raise _Refused(f"'{target}' is not a Zendesk ticket id")
            helpers.append(_Item(int(target), {"type": "problem"}, helper=True))
            body.update({"type": "incident", "problem_id": int(target)})
        else:  # pragma: no cover - every kind is handled or refused by the capabilities
            raise _Refused(f"cannot {kind.value}")
        if change.key:
            item.keys.append(change.key)

    def _field_value(self, change: Change) -> dict[str, Any]:
        title = _need(change.field, "a field name")
        info = self.catalogue.field(title)
        if info is None:
            raise _Refused(f"Zendesk has no ticket field '{title}': run casewarden bootstrap --apply")
        value: Any = change.value
        if value is not None and info.type in ("tagger", "multiselect"):
            value = info.options.get(value, value)
        if value is not None and info.type == "checkbox":
            value = value.lower() in ("true", "1", "yes")
        return {"id": info.id, "value": value}

    def _level(self, body: dict[str, Any], level: str) -> None:
        tracker = self.conn.names.level_to_tracker(level)
        if tracker is None:
            raise _Refused(f"level '{level}' is not mapped to a Zendesk value")
        field_title = self.conn.settings.level_field
        if field_title:
            info = self.catalogue.field(field_title)
            if info is None:
                raise _Refused(
                    f"Zendesk has no level field '{field_title}': run casewarden bootstrap --apply"
                )
            if tracker not in info.options:
                raise _Refused(f"the level field '{field_title}' has no option '{tracker}'")
            body.setdefault("custom_fields", []).append({"id": info.id, "value": info.options[tracker]})
            return
        if tracker not in PRIORITIES:
            raise _Refused(f"'{tracker}' is not a Zendesk priority ({', '.join(PRIORITIES)})")
        body["priority"] = tracker

    def _status(self, status: str) -> dict[str, Any]:
        tracker = self.conn.names.status_to_tracker(status)
        if tracker is None:
            raise _Refused(f"status '{status}' is not mapped to a Zendesk status")
        if tracker.casefold() == "closed":
            return {"status": "closed"}
        if self.conn.settings.custom_statuses:
            info = self.catalogue.status(tracker)
            if info is None or not info.active:
                raise _Refused(
                    f"Zendesk has no active custom status '{tracker}': run casewarden bootstrap --apply"
                )
            return {"custom_status_id": info.id}
        if tracker not in ("new", "open", "pending", "hold", "solved"):
            raise _Refused(f"'{tracker}' is not a built-in Zendesk status")
        return {"status": tracker}

    # -- follow-ups --------------------------------------------------------------------------------

    def open_related(self, batch: Sequence[CaseChanges], items: list[_Item]) -> None:
        wanted = [
            c
            for g in batch
            for c in g.changes
            if c.kind is ChangeKind.OPEN_RELATED and id(c) not in self.results and g.case_id.isdigit()
        ]
        if not wanted:
            return
        by_item = {i.ticket_id: i for i in items if not i.helper}
        for change in wanted:
            try:
                self._one_related(change, by_item)
            except _Refused as exc:
                self.done(change, Outcome.REFUSED, str(exc))
            except (SkippableConnectorError, RetriableConnectorError) as exc:
                # a look-up failed before anything was created: nothing landed, plan it again
                self.done(change, Outcome.REFUSED, str(exc))
            except (APIException, requests.RequestException, ZenpyException) as exc:
                verdict = _verdict(exc)
                if verdict is None:
                    raise
                self.done(change, verdict, _describe(exc))

    def _one_related(self, change: Change, by_item: dict[int, _Item]) -> None:
        subject = _need(change.value, "a subject")
        source_id = int(change.case_id)
        external_id = external_id_for(change)
        found = self.conn.get_json(self.conn.api_url("tickets.json"), {"external_id": external_id})
        if not (found.get("tickets") or []):
            body = self.conn.get_json(self.conn.api_url(f"tickets/{source_id}.json"))
            source = body["ticket"]
            ticket: dict[str, Any] = {
                "subject": subject,
                "comment": {"body": f"Follow-up of #{source_id}.", "public": False},
                "requester_id": source.get("requester_id"),
                "external_id": external_id,
            }
            if source.get("priority"):
                ticket["priority"] = source["priority"]
            if source.get("status") == "closed":
                ticket["via_followup_source_id"] = source_id
            self.conn.client.tickets.create(Ticket(**ticket))
            source_open = source.get("status") != "closed"
        else:
            source_open = True
        # the key also rides on the source's own update, where find_markers reads it (a closed source
        # cannot be updated: there its follow-up_ids lead to the follow-up's external_id)
        if change.key and source_open:
            item = by_item.get(source_id)
            if item is None:
                item = by_item[source_id] = _Item(source_id)
                self.pending_items.append(item)
            item.keys.append(change.key)
            item.changes.append(change)
            return
        self.done(change, Outcome.APPLIED)

    # -- jobs --------------------------------------------------------------------------------------

    def run(self, items: list[_Item]) -> None:
        public = self.conn.settings.public_notes
        for start in range(0, len(items), MAX_ITEMS):
            chunk = items[start : start + MAX_ITEMS]
            try:
                self._job(chunk, public)
            except RetriableConnectorError as exc:
                # rate limited, or no time left to wait: the session raised instead of sending (or Zendesk
                # answered 429, which processes nothing), so this job and the ones after it did not land;
                # the jobs before it keep their outcomes
                for item in items[start:]:
                    for c in item.changes:
                        self.done(c, Outcome.REFUSED, f"not sent: {exc}")
                return

    def _job(self, chunk: list[_Item], public: bool) -> None:
        carried = [c for item in chunk for c in item.changes]
        try:
            job = self.conn.client.tickets.update([Ticket(**item.payload(public)) for item in chunk])
        except (APIException, requests.RequestException, ZenpyException) as exc:
            verdict = _verdict(exc)
            if verdict is None:
                raise
            for c in carried:
                self.done(c, verdict, _describe(exc))
            return
        job_id = str(job.id)
        body = self._poll(job_id)
        status = (body or {}).get("status")
        if status != "completed":
            why = (
                f"bulk job {job_id} is still {status or 'unknown'} after {self.conn.settings.job_deadline:g}s"
                if status in (None, "queued", "working")
                else f"bulk job {job_id} {status}: {(body or {}).get('message') or 'no reason given'}"
            )
            for c in carried:
                self.done(c, Outcome.UNKNOWN, why, JOB_TOKEN + job_id)
            return
        results = list((body or {}).get("results") or [])
        for position, item in enumerate(chunk):
            result = results[position] if position < len(results) else None
            if result is not None and int(result.get("id") or 0) not in (0, item.ticket_id):
                result = next((r for r in results if int(r.get("id") or 0) == item.ticket_id), None)
            for c in item.changes:
                if result is None:
                    self.done(
                        c,
                        Outcome.UNKNOWN,
                        f"bulk job {job_id} gave no result for #{item.ticket_id}",
                        JOB_TOKEN + job_id,
                    )
                elif result.get("success") is False or result.get("status") == "Failed":
                    reason = result.get("details") or result.get("error") or "the update failed"
                    self.done(c, Outcome.REFUSED, f"#{item.ticket_id}: {reason}")
                else:
                    self.done(c, Outcome.APPLIED)

    def _poll(self, job_id: str) -> dict[str, Any] | None:
        settings = self.conn.settings
        clock = getattr(self.conn.session, "clock", time.monotonic)  # the cycle budget's clock
        deadline = clock() + settings.job_deadline
        budget_deadline = self.conn.context.budget.deadline()
        if budget_deadline is not None:
            deadline = min(deadline, budget_deadline)
        body: dict[str, Any] | None = None
        while True:
            try:
                body = self.conn.get_json(self.conn.api_url(f"job_statuses/{job_id}.json")).get("job_status")
            except (APIException, requests.RequestException, ConnectorError):
                body = None
            if body is not None and body.get("status") in ("completed", "failed", "killed"):
                return body
            if clock() + settings.job_poll_interval > deadline:
                return body
            self.conn.sleep(settings.job_poll_interval)


def _need(value: str | None, what: str) -> str:
    if value is None or value == "":
        raise _Refused(f"the change needs {what}")
    return value


def _status_of(exc: BaseException) -> int | None:
    response = getattr(exc, "response", None)
    return getattr(response, "status_code", None)


def _verdict(exc: BaseException) -> Outcome | None:
    """What a failed submission means for its changes; None: raise it (the tracker is unusable)."""
    status = _status_of(exc)
    if status in (401, 403):
        raise FatalConnectorError(
            f"Zendesk refused casewarden's credentials or role (HTTP {status})"
        ) from None
    if status is not None and 400 <= status < 500:
        return Outcome.REFUSED
    return Outcome.UNKNOWN


def _describe(exc: BaseException) -> str:
    """Zendesk's reason without the request (it may carry customer data) or any secret."""
    status = _status_of(exc)
    response = getattr(exc, "response", None)
    if status is not None:
        try:
            body = response.json() if response is not None else {}
        except ValueError:
            body = {}
        details = body.get("details") if isinstance(body, dict) else None
        if isinstance(details, dict):
            parts = [
                str(d.get("description"))
                for entries in details.values()
                for d in entries
                if isinstance(d, dict)
            ]
            if parts:
                return f"HTTP {status}: " + "; ".join(parts)
        if isinstance(body, dict) and body.get("description"):
            return f"HTTP {status}: {body['description']}"
        return f"HTTP {status}"
    return f"{type(exc).__name__}: the answer was lost; it may have landed"


def apply(conn: ZendeskConnector, batch: Sequence[CaseChanges]) -> list[ChangeResult]:
    """One result per change, in the batch's order (see the module docstring)."""
    if not batch:
        return []
    writer = _Writer(conn)
    items = writer.items(batch)
    writer.open_related(batch, items)
    items += writer.pending_items
    writer.run(items)
    out: list[ChangeResult] = []
    for group in batch:
        for change in group.changes:
            out.append(writer.results.get(id(change)) or ChangeResult(change, Outcome.UNKNOWN, "no result"))
    return out
