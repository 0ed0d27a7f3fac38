"""The sync cycle on the embedded tracker: plan changes nothing, run applies, repeat writes nothing,
timers crossing boundaries are caught without re-reading, bad cases are skipped, runners never overlap."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from casewarden.connectors.base import ChangeKind
from casewarden.connectors.cursor import TimeCursor
from casewarden.errors import LockedError
from casewarden.sync.state import StateStore, iso
from tests.sync_fixtures import (
    BACKFILL,
    NOW,
    RecordingChannel,
    dump_tracker,
    generated_tracker,
    make_engine,
    write_deployment,
)


@pytest.fixture
def env(tmp_path: Path):  # type: ignore[no-untyped-def]
    write_deployment(tmp_path)
    tracker = generated_tracker(tmp_path / "tracker.sqlite")
    yield tmp_path, tracker
    tracker.close()


def test_plan_changes_nothing(env) -> None:  # type: ignore[no-untyped-def]
    directory, tracker = env
    before = dump_tracker(directory / "tracker.sqlite")
    engine, state = make_engine(directory, tracker)
    plan = engine.plan()
    assert plan.trackers[0].changes, "a generated tracker has work to do"
    assert dump_tracker(directory / "tracker.sqlite") == before
    assert state.resume("local") is None
    assert state.db.execute("SELECT COUNT(*) FROM ledger").fetchone()[0] == 0
    assert state.runs() == []


def test_run_applies_exactly_the_plan_and_then_writes_nothing(env) -> None:  # type: ignore[no-untyped-def]
    directory, tracker = env
    engine, state = make_engine(directory, tracker)
    planned = [(c.case_id, c.kind, c.field, c.value, c.key) for c in engine.plan().trackers[0].changes]
    result = engine.run_once().trackers[0]
    assert [(c.case_id, c.kind, c.field, c.value, c.key) for c in result.changes] == planned
    assert result.applied == len(planned) and not result.failed
    assert state.resume("local") is not None
    after_first = dump_tracker(directory / "tracker.sqlite")
    # the tracker now holds casewarden's own writes (newer updated_at): they are read, diffed, and nothing follows
    engine2, _ = make_engine(directory, tracker, now=NOW + timedelta(seconds=10))
    second = engine2.run_once().trackers[0]
    assert second.changes == [] and second.notifications == []
    assert dump_tracker(directory / "tracker.sqlite") == after_first


def test_fields_carry_level_due_breach_and_escalation(env) -> None:  # type: ignore[no-untyped-def]
    directory, tracker = env
    engine, _ = make_engine(directory, tracker)
    result = engine.run_once().trackers[0]
    by_field = {(c.case_id, c.field): c.value for c in result.changes if c.kind is ChangeKind.SET_FIELD}
    fields = {f for _cid, f in by_field}
    assert {"casewarden_level", "casewarden_escalation_level", "casewarden_breached"} <= fields
    assert any(f.startswith("casewarden_due_") for f in fields)
    some_case = next(cid for cid, f in by_field if f == "casewarden_level")
    stored = tracker.get_case(some_case).fields
    assert stored["casewarden_level"] == by_field[(some_case, "casewarden_level")]


def test_escalation_notifications_go_out_once(env) -> None:  # type: ignore[no-untyped-def]
    directory, tracker = env
    write_deployment(directory, deployment_text=BACKFILL)
    channel = RecordingChannel()
    engine, _state = make_engine(directory, tracker, channels={"hook": channel})
    engine.run_once()
    assert channel.sent, "generated cases reach escalation level 2, which notifies the boss"
    keys = [n.key for n in channel.sent]
    assert len(keys) == len(set(keys))
    assert all(n.case_url.startswith("local://case/") and n.level for n in channel.sent)
    engine2, _ = make_engine(directory, tracker, channels={"hook": channel}, now=NOW + timedelta(minutes=1))
    engine2.run_once()
    assert [n.key for n in channel.sent[: len(keys)]] == keys
    assert len({n.key for n in channel.sent}) == len(channel.sent)


def test_timer_crossing_is_reevaluated_without_rereading(env) -> None:  # type: ignore[no-untyped-def]
    directory, tracker = env
    opened = NOW - timedelta(minutes=5)
    case_id = tracker.create_case("Fresh P1", opened_at=opened, level="P1", status="New")
    engine, _state = make_engine(directory, tracker)
    engine.run_once()
    # casewarden's own writes moved updated_at: the next cycle reads them once and writes nothing
    absorb, _ = make_engine(directory, tracker, now=NOW + timedelta(seconds=10))
    assert absorb.run_once().trackers[0].changes == []
    reads: list[int] = []
    original = tracker.read_changed

    def counting(resume, until, known):  # type: ignore[no-untyped-def]
        for page in original(resume, until, known):
            reads.append(len(page.cases))
            yield page

    tracker.read_changed = counting  # type: ignore[method-assign]
    later = NOW + timedelta(minutes=40)  # first response (30 min from opening) has now breached
    engine2, _ = make_engine(directory, tracker, now=later)
    result = engine2.run_once().trackers[0]
    # the connector is asked again from the cursor instant (ties are never lost), and the engine drops
    # what it had seen at that instant: no case counts as read
    assert result.read == 0 and len(reads) <= 1
    assert result.reevaluated >= 1
    notes = [c for c in result.changes if c.case_id == case_id and c.kind is ChangeKind.ADD_NOTE]
    assert any("first response" in c.value for c in notes if c.value)
    assert tracker.get_case(case_id).fields["casewarden_breached"] == "first_response"


def test_case_the_policy_cannot_place_is_skipped_and_the_cycle_goes_on(env) -> None:  # type: ignore[no-untyped-def]
    directory, tracker = env
    bad = tracker.create_case("Mystery", opened_at=NOW - timedelta(hours=1), level="P7", status="New")
    engine, _ = make_engine(directory, tracker)
    result = engine.run_once().trackers[0]
    assert [(s.case_id, "P7" in s.reason) for s in result.skipped] == [(bad, True)]
    assert result.applied > 0


def test_two_runners_never_overlap(env) -> None:  # type: ignore[no-untyped-def]
    directory, tracker = env
    engine, state = make_engine(directory, tracker)
    other = StateStore(state.path)
    other.acquire_lease(f"deployment:{engine.deployment.source}", NOW, 600)
    with pytest.raises(LockedError, match="lease"):
        engine.run_once()
    other.release_lease(f"deployment:{engine.deployment.source}")
    engine.run_once()


def test_state_file_locked_by_another_process_is_reported(env) -> None:  # type: ignore[no-untyped-def]
    directory, tracker = env
    engine, state = make_engine(directory, tracker)
    blocker = StateStore(state.path)
    blocker.db.execute("PRAGMA busy_timeout = 0")
    state.db.execute("PRAGMA busy_timeout = 50")
    blocker.db.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(LockedError):
            engine.run_once()
    finally:
        blocker.db.execute("ROLLBACK")
    assert engine.run_once().trackers[0].applied > 0


def test_cursor_never_passes_the_cycle_start_and_ties_are_not_lost(env) -> None:  # type: ignore[no-untyped-def]
    directory, tracker = env
    engine, state = make_engine(directory, tracker)
    engine.run_once()
    cursor = TimeCursor.from_json(state.resume("local"))
    assert cursor is not None and cursor.at <= NOW
    # a case updated exactly at the cursor instant after the cycle is still read next time
    tied = tracker.create_case("Tie", opened_at=cursor.at - timedelta(hours=1), level="P3", status="New")
    tracker.add_comment(tied, cursor.at, "customer", "same instant as the cursor")
    engine2, _ = make_engine(directory, tracker, now=NOW + timedelta(minutes=1))
    result = engine2.run_once().trackers[0]
    assert tied in {c.case_id for c in result.changes}


def test_state_schema_is_versioned_and_migrations_run_once(tmp_path: Path) -> None:
    from casewarden.sync.state import MIGRATIONS

    s1 = StateStore(tmp_path / "s.sqlite")
    assert s1.version == len(MIGRATIONS)
    s1.close()
    s2 = StateStore(tmp_path / "s.sqlite")
    assert s2.migrate() == len(MIGRATIONS)
    assert s2.db.execute("SELECT COUNT(*) FROM migrations").fetchone()[0] == len(MIGRATIONS)


def test_an_older_state_file_is_upgraded_in_place(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import casewarden.sync.state as state_module

    full = state_module.MIGRATIONS
    monkeypatch.setattr(state_module, "MIGRATIONS", full[:1])
    old = StateStore(tmp_path / "s.sqlite")
    old.db.execute("INSERT INTO snapshots VALUES ('local', 'L-1', NULL, NULL, '{}')")
    assert old.version == 1
    old.close()
    monkeypatch.setattr(state_module, "MIGRATIONS", full)
    new = StateStore(tmp_path / "s.sqlite")
    assert new.version == len(full)
    assert new.db.execute("SELECT case_id, fingerprint FROM snapshots").fetchall() == [("L-1", None)]


def test_ties_spanning_pages_are_all_remembered(tmp_path: Path) -> None:
    """Many cases updated at one instant fill several pages: the cursor must keep every id seen at it."""
    write_deployment(tmp_path)
    tracker = generated_tracker(tmp_path / "tracker.sqlite", count=30)
    tracker.page_size = 7
    engine, _state = make_engine(tmp_path, tracker)
    engine.run_once()  # casewarden's writes put most cases at one instant (APPLY_AT)
    absorb, _ = make_engine(tmp_path, tracker, now=NOW + timedelta(seconds=10))
    absorb.run_once()
    quiet, _ = make_engine(tmp_path, tracker, now=NOW + timedelta(seconds=20))
    result = quiet.run_once().trackers[0]
    assert result.read == 0
    tracker.close()


TWO_TRACKERS = """
policy: policy.yaml
state: state.sqlite
trackers:
  - {name: emea, type: local, settings: {path: emea.sqlite}}
  - {name: apac, type: local, settings: {path: apac.sqlite}}
"""


def test_one_deployment_governs_several_trackers(tmp_path: Path) -> None:
    from casewarden.sync.deployment import load_deployment
    from casewarden.sync.engine import Engine
    from tests.policy_fixtures import policy

    write_deployment(tmp_path, deployment_text=TWO_TRACKERS)
    emea = generated_tracker(tmp_path / "emea.sqlite", count=20, seed=1)
    apac = generated_tracker(tmp_path / "apac.sqlite", count=25, seed=2)
    state = StateStore(tmp_path / "state.sqlite")
    engine = Engine(
        load_deployment(tmp_path / "casewarden.yaml"),
        policy(),
        state,
        {"emea": emea, "apac": apac},
        {"hook": RecordingChannel()},
        lambda: NOW,
    )
    result = engine.run_once()
    assert [(t.tracker, t.read) for t in result.trackers] == [("emea", 20), ("apac", 25)]
    assert state.resume("emea") is not None and state.resume("apac") is not None
    assert all(t.applied > 0 for t in result.trackers)
    emea.close()
    apac.close()


def test_own_writes_are_recognised_and_not_evaluated_again(env) -> None:  # type: ignore[no-untyped-def]
    directory, tracker = env
    engine, _state = make_engine(directory, tracker)
    first = engine.run_once().trackers[0]
    absorb, _ = make_engine(directory, tracker, now=NOW + timedelta(seconds=10))
    second = absorb.run_once().trackers[0]
    assert second.read > 0, "casewarden's writes moved updated_at: the cases are read again"
    assert second.unchanged > 0.8 * second.read, "and most are recognised as changed only by casewarden"
    assert second.changes == []
    # a person's change is not mistaken for casewarden's
    some = first.changes[0].case_id
    tracker.add_comment(some, NOW + timedelta(seconds=20), "customer", "any news?")
    third, _ = make_engine(directory, tracker, now=NOW + timedelta(seconds=30))
    result = third.run_once().trackers[0]
    assert result.read == 1 and result.unchanged == 0 and result.evaluated >= 1


def test_a_policy_change_makes_every_case_count_as_changed(env) -> None:  # type: ignore[no-untyped-def]
    directory, tracker = env
    engine, _state = make_engine(directory, tracker)
    engine.run_once()
    policy_file = directory / "policy.yaml"
    policy_file.write_text(policy_file.read_text().replace("within: 2 hours", "within: 3 hours"))
    again, _ = make_engine(directory, tracker, now=NOW + timedelta(seconds=10))
    result = again.run_once().trackers[0]
    assert result.unchanged == 0 and result.evaluated == result.read


def test_stepping_back_to_an_earlier_level_repeats_none_of_its_side_effects(env) -> None:  # type: ignore[no-untyped-def]
    directory, tracker = env
    case_id = tracker.create_case("Flapping", opened_at=NOW - timedelta(hours=5), level="P2", status="New")

    def cycle(minutes: int):  # type: ignore[no-untyped-def]
        engine, _ = make_engine(directory, tracker, now=NOW + timedelta(minutes=minutes))
        return engine.run_once().trackers[0]

    cycle(0)  # P2 first response (2 h) breached: noted
    tracker.set_level(case_id, NOW + timedelta(minutes=1), "P1")
    cycle(2)  # P1 breach noted too
    tracker.add_milestone(case_id, NOW + timedelta(minutes=3), "restoration")
    result = cycle(4)  # the workaround steps P1 down to P2, whose breach was noted in the first cycle
    assert any(c.case_id == case_id and c.kind is ChangeKind.SET_LEVEL for c in result.changes)
    notes = [c.body for c in tracker.comments(case_id) if not c.public]
    p2 = [n for n in notes if f"{case_id}:breach.first_response:P2:0" in n]
    assert len(p2) == 1, notes


def test_periodic_update_due_is_written_while_the_case_is_open(env) -> None:  # type: ignore[no-untyped-def]
    directory, tracker = env
    opened = NOW - timedelta(minutes=30)
    case_id = tracker.create_case("Ongoing P1", opened_at=opened, level="P1", status="Open")
    tracker.add_comment(case_id, opened + timedelta(minutes=10), "agent", "On it.")
    engine, _ = make_engine(directory, tracker)
    engine.run_once()
    fields = tracker.get_case(case_id).fields
    # P1 updates every hour after the last public agent reply (opened + 10 min)
    assert fields["casewarden_due_periodic_update"] == "2026-11-20T15:40:00Z"
    assert fields.get("casewarden_due_first_response") is None  # answered: no due time left


ACTIVATION_DEPLOYMENT = """
policy: policy.yaml
state: state.sqlite
trackers:
  - name: local
    type: local
    settings: {path: tracker.sqlite}
notifications:
  channels:
    hook: {type: webhook, url: "http://127.0.0.1:9/never-used"}
  contacts: {tier-two: [hook]}
  adoption: {backfill: true}  # the customer escalated an hour before casewarden's first run
"""


def test_escalation_level_never_goes_down_when_the_case_is_raised_to_a_level_without_a_path(
    tmp_path: Path,
) -> None:
    """priority-activation: a customer escalation of a Normal case reaches level 1 of its path
    ('attention'), whose action raises the case to High, a level with no escalation path. The level
    written to the case stays 1 while the case is open, cycle after cycle."""
    from casewarden.connectors.local import LocalTracker
    from casewarden.policy.presets import preset_path

    write_deployment(tmp_path, preset_path("priority-activation").read_text(), ACTIVATION_DEPLOYMENT)
    stamp = [NOW]
    tracker = LocalTracker(tmp_path / "tracker.sqlite", clock=lambda: stamp[0] + timedelta(seconds=5))
    opened = NOW - timedelta(hours=3)
    case_id = tracker.create_case("Unstable unit", opened_at=opened, level="Normal", status="New")
    tracker.add_comment(case_id, opened + timedelta(hours=1), "agent", "Looking into it.")
    tracker.add_milestone(case_id, NOW - timedelta(hours=1), "customer_escalation")
    seen = []
    channel = RecordingChannel()
    for later in (timedelta(0), timedelta(seconds=10), timedelta(hours=2), timedelta(days=3)):
        stamp[0] = NOW + later
        engine, state = make_engine(tmp_path, tracker, now=NOW + later, channels={"hook": channel})
        engine.run_once()
        stored = tracker.get_case(case_id)
        seen.append((stored.case.level, stored.fields.get("casewarden_escalation_level")))
        state.close()
    assert seen == [("High", "1")] * 4
    # the level's actions ran once: tier two told once, one escalation note
    assert [n.target for n in channel.sent] == ["escalation level 1"]
    notes = [
        c.body for c in tracker.comments(case_id) if not c.public and "Escalated by the customer" in c.body
    ]
    assert len(notes) == 1
    tracker.close()


def test_periodic_update_breaches_are_recorded_as_missed_due_and_lateness(env) -> None:  # type: ignore[no-untyped-def]
    """The outcome rows the reports read: a periodic breach is the missed due instant, when the next
    update came (or nothing, while it is still late) and how late, and how many were missed."""
    directory, tracker = env
    h = timedelta(hours=1)
    m = timedelta(minutes=1)
    # P1 updates hourly. NOW is 15:00Z.
    recovered = tracker.create_case("Recovered", opened_at=NOW - 3 * h, level="P1", status="Open")
    tracker.add_comment(recovered, NOW - 3 * h + 20 * m, "agent", "On it.")  # 12:20: next due 13:20
    tracker.add_comment(recovered, NOW - 10 * m, "agent", "Update.")  # 14:50: 13:20 and 14:20 missed
    late = tracker.create_case("Late now", opened_at=NOW - 2 * h, level="P1", status="Open")
    tracker.add_comment(late, NOW - 2 * h + 20 * m, "agent", "On it.")  # 13:20: due 14:20, still late
    solved = tracker.create_case("Solved late", opened_at=NOW - 3 * h, level="P1", status="Open")
    tracker.add_comment(solved, NOW - 3 * h + 20 * m, "agent", "On it.")  # 12:20: due 13:20
    tracker.set_status(solved, NOW - h, "Solved")  # solved 14:00 without the update owed at 13:20
    engine, state = make_engine(directory, tracker)
    engine.run_once()
    rows = {
        cid: row
        for cid, *row in state.db.execute(
            "SELECT case_id, state, due_at, met_at, late_seconds, missed FROM outcomes "
            "WHERE target = 'periodic_update' AND case_id IN (?, ?, ?)",
            (recovered, late, solved),
        )
    }
    assert rows[recovered] == ["breached", iso(NOW - 100 * m), iso(NOW - 10 * m), 5400.0, 2]
    assert rows[late] == ["breached", iso(NOW - 40 * m), None, 2400.0, 1]
    assert rows[solved] == ["breached", iso(NOW - 100 * m), iso(NOW - h), 2400.0, 1]
    # and no breach anywhere in the generated cases is met before it fell due
    bad = state.db.execute(
        "SELECT case_id, target, due_at, met_at, late_seconds FROM outcomes WHERE state = 'breached' "
        "AND (late_seconds < 0 OR met_at < due_at)"
    ).fetchall()
    assert bad == []
