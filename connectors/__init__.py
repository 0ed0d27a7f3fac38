"""Tracker connectors: translation between a tracker and the normalized case of ``policy``."""

from casewarden.connectors.base import (
    BootstrapNeeds,
    BootstrapStep,
    Capabilities,
    Change,
    ChangeKind,
    ChangeResult,
    Connector,
    HealthCheck,
    TrackerCase,
    marker_text,
)

__all__ = [
    "BootstrapNeeds",
    "BootstrapStep",
    "Capabilities",
    "Change",
    "ChangeKind",
    "ChangeResult",
    "Connector",
    "HealthCheck",
    "TrackerCase",
    "marker_text",
]
