"""Mistakes an operator makes on the command line are usage errors that say what is known: an unknown
tracker in ``report``, an unset ``*_env`` variable before ``plan`` (not only at the first send), an
interval for ``run --every`` or ``schedule.every`` out of what makes sense."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from casewarden.errors import ConfigError
from casewarden.sync.cli import EXIT_USAGE, main
from casewarden.sync.deployment import MAX_INTERVAL, load_deployment_text, parse_interval
from tests.test_cli import deployment, hook  # noqa: F401  (fixtures)

Deployment = tuple[Path, dict[str, str]]


def invoke(args: list[str], env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, args, env=env)
    assert isinstance(result.exception, SystemExit | None), repr(result.exception)
    assert "Traceback" not in result.output
    return result.exit_code, result.stdout, result.stderr


def test_report_for_an_unknown_tracker_names_the_known_ones(deployment: Deployment) -> None:  # noqa: F811
    config, env = deployment
    code, out, err = invoke(["report", "-c", str(config), "--tracker", "locl"], env)
    assert code == EXIT_USAGE and out == ""
    assert "unknown tracker 'locl'; did you mean 'local'? (allowed: local)" in err
    code, _out, _err = invoke(["report", "-c", str(config), "--tracker", "local"], env)
    assert code == 0


@pytest.mark.parametrize("command", [["plan"], ["run", "--once"]], ids=" ".join)
def test_an_unset_variable_fails_before_the_cycle_naming_it_where_it_is_named(
    deployment: Deployment,  # noqa: F811
    command: list[str],
) -> None:
    config, _env = deployment
    code, out, err = invoke([*command, "-c", str(config)], {"CASEWARDEN_WEBHOOK_URL": ""})
    assert code == EXIT_USAGE and out == ""
    line = next(i for i, text in enumerate(config.read_text().splitlines(), 1) if "url_env:" in text)
    assert err.startswith(f"error {config}:{line}:"), err
    assert (
        "notifications.channels.ops-webhook.url_env: environment variable CASEWARDEN_WEBHOOK_URL is not set"
        in err
    )


def test_every_env_setting_at_any_depth_is_checked(deployment: Deployment) -> None:  # noqa: F811
    config, env = deployment
    text = config.read_text().replace(
        "      url_env: CASEWARDEN_WEBHOOK_URL",
        "      url_env: CASEWARDEN_WEBHOOK_URL\n      headers_env: {X-Signature: HOOK_SIGNATURE}",
    )
    config.write_text(text)
    code, _out, err = invoke(["plan", "-c", str(config)], env)
    assert code == EXIT_USAGE
    assert "headers_env.X-Signature: environment variable HOOK_SIGNATURE is not set" in err


def test_doctor_lists_an_unset_variable_as_a_check(deployment: Deployment) -> None:  # noqa: F811
    config, _env = deployment
    code, out, _err = invoke(["doctor", "-c", str(config)], {"CASEWARDEN_WEBHOOK_URL": ""})
    assert code == 1
    assert any(
        line.startswith("FAIL environment: variable") and "CASEWARDEN_WEBHOOK_URL is not set" in line
        for line in out.splitlines()
    ), out


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("1s", 1), ("30s", 30), ("5m", 300), ("1h", 3600), ("10 minutes", 600), ("1d", 86400)],
)
def test_intervals_in_range(text: str, seconds: int) -> None:
    assert parse_interval(text) == seconds


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("0s", "too short an interval: at least 1s"),
        ("25h", "too long an interval: at most 24h"),
        ("99999999999999999999h", "too long an interval"),
        ("2 weeks", "not an interval"),
        ("5", "not an interval"),
        ("-5m", "not an interval"),
        ("x" * 500, "..."),
    ],
)
def test_intervals_out_of_range(text: str, message: str) -> None:
    with pytest.raises(ValueError, match="interval") as info:
        parse_interval(text)
    assert message in str(info.value) and len(str(info.value)) < 200


def test_run_every_out_of_range_is_a_usage_error(deployment: Deployment) -> None:  # noqa: F811
    config, env = deployment
    code, _out, err = invoke(["run", "--every", "99999999h", "-c", str(config)], env)
    assert code == EXIT_USAGE and "too long an interval" in err
    assert not (config.parent / ".casewarden").exists(), "refused before anything was opened"


def test_schedule_every_out_of_range_is_located() -> None:
    text = (
        "policy: priority-lifecycle\ntrackers:\n  - {name: t, type: local, settings: {path: t.sqlite}}\n"
        "schedule:\n  every: 400h\n"
    )
    with pytest.raises(ConfigError) as info:
        load_deployment_text(text, filename="d.yaml")
    assert str(info.value).startswith("d.yaml:5:3: schedule.every:"), str(info.value)
    assert "at most 24h" in str(info.value)
    assert MAX_INTERVAL == 86400
