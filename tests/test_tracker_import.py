"""The embedded tracker loads cases from the command line: ``casewarden tracker import FILE.csv|json``
(checked whole first: every mistake located, nothing imported unless all rows are right) and
``casewarden tracker generate --cases N``."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from casewarden.connectors.local import LocalTracker
from casewarden.sync.cli import EXIT_USAGE, main
from tests.test_cli import deployment, hook  # noqa: F401  (fixtures)

Deployment = tuple[Path, dict[str, str]]


def count(config: Path) -> int:
    tracker = LocalTracker(config.parent / "tracker.sqlite")
    try:
        return tracker.count()
    finally:
        tracker.close()


def invoke(args: list[str], env: dict[str, str]) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, args, env=env)
    assert isinstance(result.exception, SystemExit | None), repr(result.exception)
    return result.exit_code, result.stdout, result.stderr


def test_import_a_csv(deployment: Deployment, tmp_path: Path) -> None:  # noqa: F811
    config, env = deployment
    before = count(config)
    csv_file = tmp_path / "cases.csv"
    csv_file.write_text(
        "subject,opened_at,level,status,channel\n"
        "Phones down,2026-11-20T09:00:00Z,P1,New,phone\n"
        "Voicemail light,2026-11-21T10:30:00-07:00,P4,In Progress,\n"
    )
    code, out, err = invoke(["tracker", "import", str(csv_file), "-c", str(config), "--format", "json"], env)
    assert code == 0, out + err
    data = json.loads(out)
    assert data["cases"] == 2 and count(config) == before + 2
    tracker = LocalTracker(config.parent / "tracker.sqlite")
    [second] = tracker.read_cases([data["ids"][1]])
    tracker.close()
    assert second.case.level == "P4" and second.case.status == "In Progress"
    assert second.case.opened_at.isoformat() == "2026-11-21T17:30:00+00:00"
    code, out, _ = invoke(["plan", "-c", str(config), "--format", "json"], env)
    assert code == 0


def test_import_json_with_histories(deployment: Deployment, tmp_path: Path) -> None:  # noqa: F811
    config, env = deployment
    cases = [
        {
            "id": "IMP-1",
            "subject": "Calls drop",
            "opened_at": "2026-11-20T09:00:00Z",
            "level": "P2",
            "status": "New",
            "replies": [{"at": "2026-11-20T09:20:00Z", "author": "agent", "body": "On it"}],
            "statuses": [{"at": "2026-11-20T09:20:00Z", "status": "In Progress"}],
            "levels": [{"at": "2026-11-20T10:00:00Z", "level": "P1"}],
        }
    ]
    path = tmp_path / "cases.json"
    path.write_text(json.dumps(cases))
    code, out, err = invoke(["tracker", "import", str(path), "-c", str(config)], env)
    assert code == 0, out + err
    assert out.startswith("local: imported 1 case(s) from")
    tracker = LocalTracker(config.parent / "tracker.sqlite")
    [tc] = tracker.read_cases(["IMP-1"])
    tracker.close()
    assert tc.case.level == "P1" and tc.case.status == "In Progress" and len(tc.case.replies) == 1


def test_a_bad_file_imports_nothing_and_says_where(deployment: Deployment, tmp_path: Path) -> None:  # noqa: F811
    config, env = deployment
    before = count(config)
    csv_file = tmp_path / "bad.csv"
    csv_file.write_text(
        "subject,opened_at,level,status,chanel\n"
        "Fine,2026-11-20T09:00:00Z,P1,New,phone\n"
        "Bad,2026-11-31T09:00:00Z,P9,Nwe,\n"
    )
    code, out, err = invoke(["tracker", "import", str(csv_file), "-c", str(config)], env)
    assert code == EXIT_USAGE and out == "" and "Traceback" not in err
    lines = err.splitlines()
    assert f"error {csv_file}:1: chanel: unknown column 'chanel'; did you mean 'channel'?" in lines[0]
    assert any(
        f"{csv_file}:3: opened_at: '2026-11-31T09:00:00Z' is not an ISO-8601 instant" in ln for ln in lines
    )
    assert any(f"{csv_file}:3: level: unknown level 'P9'" in ln for ln in lines)
    assert any(f"{csv_file}:3: status: unknown status 'Nwe'; did you mean 'New'?" in ln for ln in lines)
    assert all(ln.startswith("error ") for ln in lines)
    assert count(config) == before, "nothing imported"


def test_import_refuses_other_files(deployment: Deployment, tmp_path: Path) -> None:  # noqa: F811
    config, env = deployment
    (tmp_path / "cases.xlsx").write_bytes(b"PK\x03\x04")
    code, _out, err = invoke(["tracker", "import", str(tmp_path / "cases.xlsx"), "-c", str(config)], env)
    assert code == EXIT_USAGE and "import a .csv or a .json file" in err
    (tmp_path / "broken.json").write_text('[{"subject": "x",]')
    code, _out, err = invoke(["tracker", "import", str(tmp_path / "broken.json"), "-c", str(config)], env)
    assert code == EXIT_USAGE and "broken.json:1:" in err and "not valid JSON" in err


def test_generate(deployment: Deployment) -> None:  # noqa: F811
    config, env = deployment
    before = count(config)
    code, out, err = invoke(["tracker", "generate", "--cases", "25", "--seed", "3", "-c", str(config)], env)
    assert code == 0, out + err
    assert "generated 25 case(s)" in out and count(config) == before + 25
    code, out, _ = invoke(["plan", "-c", str(config), "--format", "json"], env)
    assert code == 0 and json.loads(out)["trackers"][0]["read"] >= 25
