"""Builders for sync tests: a generated embedded tracker, a deployment around it, a dump of its state."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from casewarden.connectors.base import Change, Connector
from casewarden.connectors.local import LocalTracker
from casewarden.connectors.local.generator import generate
from casewarden.policy.loader import load_policy_text
from casewarden.sync.deployment import load_deployment
from casewarden.sync.engine import Engine
from casewarden.sync.notify import Channel, Notification
from casewarden.sync.state import StateStore
from tests.policy_fixtures import POLICY

NOW = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
APPLY_AT = NOW + timedelta(seconds=5)

DEPLOYMENT = """
policy: policy.yaml
state: state.sqlite
trackers:
  - name: local
    type: local
    settings: {path: tracker.sqlite}
    batch_size: 50
notifications:
  channels:
    hook: {type: webhook, url: "http://127.0.0.1:9/never-used"}
  contacts: {boss: [hook]}
"""

#: The same deployment asking for a backfill: the generated histories' past breaches and escalations are
#: notified too (without it, adoption holds back everything that crossed before the first run).
BACKFILL = DEPLOYMENT + "  adoption: {backfill: true, horizon: null}\n  max_per_cycle: null\n"


class RecordingChannel:
    """Stands in for a delivery channel where the test is about the engine, not the wire."""

    def __init__(self, name: str = "hook") -> None:
        self.name = name
        self.sent: list[Notification] = []

    def send(self, n: Notification) -> None:
        self.sent.append(n)


def write_deployment(directory: Path, policy_text: str = POLICY, deployment_text: str = DEPLOYMENT) -> Path:
    (directory / "policy.yaml").write_text(policy_text)
    path = directory / "casewarden.yaml"
    path.write_text(deployment_text)
    return path


def generated_tracker(
    path: Path,
    *,
    count: int = 120,
    seed: int = 3,
    clock: Callable[[], datetime] = lambda: APPLY_AT,
    fail: Callable[[Change], Exception | None] | None = None,
) -> LocalTracker:
    tracker = LocalTracker(path, clock=clock, fail=fail)
    if tracker.count() == 0:
        pol = load_policy_text(POLICY)
        generate(
            tracker,
            count=count,
            levels=[lv.id for lv in pol.levels_by_rank],
            statuses={s.name: s.category.value for s in pol.statuses.values()},
            start=NOW - timedelta(days=14),
            end=NOW - timedelta(minutes=1),
            seed=seed,
            milestones=["restoration", "temporary_fix"],
        )
    return tracker


def make_engine(
    directory: Path, tracker: Connector, *, now: datetime = NOW, channels: Mapping[str, Channel] | None = None
) -> tuple[Engine, StateStore]:
    deployment = load_deployment(directory / "casewarden.yaml")
    policy = load_policy_text((directory / "policy.yaml").read_text())
    state = StateStore(deployment.state_path)
    engine = Engine(
        deployment,
        policy,
        state,
        {"local": tracker},
        channels if channels is not None else {"hook": RecordingChannel()},
        lambda: now,
    )
    return engine, state


def dump_tracker(path: Path) -> dict[str, Any]:
    """Everything a person would see on the tracker, for comparing two runs."""
    db = sqlite3.connect(path)
    try:
        tables = [
            r[0]
            for r in db.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' "
                "AND name NOT LIKE 'sqlite_%' AND name != 'meta'"
            )
        ]
        out: dict[str, Any] = {}
        for t in sorted(tables):
            cols = [r[1] for r in db.execute(f"PRAGMA table_info({t})") if r[1] not in ("id", "rowid")]
            out[t] = sorted(map(repr, db.execute(f"SELECT {', '.join(cols)} FROM {t}").fetchall()))
        return out
    finally:
        db.close()
