"""The retry loop every outbound call uses: tracker APIs, webhooks, SMTP.

*Whether* to retry is decided by the exception (:mod:`casewarden.errors`: :func:`is_retriable`,
:func:`error_for_status`); this module decides only *how*: at most so many attempts, exponential
backoff with full jitter, or exactly the wait the server asked for (``Retry-After``), capped, and never
more than a deadline allows. Trackers' own client libraries retry too (zenpy waits out 429s, jira's
``ResilientSession`` retries 429/503): connectors configure those instead of stacking this loop on top
of them, and use this loop only for what the library leaves alone.
"""

from __future__ import annotations

import logging
import math
import random
import time
from collections.abc import Callable

import tenacity

from casewarden.errors import (
    classify_status,
    error_for_status,
    is_retriable,
    retry_after_seconds,
)

__all__ = [
    "classify_status",
    "error_for_status",
    "is_retriable",
    "retry_after_seconds",
    "retrying",
]

log = logging.getLogger("casewarden.retrying")


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


class _StopAtDeadline(tenacity.stop.stop_base):
    """Stop when the next wait would end past ``deadline`` (a ``clock`` instant): a sync cycle has a
    time budget, and a retry that cannot finish inside it is better left to the next cycle."""

    def __init__(self, deadline: float, clock: Callable[[], float]) -> None:
        self.deadline = deadline
        self.clock = clock

    def __call__(self, retry_state: tenacity.RetryCallState) -> bool:
        return self.clock() + retry_state.upcoming_sleep > self.deadline


def retrying(
    *,
    attempts: int = 5,
    base: float = 0.5,
    cap: float = 30.0,
    deadline: float | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    rng: random.Random | None = None,
) -> tenacity.Retrying:
    """The project's retry policy as a ``tenacity.Retrying``.

    Retries only passing failures (see :func:`casewarden.errors.is_retriable`), at most ``attempts``
    calls in all and never sleeping past ``deadline`` (an instant of ``clock``, by default
    ``time.monotonic``), then re-raises the last exception itself (not tenacity's RetryError) so
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
    stop: tenacity.stop.stop_base = tenacity.stop_after_attempt(attempts)
    if deadline is not None:
        stop = stop | _StopAtDeadline(deadline, clock)
    return tenacity.Retrying(
        retry=tenacity.retry_if_exception(is_retriable),
        wait=_WaitRetryAfterOrJitter(base=base, cap=cap, rng=rng),
        stop=stop,
        sleep=sleep,
        reraise=True,
        before_sleep=_log_before_sleep,
    )
