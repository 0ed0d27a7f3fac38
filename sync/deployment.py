"""The deployment file (``casewarden.yaml``): *where* a policy is enforced.

It names the tracker(s), maps policy levels and statuses to tracker values, says which tracker fields
receive the level, due times, breach flags and escalation level, where state lives, which notification
channels exist and how often to run. Secrets never appear in it: only the *names* of environment
variables that hold them (``*_env`` keys), so the file can be committed and shared.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError

from casewarden.errors import ConfigError

# Logical fields casewarden keeps on a case; a deployment maps each to a tracker field (or leaves it out).
LOGICAL_FIELDS = ("level", "escalation_level", "breached", "warning", "next_due")
DUE_PREFIX = "due."
_SECRET_KEY = re.compile(r"(token|password|secret|api_key|apikey)$", re.IGNORECASE)


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

    def tracker_name(self, logical: str) -> str | None:
        if logical.startswith(DUE_PREFIX):
            target = logical[len(DUE_PREFIX) :]
            if target in self.due:
                return self.due[target]
            return self.due_prefix + target if self.due_all else None
        return getattr(self, logical, None)


class TrackerSpec(Strict):
    name: str
    type: Literal["local", "zendesk", "jira"]
    settings: dict[str, Any] = Field(
        default_factory=dict,
        description="connection settings; secrets as *_env keys naming environment variables",
    )
    levels: dict[str, str] = Field(default_factory=dict, description="policy level -> tracker priority")
    statuses: dict[str, str] = Field(default_factory=dict, description="policy status -> tracker status")
    fields: FieldMap = Field(default_factory=FieldMap)
    batch_size: int = Field(100, ge=1, le=1000)

    @field_validator("settings")
    @classmethod
    def _no_inline_secrets(cls, v: dict[str, Any]) -> dict[str, Any]:
        for key in v:
            if _SECRET_KEY.search(key):
                raise ValueError(
                    f"'{key}' looks like a secret: secrets come from the environment; "
                    f"write '{key}_env: NAME_OF_VARIABLE' instead"
                )
        return v


class Notifications(Strict):
    channels: dict[str, dict[str, Any]] = Field(default_factory=dict)
    contacts: dict[str, list[str]] = Field(default_factory=dict, description="policy contact -> channels")
    on_breach: list[str] = Field(default_factory=list, description="channels told of every breach")


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
    """A loaded deployment: the spec plus the directory relative paths are resolved against."""

    def __init__(self, spec: DeploymentSpec, base: Path, source: str):
        self.spec = spec
        self.base = base
        self.source = source

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
            f"{self.source}: no tracker named '{name}' "
            f"(trackers: {', '.join(t.name for t in self.spec.trackers)})"
        )


def parse_interval(text: str) -> int:
    """'5m', '30s', '1h' -> seconds."""
    m = re.fullmatch(r"\s*(\d+)\s*([smh])\s*", text)
    if not m or int(m.group(1)) == 0:
        raise ValueError(f"'{text}' is not an interval; write e.g. 30s, 5m, 1h")
    return int(m.group(1)) * {"s": 1, "m": 60, "h": 3600}[m.group(2)]


def load_deployment(path: str | Path) -> Deployment:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(
            f"{p}: cannot read the deployment file ({exc.strerror}); "
            "create one with 'casewarden init --preset NAME'"
        ) from None
    try:
        data = YAML(typ="safe").load(text)
    except MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else "?"
        raise ConfigError(f"{p}:{line}: not valid YAML: {exc.problem}") from None
    try:
        spec = DeploymentSpec.model_validate(data)
    except ValidationError as exc:
        lines = [
            f"{p}: {'.'.join(str(x) for x in e['loc'])}: {e['msg'].removeprefix('Value error, ')}"
            for e in exc.errors()
        ]
        raise ConfigError("\n".join(lines)) from None
    names = [t.name for t in spec.trackers]
    if len(set(names)) != len(names):
        raise ConfigError(f"{p}: tracker names must be unique (got {', '.join(names)})")
    return Deployment(spec, p.resolve().parent, str(p))


def secret(settings: Mapping[str, Any], key: str, environ: Mapping[str, str] | None = None) -> str:
    """The value of the environment variable named by ``settings[key + '_env']``; never logged."""
    env = os.environ if environ is None else environ
    var = settings.get(f"{key}_env")
    if not var:
        raise ConfigError(
            f"setting '{key}_env' (the name of the environment variable holding the {key}) is missing"
        )
    value = env.get(str(var))
    if not value:
        raise ConfigError(f"environment variable {var} (for {key}) is not set")
    return value
