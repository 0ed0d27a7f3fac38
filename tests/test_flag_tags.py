"""``fields.flag_tags``: the breach and escalation flags mirrored as tags (Zendesk) or labels (Jira), kept
in step with the case without touching anyone else's tags, on the embedded tracker and through the CLI."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from casewarden.connectors.base import CaseChanges, Change, ChangeKind
from casewarden.connectors.local import LocalTracker
from casewarden.policy.evaluate import evaluate
from casewarden.policy.loader import load_policy_text
from casewarden.sync.deployment import Notifications, load_deployment
from casewarden.sync.planner import plan_case
from tests.policy_fixtures import POLICY
from tests.sync_fixtures import DEPLOYMENT, NOW, generated_tracker, make_engine, write_deployment

FLAGGED = DEPLOYMENT.replace("    batch_size: 50\n", "    batch_size: 50\n    fields: {flag_tags: cw_}\n")


def tag(tracker: LocalTracker, case_id: str, *tags: str) -> None:
    """What a person does in the tracker: add tags of their own."""
    tracker.apply([CaseChanges(case_id, tuple(Change(case_id, ChangeKind.ADD_TAG, t) for t in tags))])


def test_breached_targets_and_the_escalation_level_become_tags(tmp_path: Path) -> None:
    write_deployment(tmp_path, deployment_text=FLAGGED)
    tracker = generated_tracker(tmp_path / "tracker.sqlite", count=40)
    some = tracker.read_cases([f"L-{i}" for i in range(1, 41)])
    tag(tracker, some[0].case.id, "vip", "cw_unrelated")  # a person's tags stay
    engine, state = make_engine(tmp_path, tracker)
    spec = load_deployment(tmp_path / "casewarden.yaml").spec.trackers[0]
    result = engine.run_once(confirm=True)
    assert not result.trackers[0].failed
    cases = {tc.case.id: tc for tc in tracker.read_cases([tc.case.id for tc in some])}
    flagged = 0
    for cid, tc in cases.items():
        breached = set(filter(None, (tc.fields.get("casewarden_breached") or "").split(",")))
        tags = {t for t in tc.tags if t.startswith(("cw_breached_", "cw_escalation_"))}
        level = tc.fields.get("casewarden_escalation_level")
        expected = {f"cw_breached_{t}" for t in breached}
        if level and int(level) > 0:
            expected.add(f"cw_escalation_{level}")
        assert tags == expected, cid
        flagged += bool(expected)
    assert flagged > 5, "the generated cases breach and escalate"
    assert {"vip", "cw_unrelated"} <= cases[some[0].case.id].tags

    # once converged, a cycle writes no tag again
    again = engine.run_once(confirm=True).trackers[0]
    assert [c for c in again.changes if c.kind.value in ("add_tag", "remove_tag")] == []

    # a flag tag that does not hold (here: a person added one) is taken off, and only that one
    victim = next(tc for tc in cases.values() if any(t.startswith("cw_breached_") for t in tc.tags))
    person = dataclasses.replace(victim, tags=victim.tags | {"cw_breached_nonexistent", "cw_escalation_9"})
    ev = evaluate(load_policy_text(POLICY), person.case, NOW)
    changes = plan_case(load_policy_text(POLICY), person, ev, spec, Notifications(), {}).changes
    tag_changes = [(c.kind.value, c.value) for c in changes if (c.value or "").startswith("cw_")]
    assert tag_changes == [("remove_tag", "cw_breached_nonexistent"), ("remove_tag", "cw_escalation_9")]
    state.close()


def test_the_prefix_is_checked_where_the_file_says_it(tmp_path: Path) -> None:
    import pytest

    from casewarden.errors import ConfigError

    write_deployment(tmp_path, deployment_text=FLAGGED.replace("flag_tags: cw_", "flag_tags: 'Bad Prefix'"))
    with pytest.raises(ConfigError) as exc:
        load_deployment(tmp_path / "casewarden.yaml")
    assert "flag_tags" in str(exc.value) and "casewarden.yaml:" in str(exc.value)
