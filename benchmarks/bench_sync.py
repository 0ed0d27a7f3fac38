"""Full case evaluations per second, memory per case, and sync cycles over many cases on the embedded
tracker: the first cycle, the cycle that absorbs casewarden's own writes, a cycle with nothing changed
(must write nothing but what timers crossing demand), and a cycle with 1% of cases changed (its cost
should follow the changed cases, not the total). "cases wr." is the number of cases written to: the
connector receives each case's changes together, so a remote tracker needs one request per case (or
one bulk item), not one per change.

Each phase runs in its own process, so the peak memory printed is that phase's own. The tracker stamps
writes with a clock that advances per batch, as a real tracker does.

Run: python -m benchmarks.bench_sync [--cases 100000] [--quick]
"""

from __future__ import annotations

import argparse
import gc
import json
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path

NOW = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
PRESET = "priority-lifecycle"

DEPLOYMENT = """
policy: {preset}
state: state.sqlite
trackers:
  - name: local
    type: local
    settings: {{path: tracker.sqlite}}
    batch_size: 1000
notifications:
  channels: {{}}
"""


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def tracker_clock(start: datetime):  # type: ignore[no-untyped-def]
    """Writes land a little later each batch, as on a real tracker."""
    ticks = [0]

    def now() -> datetime:
        ticks[0] += 1
        return start + timedelta(milliseconds=37 * ticks[0])

    return now


def phase_generate(directory: Path, count: int) -> dict[str, float]:
    from casewarden.connectors.local import LocalTracker
    from casewarden.connectors.local.generator import generate, policy_profile
    from casewarden.policy.loader import load_policy

    tracker = LocalTracker(directory / "tracker.sqlite")
    t0 = time.perf_counter()
    generate(
        tracker,
        count=count,
        start=NOW - timedelta(days=60),
        end=NOW - timedelta(minutes=1),
        seed=1,
        **policy_profile(load_policy(PRESET)),
    )
    tracker.close()
    return {"seconds": time.perf_counter() - t0}


def phase_evaluate(directory: Path) -> dict[str, float]:
    from casewarden.connectors.local import LocalTracker
    from casewarden.errors import CaseError
    from casewarden.policy.evaluate import evaluate
    from casewarden.policy.loader import load_policy

    pol = load_policy(PRESET)
    tracker = LocalTracker(directory / "tracker.sqlite")
    gc.collect()
    tracemalloc.start()
    cases = [tc.case for page in tracker.pages_between(None, NOW) for tc in page]
    held, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    t0 = time.perf_counter()
    skipped = 0
    for c in cases:
        try:
            evaluate(pol, c, NOW)
        except CaseError:
            skipped += 1
    dt = time.perf_counter() - t0
    return {"cases": len(cases), "seconds": dt, "held_bytes": held, "skipped": skipped}


def phase_cycle(directory: Path, at: datetime, mutate_fraction: float) -> dict[str, float]:
    from casewarden.connectors.local import LocalTracker
    from casewarden.connectors.local.generator import mutate
    from casewarden.policy.loader import load_policy
    from casewarden.sync.deployment import load_deployment
    from casewarden.sync.engine import Engine
    from casewarden.sync.state import StateStore

    tracker = LocalTracker(directory / "tracker.sqlite", clock=tracker_clock(at + timedelta(seconds=1)))
    touched = (
        mutate(tracker, fraction=mutate_fraction, at=at - timedelta(seconds=1), seed=2)
        if mutate_fraction
        else []
    )
    deployment = load_deployment(directory / "casewarden.yaml")
    state = StateStore(deployment.state_path)
    engine = Engine(deployment, load_policy(PRESET), state, {"local": tracker}, {}, lambda: at)
    base = peak_rss_mib()
    t0 = time.perf_counter()
    r = engine.run_once().trackers[0]
    dt = time.perf_counter() - t0
    state.close()
    tracker.close()
    return {
        "seconds": dt,
        "read": r.read,
        "reevaluated": r.reevaluated,
        "evaluated": r.evaluated,
        "writes": len(r.changes),
        "requests": len({c.case_id for c in r.changes}),
        "touched": len(touched),
        "peak_mib": peak_rss_mib(),
        "base_mib": base,
    }


def run_phase(directory: Path, *args: str) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.bench_sync", "--phase", *args, str(directory)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", type=int, default=100_000)
    ap.add_argument("--quick", action="store_true", help="10,000 cases")
    ap.add_argument("--phase", nargs="+", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.phase:
        name, *rest = args.phase
        directory = Path(rest[-1])
        if name == "generate":
            result = phase_generate(directory, int(rest[0]))
        elif name == "evaluate":
            result = phase_evaluate(directory)
        else:
            result = phase_cycle(directory, datetime.fromisoformat(rest[0]), float(rest[1]))
        print(json.dumps(result))
        return
    count = 10_000 if args.quick else args.cases
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        (directory / "casewarden.yaml").write_text(DEPLOYMENT.format(preset=PRESET))
        print(f"== sync benchmark: {count:,} generated cases (60 days of history), preset {PRESET}")
        g = run_phase(directory, "generate", str(count))
        print(f"generate:  {g['seconds']:.1f} s")
        e = run_phase(directory, "evaluate")
        n = e["cases"]
        print(
            f"evaluate:  {n:,.0f} cases in {e['seconds']:.2f} s = {n / e['seconds']:,.0f} cases/s "
            f"({e['seconds'] / n * 1e6:.0f} us per case, {e['skipped']:.0f} unplaceable)"
        )
        print(
            f"memory:    {n:,.0f} normalized cases with their timelines hold {e['held_bytes'] / 2**20:.0f} MiB "
            f"({e['held_bytes'] / n / 1024:.2f} KiB per case)"
        )
        print(
            f"{'cycle':<36}{'wall':>9}{'read':>9}{'re-eval':>9}{'evaluated':>11}{'writes':>9}"
            f"{'cases wr.':>11}{'peak RSS':>11}"
        )
        plan = [
            ("1: first run", NOW, 0.0),
            ("2: reads casewarden's own writes", NOW + timedelta(minutes=5), 0.0),
            ("3: nothing changed, same instant", NOW + timedelta(minutes=5), 0.0),
            ("4: nothing changed, 5 min later", NOW + timedelta(minutes=10), 0.0),
            ("5: 1% of cases changed", NOW + timedelta(minutes=15), 0.01),
        ]
        for label, at, fraction in plan:
            c = run_phase(directory, "cycle", at.isoformat(), str(fraction))
            if fraction:
                label += f" ({c['touched']:,.0f})"
            print(
                f"{label:<36}{c['seconds']:>8.1f}s{c['read']:>9,.0f}{c['reevaluated']:>9,.0f}"
                f"{c['evaluated']:>11,.0f}{c['writes']:>9,.0f}{c['requests']:>11,.0f}{c['peak_mib']:>8,.0f} MiB"
            )
            if label.startswith("3:") and c["writes"]:
                print("   VIOLATION: nothing changed and no time passed, yet the cycle wrote")
        print(
            "cycle 3 must write nothing. Writes in cycles 4-5 beyond the changed cases are timers that crossed"
        )
        print(
            "a boundary (warning, breach, next escalation level) in the minutes between cycles: re-evaluated"
        )
        print("from the state store, not re-read from the tracker.")


if __name__ == "__main__":
    main()
