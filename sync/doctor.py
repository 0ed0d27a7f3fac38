"""``casewarden doctor``: is this deployment ready to run? Connection, permissions, mappings, fields,
channels, state; each check says what to fix."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from casewarden.connectors.base import ChangeKind, HealthCheck
from casewarden.errors import CasewardenError, StateError
from casewarden.sync.deployment import Deployment, TrackerSpec, unset_variables
from casewarden.sync.notify import build_channel
from casewarden.sync.state import StateStore
from casewarden.sync.wiring import Runtime, name_map, needs

#: How far back doctor reports notifications that were given up.
GIVEN_UP_WINDOW = timedelta(days=7)


@dataclass(frozen=True)
class Check:
    scope: str
    name: str
    ok: bool
    detail: str = ""


def run_doctor(deployment: Deployment, environ: Any = None, now: datetime | None = None) -> list[Check]:
    checks: list[Check] = []
    now = now or datetime.now(UTC)
    try:
        rt = Runtime(deployment, environ=environ, with_channels=False)
    except StateError:
        raise  # the state store's own error and exit code, as every command reports it
    except CasewardenError as exc:
        return [Check("deployment", "load", False, str(exc))]
    with rt:
        pol = rt.policy
        checks.append(Check("policy", "load", True, f"{pol.name} from {deployment.policy_source}"))
        checks.extend(
            Check("environment", "variable", False, str(p)) for p in unset_variables(deployment, environ)
        )
        checks.append(Check("state", "open", True, f"{deployment.state_path} (schema v{rt.state.version})"))
        unwritable = rt.state.unwritable()
        checks.append(Check("state", "writable", unwritable is None, unwritable or "run can record its work"))
        for spec in deployment.spec.trackers:
            checks.extend(_tracker_checks(rt, spec))
        notif = deployment.spec.notifications
        for contact in pol.spec.contacts:
            chans = notif.contacts.get(contact, [])
            checks.append(
                Check(
                    "notifications",
                    f"contact {contact}",
                    bool(chans),
                    ", ".join(chans) if chans else "no channel: escalations will not notify anyone",
                )
            )
        for name, spec_c in notif.channels.items():
            try:
                channel = build_channel(name, spec_c, environ=environ)
                probe = getattr(channel, "probe", None)  # a dry request: nothing is delivered
                detail = probe() if callable(probe) else "built (this channel type has no test request)"
                checks.append(
                    Check("notifications", f"channel {name}", True, f"{spec_c.get('type', '')}: {detail}")
                )
            except CasewardenError as exc:
                checks.append(Check("notifications", f"channel {name}", False, str(exc)))
        for ch in [*notif.on_breach, *(c for cs in notif.contacts.values() for c in cs)]:
            if ch not in notif.channels:
                checks.append(Check("notifications", f"channel {ch}", False, "referenced but not defined"))
        checks.extend(_delivery_checks(rt.state, now))
    return checks


def _delivery_checks(state: StateStore, now: datetime) -> list[Check]:
    """What became of the notifications: given up recently, held over the cap, waiting for a retry."""
    counts = state.outbox_counts()
    given_up = state.given_up(now - GIVEN_UP_WINDOW)
    waiting = counts.get("failed", 0) + counts.get("queued", 0)
    if given_up:
        _tracker, key, channel, _at, why = given_up[0]
        detail = (
            f"{len(given_up)} notification(s) given up in the last {GIVEN_UP_WINDOW.days} days, latest "
            f"{key} via {channel}: {why}; see 'casewarden report'"
        )
    else:
        detail = f"{counts.get('done', 0)} delivered" + (
            f", {waiting} waiting to be tried again" if waiting else ""
        )
    checks = [Check("notifications", "deliveries", not given_up, detail)]
    if counts.get("held"):
        checks.append(
            Check(
                "notifications",
                "held over the cap",
                False,
                f"{counts['held']} notification(s) over notifications.max_per_cycle: check 'casewarden plan', "
                "then send them with 'casewarden run --yes'",
            )
        )
    return checks


def _tracker_checks(rt: Runtime, spec: TrackerSpec) -> list[Check]:
    """Connection, mappings, fields and statuses, and what the tracker cannot do, for one tracker. What is
    checked beyond this (token scopes, roles, workflows, plan features) is the connector's ``health``."""
    conn = rt.connectors.get(spec.name)
    if conn is None:
        return [Check(spec.name, "connect", False, rt.unavailable.get(spec.name, "not built"))]
    checks: list[Check] = []
    try:
        health = conn.health()
    except CasewardenError as exc:
        health = [HealthCheck("connect", False, str(exc))]
    checks.extend(Check(spec.name, h.name, h.ok, h.detail) for h in health)
    names = name_map(rt.policy, rt.deployment, spec)
    for what, missing in (("levels", names.unmapped_levels()), ("statuses", names.unmapped_statuses())):
        checks.append(
            Check(
                spec.name,
                f"{what} mapped",
                not missing,
                f"all {what}" if not missing else "unmapped: " + ", ".join(missing),
            )
        )
    try:
        steps = conn.bootstrap_plan(needs(rt.policy, spec))
        absent = [f"{s.kind} {s.name}" for s in steps if not s.exists and not s.manual]
        manual = [f"{s.kind} {s.name}: {s.manual}" for s in steps if not s.exists and s.manual]
        checks.append(
            Check(
                spec.name,
                "fields and statuses present",
                not absent,
                "all present"
                if not absent
                else "missing (run 'casewarden bootstrap --apply'): " + ", ".join(absent[:10]),
            )
        )
        checks.extend(Check(spec.name, "needs an admin", False, m) for m in manual)
    except CasewardenError as exc:
        checks.append(Check(spec.name, "fields and statuses present", False, str(exc)))
    caps = conn.capabilities()
    for note in caps.notes:
        checks.append(Check(spec.name, "limitation", True, note))
    for name, why in caps.unwritable_fields.items():
        checks.append(Check(spec.name, f"field {name}", False, why))
    for name, why in caps.unreachable_statuses.items():
        checks.append(Check(spec.name, f"status {name}", False, why))
    planned_kinds = _kinds_the_policy_plans(rt)
    for kind in sorted(planned_kinds - caps.supported):
        checks.append(
            Check(
                spec.name,
                "limitation",
                True,
                f"the policy asks for {kind.value} actions; this tracker cannot "
                "make them, so they are left out of every plan",
            )
        )
    return checks


def _kinds_the_policy_plans(rt: Runtime) -> set[ChangeKind]:
    """Change kinds the policy's actions and lifecycle rules can produce."""
    kinds = {ChangeKind.SET_FIELD, ChangeKind.ADD_NOTE}
    for path in rt.policy.spec.escalation_paths.values():
        for level in path.levels:
            for action in level.actions:
                for attr, kind in (
                    ("tag", ChangeKind.ADD_TAG),
                    ("assign_group", ChangeKind.ASSIGN_GROUP),
                    ("add_follower", ChangeKind.ADD_FOLLOWER),
                    ("raise_level", ChangeKind.SET_LEVEL),
                ):
                    if getattr(action, attr, None):
                        kinds.add(kind)
    lifecycle = rt.policy.spec.lifecycle
    if lifecycle.close_no_response or lifecycle.resume_status or lifecycle.reopen_window:
        kinds.add(ChangeKind.SET_STATUS)
    if lifecycle.reopen_window:
        kinds.add(ChangeKind.OPEN_RELATED)
    return kinds
