"""Build the live objects a deployment names: connectors, notification channels, the engine.

Nothing here knows a connector by name: the registry finds the class for a tracker's ``type`` and the
class builds itself from its validated settings and a :class:`ConnectorContext`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from datetime import UTC, datetime

from casewarden.connectors.base import (
    BootstrapNeeds,
    Connector,
    ConnectorContext,
    FieldType,
    NeededField,
    NeededStatus,
)
from casewarden.connectors.mapping import NameMap
from casewarden.errors import ConfigError, ConnectorError
from casewarden.policy.compiled import Policy
from casewarden.policy.loader import load_policy
from casewarden.sync.deployment import DUE_PREFIX, Deployment, TrackerSpec, unset_variables
from casewarden.sync.deployment_checks import check_deployment
from casewarden.sync.engine import Engine
from casewarden.sync.notify import Channel, build_channel
from casewarden.sync.progress import ProgressFn
from casewarden.sync.state import StateStore


def name_map(policy: Policy, deployment: Deployment, spec: TrackerSpec) -> NameMap:
    cls, _settings = deployment.connector_of(spec.name)
    return NameMap(
        spec.levels,
        spec.statuses,
        policy_levels=list(policy.levels),
        policy_statuses=list(policy.statuses),
        identity=cls.IDENTITY_NAMES,
    )


def managed_fields(policy: Policy, spec: TrackerSpec) -> list[tuple[str, str]]:
    """(logical field, tracker field name) for every field this deployment writes on the tracker."""
    out: list[tuple[str, str]] = []
    for logical in ("level", "escalation_level", "breached", "warning", "next_due"):
        n = spec.fields.tracker_name(logical)
        if n:
            out.append((logical, n))
    for key in dict.fromkeys(t.key for lv in policy.levels.values() for t in lv.targets):
        n = spec.fields.tracker_name(DUE_PREFIX + key)
        if n:
            out.append((DUE_PREFIX + key, n))
    return list({name: (logical, name) for logical, name in out}.values())


def build_connector(
    deployment: Deployment,
    spec: TrackerSpec,
    policy: Policy,
    environ: Mapping[str, str] | None = None,
) -> Connector:
    cls, settings = deployment.connector_of(spec.name)
    wanted = needs(policy, spec)
    context = ConnectorContext(
        tracker=spec.name,
        names=name_map(policy, deployment, spec),
        case_data=spec.case_data,
        fields=tuple(name for _logical, name in managed_fields(policy, spec)),
        base_dir=deployment.base,
        environ=os.environ if environ is None else environ,
        field_types={f.name: f.type for f in wanted.fields},
        status_categories={s.policy_name: s.category for s in wanted.statuses},
    )
    return cls.from_deployment(settings, context)


def build_channels(deployment: Deployment, environ: Mapping[str, str] | None = None) -> dict[str, Channel]:
    return {
        name: build_channel(name, spec, environ=environ)
        for name, spec in deployment.spec.notifications.channels.items()
    }


_FIELD_TYPES = {
    "level": FieldType.SELECT,
    "escalation_level": FieldType.NUMBER,
    "breached": FieldType.TEXT,
    "warning": FieldType.TEXT,
    "next_due": FieldType.DATETIME,
}
_PURPOSES = {
    "level": "the case's policy level",
    "escalation_level": "the escalation level reached (never goes down while the case is open)",
    "breached": "comma-separated targets that are breached",
    "warning": "comma-separated targets past their warning point",
    "next_due": "the earliest due instant of a running target",
}


def needs(policy: Policy, spec: TrackerSpec) -> BootstrapNeeds:
    """What this deployment asks of the tracker: typed fields, statuses with their categories, levels."""
    fields = []
    for logical, name in managed_fields(policy, spec):
        if logical.startswith(DUE_PREFIX):
            target = logical[len(DUE_PREFIX) :]
            fields.append(
                NeededField(name, FieldType.DATETIME, purpose=f"when the {target} target falls due")
            )
            continue
        options = tuple(policy.levels) if logical == "level" else ()
        fields.append(NeededField(name, _FIELD_TYPES[logical], options, _PURPOSES[logical]))
    statuses = tuple(
        NeededStatus(spec.statuses.get(name, name), st.category.value, name)
        for name, st in policy.statuses.items()
    )
    levels = tuple(dict.fromkeys(spec.levels.get(lv, lv) for lv in policy.levels))
    return BootstrapNeeds(tuple(fields), statuses, levels)


def _located(deployment: Deployment, index: int, exc: ConfigError) -> ConfigError:
    """A connector's refusal of its settings, located in the deployment file: at the setting it names
    (``exc.setting``, when the connector says) or at the tracker's ``settings``."""
    if exc.problems:
        return exc
    setting = getattr(exc, "setting", None)
    loc: tuple[str | int, ...] = ("trackers", index, "settings", *((setting,) if setting else ()))
    return ConfigError([deployment.problem(loc, str(exc))])


class Runtime:
    """Everything one command needs, opened together and closed together.

    A tracker whose connector cannot even be built (unreachable at construction, bad credentials) is
    left out of ``connectors`` and recorded in ``unavailable``: the other trackers still run."""

    def __init__(
        self,
        deployment: Deployment,
        *,
        clock: Callable[[], datetime] | None = None,
        environ: Mapping[str, str] | None = None,
        with_channels: bool = True,
        progress: ProgressFn | None = None,
        require_env: bool | None = None,
    ):
        """``require_env`` (default: as ``with_channels``): every ``*_env`` variable the deployment
        names must be set; ``plan`` asks for it without building the channels."""
        self.deployment = deployment
        self.clock = clock or (lambda: datetime.now(UTC))
        self.policy = load_policy(deployment.policy_source)
        problems = check_deployment(deployment, self.policy)
        if with_channels if require_env is None else require_env:
            problems += unset_variables(deployment, environ)
        if problems:
            raise ConfigError(problems)
        self.connectors: dict[str, Connector] = {}
        self.unavailable: dict[str, str] = {}
        try:
            for i, t in enumerate(deployment.spec.trackers):
                try:
                    self.connectors[t.name] = build_connector(deployment, t, self.policy, environ)
                except ConfigError as exc:
                    raise _located(deployment, i, exc) from None
                except ConnectorError as exc:
                    self.unavailable[t.name] = str(exc)
            self.channels = build_channels(deployment, environ) if with_channels else {}
            # opened last: a deployment with a mistake leaves no state file behind
            self.state = StateStore(deployment.state_path)
        except BaseException:
            self.close()
            raise
        self.engine = Engine(
            deployment,
            self.policy,
            self.state,
            self.connectors,
            self.channels,
            self.clock,
            progress=progress,
            unavailable=self.unavailable,
        )

    def close(self) -> None:
        for c in self.connectors.values():
            c.close()
        state: StateStore | None = getattr(self, "state", None)  # not yet opened when building failed
        if state is not None:
            state.close()

    def __enter__(self) -> Runtime:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
