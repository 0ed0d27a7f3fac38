"""The endpoint handlers: query parameters and bodies as zenpy sends them, answers as the spec shapes them.

Paths follow the spec (``/api/v2/tickets/{ticket_id}``); the router accepts them with or without
the ``.json`` zenpy appends. Lists use the pagination each endpoint uses for real: cursor
(``page[size]``, ``meta.has_more``, ``links.next``) where zenpy asks for it, offset (``next_page``)
elsewhere; every URL in an answer points back at the fake's own base URL.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Iterable, Sequence
from typing import Any
from urllib.parse import urlencode

from tests.fakes.zendesk import exports, shapes
from tests.fakes.zendesk.faults import Faults
from tests.fakes.zendesk.jobs import RETENTION, Job, Jobs
from tests.fakes.zendesk.records import ApiError, Ticket, TicketField, bad_request, not_found
from tests.fakes.zendesk.router import Reply, Request, route
from tests.fakes.zendesk.state import ZendeskState

MAX_PAGE_SIZE = 100
MAX_BULK = 100
MAX_MERGE_SOURCES = 5


def _forbidden() -> ApiError:
    return ApiError(
        403,
        "Forbidden",
        "You do not have access to this page. Please contact the account owner of this help desk for further help.",
    )


def _root(body: Any, key: str) -> dict[str, Any]:
    if not isinstance(body, dict) or not isinstance(body.get(key), dict):
        raise bad_request("InvalidRequest", f"The request body needs a '{key}' object")
    return body[key]


def _ids(raw: str | None) -> list[int]:
    if not raw:
        return []
    try:
        return [int(part) for part in raw.split(",") if part.strip()]
    except ValueError:
        raise bad_request("InvalidValue", f"ids {raw!r} are not numbers") from None


def _includes(req: Request) -> set[str]:
    raw = req.param("include")
    return {part.strip() for part in raw.split(",")} if raw else set()


class Endpoints:
    def __init__(self, state: ZendeskState, jobs: Jobs, faults: Faults) -> None:
        self.state = state
        self.jobs = jobs
        self.faults = faults

    # -- helpers ----------------------------------------------------------------------------------

    def _url(self, path: str, params: dict[str, Any]) -> str:
        query = urlencode({k: v for k, v in params.items() if v is not None}, safe="[],")
        return f"{self.state.base_url}{path}" + (f"?{query}" if query else "")

    def _require_admin(self, req: Request) -> None:
        if req.user.role != "admin":
            raise _forbidden()

    def _page(
        self, req: Request, items: Sequence[Any], key: str, render: Callable[[Any], dict[str, Any]]
    ) -> dict[str, Any]:
        """Cursor pagination when the request asks for it (``page[size]``), offset otherwise."""
        base_params = {k: v for k, v in req.params.items() if not k.startswith("page") and k != "per_page"}
        size_raw = req.param("page[size]")
        if size_raw is not None:
            size = int(size_raw)
            if not 1 <= size <= MAX_PAGE_SIZE:
                raise bad_request(
                    "InvalidPaginationParameter", f"page[size] must be between 1 and {MAX_PAGE_SIZE}"
                )
            start = 0
            if req.param("page[after]"):
                start = _decode_offset(str(req.param("page[after]"))) + 1
            elif req.param("page[before]"):
                start = max(0, _decode_offset(str(req.param("page[before]"))) - size)
            chunk = list(items[start : start + size])
            has_more = start + size < len(items)
            after = _encode_offset(start + len(chunk) - 1) if chunk else None
            before = _encode_offset(start) if chunk else None
            links = {
                "prev": self._url(req.path, {**base_params, "page[size]": size, "page[before]": before})
                if before and start > 0
                else None,
                "next": self._url(req.path, {**base_params, "page[size]": size, "page[after]": after})
                if has_more
                else None,
            }
            return {
                key: [render(i) for i in chunk],
                "meta": {"has_more": has_more, "after_cursor": after, "before_cursor": before},
                "links": links,
            }
        per_page = min(MAX_PAGE_SIZE, int(req.param("per_page") or MAX_PAGE_SIZE))
        page = max(1, int(req.param("page") or 1))
        chunk = list(items[(page - 1) * per_page : page * per_page])
        more = page * per_page < len(items)
        return {
            key: [render(i) for i in chunk],
            "next_page": self._url(req.path, {**base_params, "page": page + 1, "per_page": per_page})
            if more
            else None,
            "previous_page": self._url(req.path, {**base_params, "page": page - 1, "per_page": per_page})
            if page > 1
            else None,
            "count": len(items),
        }

    def _sideloads(self, tickets: Iterable[Ticket], includes: set[str]) -> dict[str, Any]:
        tickets = list(tickets)
        out: dict[str, Any] = {}
        if "users" in includes:
            ids: list[int] = []
            for t in tickets:
                for uid in (t.requester_id, t.submitter_id, t.assignee_id, *t.collaborator_ids):
                    if uid is not None and uid not in ids:
                        ids.append(uid)
            out["users"] = [shapes.user_json(self.state, self.state.users[i]) for i in ids]
        if "groups" in includes:
            gids = list(dict.fromkeys(t.group_id for t in tickets if t.group_id is not None))
            out["groups"] = [shapes.group_json(self.state, self.state.groups[i]) for i in gids]
        if "organizations" in includes:
            oids = list(dict.fromkeys(t.organization_id for t in tickets if t.organization_id is not None))
            out["organizations"] = [
                shapes.organization_json(self.state, self.state.organizations[i]) for i in oids
            ]
        return out

    def _ticket(
        self, ticket: Ticket, includes: set[str] | None = None, parents: set[int] | None = None
    ) -> dict[str, Any]:
        return shapes.ticket_json(
            self.state, ticket, include_slas="slas" in (includes or set()), parents=parents
        )

    def _job_json(self, job: Job, *, as_submitted: bool = False) -> dict[str, Any]:
        body = {
            "id": job.id,
            "url": f"{self.state.base_url}/api/v2/job_statuses/{job.id}.json",
            "job_type": job.job_type,
            "total": job.total,
            "progress": 0 if as_submitted else job.progress,
            "status": "queued" if as_submitted else job.status,
            "message": None if as_submitted else job.message,
            "results": None if as_submitted else job.results,
        }
        return body

    def _field(self, req: Request) -> TicketField:
        found = self.state.ticket_fields.get(int(req.args["ticket_field_id"]))
        if found is None:
            raise not_found()
        return found

    def _audit_reply(self, ticket: Ticket, audit: Any, req: Request, status: int = 200) -> Reply:
        audit.client = req.user_agent or audit.client
        return Reply(status, {"ticket": self._ticket(ticket), "audit": shapes.audit_json(self.state, audit)})

    # -- tickets ----------------------------------------------------------------------------------

    @route("GET", "/api/v2/tickets/show_many")
    def show_many_tickets(self, req: Request) -> Reply:
        ids = _ids(req.param("ids"))
        if len(ids) > MAX_BULK:
            raise ApiError(400, "TooManyValues", f"You can only pass up to {MAX_BULK} ids")
        tickets = [
            self.state.tickets[i]
            for i in ids
            if i in self.state.tickets and not self.state.tickets[i].deleted
        ]
        includes = _includes(req)
        parents = shapes.incident_parents(self.state)
        body = {
            "tickets": [self._ticket(t, includes, parents) for t in tickets],
            "next_page": None,
            "previous_page": None,
            "count": len(tickets),
        }
        return Reply(200, {**body, **self._sideloads(tickets, includes)})

    @route("PUT", "/api/v2/tickets/update_many")
    def update_many_tickets(self, req: Request) -> Reply:
        ids = _ids(req.param("ids"))
        if ids:
            change = _root(req.body, "ticket")
            items = [{**change, "id": i} for i in ids]
        else:
            if not isinstance(req.body, dict) or not isinstance(req.body.get("tickets"), list):
                raise bad_request(
                    "InvalidRequest", "The request body needs a 'tickets' list (or ids and 'ticket')"
                )
            items = [dict(t) for t in req.body["tickets"]]
        if len(items) > MAX_BULK:
            raise ApiError(400, "TooManyValues", f"You can only update up to {MAX_BULK} tickets at once")
        author_id, client = req.user.id, req.user_agent

        def work() -> list[dict[str, Any]]:
            results = []
            for item in items:
                ticket_id = item.get("id")
                try:
                    failure = (
                        self.faults.take_ticket_failure(int(ticket_id)) if ticket_id is not None else None
                    )
                    if failure is not None:
                        raise ApiError(422, "TicketUpdateFailed", failure)
                    ticket = self.state.ticket(int(ticket_id)) if ticket_id is not None else None
                    if ticket is None:
                        raise ApiError(422, "TicketUpdateFailed", "The ticket has no id")
                    audit = self.state.apply_ticket_update(
                        ticket,
                        {k: v for k, v in item.items() if k != "id"},
                        author_id=author_id,
                        at=None,
                        channel="api",
                    )
                    audit.client = client or audit.client
                    results.append(
                        {"id": ticket.id, "action": "update", "success": True, "status": "Updated"}
                    )
                except ApiError as error:
                    results.append(
                        {
                            "id": int(ticket_id) if ticket_id is not None else 0,
                            "action": "update",
                            "success": False,
                            "status": "Failed",
                            "error": error.error,
                            "details": error.summary(),
                        }
                    )
            return results

        job = self.jobs.submit("bulk_update", len(items), work)
        return Reply(200, {"job_status": self._job_json(job, as_submitted=True)})

    @route("GET", "/api/v2/tickets")
    def list_tickets(self, req: Request) -> Reply:
        external_id = req.param("external_id")
        tickets = [t for t in self.state.tickets.values() if not t.deleted]
        if external_id is not None:
            tickets = [t for t in tickets if t.external_id == external_id]
        includes = _includes(req)
        parents = shapes.incident_parents(self.state)
        body = self._page(req, tickets, "tickets", lambda t: self._ticket(t, includes, parents))
        return Reply(200, {**body, **self._sideloads(tickets, includes)})

    @route("POST", "/api/v2/tickets")
    def create_ticket(self, req: Request) -> Reply:
        ticket = self.state.create_ticket_from_api(_root(req.body, "ticket"), author_id=req.user.id)
        return self._audit_reply(ticket, ticket.audits[-1], req, status=201)

    @route("GET", "/api/v2/tickets/{ticket_id}")
    def show_ticket(self, req: Request) -> Reply:
        ticket = self.state.ticket(int(req.args["ticket_id"]))
        includes = _includes(req)
        return Reply(200, {"ticket": self._ticket(ticket, includes), **self._sideloads([ticket], includes)})

    @route("PUT", "/api/v2/tickets/{ticket_id}")
    def update_ticket(self, req: Request) -> Reply:
        ticket = self.state.ticket(int(req.args["ticket_id"]))
        audit = self.state.apply_ticket_update(
            ticket, _root(req.body, "ticket"), author_id=req.user.id, at=None, channel="api"
        )
        return self._audit_reply(ticket, audit, req)

    @route("DELETE", "/api/v2/tickets/{ticket_id}")
    def delete_ticket(self, req: Request) -> Reply:
        self.state.delete_ticket(int(req.args["ticket_id"]), None, author=req.user, channel="api")
        return Reply(204)

    @route("POST", "/api/v2/tickets/{ticket_id}/merge")
    def merge_tickets(self, req: Request) -> Reply:
        if not isinstance(req.body, dict) or not req.body.get("ids"):
            raise bad_request("InvalidRequest", "ids are required")
        target = self.state.ticket(int(req.args["ticket_id"]))
        sources = [int(i) for i in req.body["ids"]]
        if len(sources) > MAX_MERGE_SOURCES:
            raise ApiError(400, "TooManyValues", f"You can merge up to {MAX_MERGE_SOURCES} tickets at once")
        options: dict[str, Any] = {
            k: req.body.get(k)
            for k in (
                "target_comment",
                "source_comment",
                "target_comment_is_public",
                "source_comment_is_public",
            )
            if req.body.get(k) is not None
        }

        def work() -> list[dict[str, Any]]:
            try:
                self.state.merge_tickets(target.id, sources, None, author=req.user, **options)
            except ApiError as error:
                return [
                    {
                        "id": target.id,
                        "action": "merge",
                        "success": False,
                        "error": error.error,
                        "details": error.summary(),
                    }
                ]
            return [
                {"id": i, "action": "update", "success": True, "status": "Updated"}
                for i in [target.id, *sources]
            ]

        job = self.jobs.submit("merge_tickets", len(sources) + 1, work)
        return Reply(200, {"job_status": self._job_json(job, as_submitted=True)})

    @route("GET", "/api/v2/tickets/{ticket_id}/audits")
    def list_audits(self, req: Request) -> Reply:
        ticket = self.state.ticket(int(req.args["ticket_id"]))
        audits = [a for a in ticket.audits if not a.export_only]
        return Reply(200, self._page(req, audits, "audits", lambda a: shapes.audit_json(self.state, a)))

    @route("GET", "/api/v2/tickets/{ticket_id}/comments")
    def list_comments(self, req: Request) -> Reply:
        ticket = self.state.ticket(int(req.args["ticket_id"]))
        comments = [
            {**{k: v for k, v in c.items()}, "via": shapes.via("api", {"from": {}, "to": {}, "rel": None})}
            for c in ticket.comments()
        ]
        return Reply(200, self._page(req, comments, "comments", dict))

    # tags: GET lists, POST sets (replaces), PUT adds, DELETE removes -- each one audit

    @route("GET", "/api/v2/tickets/{ticket_id}/tags")
    def show_tags(self, req: Request) -> Reply:
        return Reply(200, {"tags": list(self.state.ticket(int(req.args["ticket_id"])).tags)})

    def _change_tags(self, req: Request, key: str, status: int) -> Reply:
        ticket = self.state.ticket(int(req.args["ticket_id"]))
        tags = req.body.get("tags") if isinstance(req.body, dict) else None
        if not isinstance(tags, list):
            raise bad_request("InvalidRequest", "The request body needs a 'tags' list")
        change: dict[str, Any] = {key: tags}
        for safety in ("safe_update", "updated_stamp"):
            if safety in req.body:
                change[safety] = req.body[safety]
        self.state.apply_ticket_update(ticket, change, author_id=req.user.id, at=None, channel="api")
        return Reply(status, None if status == 204 else {"tags": list(ticket.tags)})

    @route("POST", "/api/v2/tickets/{ticket_id}/tags")
    def set_tags(self, req: Request) -> Reply:
        return self._change_tags(req, "tags", 201)

    @route("PUT", "/api/v2/tickets/{ticket_id}/tags")
    def add_tags(self, req: Request) -> Reply:
        return self._change_tags(req, "additional_tags", 200)

    @route("DELETE", "/api/v2/tickets/{ticket_id}/tags")
    def remove_tags(self, req: Request) -> Reply:
        return self._change_tags(req, "remove_tags", 204)

    # -- incremental exports ---------------------------------------------------------------------

    @route("GET", "/api/v2/incremental/tickets/cursor")
    def export_tickets(self, req: Request) -> Reply:
        self._require_admin(req)
        cursor, start_raw = req.param("cursor"), req.param("start_time")
        if cursor is None and start_raw is None:
            raise bad_request("InvalidValue", "start_time or cursor is required")
        per_page = exports.parse_per_page(req.param("per_page"))
        exclude_deleted = (req.param("exclude_deleted") or "").lower() == "true"
        start_time = after = before = None
        if cursor is not None:
            direction, key = exports.decode_cursor(cursor)
            after, before = (key, None) if direction == "a" else (None, key)
        else:
            start_time = exports.parse_start_time(start_raw, self.state.now)
        page = exports.ticket_page(
            self.state,
            start_time=start_time,
            after=after,
            before=before,
            per_page=per_page,
            lag_seconds=self.faults.export_lag_seconds,
            exclude_deleted=exclude_deleted,
        )
        keep = {
            "per_page": req.param("per_page"),
            "include": req.param("include"),
            "exclude_deleted": req.param("exclude_deleted"),
        }
        path = "/api/v2/incremental/tickets/cursor.json"
        after_cursor = exports.encode_cursor("a", page.after)
        before_cursor = exports.encode_cursor("b", page.before)
        includes = _includes(req)
        parents = shapes.incident_parents(self.state)
        body = {
            "tickets": [self._ticket(t, includes, parents) for t in page.tickets],
            "after_url": self._url(path, {"cursor": after_cursor, **keep}),
            "after_cursor": after_cursor,
            "before_url": self._url(path, {"cursor": before_cursor, **keep}),
            "before_cursor": before_cursor,
            "end_of_stream": page.end_of_stream,
        }
        return Reply(200, {**body, **self._sideloads(page.tickets, includes)})

    @route("GET", "/api/v2/incremental/ticket_events")
    def export_ticket_events(self, req: Request) -> Reply:
        self._require_admin(req)
        start_time = exports.parse_start_time(req.param("start_time"), self.state.now)
        per_page = exports.parse_per_page(req.param("per_page"))
        comment_events = "comment_events" in _includes(req)
        page = exports.ticket_events_page(
            self.state, start_time=start_time, per_page=per_page, lag_seconds=self.faults.export_lag_seconds
        )
        keep = {"include": req.param("include"), "per_page": req.param("per_page")}
        return Reply(
            200,
            {
                "ticket_events": [
                    shapes.ticket_event_json(self.state, a, comment_events=comment_events)
                    for a in page.audits
                ],
                "next_page": self._url(
                    "/api/v2/incremental/ticket_events.json", {"start_time": page.end_time, **keep}
                ),
                "count": len(page.audits),
                "end_of_stream": page.end_of_stream,
                "end_time": page.end_time,
            },
        )

    # -- job statuses ----------------------------------------------------------------------------

    @route("GET", "/api/v2/job_statuses/show_many")
    def show_many_jobs(self, req: Request) -> Reply:
        wanted = [i for i in (req.param("ids") or "").split(",") if i]
        found = []
        for job_id in wanted:
            try:
                found.append(self._job_json(self.jobs.poll(job_id)))
            except ApiError:
                continue
        return Reply(200, {"job_statuses": found})

    @route("GET", "/api/v2/job_statuses/{job_status_id}")
    def show_job(self, req: Request) -> Reply:
        return Reply(200, {"job_status": self._job_json(self.jobs.poll(req.args["job_status_id"]))})

    @route("GET", "/api/v2/job_statuses")
    def list_jobs(self, req: Request) -> Reply:
        recent = [j for j in self.jobs.jobs.values() if self.state.now - j.created_at <= RETENTION]
        return Reply(200, {"job_statuses": [self._job_json(j) for j in reversed(recent)]})

    # -- users, groups, organizations ----------------------------------------------------------------

    @route("GET", "/api/v2/users/me")
    def me(self, req: Request) -> Reply:
        return Reply(200, {"user": shapes.user_json(self.state, req.user)})

    @route("GET", "/api/v2/users/show_many")
    def show_many_users(self, req: Request) -> Reply:
        users = [self.state.users[i] for i in _ids(req.param("ids")) if i in self.state.users]
        return Reply(
            200,
            {
                "users": [shapes.user_json(self.state, u) for u in users],
                "next_page": None,
                "previous_page": None,
                "count": len(users),
            },
        )

    @route("GET", "/api/v2/users/search")
    def search_users(self, req: Request) -> Reply:
        query = (req.param("query") or "").strip().lower()
        external_id = req.param("external_id")
        if not query and external_id is None:
            raise bad_request("InvalidValue", "query or external_id is required")
        if external_id is not None:
            users = [u for u in self.state.users.values() if u.external_id == external_id]
        else:
            term = query.removeprefix("email:").strip('"')
            users = [
                u for u in self.state.users.values() if term in u.email.lower() or term in u.name.lower()
            ]
        return Reply(200, self._page(req, users, "users", lambda u: shapes.user_json(self.state, u)))

    @route("GET", "/api/v2/users/{user_id}")
    def show_user(self, req: Request) -> Reply:
        return Reply(200, {"user": shapes.user_json(self.state, self.state.user(int(req.args["user_id"])))})

    @route("GET", "/api/v2/groups")
    def list_groups(self, req: Request) -> Reply:
        groups = [g for g in self.state.groups.values() if not g.deleted]
        return Reply(200, self._page(req, groups, "groups", lambda g: shapes.group_json(self.state, g)))

    @route("GET", "/api/v2/groups/{group_id}")
    def show_group(self, req: Request) -> Reply:
        group = self.state.groups.get(int(req.args["group_id"]))
        if group is None:
            raise not_found()
        return Reply(200, {"group": shapes.group_json(self.state, group)})

    @route("GET", "/api/v2/organizations/show_many")
    def show_many_organizations(self, req: Request) -> Reply:
        orgs = [self.state.organizations[i] for i in _ids(req.param("ids")) if i in self.state.organizations]
        return Reply(
            200,
            {
                "organizations": [shapes.organization_json(self.state, o) for o in orgs],
                "next_page": None,
                "previous_page": None,
                "count": len(orgs),
            },
        )

    @route("GET", "/api/v2/organizations/{organization_id}")
    def show_organization(self, req: Request) -> Reply:
        org = self.state.organizations.get(int(req.args["organization_id"]))
        if org is None:
            raise not_found()
        return Reply(200, {"organization": shapes.organization_json(self.state, org)})

    # -- ticket fields ---------------------------------------------------------------------------

    @route("GET", "/api/v2/ticket_fields")
    def list_ticket_fields(self, req: Request) -> Reply:
        fields = list(self.state.ticket_fields.values())
        if self.state.account.custom_statuses_enabled:
            fields = [*fields, _custom_status_field(self.state)]
        return Reply(
            200, self._page(req, fields, "ticket_fields", lambda f: shapes.ticket_field_json(self.state, f))
        )

    @route("POST", "/api/v2/ticket_fields")
    def create_ticket_field(self, req: Request) -> Reply:
        self._require_admin(req)
        data = _root(req.body, "ticket_field")
        created = self.state.create_ticket_field(
            str(data.get("type", "")),
            str(data.get("title", "")),
            options=[
                (o.get("name", o.get("value")), o["value"]) for o in data.get("custom_field_options") or []
            ],
            tag=data.get("tag"),
            regexp_for_validation=data.get("regexp_for_validation"),
            description=str(data.get("description") or ""),
            active=bool(data.get("active", True)),
            required=bool(data.get("required", False)),
            relationship_target_type=data.get("relationship_target_type"),
        )
        return Reply(201, {"ticket_field": shapes.ticket_field_json(self.state, created)})

    @route("GET", "/api/v2/ticket_fields/{ticket_field_id}")
    def show_ticket_field(self, req: Request) -> Reply:
        return Reply(200, {"ticket_field": shapes.ticket_field_json(self.state, self._field(req))})

    @route("PUT", "/api/v2/ticket_fields/{ticket_field_id}")
    def update_ticket_field(self, req: Request) -> Reply:
        self._require_admin(req)
        ticket_field = self._field(req)
        data = _root(req.body, "ticket_field")
        for key in ("title", "description", "active", "required", "regexp_for_validation", "tag"):
            if key in data:
                setattr(ticket_field, key, data[key])
        if data.get("custom_field_options") is not None:
            kept = []
            for option in data["custom_field_options"]:
                updated, _ = self.state.upsert_field_option(
                    ticket_field, option.get("name", option["value"]), option["value"], option.get("id")
                )
                kept.append(updated.id)
            ticket_field.options = [o for o in ticket_field.options if o.id in kept]
        ticket_field.updated_at = self.state.now
        return Reply(200, {"ticket_field": shapes.ticket_field_json(self.state, ticket_field)})

    @route("GET", "/api/v2/ticket_fields/{ticket_field_id}/options")
    def list_field_options(self, req: Request) -> Reply:
        ticket_field = self._field(req)
        return Reply(
            200,
            self._page(
                req,
                ticket_field.options,
                "custom_field_options",
                lambda o: shapes.option_json(self.state, ticket_field, o),
            ),
        )

    @route("POST", "/api/v2/ticket_fields/{ticket_field_id}/options")
    def upsert_field_option(self, req: Request) -> Reply:
        self._require_admin(req)
        ticket_field = self._field(req)
        data = _root(req.body, "custom_field_option")
        if not data.get("value") or not data.get("name"):
            raise ApiError(
                422,
                "RecordInvalid",
                "Record validation errors",
                {"value": [{"description": "Name and value: cannot be blank"}]},
            )
        option, created = self.state.upsert_field_option(
            ticket_field, data["name"], data["value"], data.get("id")
        )
        ticket_field.updated_at = self.state.now
        return Reply(
            201 if created else 200,
            {"custom_field_option": shapes.option_json(self.state, ticket_field, option)},
        )

    # -- custom statuses ------------------------------------------------------------------------

    @route("GET", "/api/v2/custom_statuses")
    def list_custom_statuses(self, req: Request) -> Reply:
        statuses = list(self.state.custom_statuses.values())
        categories = req.param("status_categories")
        if categories:
            wanted = set(categories.split(","))
            statuses = [s for s in statuses if s.status_category in wanted]
        for flag in ("active", "default"):
            raw = req.param(flag)
            if raw is not None:
                statuses = [s for s in statuses if getattr(s, flag) == (raw.lower() == "true")]
        return Reply(200, {"custom_statuses": [shapes.custom_status_json(s) for s in statuses]})

    @route("POST", "/api/v2/custom_statuses")
    def create_custom_status(self, req: Request) -> Reply:
        self._require_admin(req)
        data = _root(req.body, "custom_status")
        created = self.state.create_custom_status(
            str(data.get("status_category", "")),
            str(data.get("agent_label", "")),
            end_user_label=data.get("end_user_label"),
            description=str(data.get("description") or ""),
            end_user_description=str(data.get("end_user_description") or ""),
            active=bool(data.get("active", True)),
        )
        return Reply(201, {"custom_status": shapes.custom_status_json(created)})

    @route("GET", "/api/v2/custom_statuses/{custom_status_id}")
    def show_custom_status(self, req: Request) -> Reply:
        found = self.state.custom_statuses.get(int(req.args["custom_status_id"]))
        if found is None:
            raise not_found()
        return Reply(200, {"custom_status": shapes.custom_status_json(found)})

    @route("PUT", "/api/v2/custom_statuses/{custom_status_id}")
    def update_custom_status(self, req: Request) -> Reply:
        self._require_admin(req)
        updated = self.state.update_custom_status(
            int(req.args["custom_status_id"]), _root(req.body, "custom_status")
        )
        return Reply(200, {"custom_status": shapes.custom_status_json(updated)})

    # -- SLA policies and account -----------------------------------------------------------------

    def _require_sla(self) -> None:
        if not self.state.account.sla_available:
            raise _forbidden()

    @route("GET", "/api/v2/slas/policies")
    def list_sla_policies(self, req: Request) -> Reply:
        self._require_sla()
        policies = sorted(self.state.sla_policies.values(), key=lambda p: p.position)
        return Reply(
            200,
            {
                "sla_policies": [shapes.sla_policy_json(self.state, p) for p in policies],
                "next_page": None,
                "previous_page": None,
                "count": len(policies),
            },
        )

    @route("POST", "/api/v2/slas/policies")
    def create_sla_policy(self, req: Request) -> Reply:
        self._require_sla()
        self._require_admin(req)
        data = _root(req.body, "sla_policy")
        if not isinstance(data.get("filter"), dict):
            raise ApiError(
                422,
                "RecordInvalid",
                "Record validation errors",
                {"filter": [{"description": "Filter: is required"}]},
            )
        policy = self.state.create_sla_policy(
            str(data.get("title") or ""),
            policy_metrics=data.get("policy_metrics") or [],
            filter=data["filter"],
            description=str(data.get("description") or ""),
        )
        return Reply(201, {"sla_policy": shapes.sla_policy_json(self.state, policy)})

    @route("GET", "/api/v2/slas/policies/{sla_policy_id}")
    def show_sla_policy(self, req: Request) -> Reply:
        self._require_sla()
        policy = self.state.sla_policies.get(int(req.args["sla_policy_id"]))
        if policy is None:
            raise not_found()
        return Reply(200, {"sla_policy": shapes.sla_policy_json(self.state, policy)})

    @route("PUT", "/api/v2/slas/policies/{sla_policy_id}")
    def update_sla_policy(self, req: Request) -> Reply:
        self._require_sla()
        self._require_admin(req)
        policy = self.state.sla_policies.get(int(req.args["sla_policy_id"]))
        if policy is None:
            raise not_found()
        data = _root(req.body, "sla_policy")
        for key in ("title", "description", "policy_metrics"):
            if key in data:
                setattr(policy, key, data[key])
        if isinstance(data.get("filter"), dict):
            policy.filter = {
                "all": list(data["filter"].get("all", [])),
                "any": list(data["filter"].get("any", [])),
            }
        policy.updated_at = self.state.now
        return Reply(200, {"sla_policy": shapes.sla_policy_json(self.state, policy)})

    @route("GET", "/api/v2/account/settings")
    def account_settings(self, req: Request) -> Reply:
        return Reply(200, shapes.account_settings_json(self.state))


def _custom_status_field(state: ZendeskState) -> TicketField:
    """The system 'Ticket status' field an account with custom statuses lists."""
    first = min(state.ticket_fields.values(), key=lambda f: f.id)
    return TicketField(
        first.id - 1,
        "custom_status",
        "Ticket status",
        first.created_at,
        first.updated_at,
        position=2,
        system=True,
    )


def _encode_offset(index: int) -> str:
    return base64.urlsafe_b64encode(f"o:{index}".encode()).decode().rstrip("=")


def _decode_offset(cursor: str) -> int:
    try:
        tag, index = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode().split(":")
        if tag != "o":
            raise ValueError(tag)
        return int(index)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise bad_request("InvalidPaginationParameter", f"invalid cursor {cursor!r}") from None
