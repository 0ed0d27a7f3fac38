"""JSM's own SLA timers, read for the cross-check against casewarden's.

Why: a team moving from JSM SLAs to casewarden wants to see, case by case, where the two disagree and by
how much before it trusts either. JSM computes its SLAs itself (its own calendars and start/stop
conditions); ``GET /rest/servicedeskapi/request/{issueIdOrKey}/sla`` shows them per request. The
``jira`` library has no wrapper for it, so it goes through the client's session (auth, retries).

Each JSM SLA is matched to a policy metric by its name through the deployment's map
(:data:`DEFAULT_SLA_METRICS` unless the settings say otherwise); SLAs the map does not name are left
out. The ongoing cycle is the timer (its ``breachTime``, absent while paused); with none ongoing, the
last completed cycle says whether the target was met (no due instant) or breached (its breach time).
There is no bulk endpoint: one call per case (and per page of 50 SLAs), so the cross-check is for the
few cases a report looks at, not for every cycle. Only service projects have requests: issues of other
projects answer 404 and are skipped.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

from jira.exceptions import JIRAError

from casewarden.connectors.base import NativeTimer
from casewarden.errors import ConnectorError, error_for_status

#: JSM's default SLA names on a new service project -> policy metrics.
DEFAULT_SLA_METRICS: Mapping[str, str] = {
    "Time to first response": "first_response",
    "Time to resolution": "resolution",
}

#: The largest page the servicedeskapi serves.
PAGE_LIMIT = 50


class _Connected(Protocol):
    client: Any


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


def _sla_pages(client: Any, case_id: str) -> Iterable[Mapping[str, Any]] | None:
    """Every SLA of one request, following ``isLastPage``; None when the issue is not a request."""
    url = f"{client.server_url.rstrip('/')}/rest/servicedeskapi/request/{case_id}/sla"
    found: list[Mapping[str, Any]] = []
    start = 0
    while True:
        try:
            response = client._session.get(url, params={"start": start, "limit": PAGE_LIMIT})
        except JIRAError as exc:
            if exc.status_code == 404:
                return None
            status = int(exc.status_code or 0)
            headers = exc.response.headers if exc.response is not None else {}
            error = error_for_status(
                status, f"reading JSM SLAs of case {case_id}", retry_after=headers.get("Retry-After")
            )
            raise error or ConnectorError(f"reading JSM SLAs of case {case_id}: HTTP {status}") from None
        page = response.json()
        values = page.get("values") or []
        found.extend(values)
        if page.get("isLastPage", True) or not values:
            return found
        start += len(values)


def timers(
    conn: _Connected, ids: Sequence[str], metrics: Mapping[str, str] | None = None
) -> list[NativeTimer]:
    """JSM's timers for these cases (numeric issue ids), in id order then JSM's SLA order; cases that are
    not service requests, and SLAs the map does not name, are left out."""
    chosen = DEFAULT_SLA_METRICS if metrics is None else metrics
    out: list[NativeTimer] = []
    for case_id in ids:
        slas = _sla_pages(conn.client, case_id)
        for sla in slas or ():
            timer = timer_from_sla(case_id, sla, chosen)
            if timer is not None:
                out.append(timer)
    return out


__all__ = ["DEFAULT_SLA_METRICS", "timer_from_sla", "timers"]
