"""JSM's own SLA timers, read for the cross-check against casewarden's.

Why: a team moving from JSM SLAs to casewarden wants to see, case by case, where the two disagree and by
how much before it trusts either. JSM computes its SLAs itself (its own calendars and start/stop
conditions); ``GET /rest/servicedeskapi/request/{issueIdOrKey}/sla`` shows them per request. The
``jira`` library has no wrapper for it, so it goes through the connector's client (auth, casewarden's
retries bounded by the cycle budget, Jira's errors mapped to the error tree).

Each JSM SLA is matched to a policy metric by its name through the deployment's map
(:data:`DEFAULT_SLA_METRICS` unless the settings say otherwise); SLAs the map does not name are left
out. The ongoing cycle is the timer (its ``breachTime``, absent while paused); with none ongoing, the
last completed cycle says whether the target was met (no due instant) or breached (its breach time).
There is no bulk endpoint: one call per case (and per page of 50 SLAs), so the cross-check is for the
few cases a report looks at, not for every cycle. Only service projects have requests: with no service
project governed nothing is asked; issues of other projects answer 404 and are skipped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from casewarden.connectors.base import NativeTimer
from casewarden.errors import SkippableConnectorError

if TYPE_CHECKING:
    from casewarden.connectors.jira.connector import JiraConnector

#: JSM's default SLA names on a new service project -> policy metrics.
DEFAULT_SLA_METRICS: Mapping[str, str] = {
    "Time to first response": "first_response",
    "Time to resolution": "resolution",
}

#: The largest page the servicedeskapi serves.
PAGE_LIMIT = 50


class Api(Protocol):
    """What this module needs of :class:`casewarden.connectors.jira.client.JiraClient`."""

    def call(
        self, method: str, path: str, *, params: Mapping[str, Any] | None = None, what: str = ""
    ) -> Any: ...


def _instant(date: Mapping[str, Any] | None) -> datetime | None:
    """A JSM ``DateDTO`` as an aware UTC instant (``epochMillis`` is exact; ``iso8601`` the fallback)."""
    if not date:
        return None
    millis = date.get("epochMillis")
    if isinstance(millis, int):
        return datetime.fromtimestamp(millis / 1000, UTC)
    text = date.get("iso8601") or date.get("jira")
    if isinstance(text, str):
        parsed = datetime.fromisoformat(text)
        return parsed.astimezone(UTC) if parsed.tzinfo else None
    return None


def timer_from_sla(case_id: str, sla: Mapping[str, Any], metrics: Mapping[str, str]) -> NativeTimer | None:
    """One ``SlaInformationDTO`` as a :class:`NativeTimer`, or None for an SLA the map does not name or one
    with no cycle at all (JSM has not started it)."""
    name = str(sla.get("name", ""))
    metric = metrics.get(name)
    if metric is None:
        return None
    ongoing = sla.get("ongoingCycle")
    if ongoing:
        paused = bool(ongoing.get("paused", False))
        return NativeTimer(
            case_id,
            metric,
            name,
            None if paused else _instant(ongoing.get("breachTime")),
            breached=bool(ongoing.get("breached", False)),
            paused=paused,
        )
    completed = sla.get("completedCycles") or []
    if not completed:
        return None
    last = completed[-1]
    breached = bool(last.get("breached", False))
    return NativeTimer(
        case_id, metric, name, _instant(last.get("breachTime")) if breached else None, breached=breached
    )


def _sla_pages(api: Api, case_id: str) -> list[Mapping[str, Any]] | None:
    """Every SLA of one request, following ``isLastPage``; None when the issue is not a request."""
    found: list[Mapping[str, Any]] = []
    start = 0
    while True:
        try:
            page = api.call(
                "GET",
                f"/rest/servicedeskapi/request/{case_id}/sla",
                params={"start": start, "limit": PAGE_LIMIT},
                what=f"reading JSM SLAs of case {case_id}",
            )
        except SkippableConnectorError as exc:
            if getattr(exc, "status", None) == 404:
                return None
            raise
        values = (page or {}).get("values") or []
        found.extend(values)
        if (page or {}).get("isLastPage", True) or not values:
            return found
        start += len(values)


def read_timers(api: Api, ids: Sequence[str], metrics: Mapping[str, str] | None = None) -> list[NativeTimer]:
    """JSM's timers for these cases (numeric issue ids), in id order then JSM's SLA order; cases that are
    not service requests, and SLAs the map does not name, are left out."""
    chosen = DEFAULT_SLA_METRICS if metrics is None else metrics
    out: list[NativeTimer] = []
    for case_id in ids:
        for sla in _sla_pages(api, case_id) or ():
            timer = timer_from_sla(case_id, sla, chosen)
            if timer is not None:
                out.append(timer)
    return out


def timers(conn: JiraConnector, ids: Sequence[str]) -> list[NativeTimer]:
    """The connector's hook: nothing to ask when no governed project is a service project."""
    if not any(conn.site.project(key).service_desk for key in conn.settings.projects):
        return []
    return read_timers(conn.api, ids, conn.settings.jsm_slas)


__all__ = ["DEFAULT_SLA_METRICS", "read_timers", "timer_from_sla", "timers"]
