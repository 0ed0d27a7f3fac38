"""Builders for the live-tracker safety tests: a real local webhook receiver, and a tracker whose cases
cross breach and escalation boundaries *after* casewarden's first run, so their notifications are owed
whatever the adoption rule says about the past.

The receiver is a real ``ThreadingHTTPServer`` on 127.0.0.1: it records the ``Idempotency-Key`` of every
POST it accepted (per URL path, so one receiver serves many runs), and answers as told: ``ok``, ``500``,
``429`` (with ``Retry-After``) or ``hang`` (never answers until released; the request is not counted as
received).
"""

from __future__ import annotations

import sqlite3
import threading
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from casewarden.connectors.local import LocalTracker
from casewarden.sync.engine import Engine, TrackerResult
from casewarden.sync.notify import Channel, WebhookChannel
from tests.policy_fixtures import POLICY
from tests.sync_fixtures import NOW, generated_tracker, make_engine, write_deployment

#: Crossings happen after the first run at NOW: P1 cases opened just before it breach their first
#: response (30 min) and periodic update (1 h) and reach escalation level 2 (2 h, notifies the boss).
LATER = NOW + timedelta(hours=3)

DEPLOYMENT = """
policy: policy.yaml
state: state.sqlite
trackers:
  - name: local
    type: local
    settings: {path: tracker.sqlite}
    batch_size: 3
notifications:
  channels:
    hook: {type: webhook, url: "http://127.0.0.1:9/never-used"}
  contacts: {boss: [hook]}
  on_breach: [hook]
"""


class Receiver:
    """A real webhook endpoint on loopback."""

    def __init__(self) -> None:
        self.mode = "ok"
        self.retry_after = "0"  # what a 429 answer asks the client to wait
        self.lock = threading.Lock()
        self.received: list[tuple[str, str]] = []  # (path, Idempotency-Key) of each accepted POST
        self.attempts: Counter[str] = Counter()  # path -> POSTs that arrived, answered or not
        self.release = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver.lock:
                    receiver.attempts[self.path] += 1
                    mode = receiver.mode
                if mode == "hang":
                    receiver.release.wait(10)
                    return
                if mode in ("500", "429"):
                    self.send_response(int(mode))
                    if mode == "429":
                        self.send_header("Retry-After", receiver.retry_after)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                with receiver.lock:
                    receiver.received.append((self.path, self.headers.get("Idempotency-Key", "")))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def keys(self, path: str = "/hook") -> Counter[str]:
        """How many times each idempotency key was received at ``path``."""
        with self.lock:
            return Counter(key for p, key in self.received if p == path)

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


def receiver() -> Iterator[Receiver]:
    r = Receiver()
    try:
        yield r
    finally:
        r.close()


def webhook(url: str, **kwargs: object) -> WebhookChannel:
    """The real webhook channel, without sleeping between its attempts."""
    options: dict[str, object] = {"url": url, "attempts": 2, "timeout": 5, "sleep": lambda _s: None}
    options.update(kwargs)
    return WebhookChannel("hook", **options)  # type: ignore[arg-type]


def fresh_tracker(directory: Path, *, fresh: int = 8, history: int = 0, deployment: str = DEPLOYMENT) -> Path:
    """A deployment directory whose tracker holds ``fresh`` P1 cases opened five minutes before NOW (and,
    optionally, ``history`` generated cases with two weeks of history)."""
    write_deployment(directory, POLICY, deployment)
    path = directory / "tracker.sqlite"
    tracker = generated_tracker(path, count=history) if history else LocalTracker(path)
    for i in range(fresh):
        tracker.create_case(f"Outage {i}", opened_at=NOW - timedelta(minutes=5), level="P1", status="New")
    tracker.close()
    return path


def cycle(
    directory: Path, at: datetime, channels: dict[str, Channel], *, tracker_clock: datetime | None = None
) -> TrackerResult:
    """One ``run --once`` at ``at``, in a fresh engine and state connection, as cron would start it."""
    stamp = tracker_clock or at + timedelta(seconds=5)
    tracker = LocalTracker(directory / "tracker.sqlite", clock=lambda: stamp)
    engine, state = make_engine(directory, tracker, now=at, channels=channels)
    try:
        return engine.run_once().trackers[0]
    finally:
        state.close()
        tracker.close()


def engine_for(directory: Path, at: datetime, channels: dict[str, Channel]) -> tuple[Engine, LocalTracker]:
    tracker = LocalTracker(directory / "tracker.sqlite", clock=lambda: at + timedelta(seconds=5))
    engine, _state = make_engine(directory, tracker, now=at, channels=channels)
    return engine, tracker


def note_markers(path: Path) -> Counter[str]:
    """How many internal notes carry each marker: more than one means a side effect was done twice."""
    import re

    marker = re.compile(r"\[casewarden:([^\]]+)\]")
    db = sqlite3.connect(path)
    try:
        return Counter(
            m
            for (body,) in db.execute("SELECT body FROM comments WHERE public = 0")
            for m in marker.findall(body or "")
        )
    finally:
        db.close()
