"""casewarden: support case handling policy as code, enforced on the trackers a team already uses.

The public API, re-exported here (``tests/test_exported_members.py`` locks the list). Names are resolved
lazily, so importing ``casewarden.policy`` (the pure layer) does not import the sync layer, and
``import casewarden`` stays cheap for the command line::

    casewarden.policy       pure: models, loading, calendars, timers, escalation, lifecycle, presets
    casewarden.connectors   translation: the connector contract, the embedded tracker, Zendesk, Jira
    casewarden.sync         time, state and side effects: engine, state store, notifications, reports
    casewarden.errors       the one exception tree
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS: dict[str, str] = {
    # policy: the pure layer
    "Author": "casewarden.policy.case",
    "Case": "casewarden.policy.case",
    "LevelChange": "casewarden.policy.case",
    "Link": "casewarden.policy.case",
    "Milestone": "casewarden.policy.case",
    "Reply": "casewarden.policy.case",
    "StatusChange": "casewarden.policy.case",
    "BusinessCalendar": "casewarden.policy.calendar",
    "Policy": "casewarden.policy.compiled",
    "evaluate": "casewarden.policy.evaluate",
    "Evaluation": "casewarden.policy.results",
    "TargetState": "casewarden.policy.results",
    "load_policy": "casewarden.policy.loader",
    "load_policy_text": "casewarden.policy.loader",
    "preset_names": "casewarden.policy.presets",
    # connectors: the contract
    "CaseChanges": "casewarden.connectors.base",
    "Capabilities": "casewarden.connectors.base",
    "Change": "casewarden.connectors.base",
    "ChangeKind": "casewarden.connectors.base",
    "ChangeResult": "casewarden.connectors.base",
    "Connector": "casewarden.connectors.base",
    "ConnectorContext": "casewarden.connectors.base",
    "ConnectorSettings": "casewarden.connectors.base",
    "Outcome": "casewarden.connectors.base",
    "Page": "casewarden.connectors.base",
    "TrackerCase": "casewarden.connectors.base",
    "NameMap": "casewarden.connectors.mapping",
    "connector_class": "casewarden.connectors.registry",
    "connector_types": "casewarden.connectors.registry",
    "LocalTracker": "casewarden.connectors.local",
    # sync: time, state, side effects
    "Deployment": "casewarden.sync.deployment",
    "load_deployment": "casewarden.sync.deployment",
    "Engine": "casewarden.sync.engine",
    "CycleResult": "casewarden.sync.engine",
    "StateStore": "casewarden.sync.state",
    "Runtime": "casewarden.sync.wiring",
    # errors
    "CasewardenError": "casewarden.errors",
    "ConfigError": "casewarden.errors",
    "PolicyError": "casewarden.errors",
    "CaseError": "casewarden.errors",
    "ConnectorError": "casewarden.errors",
    "NotifyError": "casewarden.errors",
    "StateError": "casewarden.errors",
}

__all__ = [
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


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'casewarden' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__


if TYPE_CHECKING:  # for type checkers and editors: the same names, imported eagerly
    from casewarden.connectors.base import (
        Capabilities,
        CaseChanges,
        Change,
        ChangeKind,
        ChangeResult,
        Connector,
        ConnectorContext,
        ConnectorSettings,
        Outcome,
        Page,
        TrackerCase,
    )
    from casewarden.connectors.local import LocalTracker
    from casewarden.connectors.mapping import NameMap
    from casewarden.connectors.registry import connector_class, connector_types
    from casewarden.errors import (
        CaseError,
        CasewardenError,
        ConfigError,
        ConnectorError,
        NotifyError,
        PolicyError,
        StateError,
    )
    from casewarden.policy.calendar import BusinessCalendar
    from casewarden.policy.case import Author, Case, LevelChange, Link, Milestone, Reply, StatusChange
    from casewarden.policy.compiled import Policy
    from casewarden.policy.evaluate import evaluate
    from casewarden.policy.loader import load_policy, load_policy_text
    from casewarden.policy.presets import preset_names
    from casewarden.policy.results import Evaluation, TargetState
    from casewarden.sync.deployment import Deployment, load_deployment
    from casewarden.sync.engine import CycleResult, Engine
    from casewarden.sync.state import StateStore
    from casewarden.sync.wiring import Runtime
