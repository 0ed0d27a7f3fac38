"""Build the live objects a deployment names: connectors, notification channels, the engine."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime

from casewarden.connectors.base import BootstrapNeeds, Connector
from casewarden.errors import ConfigError
from casewarden.policy.compiled import Policy
from casewarden.policy.loader import load_policy
from casewarden.sync.deployment import DUE_PREFIX, LOGICAL_FIELDS, Deployment, TrackerSpec
from casewarden.sync.engine import Engine
from casewarden.sync.notify import Channel, build_channel
from casewarden.sync.state import StateStore


def build_connector(deployment: Deployment, spec: TrackerSpec) -> Connector:
    if spec.type == "local":
        from casewarden.connectors.local import LocalTracker

        path = spec.settings.get("path")
        if not path:
            raise ConfigError(
                f"{deployment.source}: tracker '{spec.name}' (local) needs settings.path, "
                "the SQLite file of the embedded tracker"
            )
        return LocalTracker(deployment.path(str(path)))
    raise ConfigError(
        f"{deployment.source}: tracker '{spec.name}': the {spec.type} connector is not part of "
        "this release yet; use type 'local' (the embedded tracker) meanwhile"
    )


def build_channels(deployment: Deployment, environ: Mapping[str, str] | None = None) -> dict[str, Channel]:
    return {
        name: build_channel(name, spec, environ=environ)
        for name, spec in deployment.spec.notifications.channels.items()
    }


def needs(policy: Policy, spec: TrackerSpec) -> BootstrapNeeds:
    """The tracker fields, statuses and priorities this deployment writes."""
    names: list[str] = []
    for logical in LOGICAL_FIELDS:
        n = spec.fields.tracker_name(logical)
        if n:
            names.append(n)
    for key in dict.fromkeys(t.key for lv in policy.levels.values() for t in lv.targets):
        n = spec.fields.tracker_name(DUE_PREFIX + key)
        if n:
            names.append(n)
    statuses = tuple(spec.statuses.get(s, s) for s in policy.statuses)
    levels = tuple(spec.levels.get(lv, lv) for lv in policy.levels)
    return BootstrapNeeds(tuple(dict.fromkeys(names)), statuses, levels)


class Runtime:
    """Everything one command needs, opened together and closed together."""

    def __init__(
        self,
        deployment: Deployment,
        *,
        clock: Callable[[], datetime] | None = None,
        environ: Mapping[str, str] | None = None,
        with_channels: bool = True,
        progress: Callable[[str, int], None] | None = None,
    ):
        self.deployment = deployment
        self.clock = clock or (lambda: datetime.now(UTC))
        self.policy = load_policy(deployment.policy_source)
        self.connectors = {t.name: build_connector(deployment, t) for t in deployment.spec.trackers}
        self.channels = build_channels(deployment, environ) if with_channels else {}
        self.state = StateStore(deployment.state_path)
        self.engine = Engine(
            deployment, self.policy, self.state, self.connectors, self.channels, self.clock, progress=progress
        )

    def close(self) -> None:
        for c in self.connectors.values():
            c.close()
        self.state.close()

    def __enter__(self) -> Runtime:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
