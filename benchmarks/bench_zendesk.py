"""API calls the Zendesk connector spends, against the fewest the API allows, and what a rate limit makes of
a large backfill.

The real connector and zenpy run against the fake Zendesk in-process (``responses``), through the engine
as ``casewarden run`` drives it, preset ``severity-follow-the-sun``:

* **a cycle with 1% changed**: an instance of 10,000 tickets after its first run (and the cycle that reads
  casewarden's own writes back); then customers comment on 1% of the tickets and one cycle runs. Its API
  calls are counted per endpoint against the fewest possible: the changed tickets read at 1,000 a page
  from the ticket export and their events at 1,000 a page from the events export, and the tickets written
  at 100 a bulk job.
* **a backfill**: the first run on an instance of 100,000 tickets (``--quick``: 10,000); its request count,
  and how long the account's rate limit makes it take at 400 and 700 requests a minute (Growth /
  Professional and Enterprise), computed from the requests, not slept: the account budget, and the
  incremental exports' own 10 requests a minute (both exports counted together).

Run: python -m benchmarks.bench_zendesk [--tickets 10000] [--backfill 100000] [--rpm 400,700] [--quick]
"""

from __future__ import annotations

import argparse
import gc
import math
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

NOW = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
#: the incremental exports (tickets, ticket events) take 10 requests a minute whatever the plan
EXPORT_RPM = 10
EXPORTS = ("GET /api/v2/incremental/tickets/cursor", "GET /api/v2/incremental/ticket_events")
TICKET_EXPORT, EVENTS_EXPORT = EXPORTS
UPDATE_MANY = "PUT /api/v2/tickets/update_many"
READ_PAGE, WRITE_JOB = 1000, 100

DEPLOYMENT = """
policy: severity-follow-the-sun
state: state.sqlite
trackers:
  - name: zendesk
    type: zendesk
    settings:
      subdomain: acme
      email: casewarden@acme.example
      token_env: ZENDESK_API_TOKEN
      requests_per_minute: 2500
      job_poll_interval: 0.001
    levels: {S1: urgent, S2: high, S3: normal, S4: low}
    statuses:
      New: New
      Open: Open
      Pending Customer: Pending Customer
      On Hold: On Hold
      Solved: Solved
      Closed: closed
    batch_size: 1000
notifications:
  channels: {}
"""


class Clock:
    """The engine's clock and the fake's, moved together."""

    def __init__(self, fake: Any, at: datetime) -> None:
        self.fake = fake
        self.at = at
        fake.now = at

    def __call__(self) -> datetime:
        return self.at

    def advance(self, delta: timedelta) -> None:
        self.at += delta
        self.fake.now = self.at


@dataclass
class Instance:
    directory: Path
    fake: Any
    people: Any
    tickets: list[Any]
    clock: Clock
    env: dict[str, str]
    rsps: Any

    def forget(self) -> None:
        """Drop the request log and the mock's record of calls (each cycle's counts are taken first), and
        move what lives on to the garbage collector's permanent generation: the instance itself is
        hundreds of thousands of objects, which every collection would otherwise walk again."""
        self.fake.log.clear()
        self.rsps.calls.reset()
        gc.collect()
        gc.freeze()


@contextmanager
def instance(count: int, seed: int = 5) -> Iterator[Instance]:
    """A fake instance with ``count`` tickets opened over 60 days, served at the wire, bootstrapped."""
    import responses

    from tests.fakes.zendesk import FakeZendesk
    from tests.zendesk_instance import TOKEN_ENV, fill, staff

    start = NOW - timedelta(days=60)
    fake = FakeZendesk(now=start)
    people = staff(fake, start, customers=200)
    tickets = fill(fake, people, count, start=start, end=NOW - timedelta(minutes=10), seed=seed)
    with (
        tempfile.TemporaryDirectory() as tmp,
        responses.RequestsMock(assert_all_requests_are_fired=False) as rsps,
    ):
        fake.mount(rsps)
        directory = Path(tmp)
        (directory / "casewarden.yaml").write_text(DEPLOYMENT)
        inst = Instance(directory, fake, people, tickets, Clock(fake, NOW), {TOKEN_ENV: fake.api_token}, rsps)
        with runtime(inst) as rt:
            from casewarden.sync.wiring import needs

            (spec,) = rt.deployment.spec.trackers
            conn = rt.connectors["zendesk"]
            steps = conn.bootstrap_plan(needs(rt.policy, spec))
            conn.bootstrap_apply([s for s in steps if not s.exists and not s.manual])
        inst.forget()
        yield inst


@contextmanager
def runtime(inst: Instance) -> Iterator[Any]:
    from casewarden.sync.deployment import load_deployment
    from casewarden.sync.wiring import Runtime

    with Runtime(
        load_deployment(inst.directory / "casewarden.yaml"),
        clock=inst.clock,
        environ=inst.env,
        with_channels=False,
    ) as rt:
        yield rt


@dataclass
class Cycle:
    seconds: float
    calls: Counter[str]
    read: int
    written: int
    changes: int

    @property
    def requests(self) -> int:
        return sum(self.calls.values())


def cycle(inst: Instance) -> Cycle:
    """One ``casewarden run --once`` cycle; the API calls it made, per endpoint."""
    before = len(inst.fake.log)
    started = time.perf_counter()
    with runtime(inst) as rt:
        result = rt.engine.run_once(confirm=True).trackers[0]
    seconds = time.perf_counter() - started
    if result.error:
        raise SystemExit(f"the cycle failed: {result.error}")
    calls = Counter(e.endpoint for e in inst.fake.log.entries[before:])
    written = len({c.case_id for c in result.changes})
    inst.forget()
    return Cycle(seconds, calls, result.read, written, len(result.changes))


def fewest(changed: int, events: int, written: int) -> int:
    """The fewest calls the API allows: reads at 1,000 a page from each export, writes at 100 a job."""
    return (
        math.ceil(max(changed, 1) / READ_PAGE)
        + math.ceil(max(events, 1) / READ_PAGE)
        + math.ceil(written / WRITE_JOB)
    )


def minutes_at(calls: Counter[str], rpm: int) -> float:
    """How long the calls take at ``rpm`` account requests a minute, the incremental exports also at 10 a
    minute (counted together, the cautious reading of Zendesk's "Incremental Exports: 10 requests per
    minute")."""
    total = sum(calls.values())
    exports = sum(calls[e] for e in EXPORTS)
    return max(total / rpm, exports / EXPORT_RPM)


def breakdown(calls: Counter[str]) -> str:
    return ", ".join(
        f"{endpoint.split(' ', 1)[1].removeprefix('/api/v2/')} {n}" for endpoint, n in calls.most_common()
    )


def changed_cycle(tickets: int, out: Callable[[str], None]) -> float:
    from tests.zendesk_instance import touch

    with instance(tickets) as inst:
        first = cycle(inst)
        out(
            f"  {tickets:,} tickets, first run: {first.requests:,} requests ({first.seconds:.1f} s, "
            f"{first.written:,} tickets written)"
        )
        inst.clock.advance(timedelta(minutes=2))  # past Zendesk's last-minute exclusion
        absorb = cycle(inst)
        out(
            f"  cycle reading casewarden's own writes: {absorb.requests:,} requests, {absorb.changes} changes"
        )
        inst.clock.advance(timedelta(minutes=2))
        wanted = tickets // 100
        open_tickets = [t for t in inst.tickets if t.status not in ("solved", "closed")]
        changed = open_tickets[:: max(1, len(open_tickets) // wanted)][:wanted]
        touch(inst.fake, inst.people, changed, inst.clock.at)
        inst.clock.advance(timedelta(minutes=3))
        one = cycle(inst)
        least = fewest(len(changed), len(changed), one.written)
        ratio = one.requests / least
        out(
            f"  1% changed ({len(changed)} tickets): {one.requests} API calls in {one.seconds:.2f} s "
            f"({breakdown(one.calls)}); {one.written} tickets written"
        )
        out(
            f"  fewest possible: {least} (reads at {READ_PAGE} a page from both exports, writes at "
            f"{WRITE_JOB} a job): ratio {ratio:.2f}"
        )
        return ratio


def backfill(tickets: int, rpms: list[int], out: Callable[[str], None]) -> int:
    with instance(tickets, seed=9) as inst:
        audits = sum(len(t.audits) for t in inst.tickets)
        first = cycle(inst)
        out(
            f"  {tickets:,} tickets ({audits:,} audits): {first.requests:,} requests "
            f"({breakdown(first.calls)}), {first.written:,} tickets written, {first.seconds:.0f} s in-process"
        )
        least = fewest(tickets, audits, first.written)
        out(f"  fewest possible: {least:,}: ratio {first.requests / least:.2f}")
        for rpm in rpms:
            minutes = minutes_at(first.calls, rpm)
            exports = sum(first.calls[e] for e in EXPORTS)
            bound = (
                f"the incremental exports' 10/min: {exports} export pages"
                if minutes > sum(first.calls.values()) / rpm
                else f"{rpm}/min"
            )
            alone = sum(first.calls.values()) / rpm
            out(
                f"  at {rpm} requests/min: {minutes:.1f} minutes (bound by {bound}; "
                f"the account limit alone: {alone:.1f})"
            )
        return first.requests


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tickets", type=int, default=10_000)
    ap.add_argument("--backfill", type=int, default=100_000)
    ap.add_argument("--rpm", default="400,700", help="account rate limits to compute the backfill at")
    ap.add_argument("--quick", action="store_true", help="2,000 tickets a cycle, a 10,000-ticket backfill")
    args, _rest = ap.parse_known_args()
    if args.quick:
        args.tickets, args.backfill = 2_000, 10_000
    rpms = [int(r) for r in str(args.rpm).split(",") if r.strip()]
    print("Zendesk connector, API calls (real zenpy against the fake, in-process):")
    changed_cycle(args.tickets, print)
    print("Backfill, the first run on a large instance:")
    backfill(args.backfill, rpms, print)


if __name__ == "__main__":
    main()
