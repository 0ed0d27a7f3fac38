"""The policy file's schema as pydantic v2 models.

These models only check the *shape* of a policy (types, allowed words, duration grammar). Whether a
name refers to something that exists is checked afterwards by :mod:`policy.references`, so that every
broken reference in a file is reported at once with its location instead of stopping at the first.
"""

from __future__ import annotations

import difflib
import itertools
import re
from datetime import date, time
from enum import StrEnum
from functools import cache
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from casewarden.policy.durations import Duration, DurationKind, parse_duration

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_FULL_DAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
#: Bounds on counts. A real policy has 3 to 6 levels and escalation levels; these leave room for any
#: sane one while keeping a typo (rank 1000 for 10) from passing as a meaning.
MAX_LEVELS = 100
MAX_ESCALATION_LEVEL = 100
_TIME_RANGE = re.compile(r"^(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})$")


class Strict(BaseModel):
    """Base for every policy model: unknown keys are errors (a misspelt key must not be ignored)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def _check_duration(text: str) -> str:
    """Check the grammar where the duration is written, so the error points at its line; the words
    'immediate' and 'continuous' are resolved later against the policy's own meanings."""
    parse_duration(text, {"immediate": "0 min", "continuous": "0 min"})
    return text


def _check_meaning(text: str) -> str:
    """A meaning is the number behind a word: one timed duration, not another word or a range."""
    d = parse_duration(text)
    if d.kind is DurationKind.UNTIMED or d.warn_seconds is not None or d.warn_days is not None:
        raise ValueError(f"'{text}': give one duration here, e.g. '15 minutes' (not a range, not 'untimed')")
    return text


Name = Annotated[str, Field(min_length=1)]

MeaningText = Annotated[
    str,
    AfterValidator(_check_meaning),
    Field(description="a duration, e.g. '15 minutes'"),
]

DurationText = Annotated[
    str,
    AfterValidator(_check_duration),
    Field(
        description="A duration: '30 min', '8 business hours', '3 business days', '5 to 10 days', "
        "'immediate', 'continuous', 'untimed'"
    ),
]


class Metric(StrEnum):
    FIRST_RESPONSE = "first_response"
    PERIODIC_UPDATE = "periodic_update"
    ACTIVATION = "activation"
    RESTORATION = "restoration"
    TEMPORARY_FIX = "temporary_fix"
    PERMANENT_FIX = "permanent_fix"
    RESOLUTION = "resolution"
    MILESTONE = "milestone"


class StatusCategory(StrEnum):
    NEW = "new"
    OPEN = "open"
    PENDING = "pending"
    HOLD = "hold"
    SOLVED = "solved"
    CLOSED = "closed"


class Meta(Strict):
    name: Name
    version: str = "1"
    description: str = ""
    source: str = ""
    readings: list[str] = Field(
        default_factory=list,
        description="Where the source document is vague or cut off, the reading this policy chose.",
    )


class Meanings(Strict):
    """What the words 'immediate' and 'continuous' mean in this policy: documents use them, timers need
    numbers."""

    immediate: MeaningText = "15 minutes"
    continuous: MeaningText = "1 hour"


class HolidaySpec(Strict):
    country: str | None = Field(None, description="ISO country code for the `holidays` package, e.g. US")
    subdivision: str | None = None
    dates: list[date] = Field(default_factory=list)


class ClosureSpec(Strict):
    """A window when the calendar is closed inside its hours, e.g. a monthly maintenance window."""

    every: str | None = Field(None, description="'third friday', 'last sunday', 'first monday' (monthly)")
    on: date | None = Field(None, description="a one-off closure starting on this local date")
    start: str = Field(alias="from", description="local time HH:MM")
    end: str = Field(alias="to", description="local time HH:MM; at or before `from` means the next day")
    description: str = ""

    @field_validator("every")
    @classmethod
    def _every(cls, v: str | None) -> str | None:
        if v is not None:
            parse_nth_weekday(v)
        return v

    @field_validator("start", "end")
    @classmethod
    def _time(cls, v: str) -> str:
        parse_time(v)
        return v

    @model_validator(mode="after")
    def _one_kind(self) -> ClosureSpec:
        if (self.every is None) == (self.on is None):
            raise ValueError("set exactly one of 'every' (monthly rule) or 'on' (a date)")
        return self


_NTH = {
    "first": 1,
    "second": 2,
    "third": 3,
    "fourth": 4,
    "fifth": 5,
    "last": -1,
    "1st": 1,
    "2nd": 2,
    "3rd": 3,
    "4th": 4,
    "5th": 5,
}
_WEEKDAYS = {
    d: i for i, d in enumerate(("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"))
}


def parse_nth_weekday(text: str) -> tuple[int, int]:
    parts = text.lower().split()
    if len(parts) != 2 or parts[0] not in _NTH or parts[1] not in _WEEKDAYS:
        raise ValueError(
            f"'{text}': write '<first|second|third|fourth|fifth|last> <weekday>', e.g. 'third friday'"
        )
    return _NTH[parts[0]], _WEEKDAYS[parts[1]]


def parse_time(text: str) -> time:
    m = re.fullmatch(r"(\d{1,2}):(\d{2})", text.strip())
    if (
        not m
        or int(m.group(1)) > 24
        or int(m.group(2)) > 59
        or (int(m.group(1)) == 24 and m.group(2) != "00")
    ):
        raise ValueError(f"'{text}' is not a time of day; write HH:MM, 00:00 to 24:00")
    h, mi = int(m.group(1)), int(m.group(2))
    return time(0, 0) if h == 24 else time(h, mi)


def parse_time_range(text: str) -> tuple[time, time]:
    m = _TIME_RANGE.match(text.strip())
    if not m:
        raise ValueError(f"'{text}' is not an interval; write HH:MM-HH:MM, e.g. 08:00-17:00")
    start, end = parse_time(f"{m.group(1)}:{m.group(2)}"), parse_time(f"{m.group(3)}:{m.group(4)}")
    if end != time(0, 0) and end <= start:
        raise ValueError(f"'{text}': an interval ends after it starts (use two intervals to cross midnight)")
    return start, end


def _day_index(word: str, key: str) -> int:
    if word in DAY_NAMES:
        return DAY_NAMES.index(word)
    if word in _FULL_DAY_NAMES:
        return _FULL_DAY_NAMES.index(word)
    raise ValueError(
        f"'{key}': '{word}' is not a day; days are mon, tue, wed, thu, fri, sat, sun (or the full names), "
        "e.g. 'mon-fri' or 'sat,sun'"
    )


def expand_days(key: str) -> list[int]:
    """'mon-fri' -> [0..4]; 'sat' -> [5]; 'mon,wed' -> [0, 2]."""
    days: list[int] = []
    for part in str(key).lower().replace(" ", "").split(","):
        if "-" in part:
            a, b = part.split("-", 1)
            i, j = _day_index(a, key), _day_index(b, key)
            days.extend(range(i, j + 1) if i <= j else [*range(i, 7), *range(0, j + 1)])
        else:
            days.append(_day_index(part, key))
    return days


@cache
def _zone_names() -> tuple[str, ...]:
    from zoneinfo import available_timezones

    return tuple(sorted(available_timezones()))


class CalendarSpec(Strict):
    zone: str = Field("UTC", description="IANA time zone, e.g. America/Denver")
    hours: Literal["24x7"] | dict[str, list[str]] = Field(
        "24x7", description="'24x7' or days -> intervals, e.g. {mon-fri: ['08:00-12:00', '13:00-17:00']}"
    )
    holidays: HolidaySpec | None = None
    closures: list[ClosureSpec] = Field(default_factory=list)
    description: str = ""

    @field_validator("zone")
    @classmethod
    def _zone(cls, v: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: 'America' is a folder
            close = difflib.get_close_matches(v, _zone_names(), n=1) if len(v) <= 64 else []
            hint = f"; did you mean '{close[0]}'?" if close else ""
            shown = v if len(v) <= 60 else v[:57] + "..."
            raise ValueError(
                f"'{shown}' is not an IANA time zone{hint} (e.g. America/Denver, Europe/London, UTC)"
            ) from None
        return v

    @field_validator("hours")
    @classmethod
    def _hours(cls, v: Any) -> Any:
        if isinstance(v, dict):
            if not v:
                raise ValueError(
                    "no opening hours: the calendar would never open; give days and intervals, e.g. "
                    "{mon-fri: ['08:00-17:00']}, or '24x7'"
                )
            seen: dict[int, list[tuple[time, time]]] = {}
            for key, ranges in v.items():
                if not ranges:
                    raise ValueError(
                        f"'{key}' has no intervals: list one or more 'HH:MM-HH:MM' (e.g. "
                        f"{key}: ['08:00-17:00']), or leave the days out to keep them closed"
                    )
                for day in expand_days(key):
                    for r in ranges:
                        seen.setdefault(day, []).append(parse_time_range(r))
            for day, intervals in seen.items():
                ordered = sorted(intervals)
                for (_, e1), (s2, _) in itertools.pairwise(ordered):
                    if e1 == time(0, 0) or s2 < e1:
                        raise ValueError(f"intervals overlap on {DAY_NAMES[day]}")
        return v

    def weekly(self) -> dict[int, list[tuple[time, time]]] | None:
        if self.hours == "24x7":
            return None
        out: dict[int, list[tuple[time, time]]] = {}
        for key, ranges in self.hours.items():
            for day in expand_days(key):
                out.setdefault(day, []).extend(parse_time_range(r) for r in ranges)
        return {d: sorted(v) for d, v in out.items()}


class RegionSpec(Strict):
    calendar: Name
    description: str = ""


class TargetSpec(Strict):
    """One timer of a level: from its metric's start event until its stop event, within a duration."""

    metric: Metric
    within: DurationText | None = Field(None, description="the duration (for periodic_update: the interval)")
    name: str | None = Field(
        None, description="defaults to the metric; needed when a level has two targets of one metric"
    )
    milestone: str | None = Field(None, description="for metric 'milestone': the milestone's name")
    met_by: list[str] = Field(
        default_factory=list,
        description="other events that also meet this target: "
        "metrics (restoration, resolution, ...), 'escalation', or milestone names",
    )
    calendar: str | None = None
    warn_at: float | None = Field(None, gt=0, lt=1, description="warn at this fraction of the duration")
    description: str = ""

    @model_validator(mode="after")
    def _check(self) -> TargetSpec:
        if self.metric is Metric.MILESTONE and not self.milestone:
            raise ValueError("metric 'milestone' needs 'milestone: <name>'")
        if self.within is None:
            raise ValueError("'within' is required (use 'untimed' for a target tracked without a due time)")
        return self

    @property
    def key(self) -> str:
        return self.name or (
            self.milestone if self.metric is Metric.MILESTONE and self.milestone else self.metric.value
        )


class LevelSpec(Strict):
    id: Name
    name: Name
    aliases: list[Name] = Field(default_factory=list)
    rank: int = Field(ge=1, le=MAX_LEVELS, description="1 is the most severe")
    description: str = ""
    examples: list[str] = Field(default_factory=list)
    calendar: str | None = Field(None, description="calendar for this level's targets (e.g. 24x7 for S1/S2)")
    coverage: str = Field("", description="words for the explain table, e.g. '24x7'")
    targets: list[TargetSpec] = Field(default_factory=list)
    escalation_path: str | None = None
    on_workaround: str | None = Field(None, description="level a successful workaround steps down to")
    staff_only: bool = False
    case_type: str | None = None


class StatusSpec(Strict):
    name: Name
    category: StatusCategory
    description: str = ""
    pauses: Literal["all"] | list[str] = Field(default_factory=list, description="'all' or target names")
    active: bool | None = Field(None, description="counts as activation; default: category 'open'")
    requires_link: str | None = Field(None, description="link kind required, e.g. duplicate_of")
    holds_until: bool = Field(False, description="waits until a set time, then resumes")
    customer_reply: Literal["reopen", "new_case", "ignore"] = Field(
        "reopen",
        description="for solved/closed statuses, what a later customer reply does: reopen (within "
        "lifecycle.reopen_window, else a new related case), new_case (always), ignore",
    )

    @property
    def is_active(self) -> bool:
        return self.active if self.active is not None else self.category is StatusCategory.OPEN


class CloseNoResponse(Strict):
    after: DurationText
    warn_before: DurationText | None = None
    status: str
    calendar: str | None = None
    note: str = "No response from the customer: closing the case as agreed in the support policy."


class MasterCases(Strict):
    levels: list[str] = Field(default_factory=list)
    link_kind: str = "child_of"
    update_every: DurationText


class Lifecycle(Strict):
    reopen_window: DurationText | None = Field(
        None,
        description="a customer reply within this time of closing reopens; later opens a new related case",
    )
    reopen_status: str | None = None
    close_no_response: CloseNoResponse | None = None
    resume_status: str | None = Field(None, description="status an On Hold case returns to at its set time")
    master_cases: MasterCases | None = None
    etr_replaces_updates: bool = False


class ActionSpec(Strict):
    """One thing an escalation level does; exactly one key is set."""

    note: str | None = None
    tag: str | None = None
    field: dict[str, str] | None = None
    assign_group: str | None = None
    add_follower: str | None = None
    raise_level: str | None = Field(None, description="level id to raise the case to")
    notify: list[str] | None = Field(None, description="contact or channel names")

    @field_validator("notify", "field")
    @classmethod
    def _not_empty(cls, v: Any, info: ValidationInfo) -> Any:
        if v is not None and not v:
            what = "contact" if info.field_name == "notify" else "'field name: value'"
            raise ValueError(f"is empty: give at least one {what}")
        return v

    @model_validator(mode="after")
    def _exactly_one(self) -> ActionSpec:
        set_keys = [k for k, v in self.__dict__.items() if v is not None]
        if len(set_keys) != 1:
            raise ValueError(
                "an action sets exactly one of: note, tag, field, assign_group, add_follower, "
                f"raise_level, notify (got {', '.join(set_keys) or 'none'})"
            )
        return self

    @property
    def kind(self) -> str:
        return next(k for k, v in self.__dict__.items() if v is not None)


class EscalationLevelSpec(Strict):
    level: int = Field(ge=1, le=MAX_ESCALATION_LEVEL)
    name: str = ""
    after: DurationText | None = Field(
        None,
        description="time from the path's start; leave out for a level reached only by a customer request",
    )
    actions: list[ActionSpec] = Field(default_factory=list)


class EscalationPathSpec(Strict):
    calendar: str | None = None
    start: Literal["opened", "level_set"] = "opened"
    not_before: DurationText | None = Field(None, description="cannot be escalated before this")
    customer_request: int | None = Field(
        None, ge=1, le=MAX_ESCALATION_LEVEL, description="level a customer-requested escalation jumps to"
    )
    levels: list[EscalationLevelSpec] = Field(min_length=1, max_length=MAX_ESCALATION_LEVEL)
    description: str = ""


class FlagRule(Strict):
    name: Name
    message: str
    levels: list[str] = Field(default_factory=list)
    channels: list[str] = Field(default_factory=list)
    case_types: list[str] = Field(default_factory=list)


class Intake(Strict):
    default_level_by_channel: dict[str, str] = Field(default_factory=dict)
    required_information: list[str] = Field(default_factory=list)
    authorized_requesters_only: bool = False
    flags: list[FlagRule] = Field(default_factory=list)


class CaseTypeSpec(Strict):
    id: Name
    name: str = ""
    levels: list[str]
    default_level: str


class Contact(Strict):
    description: str = ""


class PolicySpec(Strict):
    """A whole policy file."""

    policy: Meta
    meanings: Meanings = Field(default_factory=Meanings)
    level_change: Literal["from_opening", "from_change"] = "from_opening"
    default_calendar: str
    calendars: dict[str, CalendarSpec]
    regions: dict[str, RegionSpec] = Field(default_factory=dict)
    default_region: str | None = None
    levels: list[LevelSpec] = Field(min_length=1, max_length=MAX_LEVELS)
    default_level: str
    case_types: list[CaseTypeSpec] = Field(default_factory=list)
    statuses: list[StatusSpec] = Field(min_length=1)
    lifecycle: Lifecycle = Field(default_factory=Lifecycle)
    escalation_paths: dict[str, EscalationPathSpec] = Field(default_factory=dict)
    default_escalation_path: str | None = None
    intake: Intake = Field(default_factory=Intake)
    contacts: dict[str, Contact] = Field(default_factory=dict)
    milestones: dict[str, str] = Field(
        default_factory=dict,
        description="custom milestones an agent records "
        "on a case (name -> meaning), beyond restoration, temporary_fix and "
        "permanent_fix",
    )

    def duration(self, text: str) -> Duration:
        return parse_duration(
            text, {"immediate": self.meanings.immediate, "continuous": self.meanings.continuous}
        )
