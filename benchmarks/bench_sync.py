"""Full case evaluations per second, memory per case, and sync cycles over many cases on the embedded
tracker: a first cycle, the cycle that absorbs casewarden's own writes, a cycle with nothing changed
(must write nothing), and a cycle with 1% of cases changed (cost should follow the changed cases).

Run: python -m benchmarks.bench_sync [--cases 100000] [--quick]
"""

from __future__ import annotations

import argparse
import gc
import resource
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path

from connectors.local import LocalTracker
from connectors.local.generator import generate, mutate
from policy.errors import CaseError
from policy.evaluate import evaluate
from policy.loader import load_policy
from sync.deployment import load_deployment
from sync.engine import Engine
from sync.state import StateStore

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


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def build(directory: Path, count: int) -> tuple[LocalTracker, float]:
    pol = load_policy(PRESET)
    tracker = LocalTracker(directory / "tracker.sqlite", clock=lambda: NOW + timedelta(seconds=5))
    first_type = pol.spec.case_types[0].id if pol.spec.case_types else None
    levels = [
        lv.id
        for lv in pol.levels_by_rank
        if not lv.spec.staff_only and lv.spec.case_type in (None, first_type)
    ]
    t0 = time.perf_counter()
    generate(
        tracker,
        count=count,
        levels=levels,
        statuses={s.name: s.category.value for s in pol.statuses.values()},
        start=NOW - timedelta(days=60),
        end=NOW - timedelta(minutes=1),
        seed=1,
        milestones=["restoration"],
        intake_items=pol.spec.intake.required_information,
    )
    return tracker, time.perf_counter() - t0


def bench_evaluate(tracker: LocalTracker) -> None:
    pol = load_policy(PRESET)
    gc.collect()
    tracemalloc.start()
    cases = [tc.case for page in tracker.read_changed(None, NOW) for tc in page]
    held, _peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    n = len(cases)
    t0 = time.perf_counter()
    skipped = 0
    for c in cases:
        try:
            evaluate(pol, c, NOW)
        except CaseError:
            skipped += 1
    dt = time.perf_counter() - t0
    print(
        f"evaluate: {n:,} cases in {dt:.2f} s = {n / dt:,.0f} cases/s ({dt / n * 1e6:.1f} us per case, "
        f"{skipped} unplaceable)"
    )
    print(
        f"memory:   {n:,} normalized cases with timelines hold {held / 2**20:.1f} MiB "
        f"({held / n / 1024:.2f} KiB per case)"
    )


def cycle(directory: Path, tracker: LocalTracker, now: datetime, label: str) -> None:
    deployment = load_deployment(directory / "casewarden.yaml")
    state = StateStore(deployment.state_path)
    engine = Engine(deployment, load_policy(PRESET), state, {"local": tracker}, {}, lambda: now)
    gc.collect()
    before = rss_mb()
    t0 = time.perf_counter()
    r = engine.run_once().trackers[0]
    dt = time.perf_counter() - t0
    print(
        f"{label:<34} {dt:8.2f} s  read {r.read:>7,}  re-evaluated {r.reevaluated:>6,}  evaluated "
        f"{r.evaluated:>7,}  writes {len(r.changes):>7,}  peak RSS {rss_mb():7.0f} MiB (+{rss_mb() - before:.0f})"
    )
    state.close()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", type=int, default=100_000)
    ap.add_argument("--quick", action="store_true", help="10,000 cases")
    args = ap.parse_args()
    count = 10_000 if args.quick else args.cases
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        (directory / "casewarden.yaml").write_text(DEPLOYMENT.format(preset=PRESET))
        tracker, gen_s = build(directory, count)
        print(f"== sync benchmark: {count:,} generated cases, preset {PRESET}")
        print(f"generate: {gen_s:.1f} s")
        bench_evaluate(tracker)
        cycle(directory, tracker, NOW, "cycle 1 (first run)")
        cycle(directory, tracker, NOW + timedelta(seconds=30), "cycle 2 (reads own writes)")
        cycle(directory, tracker, NOW + timedelta(seconds=60), "cycle 3 (nothing changed)")
        at = NOW + timedelta(seconds=90)
        touched = mutate(tracker, fraction=0.01, at=at, seed=2)
        cycle(directory, tracker, at + timedelta(seconds=1), f"cycle 4 ({len(touched):,} cases = 1% changed)")
        tracker.close()


if __name__ == "__main__":
    main()
