"""The zenpy client of one Zendesk instance, and the HTTP session that keeps it within its limits.

**A base URL per instance.** zenpy builds every URL as ``{protocol}://{subdomain}.{domain}/api/v2/...``
and offers only the process-wide ``ZENPY_FORCE_NETLOC`` to point elsewhere, which would send two
instances in one deployment to the same host. Both ``subdomain`` and ``domain`` are per-client, and so is
each API object's ``protocol``: handing zenpy the host split at its first dot (``127`` + ``0.0.1:8080/zd``)
makes it rebuild exactly the configured base URL, path prefix included, for that client alone. zenpy
also parses a response only if its URL contains that same netloc, which it then does.

**Limits.** :class:`BudgetedSession` is the only way requests leave: it spends a requests-per-minute
budget (waiting for room), answers a 429 itself (``Retry-After`` in seconds or as an HTTP date; missing:
exponential backoff) and backs off on 5xx for reads, all bounded by the cycle's deadline. zenpy never sees
a 429, so its own unbounded ``sleep(1)`` loop never runs; and because this session is ours, zenpy mounts
no urllib3 retry adapter that would send a PUT again after a 503 that landed. A write answered 5xx is
handed back to the caller unretried: whether it landed is for the markers to say.
"""

from __future__ import annotations

import logging
import os
import time
from collections import deque
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import requests
from zenpy import Zenpy
from zenpy.lib.api import BaseApi

from casewarden.connectors.base import CycleBudget
from casewarden.connectors.retrying import retrying
from casewarden.connectors.zendesk.settings import ZendeskSettings
from casewarden.errors import ConfigError, RetriableConnectorError, retry_after_seconds

__all__ = ["BudgetedSession", "build_zenpy", "split_base_url"]

log = logging.getLogger("casewarden.zendesk")

_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_WINDOW = 60.0


def split_base_url(url: str) -> tuple[str, str, str]:
    """(scheme, subdomain, domain) such that zenpy's ``subdomain.domain`` is the URL's netloc + path."""
    split = urlsplit(url)
    location = split.netloc + split.path.rstrip("/")
    host, dot, rest = location.partition(".")
    if not dot or not host or not rest:
        raise ConfigError(
            f"base_url {url}: the host needs a dot (zenpy builds '<subdomain>.<domain>'); "
            "write 127.0.0.1 instead of localhost"
        )
    return split.scheme, host, rest


class BudgetedSession(requests.Session):
    """A requests session that spends a per-minute budget and deals with 429 and 5xx itself.

    ``clock`` and ``sleep`` default to ``time.monotonic``/``time.sleep`` (the cycle budget's clock);
    tests inject their own. Every wait is bounded by ``budget.deadline()``: when the wait would end past
    it, :class:`RetriableConnectorError` is raised instead, so the cycle ends cleanly and the next one
    resumes where this one stopped."""

    def __init__(
        self,
        *,
        requests_per_minute: int,
        budget: CycleBudget | None = None,
        max_wait: float = 60.0,
        attempts: int = 5,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] | None = None,
        wall: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        super().__init__()
        self.requests_per_minute = requests_per_minute
        self.budget = budget or CycleBudget()
        self.max_wait = max_wait
        self.attempts = attempts
        self.sleep = sleep
        self.clock = clock or self.budget.clock
        self.wall = wall
        self.sent: deque[float] = deque()
        #: every wait this session made, in seconds (for tests and the benchmark)
        self.waits: list[float] = []
        #: requests sent, whatever their answer
        self.count = 0

    # -- the budget ---------------------------------------------------------------------------------

    def _deadline(self) -> float | None:
        return self.budget.deadline()

    def _wait(self, seconds: float, why: str) -> None:
        if seconds <= 0:
            return
        deadline = self._deadline()
        if deadline is not None and self.clock() + seconds > deadline:
            raise RetriableConnectorError(
                f"Zendesk: {why}; waiting {seconds:.0f}s would pass this cycle's time budget",
                retry_after=seconds,
            )
        self.waits.append(seconds)
        self.sleep(seconds)

    def _spend(self) -> None:
        """Wait until one more request fits in the last minute's budget, then count it."""
        now = self.clock()
        while self.sent and self.sent[0] <= now - _WINDOW:
            self.sent.popleft()
        if len(self.sent) >= self.requests_per_minute:
            self._wait(self.sent[0] + _WINDOW - now, f"{self.requests_per_minute} requests per minute spent")
            now = self.clock()
            while self.sent and self.sent[0] <= now - _WINDOW:
                self.sent.popleft()
        self.sent.append(self.clock())
        self.count += 1

    # -- one request --------------------------------------------------------------------------------

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        verb = (method.decode() if isinstance(method, bytes) else method).upper()
        policy = retrying(
            attempts=self.attempts,
            cap=self.max_wait,
            deadline=self._deadline(),
            clock=self.clock,
            sleep=self._record_sleep,
        )
        response: requests.Response | None = None
        lost: requests.RequestException | None = None
        for attempt in policy:
            with attempt:
                self._spend()
                try:
                    response = super().request(verb, url, *args, **kwargs)
                except requests.RequestException as exc:
                    if verb in _SAFE_METHODS:
                        raise
                    lost = exc  # a write may have landed before the connection dropped: never resend it
                    break
                status = response.status_code
                if status == 429:
                    raise self._transient(response, "rate limited (429)")
                if status >= 500 and verb in _SAFE_METHODS:
                    raise self._transient(response, f"server error {status}")
        if lost is not None:
            raise lost
        assert response is not None
        return response

    def _record_sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.sleep(seconds)

    def _transient(self, response: requests.Response, what: str) -> RetriableConnectorError:
        header = response.headers.get("Retry-After")
        wait = retry_after_seconds(header, now=self.wall(), cap=self.max_wait)
        if wait is not None and wait <= 0:
            wait = None  # "0" or a date in the past: back off on our own schedule rather than hammer
        exc = RetriableConnectorError(f"Zendesk {response.request.method} {_path(response)}: {what}", wait)
        exc.response = response  # type: ignore[attr-defined]
        return exc


def _path(response: requests.Response) -> str:
    """The request's path without its query: queries can carry e-mail addresses."""
    return urlsplit(str(response.request.url)).path


def build_zenpy(settings: ZendeskSettings, environ: Mapping[str, str], session: requests.Session) -> Zenpy:
    """A zenpy client for this instance alone: its own base URL, our session, no cache."""
    for var in ("ZENPY_FORCE_NETLOC", "ZENPY_FORCE_SCHEME"):
        if os.environ.get(var):
            log.warning("%s is set: zenpy sends every instance's requests there, whatever base_url says", var)
    scheme, subdomain, domain = split_base_url(settings.url)
    credentials: dict[str, Any]
    if settings.oauth_token_env is not None:
        credentials = {"oauth_token": _secret(environ, settings.oauth_token_env, "OAuth token")}
    else:
        credentials = {
            "email": settings.email,
            "token": _secret(environ, settings.token_env or "", "API token"),
        }
    client = Zenpy(
        subdomain=subdomain,
        domain=domain,
        session=session,
        timeout=settings.timeout,
        disable_cache=True,
        **credentials,
    )
    for api in _apis(client):
        api.protocol = scheme
    return client


def _apis(client: Zenpy) -> list[BaseApi]:
    """Every API object of a client, nested ones included (help centre, talk...)."""
    found: list[BaseApi] = []
    todo: list[Any] = [client]
    seen: set[int] = set()
    while todo:
        obj = todo.pop()
        for value in vars(obj).values():
            if isinstance(value, BaseApi) and id(value) not in seen:
                seen.add(id(value))
                found.append(value)
                todo.append(value)
    return found


def _secret(environ: Mapping[str, str], var: str, what: str) -> str:
    value = environ.get(var)
    if not value:
        raise ConfigError(f"environment variable {var} (the Zendesk {what}) is not set")
    return value
