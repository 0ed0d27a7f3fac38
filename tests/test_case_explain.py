"""``casewarden case explain ID``: the case's timeline, each target's clock with its pauses and calendar,
why it is breached or when it will be, the escalation level and what comes next, all from the policy
engine's own evaluation (so it says what ``run`` does)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from click.testing import CliRunner

from casewarden.connectors.local import LocalTracker
from casewarden.policy.evaluate import evaluate
from casewarden.policy.loader import load_policy
from casewarden.sync.cli import EXIT_USAGE, main
from casewarden.sync.state import StateStore
from tests.test_cli import PRESET, deployment, hook  # noqa: F401  (fixtures)

Deployment = tuple[Path, dict[str, str]]
T0 = datetime(2026, 11, 10, 10, 0, tzinfo=UTC)
AT = "2026-11-10T14:00:00+00:00"


def _case(config: Path) -> str:
    """A P2 case (24x7): answered 15 minutes after its 30-minute first response, then on hold 11-13."""
    tracker = LocalTracker(config.parent / "tracker.sqlite")
    cid = tracker.create_case("Phones drop calls", opened_at=T0, level="P2", status="New")
    tracker.add_comment(cid, T0.replace(minute=45), "agent", "Looking into it")
    tracker.set_status(cid, T0.replace(minute=45), "In Progress")
    tracker.set_status(cid, T0.replace(hour=11), "On Hold", hold_until=T0.replace(hour=13))
    tracker.set_status(cid, T0.replace(hour=13), "In Progress")
    tracker.close()
    return cid


def explain(config: Path, env: dict[str, str], *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["case", "explain", *args, "-c", str(config)], env=env)
    assert "Traceback" not in result.output
    return result.exit_code, result.stdout


def test_the_text_tells_timeline_clocks_pauses_and_what_comes_next(deployment: Deployment) -> None:  # noqa: F811
    config, env = deployment
    cid = _case(config)
    code, out = explain(config, env, cid, "--at", AT)
    assert code == 0, out
    assert out.startswith(f"case {cid}  level P2, status In Progress, open; as of {AT}")
    timeline = out.split("Timeline\n", 1)[1].split("Targets\n", 1)[0].splitlines()
    assert timeline == [
        "  2026-11-10T10:00:00+00:00  opened",
        "  2026-11-10T10:00:00+00:00  level P2 at opening",
        "  2026-11-10T10:00:00+00:00  status New",
        "  2026-11-10T10:45:00+00:00  status In Progress",
        "  2026-11-10T10:45:00+00:00  public reply by the agent",
        "  2026-11-10T11:00:00+00:00  status On Hold",
        "  2026-11-10T13:00:00+00:00  status In Progress",
    ]
    assert (
        "first_response     breached  breached: met at 2026-11-10T10:45:00+00:00, after its due "
        "2026-11-10T10:30:00+00:00, 15 min late (30 min of calendar time)"
    ) in out
    assert "      paused 2026-11-10T11:00:00+00:00 .. 2026-11-10T13:00:00+00:00 (On Hold)" in out
    # the engine's own answer for the next update: two hours of running time after 10:45, the hold skipped
    ev = evaluate(load_policy(PRESET), _read(config, cid), datetime.fromisoformat(AT))
    periodic = ev.target("periodic_update")
    assert periodic is not None and periodic.due_at is not None
    assert periodic.due_at.astimezone(UTC) == T0.replace(hour=14, minute=45)
    assert f"next update due {periodic.due_at.isoformat()} (one every 2 hours of calendar time)" in out
    assert "Escalation\n" in out and "What comes next\n" in out


def _read(config: Path, cid: str):  # type: ignore[no-untyped-def]
    from casewarden.sync.deployment import load_deployment
    from casewarden.sync.wiring import Runtime

    with Runtime(load_deployment(config), with_channels=False) as rt:
        return rt.connectors["local"].read_cases([cid])[0].case


def test_json_carries_the_same(deployment: Deployment) -> None:  # noqa: F811
    config, env = deployment
    cid = _case(config)
    code, out = explain(config, env, cid, "--at", AT, "--format", "json")
    assert code == 0
    data = json.loads(out)
    assert data["case_id"] == cid and data["level"] == "P2" and data["open"] is True
    first = next(t for t in data["targets"] if t["name"] == "first_response")
    assert first["state"] == "breached" and first["met_at"] == "2026-11-10T10:45:00+00:00"
    periodic = next(t for t in data["targets"] if t["name"] == "periodic_update")
    assert periodic["pauses"] == [
        {"from": "2026-11-10T11:00:00+00:00", "until": "2026-11-10T13:00:00+00:00", "status": "On Hold"}
    ]
    assert {"escalation", "due_now", "next", "flags", "next_change_at"} <= set(data)


def test_after_a_run_it_says_what_was_done(deployment: Deployment) -> None:  # noqa: F811
    config, env = deployment
    assert CliRunner().invoke(main, ["run", "--once", "-c", str(config)], env=env).exit_code == 0
    store = StateStore(config.parent / ".casewarden" / "state.sqlite")
    (cid,) = store.db.execute(
        "SELECT case_id FROM ledger WHERE status = 'done' ORDER BY key LIMIT 1"
    ).fetchone()
    store.close()
    data = json.loads(explain(config, env, cid, "--format", "json")[1])
    assert data["due_now"], "the generated case has actions due"
    assert all(a["done"] in ("done", "adopted", "found") for a in data["due_now"]), data["due_now"]


def test_an_unknown_case_or_tracker_is_a_usage_error(deployment: Deployment) -> None:  # noqa: F811
    config, env = deployment
    code, _ = explain(config, env, "NOPE")
    assert code == EXIT_USAGE
    code, _ = explain(config, env, "L-1", "--tracker", "nosuch")
    assert code == EXIT_USAGE
