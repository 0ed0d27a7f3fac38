"""A first run on a tracker that already holds cases: how many notifications reach a real webhook,
against what the adoption rule allows.

20,000 generated cases with 60 days of history on the embedded tracker, preset ``priority-lifecycle``,
every contact and ``on_breach`` on one webhook channel pointed at a local HTTP receiver. The first run
(and the cycle after it, which reads casewarden's own writes) must send nothing: every crossing in the
tracker's past is older than casewarden's first run. An hour later, what crossed in that hour is owed
and sent, and nothing else; "allowed" is counted from the cases' own timelines, independently of the
engine's outbox: every due breach note and escalation notify of an open case whose crossing lies after
the first run.

Run: python -m benchmarks.bench_adoption [--cases 20000] [--quick]
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

NOW = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
PRESET = "priority-lifecycle"


def receiver() -> tuple[ThreadingHTTPServer, Counter[str]]:
    """A real local webhook endpoint counting POSTs by idempotency key."""
    keys: Counter[str] = Counter()
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            with lock:
                keys[self.headers.get("Idempotency-Key", "")] += 1
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *_args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, keys


def deployment(contacts: list[str]) -> str:
    mapped = ", ".join(f"{c}: [hook]" for c in contacts)
    return (
        f"policy: {PRESET}\nstate: state.sqlite\ntrackers:\n"
        "  - {name: local, type: local, settings: {path: tracker.sqlite}, batch_size: 1000}\n"
        f"notifications:\n  channels:\n    hook: {{type: webhook, url_env: HOOK_URL}}\n"
        f"  contacts: {{{mapped}}}\n  on_breach: [hook]\n  max_per_cycle: null\n  time_budget: null\n"
    )


def allowed(directory: Path, at: datetime, after: datetime) -> set[str]:
    """Notification keys the rule allows at ``at``: due breach notes and notifies of open cases crossing
    after ``after`` (the first run); each goes to the one webhook."""
    from casewarden.connectors.local import LocalTracker
    from casewarden.errors import CaseError
    from casewarden.policy.evaluate import evaluate
    from casewarden.policy.loader import load_policy

    pol = load_policy(PRESET)
    tracker = LocalTracker(directory / "tracker.sqlite")
    owed: set[str] = set()
    try:
        for page in tracker.pages_between(None, at + timedelta(days=1)):
            for tc in page:
                try:
                    ev = evaluate(pol, tc.case, at)
                except CaseError:
                    continue
                if not ev.open:
                    continue
                for a in ev.due:
                    breach = a.kind == "note" and a.key.action.startswith("breach.")
                    if (breach or a.kind == "notify") and a.due_at > after:
                        owed.add(f"{a.key}:notify" if breach else str(a.key))
    finally:
        tracker.close()
    return owed


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", type=int, default=20_000)
    ap.add_argument("--quick", action="store_true", help="2,000 cases")
    args = ap.parse_args()
    if args.quick:
        args.cases = 2_000

    from casewarden.connectors.local import LocalTracker
    from casewarden.connectors.local.generator import generate, policy_profile
    from casewarden.policy.loader import load_policy
    from casewarden.sync.deployment import load_deployment
    from casewarden.sync.engine import Engine
    from casewarden.sync.notify import WebhookChannel
    from casewarden.sync.state import StateStore

    pol = load_policy(PRESET)
    server, keys = receiver()
    url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        (directory / "casewarden.yaml").write_text(deployment(list(pol.spec.contacts)))
        tracker = LocalTracker(directory / "tracker.sqlite")
        generate(
            tracker,
            count=args.cases,
            start=NOW - timedelta(days=60),
            end=NOW - timedelta(minutes=1),
            seed=1,
            **policy_profile(pol),
        )
        tracker.close()
        print(f"== adoption: first run on {args.cases:,} existing cases, preset {PRESET}, one webhook")

        def cycle(at: datetime, dry: bool = False) -> tuple[object, float]:
            tracker = LocalTracker(directory / "tracker.sqlite", clock=lambda: at + timedelta(seconds=1))
            state = StateStore(directory / "state.sqlite")
            engine = Engine(
                load_deployment(directory / "casewarden.yaml"),
                pol,
                state,
                {"local": tracker},
                {"hook": WebhookChannel("hook", url=url, timeout=10)},
                lambda: at,
            )
            t0 = time.perf_counter()
            try:
                result = (engine.plan() if dry else engine.run_once()).trackers[0]
            finally:
                state.close()
                tracker.close()
            return result, time.perf_counter() - t0

        plan, seconds = cycle(NOW, dry=True)
        print(
            f"plan:      {getattr(plan, 'deliveries', len(getattr(plan, 'notifications', [])))} notification(s) "
            f"to send, {getattr(plan, 'adopted', 'n/a')} held back by adoption ({seconds:.1f} s)"
        )
        rows = [("1: first run", NOW), ("2: reads its own writes", NOW + timedelta(seconds=10))]
        rows.append(("3: one hour later", NOW + timedelta(hours=1)))
        print(
            f"{'cycle':<28}{'wall':>8}{'webhooks':>10}{'so far':>8}{'allowed':>9}{'adopted':>9}{'twice':>7}"
        )
        rule: set[str] = set()
        for label, at in rows:
            before = sum(keys.values())
            result, seconds = cycle(at)
            sent = sum(keys.values()) - before
            rule |= allowed(directory, at, NOW)
            twice = sum(n - 1 for n in keys.values())
            print(
                f"{label:<28}{seconds:>7.1f}s{sent:>10,}{len(keys):>8,}{len(rule):>9,}"
                f"{getattr(result, 'adopted', 0):>9,}{twice:>7}"
            )
            beyond = set(keys) - rule
            if beyond:
                print(
                    f"   VIOLATION: {len(beyond)} notification(s) the adoption rule does not allow, e.g. {min(beyond)}"
                )
        print(
            "so far: distinct notifications received; allowed: those crossing after the first run (open cases)"
        )
    server.shutdown()
    server.server_close()


if __name__ == "__main__":
    main()
