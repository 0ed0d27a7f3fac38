"""``FakeJira``: one fake Jira site (Cloud or Data Center, with JSM) that the real ``jira`` client talks to.

Construct it, mount it on a ``responses.RequestsMock`` (or use ``serve()``), then point ``jira.JIRA`` at
``base_url`` with ``credentials()`` (or call ``client()``). Tests change the tracker with the methods below
(explicit instants; histories as Jira records them), steer time with ``now``/``advance``/``sleep``, switch
misbehaviour on with ``faults`` and ``search_lag``, and read what the client did from ``log``::

    fake = FakeJira("cloud", now=datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    case = fake.create_issue("SUP", "Printer on fire", created=fake.now - timedelta(hours=1))
    fake.transition(case, fake.now - timedelta(minutes=30), "In Progress")
    fake.search_lag = timedelta(seconds=30)
    fake.faults.lands_then_fails("POST /rest/api/{v}/issue/{issueIdOrKey}/comment", retry_after=1)
    with fake.serve():
        client = fake.client()   # jira.JIRA(server=fake.base_url, basic_auth=(email, token))
        ...
    fake.log.count("GET /rest/api/{v}/search/jql")

Tracker-side instants later than ``now`` move the clock forward to them (the clock never runs behind the
last event); search sees the world as of ``now - search_lag``.
"""

from __future__ import annotations

import base64
import fnmatch
import json
import re
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

import requests
import responses

from tests.fakes.jira import (  # noqa: F401  (register routes)
    api_bulk,
    api_issues,
    api_jsm,
    api_meta,
    api_screens,
    api_search,
)
from tests.fakes.jira.api_bulk import BulkTask, run_due_tasks
from tests.fakes.jira.faults import DROPPED, Faults
from tests.fakes.jira.router import ROUTES, ApiError, Ctx, Reply, decode_body
from tests.fakes.jira.site import PERMISSIONS, Mode, Site, User, default_site
from tests.fakes.jira.state import (
    CHANNEL_PROPERTY,
    CHANNELS,
    INTERNAL_COMMENT_PROPERTY,
    Comment,
    History,
    Issue,
    JiraState,
    SlaCycle,
)
from tests.fakes.jira.values import field_id_for, python_value

if TYPE_CHECKING:
    from jira import JIRA
    from requests import PreparedRequest

DEFAULT_BASE_URLS: dict[Mode, str] = {
    "cloud": "https://acme.atlassian.net",
    "datacenter": "https://jira.example.com",
}
DEFAULT_NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
# Not secrets: the fake's own test credentials, accepted only by the fake.
FAKE_API_TOKEN = "fake-cloud-api-token"
FAKE_PAT = "fake-datacenter-personal-access-token"

IssueRef = Issue | int | str


@dataclass(frozen=True)
class LoggedCall:
    """One HTTP call the fake answered: what was asked, what it answered, which fault (if any) fired."""

    method: str
    url: str
    path: str
    endpoint: str | None  # the route template, e.g. "GET /rest/api/{v}/issue/{issueIdOrKey}"
    status: int
    at: datetime
    request_body: Any
    response_body: Any
    response_headers: dict[str, str]
    fault: str | None


class RequestLog:
    """Every call, in order; counts by endpoint pattern (``fnmatch`` over the route template) so a test or
    benchmark can compare the API calls a connector makes with the minimum it needs."""

    def __init__(self) -> None:
        self.calls: list[LoggedCall] = []

    def __iter__(self) -> Iterator[LoggedCall]:
        return iter(self.calls)

    def __len__(self) -> int:
        return len(self.calls)

    def __getitem__(self, index: int) -> LoggedCall:
        return self.calls[index]

    def append(self, call: LoggedCall) -> None:
        self.calls.append(call)

    def clear(self) -> None:
        self.calls.clear()

    def count(self, pattern: str = "*") -> int:
        return len(self.of(pattern))

    def of(self, pattern: str) -> list[LoggedCall]:
        return [call for call in self.calls if call.endpoint and fnmatch.fnmatchcase(call.endpoint, pattern)]

    def counts(self) -> Counter[str]:
        return Counter(call.endpoint or f"{call.method} {call.path}" for call in self.calls)


class FakeJira:
    """See the module docstring; the attributes below are the knobs a test may turn."""

    def __init__(
        self,
        mode: Mode = "cloud",
        base_url: str | None = None,
        now: datetime = DEFAULT_NOW,
        user_time_zone: str = "Europe/Berlin",
        site: Site | None = None,
    ) -> None:
        self.mode: Mode = mode
        self.base_url = (base_url or DEFAULT_BASE_URLS[mode]).rstrip("/")
        self.site = site or default_site(mode, self.base_url, user_time_zone)
        self.state = JiraState(self.site, now)
        self.faults = Faults(clock=lambda: self.now)
        self.log = RequestLog()
        self.permissions: set[str] = set(PERMISSIONS)
        self.edit_screen_hidden: set[str] = set()  # field ids left off the edit screen (editmeta)
        # secret -> user handle: who a request authenticates as.
        self.accounts: dict[str, str] = {FAKE_API_TOKEN if mode == "cloud" else FAKE_PAT: "agent"}
        self.search_changelog_limit = 40  # Cloud: histories shown by expand=changelog in search
        self.issue_changelog_limit = 100  # Cloud: histories shown by expand=changelog on GET issue
        self.search_page_max = 100  # Cloud search/jql page cap when fields are requested
        self.search_id_page_max = 5000  # ... when only ids are requested
        self.dc_search_page_max = 1000  # Data Center /search cap
        self.bulk_duration = timedelta(seconds=0)  # how long a bulk edit task runs (fake time)
        self.bulk_tasks: dict[str, BulkTask] = {}
        self.sleeps: list[float] = []  # what ``sleep`` was asked to wait, in order
        #: answer with the server's clock in a ``Date`` header, as Jira does. Off by default: the shared
        #: suites' harness stamps changes at any instant (before ``now`` too), which a real server never
        #: does, and a reader trusting the clock would rightly take those for already indexed.
        self.send_date = False

    # -- time --------------------------------------------------------------------------------------
    @property
    def now(self) -> datetime:
        return self.state.now

    @now.setter
    def now(self, when: datetime) -> None:
        if when.tzinfo is None:
            raise ValueError("the fake's clock takes timezone-aware datetimes")
        self.state.now = when

    def advance(self, **delta: float) -> datetime:
        """Move the clock forward (``advance(minutes=5)``) and return the new instant."""
        self.state.now += timedelta(**delta)
        return self.state.now

    def sleep(self, seconds: float) -> None:
        """A ``time.sleep`` stand-in that lets fake time pass instead: patch ``jira.resilientsession.time.sleep``."""
        self.sleeps.append(seconds)
        self.state.now += timedelta(seconds=seconds)

    @property
    def search_lag(self) -> timedelta:
        """How long a change takes to reach search (``state.py`` explains the model)."""
        return self.state.search_lag

    @search_lag.setter
    def search_lag(self, lag: timedelta) -> None:
        self.state.search_lag = lag

    # -- wiring ------------------------------------------------------------------------------------
    def credentials(self, handle: str = "agent") -> dict[str, Any]:
        """Keyword arguments for ``jira.JIRA``: basic email + API token on Cloud, a Bearer PAT on DC."""
        secret = next(secret for secret, owner in self.accounts.items() if owner == handle)
        if self.mode == "cloud":
            return {"basic_auth": (self.site.user(handle).email, secret)}
        return {"token_auth": secret}

    def add_account(self, handle: str, secret: str) -> None:
        self.accounts[secret] = handle

    def client(self, handle: str = "agent", **kwargs: Any) -> JIRA:
        """A real ``jira.JIRA`` for this site (construction calls ``serverInfo``: mount the fake first)."""
        from jira import JIRA

        return JIRA(server=self.base_url, **self.credentials(handle), **kwargs)

    def mount(self, mock: responses.RequestsMock) -> None:
        """Serve every URL under ``base_url`` from this fake."""
        pattern = re.compile(re.escape(self.base_url) + r"(/.*)?$")
        for method in ("GET", "POST", "PUT", "DELETE"):
            mock.add_callback(method, pattern, callback=self._callback)

    @contextmanager
    def serve(self) -> Iterator[responses.RequestsMock]:
        with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
            self.mount(mock)
            yield mock

    # -- serving -----------------------------------------------------------------------------------
    def _callback(self, request: PreparedRequest) -> tuple[int, dict[str, str], str | Exception]:
        url = request.url or ""
        split = urlsplit(url)
        base_path = urlsplit(self.base_url).path
        path = split.path[len(base_path) :] if base_path and split.path.startswith(base_path) else split.path
        method = (request.method or "GET").upper()
        endpoint = ROUTES.endpoint_for(method, path)
        run_due_tasks(self)
        request_body: Any = None
        fault_name: str | None = None
        try:
            request_body = decode_body(request.body)  # type: ignore[arg-type]  # requests gives bytes or str
            reply, fault_name = self._serve(request, method, path, parse_qs(split.query, keep_blank_values=True),
                                            request_body, endpoint)  # fmt: skip
        except ApiError as error:
            reply = Reply(error.status, error.body)
        headers = {"Content-Type": "application/json;charset=UTF-8", **reply.headers}
        if self.send_date:
            headers["Date"] = format_datetime(self.now.astimezone(UTC), usegmt=True)
        text = "" if reply.body is None else json.dumps(reply.body)
        self.log.append(
            LoggedCall(
                method,
                url,
                path,
                endpoint,
                reply.status,
                self.now,
                request_body,
                reply.body,
                headers,
                fault_name,
            )
        )
        if reply.status == DROPPED:
            return 500, headers, requests.ConnectionError(f"Connection aborted by the fake: {method} {url}")
        return reply.status, headers, text

    def _authenticate(self, request: PreparedRequest) -> User | None:
        header = str(request.headers.get("Authorization", ""))
        if self.mode == "cloud" and header.startswith("Basic "):
            try:
                email, _, secret = base64.b64decode(header[6:]).decode().partition(":")
            except ValueError:
                return None
            handle = self.accounts.get(secret)
            if handle is not None and self.site.user(handle).email == email:
                return self.site.user(handle)
        if self.mode == "datacenter" and header.startswith("Bearer "):
            handle = self.accounts.get(header[7:])
            if handle is not None:
                return self.site.user(handle)
        return None

    def _serve(
        self,
        request: PreparedRequest,
        method: str,
        path: str,
        query: dict[str, list[str]],
        body: Any,
        endpoint: str | None,
    ) -> tuple[Reply, str | None]:
        user = self._authenticate(request)
        anonymous_ok = path.endswith("/serverInfo") and "Authorization" not in request.headers
        if user is None and not anonymous_ok:
            raise ApiError.jira(401, "Client must be authenticated to access this resource.")
        resolved = ROUTES.resolve(method, path, self.mode)
        if resolved is None or (self.mode == "datacenter" and resolved[1].get("v") == "3"):
            raise ApiError.jira(404, f"null for uri: {self.base_url}{path}")
        route, match = resolved
        allowed, budget_headers = self.faults.spend_budget()
        if not allowed:
            return Reply(
                429, {"errorMessages": ["Rate limit exceeded."], "errors": {}}, budget_headers
            ), "budget"
        before = self.faults.take(route.endpoint, lands=False)
        if before is not None:
            return Reply(before.status, before.body, {**budget_headers, **before.headers}), before.label
        ctx = Ctx(self, method, request.url or "", path, query, body, match, user or self.site.user("agent"))
        try:
            reply = route.handler(ctx)
        except ApiError as error:
            reply = Reply(error.status, error.body)
        reply.headers = {**budget_headers, **reply.headers}
        if 200 <= reply.status < 300:
            after = self.faults.take(route.endpoint, lands=True)
            if after is not None:
                return Reply(
                    after.status, after.body, {**budget_headers, **after.headers}
                ), f"landed+{after.label}"
        return reply, None

    # -- tracker side: reading -----------------------------------------------------------------------
    def issue(self, ref: IssueRef) -> Issue:
        """The current issue (by model, id, key or a key it had before a move)."""
        return self.state.find(ref)

    def user(self, ref: str) -> User:
        return self.site.user(ref)

    def field_id(self, name: str) -> str:
        return self.site.custom_field(name).id

    # -- tracker side: changes -----------------------------------------------------------------------
    def create_issue(
        self,
        project: str = "SUP",
        summary: str = "Customer cannot log in",
        *,
        created: datetime | None = None,
        reporter: str | None = None,
        issue_type: str | None = None,
        priority: str | None = None,
        labels: tuple[str, ...] | list[str] = (),
        assignee: str | None = None,
        description: str | None = None,
        fields: dict[str, Any] | None = None,
        channel: str | None = None,
        request_type: str | None = None,
        organizations: tuple[str, ...] | list[str] = (),
        properties: dict[str, Any] | None = None,
    ) -> Issue:
        """Create an issue as someone on the tracker would. JSM requests default to the portal channel and
        the first request type; ``fields`` maps field ids or custom field names to test-side values."""
        site = self.site
        target = site.project(project)
        at = self.state.at(created)
        service_desk = target.type_key == "service_desk"
        type_id = site.issue_type(issue_type).id if issue_type else target.issue_types[0]
        values: dict[str, Any] = {"labels": list(labels)}
        if description is not None:
            values["description"] = description
        if assignee is not None:
            values["assignee"] = site.user(assignee).handle
        for name, value in (fields or {}).items():
            field_id = field_id_for(site, name)
            values[field_id] = python_value(site, field_id, value)
        props = dict(properties or {})
        if service_desk:
            chosen_channel = channel or "portal"
            if chosen_channel not in CHANNELS:
                raise ValueError(f"channel must be one of {CHANNELS}")
            props.setdefault(CHANNEL_PROPERTY, {"value": chosen_channel})
            values["customfield_10010"] = site.request_type(request_type or "1").id
            if organizations:
                values["customfield_10002"] = [site.organization(o).id for o in organizations]
        reporter_handle = site.user(reporter or ("carol" if service_desk else "alice")).handle
        issue = self.state.create_issue(
            target, type_id, summary, at, reporter_handle, reporter_handle, values, props
        )
        if priority is not None:
            issue.priority = site.priority(priority).id
            self.state._touch(issue, at)
        return issue

    def add_comment(
        self, issue: IssueRef, at: datetime | None, author: str, body: str, internal: bool = False
    ) -> Comment:
        properties = {INTERNAL_COMMENT_PROPERTY: {"internal": True}} if internal else {}
        return self.state.add_comment(
            self.issue(issue), self.state.at(at), self.user(author).handle, body, properties
        )

    def transition(
        self, issue: IssueRef, at: datetime | None, to_status: str, author: str = "alice"
    ) -> list[History]:
        """Walk the workflow's shortest path to the status, one changelog entry per step, as clicks would."""
        found = self.issue(issue)
        workflow = self.state.project_of(found).workflow
        target = self.site.status(to_status)
        steps = workflow.path(found.status, target.id)
        if steps is None:
            raise ValueError(
                f"{target.name!r} cannot be reached from {self.site.statuses[found.status].name!r}"
            )
        when = self.state.at(at)
        histories = []
        for step in steps:
            history = self.state.edit(found, when, self.user(author).handle, {}, transition=step)
            assert history is not None
            histories.append(history)
        return histories

    def set_priority(
        self, issue: IssueRef, at: datetime | None, priority: str, author: str = "alice"
    ) -> None:
        self.set_field(issue, at, "priority", priority, author)

    def set_field(
        self, issue: IssueRef, at: datetime | None, field: str, value: Any, author: str = "alice"
    ) -> None:
        """Set a system field (summary, description, priority, labels, assignee, reporter) or a custom field
        (by id or name) to a test-side value: option value, priority name, user handle, aware datetime..."""
        field_id = field_id_for(self.site, field)
        internal = python_value(self.site, field_id, value)
        self.state.edit(self.issue(issue), self.state.at(at), self.user(author).handle, {field_id: internal})

    def add_label(self, issue: IssueRef, at: datetime | None, label: str, author: str = "alice") -> None:
        found = self.issue(issue)
        self.set_field(found, at, "labels", [*found.labels, label], author)

    def remove_label(self, issue: IssueRef, at: datetime | None, label: str, author: str = "alice") -> None:
        found = self.issue(issue)
        self.set_field(found, at, "labels", [x for x in found.labels if x != label], author)

    def assign(self, issue: IssueRef, at: datetime | None, user: str | None, author: str = "alice") -> None:
        self.set_field(issue, at, "assignee", user, author)

    def move_issue(
        self, issue: IssueRef, new_project: str, at: datetime | None = None, author: str = "alice"
    ) -> Issue:
        """Move to another project: the key changes, the id stays, the old key still resolves."""
        found = self.issue(issue)
        self.state.move(found, self.site.project(new_project), self.state.at(at), self.user(author).handle)
        return found

    def delete_issue(self, issue: IssueRef, at: datetime | None = None) -> None:
        self.state.delete(self.issue(issue), self.state.at(at))

    def set_property(self, issue: IssueRef, key: str, value: Any, at: datetime | None = None) -> None:
        self.state.set_property(self.issue(issue), key, value, self.state.at(at))

    def link(
        self, link_type: str, inward_issue: IssueRef, outward_issue: IssueRef, at: datetime | None = None,
        author: str = "alice",
    ) -> str:  # fmt: skip
        """Link as ``POST /issueLink`` would with these ``inwardIssue``/``outwardIssue``; returns the link id."""
        return self.state.link_issues(
            self.site.link_type(link_type), self.issue(inward_issue), self.issue(outward_issue),
            self.state.at(at), self.user(author).handle,
        ).id  # fmt: skip

    def add_watcher(self, issue: IssueRef, user: str, at: datetime | None = None) -> None:
        self.state.add_watcher(self.issue(issue), self.user(user).handle, self.state.at(at))

    # -- tracker side: JSM SLAs ----------------------------------------------------------------------
    def start_sla(self, issue: IssueRef, name: str, goal: timedelta, at: datetime | None = None) -> None:
        metric = self.state.sla(self.issue(issue), name)
        if metric.ongoing is not None:
            raise ValueError(f"SLA {name!r} already has an ongoing cycle")
        metric.cycles.append(SlaCycle(start=self.state.at(at), goal=goal))

    def pause_sla(self, issue: IssueRef, name: str, at: datetime | None = None) -> None:
        cycle = self._ongoing(issue, name)
        if cycle.paused_since is None:
            cycle.paused_since = self.state.at(at)

    def resume_sla(self, issue: IssueRef, name: str, at: datetime | None = None) -> None:
        cycle = self._ongoing(issue, name)
        if cycle.paused_since is not None:
            cycle.paused_total += self.state.at(at) - cycle.paused_since
            cycle.paused_since = None

    def stop_sla(self, issue: IssueRef, name: str, at: datetime | None = None) -> None:
        self.resume_sla(issue, name, at)
        self._ongoing(issue, name).stop = self.state.at(at)

    def _ongoing(self, issue: IssueRef, name: str) -> SlaCycle:
        metric = self.state.sla(self.issue(issue), name)
        if metric.ongoing is None:
            raise ValueError(f"SLA {name!r} has no ongoing cycle")
        return metric.ongoing
