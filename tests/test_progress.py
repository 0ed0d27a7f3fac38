"""Progress shows a total, a rate and an ETA, counts cases (not changes), and follows notifications as
they are sent; it is live on a terminal and plain log lines otherwise. Every cycle leaves one structured
log record with its timestamp and counts."""

from __future__ import annotations

import io
import json
import logging
from collections import defaultdict
from pathlib import Path

import pytest
from click.testing import CliRunner
from rich.console import Console

from casewarden.sync.cli import main
from casewarden.sync.deployment import load_deployment
from casewarden.sync.progress import CycleProgress
from casewarden.sync.wiring import Runtime
from tests.test_cli import deployment, hook  # noqa: F401  (fixtures)
from tests.test_exit_codes import _notifying

Deployment = tuple[Path, dict[str, str]]


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_plain_lines_carry_the_total_the_rate_and_the_eta(caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock()
    progress = CycleProgress(Console(file=io.StringIO()), live=False, every=10, clock=clock)
    with caplog.at_level(logging.INFO, logger="casewarden.progress"):
        progress("cases read", 0, 4000)
        for _ in range(10):
            clock.now += 2
            progress("cases read", 100)
        progress.close()
    lines = [r.getMessage() for r in caplog.records]
    # one line per 10 s while it runs (at 10 and 20 s), and where it ended
    assert lines == [
        "cases read: 500 of 4,000 (50/s, ETA 1 min 10 s, 10.0 s)",
        "cases read: 1,000 of 4,000 (50/s, ETA 1 min 00 s, 20.0 s)",
        "cases read: 1,000 of 4,000 (50/s, ETA 1 min 00 s, 20.0 s)",
    ]
    assert caplog.records[0].__dict__["total"] == 4000 and caplog.records[0].__dict__["per_second"] == 50.0


def test_without_a_total_there_is_a_rate_and_no_eta() -> None:
    clock = Clock()
    progress = CycleProgress(Console(file=io.StringIO()), live=False, clock=clock)
    progress("cases written", 0)  # a phase starts when it is first heard of
    clock.now += 4
    progress("cases written", 200)
    assert progress.lines() == ["cases written: 200 (50/s, 4.0 s)"]
    progress("notifications sent", 0, 3)
    progress("notifications sent", 3)
    assert progress.lines()[1] == "notifications sent: 3 of 3 (-/s, done, 0.0 s)"


def test_on_a_terminal_it_is_a_live_display_with_total_rate_and_eta() -> None:
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=120, color_system=None)
    clock = Clock()
    progress = CycleProgress(console, clock=clock)
    assert progress.live
    progress("cases read", 0, 3000)
    clock.now += 2
    progress("cases read", 1000)
    assert progress._bar is not None
    progress._bar.refresh()
    progress.close()
    shown = out.getvalue()
    assert "cases read" in shown and "1000/3000" in shown and "/s" in shown and "0:00:0" in shown


def test_the_engine_counts_cases_and_notifications(deployment: Deployment) -> None:  # noqa: F811
    config, env = deployment
    _notifying(config)
    calls: dict[str, list[tuple[int, int | None]]] = defaultdict(list)

    def record(label: str, n: int, total: int | None = None, /) -> None:
        calls[label].append((n, total))

    with Runtime(load_deployment(config), environ=env, progress=record) as rt:
        result = rt.engine.run_once()
    [t] = result.trackers
    read = calls["cases read"]
    assert read[0][1] == t.read == 60, "the tracker tells the total on the first page"
    assert sum(n for n, _ in read) == t.read
    written = sum(n for n, _ in calls["cases written"])
    changed_cases = len({c.case_id for c in t.changes})
    assert written == changed_cases < len(t.changes), "cases, not changes"
    sent = calls["notifications sent"]
    assert t.notified > 0 and sum(n for n, _ in sent) == t.notified
    assert max(total or 0 for _n, total in sent) >= t.notified


def test_one_structured_record_per_cycle_in_json(deployment: Deployment) -> None:  # noqa: F811
    config, env = deployment
    result = CliRunner().invoke(
        main, ["--log-format", "json", "--log-level", "info", "run", "--once", "-c", str(config)], env=env
    )
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.stderr.splitlines()]
    cycles = [r for r in records if r.get("event") == "cycle"]
    assert len(cycles) == 1
    [cycle] = cycles
    assert cycle["mode"] == "run" and cycle["read"] == 60 and cycle["applied"] > 0
    assert cycle["ts"] and cycle["at"] and cycle["run_id"] == 1 and cycle["seconds"] >= 0
    assert {r["phase"] for r in records if r.get("event") == "progress"} >= {"cases read", "cases written"}


def test_demo_shows_progress(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main, ["--log-level", "info", "demo", "--cases", "40", "--keep", str(tmp_path / "d")]
    )
    assert result.exit_code == 0, result.output
    assert "cases read: 40 of 40" in result.stderr
    assert "notifications sent:" in result.stderr
