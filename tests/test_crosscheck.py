"""``report --cross-check``: where a tracker's own SLA timers and casewarden's disagree, and by how much.

The tracker side is the embedded tracker taught to report "native" timers built from casewarden's own
evaluation, then shifted per case: the cross-check must find exactly the shifted ones, by the shift."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from casewarden.connectors.base import NativeTimer
from casewarden.connectors.local import LocalTracker
from casewarden.policy.evaluate import evaluate
from casewarden.policy.loader import load_policy_text
from casewarden.policy.results import TargetState
from casewarden.sync.cli import main
from casewarden.sync.crosscheck import cross_check_tracker
from tests.policy_fixtures import POLICY
from tests.sync_fixtures import NOW, generated_tracker, make_engine, write_deployment

#: case id -> seconds the "tracker" adds to casewarden's due instant; "none" drops its timer
SHIFTS: dict[str, float | str] = {}


class TrackerWithSla(LocalTracker):
    """The embedded tracker with SLA timers of its own: ours, shifted by :data:`SHIFTS`."""

    NATIVE_SLA = True
    now = NOW

    def native_timers(self, case_ids: Sequence[str]) -> list[NativeTimer]:
        policy = load_policy_text(POLICY)
        out: list[NativeTimer] = []
        for tc in self.read_cases(case_ids):
            ev = evaluate(policy, tc.case, self.now)
            for t in ev.targets:
                if t.state is TargetState.MET or t.met_at is not None or t.due_at is None:
                    continue
                shift = SHIFTS.get(tc.case.id, 0.0)
                if shift == "none":
                    due = None
                else:
                    assert isinstance(shift, float)
                    due = t.due_at + timedelta(seconds=shift)
                out.append(NativeTimer(tc.case.id, t.metric, f"native {t.name}", due, paused=False))
                break  # one timer per case, like a tracker's "next SLA"
        return out


@pytest.fixture
def tracked(tmp_path: Path) -> tuple[Path, list[str]]:
    write_deployment(tmp_path)
    tracker = generated_tracker(tmp_path / "tracker.sqlite", count=60)
    engine, state = make_engine(tmp_path, tracker)
    engine.run_once(confirm=True)
    policy = load_policy_text(POLICY)
    open_ids = [
        tc.case.id
        for tc in tracker.read_cases([f"L-{i}" for i in range(1, 61)])
        if any(
            t.met_at is None and t.state is not TargetState.MET and t.due_at
            for t in evaluate(policy, tc.case, NOW).targets
        )
        and evaluate(policy, tc.case, NOW).open
    ]
    state.close()
    tracker.close()
    assert len(open_ids) >= 5
    return tmp_path, open_ids


def test_finds_exactly_the_cases_that_disagree_and_by_how_much(tracked: tuple[Path, list[str]]) -> None:
    directory, open_ids = tracked
    SHIFTS.clear()
    SHIFTS.update({open_ids[0]: 1800.0, open_ids[1]: -7200.0, open_ids[2]: 30.0, open_ids[3]: "none"})
    conn = TrackerWithSla(directory / "tracker.sqlite")
    try:
        result = cross_check_tracker("local", conn, load_policy_text(POLICY), open_ids, NOW, tolerance=60)
    finally:
        conn.close()
    assert result.cases == len(open_ids)
    assert result.compared == len(open_ids)
    by_case = {d.case_id: d for d in result.disagreements}
    assert set(by_case) == {open_ids[0], open_ids[1], open_ids[3]}  # 30 s is within the tolerance
    assert by_case[open_ids[0]].delta == 1800
    assert by_case[open_ids[1]].delta == -7200
    assert by_case[open_ids[3]].delta is None and by_case[open_ids[3]].theirs is None
    assert result.agreed == len(open_ids) - 3
    # one side without a timer first, then the largest differences
    assert [d.case_id for d in result.disagreements] == [open_ids[3], open_ids[1], open_ids[0]]
    assert result.largest == 7200


def test_a_tracker_without_native_sla_is_skipped_with_the_reason(tracked: tuple[Path, list[str]]) -> None:
    directory, open_ids = tracked
    conn = LocalTracker(directory / "tracker.sqlite")
    try:
        result = cross_check_tracker("local", conn, load_policy_text(POLICY), open_ids, NOW)
    finally:
        conn.close()
    assert result.skipped and "no SLA timers of its own" in result.skipped
    assert result.compared == 0


def test_report_cross_check_on_the_command_line(
    tracked: tuple[Path, list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    directory, open_ids = tracked
    SHIFTS.clear()
    SHIFTS[open_ids[0]] = 5400.0
    monkeypatch.setattr(LocalTracker, "NATIVE_SLA", True)
    monkeypatch.setattr(LocalTracker, "native_timers", TrackerWithSla.native_timers)
    monkeypatch.setattr(LocalTracker, "now", NOW, raising=False)
    monkeypatch.setattr("casewarden.sync.cli.datetime", _FrozenDatetime)
    config = str(directory / "casewarden.yaml")
    result = CliRunner().invoke(main, ["report", "-c", config, "--cross-check", "--format", "json"])
    assert result.exit_code == 1, result.output  # a disagreement is a problem found
    tables = json.loads(result.output)
    summary = tables[0]["rows"][0]
    assert summary["disagree"] == "1" and summary["largest difference"] == "1 h 30 min"
    rows = tables[1]["rows"]
    assert [r["case"] for r in rows] == [open_ids[0]] and rows[0]["tracker - ours"] == "+1 h 30 min"

    SHIFTS.clear()
    result = CliRunner().invoke(main, ["report", "-c", config, "--cross-check"])
    assert result.exit_code == 0, result.output
    assert "Cross-check" in result.output

    result = CliRunner().invoke(main, ["report", "-c", config, "--cross-check", "--tracker", "nosuch"])
    assert result.exit_code == 2 and "trackers: local" in result.output


class _FrozenDatetime(datetime):
    @classmethod
    def now(cls, tz: object = None) -> datetime:  # type: ignore[override]
        return NOW
