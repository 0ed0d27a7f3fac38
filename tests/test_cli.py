"""The command line against the embedded tracker, as an admin uses it: init, doctor, bootstrap, plan,
run, report, demo, and the exit codes cron jobs act on."""

from __future__ import annotations

import csv
import io
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner

from casewarden.connectors.local import LocalTracker
from casewarden.connectors.local.generator import generate
from casewarden.policy.loader import load_policy
from casewarden.sync.cli import EXIT_LOCKED, EXIT_OK, EXIT_PROBLEMS, main
from casewarden.sync.state import StateStore

PRESET = "priority-lifecycle"


@pytest.fixture
def hook() -> Iterator[tuple[str, list[dict[str, object]]]]:
    """A real local HTTP server standing in for a chat webhook."""
    got: list[dict[str, object]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            got.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *_a: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook/secret-token", got
    server.shutdown()
    server.server_close()


@pytest.fixture
def deployment(tmp_path: Path, hook: tuple[str, list[dict[str, object]]]) -> tuple[Path, dict[str, str]]:
    runner = CliRunner()
    result = runner.invoke(main, ["init", "--preset", PRESET, "--tracker", "local", "--dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    pol = load_policy(PRESET)
    tracker = LocalTracker(tmp_path / "tracker.sqlite")
    now = datetime.now(UTC)
    generate(
        tracker,
        count=60,
        levels=["P1", "P2", "P3", "P4"],
        statuses={s.name: s.category.value for s in pol.statuses.values()},
        start=now - timedelta(days=10),
        end=now - timedelta(minutes=5),
        seed=5,
    )
    tracker.close()
    return tmp_path / "casewarden.yaml", {"CASEWARDEN_WEBHOOK_URL": hook[0]}


def invoke(args: list[str], env: dict[str, str] | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(main, args, env=env, catch_exceptions=False)
    return result.exit_code, result.output


def test_init_refuses_to_overwrite(tmp_path: Path) -> None:
    assert invoke(["init", "--preset", PRESET, "--dir", str(tmp_path)])[0] == 0
    code, out = invoke(["init", "--preset", PRESET, "--dir", str(tmp_path)])
    assert code == 2 and "--force" in out
    policy_text = (tmp_path / "policy.yaml").read_text()
    assert "Started from the preset" in policy_text
    assert invoke(["policy", "validate", str(tmp_path / "policy.yaml")])[0] == 0


def test_doctor_then_bootstrap_then_doctor(deployment: tuple[Path, dict[str, str]]) -> None:
    config, env = deployment
    code, out = invoke(["doctor", "-c", str(config)], env)
    assert code == EXIT_PROBLEMS and "bootstrap --apply" in out
    code, out = invoke(["bootstrap", "-c", str(config)], env)
    assert code == 0 and "missing" in out
    code, out = invoke(["bootstrap", "-c", str(config), "--apply"], env)
    assert code == 0 and "created" in out
    code, out = invoke(["doctor", "-c", str(config)], env)
    assert code == EXIT_OK, out
    assert "secret-token" not in out


def test_plan_json_then_run_then_quiet_run(
    deployment: tuple[Path, dict[str, str]], hook: tuple[str, list[dict[str, object]]]
) -> None:
    config, env = deployment
    code, out = invoke(["plan", "-c", str(config), "--json"], env)
    assert code == 0
    plan = json.loads(out)
    changes = plan["trackers"][0]["changes"]
    assert changes and {"case_id", "kind", "field", "value", "key", "reason"} <= set(changes[0])
    assert not StateStore(config.parent / ".casewarden" / "state.sqlite").runs(), "plan records nothing"
    code, out = invoke(["run", "--once", "-c", str(config), "--json"], env)
    assert code == EXIT_OK, out
    run = json.loads(out)["trackers"][0]
    assert run["applied"] == len(run["changes"]) and not run["failed"]
    assert len(hook[1]) == run["notified"], "every notification reached the real webhook"
    # the next cycles read casewarden's own writes and then find nothing to do
    invoke(["run", "--once", "-c", str(config), "--json"], env)
    code, out = invoke(["run", "--once", "-c", str(config), "--json"], env)
    quiet = json.loads(out)["trackers"][0]
    assert code == 0 and quiet["changes"] == [] and quiet["notifications"] == []


def test_run_exits_3_when_another_runner_holds_the_lease(deployment: tuple[Path, dict[str, str]]) -> None:
    config, env = deployment
    store = StateStore(config.parent / ".casewarden" / "state.sqlite")
    store.acquire_lease(f"deployment:{config}", datetime.now(UTC), 600)
    code, out = invoke(["run", "--once", "-c", str(config)], env)
    assert code == EXIT_LOCKED and "lease" in out


def test_missing_secret_is_a_configuration_error_naming_the_variable(
    deployment: tuple[Path, dict[str, str]],
) -> None:
    config, _env = deployment
    code, out = invoke(["run", "--once", "-c", str(config)], {"CASEWARDEN_WEBHOOK_URL": ""})
    assert code == 2 and "CASEWARDEN_WEBHOOK_URL" in out


def test_report_formats(deployment: tuple[Path, dict[str, str]], tmp_path: Path) -> None:
    config, env = deployment
    invoke(["run", "--once", "-c", str(config)], env)
    code, out = invoke(["report", "-c", str(config), "--format", "json"], env)
    assert code == 0 and json.loads(out)["attainment"]
    code, out = invoke(["report", "-c", str(config), "--format", "csv"], env)
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0][0] == "section" and any(r[0] == "attainment" for r in rows[1:])
    html = tmp_path / "r.html"
    code, _ = invoke(["report", "-c", str(config), "--format", "html", "-o", str(html)], env)
    assert code == 0 and "<svg" in html.read_text()
    code, out = invoke(["report", "-c", str(config), "--since", "2026-11-01", "--until", "2026-10-01"], env)
    assert code == 2 and "is after until" in out


def test_json_logs(deployment: tuple[Path, dict[str, str]]) -> None:
    config, env = deployment
    bad = config.parent / "tracker.sqlite"
    LocalTracker(bad).create_case(
        "Mystery", opened_at=datetime.now(UTC) - timedelta(hours=1), level="P9", status="New"
    )
    result = CliRunner().invoke(main, ["--log-format", "json", "run", "--once", "-c", str(config)], env=env)
    lines = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    assert any(rec["msg"].startswith("skipped case") and rec["level"] == "warning" for rec in lines), (
        result.output
    )


def test_demo_runs_end_to_end(tmp_path: Path) -> None:
    code, out = invoke(["demo", "--cases", "80", "--keep", str(tmp_path / "demo")])
    assert code == 0, out
    for phrase in (
        "casewarden plan",
        "run --once",
        "What happened",
        "escalation actions fired",
        "statuses moved",
        "nothing changed, nothing written",
        "casewarden report",
    ):
        assert phrase in out
    assert (tmp_path / "demo" / "casewarden.yaml").exists()
