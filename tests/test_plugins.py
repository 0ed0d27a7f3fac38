"""Connectors are plugins: a third-party package adds one through the entry-point group, and init, plan,
doctor and bootstrap use it without any change to casewarden."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from casewarden.connectors import registry
from casewarden.errors import ConfigError
from casewarden.sync.cli import main

TOY_MODULE = '''
"""A third-party connector: the embedded tracker under another name, with a setting of its own."""
from typing import ClassVar

from casewarden.connectors.local import LocalSettings, LocalTracker


class ToySettings(LocalSettings):
    shelf: str = "A"


class ToyTracker(LocalTracker):
    type: ClassVar[str] = "toy"
    Settings = ToySettings
    SETTINGS_EXAMPLE: ClassVar[str] = (
        "path: toy.sqlite                # where the toy keeps its cases\\n"
        "create: true\\n"
        "shelf: B                        # the toy's own setting\\n"
    )
'''


@pytest.fixture
def toy_plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An installed distribution 'toy-tracker' declaring a casewarden connector entry point."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "toy_tracker.py").write_text(TOY_MODULE)
    info = site / "toy_tracker-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: toy-tracker\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[casewarden.connectors]\ntoy = toy_tracker:ToyTracker\n")
    monkeypatch.syspath_prepend(str(site))
    registry.refresh()
    yield site
    monkeypatch.undo()
    registry.refresh()


def test_a_plugin_is_found_by_its_type_name(toy_plugin: Path) -> None:
    assert "toy" in registry.connector_types()
    assert registry.connector_class("toy").type == "toy"


def test_init_plan_doctor_and_bootstrap_work_with_a_plugin(toy_plugin: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    work = tmp_path / "work"
    result = runner.invoke(
        main, ["init", "--preset", "tiered-partner", "--tracker", "toy", "--dir", str(work)]
    )
    assert result.exit_code == 0, result.output
    written = (work / "casewarden.yaml").read_text()
    assert "type: toy" in written and "shelf: B" in written, "init writes the settings the connector declares"
    config = str(work / "casewarden.yaml")
    assert runner.invoke(main, ["bootstrap", "--apply", "-c", config]).exit_code == 0
    # plan checks every *_env variable the deployment names is set (init's file names the webhook's)
    result = runner.invoke(
        main, ["plan", "-c", config], env={"CASEWARDEN_WEBHOOK_URL": "http://127.0.0.1:9/"}
    )
    assert result.exit_code == 0, result.output
    result = runner.invoke(main, ["doctor", "-c", config])
    assert "ok   toy: database" in result.output and "ok   toy: levels mapped" in result.output, result.output


def test_a_plugin_settings_mistake_is_located(toy_plugin: Path, tmp_path: Path) -> None:
    from casewarden.sync.deployment import load_deployment_text

    text = textwrap.dedent(
        """\
        policy: tiered-partner
        trackers:
          - name: shelf
            type: toy
            settings: {path: toy.sqlite, shelff: C}
        """
    )
    with pytest.raises(ConfigError) as caught:
        load_deployment_text(text, filename="casewarden.yaml")
    assert "casewarden.yaml:5:" in str(caught.value) and "did you mean 'shelf'" in str(caught.value)


def test_an_unknown_type_lists_the_installed_ones() -> None:
    with pytest.raises(ConfigError, match=r"unknown tracker type 'zendsk'.*allowed: .*local"):
        registry.connector_class("zendsk")


def test_init_refuses_an_unknown_tracker_type(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main, ["init", "--preset", "tiered-partner", "--tracker", "nosuch", "--dir", str(tmp_path)]
    )
    assert result.exit_code == 2 and "unknown tracker type 'nosuch'" in result.output
