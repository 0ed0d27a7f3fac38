"""The notification outbox's rules, one at a time: retries back off and end in a reported give-up, a
cycle's notification time is bounded and the next cycle carries on, a channel's own retries stop at the
cycle's budget, a lost lease stops sending at once, a channel that crashes or was removed fails alone."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from casewarden.connectors.local import LocalTracker
from casewarden.errors import NotifyError
from casewarden.sync.deployment import load_deployment
from casewarden.sync.doctor import run_doctor
from casewarden.sync.engine import Engine, LeaseLost, TrackerResult
from casewarden.sync.lease import LeaseKeeper
from casewarden.sync.notify import Notification
from casewarden.sync.report import build_report, report_as_json
from casewarden.sync.state import StateStore
from tests.policy_fixtures import policy
from tests.safety_fixtures import DEPLOYMENT, LATER, Receiver, cycle, fresh_tracker, receiver, webhook
from tests.sync_fixtures import NOW, RecordingChannel

OWED = 24  # 8 fresh P1 cases x (first response breach, periodic update breach, escalation level 2)


@pytest.fixture
def hook() -> Iterator[Receiver]:
    yield from receiver()


def deployment(extra: str) -> str:
    return DEPLOYMENT + "".join(f"  {line}\n" for line in extra.strip().splitlines())


class Failing:
    """An endpoint that is down: every send fails, and each attempt is recorded with the cycle's now."""

    name = "hook"

    def __init__(self) -> None:
        self.attempts: dict[str, list[datetime]] = defaultdict(list)
        self.at = NOW

    def send(self, n: Notification) -> None:
        self.attempts[n.key].append(self.at)
        raise NotifyError("webhook channel 'hook' (http://127.0.0.1/***): HTTP 503")


def test_failed_notifications_back_off_then_are_given_up_and_reported(tmp_path: Path) -> None:
    fresh_tracker(
        tmp_path,
        deployment=deployment(
            "retry: {backoff: 1 minute, max_backoff: 10 minutes, max_age: 1 hour}\npause_after: 1000"
        ),
    )
    down = Failing()
    cycle(tmp_path, NOW, {"hook": down})
    results: list[TrackerResult] = []
    for minute in range(0, 70):
        down.at = LATER + timedelta(minutes=minute)
        results.append(cycle(tmp_path, down.at, {"hook": down}))
    minutes = {
        key: [int((t - LATER).total_seconds() // 60) for t in times] for key, times in down.attempts.items()
    }
    first = {key: m for key, m in minutes.items() if m[0] == 0}  # owed at LATER (later crossings follow)
    assert len(first) == OWED
    # 1, 2, 4, 8 minutes apart, then capped at 10, until an hour after it was first owed
    assert set(map(tuple, first.values())) == {(0, 1, 3, 7, 15, 25, 35, 45, 55)}
    given_up = results[65].notify_given_up
    assert len(given_up) == OWED and all(g.split(" via ")[0] in first for g in given_up)
    assert "not delivered within 1 hour (9 attempt(s))" in given_up[0]
    assert all(not r.notify_given_up for r in results[:65])

    state = StateStore(tmp_path / "state.sqlite")
    try:
        report = build_report(state, until=LATER + timedelta(hours=2))
        assert report.notifications["given_up"] == OWED and len(report.given_up) == 20
        assert report_as_json(report)["notifications"]["by_status"]["given_up"] == OWED
    finally:
        state.close()
    checks = {
        c.name: c
        for c in run_doctor(load_deployment(tmp_path / "casewarden.yaml"), now=LATER + timedelta(hours=2))
    }
    assert not checks["deliveries"].ok and f"{OWED} notification(s) given up" in checks["deliveries"].detail


class FakeTimer:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Slow:
    """A healthy endpoint that takes 45 seconds to answer (on a fake monotonic clock)."""

    name = "hook"

    def __init__(self, timer: FakeTimer) -> None:
        self.timer = timer
        self.inner = RecordingChannel()

    def send(self, n: Notification) -> None:
        self.timer.now += 45
        self.inner.send(n)


def run_with_timer(directory: Path, at: datetime, channel: Slow, timer: FakeTimer) -> TrackerResult:
    tracker = LocalTracker(directory / "tracker.sqlite", clock=lambda: at + timedelta(seconds=5))
    state = StateStore(directory / "state.sqlite")
    try:
        engine = Engine(
            load_deployment(directory / "casewarden.yaml"),
            policy(),
            state,
            {"local": tracker},
            {"hook": channel},
            lambda: at,
            timer=timer,
        )
        return engine.run_once().trackers[0]
    finally:
        state.close()
        tracker.close()


def test_the_notification_budget_stops_a_cycle_cleanly_and_the_next_carries_on(tmp_path: Path) -> None:
    fresh_tracker(tmp_path, deployment=deployment("time_budget: 5 minutes"))
    timer = FakeTimer()
    slow = Slow(timer)
    run_with_timer(tmp_path, NOW, slow, timer)
    sent: list[int] = []
    deferred: list[int] = []
    for i in range(5):
        r = run_with_timer(tmp_path, LATER + timedelta(minutes=5 * i), slow, timer)
        sent.append(r.notified)
        deferred.append(r.notify_deferred)
    # 300 s at 45 s a send: the 7th starts at 270 s, then the cycle stops sending
    assert sent == [7, 7, 7, 3, 0] and deferred == [17, 10, 3, 0, 0]
    keys = [n.key for n in slow.inner.sent]
    assert len(keys) == len(set(keys)) == OWED


def test_a_channel_never_retries_past_the_cycles_budget(hook: Receiver) -> None:
    hook.mode = "429"
    hook.retry_after = "5"
    waits: list[float] = []
    channel = webhook(hook.url("/budget"), attempts=5, sleep=waits.append)
    n = Notification("C-1:escalation.0.notify:2:0", "C-1", "local://case/C-1", "P1", "t", "r", "s", "x")
    with pytest.raises(NotifyError):
        channel.send(n)
    assert len(waits) == 4, "unbounded: every attempt, waiting what the server asked for"
    channel.budget.start(1.0)  # what the engine does before each send: the cycle has one second left
    waits.clear()
    with pytest.raises(NotifyError):
        channel.send(n)
    assert waits == [] and hook.attempts["/budget"] == 6, "a 5 s wait would pass the budget: no retry"


def test_a_lost_lease_stops_sending_at_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fresh_tracker(tmp_path)
    channel = RecordingChannel()
    cycle(tmp_path, NOW, {"hook": channel})
    monkeypatch.setattr(LeaseKeeper, "lost", property(lambda self: len(channel.sent) >= 2))
    with pytest.raises(LeaseLost):
        cycle(tmp_path, LATER, {"hook": channel})
    assert len(channel.sent) == 2
    monkeypatch.undo()
    # the lease left behind is a live runner's as far as the state can tell: the next run waits it out
    cycle(tmp_path, LATER + timedelta(minutes=16), {"hook": channel})
    keys = [n.key for n in channel.sent]
    assert len(keys) == len(set(keys)) == OWED, "the next runner sends the rest, nothing twice"


class Crashing:
    name = "hook"

    def send(self, n: Notification) -> None:
        raise KeyError("a bug in a channel")


def test_a_channel_that_crashes_fails_its_deliveries_not_the_cycle(tmp_path: Path) -> None:
    fresh_tracker(tmp_path)
    cycle(tmp_path, NOW, {"hook": Crashing()})
    result = cycle(tmp_path, LATER, {"hook": Crashing()})
    assert result.error is None and result.applied > 0
    assert len(result.notify_failed) == 3 and result.notify_paused == ["hook"]
    assert "failed unexpectedly (KeyError)" in result.notify_failed[0]
    healthy = RecordingChannel()
    cycle(tmp_path, LATER + timedelta(minutes=10), {"hook": healthy})
    assert len({n.key for n in healthy.sent}) == OWED


def test_a_notification_for_a_channel_that_was_removed_is_given_up(tmp_path: Path) -> None:
    fresh_tracker(tmp_path)
    cycle(tmp_path, NOW, {"hook": RecordingChannel()})
    result = cycle(tmp_path, LATER, {})
    assert len(result.notify_given_up) == OWED
    assert "no notification channel named 'hook'" in result.notify_given_up[0]


def test_a_confirmed_run_releases_what_was_held_even_what_it_cannot_send(tmp_path: Path) -> None:
    fresh_tracker(tmp_path, deployment=deployment("max_per_cycle: 10"))
    healthy = RecordingChannel()
    cycle(tmp_path, NOW, {"hook": healthy})
    assert cycle(tmp_path, LATER, {"hook": healthy}).notify_held == 14
    tracker = LocalTracker(tmp_path / "tracker.sqlite", clock=lambda: LATER)
    state = StateStore(tmp_path / "state.sqlite")
    engine = Engine(
        load_deployment(tmp_path / "casewarden.yaml"),
        policy(),
        state,
        {"local": tracker},
        {"hook": Failing()},
        lambda: LATER + timedelta(minutes=5),
    )
    confirmed = engine.run_once(confirm=True).trackers[0]
    assert (
        len(confirmed.notify_failed) == 3 and confirmed.notify_deferred == 11 and confirmed.notify_held == 0
    )
    assert "held" not in state.outbox_counts()
    state.close()
    tracker.close()
    # released, they are owed like any other: the cap of a cycle without --yes applies to them again
    later = cycle(tmp_path, LATER + timedelta(minutes=30), {"hook": healthy})
    assert later.notified == 10 and later.notify_held == 4
