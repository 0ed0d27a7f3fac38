"""The HTTP side: one ``responses`` callback per method that routes, authenticates, applies the armed
faults and the rate limits, calls the endpoint handler, and logs the exchange.

The idea is dlt's ``api_router.py`` (a small table of method + path pattern -> handler) ported to
``responses.add_callback``: the real zenpy code builds the URLs, sends the requests and parses the
answers; only the socket is replaced.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import format_datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

import responses
from requests import PreparedRequest

from tests.fakes.zendesk.faults import Faults, RateBudget, RetryAfter
from tests.fakes.zendesk.records import ApiError, User
from tests.fakes.zendesk.requestlog import LoggedRequest, RequestLog
from tests.fakes.zendesk.state import ZendeskState

if TYPE_CHECKING:
    from tests.fakes.zendesk.endpoints import Endpoints

JSON_TYPE = "application/json; charset=utf-8"
HTML_ERROR = "<html><head><title>{status}</title></head><body><h1>{status} Server Error</h1></body></html>"


@dataclass
class Request:
    method: str
    path: str
    params: dict[str, str]
    body: Any
    user: User
    args: dict[str, str]
    user_agent: str

    def param(self, name: str) -> str | None:
        """A query parameter, treating zenpy's literal ``None`` (it sends ``include=None``) as absent."""
        value = self.params.get(name)
        return None if value in (None, "None") else value


@dataclass
class Reply:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


Handler = Callable[[Request], Reply]

#: (method, path template, handler method name), filled by the ``route`` decorator
ROUTES: list[tuple[str, str, str]] = []


def route(method: str, template: str) -> Callable[[Callable[..., Reply]], Callable[..., Reply]]:
    def register(fn: Callable[..., Reply]) -> Callable[..., Reply]:
        ROUTES.append((method, template, fn.__name__))
        return fn

    return register


def endpoint_key(method: str, template: str) -> str:
    return f"{method} {template}"


def _pattern(template: str) -> re.Pattern[str]:
    regex = re.sub(
        r"\{(\w+)\}",
        lambda m: (
            f"(?P<{m.group(1)}>[0-9a-f]+)" if m.group(1) == "job_status_id" else f"(?P<{m.group(1)}>\\d+)"
        ),
        template,
    )
    return re.compile(f"^{regex}(?:\\.json)?$")


@dataclass(frozen=True)
class Route:
    method: str
    template: str
    pattern: re.Pattern[str]
    handler: Handler

    @property
    def key(self) -> str:
        return endpoint_key(self.method, self.template)


def known_endpoints() -> list[str]:
    return [endpoint_key(m, t) for m, t, _ in ROUTES]


class Router:
    def __init__(
        self, state: ZendeskState, faults: Faults, log: RequestLog, endpoints: Endpoints, api_token: str
    ) -> None:
        self.state = state
        self.faults = faults
        self.log = log
        self.api_token = api_token
        self.budget = RateBudget()
        self.routes = [Route(m, t, _pattern(t), getattr(endpoints, name)) for m, t, name in ROUTES]
        self._base = urlsplit(state.base_url)

    def mount(self, rsps: responses.RequestsMock) -> None:
        url = re.compile("^" + re.escape(self.state.base_url) + "/api/v2/")
        for method in ("GET", "POST", "PUT", "DELETE", "PATCH"):
            rsps.add_callback(method, url, callback=self._callback, content_type=None)

    # -- one exchange ---------------------------------------------------------------------------

    def _callback(self, prepared: PreparedRequest) -> tuple[int, dict[str, str], str]:
        split = urlsplit(str(prepared.url))
        path = split.path[len(self._base.path.rstrip("/")) :]
        params = dict(parse_qsl(split.query, keep_blank_values=True))
        method = str(prepared.method).upper()
        body = self._json_body(prepared.body)
        matched = self._match(method, path)
        key = matched[0].key if matched else f"{method} <unknown>"
        reply = self._answer(prepared, method, path, params, body, matched, key)
        headers = {**self._rate_headers(key), **reply.headers}
        if isinstance(reply.body, str):
            text = reply.body
            headers.setdefault("Content-Type", "text/html; charset=utf-8")
        else:
            text = "" if reply.body is None else json.dumps(reply.body)
            headers.setdefault("Content-Type", JSON_TYPE)
        self.log.record(
            LoggedRequest(
                method,
                path,
                key,
                params,
                body,
                reply.status,
                self.state.now,
                str(prepared.url),
                reply.body,
                headers,
            )
        )
        return reply.status, headers, text

    def _answer(
        self,
        prepared: PreparedRequest,
        method: str,
        path: str,
        params: dict[str, str],
        body: Any,
        matched: tuple[Route, dict[str, str]] | None,
        key: str,
    ) -> Reply:
        user = self._authenticate(prepared.headers.get("Authorization"))
        if user is None:
            return Reply(401, {"error": "Couldn't authenticate you"})
        limited = self._rate_limited(key)
        if limited is not None:
            return limited
        self.budget.spend(["account", key], self.state.now)
        if matched is None:
            return Reply(404, {"error": "InvalidEndpoint", "description": "Not found"})
        if body is _INVALID:
            return Reply(400, {"error": "InvalidJSON", "description": "The request body is not valid JSON"})
        route_, args = matched
        failure = self.faults.take_failure(key)
        if failure is not None and not failure.lands:
            return self._failure_reply(failure.status, failure.html)
        request = Request(method, path, params, body, user, args, str(prepared.headers.get("User-Agent", "")))
        try:
            reply = route_.handler(request)
        except ApiError as error:
            reply = Reply(error.status, error.body())
        if failure is not None:
            return self._failure_reply(failure.status, failure.html)
        return reply

    def _match(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        for candidate in self.routes:
            if candidate.method != method:
                continue
            found = candidate.pattern.match(path)
            if found:
                return candidate, found.groupdict()
        return None

    def _authenticate(self, header: str | bytes | None) -> User | None:
        if isinstance(header, bytes):
            header = header.decode()
        if not header or not header.startswith("Basic "):
            return None
        try:
            login, _, secret = base64.b64decode(header[6:]).decode().partition(":")
        except ValueError:
            return None
        email, _, kind = login.rpartition("/")
        if kind != "token" or secret != self.api_token:
            return None
        user = self.state.user_by_email(email)
        if user is None or not user.active or not user.is_agent:
            return None
        return user

    # -- rate limits and faults ----------------------------------------------------------------

    def _rate_limited(self, key: str) -> Reply | None:
        scripted = self.faults.take_rate_limit(key)
        if scripted is not None:
            return self._too_many(scripted.retry_after)
        now = self.state.now
        limits = [("account", self.faults.requests_per_minute), (key, self.faults.endpoint_limits.get(key))]
        for scope, limit in limits:
            if limit is not None and self.budget.used(scope, now) >= limit:
                return self._too_many(RateBudget.seconds_to_reset(now))
        return None

    def _too_many(self, retry_after: RetryAfter) -> Reply:
        headers: dict[str, str] = {}
        if isinstance(retry_after, datetime):
            headers["Retry-After"] = format_datetime(retry_after, usegmt=True)
        elif retry_after is not None:
            headers["Retry-After"] = str(retry_after)
        body = {
            "error": "APIRateLimitExceeded",
            "description": "Number of allowed API requests per minute exceeded",
        }
        return Reply(429, body, headers)

    def _rate_headers(self, key: str) -> dict[str, str]:
        now = self.state.now
        limit = self.faults.requests_per_minute or self.state.account.rate_limit_per_minute
        remaining = max(0, limit - self.budget.used("account", now))
        reset = RateBudget.seconds_to_reset(now)
        return {
            "X-Rate-Limit": str(limit),
            "X-Rate-Limit-Remaining": str(remaining),
            "ratelimit-limit": str(limit),
            "ratelimit-remaining": str(remaining),
            "ratelimit-reset": str(reset),
        }

    @staticmethod
    def _failure_reply(status: int, html: bool) -> Reply:
        if html:
            return Reply(status, HTML_ERROR.format(status=status))
        return Reply(
            status, {"error": "InternalError", "description": "Something went wrong; please try again"}
        )

    @staticmethod
    def _json_body(raw: Any) -> Any:
        if raw in (None, b"", ""):
            return None
        try:
            return json.loads(raw)
        except ValueError:
            return _INVALID


_INVALID = object()
