"""Tracker connectors: translation between a tracker and the normalized case of ``casewarden.policy``.

:mod:`casewarden.connectors.base` is the contract, :mod:`casewarden.connectors.registry` finds
connectors by type name (the ``casewarden.connectors`` entry-point group), and the shared pieces every
connector uses are :mod:`~casewarden.connectors.mapping` (level and status names),
:mod:`~casewarden.connectors.sources` (where region, channel, milestones... come from),
:mod:`~casewarden.connectors.cursor` (a time cursor) and :mod:`~casewarden.connectors.retrying`.
"""

from casewarden.connectors.base import (
    BootstrapNeeds,
    BootstrapStep,
    Capabilities,
    CaseChanges,
    Change,
    ChangeKind,
    ChangeResult,
    Connector,
    ConnectorContext,
    ConnectorSettings,
    CycleBudget,
    FieldType,
    Gone,
    HealthCheck,
    KnownCases,
    NativeTimer,
    NeededField,
    NeededStatus,
    Outcome,
    Page,
    Pending,
    Resume,
    TrackerCase,
    group_by_case,
    marker_text,
)
from casewarden.connectors.cursor import TimeCursor
from casewarden.connectors.mapping import NameMap
from casewarden.connectors.registry import connector_class, connector_types
from casewarden.connectors.sources import CaseSources, Source

__all__ = [
    "BootstrapNeeds",
    "BootstrapStep",
    "Capabilities",
    "CaseChanges",
    "CaseSources",
    "Change",
    "ChangeKind",
    "ChangeResult",
    "Connector",
    "ConnectorContext",
    "ConnectorSettings",
    "CycleBudget",
    "FieldType",
    "Gone",
    "HealthCheck",
    "KnownCases",
    "NameMap",
    "NativeTimer",
    "NeededField",
    "NeededStatus",
    "Outcome",
    "Page",
    "Pending",
    "Resume",
    "Source",
    "TimeCursor",
    "TrackerCase",
    "connector_class",
    "connector_types",
    "group_by_case",
    "marker_text",
]
