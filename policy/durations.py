"""Duration expressions as a support manager writes them: ``30 min``, ``8 business hours``,
``3 business days``, ``5 to 10 days``, ``immediate``, ``continuous``, ``untimed``.

Parsing is separate from the policy model so the same grammar serves targets, escalation levels and
lifecycle rules, and so that its error message (the list of accepted forms) is written once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

UNIT_SECONDS = {
    "s": 1,
    "sec": 1,
    "secs": 1,
    "second": 1,
    "seconds": 1,
    "m": 60,
    "min": 60,
    "mins": 60,
    "minute": 60,
    "minutes": 60,
    "h": 3600,
    "hr": 3600,
    "hrs": 3600,
    "hour": 3600,
    "hours": 3600,
    "d": 86400,
    "day": 86400,
    "days": 86400,
    "w": 604800,
    "week": 604800,
    "weeks": 604800,
}
DAY_UNITS = {"d", "day", "days"}
WEEK_UNITS = {"w", "week", "weeks"}

_QTY = r"(\d+(?:\.\d+)?)"
_UNIT = r"([a-z]+)"
_SINGLE = re.compile(rf"^{_QTY}\s*(business\s+)?{_UNIT}$")
_RANGE = re.compile(rf"^{_QTY}\s*(?:{_UNIT}\s*)?(?:to|-|–)\s*{_QTY}\s*(business\s+)?{_UNIT}$")

#: The longest duration a policy may give: ten years of calendar (or business) time. A support target
#: or an escalation beyond that is a typo, and the calendar would have to build every year up to it.
MAX_DAYS = 3650
MAX_SECONDS = MAX_DAYS * 86400
#: Ten years of five-day weeks: the business-day counterpart of :data:`MAX_DAYS`.
MAX_BUSINESS_DAYS = 2600
LIMITS = (
    f"at most {MAX_DAYS} days (10 years; {MAX_DAYS * 24} hours, {MAX_DAYS // 7} weeks), or "
    f"{MAX_BUSINESS_DAYS} business days ({MAX_BUSINESS_DAYS // 5} business weeks)"
)

ACCEPTED_FORMS = (
    "'30 min', '2 hours', '10 days' (calendar time), '8 business hours' (only while the calendar is open), "
    "'3 business days' (same local time on the 3rd following business day), '5 to 10 days' (warn at 5, "
    "breach at 10), 'immediate', 'continuous', or 'untimed' (tracked, never breached)"
)


class DurationKind(StrEnum):
    ELAPSED = "elapsed"  # seconds of calendar or business time
    BUSINESS_DAYS = "business_days"  # N business days, same local time
    UNTIMED = "untimed"  # tracked (met or not) but never due


@dataclass(frozen=True, slots=True)
class Duration:
    """A parsed duration. ``seconds`` / ``days`` hold the breach end, ``warn_seconds`` / ``warn_days``
    the low end of a range (None for a single value)."""

    kind: DurationKind
    business: bool = False
    seconds: int = 0
    days: int = 0
    warn_seconds: int | None = None
    warn_days: int | None = None
    text: str = ""

    @property
    def is_untimed(self) -> bool:
        return self.kind is DurationKind.UNTIMED


def parse_duration(text: str | int | float, meanings: dict[str, str] | None = None) -> Duration:
    """Parse ``text``; ``meanings`` maps the words ``immediate`` and ``continuous`` to durations.

    Raises ValueError with the list of accepted forms.
    """
    if isinstance(text, bool):
        raise ValueError(f"expected a duration, got {text!r}; accepted: {ACCEPTED_FORMS}")
    if isinstance(text, int | float):
        if not 0 <= text <= MAX_SECONDS / 60:  # also refuses NaN
            raise ValueError(f"{text} minutes is out of range; a duration is {LIMITS}")
        return Duration(DurationKind.ELAPSED, seconds=int(text * 60), text=f"{text} min")
    raw = text
    s = " ".join(text.strip().lower().split())
    if s in ("untimed", "none", "no target"):
        return Duration(DurationKind.UNTIMED, text=raw)
    if s in ("immediate", "immediately", "continuous", "continuously"):
        word = "immediate" if s.startswith("immediate") else "continuous"
        meaning = (meanings or {}).get(word)
        if meaning is None:
            raise ValueError(f"'{_cut(raw)}' needs a meaning: set meanings.{word} (e.g. '15 minutes')")
        inner = parse_duration(meaning)
        return Duration(
            inner.kind,
            inner.business,
            inner.seconds,
            inner.days,
            inner.warn_seconds,
            inner.warn_days,
            text=raw,
        )
    m = _SINGLE.match(s)
    if m:
        qty, business, unit = float(m.group(1)), bool(m.group(2)), m.group(3)
        return _build(raw, qty, None, business, unit)
    m = _RANGE.match(s)
    if m:
        low, low_unit, high, in_business, unit = m.groups()
        if low_unit and low_unit != unit and UNIT_SECONDS.get(low_unit) != UNIT_SECONDS.get(unit):
            raise ValueError(f"'{_cut(raw)}': both ends of a range take the same unit")
        if float(low) > float(high):
            raise ValueError(f"'{_cut(raw)}': the low end of a range must not exceed the high end")
        return _build(raw, float(high), float(low), bool(in_business), unit)
    raise ValueError(f"cannot read duration '{_cut(raw)}'; accepted: {ACCEPTED_FORMS}")


def _cut(text: str) -> str:
    """``text`` for a message: a value of hundreds of characters is cut, not repeated whole."""
    return text if len(text) <= 60 else text[:57] + "..."


def _build(raw: str, qty: float, low: float | None, business: bool, unit: str) -> Duration:
    if unit not in UNIT_SECONDS:
        raise ValueError(f"'{_cut(raw)}': unknown unit '{unit}'; use minutes, hours, days or weeks")
    if business and (unit in DAY_UNITS or unit in WEEK_UNITS):
        per = 5 if unit in WEEK_UNITS else 1
        if qty * per > MAX_BUSINESS_DAYS:  # checked before any arithmetic: qty may be 1e400 (inf)
            raise ValueError(f"'{_cut(raw)}' is too long; a duration is {LIMITS}")
        if qty != int(qty) or (low is not None and low != int(low)):
            raise ValueError(f"'{_cut(raw)}': business days must be whole")
        return Duration(
            DurationKind.BUSINESS_DAYS,
            business=True,
            days=int(qty) * per,
            warn_days=None if low is None else int(low) * per,
            text=raw,
        )
    factor = UNIT_SECONDS[unit]
    if qty * factor > MAX_SECONDS:
        raise ValueError(f"'{_cut(raw)}' is too long; a duration is {LIMITS}")
    return Duration(
        DurationKind.ELAPSED,
        business=business,
        seconds=round(qty * factor),
        warn_seconds=None if low is None else round(low * factor),
        text=raw,
    )
