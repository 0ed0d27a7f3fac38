"""Per-ticket SLA data (``include=slas``), computed from the ticket's audits the way Zendesk states it.

Deliberately simplified: calendar time only (``business_hours`` targets are measured in calendar
minutes), the first matching policy by position wins, and only a few filter fields are understood
(an unknown field never matches). Tests that need exact figures pin them with ``state.set_sla``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tests.fakes.zendesk.records import SlaPolicy, Ticket
    from tests.fakes.zendesk.state import ZendeskState

_PRIORITY_ORDER = {"low": 0, "normal": 1, "high": 2, "urgent": 3}

Stage = tuple[str, datetime | None]


def ticket_slas(state: ZendeskState, ticket: Ticket) -> list[dict[str, Any]]:
    if ticket.sla_override is not None:
        return [dict(m) for m in ticket.sla_override]
    if not state.account.sla_available or ticket.priority is None:
        return []
    policy = next(
        (p for p in sorted(state.sla_policies.values(), key=lambda p: p.position) if _matches(p, ticket)),
        None,
    )
    if policy is None:
        return []
    history = _History(state, ticket)
    out: list[dict[str, Any]] = []
    for metric in policy.policy_metrics:
        if metric.get("priority") != ticket.priority:
            continue
        measure = _METRICS.get(str(metric.get("metric")))
        if measure is None:
            continue
        result = measure(history, timedelta(minutes=int(metric["target"])))
        if result is None:
            continue
        stage, breach_at = result
        entry: dict[str, Any] = {
            "breach_at": breach_at.strftime("%Y-%m-%dT%H:%M:%SZ") if breach_at else None,
            "stage": stage,
            "metric": metric["metric"],
        }
        if breach_at is not None:
            left = int((breach_at - state.now).total_seconds() // 60)
            sign = -1 if left < 0 else 1
            days, rest = divmod(abs(left), 1440)
            entry.update(days=sign * days, hours=sign * (rest // 60), minutes=sign * (rest % 60))
        out.append(entry)
    return out


def _matches(policy: SlaPolicy, ticket: Ticket) -> bool:
    conditions_all = policy.filter.get("all", [])
    conditions_any = policy.filter.get("any", [])
    return all(_condition(c, ticket) for c in conditions_all) and (
        not conditions_any or any(_condition(c, ticket) for c in conditions_any)
    )


def _condition(condition: dict[str, Any], ticket: Ticket) -> bool:
    field, operator, value = condition.get("field"), condition.get("operator"), condition.get("value")
    if field in ("current_tags", "tags"):
        wanted = set(value if isinstance(value, list) else str(value).split())
        hit = bool(wanted & set(ticket.tags))
        return hit if operator == "includes" else not hit if operator == "not_includes" else False
    actual: Any
    if field in ("priority", "type", "status"):
        actual = getattr(ticket, field)
    elif field in ("group_id", "assignee_id", "organization_id", "requester_id"):
        actual = getattr(ticket, field)
        value = int(value) if value not in (None, "") else None
    else:
        return False
    if operator == "is":
        return bool(actual == value)
    if operator == "is_not":
        return bool(actual != value)
    if field == "priority" and operator in ("less_than", "greater_than") and actual:
        diff = _PRIORITY_ORDER[actual] - _PRIORITY_ORDER.get(str(value), 0)
        return diff < 0 if operator == "less_than" else diff > 0
    return False


class _History:
    """The facts the metrics need, read once from the audits."""

    def __init__(self, state: ZendeskState, ticket: Ticket) -> None:
        self.now = state.now
        self.created_at = ticket.created_at
        self.status = ticket.status
        self.statuses: list[tuple[datetime, str]] = []
        self.agent_replies: list[datetime] = []
        self.requester_comments: list[datetime] = []
        for index, audit in enumerate(ticket.audits):
            for event in audit.events:
                if event["type"] in ("Create", "Change") and event.get("field_name") == "status":
                    self.statuses.append((audit.created_at, event["value"]))
                if event["type"] == "Comment" and event["public"] and index > 0:
                    author = state.users.get(event["author_id"])
                    if author is not None and author.is_agent:
                        self.agent_replies.append(audit.created_at)
                    else:
                        self.requester_comments.append(audit.created_at)

    @property
    def solved(self) -> bool:
        return self.status in ("solved", "closed")

    def time_in(self, statuses: set[str]) -> timedelta:
        total = timedelta(0)
        for (start, status), end in zip(
            self.statuses, [at for at, _ in self.statuses[1:]] + [self.now], strict=True
        ):
            if status in statuses:
                total += end - start
        return total


def _first_reply(h: _History, target: timedelta) -> Stage | None:
    if h.agent_replies or h.solved:
        return ("achieved", None)
    return ("active", h.created_at + target)


def _next_reply(h: _History, target: timedelta) -> Stage | None:
    if not h.agent_replies:
        return None
    last_reply = h.agent_replies[-1]
    waiting = [at for at in h.requester_comments if at > last_reply]
    if waiting and not h.solved:
        return ("active", waiting[0] + target)
    return ("achieved", None)


def _periodic(h: _History, target: timedelta) -> Stage | None:
    if not h.agent_replies:
        return None
    if h.solved:
        return ("achieved", None)
    return ("active", h.agent_replies[-1] + target)


def _pausable(h: _History, target: timedelta) -> Stage | None:
    if h.status in ("pending", "hold"):
        return ("paused", None) if h.agent_replies else None
    return _periodic(h, target)


def _accumulating(running: set[str]) -> Callable[[_History, timedelta], Stage | None]:
    def measure(h: _History, target: timedelta) -> Stage | None:
        if h.solved:
            return ("achieved", None)
        if h.status not in running:
            return ("paused", None)
        return ("active", h.now + (target - h.time_in(running)))

    return measure


_METRICS: dict[str, Callable[[_History, timedelta], Stage | None]] = {
    "first_reply_time": _first_reply,
    "next_reply_time": _next_reply,
    "periodic_update_time": _periodic,
    "pausable_update_time": _pausable,
    "requester_wait_time": _accumulating({"new", "open", "hold"}),
    "agent_work_time": _accumulating({"new", "open"}),
}
