"""The public API and the package layout are locked: changing either is a decision, not an accident."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import casewarden

ROOT = Path(__file__).resolve().parents[1]

EXPORTED = [
    "Author",
    "BusinessCalendar",
    "Capabilities",
    "Case",
    "CaseChanges",
    "CaseError",
    "CasewardenError",
    "Change",
    "ChangeKind",
    "ChangeResult",
    "ConfigError",
    "Connector",
    "ConnectorContext",
    "ConnectorError",
    "ConnectorSettings",
    "CycleResult",
    "Deployment",
    "Engine",
    "Evaluation",
    "LevelChange",
    "Link",
    "LocalTracker",
    "Milestone",
    "NameMap",
    "NotifyError",
    "Outcome",
    "Page",
    "Policy",
    "PolicyError",
    "Reply",
    "Runtime",
    "StateError",
    "StateStore",
    "StatusChange",
    "TargetState",
    "TrackerCase",
    "__version__",
    "connector_class",
    "connector_types",
    "evaluate",
    "load_deployment",
    "load_policy",
    "load_policy_text",
    "preset_names",
]


def test_exported_members_are_locked() -> None:
    assert casewarden.__all__ == EXPORTED


@pytest.mark.parametrize("name", EXPORTED)
def test_every_exported_member_resolves(name: str) -> None:
    assert getattr(casewarden, name) is not None


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError):
        casewarden.NoSuchThing  # noqa: B018


def test_the_pure_layer_imports_without_the_sync_layer() -> None:
    code = (
        "import sys, casewarden.policy.evaluate, casewarden.policy.loader; "
        "print([m for m in sys.modules if m.startswith(('casewarden.sync', 'casewarden.connectors'))])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


@pytest.mark.slow
def test_the_wheel_holds_only_the_casewarden_package(tmp_path: Path) -> None:
    """PyPI has distributions named policy, connectors and sync: installing must add casewarden alone."""
    dist = tmp_path / "dist"
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(dist), str(ROOT)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert built.returncode == 0, built.stderr[-2000:]
    [wheel] = dist.glob("casewarden-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert {name.split("/")[0] for name in names} == {"casewarden", "casewarden-0.1.0.dist-info"}
    assert "casewarden/policy/presets/priority-lifecycle.yaml" in names
    assert "casewarden/sync/cli.py" in names and "casewarden/connectors/local/tracker.py" in names
    entry_points = zipfile.ZipFile(wheel).read("casewarden-0.1.0.dist-info/entry_points.txt").decode()
    assert "[casewarden.connectors]" in entry_points
    assert "local = casewarden.connectors.local:LocalTracker" in entry_points


def test_the_lazy_map_and_all_agree() -> None:
    assert sorted([*casewarden._EXPORTS, "__version__"]) == casewarden.__all__
