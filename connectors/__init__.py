"""Tracker connectors: translation between a tracker and the normalized case of ``policy``."""

from connectors.base import (
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
