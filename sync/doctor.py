"""``casewarden doctor``: is this deployment ready to run? Connection, permissions, mappings, fields,
channels, state; each check says what to fix."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from casewarden.connectors.base import HealthCheck
from casewarden.errors import CasewardenError
from casewarden.sync.deployment import Deployment
from casewarden.sync.notify import build_channel
from casewarden.sync.wiring import Runtime, needs


@dataclass(frozen=True)
class Check:
    scope: str
    name: str
    ok: bool
    detail: str = ""


def run_doctor(deployment: Deployment, environ: Any = None) -> list[Check]:
    checks: list[Check] = []
    try:
        rt = Runtime(deployment, environ=environ, with_channels=False)
    except CasewardenError as exc:
        return [Check("deployment", "load", False, str(exc))]
    with rt:
        pol = rt.policy
        checks.append(Check("policy", "load", True, f"{pol.name} from {deployment.policy_source}"))
        checks.append(Check("state", "open", True, f"{deployment.state_path} (schema v{rt.state.version})"))
        for spec in deployment.spec.trackers:
            conn = rt.connectors[spec.name]
            health: list[HealthCheck]
            try:
                health = conn.health()
            except CasewardenError as exc:
                health = [HealthCheck("connect", False, str(exc))]
            checks.extend(Check(spec.name, h.name, h.ok, h.detail) for h in health)
            identity = spec.type == "local"
            missing_levels = [lv for lv in pol.levels if lv not in spec.levels and not identity]
            checks.append(
                Check(
                    spec.name,
                    "levels mapped",
                    not missing_levels,
                    "all levels" if not missing_levels else "unmapped: " + ", ".join(missing_levels),
                )
            )
            missing_st = [s for s in pol.statuses if s not in spec.statuses and not identity]
            checks.append(
                Check(
                    spec.name,
                    "statuses mapped",
                    not missing_st,
                    "all statuses" if not missing_st else "unmapped: " + ", ".join(missing_st),
                )
            )
            try:
                steps = conn.bootstrap_plan(needs(pol, spec))
                absent = [f"{s.kind} {s.name}" for s in steps if not s.exists]
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
            except CasewardenError as exc:
                checks.append(Check(spec.name, "fields and statuses present", False, str(exc)))
            caps = conn.capabilities()
            for note in caps.notes:
                checks.append(Check(spec.name, "limitation", True, note))
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
                build_channel(name, spec_c, environ=environ)
                checks.append(Check("notifications", f"channel {name}", True, spec_c.get("type", "")))
            except CasewardenError as exc:
                checks.append(Check("notifications", f"channel {name}", False, str(exc)))
        for ch in [*notif.on_breach, *(c for cs in notif.contacts.values() for c in cs)]:
            if ch not in notif.channels:
                checks.append(Check("notifications", f"channel {ch}", False, "referenced but not defined"))
    return checks
