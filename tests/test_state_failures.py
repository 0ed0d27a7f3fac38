"""A state store that cannot be read or written is one clear line and exit 5 for every command that opens
it, never a traceback and never "tracker unreachable": a garbage file, a file cut short, a read-only file
or folder, a full disk (a real SQLITE_FULL, from a page limit), at open or in the middle of a cycle."""

from __future__ import annotations

import os
import shutil
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from casewarden.sync.cli import EXIT_STATE, main
from casewarden.sync.state import StateStore
from tests.test_cli import deployment, hook  # noqa: F401  (fixtures)

COMMANDS = (["plan"], ["run", "--once"], ["report"], ["doctor"])
Deployment = tuple[Path, dict[str, str]]


def state_of(config: Path) -> Path:
    return config.parent / ".casewarden" / "state.sqlite"


def run_cli(args: list[str], config: Path, env: dict[str, str]) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, [*args, "-c", str(config)], env=env)
    assert isinstance(result.exception, SystemExit | None), repr(result.exception)
    return result.exit_code, result.stdout, result.stderr


def assert_one_clear_line(code: int, out: str, err: str, path: Path, why: str) -> None:
    assert code == EXIT_STATE, out + err
    assert "Traceback" not in out + err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith(f"error the state store {path} "), lines[0]
    assert why in lines[0], lines[0]


@pytest.fixture
def used(deployment: Deployment) -> Iterator[Deployment]:  # noqa: F811
    """A deployment after one run: its state file holds cases, outcomes, an outbox."""
    config, env = deployment
    assert run_cli(["run", "--once"], config, env)[0] == 0
    yield config, env


def _garbage(path: Path) -> None:
    path.write_bytes(b"this is not a database\n" * 500)


def _truncated(path: Path) -> None:
    StateStore(path).db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _truncated_header(path: Path) -> None:
    path.write_bytes(path.read_bytes()[:60])


FILE_FAULTS: dict[str, tuple[Callable[[Path], None], str]] = {
    "garbage": (_garbage, "is corrupt or not a casewarden state file"),
    "truncated": (_truncated, "truncated to"),
    "truncated-header": (_truncated_header, "is corrupt or not a casewarden state file"),
}


@pytest.mark.parametrize("fault", sorted(FILE_FAULTS))
@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_a_corrupt_state_file_is_one_line_and_exit_5(
    used: Deployment, command: list[str], fault: str
) -> None:
    config, env = used
    path = state_of(config)
    for extra in path.parent.glob("state.sqlite-*"):
        extra.unlink()
    spoil, why = FILE_FAULTS[fault]
    spoil(path)
    assert_one_clear_line(*run_cli(command, config, env), path, why)


def _read_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """SQLite's own read-only mode: root (these tests' CI user may be root) ignores file permissions."""

    def connect(self: StateStore) -> sqlite3.Connection:
        db = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, isolation_level=None, factory=_factory())
        db.state_path = self.path  # type: ignore[attr-defined]
        return db

    monkeypatch.setattr(StateStore, "_connect", connect)


def _factory() -> type[sqlite3.Connection]:
    from casewarden.sync import state

    return state._Connection


def test_a_read_only_state_file_can_be_read_but_not_run_on(
    used: Deployment, monkeypatch: pytest.MonkeyPatch
) -> None:
    """plan and report only read the state store, so they work; run stops before it writes anything,
    and doctor says beforehand that run would fail."""
    config, env = used
    _read_only(monkeypatch)
    path = state_of(config)
    assert_one_clear_line(*run_cli(["run", "--once"], config, env), path, "read-only")
    for reading in (["plan"], ["report"]):
        code, out, err = run_cli(reading, config, env)
        assert code == 0 and not err, out + err
    code, out, err = run_cli(["doctor"], config, env)
    assert code == EXIT_STATE and "Traceback" not in out + err
    [line] = [line for line in out.splitlines() if line.startswith("FAIL state: writable")]
    assert f"the state store {path} cannot be written (a read-only file or folder)" in line


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_a_read_only_folder(deployment: Deployment, command: list[str], tmp_path: Path) -> None:  # noqa: F811
    config, env = deployment
    if os.geteuid() == 0:  # root writes anywhere chmod allows nobody to; sysfs refuses even root
        folder = Path("/sys/casewarden-test")
        if folder.exists() or not _sys_refuses():
            pytest.skip("no folder here refuses root")
    else:
        folder = tmp_path / "locked"
        folder.mkdir()
        folder.chmod(0o500)
    path = folder / "state.sqlite"
    text = config.read_text().replace("state: .casewarden/state.sqlite", f"state: {path}")
    config.write_text(text)
    try:
        assert_one_clear_line(*run_cli(command, config, env), path, "read-only")
    finally:
        if os.geteuid() != 0:
            folder.chmod(0o700)


def _sys_refuses() -> bool:
    try:
        Path("/sys/casewarden-probe").mkdir()
    except OSError:
        return True
    shutil.rmtree("/sys/casewarden-probe", ignore_errors=True)
    return False


def _full_disk(monkeypatch: pytest.MonkeyPatch, spare_pages: int = 0) -> None:
    """A real SQLITE_FULL: the file may not grow past the pages it has (plus ``spare_pages``)."""
    connect = StateStore._connect

    def full(self: StateStore) -> sqlite3.Connection:
        db = connect(self)
        (pages,) = db.execute("PRAGMA page_count").fetchone()
        db.execute(f"PRAGMA max_page_count = {max(pages + spare_pages, 1)}")
        return db

    monkeypatch.setattr(StateStore, "_connect", full)


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_a_full_disk_when_the_state_is_created(
    deployment: Deployment,  # noqa: F811
    command: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config, env = deployment
    _full_disk(monkeypatch)
    assert_one_clear_line(*run_cli(command, config, env), state_of(config), "the disk is full")


def test_a_disk_that_fills_in_the_middle_of_a_cycle(
    deployment: Deployment,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config, env = deployment
    assert run_cli(["plan"], config, env)[0] == 0  # the state store exists, with its schema
    _full_disk(monkeypatch, spare_pages=2)
    code, out, err = run_cli(["run", "--once"], config, env)
    assert_one_clear_line(code, out, err, state_of(config), "the disk is full")
    assert "failed" not in out, "the state store's failure is not reported as a tracker's"


def test_state_errors_are_json_with_json_logs(used: Deployment) -> None:
    config, env = used
    _garbage(state_of(config))
    result = CliRunner().invoke(main, ["--log-format", "json", "plan", "-c", str(config)], env=env)
    import json

    [record] = [json.loads(line) for line in result.stderr.splitlines()]
    assert result.exit_code == EXIT_STATE and record["exit_code"] == EXIT_STATE
    assert record["level"] == "error" and "is corrupt" in record["msg"]


def test_report_into_a_missing_folder_is_refused_not_created(used: Deployment, tmp_path: Path) -> None:
    config, env = used
    target = tmp_path / "no-such-folder" / "report.html"
    code, out, err = run_cli(["report", "--format", "html", "-o", str(target)], config, env)
    assert code == 2 and "Traceback" not in out + err
    assert f"the folder {target.parent} does not exist" in err
    assert not target.parent.exists()
