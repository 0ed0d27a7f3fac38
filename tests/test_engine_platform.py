"""What the engine does for trackers that are not the embedded one: independent trackers, a lease that
lasts as long as the cycle, time budgets, resume points per page, cases that go away, one request per case."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from casewarden.connectors.base import CaseChanges, ChangeResult, KnownCases, Page, Resume, nothing_known
from casewarden.errors import FatalConnectorError, LockedError
from casewarden.sync.deployment import load_deployment
from casewarden.sync.engine import Engine
from casewarden.sync.state import StateStore
from tests.connector_faults import Delegating
from tests.policy_fixtures import policy
from tests.sync_fixtures import NOW, RecordingChannel, generated_tracker, make_engine, write_deployment

TWO = """
policy: policy.yaml
state: state.sqlite
trackers:
  - {name: emea, type: local, settings: {path: emea.sqlite, create: true}}
  - {name: apac, type: local, settings: {path: apac.sqlite, create: true}, time_budget: 0.2}
"""


class Unreachable(Delegating):
    def read_changed(
        self, resume: Resume | None, until: datetime, known: KnownCases = nothing_known
    ) -> Iterator[Page]:
        raise FatalConnectorError("401 Unauthorized: the API token was revoked")


class Slow(Delegating):
    """Every page takes ``seconds``: a remote tracker at its rate limit."""

    def __init__(self, inner: Any, seconds: float) -> None:
        super().__init__(inner)
        self.seconds = seconds
        self.pages = 0

    def read_changed(
        self, resume: Resume | None, until: datetime, known: KnownCases = nothing_known
    ) -> Iterator[Page]:
        for page in self.inner.read_changed(resume, until, known):
            time.sleep(self.seconds)
            self.pages += 1
            yield page


class Counting(Delegating):
    def __init__(self, inner: Any) -> None:
        super().__init__(inner)
        self.batches: list[list[CaseChanges]] = []

    def apply(self, batch: Sequence[CaseChanges]) -> list[ChangeResult]:
        self.batches.append(list(batch))
        return self.inner.apply(batch)


def two_trackers(
    tmp_path: Path, emea: Any = None, apac: Any = None, clock: Any = None
) -> tuple[Engine, StateStore]:
    write_deployment(tmp_path, deployment_text=TWO)
    state = StateStore(tmp_path / "state.sqlite")
    engine = Engine(
        load_deployment(tmp_path / "casewarden.yaml"),
        policy(),
        state,
        {
            "emea": emea or generated_tracker(tmp_path / "emea.sqlite", count=20, seed=1),
            "apac": apac or generated_tracker(tmp_path / "apac.sqlite", count=25, seed=2),
        },
        {"hook": RecordingChannel()},
        clock or (lambda: NOW),
    )
    return engine, state


def test_one_trackers_outage_does_not_stop_the_others(tmp_path: Path) -> None:
    down = Unreachable(generated_tracker(tmp_path / "emea.sqlite", count=5, seed=1))
    engine, state = two_trackers(tmp_path, emea=down)
    result = engine.run_once()
    emea, apac = result.trackers
    assert emea.error and "401" in emea.error and emea.read == 0
    assert apac.error is None and apac.applied > 0
    assert [t.tracker for t in result.tracker_errors] == ["emea"]
    assert state.runs()[0]["status"] == "partial"


def test_the_lease_is_renewed_while_a_long_cycle_runs(tmp_path: Path) -> None:
    """A cycle longer than the lease: a second runner arriving after the first lease would have
    expired still finds it held, because the running cycle keeps renewing it."""
    write_deployment(tmp_path)
    generated_tracker(tmp_path / "tracker.sqlite", count=30).close()
    deployment = load_deployment(tmp_path / "casewarden.yaml")
    pages: list[int] = []
    done = threading.Event()

    def runner() -> None:  # SQLite connections belong to the thread that opened them
        tracker = generated_tracker(tmp_path / "tracker.sqlite")
        tracker.page_size = 2
        slow = Slow(tracker, seconds=0.08)
        state = StateStore(tmp_path / "state.sqlite")
        engine = Engine(
            deployment,
            policy(),
            state,
            {"local": slow},
            {"hook": RecordingChannel()},
            lambda: datetime.now(UTC),
            lease_seconds=0.3,
        )
        engine.run_once()
        pages.append(slow.pages)
        state.close()
        done.set()

    thread = threading.Thread(target=runner)
    thread.start()
    time.sleep(0.6)  # twice the lease: without renewal it would have expired
    other = StateStore(tmp_path / "state.sqlite")
    try:
        assert not done.is_set(), "the cycle must still be running for this test to mean anything"
        with pytest.raises(LockedError):
            other.acquire_lease(f"deployment:{deployment.source}", datetime.now(UTC), 60)
    finally:
        thread.join(timeout=30)
        other.close()
    assert done.is_set() and pages[0] >= 10


def test_a_time_budget_stops_a_tracker_cleanly_and_the_next_cycle_carries_on(tmp_path: Path) -> None:
    apac_tracker = generated_tracker(tmp_path / "apac.sqlite", count=25, seed=2)
    apac_tracker.page_size = 5
    slow = Slow(apac_tracker, seconds=0.15)
    engine, state = two_trackers(tmp_path, apac=slow)
    first = engine.run_once().trackers[1]
    assert first.stopped_early and 0 < first.read < 25
    assert state.resume("apac") is not None, "what was read is recorded with its resume point"
    total = first.read
    for _ in range(10):
        nxt = engine.run_once().trackers[1]
        total += nxt.read
        if not nxt.stopped_early:
            break
    assert total >= 25, "every case is reached in later cycles, none lost"


def test_the_resume_point_is_committed_with_each_page(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cycle that dies after its second page resumes after that page: the pages before are not read
    again, so their side effects are not planned twice."""
    write_deployment(tmp_path)
    tracker = generated_tracker(tmp_path / "tracker.sqlite", count=30)
    tracker.page_size = 10
    engine, state = make_engine(tmp_path, tracker)
    real = Engine._handle_page
    calls = 0

    def dies_on_third(self: Engine, *args: Any, **kwargs: Any) -> None:
        nonlocal calls
        calls += 1
        if calls == 3:
            raise KeyboardInterrupt
        real(self, *args, **kwargs)

    monkeypatch.setattr(Engine, "_handle_page", dies_on_third)
    with pytest.raises(KeyboardInterrupt):
        engine.run_once()
    monkeypatch.setattr(Engine, "_handle_page", real)
    resumed = state.resume("local")
    assert resumed is not None
    again, _ = make_engine(tmp_path, tracker)
    result = again.run_once().trackers[0]
    assert result.read == 10, "only the page that was never recorded is read again"


def test_deleted_and_merged_cases_are_dropped_from_state(tmp_path: Path) -> None:
    write_deployment(tmp_path)
    tracker = generated_tracker(tmp_path / "tracker.sqlite", count=10)
    engine, state = make_engine(tmp_path, tracker)
    engine.run_once()
    ids = tracker.case_ids()
    tracker.delete_case(ids[0], NOW + timedelta(seconds=1))
    tracker.merge_case(ids[1], ids[2], NOW + timedelta(seconds=1))
    later, _ = make_engine(tmp_path, tracker, now=NOW + timedelta(minutes=1))
    result = later.run_once().trackers[0]
    assert result.gone == 2
    left = {r[0] for r in state.db.execute("SELECT case_id FROM snapshots")}
    assert ids[0] not in left and ids[1] not in left and ids[2] in left
    assert not state.db.execute("SELECT 1 FROM outcomes WHERE case_id IN (?, ?)", (ids[0], ids[1])).fetchall()
    much_later, _ = make_engine(tmp_path, tracker, now=NOW + timedelta(days=3))
    assert not [c for c in much_later.run_once().trackers[0].changes if c.case_id in (ids[0], ids[1])]


def test_a_case_changes_reach_the_connector_together(tmp_path: Path) -> None:
    """One CaseChanges per case per cycle, batches counted in cases: a tracker can make one request per
    case (Zendesk's update_many item, one Jira edit) instead of one per change."""
    write_deployment(tmp_path)
    counting = Counting(generated_tracker(tmp_path / "tracker.sqlite", count=60))
    engine, _state = make_engine(tmp_path, counting)
    result = engine.run_once().trackers[0]
    groups = [g for batch in counting.batches for g in batch]
    assert len({g.case_id for g in groups}) == len(groups), "each case once"
    assert all(len(batch) <= 50 for batch in counting.batches), "batch_size counts cases"
    assert sum(len(g.changes) for g in groups) == len(result.changes) > len(groups)
