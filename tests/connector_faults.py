"""The fault-injection suite every connector passes: whatever dies midway, nothing is lost or done twice.

Subclass :class:`ConnectorFaults` in a ``Test...`` class whose module provides a ``tut`` fixture (see
``tests/test_contract.py``). Each test fills a fresh tracker with the same generated case histories
through the tracker's own API, runs the real engine on it with a fault, lets the fault go away, runs again,
and compares what a person would see on the tracker with a fault-free run — read only through the
Connector API (and the harness, for note bodies): no SQL against any tracker's storage. The faults are
the ones remote trackers really have: a batch that dies midway, refusals, a process killed between the
tracker's writes and the state store's record (then a fresh connector instance, as after a restart),
writes whose outcome is unknown (landed, or not), changes the tracker cannot make at all, a process killed
while notifying, and a state store that was lost (the engine must rebuild from the tracker's markers).

The suite's deployment asks for a notification backfill, so the generated histories' past breaches and
escalations are notified and every fault is also checked for lost or repeated notifications.
"""

from __future__ import annotations

import dataclasses
import re
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from casewarden.connectors.base import (
    BootstrapNeeds,
    BootstrapStep,
    Capabilities,
    CaseChanges,
    ChangeKind,
    ChangeResult,
    Connector,
    HealthCheck,
    KnownCases,
    Outcome,
    Page,
    Pending,
    Resume,
    TrackerCase,
    nothing_known,
)
from casewarden.connectors.local.generator import generate_records
from casewarden.policy.loader import load_policy_text
from casewarden.sync.deployment import load_deployment
from casewarden.sync.engine import Engine, TrackerResult
from casewarden.sync.notify import Notification
from casewarden.sync.state import StateStore
from casewarden.sync.wiring import needs
from tests.trackers import LEVELS, STATUSES, SUITE_POLICY, Factory, TrackerUnderTest

NOW = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
APPLY_AT = NOW + timedelta(seconds=5)
CASES = 40
SEED = 3
MARKER = re.compile(r"\[casewarden:([^\]]+)\]")


class RecordingChannel:
    name = "hook"

    def __init__(self) -> None:
        self.sent: list[Notification] = []

    def send(self, n: Notification) -> None:
        self.sent.append(n)


class SimulatedKill(BaseException):
    """Stands for the process dying: not an Exception, so nothing in the engine catches it."""


def populate(tut: TrackerUnderTest, count: int = CASES, seed: int = SEED) -> list[str]:
    """Generated histories replayed through the tracker's own API, event by event, in time order."""
    ids = []
    for record in generate_records(
        count=count,
        levels=LEVELS,
        statuses=STATUSES,
        start=NOW - timedelta(days=14),
        end=NOW - timedelta(minutes=1),
        seed=seed,
        milestones=["restoration", "temporary_fix"],
    ):
        h = tut.harness
        cid = h.create_case(
            record.subject,
            opened_at=record.opened_at,
            level=record.level_history[0][1],
            status=record.status_history[0][1],
            channel=record.channel,
            region=record.region,
            case_type=record.case_type,
            requester=record.requester,
            requester_authorized=record.requester_authorized,
            provided=record.provided,
        )
        events: list[tuple[datetime, int, str, tuple[Any, ...]]] = []
        last_status = len(record.status_history) - 1
        for i, (at, status) in enumerate(record.status_history[1:], start=1):
            hold = record.hold_until if i == last_status and STATUSES.get(status) == "hold" else None
            events.append((at, 0, "set_status", (status, hold)))
        events += [(at, 1, "set_level", (level,)) for at, level in record.level_history[1:]]
        events += [(at, 2, "add_comment", (a, body, public)) for at, a, public, body in record.comments]
        events += [(at, 3, "add_milestone", (name,)) for at, name in record.milestones]
        for at, _order, action, args in sorted(events, key=lambda e: (e[0], e[1])):
            getattr(h, action)(cid, at, *args)
        ids.append(cid)
    return ids


def view(tut: TrackerUnderTest, connector: Connector) -> dict[str, Any]:
    """Everything a person would see on the tracker, read through the Connector API (and the harness
    for who is assigned and following), for comparing two runs."""
    cases = [
        tc
        for page in connector.read_changed(None, datetime.now(UTC) + timedelta(days=1))
        for tc in page.cases
    ]
    ids = [tc.case.id for tc in cases]
    markers = connector.find_markers(ids)
    out: dict[str, Any] = {}
    for tc in cases:
        c = tc.case
        out[c.id] = {
            "levels": [x.level for x in c.level_history],
            "statuses": [x.status for x in c.status_history],
            "tags": sorted(tc.tags),
            "fields": sorted((k, v) for k, v in tc.fields.items() if v is not None),
            "links": sorted((x.kind, x.target) for x in c.links),
            "replies": sorted(Counter((r.author.value, r.public) for r in c.replies).items()),
            "markers": sorted(markers.get(c.id, ())),
            "group": tut.harness.assigned_group(c.id),
            "followers": sorted(tut.harness.followers(c.id)),
        }
    return out


def repeated_markers(tut: TrackerUnderTest, ids: Sequence[str]) -> dict[str, int]:
    """Markers that appear in more than one internal note: a side effect done twice."""
    counts: Counter[str] = Counter()
    for cid in ids:
        for body in tut.harness.note_bodies(cid):
            counts.update(MARKER.findall(body))
    return {k: n for k, n in counts.items() if n > 1}


@dataclass
class Deployment:
    """A deployment directory around one tracker under test, run cycle by cycle like cron would."""

    directory: Path
    tut: TrackerUnderTest
    channel: RecordingChannel = field(default_factory=RecordingChannel)

    def __post_init__(self) -> None:
        (self.directory / "policy.yaml").write_text(SUITE_POLICY)
        (self.directory / "casewarden.yaml").write_text(
            "policy: policy.yaml\nstate: state.sqlite\ntrackers:\n"
            + self.tut.tracker_entry()
            + "    batch_size: 7\n"
            + "notifications:\n  channels:\n    hook: {type: webhook, url: 'http://127.0.0.1:9/never-used'}\n"
            + "  contacts: {boss: [hook]}\n  on_breach: [hook]\n"
            + "  adoption: {backfill: true, horizon: null}\n  max_per_cycle: null\n"
        )
        self.policy = load_policy_text(SUITE_POLICY)
        self.deployment = load_deployment(self.directory / "casewarden.yaml")
        conn = self.tut.connector()
        steps = conn.bootstrap_plan(needs(self.policy, self.deployment.spec.trackers[0]))
        conn.bootstrap_apply([s for s in steps if not s.exists and not s.manual])

    def cycle(self, at: datetime, connector: Connector | None = None, channel: Any = None) -> TrackerResult:
        state = StateStore(self.directory / "state.sqlite")
        try:
            engine = Engine(
                self.deployment,
                self.policy,
                state,
                {"suite": connector or self.tut.connector()},
                {"hook": channel or self.channel},
                lambda: at,
            )
            result = engine.run_once().trackers[0]
        finally:
            state.close()
        assert result.error is None, result.error
        return result

    def settle_down(self) -> None:
        """The cycles a fault-free run makes: one at NOW, one that absorbs casewarden's own writes, and
        one more for anything a fault left unknown."""
        for at in (NOW, NOW + timedelta(seconds=10), NOW + timedelta(seconds=20)):
            self.cycle(at)


class DiesWhileNotifying:
    """A channel whose process dies at its ``at``-th send, before delivering it."""

    name = "hook"

    def __init__(self, inner: RecordingChannel, at: int) -> None:
        self.inner = inner
        self.at = at
        self.calls = 0

    def send(self, n: Notification) -> None:
        self.calls += 1
        if self.calls == self.at:
            raise SimulatedKill
        self.inner.send(n)


class Delegating(Connector):
    """A connector wrapped to misbehave in one way; everything else goes to the real one."""

    type = "delegating"

    def __init__(self, inner: Connector) -> None:
        self.inner = inner

    @classmethod
    def from_deployment(cls, settings: Any, context: Any) -> Delegating:  # pragma: no cover - not used
        raise NotImplementedError

    def read_changed(
        self, resume: Resume | None, until: datetime, known: KnownCases = nothing_known
    ) -> Iterator[Page]:
        return self.inner.read_changed(resume, until, known)

    def read_cases(self, ids: Sequence[str]) -> list[TrackerCase]:
        return self.inner.read_cases(ids)

    def apply(self, batch: Sequence[CaseChanges]) -> list[ChangeResult]:
        return self.inner.apply(batch)

    def find_markers(self, case_ids: Sequence[str]) -> dict[str, set[str]]:
        return self.inner.find_markers(case_ids)

    def settle(self, pending: Sequence[Pending]) -> dict[str, Outcome]:
        return self.inner.settle(pending)

    def bootstrap_plan(self, needs: BootstrapNeeds) -> list[BootstrapStep]:
        return self.inner.bootstrap_plan(needs)

    def bootstrap_apply(self, steps: Sequence[BootstrapStep]) -> None:
        self.inner.bootstrap_apply(steps)

    def capabilities(self) -> Capabilities:
        return self.inner.capabilities()

    def health(self) -> list[HealthCheck]:
        return self.inner.health()


class DiesMidBatch(Delegating):
    """The connection drops in the middle of the first batch: some cases' writes landed, the rest not,
    and the connector raises instead of reporting."""

    def __init__(self, inner: Connector, after: int) -> None:
        super().__init__(inner)
        self.after = after
        self.died = False

    def apply(self, batch: Sequence[CaseChanges]) -> list[ChangeResult]:
        if self.died or len(batch) <= self.after:
            return self.inner.apply(batch)
        self.inner.apply(batch[: self.after])
        self.died = True
        raise ConnectionResetError("connection reset by peer mid-batch")


class WithoutKinds(Delegating):
    """A tracker that cannot make some kinds of change (and says so in its capabilities)."""

    def __init__(self, inner: Connector, without: frozenset[ChangeKind]) -> None:
        super().__init__(inner)
        self.without = without
        self.attempted: list[ChangeKind] = []

    def capabilities(self) -> Capabilities:
        caps = self.inner.capabilities()
        return dataclasses.replace(caps, supported=caps.supported - self.without)

    def apply(self, batch: Sequence[CaseChanges]) -> list[ChangeResult]:
        self.attempted += [c.kind for g in batch for c in g.changes if c.kind in self.without]
        return self.inner.apply(batch)


class ConnectorFaults:
    """Shared fault-injection tests; not collected itself (no ``Test`` prefix)."""

    @pytest.fixture
    def reference(self, tut_factory: Factory, tmp_path: Path) -> tuple[dict[str, Any], list[str]]:
        """The tracker as a fault-free run leaves it, and the notifications it sent."""
        directory = tmp_path / "reference"
        directory.mkdir()
        tut = tut_factory(directory, lambda: APPLY_AT)
        try:
            populate(tut)
            run = Deployment(directory, tut)
            run.settle_down()
            return view(tut, tut.connector()), sorted(n.key for n in run.channel.sent)
        finally:
            tut.close()

    @staticmethod
    def assert_same(
        tut: TrackerUnderTest, run: Deployment, reference: tuple[dict[str, Any], list[str]]
    ) -> None:
        expected, expected_sent = reference
        got = view(tut, tut.connector())
        assert got.keys() == expected.keys()
        differing = {cid: (got[cid], expected[cid]) for cid in got if got[cid] != expected[cid]}
        assert not differing, (
            f"{len(differing)} case(s) differ from a fault-free run, e.g. {next(iter(differing.items()))}"
        )
        assert repeated_markers(tut, list(got)) == {}, "a side effect happened twice"
        sent = [n.key for n in run.channel.sent]
        assert len(sent) == len(set(sent)), "a notification was sent twice"
        assert sorted(sent) == expected_sent

    def test_a_batch_that_dies_midway(self, tut: TrackerUnderTest, tmp_path: Path, reference: Any) -> None:
        populate(tut)
        run = Deployment(tmp_path, tut)
        broken = DiesMidBatch(tut.connector(), after=1)
        first = run.cycle(NOW, broken)
        assert broken.died and first.failed, "the batch that broke is reported, not lost"
        run.settle_down()
        self.assert_same(tut, run, reference)

    def test_the_tracker_refuses_some_changes(
        self, tut: TrackerUnderTest, tmp_path: Path, reference: Any
    ) -> None:
        ids = populate(tut)
        for cid in ids[::5]:
            tut.faults.refuse(cid)
        run = Deployment(tmp_path, tut)
        first = run.cycle(NOW)
        assert first.refused and first.applied, "some cases' changes are refused, the others land"
        tut.faults.clear()
        run.settle_down()
        self.assert_same(tut, run, reference)

    def test_killed_between_the_writes_and_the_record(
        self, tut: TrackerUnderTest, tmp_path: Path, reference: Any, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """The process dies after the tracker took the writes and before the state store recorded them;
        a new process (fresh connector, fresh state connection) finds the markers and repeats nothing."""
        populate(tut)
        run = Deployment(tmp_path, tut)
        real_record = Engine._record

        def die(self: Engine, *args: Any, **kwargs: Any) -> None:
            raise SimulatedKill

        monkeypatch.setattr(Engine, "_record", die)
        with pytest.raises(SimulatedKill):
            run.cycle(NOW)
        monkeypatch.setattr(Engine, "_record", real_record)
        after = run.cycle(NOW)
        assert after.recovered > 0, "what landed before the kill is found on the tracker, not repeated"
        run.settle_down()
        self.assert_same(tut, run, reference)

    def test_killed_while_notifying(self, tut: TrackerUnderTest, tmp_path: Path, reference: Any) -> None:
        """The process dies in the middle of a page's notifications; the next run sends the ones never
        attempted and repeats none of the tracker's writes."""
        populate(tut)
        run = Deployment(tmp_path, tut)
        with pytest.raises(SimulatedKill):
            run.cycle(NOW, channel=DiesWhileNotifying(run.channel, at=3))
        assert len(run.channel.sent) == 2
        run.settle_down()
        self.assert_same(tut, run, reference)

    def test_a_lost_state_store_repeats_nothing(self, tut: TrackerUnderTest, tmp_path: Path) -> None:
        """The state file is deleted after a normal run: the next run (a fresh connector, a fresh state)
        finds on the tracker, through its markers, every keyed side effect done before, repeats none of
        them and resends no notification."""
        populate(tut)
        run = Deployment(tmp_path, tut)
        run.settle_down()
        before = view(tut, tut.connector())
        sent = sorted(n.key for n in run.channel.sent)
        assert sent, "the scenario notifies"
        for name in ("state.sqlite", "state.sqlite-wal", "state.sqlite-shm"):
            (tmp_path / name).unlink(missing_ok=True)
        rebuilt = run.cycle(NOW + timedelta(seconds=30))
        run.cycle(NOW + timedelta(seconds=40))
        assert rebuilt.rebuilt > 0, "the side effects done before are found on the tracker"
        assert repeated_markers(tut, list(before)) == {}, "a side effect happened twice"
        assert view(tut, tut.connector()) == before
        assert sorted(n.key for n in run.channel.sent) == sent, "a notification was sent again"

    def test_unknown_outcomes_that_landed_and_that_did_not(
        self, tut: TrackerUnderTest, tmp_path: Path, reference: Any
    ) -> None:
        ids = populate(tut)
        for cid in ids[::4]:
            tut.faults.lose_answer(cid)
        for cid in ids[2::4]:
            tut.faults.lose_request(cid)
        run = Deployment(tmp_path, tut)
        first = run.cycle(NOW)
        assert first.unknown or first.recovered, "lost answers and lost requests are not taken for applied"
        tut.faults.clear()
        run.settle_down()
        self.assert_same(tut, run, reference)

    def test_a_change_the_tracker_cannot_make_is_never_planned(
        self, tut: TrackerUnderTest, tmp_path: Path
    ) -> None:
        ids = populate(tut)
        run = Deployment(tmp_path, tut)
        without = frozenset({ChangeKind.ASSIGN_GROUP, ChangeKind.ADD_FOLLOWER})
        limited = WithoutKinds(tut.connector(), without)
        result = run.cycle(NOW, limited)
        assert limited.attempted == [], "never sent to the tracker"
        assert not [c for c in result.changes if c.kind in without], "never planned"
        assert not result.failed
        flagged = [p for p in result.problems if "cannot assign group" in p]
        assert flagged, "the plan says what was left out"
        per_case = Counter(p.split(":")[0] for p in flagged)
        assert max(per_case.values()) == 1, "once per case"
        assert all(tut.harness.assigned_group(cid) is None for cid in ids)
        again = run.cycle(NOW + timedelta(seconds=10), WithoutKinds(tut.connector(), without))
        assert not again.failed and not [c for c in again.changes if c.kind in without]
