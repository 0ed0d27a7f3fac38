"""Zendesk's own SLA timers (``include=slas``), for the cross-check against casewarden's due times.

Why: a team moving from Zendesk SLA policies to casewarden wants to see, before trusting either, where the
two disagree and by how much. Zendesk states each ticket's running SLA targets in the ``slas`` sideload
of a ticket read (``policy_metrics``: metric, stage, ``breach_at``, and the time left or overdue as
signed days/hours/minutes). It is read in bulk, 100 tickets per ``show_many`` call, never one call per
ticket.

Zendesk's metrics map onto the policy's by what they measure:

=========================================  ==================  ======================================
Zendesk metric                             policy metric       why
=========================================  ==================  ======================================
``first_reply_time``                       ``first_response``  the first public agent reply
``periodic_update_time``,                  ``periodic_update`` time between public agent replies (the
``pausable_update_time``                                       pausable one stops in pending/hold)
``requester_wait_time``,                   ``resolution``      time until solved (in new/open/hold, or
``agent_work_time``, ``resolution_time``,                      in new/open only)
``total_resolution_time``
=========================================  ==================  ======================================

``next_reply_time`` (the reply owed after each customer comment) and ``group_ownership_time`` have no
policy counterpart and are left out: a cross-check that paired them with anything would report
disagreements that are only different definitions.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

from casewarden.connectors.base import NativeTimer

#: Zendesk SLA metric -> policy metric
METRICS: Mapping[str, str] = {
    "first_reply_time": "first_response",
    "periodic_update_time": "periodic_update",
    "pausable_update_time": "periodic_update",
    "requester_wait_time": "resolution",
    "agent_work_time": "resolution",
    "resolution_time": "resolution",
    "total_resolution_time": "resolution",
}

#: ``GET /tickets/show_many`` takes at most this many ids
SHOW_MANY_LIMIT = 100


class _Connected(Protocol):
    """What reading the timers needs of the connector: its zenpy client."""

    @property
    def client(self) -> Any: ...


def timers(conn: _Connected, ids: Sequence[str]) -> list[NativeTimer]:
    """The native timers of the tickets ``ids`` (case ids are ticket ids), read 100 tickets a call.

    Ids that cannot be Zendesk tickets, tickets Zendesk no longer has, and tickets no SLA policy applies
    to are left out."""
    wanted = list(dict.fromkeys(i for i in ids if str(i).isdigit()))
    out: list[NativeTimer] = []
    for start in range(0, len(wanted), SHOW_MANY_LIMIT):
        chunk = [int(i) for i in wanted[start : start + SHOW_MANY_LIMIT]]
        for ticket in conn.client.tickets(ids=chunk, include=["slas"]):
            out.extend(from_slas(str(ticket.id), getattr(ticket, "slas", None)))
    return out


def from_slas(case_id: str, slas: Any) -> list[NativeTimer]:
    """The timers one ticket's ``slas`` sideload states (None or an empty one: no SLA applies)."""
    if not isinstance(slas, Mapping):
        return []
    metrics = slas.get("policy_metrics") or []
    return [timer for m in metrics if isinstance(m, Mapping) and (timer := _timer(case_id, m)) is not None]


def _timer(case_id: str, metric: Mapping[str, Any]) -> NativeTimer | None:
    source = str(metric.get("metric") or "")
    policy_metric = METRICS.get(source)
    if policy_metric is None:
        return None
    stage = str(metric.get("stage") or "")
    if stage == "achieved":
        return NativeTimer(case_id, policy_metric, source, None)
    due = _instant(metric.get("breach_at"))
    return NativeTimer(
        case_id,
        policy_metric,
        source,
        due,
        breached=_overdue(metric.get(k) for k in ("days", "hours", "minutes")),
        paused=stage == "paused",
    )


def _overdue(parts: Iterable[Any]) -> bool:
    """Zendesk states the time left as days/hours/minutes, negative once the target is breached."""
    return any(isinstance(p, int | float) and p < 0 for p in parts)


def _instant(raw: Any) -> datetime | None:
    if not isinstance(raw, str) or not raw:
        return None
    try:
        parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


__all__ = ["METRICS", "SHOW_MANY_LIMIT", "from_slas", "timers"]
