"""One output-format flag, ``--format``, on every command that prints data: ``text`` for people and
``json`` for scripts everywhere (plus a command's own formats), ``--json`` short for ``--format json``."""

from __future__ import annotations

import json
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from casewarden.sync.cli import main
from tests.test_cli import PRESET, deployment, hook  # noqa: F401  (fixtures)

Deployment = tuple[Path, dict[str, str]]

#: Every command that prints data, with the arguments it needs ({config} is the deployment file).
DATA_COMMANDS: list[list[str]] = [
    ["plan", "-c", "{config}"],
    ["run", "--once", "-c", "{config}"],
    ["doctor", "-c", "{config}"],
    ["bootstrap", "-c", "{config}"],
    ["report", "-c", "{config}"],
    ["case", "explain", "L-1", "-c", "{config}"],
    ["due", PRESET, "--level", "P2", "--opened", "2026-11-20T09:00:00Z"],
    ["policy", "validate", PRESET],
    ["policy", "explain", PRESET],
    ["policy", "presets"],
    ["tracker", "generate", "--cases", "3", "-c", "{config}"],
]
#: Commands that print no data (they act, or print a schema that is JSON already).
OTHER_COMMANDS = {("demo",), ("init",), ("policy",), ("case",), ("tracker",), ("policy", "schema")}
#: tracker import prints data too; it needs a file (tests/test_tracker_import.py covers its formats)
OTHER_COMMANDS.add(("tracker", "import"))


def _all_commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    out: list[tuple[str, ...]] = []
    for name, cmd in group.commands.items():
        out.append((*prefix, name))
        if isinstance(cmd, click.Group):
            out.extend(_all_commands(cmd, (*prefix, name)))
    return out


def _name(args: list[str]) -> tuple[str, ...]:
    return tuple(args[:2]) if args[0] in ("case", "policy", "tracker") else (args[0],)


def test_every_command_that_prints_data_is_listed() -> None:
    assert {_name(a) for a in DATA_COMMANDS} | OTHER_COMMANDS == set(_all_commands(main))


@pytest.mark.parametrize("args", DATA_COMMANDS, ids=lambda a: " ".join(_name(a)))
def test_format_json_and_text(deployment: Deployment, args: list[str]) -> None:  # noqa: F811
    config, env = deployment
    argv = [a.format(config=config) for a in args]
    command = main
    for part in _name(args):
        assert isinstance(command, click.Group)
        command = command.commands[part]  # type: ignore[assignment]
    option = next(p for p in command.params if p.name == "fmt")
    assert isinstance(option.type, click.Choice) and {"text", "json"} <= set(option.type.choices)
    for flag in (
        (["--format", "json"], ["--json"]) if "--json" in _flags(command) else (["--format", "json"],)
    ):
        result = CliRunner().invoke(main, [*argv, *flag], env=env)
        assert result.exit_code in (0, 1), result.output
        json.loads(result.stdout)
    result = CliRunner().invoke(main, [*argv, "--format", "text"], env=env)
    assert result.exit_code in (0, 1), result.output
    assert result.stdout.strip() and not result.stdout.lstrip().startswith(("{", "["))


def _flags(command: click.Command) -> set[str]:
    return {opt for p in command.params for opt in getattr(p, "opts", [])}
