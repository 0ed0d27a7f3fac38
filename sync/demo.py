"""``casewarden demo``: the whole cycle on one machine with nothing else installed.

A temporary embedded tracker is filled with generated case histories, a deployment is written for a
bundled preset, and the demo shows a plan, one applied cycle (escalations fired, breaches flagged,
statuses moved), a second cycle that writes nothing, and the attainment report.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from rich.console import Console
from rich.rule import Rule

from casewarden.connectors.base import ChangeKind
from casewarden.connectors.local import LocalTracker
from casewarden.connectors.local.generator import generate, policy_profile
from casewarden.policy.loader import load_policy
from casewarden.sync.deployment import load_deployment
from casewarden.sync.engine import CycleResult
from casewarden.sync.init_files import write_init
from casewarden.sync.progress import CycleProgress, no_progress
from casewarden.sync.summary import print_cycle
from casewarden.sync.terminal import cell, say
from casewarden.sync.wiring import Runtime

DEFAULT_PRESET = "priority-lifecycle"


def run_demo(
    console: Console,
    *,
    preset: str = DEFAULT_PRESET,
    cases: int = 300,
    seed: int = 7,
    keep: Path | None = None,
    now: datetime | None = None,
    report_format: str = "table",
    progress: Callable[[], CycleProgress] | None = None,
) -> int:
    now = now or datetime.now(UTC)
    workdir = keep or Path(tempfile.mkdtemp(prefix="casewarden-demo-"))
    pol = load_policy(preset)
    policy_file, deploy_file = write_init(workdir, preset, "local", force=True)
    # a real first run notifies only what crosses from then on (adoption); the demo asks for a backfill so
    # its generated past shows what notifications look like
    text = deploy_file.read_text(encoding="utf-8")
    deploy_file.write_text(
        text.replace("    backfill: false ", "    backfill: true  ").replace(
            "  max_per_cycle: 200 ", "  max_per_cycle: null"
        ),
        encoding="utf-8",
    )
    console.print(Rule(cell(f"casewarden demo: preset {preset}")))
    say(console, f"Working in {workdir} (policy {policy_file.name}, deployment {deploy_file.name})")

    tracker = LocalTracker(workdir / "tracker.sqlite")
    profile = policy_profile(pol)
    generate(tracker, count=cases, start=now - timedelta(days=21), end=now, seed=seed, **profile)
    levels = profile["levels"]
    tracker.close()
    say(
        console,
        f"Generated {cases} case histories over the last 21 days (levels {', '.join(levels)}; seed {seed}).\n",
    )

    deployment = load_deployment(deploy_file)
    with (
        _webhook_receiver() as (url, received),
        Runtime(deployment, clock=lambda: now, environ={**os.environ, "CASEWARDEN_WEBHOOK_URL": url}) as rt,
    ):
        console.print(Rule("1. casewarden plan (changes nothing)"))
        plan = _watched(rt, progress, rt.engine.plan)
        print_cycle(plan, console)
        console.print(Rule("2. casewarden run --once"))
        run = _watched(rt, progress, rt.engine.run_once)
        print_cycle(run, console)
        _highlights(console, run)
        say(console, f"  notifications received by the demo's local webhook ({url}): {len(received)}")
        for body in received[:3]:
            say(console, f"    {body.get('text', '')}")
        console.print(Rule("3. casewarden run --once again: nothing changed, nothing written"))
        again = _watched(rt, progress, rt.engine.run_once)
        print_cycle(again, console)
        console.print(Rule("4. casewarden report"))
        from casewarden.sync.report import build_report, render_report

        render_report(build_report(rt.state, until=now), report_format, None, console)  # type: ignore[arg-type]
    say(
        console,
        f"\nEverything is in {workdir}: try\n  cd {workdir}\n  casewarden plan\n"
        "  casewarden report --format html > report.html",
    )
    return 0 if not any(t.failed for t in run.trackers) else 1


def _watched(
    rt: Runtime, progress: Callable[[], CycleProgress] | None, step: Callable[[], CycleResult]
) -> CycleResult:
    """One cycle of the demo with its progress shown (cases read and written, notifications sent)."""
    if progress is None:
        return step()
    shown = rt.engine.progress = progress()
    try:
        return step()
    finally:
        shown.close()
        rt.engine.progress = no_progress


@contextmanager
def _webhook_receiver() -> Iterator[tuple[str, list[dict[str, object]]]]:
    """A real HTTP server on loopback standing in for the team's chat webhook."""
    received: list[dict[str, object]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            received.append(json.loads(self.rfile.read(length) or b"{}"))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *_args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook", received
    finally:
        server.shutdown()
        server.server_close()


def _highlights(console: Console, result: CycleResult) -> None:
    applied = [r.change for t in result.trackers for r in t.results if r.ok]
    esc = Counter(c.key.split(":")[2] for c in applied if c.key and ":escalation." in c.key)
    breached = {
        c.case_id
        for c in applied
        if c.kind is ChangeKind.SET_FIELD and c.field and c.field.endswith("breached") and c.value
    }
    moved = Counter(c.value for c in applied if c.kind is ChangeKind.SET_STATUS)
    levels = Counter(c.value for c in applied if c.kind is ChangeKind.SET_LEVEL)
    related = sum(1 for c in applied if c.kind is ChangeKind.OPEN_RELATED)
    say(console, "\n", ("What happened", "bold"))
    say(
        console,
        f"  escalation actions fired: {sum(esc.values())} "
        f"({', '.join(f'level {k}: {v}' for k, v in sorted(esc.items())) or 'none'})",
    )
    say(console, f"  cases flagged as breached: {len(breached)}")
    say(
        console,
        f"  statuses moved: {sum(moved.values())} "
        f"({', '.join(f'{k}: {v}' for k, v in moved.most_common()) or 'none'})",
    )
    say(
        console,
        f"  levels set: {sum(levels.values())} "
        f"({', '.join(f'{k}: {v}' for k, v in levels.most_common()) or 'none'})",
    )
    say(console, f"  related cases opened: {related}\n")
