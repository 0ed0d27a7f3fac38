"""Misbehaviour a test switches on, then off: rate limits, server errors, writes that land but fail.

Each fault names the endpoints it hits with a pattern over ``"METHOD template"`` (``fnmatch`` style, for
example ``"POST /rest/api/{v}/issue/{issueIdOrKey}/comment"`` or ``"GET *search*"``; ``"*"`` is every call)
and fires on the next ``times`` matching calls. A fault either answers *instead of* the API (429, 5xx: the
request did nothing) or *after* it (``lands_then_fails``: the change is made, the client is told it failed),
which is what makes jira's retry of POSTs write twice.

``budget`` adds the ``X-RateLimit-*`` headers Jira Cloud sends and answers 429 once a window's requests are
spent; the window runs on the fake's clock, so a test that lets the client "sleep" by advancing the clock sees
the budget refill. ``connection_drop`` raises a connection error in the client instead of answering.
"""

from __future__ import annotations

import fnmatch
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from tests.fakes.jira.timefmt import http_date

RetryAfter = int | float | datetime | str | None
DROPPED = 0  # the status of a fault that drops the connection instead of answering


def retry_after_header(retry_after: RetryAfter) -> dict[str, str]:
    """``Retry-After`` as seconds (int), an HTTP date (datetime), verbatim (str) or absent (None)."""
    if retry_after is None:
        return {}
    if isinstance(retry_after, datetime):
        return {"Retry-After": http_date(retry_after)}
    if isinstance(retry_after, int | float):
        return {"Retry-After": str(int(retry_after))}
    return {"Retry-After": retry_after}


@dataclass
class Fault:
    pattern: str
    status: int
    times: int
    lands: bool
    headers: dict[str, str]
    body: dict[str, object]
    fired: int = 0

    def matches(self, endpoint: str) -> bool:
        return self.pattern == "*" or fnmatch.fnmatchcase(endpoint, self.pattern)

    @property
    def label(self) -> str:
        """How the request log names the fault: the status it answered, or ``dropped``."""
        return "dropped" if self.status == DROPPED else str(self.status)

    @property
    def spent(self) -> bool:
        return self.fired >= self.times


@dataclass
class RateBudget:
    limit: int
    window: timedelta
    window_start: datetime
    used: int = 0

    def reset_at(self) -> datetime:
        return self.window_start + self.window


@dataclass
class Faults:
    """The fault controls of one fake (see the module docstring)."""

    clock: Callable[[], datetime]
    rules: list[Fault] = field(default_factory=list)
    rate_budget: RateBudget | None = None

    def rate_limit(self, endpoint: str = "*", times: int = 1, retry_after: RetryAfter = 5) -> Fault:
        """Answer 429 (nothing done) on the next ``times`` calls, with ``Retry-After`` in the given form."""
        headers = retry_after_header(retry_after)
        headers.update(
            {"X-RateLimit-Limit": "100", "X-RateLimit-Remaining": "0", "RateLimit-Reason": "jira-burst-based"}
        )
        if isinstance(retry_after, int | float | datetime):
            reset = (
                retry_after
                if isinstance(retry_after, datetime)
                else self.clock() + timedelta(seconds=retry_after)
            )
            headers["X-RateLimit-Reset"] = reset.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        body: dict[str, object] = {"errorMessages": ["Rate limit exceeded."], "errors": {}}
        return self._add(Fault(endpoint, 429, times, False, headers, body))

    def server_error(
        self, endpoint: str, status: int = 500, times: int = 1, retry_after: RetryAfter = None
    ) -> Fault:
        """Answer ``status`` (5xx, nothing done) on the next ``times`` calls of the endpoint."""
        body: dict[str, object] = {
            "errorMessages": [_REASONS.get(status, "Internal server error")],
            "errors": {},
        }
        return self._add(Fault(endpoint, status, times, False, retry_after_header(retry_after), body))

    def lands_then_fails(
        self, endpoint: str, status: int = 503, times: int = 1, retry_after: RetryAfter = None
    ) -> Fault:
        """Carry the request out, then answer ``status``: the client believes a write failed that landed."""
        body: dict[str, object] = {
            "errorMessages": [_REASONS.get(status, "Service unavailable")],
            "errors": {},
        }
        return self._add(Fault(endpoint, status, times, True, retry_after_header(retry_after), body))

    def connection_drop(self, endpoint: str, times: int = 1, lands: bool = False) -> Fault:
        """Drop the connection instead of answering (``requests.ConnectionError`` in the client), before the
        request is carried out or, with ``lands``, after it: jira retries both, whatever the method."""
        return self._add(Fault(endpoint, DROPPED, times, lands, {}, {}))

    def budget(self, limit: int, window: timedelta = timedelta(minutes=1)) -> RateBudget:
        """Send ``X-RateLimit-*`` on every answer; 429 once ``limit`` calls were made in the current window."""
        self.rate_budget = RateBudget(limit, window, self.clock())
        return self.rate_budget

    def clear(self) -> None:
        self.rules.clear()
        self.rate_budget = None

    def _add(self, fault: Fault) -> Fault:
        self.rules.append(fault)
        return fault

    def take(self, endpoint: str, lands: bool) -> Fault | None:
        """The next armed fault of that kind for the endpoint, consumed by one firing."""
        for fault in self.rules:
            if fault.lands == lands and not fault.spent and fault.matches(endpoint):
                fault.fired += 1
                return fault
        return None

    def spend_budget(self) -> tuple[bool, dict[str, str]]:
        """Charge one call to the budget: (allowed, headers to send)."""
        budget = self.rate_budget
        if budget is None:
            return True, {}
        now = self.clock()
        while now >= budget.reset_at():
            budget.window_start = budget.reset_at()
            budget.used = 0
        reset = budget.reset_at()
        headers = {
            "X-RateLimit-Limit": str(budget.limit),
            "X-RateLimit-Reset": reset.strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        if budget.used >= budget.limit:
            headers["X-RateLimit-Remaining"] = "0"
            headers["Retry-After"] = str(max(1, math.ceil((reset - now).total_seconds())))
            headers["RateLimit-Reason"] = "jira-quota-global-based"
            return False, headers
        budget.used += 1
        remaining = budget.limit - budget.used
        headers["X-RateLimit-Remaining"] = str(remaining)
        if remaining < budget.limit * 0.2:
            headers["X-RateLimit-NearLimit"] = "true"
        return True, headers


_REASONS = {
    500: "Internal server error",
    502: "Bad gateway",
    503: "Service unavailable",
    504: "Gateway timeout",
}
