"""The one exception tree of casewarden, and the one place that decides "retry this or not".

Every layer raises from this tree so that the command line can turn any domain failure into a message
that says what to do next (and an exit code), and so that the sync engine can decide from the *class*
alone whether a failure stops a tracker's cycle, is retried, or skips one item::

    CasewardenError
    ├── ConfigError                  the deployment file, or the environment it names, is wrong
    ├── PolicyError                  a policy file is wrong; carries every problem found (PolicyProblem)
    ├── CaseError                    one case cannot be placed by the policy: reported and skipped
    ├── ConnectorError               talking to a tracker failed
    │   ├── FatalConnectorError      credentials, permissions, a malformed request: stop this tracker
    │   ├── RetriableConnectorError  429, 5xx, a dropped connection: retried with backoff   (Transient)
    │   └── SkippableConnectorError  one item was refused (validation, gone): record it and go on
    ├── NotifyError                  a notification channel failed for good
    │   └── RetriableNotifyError     SMTP 4xx, webhook 429/5xx, a dropped connection       (Transient)
    └── StateError                   the state store cannot be opened, read or written
        └── LockedError              another runner holds the deployment's lease

``Transient`` is a mixin, not a branch: "try again" is carried by the exception itself, with the wait
the server asked for in :attr:`Transient.retry_after`. :func:`is_retriable` is the only test of it, and
:func:`error_for_status` the only mapping from an HTTP answer to a branch of the tree, so connectors and
notification channels cannot drift apart (one honouring ``Retry-After``, another hammering the API).

This module imports nothing of casewarden, so every layer (the pure ``policy`` layer included) may
import it.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Literal

__all__ = [
    "CaseError",
    "CasewardenError",
    "ConfigError",
    "ConnectorError",
    "FatalConnectorError",
    "LockedError",
    "NotifyError",
    "PolicyError",
    "PolicyProblem",
    "RetriableConnectorError",
    "RetriableNotifyError",
    "SkippableConnectorError",
    "StateError",
    "StatusClass",
    "Transient",
    "classify_status",
    "error_for_status",
    "is_retriable",
    "retry_after_seconds",
]


class CasewardenError(Exception):
    """Root of every error casewarden raises on purpose."""


class Transient:
    """Mixin for a passing fault: the same call may succeed later, after ``retry_after`` seconds when
    the server said how long (``None``: back off on our own schedule)."""

    retry_after: float | None = None


@dataclass(frozen=True)
class Problem:
    """One located mistake in a file a person wrote, so an editor can jump to it."""

    file: str
    line: int | None
    column: int | None
    path: str
    message: str

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        field = f" {self.path}:" if self.path else ""
        return f"{where}:{field} {self.message}"


PolicyProblem = Problem


class ConfigError(CasewardenError):
    """The deployment file or the environment it names is wrong.

    Built from a message, or from located :class:`Problem` s (then every one is reported at once)."""

    def __init__(self, message: str | list[Problem]):
        if isinstance(message, list):
            self.problems: list[Problem] = message
            message = "\n".join(str(p) for p in message)
        else:
            self.problems = []
        super().__init__(message)


class PolicyError(CasewardenError):
    """A policy file has one or more mistakes; all of them are reported at once."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class CaseError(CasewardenError):
    """The policy cannot place a case (unknown level or status, missing region, ...)."""

    def __init__(self, case_id: str, reason: str):
        self.case_id = case_id
        self.reason = reason
        super().__init__(f"case {case_id}: {reason}")


class ConnectorError(CasewardenError):
    """A tracker call failed."""


class FatalConnectorError(ConnectorError):
    """Retrying will not help (credentials, permissions, a request the tracker rejects as malformed)."""


class RetriableConnectorError(Transient, ConnectorError):
    """A passing fault: rate limit, server error, dropped connection."""

    def __init__(self, message: str, retry_after: float | None = None):
        self.retry_after = retry_after
        super().__init__(message)


class SkippableConnectorError(ConnectorError):
    """One item was refused; the rest of the batch and the cycle go on."""


class NotifyError(CasewardenError):
    """A notification could not be delivered, and trying again now will not help."""


class RetriableNotifyError(Transient, NotifyError):
    """A notification channel failed for now (SMTP 4xx, HTTP 429/5xx, a dropped connection)."""

    def __init__(self, message: str, retry_after: float | None = None):
        self.retry_after = retry_after
        super().__init__(message)


class StateError(CasewardenError):
    """The state store cannot be opened, migrated or written."""


class LockedError(StateError):
    """Another runner holds the lease on this deployment's state."""


# ---------------------------------------------------------------------------------------------------
# Retry or fail, decided here.

StatusClass = Literal["ok", "retry", "fatal", "skip"]

_RETRY: frozenset[int] = frozenset({408, 425, 429, 500, 502, 503, 504})
_FATAL: frozenset[int] = frozenset({401, 403})
_SKIP: frozenset[int] = frozenset({400, 404, 409, 410, 422})

# RFC 9110 delta-seconds is digits only; a sign and a fraction are tolerated because real servers send
# them, and a negative value simply means "now".
_DELTA_SECONDS = re.compile(r"[+-]?\d+(?:\.\d+)?")


def classify_status(status: int) -> StatusClass:
    """Decide from an HTTP status alone what the caller does next.

    * ``ok``: 2xx;
    * ``retry``: the server or the path to it is struggling, or we are rate limited (408, 425, 429,
      and every 5xx);
    * ``fatal``: credentials or permissions are wrong (401, 403) or the request is broken in a way the
      next one will share (any other 4xx): stop instead of repeating it;
    * ``skip``: this one item was refused (400, 404, 409, 410, 422): record it and go on.

    Anything else (1xx, 3xx, nonsense) is ``fatal``: callers do not follow redirects, so reaching one
    means a misconfigured endpoint that retrying will not fix.
    """
    if 200 <= status <= 299:
        return "ok"
    if status in _RETRY:
        return "retry"
    if status in _FATAL:
        return "fatal"
    if status in _SKIP:
        return "skip"
    if 400 <= status <= 499:
        return "fatal"
    if 500 <= status <= 599:
        return "retry"
    return "fatal"


def retry_after_seconds(value: str | None, *, now: datetime, cap: float = 300.0) -> float | None:
    """How long a ``Retry-After`` header asks us to wait, in seconds, or ``None`` if it says nothing usable.

    The header is either delta-seconds or an HTTP date. A wait in the past (or a negative delta) means
    "go now" (0); a huge wait is capped at ``cap`` so that one misbehaving server cannot park a sync
    cycle for hours. ``now`` is passed in so the function stays pure and testable; a naive ``now`` or a
    date without zone is taken as UTC, which is what HTTP dates are.
    """
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    if _DELTA_SECONDS.fullmatch(text):
        seconds = float(text)
    else:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        reference = now if now.tzinfo is not None else now.replace(tzinfo=UTC)
        seconds = (when - reference).total_seconds()
    if not math.isfinite(seconds):
        return None
    return min(max(seconds, 0.0), cap)


def error_for_status(
    status: int, message: str, *, retry_after: str | None = None, now: datetime | None = None
) -> ConnectorError | None:
    """The branch of the tree an HTTP answer from a tracker belongs to (None for 2xx).

    ``message`` says what was being done, never what the server answered: bodies carry customer data.
    ``retry_after`` is the raw ``Retry-After`` header; ``now`` defaults to the wall clock (an HTTP date
    is relative to it)."""
    verdict = classify_status(status)
    if verdict == "ok":
        return None
    text = f"{message}: HTTP {status}"
    if verdict == "retry":
        wait = retry_after_seconds(retry_after, now=now or datetime.now(UTC))
        return RetriableConnectorError(text, retry_after=wait)
    if verdict == "skip":
        return SkippableConnectorError(text)
    return FatalConnectorError(text)


def is_retriable(exc: BaseException) -> bool:
    """Whether a failed call is worth repeating: a :class:`Transient` error, or a dropped connection
    or timeout from ``requests`` (but not a TLS failure: a certificate that does not verify will not
    verify on the next attempt either)."""
    if isinstance(exc, Transient):
        return True
    try:
        import requests
    except ImportError:  # pragma: no cover - requests is a dependency
        return False
    if isinstance(exc, requests.exceptions.SSLError):
        return False
    return isinstance(exc, requests.ConnectionError | requests.Timeout)
