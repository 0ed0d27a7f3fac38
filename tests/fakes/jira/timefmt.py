"""Jira's ways of writing instants and durations.

Jira writes timestamps as ``2025-01-31T11:00:00.000+0100`` (not RFC 3339: no colon in the offset), in the
time zone of the user who asks; JSM writes a ``DateDTO`` with four renderings of one instant; ``Retry-After``
may be an HTTP date. Keeping these in one place keeps every payload consistent.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, tzinfo
from email.utils import format_datetime
from typing import Any


def jira_timestamp(when: datetime, tz: tzinfo) -> str:
    """``2025-01-31T11:00:00.000+0100`` in ``tz``, millisecond precision."""
    local = when.astimezone(tz)
    return local.strftime("%Y-%m-%dT%H:%M:%S.") + f"{local.microsecond // 1000:03d}" + local.strftime("%z")


def parse_jira_timestamp(text: str) -> datetime:
    """Accept what Jira accepts for datetime fields: ISO 8601 with an offset, with or without the colon.

    Raises ValueError on text without an offset, because Jira would read it in the user's zone and a fake
    that guessed would hide a connector bug.
    """
    parsed = datetime.fromisoformat(text.strip())
    if parsed.tzinfo is None:
        raise ValueError(f"timestamp without an offset: {text!r}")
    return parsed.astimezone(UTC)


def history_string(when: datetime) -> str:
    """The human rendering Jira puts in changelog ``fromString``/``toString`` for datetime fields (UTC here)."""
    local = when.astimezone(UTC)
    hour = local.hour % 12 or 12
    return f"{local:%d/%b/%y} {hour}:{local:%M} {'AM' if local.hour < 12 else 'PM'}"


def http_date(when: datetime) -> str:
    """An RFC 7231 date, as some servers put in ``Retry-After``."""
    return format_datetime(when.astimezone(UTC), usegmt=True)


def epoch_millis(when: datetime) -> int:
    return int(when.timestamp() * 1000)


def date_dto(when: datetime, tz: tzinfo) -> dict[str, Any]:
    """JSM's ``DateDTO``: ISO 8601, Jira format, a friendly string and epoch milliseconds."""
    local = when.astimezone(tz)
    iso = local.strftime("%Y-%m-%dT%H:%M:%S%z")
    return {
        "iso8601": iso,
        "jira": jira_timestamp(when, tz),
        "friendly": f"{local:%d/%b/%y} {local:%I:%M %p}",
        "epochMillis": epoch_millis(when),
    }


def friendly_duration(span: timedelta) -> str:
    """JSM's ``DurationDTO.friendly``: ``4h 0m``, negative when a goal is overrun (``-1h 5m``)."""
    total_minutes = (
        int(span.total_seconds() // 60) if span >= timedelta(0) else -int(-span.total_seconds() // 60)
    )
    sign = "-" if total_minutes < 0 else ""
    hours, minutes = divmod(abs(total_minutes), 60)
    return f"{sign}{hours}h {minutes}m"


def duration_dto(span: timedelta) -> dict[str, Any]:
    return {"millis": int(span.total_seconds() * 1000), "friendly": friendly_duration(span)}
