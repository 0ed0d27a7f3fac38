"""Notifications on a live tracker: never silently lost, retried against an endpoint that recovers, and
never allowed to eat a cycle's time. Every delivery is counted at a real local webhook receiver.

Reproductions of issue 9 ("Safe on a live tracker"): a kill while notifying dropped every pending
notification of the page, attempted or not; a failed notification (500, 429 storm, refused, SMTP 451) was
never retried; a hanging webhook cost ~45 s per notification with no bound per cycle.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from casewarden.sync.notify import EmailChannel, Notification
from tests.safety_fixtures import LATER, Receiver, cycle, fresh_tracker, receiver, webhook
from tests.sync_fixtures import NOW


@pytest.fixture
def hook() -> Iterator[Receiver]:
    yield from receiver()


class SimulatedKill(BaseException):
    """The process dying: not an Exception, so nothing in the engine catches it."""


class KilledAt:
    """A channel that dies (the whole process, as far as the engine can tell) at its ``at``-th send,
    before or after the real delivery."""

    def __init__(self, inner: object, at: int, *, after_delivery: bool) -> None:
        self.inner = inner
        self.name = "hook"
        self.at = at
        self.after = after_delivery
        self.calls = 0

    def send(self, n: Notification) -> None:
        self.calls += 1
        if self.calls == self.at and not self.after:
            raise SimulatedKill
        self.inner.send(n)  # type: ignore[attr-defined]
        if self.calls == self.at:
            raise SimulatedKill


def expected_keys(tmp_path: Path, hook: Receiver) -> set[str]:
    """What a fault-free run delivers: the reference every faulty run is held to."""
    ref = tmp_path / "reference"
    ref.mkdir()
    fresh_tracker(ref)
    channel = webhook(hook.url("/reference"))
    for at in (NOW, LATER, LATER + timedelta(seconds=10)):
        cycle(ref, at, {"hook": channel})
    keys = hook.keys("/reference")
    assert keys and max(keys.values()) == 1
    return set(keys)


@pytest.mark.parametrize("after_delivery", [False, True], ids=["before-delivery", "after-delivery"])
def test_a_kill_while_notifying_loses_no_notification(
    tmp_path: Path, hook: Receiver, after_delivery: bool
) -> None:
    """Killed at the 3rd send of a page: the notifications never attempted are sent by the next run, and
    the interrupted one is sent again only under the same idempotency key."""
    expected = expected_keys(tmp_path, hook)
    directory = tmp_path / "killed"
    directory.mkdir()
    fresh_tracker(directory)
    channel = webhook(hook.url("/killed"))
    cycle(directory, NOW, {"hook": channel})
    with pytest.raises(SimulatedKill):
        cycle(directory, LATER, {"hook": KilledAt(channel, 3, after_delivery=after_delivery)})
    rerun = cycle(directory, LATER, {"hook": channel})
    cycle(directory, LATER + timedelta(seconds=10), {"hook": channel})
    got = hook.keys("/killed")
    assert set(got) == expected, f"lost: {sorted(expected - set(got))}"
    resent = {k: n for k, n in got.items() if n > 1}
    assert len(resent) == (1 if after_delivery else 0), "only the interrupted send is repeated"
    assert rerun.notify_resent == 1, "the interrupted send is reported as resent"


@pytest.mark.parametrize("failure", ["500", "429", "refused"])
def test_a_failed_webhook_is_retried_on_a_later_cycle(tmp_path: Path, hook: Receiver, failure: str) -> None:
    expected = expected_keys(tmp_path, hook)
    directory = tmp_path / "failing"
    directory.mkdir()
    fresh_tracker(directory)
    healthy = webhook(hook.url("/failing"))
    cycle(directory, NOW, {"hook": healthy})
    if failure == "refused":
        broken = webhook("http://127.0.0.1:9/nothing-listens-here")
    else:
        hook.mode = failure
        broken = healthy
    failed = cycle(directory, LATER, {"hook": broken})
    assert failed.notify_failed and failed.notified == 0
    hook.mode = "ok"
    # the endpoint is healthy again: the next cycles deliver every failed notification, breaches too
    for minutes in (10, 20, 40):
        cycle(directory, LATER + timedelta(minutes=minutes), {"hook": healthy})
    got = hook.keys("/failing")
    assert set(got) == expected, f"never retried: {sorted(expected - set(got))}"
    assert any(":breach." in k for k in got) and any(":escalation." in k for k in got)
    assert max(got.values()) == 1


def test_a_temporary_smtp_failure_is_retried_on_a_later_cycle(tmp_path: Path, hook: Receiver) -> None:
    from aiosmtpd.controller import Controller

    from tests.test_notify import RecordingHandler, free_port

    handler = RecordingHandler()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port, server_hostname="mx.test")
    controller.start()
    try:
        mail = EmailChannel(
            "hook",
            host="127.0.0.1",
            port=port,
            security="none",
            sender="casewarden@example.com",
            recipients=["oncall@example.com"],
            attempts=2,
            sleep=lambda _s: None,
            local_hostname="casewarden.test",
        )
        directory = tmp_path / "smtp"
        directory.mkdir()
        fresh_tracker(directory, fresh=3)
        cycle(directory, NOW, {"hook": mail})
        handler.data_replies = ["451 4.3.0 Try again later"] * 1000
        failed = cycle(directory, LATER, {"hook": mail})
        assert failed.notify_failed and not handler.messages
        handler.data_replies = []
        for minutes in (10, 20, 40):
            cycle(directory, LATER + timedelta(minutes=minutes), {"hook": mail})
        keys = [r.message["X-Casewarden-Key"] for r in handler.messages]
        assert keys and len(keys) == len(set(keys))
        assert len(keys) == failed.deliveries == 9, "every breach and escalation of the 3 cases, once"
    finally:
        controller.stop()


def test_a_hanging_webhook_is_paused_for_the_rest_of_the_cycle(tmp_path: Path, hook: Receiver) -> None:
    """Each attempt waits out the channel's timeout; after a few in a row the channel is paused, so a
    dead endpoint costs a cycle a few timeouts, not one per notification. The next cycle carries on."""
    expected = expected_keys(tmp_path, hook)
    directory = tmp_path / "hanging"
    directory.mkdir()
    fresh_tracker(directory)
    channel = webhook(hook.url("/hanging"), timeout=0.05, attempts=1)
    cycle(directory, NOW, {"hook": channel})
    hook.mode = "hang"
    hung = cycle(directory, LATER, {"hook": channel})
    assert hook.attempts["/hanging"] == 3, "paused after three failures in a row"
    assert hung.notify_paused == ["hook"] and hung.notify_deferred == len(expected) - 3
    hook.mode = "ok"
    for minutes in (10, 20, 40):
        cycle(directory, LATER + timedelta(minutes=minutes), {"hook": channel})
    assert set(hook.keys("/hanging")) == expected
