"""From an evaluation to the changes a tracker needs: desired state, diffed against what the case holds.

Field values are a pure function of the evaluation, so repeating them is harmless and they carry no
key; every side effect (note, transition, related case, notification) carries its ledger key and is
planned only while the ledger does not say it is done. A cycle over unchanged cases with no timer
crossing therefore plans nothing.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from casewarden.connectors.base import Capabilities, Change, ChangeKind, TrackerCase
from casewarden.policy.case import Case, LevelChange, StatusChange
from casewarden.policy.compiled import Policy
from casewarden.policy.evaluate import evaluate
from casewarden.policy.model import Metric
from casewarden.policy.results import Evaluation, PlannedAction, TargetState
from casewarden.sync.deployment import DUE_PREFIX, Notifications, TrackerSpec
from casewarden.sync.notify import Notification

#: The ledger state the engine reports for a notification key that is in the notification outbox, whatever
#: became of it there (queued, sent, retrying, given up, held back by adoption): it is never planned again.
NOTIFIED = "notified"
# Ledger states in which a side effect is not planned: done; in the outbox (notifications); a notification
# of unknown delivery from before the outbox existed; or pending, which after recovery means the tracker
# could not yet tell whether the write landed (a bulk job still running): it is settled from markers first.
SETTLED = frozenset({"done", "uncertain", "pending", NOTIFIED})
ATTEMPTED = frozenset({"failed", "pending"})
REOPEN_KINDS = frozenset({"set_status", "open_related"})


def instant_text(t: datetime | None) -> str | None:
    """The one format casewarden writes instants in: ISO-8601 UTC to the second, e.g. 2026-11-20T17:00:00Z."""
    return None if t is None else t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class PlannedNotification:
    """A notification the policy asks for. ``crossed_at`` is when what it announces happened on the case's
    own timeline (the breach instant, the instant an escalation level was reached): adoption decides
    from it whether anyone is still owed the message."""

    key: str
    channels: tuple[str, ...]
    message: Notification
    crossed_at: datetime


@dataclass
class CasePlan:
    case_id: str
    changes: list[Change] = field(default_factory=list)
    notifications: list[PlannedNotification] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def desired_fields(ev: Evaluation, escalation_floor: int = 0) -> dict[str, str | None]:
    """Logical field -> value the case should hold."""
    breached = sorted(t.name for t in ev.targets if t.state is TargetState.BREACHED)
    warning = sorted(t.name for t in ev.targets if t.state is TargetState.WARNING)
    running = [
        t.due_at
        for t in ev.targets
        if t.state in (TargetState.RUNNING, TargetState.WARNING) and t.due_at is not None
    ]
    out: dict[str, str | None] = {
        "level": ev.level,
        "escalation_level": str(max(ev.escalation.level if ev.escalation else 0, escalation_floor))
        if ev.escalation
        else None,
        "breached": ",".join(breached) or None,
        "warning": ",".join(warning) or None,
        "next_due": instant_text(min(running, key=datetime.timestamp)) if running and ev.open else None,
    }
    for t in ev.targets:
        # a one-shot target that has stopped (met on time or late) has no due time left to show; a
        # periodic one keeps its next due (its met_at is the last update); a closed case shows none
        stopped = t.met_at is not None and t.metric != Metric.PERIODIC_UPDATE
        out[DUE_PREFIX + t.name] = instant_text(t.due_at) if ev.open and not stopped else None
    return out


def flag_tags(desired: dict[str, str | None], prefix: str) -> set[str]:
    """The tags that mirror the case's breach and escalation flags (from :func:`desired_fields`): one per
    breached target, and one for the escalation level reached. Trackers filter views and queues on tags
    far better than on text."""
    tags = {prefix + "breached_" + _tag_part(name) for name in (desired["breached"] or "").split(",") if name}
    level = desired["escalation_level"]
    if level and int(level) > 0:
        tags.add(f"{prefix}escalation_{level}")
    return tags


def _tag_part(name: str) -> str:
    return re.sub(r"[^a-z0-9_-]+", "_", name.lower()).strip("_") or "target"


def _flag_tag_changes(tc: TrackerCase, desired: dict[str, str | None], prefix: str) -> list[Change]:
    """Add the flag tags the case should carry and remove the ones it no longer should, leaving every
    other tag alone; plain (unkeyed) changes, since repeating them is harmless."""
    want = flag_tags(desired, prefix)
    managed = {t for t in tc.tags if t.startswith((prefix + "breached_", prefix + "escalation_"))}
    cid = tc.case.id
    return [
        Change(cid, ChangeKind.ADD_TAG, t, reason="flag: " + t[len(prefix) :]) for t in sorted(want - tc.tags)
    ] + [
        Change(cid, ChangeKind.REMOVE_TAG, t, reason="flag cleared: " + t[len(prefix) :])
        for t in sorted(managed - want)
    ]


def plan_case(
    policy: Policy,
    tc: TrackerCase,
    ev: Evaluation,
    tracker: TrackerSpec,
    notifications: Notifications,
    ledger: dict[str, str],
    escalation_floor: int = 0,
    capabilities: Capabilities | None = None,
) -> CasePlan:
    plan = CasePlan(tc.case.id)
    cid = tc.case.id
    if ev.level_defaulted:
        plan.changes.append(
            Change(cid, ChangeKind.SET_LEVEL, ev.level, reason=f"intake: no level set, {ev.level} by default")
        )
    desired = desired_fields(ev, escalation_floor)
    for logical, value in desired.items():
        name = tracker.fields.tracker_name(logical)
        if name is None:
            continue
        if (tc.fields.get(name) or None) != value:
            plan.changes.append(
                Change(cid, ChangeKind.SET_FIELD, value, field=name, reason=_field_reason(logical, value, ev))
            )
    if tracker.fields.flag_tags:
        plan.changes.extend(_flag_tag_changes(tc, desired, tracker.fields.flag_tags))
    for action in ev.due:
        key = str(action.key)
        if (
            ev.open
            and notifications.on_breach
            and action.kind == "note"
            and action.key.action.startswith("breach.")
        ):
            # a breach notification is owed whatever became of the breach note: the note may have landed
            # in a cycle that died before the notification was queued
            nkey = key + ":notify"
            if ledger.get(nkey) not in SETTLED:
                plan.notifications.append(_notification(tc, ev, action, nkey, tuple(notifications.on_breach)))
        status = ledger.get(key)
        if status in SETTLED:
            continue
        if not ev.open and action.kind not in REOPEN_KINDS and status not in ATTEMPTED:
            # a solved or closed case gets no new notes, tags or notifications, only the reopen rules;
            # what was attempted while it was open and failed is still carried out
            continue
        _plan_action(policy, tc, ev, action, key, plan, notifications)
    if capabilities is not None:
        _drop_unsupported(plan, capabilities)
        current = policy.statuses.get(tc.case.status or "")
        if current is not None and current.category.value in capabilities.frozen_categories:
            # the tracker takes no change to a case in this status (Zendesk: a closed ticket is final);
            # planning one would fail every cycle. A new related case can still be opened.
            plan.changes = [c for c in plan.changes if c.kind is ChangeKind.OPEN_RELATED]
    return plan


def _drop_unsupported(plan: CasePlan, capabilities: Capabilities) -> None:
    """Changes the tracker cannot make are never planned (they would fail every cycle); what was left
    out is one problem line for the case."""
    kept, refused = [], []
    for c in plan.changes:
        why = capabilities.refusal(c)
        if why is None:
            kept.append(c)
        else:
            refused.append(f"{why} ({c.reason or c.kind.value})")
    if refused:
        plan.changes = kept
        plan.problems.append("not planned, the tracker " + "; ".join(dict.fromkeys(refused)))


MOVES = (ChangeKind.SET_STATUS, ChangeKind.SET_LEVEL)


def action_keys(ev: Evaluation) -> list[str]:
    """The ledger keys an evaluation's due actions may use (a breach also notifies under key:notify)."""
    keys = [str(a.key) for a in ev.due]
    return keys + [k + ":notify" for k in keys if ":breach." in k]


CONVERGE_PASSES = 3


def simulate(case: Case, changes: list[Change], at: datetime) -> Case:
    """The case as it will be once casewarden's own status and level moves land."""
    statuses = tuple(StatusChange(at, c.value or "") for c in changes if c.kind is ChangeKind.SET_STATUS)
    levels = tuple(LevelChange(at, c.value or "") for c in changes if c.kind is ChangeKind.SET_LEVEL)
    return dataclasses.replace(
        case, status_history=case.status_history + statuses, level_history=case.level_history + levels
    )


def plan_converged(
    policy: Policy,
    tc: TrackerCase,
    ev: Evaluation,
    tracker: TrackerSpec,
    notifications: Notifications,
    ledger: dict[str, str],
    escalation_floor: int,
    now: datetime,
    lookup: Callable[[list[str]], dict[str, str]] | None = None,
    capabilities: Capabilities | None = None,
) -> tuple[CasePlan, TrackerCase, Evaluation]:
    """Plan, and when the plan moves the case's status or level, plan again for the case as it will be,
    so the fields written match the settled state (a closed case has no due times) and the next cycle
    has nothing left to do. Returns the plan with the case and evaluation it settles on.

    ``ledger`` holds the ledger entries of the keys ``ev`` asks for; the case as it will be may ask for
    others (a level it held before), which ``lookup`` fetches, so nothing done before is done again."""
    plan = plan_case(policy, tc, ev, tracker, notifications, ledger, escalation_floor, capabilities)
    settled_tc, settled_ev = tc, ev
    moves: list[Change] = []
    for _ in range(CONVERGE_PASSES):
        new_moves = [c for c in plan.changes if c.kind in MOVES and c not in moves]
        if not new_moves:
            break
        moves += new_moves
        case = simulate(tc.case, moves, now)
        settled_ev = evaluate(policy, case, now)
        settled_tc = TrackerCase(case, tc.fields, tc.tags, tc.url)
        planned = {c.key: "done" for c in plan.changes if c.key} | {n.key: "done" for n in plan.notifications}
        unseen = [k for k in action_keys(settled_ev) if k not in ledger and k not in planned]
        if unseen and lookup is not None:
            ledger = {**ledger, **lookup(unseen)}
        nxt = plan_case(
            policy,
            settled_tc,
            settled_ev,
            tracker,
            notifications,
            {**ledger, **planned},
            escalation_floor,
            capabilities,
        )
        plan = CasePlan(
            plan.case_id,
            [c for c in plan.changes if c.kind is not ChangeKind.SET_FIELD or c.key]
            + [c for c in nxt.changes if c.kind is not ChangeKind.SET_FIELD or c.key]
            + [c for c in nxt.changes if c.kind is ChangeKind.SET_FIELD and not c.key],
            plan.notifications + nxt.notifications,
            list(dict.fromkeys(plan.problems + nxt.problems)),
        )
    return plan, settled_tc, settled_ev


def _field_reason(logical: str, value: str | None, ev: Evaluation) -> str:
    if logical.startswith(DUE_PREFIX):
        target = logical[len(DUE_PREFIX) :]
        return f"{ev.level} {target} due {value}" if value else f"{ev.level} {target} no longer running"
    return f"{logical} is {value}" if value is not None else f"{logical} cleared"


def _plan_action(
    policy: Policy,
    tc: TrackerCase,
    ev: Evaluation,
    action: PlannedAction,
    key: str,
    plan: CasePlan,
    notifications: Notifications,
) -> None:
    cid = tc.case.id
    reason = action.reason
    kind = action.kind
    if kind == "note":
        plan.changes.append(Change(cid, ChangeKind.ADD_NOTE, action.value, key=key, reason=reason))
    elif kind == "public_note":
        plan.changes.append(
            Change(cid, ChangeKind.ADD_NOTE, "Tell the customer: " + action.value, key=key, reason=reason)
        )
    elif kind == "tag":
        plan.changes.append(Change(cid, ChangeKind.ADD_TAG, action.value, key=key, reason=reason))
    elif kind == "field":
        for i, pair in enumerate(action.value.split(",")):
            name, _, value = pair.partition("=")
            plan.changes.append(
                Change(cid, ChangeKind.SET_FIELD, value, field=name, key=f"{key}.{i}", reason=reason)
            )
    elif kind == "assign_group":
        plan.changes.append(Change(cid, ChangeKind.ASSIGN_GROUP, action.value, key=key, reason=reason))
    elif kind == "add_follower":
        plan.changes.append(Change(cid, ChangeKind.ADD_FOLLOWER, action.value, key=key, reason=reason))
    elif kind in ("raise_level", "set_level"):
        target = policy.level(action.value)
        current = policy.level(ev.level)
        if target is None or current is None or target.id == current.id:
            return
        if kind == "raise_level" and target.spec.rank >= current.spec.rank:
            return  # already at or above that level
        plan.changes.append(Change(cid, ChangeKind.SET_LEVEL, target.id, key=key, reason=reason))
    elif kind == "set_status":
        if ev.status == action.value:
            return
        plan.changes.append(Change(cid, ChangeKind.SET_STATUS, action.value, key=key, reason=reason))
    elif kind == "open_related":
        plan.changes.append(Change(cid, ChangeKind.OPEN_RELATED, action.value, key=key, reason=reason))
    elif kind == "notify":
        channels: list[str] = []
        for contact in action.targets:
            mapped = notifications.contacts.get(contact)
            if not mapped:
                plan.problems.append(f"contact '{contact}' has no notification channel in the deployment")
            channels.extend(mapped or ())
        if channels:
            plan.notifications.append(_notification(tc, ev, action, key, tuple(dict.fromkeys(channels))))
    else:  # pragma: no cover - the policy layer only produces the kinds above
        plan.problems.append(f"unknown action kind {kind}")


def _notification(
    tc: TrackerCase, ev: Evaluation, action: PlannedAction, key: str, channels: tuple[str, ...]
) -> PlannedNotification:
    if action.key.action.startswith("breach."):
        target = action.key.action.removeprefix("breach.").split(".")[0]
        headline = "SLA breach"
    elif action.key.action.startswith("escalation."):
        target = f"escalation level {action.key.level}"
        headline = "escalated"
    else:
        target = action.key.action
        headline = target.replace("_", " ")
    subject = f"[casewarden] case {tc.case.id} ({ev.level}): {headline}"
    text = (
        f"Case {tc.case.id} at level {ev.level}, status {ev.status}.\n{action.reason}\n"
        f"Open it: {tc.url or tc.case.id}"
    )
    return PlannedNotification(
        key,
        channels,
        Notification(
            key=key,
            case_id=tc.case.id,
            case_url=tc.url,
            level=ev.level,
            target=target,
            reason=action.reason,
            subject=subject,
            text=text,
        ),
        action.due_at,
    )
