"""Intake rules: what a case must carry when it arrives, reported as flags for a person to act on."""

from __future__ import annotations

from casewarden.policy.compiled import Policy
from casewarden.policy.timeline import Timeline


def intake_flags(policy: Policy, tl: Timeline) -> list[str]:
    spec = policy.spec.intake
    case = tl.case
    flags: list[str] = []
    if tl.level_defaulted:
        flags.append(
            f"level defaulted to {tl.level.id}"
            + (f" for channel {case.channel}" if case.channel else "")
            + ": review it"
        )
    if spec.required_information:
        missing = [item for item in spec.required_information if item not in case.provided]
        if missing:
            flags.append("missing information: " + ", ".join(missing))
    if spec.authorized_requesters_only and case.requester_authorized is False:
        flags.append(f"requester {case.requester or '(unknown)'} is not an authorized contact")
    first = tl.levels[0].level
    if first.spec.staff_only and not tl.level_defaulted:
        # a case cannot legitimately be opened at a staff-only level (e.g. a global master case):
        # staff raise a case to it, so one that starts there was most likely set by the requester
        flags.append(f"level {first.id} is staff-only but the case was opened at it: confirm staff set it")
    level = tl.level.id
    for rule in spec.flags:
        if rule.levels and level not in rule.levels:
            continue
        if rule.channels and case.channel not in rule.channels:
            continue
        if rule.case_types and case.case_type not in rule.case_types:
            continue
        flags.append(f"{rule.name}: {rule.message}")
    st = tl.status
    if st.requires_link and not any(link.kind == st.requires_link for link in case.links):
        flags.append(f"status {st.name} needs a '{st.requires_link}' link to the main case")
    return flags
