"""run --every: a failed cycle is logged and the next still runs; SIGTERM stops after the cycle in
progress; a runner that finds the lease held skips its turn."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from casewarden.errors import LockedError
from casewarden.sync.scheduler import run_every


def test_a_failed_cycle_does_not_stop_the_loop(caplog: pytest.LogCaptureFixture) -> None:
    calls: list[int] = []

    def cycle() -> None:
        calls.append(len(calls))
        if len(calls) == 1:
            raise RuntimeError("tracker exploded")
        if len(calls) == 2:
            raise LockedError("another runner holds the lease")

    with caplog.at_level(logging.WARNING, logger="casewarden.scheduler"):
        failures = run_every(1, cycle, max_cycles=3, install_signals=False)
    assert len(calls) == 3
    assert failures == 1  # a skipped (locked) turn is not a failure
    assert "cycle failed: RuntimeError: tracker exploded" in caplog.text
    assert "cycle skipped" in caplog.text


def test_stop_event_ends_the_loop_between_cycles() -> None:
    stop = threading.Event()
    calls: list[float] = []

    def cycle() -> None:
        calls.append(time.monotonic())
        stop.set()

    run_every(60, cycle, stop=stop, install_signals=False)
    assert len(calls) == 1


SCRIPT = textwrap.dedent("""
    import sys, time
    sys.path.insert(0, {root!r})
    from casewarden.sync.scheduler import run_every
    done = []
    def cycle():
        print("cycle start", flush=True)
        time.sleep(1.0)
        done.append(1)
        print("cycle end", flush=True)
    failures = run_every(1, cycle)
    print(f"stopped after {{len(done)}} cycle(s), failures={{failures}}", flush=True)
""")


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_sigterm_stops_after_the_cycle_in_progress() -> None:
    root = str(Path(__file__).resolve().parents[1])
    proc = subprocess.Popen(
        [sys.executable, "-c", SCRIPT.format(root=root)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "cycle start"
    os.kill(proc.pid, signal.SIGTERM)  # mid-cycle
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0
    assert out.splitlines() == ["cycle end", "stopped after 1 cycle(s), failures=0"]
