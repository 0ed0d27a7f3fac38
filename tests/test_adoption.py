"""Adoption: the first run on a tracker that already holds cases writes fields and notes but notifies
only for what crosses from then on (unless the deployment asks for a backfill); crossings older than
the horizon are never notified; ``plan`` says how many a run would send and how many adoption held
back; ``run`` sends no more than ``max_per_cycle`` in one cycle without ``--yes``.

Reproduction of issue 9: the first run on a tracker with 500 cases sent 606 webhooks (78 to the CEO
contact), 25,016 for 20,000: every past breach and escalation was notified.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from casewarden.connectors.local import LocalTracker
from casewarden.policy.evaluate import evaluate
from tests.policy_fixtures import policy
from tests.safety_fixtures import (
    DEPLOYMENT,
    LATER,
    Receiver,
    cycle,
    engine_for,
    fresh_tracker,
    receiver,
    webhook,
)
from tests.sync_fixtures import NOW, generated_tracker, write_deployment


@pytest.fixture
def hook() -> Iterator[Receiver]:
    yield from receiver()


def with_notifications(extra: str) -> str:
    return DEPLOYMENT + "".join(f"  {line}\n" for line in extra.strip().splitlines())


def crossing_of(tracker: LocalTracker, key: str, at: datetime) -> datetime:
    """When the crossing a notification key stands for happened, from the case's own timeline."""
    case_id = key.split(":")[0]
    ev = evaluate(policy(), tracker.get_case(case_id).case, at)
    action_key = key.removesuffix(":notify")
    return next(a.due_at for a in ev.due if str(a.key) == action_key)


def history(directory: Path, deployment: str = DEPLOYMENT, count: int = 500) -> None:
    write_deployment(directory, deployment_text=deployment)
    generated_tracker(directory / "tracker.sqlite", count=count, seed=11).close()


def test_a_first_run_on_a_tracker_with_history_notifies_only_what_crosses_from_now_on(
    tmp_path: Path, hook: Receiver
) -> None:
    history(tmp_path)
    channel = webhook(hook.url())
    engine, tracker = engine_for(tmp_path, NOW, {"hook": channel})
    plan = engine.plan().trackers[0]
    assert plan.adopted > 100, "the tracker's past holds many breaches and escalations"
    assert plan.notifications == [], "none of them is owed to anyone now"
    first = engine.run_once().trackers[0]
    tracker.close()
    assert hook.keys() == {}, "the first run notified the past"
    assert first.adopted == plan.adopted and first.notified == 0
    assert any(c.kind.value == "add_note" for c in first.changes), "notes and fields are still written"
    # from now on, what crosses is notified, and only that
    at = NOW + timedelta(hours=2)
    for when in (NOW + timedelta(seconds=10), at):
        cycle(tmp_path, when, {"hook": channel})
    sent = hook.keys()
    assert sent, "crossings after the first run are notified"
    tracker = LocalTracker(tmp_path / "tracker.sqlite")
    try:
        assert all(crossing_of(tracker, key, at) > NOW for key in sent), "a past crossing was notified"
    finally:
        tracker.close()
    assert max(sent.values()) == 1


def test_a_backfill_notifies_the_past_within_the_horizon(tmp_path: Path, hook: Receiver) -> None:
    full = tmp_path / "full"
    full.mkdir()
    history(full, with_notifications("adoption: {backfill: true, horizon: null}\nmax_per_cycle: null"), 60)
    everything = cycle(full, NOW, {"hook": webhook(hook.url("/full"))})
    assert everything.adopted == 0 and everything.notified == len(hook.keys("/full")) > 0
    day = tmp_path / "day"
    day.mkdir()
    history(day, with_notifications("adoption: {backfill: true, horizon: 1 day}\nmax_per_cycle: null"), 60)
    recent = cycle(day, NOW, {"hook": webhook(hook.url("/day"))})
    sent = hook.keys("/day")
    assert 0 < len(sent) < len(hook.keys("/full")) and recent.adopted > 0
    tracker = LocalTracker(day / "tracker.sqlite")
    try:
        assert all(crossing_of(tracker, key, NOW) >= NOW - timedelta(days=1) for key in sent)
    finally:
        tracker.close()


def test_the_horizon_holds_back_what_crossed_while_casewarden_was_stopped(
    tmp_path: Path, hook: Receiver
) -> None:
    """casewarden was stopped for three days: what crossed more than the horizon (one day by default)
    before it came back is recorded, not paged; what crossed within the day is."""
    fresh_tracker(tmp_path, fresh=4)
    channel = webhook(hook.url())
    cycle(tmp_path, NOW, {"hook": channel})
    back = NOW + timedelta(days=3)
    tracker = LocalTracker(tmp_path / "tracker.sqlite")
    recent = [
        tracker.create_case(f"Recent {i}", opened_at=back - timedelta(hours=3), level="P1", status="New")
        for i in range(3)
    ]
    tracker.close()
    later = cycle(tmp_path, back, {"hook": channel})
    sent = hook.keys()
    assert later.adopted >= 4 * 3, "each stale case's breaches and escalation are held back"
    assert {k.split(":")[0] for k in sent} == set(recent), "only the cases that crossed within the day"
    tracker = LocalTracker(tmp_path / "tracker.sqlite")
    try:
        assert all(crossing_of(tracker, key, back) >= back - timedelta(days=1) for key in sent)
    finally:
        tracker.close()


def test_plan_counts_what_a_run_would_send_and_run_holds_what_passes_the_cap(
    tmp_path: Path, hook: Receiver
) -> None:
    fresh_tracker(tmp_path, deployment=with_notifications("max_per_cycle: 10"))
    channel = webhook(hook.url())
    cycle(tmp_path, NOW, {"hook": channel})
    engine, tracker = engine_for(tmp_path, LATER, {"hook": channel})
    plan = engine.plan().trackers[0]
    tracker.close()
    would = sum(len(n.channels) for n in plan.notifications)
    assert would == 24 and plan.notify_held == 14, "plan says 24 would go, 14 of them over the cap"
    capped = cycle(tmp_path, LATER, {"hook": channel})
    assert capped.notified == 10 and capped.notify_held == 14 and len(hook.keys()) == 10
    again = cycle(tmp_path, LATER + timedelta(minutes=5), {"hook": channel})
    assert again.notified == 0 and again.notify_held == 14, "held ones wait for --yes, not the next cycle"
    engine, tracker = engine_for(tmp_path, LATER + timedelta(minutes=10), {"hook": channel})
    confirmed = engine.run_once(confirm=True).trackers[0]
    tracker.close()
    assert confirmed.notified == 14 and confirmed.notify_held == 0
    assert len(hook.keys()) == 24 and max(hook.keys().values()) == 1


CLI_DEPLOYMENT = """
policy: policy.yaml
state: state.sqlite
trackers:
  - name: local
    type: local
    settings: {path: tracker.sqlite, create: true}
notifications:
  channels:
    hook: {type: webhook, url_env: HOOK_URL, attempts: 1}
  contacts: {boss: [hook]}
  on_breach: [hook]
  max_per_cycle: 5
"""


def test_the_cli_holds_what_passes_the_cap_until_run_yes(tmp_path: Path, hook: Receiver) -> None:
    import json

    from click.testing import CliRunner

    from casewarden.sync.cli import EXIT_OK, EXIT_PROBLEMS, main
    from casewarden.sync.state import StateStore, iso

    write_deployment(tmp_path, deployment_text=CLI_DEPLOYMENT)
    config = str(tmp_path / "casewarden.yaml")
    env = {"HOOK_URL": hook.url("/cli")}

    def invoke(*args: str) -> tuple[int, str]:
        result = CliRunner().invoke(main, [*args, "-c", config], env=env, catch_exceptions=False)
        return result.exit_code, result.output

    assert invoke("run", "--once")[0] == EXIT_OK  # adopts the (empty) tracker now
    now = datetime.now(UTC)
    state = StateStore(tmp_path / "state.sqlite")
    state.db.execute("UPDATE adoption SET adopted_at = ?", (iso(now - timedelta(hours=12)),))
    state.close()
    tracker = LocalTracker(tmp_path / "tracker.sqlite")
    for i in range(3):  # each owes a first response breach, a periodic update breach and escalation level 2
        tracker.create_case(f"Down {i}", opened_at=now - timedelta(hours=3), level="P1", status="New")
    tracker.close()

    code, out = invoke("plan", "--json")
    plan = json.loads(out)["trackers"][0]
    assert code == EXIT_OK and plan["notifications_to_send"] == 9 and plan["notifications_held"] == 4
    code, out = invoke("plan")
    assert "9  notification(s) to send" in out and "4 over notifications.max_per_cycle" in out
    code, out = invoke("run", "--once")
    assert code == EXIT_PROBLEMS and "run --yes" in out
    assert len(hook.keys("/cli")) == 5
    code, out = invoke("run", "--once", "--yes")
    assert code == EXIT_OK, out
    assert len(hook.keys("/cli")) == 9 and max(hook.keys("/cli").values()) == 1


def test_an_upgraded_state_adopts_its_trackers_at_their_last_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A deployment that ran before adoption existed notifies what crosses after its last run, nothing
    older; one that never ran adopts at its first run."""
    import casewarden.sync.state as state_module

    full = state_module.MIGRATIONS
    monkeypatch.setattr(state_module, "MIGRATIONS", full[:3])
    old = state_module.StateStore(tmp_path / "s.sqlite")
    with old.transaction() as db:
        old.set_resume(db, "zendesk", {"cursor": "abc"})
    for at in (NOW - timedelta(hours=1), NOW):
        old.finish_run(old.start_run(at, "run"), at, "ok", {})
    old.close()
    monkeypatch.setattr(state_module, "MIGRATIONS", full)
    new = state_module.StateStore(tmp_path / "s.sqlite")
    try:
        assert new.adopted_at("zendesk") == NOW
        assert new.adopted_at("jira") is None
        assert new.adopt("jira", NOW + timedelta(hours=1)) == NOW + timedelta(hours=1)
        assert new.adopt("zendesk", NOW + timedelta(hours=1)) == NOW, "adopted once, for good"
    finally:
        new.close()


def test_the_adoption_rule() -> None:
    from casewarden.sync.adoption import held_back
    from casewarden.sync.deployment import Adoption

    t0, now, second = NOW, NOW + timedelta(hours=1), timedelta(seconds=1)
    default = Adoption()
    assert held_back(t0 - second, t0, now, default) and held_back(t0, t0, now, default), "at or before: past"
    assert held_back(t0 + second, t0, now, default) is None
    assert "horizon" in (held_back(t0 + second, t0, t0 + timedelta(days=2), default) or "")
    backfill = Adoption(backfill=True)
    assert held_back(t0 - timedelta(hours=23), t0, t0, backfill) is None
    assert held_back(t0 - timedelta(hours=25), t0, t0, backfill), "a backfill stays within the horizon"
    assert held_back(t0 - timedelta(days=90), t0, t0, Adoption(backfill=True, horizon=None)) is None


def test_notification_settings_in_the_deployment_file() -> None:
    from casewarden.errors import ConfigError
    from casewarden.sync.deployment import load_deployment_text

    base = "policy: p.yaml\ntrackers: [{name: t, type: local, settings: {path: x}}]\nnotifications:\n"
    spec = load_deployment_text(
        base + "  adoption: {horizon: 2 days}\n  time_budget: 90\n  retry: {max_age: 12h, backoff: 30s}\n"
    ).spec.notifications
    assert (spec.adoption.horizon, spec.adoption.backfill, spec.time_budget) == (172800, False, 90)
    assert (spec.retry.max_age, spec.retry.backoff, spec.max_per_cycle) == (43200, 30, 200)
    with pytest.raises(ConfigError) as err:
        load_deployment_text(base + "  adoption: {horizon: 2 fortnights}\n  max_per_cycle: 0\n")
    text = str(err.value)
    assert "<deployment>:4:" in text and "'2 fortnights' is not a span of time" in text
    assert "max_per_cycle" in text


def test_the_readme_notification_example_validates_and_shows_the_defaults() -> None:
    import re

    import yaml

    from casewarden.sync.deployment import Notifications

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    block = re.search(r"### Notifications\n.*?```yaml\n(.*?)```", readme, re.S)
    assert block is not None
    shown = Notifications.model_validate(yaml.safe_load(block.group(1))["notifications"])
    defaults = Notifications()
    for name in ("adoption", "retry", "max_per_cycle", "time_budget", "pause_after"):
        assert getattr(shown, name) == getattr(defaults, name), (
            f"the README shows a {name} that is not the default"
        )
