"""Fault controls: the ways the real service misbehaves, switched on by a test and cleared again.

Every control names endpoints by their key, ``"METHOD /api/v2/path/{param}"`` as the spec writes the
path (``fake.endpoints`` lists them); an unknown key raises at once, so a typo cannot leave a fault
silently unarmed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

#: a ``Retry-After`` as a test wants it sent: seconds, an instant (sent as an HTTP date), a raw
#: header value, or None for a 429 that carries no ``Retry-After`` at all
RetryAfter = int | datetime | str | None


@dataclass
class ScriptedRateLimit:
    remaining: int
    retry_after: RetryAfter
    endpoint: str | None


@dataclass
class ScriptedFailure:
    endpoint: str
    remaining: int
    status: int
    lands: bool
    html: bool


@dataclass
class SlowJobs:
    remaining: int
    polls: int


class Faults:
    """Armed faults; the router consults them on every request, the job queue on every job."""

    def __init__(self, known_endpoints: Iterable[str]) -> None:
        self._known = frozenset(known_endpoints)
        self.clear()

    def clear(self) -> None:
        """Disarm everything (the per-minute budget and the export lag included)."""
        #: account-wide requests per minute of ``fake.now``; None: unlimited
        self.requests_per_minute: int | None = None
        #: per-endpoint requests per minute (Zendesk limits e.g. the incremental exports to 10)
        self.endpoint_limits: dict[str, int] = {}
        #: how far behind ``now`` the incremental exports are; below 60 s it has no effect
        self.export_lag_seconds: int = 0
        self._rate_limits: list[ScriptedRateLimit] = []
        self._failures: list[ScriptedFailure] = []
        self._failing_jobs: list[str] = []
        self._ticket_failures: dict[int, str] = {}
        self._slow: list[SlowJobs] = []

    # -- arming ------------------------------------------------------------------------------

    def rate_limit_next(
        self, count: int = 1, *, retry_after: RetryAfter = 30, endpoint: str | None = None
    ) -> None:
        """Answer the next ``count`` requests (of ``endpoint``, or any) with 429."""
        self._rate_limits.append(ScriptedRateLimit(count, retry_after, self._check(endpoint)))

    def limit_per_minute(self, requests: int | None, *, endpoint: str | None = None) -> None:
        """Enforce a budget per minute of the fake clock; 429 with ``Retry-After`` when it is spent."""
        if endpoint is None:
            self.requests_per_minute = requests
        elif requests is None:
            self.endpoint_limits.pop(self._check(endpoint) or "", None)
        else:
            self.endpoint_limits[self._check(endpoint) or ""] = requests

    def fail_next(
        self, endpoint: str, count: int = 1, *, status: int = 500, lands: bool = False, html: bool = False
    ) -> None:
        """Answer the next ``count`` calls of ``endpoint`` with ``status``.

        ``lands=True`` applies the request first (a write that landed but answered an error);
        ``html=True`` sends an HTML error page instead of a JSON error body.
        """
        checked = self._check(endpoint)
        assert checked is not None
        self._failures.append(ScriptedFailure(checked, count, status, lands, html))

    def fail_next_job(self, message: str = "Job failed: an internal error occurred", count: int = 1) -> None:
        """The next ``count`` jobs fail as a whole: nothing of them is applied."""
        self._failing_jobs.extend([message] * count)

    def fail_tickets_in_jobs(self, details: Mapping[int, str]) -> None:
        """In the next job touching each ticket, that ticket fails (the others go through)."""
        self._ticket_failures.update({int(k): v for k, v in details.items()})

    def slow_jobs(self, polls: int, count: int = 1) -> None:
        """The next ``count`` jobs stay queued/working for ``polls`` polls before they run."""
        self._slow.append(SlowJobs(count, polls))

    # -- consumed by the router and the job queue -------------------------------------------------

    def take_rate_limit(self, endpoint: str) -> ScriptedRateLimit | None:
        for scripted in self._rate_limits:
            if scripted.endpoint in (None, endpoint) and scripted.remaining > 0:
                scripted.remaining -= 1
                return scripted
        return None

    def take_failure(self, endpoint: str) -> ScriptedFailure | None:
        for scripted in self._failures:
            if scripted.endpoint == endpoint and scripted.remaining > 0:
                scripted.remaining -= 1
                return scripted
        return None

    def take_job_failure(self) -> str | None:
        return self._failing_jobs.pop(0) if self._failing_jobs else None

    def take_ticket_failure(self, ticket_id: int) -> str | None:
        return self._ticket_failures.pop(ticket_id, None)

    def take_job_polls(self) -> int:
        for slow in self._slow:
            if slow.remaining > 0:
                slow.remaining -= 1
                return slow.polls
        return 0

    def _check(self, endpoint: str | None) -> str | None:
        if endpoint is not None and endpoint not in self._known:
            raise KeyError(f"unknown endpoint {endpoint!r}; known: {sorted(self._known)}")
        return endpoint


class RateBudget:
    """Requests counted per minute of the fake clock, account-wide and per endpoint."""

    def __init__(self) -> None:
        self._counts: Counter[tuple[str, int]] = Counter()

    @staticmethod
    def minute(now: datetime) -> int:
        return int(now.timestamp()) // 60

    def used(self, scope: str, now: datetime) -> int:
        return self._counts[(scope, self.minute(now))]

    def spend(self, scopes: Iterable[str], now: datetime) -> None:
        for scope in scopes:
            self._counts[(scope, self.minute(now))] += 1

    @staticmethod
    def seconds_to_reset(now: datetime) -> int:
        return 60 - int(now.timestamp()) % 60
