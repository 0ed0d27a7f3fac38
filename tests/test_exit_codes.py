"""README's exit code table is true: every row is parsed from README.md and produced here, by each kind
of command that can produce it, Ctrl-C included (in a real process, idle and mid-cycle, once and with
``run --every``)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner

from casewarden.connectors.local import LocalTracker
from casewarden.sync import cli
from casewarden.sync.cli import main
from casewarden.sync.state import StateStore
from tests.test_cli import PRESET, deployment, hook  # noqa: F401  (fixtures)

ROOT = Path(__file__).resolve().parents[1]
Deployment = tuple[Path, dict[str, str]]


def readme_exit_codes() -> dict[int, str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    table = text.split("Exit codes, for cron jobs", 1)[1].split("\n\n", 2)[1]
    rows = re.findall(r"^\| `(\d+)` \| (.+) \|$", table, re.M)
    assert rows, "README has an exit code table"
    return {int(code): meaning for code, meaning in rows}


def invoke(args: list[str], env: dict[str, str] | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(main, args, env=env)
    assert isinstance(result.exception, SystemExit | None), repr(result.exception)
    assert "Traceback" not in result.output
    return result.exit_code, result.output


Scenario = Callable[[Deployment, Path, pytest.MonkeyPatch], int]


def _plan(d: Deployment, _tmp: Path, _mp: pytest.MonkeyPatch) -> int:
    return invoke(["plan", "-c", str(d[0])], d[1])[0]


def _validate_preset(_d: Deployment, _tmp: Path, _mp: pytest.MonkeyPatch) -> int:
    return invoke(["policy", "validate", PRESET])[0]


def _validate_bad_policy(_d: Deployment, tmp: Path, _mp: pytest.MonkeyPatch) -> int:
    (tmp / "bad.yaml").write_text("policy: {name: x}\nlevels: []\n")
    return invoke(["policy", "validate", str(tmp / "bad.yaml")])[0]


def _doctor_before_bootstrap(d: Deployment, _tmp: Path, _mp: pytest.MonkeyPatch) -> int:
    return invoke(["doctor", "-c", str(d[0])], d[1])[0]


def _init_mistyped_preset(_d: Deployment, tmp: Path, _mp: pytest.MonkeyPatch) -> int:
    code, out = invoke(["init", "--preset", "priority-lifecyle", "--dir", str(tmp / "new")])
    assert "did you mean 'priority-lifecycle'" in out
    return code


def _missing_deployment_file(_d: Deployment, tmp: Path, _mp: pytest.MonkeyPatch) -> int:
    return invoke(["run", "--once", "-c", str(tmp / "nope.yaml")])[0]


def _bad_interval(d: Deployment, _tmp: Path, _mp: pytest.MonkeyPatch) -> int:
    return invoke(["run", "--every", "0s", "-c", str(d[0])], d[1])[0]


def _unplaceable_due(_d: Deployment, _tmp: Path, _mp: pytest.MonkeyPatch) -> int:
    return invoke(["due", PRESET, "--level", "P9", "--opened", "2026-11-20T09:00:00Z"])[0]


def _lease_held(d: Deployment, _tmp: Path, _mp: pytest.MonkeyPatch) -> int:
    store = StateStore(d[0].parent / ".casewarden" / "state.sqlite")
    store.acquire_lease(f"deployment:{d[0]}", datetime.now(UTC), 600)
    store.close()
    return invoke(["run", "--once", "-c", str(d[0])], d[1])[0]


def _tracker_unreachable(d: Deployment, _tmp: Path, _mp: pytest.MonkeyPatch) -> int:
    (d[0].parent / "tracker.sqlite").write_bytes(b"not a tracker" * 100)
    for extra in d[0].parent.glob("tracker.sqlite-*"):
        extra.unlink()
    return invoke(["plan", "-c", str(d[0])], d[1])[0]


def _state_garbage(command: str) -> Scenario:
    def scenario(d: Deployment, _tmp: Path, _mp: pytest.MonkeyPatch) -> int:
        state = d[0].parent / ".casewarden" / "state.sqlite"
        state.parent.mkdir(exist_ok=True)
        state.write_bytes(b"\x00garbage" * 512)
        return invoke([command, "-c", str(d[0])], d[1])[0]

    return scenario


def _interrupted_mid_read(command: list[str]) -> Scenario:
    """Ctrl-C while the tracker is being read (KeyboardInterrupt where the signal would land)."""

    def scenario(d: Deployment, _tmp: Path, mp: pytest.MonkeyPatch) -> int:
        def interrupted(*_a: object, **_k: object) -> Iterator[object]:
            raise KeyboardInterrupt
            yield  # pragma: no cover

        mp.setattr(LocalTracker, "read_changed", interrupted)
        return invoke([*command, "-c", str(d[0])], d[1])[0]

    return scenario


SCENARIOS: dict[int, list[Scenario]] = {
    0: [_plan, _validate_preset],
    1: [_validate_bad_policy, _doctor_before_bootstrap],
    2: [_init_mistyped_preset, _missing_deployment_file, _bad_interval, _unplaceable_due],
    3: [_lease_held],
    4: [_tracker_unreachable],
    5: [_state_garbage("plan"), _state_garbage("run"), _state_garbage("report"), _state_garbage("doctor")],
    130: [_interrupted_mid_read(["run", "--once"]), _interrupted_mid_read(["plan"])],
}


def test_the_table_lists_exactly_the_codes_the_cli_uses() -> None:
    codes = readme_exit_codes()
    assert set(codes) == set(SCENARIOS)
    constants = {v for k, v in vars(cli).items() if k.startswith("EXIT_") and isinstance(v, int)}
    assert constants == set(codes)


CASES = [(code, s) for code, scenarios in SCENARIOS.items() for s in scenarios]


@pytest.mark.parametrize(("code", "scenario"), CASES, ids=[f"{c}-{s.__name__}" for c, s in CASES])
def test_each_row_is_produced(
    code: int,
    scenario: Scenario,
    deployment: Deployment,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert code in readme_exit_codes()
    assert scenario(deployment, tmp_path, monkeypatch) == code


# -- Ctrl-C in a real process -------------------------------------------------------------------------


@pytest.fixture
def stuck_hook() -> Iterator[tuple[str, threading.Event, threading.Event]]:
    """A webhook that takes the request and does not answer until released."""
    arrived, release = threading.Event(), threading.Event()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            arrived.set()
            release.wait(30)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *_a: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook", arrived, release
    release.set()
    server.shutdown()
    server.server_close()


def _process(config: Path, url: str, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "CASEWARDEN_WEBHOOK_URL": url}
    return subprocess.Popen(
        [sys.executable, "-m", "casewarden.sync.cli", "--log-level", "info", *args, "-c", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def _notifying(config: Path) -> None:
    """Notify every breach, the past included, so the first run has notifications to send."""
    text = config.read_text()
    text = text.replace("on_breach: []", "on_breach: [ops-webhook]").replace(
        "backfill: false", "backfill: true"
    )
    text = text.replace(
        "ops-webhook:\n      type: webhook", "ops-webhook:\n      type: webhook\n      timeout: 25"
    )
    config.write_text(text)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_ctrl_c_while_a_notification_is_sent_exits_130(
    deployment: Deployment,  # noqa: F811
    stuck_hook: tuple[str, threading.Event, threading.Event],
) -> None:
    config, _env = deployment
    _notifying(config)
    url, arrived, _release = stuck_hook
    proc = _process(config, url, "run", "--once")
    try:
        assert arrived.wait(60), "the run sends a notification"
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 130, out + err
    assert "Traceback" not in out + err
    assert "interrupted stopped by Ctrl-C" in err


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_run_every_stops_after_the_cycle_at_the_first_ctrl_c_and_at_once_at_the_second(
    deployment: Deployment,  # noqa: F811
    stuck_hook: tuple[str, threading.Event, threading.Event],
) -> None:
    config, _env = deployment
    _notifying(config)
    url, arrived, _release = stuck_hook
    proc = _process(config, url, "run", "--every", "1h")
    assert proc.stderr is not None
    try:
        assert arrived.wait(60), "the first cycle sends a notification"
        proc.send_signal(signal.SIGINT)
        for line in proc.stderr:
            if "stopping after the cycle in progress" in line:
                break
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 130, out + err
    assert "Traceback" not in out + err


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_run_every_interrupted_between_cycles_exits_130(
    deployment: Deployment,  # noqa: F811
    hook: tuple[str, list[dict[str, object]]],  # noqa: F811
) -> None:
    config, env = deployment
    proc = _process(config, env["CASEWARDEN_WEBHOOK_URL"], "--log-format", "json", "run", "--every", "1h")
    assert proc.stdout is not None
    try:
        first = proc.stdout.readline()
        assert first.startswith("local: read"), first
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 130, out + err
    records = [json.loads(line) for line in err.splitlines()]
    assert records[-1]["exit_code"] == 130 and records[-1]["kind"] == "interrupted"
