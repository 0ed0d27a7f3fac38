"""The deployment file (``casewarden.yaml``): *where* a policy is enforced.

It names the tracker(s), maps policy levels and statuses to tracker values, says which tracker fields
receive the level, due times, breach flags and escalation level, where state lives, which notification
channels exist and how often to run. Secrets never appear in it: only the *names* of environment
variables that hold them (``*_env`` keys), so the file can be committed and shared.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator

from casewarden.connectors.base import Connector, ConnectorSettings
from casewarden.connectors.registry import connector_class
from casewarden.connectors.sources import CaseSources
from casewarden.errors import ConfigError, Problem
from casewarden.policy.durations import UNIT_SECONDS
from casewarden.policy.located import (
    Loc,
    YamlProblems,
    from_validation,
    load_tree,
    locate,
    plain,
    read_text,
    unknown_name,
)

# Logical fields casewarden keeps on a case; a deployment maps each to a tracker field (or leaves it out).
LOGICAL_FIELDS = ("level", "escalation_level", "breached", "warning", "next_due")
DUE_PREFIX = "due."

#: A key that names a credential, anywhere in the file. Such a value must come from the environment:
#: write ``<key>_env: NAME_OF_VARIABLE`` instead.
SECRET_KEY = re.compile(
    r"(^|[_-])(token|tokens|password|passwd|pass|secret|secrets|api[_-]?key|apikey|credentials?|"
    r"private[_-]?key|auth|authorization|bearer|pat|client[_-]?secret|access[_-]?key|session[_-]?key|"
    r"cookie|signing[_-]?key|webhook[_-]?secret)$",
    re.IGNORECASE,
)
#: A URL with a password in it (``https://user:secret@host``).
CREDENTIAL_URL = re.compile(r"^[a-z][a-z0-9+.-]*://[^/@\s:]*:[^/@\s]+@", re.IGNORECASE)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FieldMap(Strict):
    """Logical field -> tracker field name. ``due`` maps target names to fields for their due instants;
    ``due_all`` sends every target's due instant to ``<due_prefix><target>``."""

    level: str | None = "casewarden_level"
    escalation_level: str | None = "casewarden_escalation_level"
    breached: str | None = "casewarden_breached"
    warning: str | None = "casewarden_warning"
    next_due: str | None = "casewarden_next_due"
    due_all: bool = True
    due_prefix: str = "casewarden_due_"
    due: dict[str, str] = Field(default_factory=dict)
    flag_tags: str | None = Field(
        None,
        pattern=r"^[a-z0-9][a-z0-9_-]*$",
        description="prefix of the tags (Zendesk) or labels (Jira) that mirror the breach and escalation "
        "flags, for views, queues and triggers: <prefix>breached_<target>, <prefix>escalation_<n>",
    )

    def tracker_name(self, logical: str) -> str | None:
        if logical.startswith(DUE_PREFIX):
            target = logical[len(DUE_PREFIX) :]
            if target in self.due:
                return self.due[target]
            return self.due_prefix + target if self.due_all else None
        return getattr(self, logical, None)


class TrackerSpec(Strict):
    """One tracker a deployment enforces the policy on. ``settings`` are the connector's own (its
    ``Settings`` model validates them, with file and line); the rest is the same for every connector."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    type: str = Field(description="connector type: local, zendesk, jira, or a plugin's")
    settings: dict[str, Any] = Field(
        default_factory=dict,
        description="connection settings; secrets as *_env keys naming environment variables",
    )
    levels: dict[str, str] = Field(default_factory=dict, description="policy level -> tracker priority")
    statuses: dict[str, str] = Field(default_factory=dict, description="policy status -> tracker status")
    fields: FieldMap = Field(default_factory=FieldMap)
    case_data: CaseSources = Field(default_factory=CaseSources, description="where case data comes from")
    batch_size: int = Field(100, ge=1, le=1000, description="cases per write batch")
    time_budget: float | None = Field(
        None, gt=0, le=86_400, description="seconds this tracker's part of a cycle may take"
    )


#: The longest span a deployment setting may give (ten years): beyond that it is a typo.
MAX_SPAN_SECONDS = 3650 * 86400


def span_seconds(value: object) -> object:
    """A span of calendar time as a deployment file writes it: ``30s``, ``5 minutes``, ``1 hour``,
    ``2 days``, or a plain number of seconds. Anything else is handed on unchanged, for pydantic to
    refuse with its own message."""
    if isinstance(value, str):
        m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([A-Za-z]+)\s*", value)
        unit = m.group(2).lower() if m else ""
        if m is None or unit not in UNIT_SECONDS:
            raise ValueError(
                f"'{value}' is not a span of time; write e.g. 30s, 5 minutes, 1 hour, 2 days, or a number "
                "of seconds"
            )
        return float(m.group(1)) * UNIT_SECONDS[unit]
    if isinstance(value, bool) or (isinstance(value, float) and not math.isfinite(value)):
        raise ValueError(f"{value!r} is not a span of time")
    return value


#: Seconds, written as a number or as ``30s`` / ``5 minutes`` / ``1 hour`` / ``2 days``.
Seconds = Annotated[float, BeforeValidator(span_seconds), Field(gt=0, le=MAX_SPAN_SECONDS)]


class Adoption(Strict):
    """Which notifications nobody is owed: a crossing (a breach, an escalation level reached) from before
    casewarden first ran on the tracker, or one older than ``horizon`` when casewarden first comes to it,
    is recorded but not sent. Fields and notes are written either way. Decided from the case's own
    timeline, so a first run that takes several cycles holds back the same notifications as one that
    takes one."""

    horizon: Seconds | None = Field(
        86400.0, description="a crossing older than this when first planned is not notified (null: no limit)"
    )
    backfill: bool = Field(
        False,
        description="also notify crossings from before the first run on the tracker (within the horizon)",
    )


class Retry(Strict):
    """How a failed notification is tried again on later cycles: ``backoff`` after the first failure,
    doubling up to ``max_backoff``, until it is ``max_age`` old; then it is given up and reported."""

    backoff: Seconds = 60.0
    max_backoff: Seconds = 3600.0
    max_age: Seconds = 86400.0


class Notifications(Strict):
    channels: dict[str, dict[str, Any]] = Field(default_factory=dict)
    contacts: dict[str, list[str]] = Field(default_factory=dict, description="policy contact -> channels")
    on_breach: list[str] = Field(default_factory=list, description="channels told of every breach")
    adoption: Adoption = Field(default_factory=Adoption)
    retry: Retry = Field(default_factory=Retry)
    max_per_cycle: int | None = Field(
        200,
        ge=1,
        le=1_000_000,
        description="notifications one cycle may send; the rest are held until 'run --yes' (null: no cap)",
    )
    time_budget: Seconds | None = Field(
        300.0, description="seconds a cycle may spend sending notifications; the rest wait for the next cycle"
    )
    pause_after: int = Field(
        3, ge=1, le=1000, description="failures in a row after which a channel is paused for the cycle"
    )


class Schedule(Strict):
    every: str = "5m"

    @field_validator("every")
    @classmethod
    def _every(cls, v: str) -> str:
        parse_interval(v)
        return v


class DeploymentSpec(Strict):
    policy: str
    state: str = ".casewarden/state.sqlite"
    trackers: list[TrackerSpec] = Field(min_length=1)
    notifications: Notifications = Field(default_factory=Notifications)
    schedule: Schedule = Field(default_factory=Schedule)


class Deployment:
    """A loaded deployment: the spec, the directory relative paths are resolved against, each tracker's
    connector class and validated settings, and the YAML tree (to locate later problems)."""

    def __init__(
        self,
        spec: DeploymentSpec,
        base: Path,
        source: str,
        *,
        tree: Any = None,
        connectors: Mapping[str, tuple[type[Connector], ConnectorSettings]] | None = None,
    ):
        self.spec = spec
        self.base = base
        self.source = source
        self.tree = tree
        self.connectors = dict(connectors or {})

    def path(self, relative: str) -> Path:
        p = Path(relative).expanduser()
        return p if p.is_absolute() else self.base / p

    @property
    def state_path(self) -> Path:
        return self.path(self.spec.state)

    @property
    def policy_source(self) -> str:
        candidate = self.path(self.spec.policy)
        return str(candidate) if candidate.exists() else self.spec.policy

    def tracker(self, name: str) -> TrackerSpec:
        for t in self.spec.trackers:
            if t.name == name:
                return t
        raise ConfigError(
            f"{self.source}: " + unknown_name("tracker", name, [t.name for t in self.spec.trackers])
        )

    def connector_of(self, name: str) -> tuple[type[Connector], ConnectorSettings]:
        """The connector class and validated settings of tracker ``name``."""
        if name not in self.connectors:
            spec = self.tracker(name)
            cls = connector_class(spec.type)
            self.connectors[name] = (cls, cls.Settings.model_validate(spec.settings))
        return self.connectors[name]

    def problem(self, loc: Loc, message: str) -> Problem:
        """A problem located in this deployment file."""
        return locate(self.source, self.tree, loc, message)


#: ``run --every`` and ``schedule.every`` run between once a second and once a day: a longer wait is a
#: typo (``99999999h``) or a job for cron, and it would park a runner holding a process for years.
MIN_INTERVAL, MAX_INTERVAL = 1, 86_400


def parse_interval(text: str) -> int:
    """'30s', '5m', '1h', '10 minutes' -> whole seconds, from 1 second to 1 day."""
    m = re.fullmatch(r"\s*(\d+)\s*([A-Za-z]+)\s*", str(text))
    unit = m.group(2).lower() if m else ""
    shown = str(text).strip() if len(str(text).strip()) <= 40 else str(text).strip()[:37] + "..."
    if m is None or unit not in UNIT_SECONDS or UNIT_SECONDS[unit] > 86_400:
        raise ValueError(f"'{shown}' is not an interval; write e.g. 30s, 5m, 1h or 10 minutes")
    digits = m.group(1).lstrip("0") or "0"
    seconds = int(digits) * int(UNIT_SECONDS[unit]) if len(digits) <= 12 else MAX_INTERVAL + 1
    if seconds < MIN_INTERVAL:
        raise ValueError(f"'{shown}' is too short an interval: at least 1s")
    if seconds > MAX_INTERVAL:
        raise ValueError(
            f"'{shown}' is too long an interval: at most 24h (for rarer runs, use cron with 'run --once')"
        )
    return seconds


def named_variables(data: Any, loc: Loc = ()) -> Iterator[tuple[Loc, str]]:
    """(where, variable) for every environment variable a ``*_env`` setting names, at any depth
    (``headers_env: {X-Token: VAR}`` names one per header)."""
    if isinstance(data, Mapping):
        for key, value in data.items():
            here = (*loc, key)
            if str(key).endswith("_env"):
                names = value.items() if isinstance(value, Mapping) else [(None, value)]
                for sub, var in names:
                    if isinstance(var, str) and var:
                        yield (here if sub is None else (*here, sub)), var
            else:
                yield from named_variables(value, here)
    elif isinstance(data, list):
        for i, value in enumerate(data):
            yield from named_variables(value, (*loc, i))


def unset_variables(deployment: Deployment, environ: Mapping[str, str] | None = None) -> list[Problem]:
    """A located problem for every ``*_env`` setting, at any depth, whose variable is unset or empty:
    found before a cycle starts (``plan`` too), not when a notification is first sent."""
    env = os.environ if environ is None else environ
    data = plain(deployment.tree) if deployment.tree is not None else deployment.spec.model_dump()
    return [
        deployment.problem(
            at,
            f"environment variable {var} is not set (or is empty); set it in the environment casewarden runs in",
        )
        for at, var in named_variables(data)
        if not env.get(var)
    ]


def load_deployment(path: str | Path) -> Deployment:
    """Read and check a deployment file; every mistake is reported at once, each with file:line:col, the
    field and what is allowed (the connectors' own settings included)."""
    p = Path(path)
    if not p.exists():
        raise ConfigError(f"{p}: no such deployment file; create one with 'casewarden init --preset NAME'")
    try:
        text = read_text(p, label="deployment file")
    except YamlProblems as exc:
        raise ConfigError(exc.problems) from None
    return load_deployment_text(text, filename=str(p), base=p.resolve().parent)


def load_deployment_text(
    text: str, *, filename: str = "<deployment>", base: Path | None = None
) -> Deployment:
    try:
        tree = load_tree(
            text, filename=filename, what="a deployment file is a mapping with keys 'policy', 'trackers', ..."
        )
    except YamlProblems as exc:
        raise ConfigError(exc.problems) from None
    data = plain(tree)
    problems = [locate(filename, tree, loc, msg) for loc, msg in inline_secrets(data)]
    secrets = [p.path for p in problems]

    def besides_secrets(found: list[Problem]) -> list[Problem]:
        """An inline secret is reported once, as a secret, not again as a key the schema does not know."""
        return [
            p for p in found if not any(p.path == s or p.path.startswith((s + ".", s + "[")) for s in secrets)
        ]

    try:
        spec = DeploymentSpec.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(
            problems + besides_secrets(from_validation(filename, tree, exc, DeploymentSpec))
        ) from None
    names = [t.name for t in spec.trackers]
    connectors: dict[str, tuple[type[Connector], ConnectorSettings]] = {}
    for i, t in enumerate(spec.trackers):
        if names.index(t.name) != i:
            problems.append(
                locate(filename, tree, ("trackers", i, "name"), f"tracker name '{t.name}' is used twice")
            )
        try:
            cls = connector_class(t.type)
        except ConfigError as exc:
            problems.append(locate(filename, tree, ("trackers", i, "type"), str(exc)))
            continue
        try:
            settings = cls.Settings.model_validate(t.settings)
        except ValidationError as exc:
            problems += besides_secrets(
                from_validation(filename, tree, exc, cls.Settings, ("trackers", i, "settings"))
            )
            continue
        kinds = getattr(cls, "SOURCE_KINDS", None)
        for item, source in t.case_data.all():
            if kinds is not None and source.kind not in kinds:
                loc: Loc = ("trackers", i, "case_data", *item.split("."))
                problems.append(
                    locate(
                        filename,
                        tree,
                        loc,
                        f"the {t.type} connector cannot read case data from a {source.kind} "
                        f"(it can: {', '.join(sorted(kinds))})",
                    )
                )
        connectors[t.name] = (cls, settings)
    if problems:
        raise ConfigError(problems)
    return Deployment(spec, base or Path.cwd(), filename, tree=tree, connectors=connectors)


def inline_secrets(data: Any, loc: Loc = ()) -> Iterator[tuple[Loc, str]]:
    """Every place in the file that holds a secret inline: a key that names a credential (at any
    depth, unless it is a ``*_env`` key naming a variable) or a URL with a password in it."""
    if isinstance(data, Mapping):
        for key, value in data.items():
            here = (*loc, key)
            k = str(key)
            if k.endswith("_env"):
                continue  # names of environment variables, at any depth below (headers_env: {Authorization: VAR})
            if SECRET_KEY.search(k) and value not in (None, "", {}, []):
                yield (
                    here,
                    (
                        f"'{k}' holds a secret: secrets come from the environment; "
                        f"write '{k}_env: NAME_OF_VARIABLE' instead"
                    ),
                )
                continue
            yield from inline_secrets(value, here)
    elif isinstance(data, list):
        for i, value in enumerate(data):
            yield from inline_secrets(value, (*loc, i))
    elif isinstance(data, str) and CREDENTIAL_URL.match(data.strip()):
        yield loc, "this URL holds a password: put the whole URL in an environment variable (a *_env key)"


def secret(
    settings: Mapping[str, Any] | BaseModel, key: str, environ: Mapping[str, str] | None = None
) -> str:
    """The value of the environment variable named by ``settings[key + '_env']``; never logged."""
    env = os.environ if environ is None else environ
    values = settings.model_dump() if isinstance(settings, BaseModel) else settings
    var = values.get(f"{key}_env")
    if not var:
        raise ConfigError(
            f"setting '{key}_env' (the name of the environment variable holding the {key}) is missing"
        )
    value = env.get(str(var))
    if not value:
        raise ConfigError(f"environment variable {var} (for {key}) is not set")
    return value
