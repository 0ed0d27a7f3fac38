"""Cross-references between a deployment and the policy it enforces, checked when both are loaded.

The deployment file is validated on its own at load (shape, connector settings, secrets); what it says
about the *policy* (level and status names, contacts) can only be checked once the policy is loaded, so
``plan``, ``run``, ``doctor`` and ``bootstrap`` all run these checks before touching a tracker. A name the
policy does not know, a policy level or status a tracker cannot hold, or a channel that is referenced but
not defined is a located problem with did-you-mean, never a surprise in the middle of a cycle.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from casewarden.errors import ConfigError, Problem
from casewarden.policy.compiled import Policy
from casewarden.policy.located import unknown_name
from casewarden.sync.deployment import Deployment
from casewarden.sync.notify import CHANNEL_KEYS, build_channel

CHANNEL_TYPES = tuple(sorted(CHANNEL_KEYS))


class _AnyVariable(Mapping[str, str]):
    """An environment in which every variable is set, so that building a channel checks its entry's
    shape alone (whether the variables are set is :func:`unset_variables`' job, for commands that need
    them)."""

    def __getitem__(self, key: str) -> str:
        return "https://casewarden.invalid/check"

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0

    def get(self, key: str, default: Any = None) -> Any:
        return self[key]


def _channel_problems(deployment: Deployment, name: str, spec: object) -> list[Problem]:
    """A channel's entry checked as the channel itself reads it: type, keys (with did-you-mean), values."""
    here = ("notifications", "channels", name)
    if not isinstance(spec, Mapping):
        return [deployment.problem(here, "a channel is a mapping with a 'type' (email or webhook)")]
    kind = spec.get("type")
    if kind is None:
        return [deployment.problem(here, f"'type' is required (allowed: {', '.join(CHANNEL_TYPES)})")]
    if kind not in CHANNEL_KEYS:
        return [deployment.problem((*here, "type"), unknown_name("channel type", str(kind), CHANNEL_TYPES))]
    allowed = CHANNEL_KEYS[str(kind)]
    unknown = [k for k in spec if k not in allowed]
    if unknown:
        return [deployment.problem((*here, k), unknown_name("key", str(k), allowed)) for k in unknown]
    try:
        build_channel(name, spec, environ=_AnyVariable())
    except ConfigError as exc:
        message = str(exc).removeprefix(f"notification channel {name!r}: ")
        keys = [k for k in re.findall(r"'([^']+)'", message) if k in spec]
        return [deployment.problem((*here, keys[0]) if keys else here, message)]
    return []


def check_deployment(deployment: Deployment, policy: Policy) -> list[Problem]:
    """Every cross-reference problem between ``deployment`` and ``policy``."""
    problems: list[Problem] = []
    levels = list(policy.levels)
    statuses = list(policy.statuses)
    for i, t in enumerate(deployment.spec.trackers):
        cls, _settings = deployment.connector_of(t.name)
        for name in t.levels:
            if name not in policy.levels:
                problems.append(
                    deployment.problem(("trackers", i, "levels", name), unknown_name("level", name, levels))
                )
        for name in t.statuses:
            if name not in policy.statuses:
                problems.append(
                    deployment.problem(
                        ("trackers", i, "statuses", name), unknown_name("status", name, statuses)
                    )
                )
        if not cls.IDENTITY_NAMES:
            missing_levels = [lv for lv in levels if lv not in t.levels]
            if missing_levels:
                problems.append(
                    deployment.problem(
                        ("trackers", i, "levels"),
                        f"policy level(s) {', '.join(missing_levels)} have no {t.type} value: map every level "
                        f"(e.g. {missing_levels[0]}: <tracker priority>)",
                    )
                )
            missing_statuses = [st for st in statuses if st not in t.statuses]
            if missing_statuses:
                problems.append(
                    deployment.problem(
                        ("trackers", i, "statuses"),
                        f"policy status(es) {', '.join(missing_statuses)} have no {t.type} status: map every "
                        f'status (e.g. "{missing_statuses[0]}": <tracker status>)',
                    )
                )
        targets = sorted({tg.key for lv in policy.levels.values() for tg in lv.targets})
        for name in t.fields.due:
            if name not in targets:
                problems.append(
                    deployment.problem(
                        ("trackers", i, "fields", "due", name), unknown_name("target", name, targets)
                    )
                )
    notif = deployment.spec.notifications
    channels = list(notif.channels)
    for name, spec in notif.channels.items():
        problems += _channel_problems(deployment, name, spec)
    contacts = list(policy.spec.contacts)
    for contact, used in notif.contacts.items():
        if contact not in policy.spec.contacts:
            problems.append(
                deployment.problem(
                    ("notifications", "contacts", contact), unknown_name("contact", contact, contacts)
                )
            )
        for j, ch in enumerate(used):
            if ch not in notif.channels:
                problems.append(
                    deployment.problem(
                        ("notifications", "contacts", contact, j),
                        unknown_name("notification channel", ch, channels),
                    )
                )
    for j, ch in enumerate(notif.on_breach):
        if ch not in notif.channels:
            problems.append(
                deployment.problem(
                    ("notifications", "on_breach", j), unknown_name("notification channel", ch, channels)
                )
            )
    return problems
