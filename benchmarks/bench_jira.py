"""API calls a sync cycle costs on Jira, against the fewest it could cost.

A fake Jira site (tests/fakes/jira: the real ``jira`` client and casewarden's connector talk to it over
``responses``) holds 10,000 customer issues of one JSM project, with 10 days of history (customer and
agent comments, transitions; 2% of them with a history longer than Cloud's search shows). The preset
``priority-restoration`` is enforced with the default fields, created by bootstrap beforehand. Each cycle
runs in a fresh Runtime (a fresh connector, as cron starts it); the fake counts every request.

* cycle 1: the first run over every issue;
* cycle 2: reads casewarden's own writes of cycle 1 (nothing else changed);
* cycle 3: ten minutes later, 1% of the issues got a customer comment or a priority change.

Cycles run ten minutes apart in the fake's time (more than the read's five-minute overlap).

The floor a cycle cannot go below: one search page per 100 issues it must read (those updated since the
previous cycle, casewarden's own writes included; at least one search; on Cloud ``search/jql`` with the
fields listed, on Data Center ``search``), one edit
per issue it writes to (fields, labels and the marker in one request), and on Cloud one bulk changelog
page per 1,000 issues whose history search cuts short. Other calls (site metadata, transitions, comments
that do not ride in the edit) count against the ratio; the second ratio also allows one call per side
effect the cycle made on its own (a note, a transition, a link, a watcher, a new issue), "+side eff.".

Run: python -m benchmarks.bench_jira [--issues 10000] [--quick] [--mode cloud|datacenter|both]
"""

from __future__ import annotations

import argparse
import math
import random
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

NOW = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
PRESET = "priority-restoration"
PRIORITIES = ("Highest", "High", "Medium", "Low")
STATUSES = ("Waiting for support", "In Progress", "Waiting for customer", "Resolved")
PAGE = 100
BULKFETCH_PAGE = 1000


@dataclass
class Cycle:
    name: str
    calls: int
    floor: int
    to_read: int
    written: int
    long_histories: int
    seconds: float
    by_endpoint: Counter[str]
    side_effects: int = 0  # notes, transitions, links, watchers, new issues: each at least one call

    @property
    def ratio(self) -> float:
        return self.calls / self.floor if self.floor else float("inf") if self.calls else 1.0

    @property
    def ratio_with_side_effects(self) -> float:
        return self.calls / (self.floor + self.side_effects)


def build_site(mode: str, count: int, seed: int = 8) -> Any:
    from tests.fakes.jira import FakeJira

    rng = random.Random(seed)
    fake = FakeJira(mode, now=NOW)  # type: ignore[arg-type]
    for n in range(count):
        opened = NOW - timedelta(days=10) + timedelta(seconds=rng.uniform(0, 9.5 * 86400))  # all before NOW
        issue = fake.create_issue(
            "SUP", f"Customer case {n}", created=opened, reporter="carol", priority=rng.choice(PRIORITIES)
        )
        fake.add_comment(issue, opened + timedelta(minutes=3), "carol", "Still broken.")
        if rng.random() < 0.7:
            fake.add_comment(issue, opened + timedelta(minutes=rng.uniform(5, 300)), "alice", "Looking.")
        status = rng.choice(STATUSES)
        if status != STATUSES[0]:
            fake.transition(issue, opened + timedelta(minutes=rng.uniform(300, 600)), status)
        if rng.random() < 0.02:  # a long history: more than search's changelog shows on Cloud
            for k in range(fake.search_changelog_limit + 5):
                fake.set_field(issue, opened + timedelta(minutes=601 + k), "labels", [f"touch-{k % 3}"])
    fake.now = NOW
    fake.send_date = True  # as Jira does; the bench's changes are all stamped at the fake's now
    return fake


def deployment_text(fake: Any) -> str:
    if fake.mode == "cloud":
        auth = f"email: {fake.user('agent').email}, token_env: JIRA_API_TOKEN"
    else:
        auth = "pat_env: JIRA_PAT"
    return f"""\
policy: {PRESET}
state: state.sqlite
trackers:
  - name: jira
    type: jira
    settings: {{server: "{fake.base_url}", {auth}, projects: [SUP]}}
    levels: {{P1: Highest, P2: High, P3: Medium, P4: Low}}
    statuses: {{New: Waiting for support, Open: In Progress, Waiting on Customer: Waiting for customer,
                Solved: Resolved, Closed: Closed}}
    batch_size: 1000
notifications:
  channels: {{}}
"""


def environ() -> dict[str, str]:
    from tests.fakes.jira import FAKE_API_TOKEN, FAKE_PAT

    return {"JIRA_API_TOKEN": FAKE_API_TOKEN, "JIRA_PAT": FAKE_PAT}


def runtime(directory: Path, fake: Any) -> Any:
    from casewarden.sync.deployment import load_deployment
    from casewarden.sync.wiring import Runtime

    return Runtime(load_deployment(directory / "casewarden.yaml"), clock=lambda: fake.now, environ=environ())


def bootstrap(directory: Path, fake: Any) -> None:
    from casewarden.sync.wiring import needs

    with runtime(directory, fake) as rt:
        spec = rt.deployment.spec.trackers[0]
        conn = rt.connectors[spec.name]
        steps = conn.bootstrap_plan(needs(rt.policy, spec))
        conn.bootstrap_apply([s for s in steps if not s.exists and not s.manual])


def run_cycle(name: str, directory: Path, fake: Any, since: datetime | None) -> Cycle:
    """One cycle, counted. ``since``: when the previous cycle ran (None: the first run, which must read
    every issue); what changed after it, casewarden's own writes included (a search cannot tell them
    apart without reading them), is what this cycle must read."""
    to_read = [i for i in fake.state.issues.values() if since is None or i.updated >= since]
    long_histories = sum(1 for i in to_read if len(i.histories) > fake.search_changelog_limit)
    fake.log.clear()
    started = time.perf_counter()
    with runtime(directory, fake) as rt:
        result = rt.engine.run_once().trackers[0]
    seconds = time.perf_counter() - started
    if result.error:
        raise SystemExit(f"{name}: the cycle failed: {result.error}")
    from casewarden.connectors.base import ChangeKind

    written = len({c.case_id for c in result.changes})
    separate = {ChangeKind.ADD_NOTE, ChangeKind.SET_STATUS, ChangeKind.LINK, ChangeKind.ADD_FOLLOWER}
    separate.add(ChangeKind.OPEN_RELATED)
    side_effects = sum(1 for c in result.changes if c.kind in separate)
    bulk = math.ceil(long_histories / BULKFETCH_PAGE) if fake.mode == "cloud" else 0
    floor = max(1, math.ceil(len(to_read) / PAGE)) + written + bulk  # an empty read is still one search
    by_endpoint = Counter(fake.log.counts())
    return Cycle(
        name, len(fake.log), floor, len(to_read), written, long_histories, seconds, by_endpoint, side_effects
    )


def run_mode(mode: str, count: int) -> list[Cycle]:
    fake = build_site(mode, count)
    with tempfile.TemporaryDirectory() as tmp, fake.serve():
        directory = Path(tmp)
        (directory / "casewarden.yaml").write_text(deployment_text(fake))
        bootstrap(directory, fake)
        fake.advance(seconds=30)
        start1 = fake.now
        first = run_cycle("cycle 1: first run", directory, fake, None)
        fake.advance(minutes=10)  # cycles 10 minutes apart: more than the read's 5-minute overlap
        start2 = fake.now
        second = run_cycle("cycle 2: own writes", directory, fake, start1)
        fake.advance(minutes=10)
        rng = random.Random(3)
        changed = rng.sample(sorted(fake.state.issues), max(1, count // 100))
        for n, issue_id in enumerate(changed):
            at = fake.now - timedelta(minutes=4) + timedelta(seconds=n % 200)
            if n % 2:
                fake.add_comment(issue_id, at, "carol", "Any news?")
            else:
                fake.set_priority(issue_id, at, PRIORITIES[n % len(PRIORITIES)])
        third = run_cycle("cycle 3: 1% changed", directory, fake, start2)
    return [first, second, third]


def report(mode: str, count: int, cycles: Sequence[Cycle]) -> None:
    print(f"== Jira {mode}: {count:,} issues, preset {PRESET}; API calls per cycle against the floor")
    print(
        f"{'':24} {'calls':>7} {'floor':>7} {'ratio':>6} {'+side eff.':>10} {'ratio':>6} {'to read':>8} "
        f"{'cases wr.':>9} {'long hist.':>10} {'wall':>7}"
    )
    for c in cycles:
        print(
            f"{c.name:24} {c.calls:>7,} {c.floor:>7,} {c.ratio:>6.2f} {c.side_effects:>10,} "
            f"{c.ratio_with_side_effects:>6.2f} {c.to_read:>8,} {c.written:>9,} {c.long_histories:>10,} "
            f"{c.seconds:>6.1f}s"
        )
    for c in cycles:
        top = ", ".join(
            f"{endpoint.replace('/rest/api/{v}', '')} {n:,}" for endpoint, n in c.by_endpoint.most_common(6)
        )
        print(f"  {c.name}, by endpoint: {top}")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--issues", type=int, default=10_000)
    parser.add_argument("--quick", action="store_true", help="1,000 issues")
    parser.add_argument("--mode", choices=["cloud", "datacenter", "both"], default="both")
    args = parser.parse_args(argv)
    count = 1_000 if args.quick else args.issues
    modes = ["cloud", "datacenter"] if args.mode == "both" else [args.mode]
    for n, mode in enumerate(modes):
        if n:
            print()
        report(mode, count, run_mode(mode, count))


if __name__ == "__main__":
    main()
