"""Sending what the notification outbox owes, within the bounds of one cycle.

A notification is queued in the outbox in the same transaction as the page of cases that asked for it,
after the tracker's writes; it is sent afterwards, on its own, so nothing about it is lost or repeated
when the process dies anywhere:

* **pending only around its own send.** A delivery is marked ``pending`` (committed) right before it is
  sent and ``done`` or ``failed`` right after. A process that dies leaves queued deliveries queued (they
  are sent by the next cycle) and at most the one it was sending ``pending``: that one is sent again,
  under the same idempotency key (the webhook's ``Idempotency-Key`` header, the e-mail's Message-ID),
  so a receiver that already has it can drop the copy. No other notification is ever sent twice.
* **failed ones are tried again on later cycles**, after ``retry.backoff``, doubling up to
  ``retry.max_backoff``, until they are ``retry.max_age`` old; then they are given up and reported (the
  run summary, ``report``, ``doctor``).
* **a cycle's sending is bounded**: ``max_per_cycle`` deliveries at most (the rest are held until
  ``run --yes``), ``time_budget`` seconds at most (the rest wait for the next cycle), and a channel that
  fails ``pause_after`` times in a row is paused for the rest of the cycle instead of eating its time.
  Each channel's own ``timeout`` bounds one attempt; the budget's remainder bounds a channel's own retries.

One :class:`Dispatcher` serves a whole cycle, so the cap, the budget and paused channels are the cycle's,
shared by every tracker and page.
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from casewarden.connectors.base import CycleBudget
from casewarden.errors import NotifyError
from casewarden.sync.deployment import Notifications
from casewarden.sync.notify import Channel, Notification
from casewarden.sync.progress import ProgressFn, no_progress
from casewarden.sync.state import AuditRow, OutboxRow, StateStore

log = logging.getLogger("casewarden.sync")


@dataclass
class Drained:
    """What one pass over a tracker's outbox did."""

    sent: int = 0
    failed: list[str] = field(default_factory=list)  # "key via channel: why", to be tried again
    given_up: list[str] = field(default_factory=list)
    held: int = 0  # over the cycle's cap: waiting for run --yes
    deferred: int = 0  # out of time, or its channel paused: the next cycle carries on


class Dispatcher:
    """One cycle's sending. ``timer`` is a monotonic clock (seconds) for the time budget; ``now`` (the
    cycle's instant) stamps every state change, so retries are scheduled on the cycle's clock."""

    def __init__(
        self,
        state: StateStore,
        channels: Mapping[str, Channel],
        settings: Notifications,
        timer: Callable[[], float],
        *,
        confirm: bool = False,
        check_lease: Callable[[], None] = lambda: None,
        progress: ProgressFn = no_progress,
    ) -> None:
        self.state = state
        self.progress = progress
        self.channels = channels
        self.settings = settings
        self.timer = timer
        self.confirm = confirm
        self.check_lease = check_lease
        self.attempted = 0  # deliveries tried this cycle, against max_per_cycle
        self.spent = 0.0  # seconds spent sending this cycle, against time_budget
        self.streak: Counter[str] = Counter()  # failures in a row per channel
        self.paused: list[str] = []
        self._told_out_of_time = False
        self._released: set[str] = set()  # trackers whose held notifications a confirmed run released

    # -- bounds -----------------------------------------------------------------------------------------
    def remaining(self) -> float:
        budget = self.settings.time_budget
        return math.inf if budget is None else budget - self.spent

    def room(self) -> float:
        """How many more deliveries the cap allows this cycle."""
        cap = self.settings.max_per_cycle
        return math.inf if cap is None or self.confirm else cap - self.attempted

    def preview(self, due: int) -> int:
        """For ``plan``: of ``due`` deliveries owed now, how many the cap would hold; counts the rest as
        sent, so later trackers of the same cycle see the cap as a run would."""
        fits = int(min(due, max(self.room(), 0)))
        self.attempted += fits
        return due - fits

    # -- sending ----------------------------------------------------------------------------------------
    def drain(self, tracker: str, run_id: int, now: datetime, *, final: bool = True) -> Drained | None:
        """Send what ``tracker``'s outbox owes now, within the cycle's bounds. A drain that is not the
        tracker's ``final`` one (after each page) is skipped once nothing more can be sent this cycle; the
        final one also marks what is over the cap as held and counts what is left (None: skipped)."""
        if not final and (self.remaining() <= 0 or self.room() <= 0):
            return None
        if self.confirm and tracker not in self._released:
            self.state.release_held(tracker)
            self._released.add(tracker)
        got = Drained()
        hold: list[OutboxRow] = []
        due = self.state.outbox_due(tracker, now)
        if due:  # the total: what was tried so far this cycle and what is owed now
            self.progress("notifications sent", 0, self.attempted + len(due))
        for row in due:
            age = now - row.created_at
            if age >= timedelta(seconds=self.settings.retry.max_age):
                why = f"not delivered within {_span(self.settings.retry.max_age)} ({row.attempts} attempt(s))"
                self._give_up(tracker, run_id, now, row, why, got)
                continue
            channel = self.channels.get(row.channel)
            if channel is None:
                self._give_up(
                    tracker, run_id, now, row, f"no notification channel named '{row.channel}'", got
                )
                continue
            if row.status == "held" and not self.confirm:
                got.held += 1
                continue
            if row.channel in self.paused:
                got.deferred += 1
                continue
            if self.remaining() <= 0:
                if not self._told_out_of_time:
                    log.warning("notification time budget used up; the next cycle carries on")
                    self._told_out_of_time = True
                got.deferred += 1
                continue
            if self.room() <= 0:
                hold.append(row)
                continue
            self._send(tracker, run_id, now, row, channel, got)
            self.progress("notifications sent", 1)
        if hold:
            with self.state.transaction() as db:
                why = f"over notifications.max_per_cycle ({self.settings.max_per_cycle}); run --yes to send"
                for row in hold:
                    self.state.outbox_finish(db, tracker, row.key, row.channel, "held", now, detail=why)
            got.held += len(hold)
            log.warning(
                "%d notification(s) held: more than notifications.max_per_cycle (%s) in one cycle; check "
                "'casewarden plan' and send them with 'casewarden run --yes'",
                len(hold),
                self.settings.max_per_cycle,
            )
        return got

    def _send(
        self, tracker: str, run_id: int, now: datetime, row: OutboxRow, channel: Channel, got: Drained
    ) -> None:
        message = Notification(**row.message)
        self.check_lease()
        self.state.outbox_start(tracker, row.key, row.channel, now)
        self.attempted += 1
        budget = getattr(channel, "budget", None)
        if isinstance(budget, CycleBudget):  # the channel bounds its own retries by what is left
            budget.start(None if math.isinf(self.remaining()) else self.remaining())
        started = self.timer()
        error: str | None = None
        try:
            channel.send(message)
        except NotifyError as exc:  # its message names the channel, never a secret or customer data
            error = str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__
        except Exception as exc:  # a channel's bug must not stop the cycle: it is a failed delivery
            error = f"the channel failed unexpectedly ({type(exc).__name__})"
            log.exception("notification channel %s raised an unexpected error", row.channel)
        finally:
            self.spent += self.timer() - started
        attempts = row.attempts + 1
        with self.state.transaction() as db:
            if error is None:
                self.state.outbox_finish(db, tracker, row.key, row.channel, "done", now)
            else:
                retry = self.settings.retry
                wait = min(retry.backoff * 2 ** (attempts - 1), retry.max_backoff)
                self.state.outbox_finish(
                    db,
                    tracker,
                    row.key,
                    row.channel,
                    "failed",
                    now,
                    next_at=now + timedelta(seconds=wait),
                    detail=error,
                )
            self.state.audit(db, run_id, now, [_audit(tracker, row, message, error)])
        if error is None:
            got.sent += 1
            self.streak[row.channel] = 0
            return
        got.failed.append(f"{row.key} via {row.channel}: {error}")
        log.error(
            "notification %s via %s failed (attempt %d; tried again later): %s",
            row.key,
            row.channel,
            attempts,
            error,
        )
        self.streak[row.channel] += 1
        if self.streak[row.channel] >= self.settings.pause_after and row.channel not in self.paused:
            self.paused.append(row.channel)
            log.error(
                "notification channel %s failed %d times in a row: paused for the rest of this cycle",
                row.channel,
                self.streak[row.channel],
            )

    def _give_up(
        self, tracker: str, run_id: int, now: datetime, row: OutboxRow, why: str, got: Drained
    ) -> None:
        with self.state.transaction() as db:
            self.state.outbox_finish(db, tracker, row.key, row.channel, "given_up", now, detail=why)
            self.state.audit(db, run_id, now, [_audit(tracker, row, None, f"given up: {why}")])
        got.given_up.append(f"{row.key} via {row.channel}: {why}")
        log.error("notification %s via %s given up: %s", row.key, row.channel, why)


def _audit(tracker: str, row: OutboxRow, message: Notification | None, error: str | None) -> AuditRow:
    reason = message.reason if message is not None else str(row.message.get("reason", ""))
    return AuditRow(tracker, row.case_id, "notify", row.channel, None, row.key, reason, error is None, error)


def _span(seconds: float) -> str:
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            n = int(seconds // size)
            return f"{n} {unit}{'s' if n != 1 else ''}"
    return f"{seconds:g} s"


__all__ = ["Dispatcher", "Drained"]
