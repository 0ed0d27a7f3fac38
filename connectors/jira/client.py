"""One ``jira.JIRA`` client per connector, and casewarden's own retry around each call.

The library's ``ResilientSession`` retries 429 and 503 for every method, POST included, waits up to
twice ``Retry-After`` and cannot read an HTTP date; its default timeout is none. So the client is built
with ``max_retries=0`` and a timeout, and :meth:`JiraClient.call` retries instead, through
:func:`casewarden.connectors.retrying.retrying`: ``Retry-After`` (seconds or an HTTP date), else the
``X-RateLimit-Reset`` instant when the budget is spent, else backoff with jitter; bounded in attempts and
by the cycle budget's deadline. A call with a side effect (``write=True``) is retried only when the
answer proves nothing was done (429); any other failure of it is :class:`LostAnswer` (it may have
landed), and the caller checks the tracker before anything is repeated.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import requests

from casewarden.connectors.base import CycleBudget
from casewarden.connectors.jira.settings import JiraSettings
from casewarden.connectors.retrying import retrying
from casewarden.errors import (
    ConfigError,
    ConnectorError,
    FatalConnectorError,
    RetriableConnectorError,
    SkippableConnectorError,
    classify_status,
    retry_after_seconds,
)

__all__ = ["JiraClient", "LostAnswer", "Refused"]


class Refused(SkippableConnectorError):
    """Jira said no to this one request (4xx): ``reason`` is Jira's own message."""

    def __init__(self, what: str, status: int, reason: str) -> None:
        super().__init__(f"{what}: HTTP {status}: {reason}" if reason else f"{what}: HTTP {status}")
        self.status = status
        self.reason = reason


class LostAnswer(ConnectorError):
    """A write's answer was a 5xx, a timeout or a dropped connection: it may or may not have landed."""


class _RateLimited(RetriableConnectorError):
    pass


@dataclass(frozen=True)
class ServerInfo:
    cloud: bool
    version: str


def _reason(response: requests.Response | None) -> str:
    """Jira's ErrorCollection (or JSM's errorMessage) as one line; never headers, never the request."""
    if response is None:
        return ""
    try:
        body = response.json()
    except ValueError:
        return ""
    parts: list[str] = []
    if isinstance(body, dict):
        parts += [str(m) for m in body.get("errorMessages") or []]
        errors = body.get("errors")
        if isinstance(errors, dict):
            parts += [f"{k}: {v}" for k, v in errors.items()]
        elif isinstance(errors, list):
            parts += [str(e.get("message", e)) if isinstance(e, dict) else str(e) for e in errors]
        if body.get("errorMessage"):
            parts.append(str(body["errorMessage"]))
    return "; ".join(parts)[:500]


def _wait_for(response: requests.Response, now: datetime) -> float | None:
    """Seconds the server asks us to wait: Retry-After, else the X-RateLimit-Reset instant when spent."""
    wait = retry_after_seconds(response.headers.get("Retry-After"), now=now)
    if wait is not None:
        return wait
    reset = response.headers.get("X-RateLimit-Reset")
    if reset and response.headers.get("X-RateLimit-Remaining", "1") == "0":
        try:
            when = datetime.fromisoformat(reset.replace("Z", "+00:00"))
        except ValueError:
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return max(0.0, min((when - now).total_seconds(), 300.0))
    return None


class JiraClient:
    """The connection to one site. ``sleep`` and ``now`` are injectable so tests pass fake time."""

    def __init__(
        self,
        settings: JiraSettings,
        environ: Mapping[str, str],
        budget: CycleBudget,
        *,
        sleep: Callable[[float], None] = time.sleep,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        from jira import JIRA

        self.settings = settings
        self.budget = budget
        self.sleep = sleep
        self.now = now
        self.monotonic = monotonic
        self.base = settings.server.rstrip("/")
        self.calls = 0
        #: the server's clock (its ``Date`` header) on the latest answer, None until one carried it
        self.server_time: datetime | None = None
        kwargs: dict[str, Any] = {
            "server": self.base,
            "timeout": settings.timeout,
            "max_retries": 0,
            "get_server_info": False,
        }
        if settings.pat_env and settings.deployment != "cloud" and not settings.token_env:
            kwargs["token_auth"] = self._secret(environ, settings.pat_env)
        elif settings.email and settings.token_env:
            kwargs["basic_auth"] = (settings.email, self._secret(environ, settings.token_env))
        else:
            kwargs["token_auth"] = self._secret(environ, settings.pat_env or "")
        try:
            self.jira = JIRA(**kwargs)
        except Exception as exc:  # the library raises plain exceptions on bad options
            raise FatalConnectorError(
                f"cannot set up the Jira client for {self.base}: {type(exc).__name__}"
            ) from None
        self.session = self.jira._session
        self.session.max_retries = 0
        info = self.call("GET", "serverInfo", what="reading serverInfo")
        deployment_type = str(info.get("deploymentType", "")) if isinstance(info, dict) else ""
        if settings.deployment == "auto":
            cloud = deployment_type == "Cloud"
        else:
            cloud = settings.deployment == "cloud"
        self.info = ServerInfo(cloud=cloud, version=str(info.get("version", "")) if info else "")
        self.jira.deploymentType = "Cloud" if cloud else "Server"

    @staticmethod
    def _secret(environ: Mapping[str, str], name: str) -> str:
        value = environ.get(name)
        if not value:
            raise ConfigError(f"the environment variable {name} (named by the Jira settings) is not set")
        return value

    @property
    def cloud(self) -> bool:
        return self.info.cloud

    def url(self, path: str, version: str = "2") -> str:
        if path.startswith("/"):
            return self.base + path
        return f"{self.base}/rest/api/{version}/{path}"

    def call(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        params: Mapping[str, Any] | None = None,
        version: str = "2",
        write: bool = False,
        what: str = "",
    ) -> Any:
        """One API call with retries (see the module docstring); the decoded JSON answer (None if empty).

        Raises :class:`Refused` (4xx other than 401/403/429), :class:`FatalConnectorError` (401/403),
        :class:`LostAnswer` (a write whose outcome is unknown) or RetriableConnectorError (a read that
        kept failing)."""
        what = what or f"{method} {path}"
        deadline = self.budget.deadline()
        policy = retrying(
            attempts=self.settings.max_attempts,
            deadline=deadline,
            clock=self.budget.clock,
            sleep=self.sleep,
            cap=120.0,
        )
        for attempt in policy:
            with attempt:
                return self._once(method, path, body, params, version, write, what)
        raise AssertionError("unreachable")  # pragma: no cover - retrying re-raises

    def _once(
        self,
        method: str,
        path: str,
        body: Any,
        params: Mapping[str, Any] | None,
        version: str,
        write: bool,
        what: str,
    ) -> Any:
        from jira.exceptions import JIRAError

        self.calls += 1
        kwargs: dict[str, Any] = {}
        if body is not None:
            kwargs["data"] = json.dumps(body)
        if params:
            kwargs["params"] = dict(params)
        try:
            response = self.session.request(method, self.url(path, version), **kwargs)
        except JIRAError as exc:
            return self._failed(exc.status_code or 0, exc.response, write, what)
        except (requests.ConnectionError, requests.Timeout) as exc:
            if write:
                raise LostAnswer(f"{what}: {type(exc).__name__}") from None
            raise RetriableConnectorError(f"{what}: {type(exc).__name__}") from None
        if response.status_code >= 400:  # pragma: no cover - raise_on_error raises first
            return self._failed(response.status_code, response, write, what)
        self.server_time = _server_time(response)
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            return None

    def _failed(self, status: int, response: requests.Response | None, write: bool, what: str) -> Any:
        verdict = classify_status(status)
        reason = _reason(response)
        if status == 429:
            wait = _wait_for(response, self.now()) if response is not None else None
            raise _RateLimited(f"{what}: HTTP 429", retry_after=wait)
        if verdict == "retry":
            if write:
                raise LostAnswer(f"{what}: HTTP {status}")
            wait = _wait_for(response, self.now()) if response is not None else None
            raise RetriableConnectorError(f"{what}: HTTP {status}", retry_after=wait)
        if status == 401 or (status == 403 and not write):
            raise FatalConnectorError(
                f"{what}: HTTP {status}: {reason}" if reason else f"{what}: HTTP {status}"
            )
        raise Refused(what, status, reason)


def _server_time(response: requests.Response) -> datetime | None:
    """The instant a ``Date`` header names (UTC), or None when it is missing or unreadable."""
    text = response.headers.get("Date")
    if not text:
        return None
    try:
        at = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    return at.astimezone(UTC) if at.tzinfo is not None else None
