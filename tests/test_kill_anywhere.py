"""Kill anywhere: a real process running a cycle is killed (``os._exit``, no cleanup, no ``finally``) at
one of many points chosen by counting calls (the N-th tracker write, the N-th notification send, the
N-th state transaction, before or after each), then casewarden is simply run again to completion.

After every kill the run is held to a fault-free reference: the tracker looks exactly the same, every
keyed note and transition exists exactly once, and every notification the reference delivered was
delivered, counted by idempotency key at a real local HTTP receiver; no key arrives twice unless the
kill fell between the receiver taking it and the state recording it (then it is resent, under the same
key, so the receiver can drop it). The figures are printed (``pytest -s``).
"""

from __future__ import annotations

import json
import os
import shutil
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from casewarden.connectors.local import LocalTracker
from casewarden.sync.notify import WebhookChannel
from casewarden.sync.state import StateStore
from tests.safety_fixtures import LATER, Receiver, cycle, fresh_tracker, note_markers, receiver, webhook
from tests.sync_fixtures import NOW, dump_tracker

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="kills real forked processes")

KILLED = 137
RERUNS = (LATER, LATER + timedelta(seconds=10), LATER + timedelta(seconds=20))
EVENTS = ("txn-open", "txn-done", "apply-before", "apply-after", "send-before", "send-after")


@pytest.fixture(scope="module")
def hook() -> Iterator[Receiver]:
    yield from receiver()


def install_counters(kill: tuple[str, int] | None, counts: Counter[str]) -> None:
    """In the child only: count every event, and die at ``kill`` (event, N-th occurrence)."""

    def event(name: str) -> None:
        counts[name] += 1
        if kill is not None and kill == (name, counts[name]):
            os._exit(KILLED)

    real_transaction = StateStore.transaction

    @contextmanager
    def transaction(self: StateStore) -> Iterator[Any]:
        with real_transaction(self) as db:
            event("txn-open")  # inside the open transaction: dying here commits nothing of it
            yield db
        event("txn-done")

    real_apply = LocalTracker.apply

    def apply(self: LocalTracker, batch: Any) -> Any:
        event("apply-before")
        results = real_apply(self, batch)
        event("apply-after")  # the tracker committed the batch; the engine has not seen the results
        return results

    real_post = WebhookChannel._post_once

    def post(self: WebhookChannel, *args: Any) -> None:
        event("send-before")
        real_post(self, *args)
        event("send-after")  # the receiver took it and answered; nothing recorded yet

    StateStore.transaction = transaction  # type: ignore[method-assign]
    LocalTracker.apply = apply  # type: ignore[method-assign]
    WebhookChannel._post_once = post  # type: ignore[method-assign]


def in_child(directory: Path, url: str, kill: tuple[str, int] | None) -> int:
    """Run the cycle at LATER in a forked process; returns its exit status. Without ``kill`` the child
    writes its event counts to ``counts.json``."""
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        code = 0
        try:
            counts: Counter[str] = Counter()
            install_counters(kill, counts)
            cycle(directory, LATER, {"hook": webhook(url)})
            (directory / "counts.json").write_text(json.dumps(counts))
            code = 3 if kill is not None else 0  # the kill point was never reached
        except BaseException:
            code = 4
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


def kill_points(counts: Counter[str], wanted: int = 48) -> list[tuple[str, int]]:
    """Points spread over every kind of event, each kind's occurrences sampled evenly, sends densest."""
    weights = {"send-before": 3, "send-after": 3, "txn-open": 2, "txn-done": 2, "apply-before": 1}
    weights["apply-after"] = 1
    total = sum(weights.values())
    points: list[tuple[str, int]] = []
    for name in EVENTS:
        n = counts.get(name, 0)
        share = max(1, wanted * weights[name] // total)
        if n == 0:
            continue
        step = max(1, n // share)
        points += [(name, i) for i in range(1, n + 1, step)][:share]
    return points


def test_kill_anywhere_loses_and_duplicates_nothing(tmp_path: Path, hook: Receiver) -> None:
    template = tmp_path / "template"
    template.mkdir()
    fresh_tracker(template, fresh=6, history=12)
    for at in (NOW, NOW + timedelta(seconds=10)):
        cycle(template, at, {"hook": webhook(hook.url("/template"))})

    def copy(name: str) -> Path:
        target = tmp_path / name
        shutil.copytree(template, target)
        return target

    reference = copy("reference")
    assert in_child(reference, hook.url("/reference"), None) == 0
    counts = Counter(json.loads((reference / "counts.json").read_text()))
    for at in RERUNS[1:]:
        cycle(reference, at, {"hook": webhook(hook.url("/reference"))})
    expected = hook.keys("/reference")
    assert len(expected) >= 12 and max(expected.values()) == 1
    expected_tracker = dump_tracker(reference / "tracker.sqlite")

    points = kill_points(counts)
    assert len(points) >= 30, f"not enough kill points in {dict(counts)}"
    delivered = duplicated = 0
    problems: list[str] = []
    for i, point in enumerate(points):
        directory = copy(f"kill-{i}")
        path = f"/kill-{i}"
        code = in_child(directory, hook.url(path), point)
        if code != KILLED:
            problems.append(f"{point}: the child exited {code} instead of being killed")
            continue
        for at in RERUNS:
            cycle(directory, at, {"hook": webhook(hook.url(path))})
        got = hook.keys(path)
        delivered += sum(got.values())
        duplicated += sum(n - 1 for n in got.values())
        lost = set(expected) - set(got)
        if lost or set(got) - set(expected):
            problems.append(f"{point}: lost {sorted(lost)}, unexpected {sorted(set(got) - set(expected))}")
        if sum(n - 1 for n in got.values()) > 1:
            problems.append(f"{point}: more than the interrupted send repeated: {got.most_common(3)}")
        twice = {k: n for k, n in note_markers(directory / "tracker.sqlite").items() if n > 1}
        if twice:
            problems.append(f"{point}: keyed notes written twice: {twice}")
        if dump_tracker(directory / "tracker.sqlite") != expected_tracker:
            problems.append(f"{point}: the tracker differs from the fault-free run")
    print(
        f"\nkill-anywhere: {len(points)} kills at {dict(Counter(p for p, _ in points))}; per run "
        f"{len(expected)} notifications expected; {delivered} deliveries, "
        f"{delivered - duplicated} distinct keys, {duplicated} resent under the same key "
        f"({duplicated / max(delivered, 1):.1%}); events per cycle {dict(counts)}"
    )
    assert not problems, "\n".join(problems)
    assert delivered - duplicated == len(points) * len(expected)
