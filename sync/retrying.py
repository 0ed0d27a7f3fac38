"""Retry or fail, decided in one place.

Every outbound call casewarden makes (tracker APIs, webhooks, SMTP) faces the same question after a
failure: try again, give up on this item, or stop. Answering it in each connector separately drifts
apart over time (one honours ``Retry-After``, another hammers a rate-limited API), so the answer lives
here:

* :func:`classify_status` maps an HTTP status to ``ok`` / ``retry`` / ``fatal`` / ``skip``, matching
  the branches of :mod:`policy.errors` (RetriableConnectorError, FatalConnectorError,
  SkippableConnectorError);
* :func:`retry_after_seconds` turns a ``Retry-After`` header into a wait, without reading a clock;
* :func:`retrying` builds the one tenacity policy: retry only what is passing, back off with full
  jitter, but wait exactly what the server asked for when it said so.
"""

from __future__ import annotations

import logging
import math
import random
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Literal

import requests
import tenacity

from policy.errors import RetriableConnectorError

__all__ = [
    "RETRIABLE_EXCEPTIONS",
    "StatusClass",
    "classify_status",
    "is_retriable",
    "retry_after_seconds",
    "retrying",
]

log = logging.getLogger("casewarden.retrying")

StatusClass = Literal["ok", "retry", "fatal", "skip"]

#: What :func:`retrying` tries again. ``requests`` failures are listed so that a connector need not
#: wrap every dropped connection itself; everything else must be turned into a
#: :class:`RetriableConnectorError` on purpose by the code that knows it is passing.
RETRIABLE_EXCEPTIONS: tuple[type[BaseException], ...] = (
    RetriableConnectorError,
    requests.ConnectionError,
    requests.Timeout,
)

_RETRY: frozenset[int] = frozenset({408, 425, 429, 500, 502, 503, 504})
_FATAL: frozenset[int] = frozenset({401, 403})
_SKIP: frozenset[int] = frozenset({400, 404, 409, 410, 422})

# RFC 9110 delta-seconds is digits only; a sign and a fraction are tolerated because real servers send
# them, and a negative value simply means "now".
_DELTA_SECONDS = re.compile(r"[+-]?\d+(?:\.\d+)?")


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


def is_retriable(exc: BaseException) -> bool:
    """Whether :func:`retrying` tries again after ``exc``.

    A TLS failure arrives from ``requests`` as a ``ConnectionError`` subclass, but a certificate that
    does not verify will not verify on the next attempt either, so it is not retried.
    """
    if isinstance(exc, requests.exceptions.SSLError):
        return False
    return isinstance(exc, RETRIABLE_EXCEPTIONS)


class _WaitRetryAfterOrJitter(tenacity.wait.wait_base):
    """Wait what the server asked for (``retry_after``), else exponential backoff with full jitter.

    Full jitter (a uniform draw between 0 and the exponential ceiling) spreads the retries of many
    runners hitting the same rate limit instead of having them return in lockstep.
    """

    def __init__(self, *, base: float, cap: float, rng: random.Random | None) -> None:
        self.base = base
        self.cap = cap
        self.rng = rng if rng is not None else random.Random()

    def ceiling(self, attempt_number: int) -> float:
        """The largest jittered wait after failed attempt ``attempt_number`` (1-based)."""
        try:
            raw = self.base * 2.0 ** (attempt_number - 1)
        except OverflowError:
            return self.cap
        return min(raw, self.cap)

    def __call__(self, retry_state: tenacity.RetryCallState) -> float:
        outcome = retry_state.outcome
        exc = outcome.exception() if outcome is not None else None
        retry_after = getattr(exc, "retry_after", None)
        if isinstance(retry_after, int | float) and math.isfinite(retry_after):
            return min(max(float(retry_after), 0.0), self.cap)
        return self.rng.uniform(0.0, self.ceiling(retry_state.attempt_number))


def _log_before_sleep(retry_state: tenacity.RetryCallState) -> None:
    """Default retry log: the exception *type* only, because a ``requests`` message carries the URL,
    and a URL can carry a token."""
    outcome = retry_state.outcome
    exc = outcome.exception() if outcome is not None else None
    wait = retry_state.next_action.sleep if retry_state.next_action is not None else 0.0
    log.info(
        "attempt %d failed (%s); retrying in %.2fs",
        retry_state.attempt_number,
        type(exc).__name__,
        wait,
    )


def retrying(
    *,
    attempts: int = 5,
    base: float = 0.5,
    cap: float = 30.0,
    sleep: Callable[[float], None] = time.sleep,
    rng: random.Random | None = None,
) -> tenacity.Retrying:
    """The project's retry policy as a ``tenacity.Retrying``.

    Retries only passing failures (:data:`RETRIABLE_EXCEPTIONS`, see :func:`is_retriable`), at most
    ``attempts`` calls in all, then re-raises the last exception itself (not tenacity's RetryError) so
    callers keep handling the domain error they know. Waits are exponential with full jitter
    (``uniform(0, min(cap, base * 2**(n-1)))``), except that an exception carrying ``retry_after``
    waits exactly that, capped at ``cap``. ``sleep`` and ``rng`` are injectable so tests run instantly
    and can record the waits. Use it as ``retrying()(fn, *args)`` or ``for attempt in retrying(): ...``;
    ``.copy(before_sleep=...)`` swaps the retry log for a caller's own.
    """
    if attempts < 1:
        raise ValueError(f"attempts must be at least 1, got {attempts}")
    if base < 0 or cap < 0:
        raise ValueError("base and cap must not be negative")
    return tenacity.Retrying(
        retry=tenacity.retry_if_exception(is_retriable),
        wait=_WaitRetryAfterOrJitter(base=base, cap=cap, rng=rng),
        stop=tenacity.stop_after_attempt(attempts),
        sleep=sleep,
        reraise=True,
        before_sleep=_log_before_sleep,
    )
