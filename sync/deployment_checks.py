"""Cross-references between a deployment and the policy it enforces, checked when both are loaded.

The deployment file is validated on its own at load (shape, connector settings, secrets); what it says
about the *policy* (level and status names, contacts) can only be checked once the policy is loaded, so
``plan``, ``run``, ``doctor`` and ``bootstrap`` all run these checks before touching a tracker. A name the
policy does not know, a policy level or status a tracker cannot hold, or a channel that is referenced but
not defined is a located problem with did-you-mean, never a surprise in the middle of a cycle.
"""

from __future__ import annotations

from casewarden.errors import Problem
from casewarden.policy.compiled import Policy
from casewarden.policy.located import unknown_name
from casewarden.sync.deployment import Deployment

CHANNEL_TYPES = ("email", "webhook")


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
    notif = deployment.spec.notifications
    channels = list(notif.channels)
    for name, spec in notif.channels.items():
        kind = spec.get("type") if isinstance(spec, dict) else None
        if kind not in CHANNEL_TYPES:
            problems.append(
                deployment.problem(
                    ("notifications", "channels", name, "type"),
                    f"unknown channel type {kind!r} (allowed: {', '.join(CHANNEL_TYPES)})",
                )
            )
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
