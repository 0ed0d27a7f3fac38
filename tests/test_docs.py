"""README stays true: its policy example validates, CI runs its test command, every command has help."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from casewarden.policy.loader import load_policy_text
from casewarden.sync.cli import main

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def test_readme_policy_example_validates() -> None:
    block = re.search(r"### The policy format, a full example\n\n```yaml\n(.*?)```", README, re.S)
    assert block is not None
    policy = load_policy_text(block.group(1), filename="README.md")
    assert policy.name == "acme-support"


def test_ci_runs_the_readme_test_command() -> None:
    commands = re.findall(r"```sh\n(python3 -m venv .*?)\n```", README)
    assert len(commands) == 2, "the quick start is two commands"
    demo, tests = commands
    assert "casewarden demo" in demo
    assert tests in (ROOT / ".ci" / "run").read_text()


def _commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    out = []
    for name, cmd in group.commands.items():
        out.append((*prefix, name))
        if isinstance(cmd, click.Group):
            out.extend(_commands(cmd, (*prefix, name)))
    return out


@pytest.mark.parametrize("path", _commands(main), ids=" ".join)
def test_every_command_has_help(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(main, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output
    cmd = main
    for part in path:
        cmd = cmd.commands[part]  # type: ignore[attr-defined]
    assert cmd.help, f"casewarden {' '.join(path)} needs a help text"


def test_design_command_names_exist() -> None:
    names = {" ".join(p) for p in _commands(main)}
    for expected in (
        "demo",
        "init",
        "policy validate",
        "policy explain",
        "policy schema",
        "policy presets",
        "due",
        "bootstrap",
        "doctor",
        "plan",
        "run",
        "report",
    ):
        assert expected in names
