"""The runtime form of a checked policy: names resolved, durations parsed, calendars built.

Evaluation runs for every case on every cycle, so everything that does not depend on the case is done
once here: lookups by id and alias, pause sets per status, parsed durations, built calendars.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property

import holidays as holidays_pkg

from casewarden.policy.calendar import BusinessCalendar, Closure
from casewarden.policy.durations import Duration
from casewarden.policy.model import (
    ActionSpec,
    CalendarSpec,
    LevelSpec,
    Metric,
    PolicySpec,
    StatusCategory,
    StatusSpec,
    parse_nth_weekday,
    parse_time,
)

ALL = "all"
STOPPED_CATEGORIES = frozenset({StatusCategory.SOLVED, StatusCategory.CLOSED})


@dataclass(frozen=True, slots=True)
class Target:
    key: str
    metric: Metric
    duration: Duration
    calendar: BusinessCalendar | None  # None: the case's region decides
    warn_fraction: float | None
    met_by: frozenset[str]
    milestone: str | None
    description: str


@dataclass(frozen=True)
class EscalationStep:
    level: int
    name: str
    after: Duration | None
    actions: tuple[ActionSpec, ...]

    @cached_property
    def compiled(self) -> tuple[tuple[str, str, str, tuple[str, ...]], ...]:
        """(action id, kind, value, notify targets) per action, worked out once per policy."""
        out = []
        for i, act in enumerate(self.actions):
            kind = act.kind
            targets: tuple[str, ...] = ()
            if kind == "field":
                value = ",".join(f"{k}={v}" for k, v in (act.field or {}).items())
            elif kind == "notify":
                value, targets = "", tuple(act.notify or ())
            else:
                value = str(getattr(act, kind))
            out.append((f"escalation.{i}.{kind}", kind, value, targets))
        return tuple(out)


@dataclass(frozen=True, slots=True)
class EscalationPath:
    name: str
    calendar: BusinessCalendar
    start: str
    not_before: Duration | None
    customer_request: int | None
    steps: tuple[EscalationStep, ...]


@dataclass(frozen=True, slots=True)
class Level:
    id: str
    spec: LevelSpec
    targets: tuple[Target, ...]
    calendar: BusinessCalendar | None
    path: EscalationPath | None


@dataclass(frozen=True, slots=True)
class Status:
    name: str
    category: StatusCategory
    pauses_all: bool
    pauses: frozenset[str]
    active: bool
    holds_until: bool
    requires_link: str | None
    spec: StatusSpec

    @property
    def stopped(self) -> bool:
        return self.category in STOPPED_CATEGORIES

    def pauses_target(self, key: str, metric: str) -> bool:
        return self.pauses_all or key in self.pauses or metric in self.pauses


@dataclass
class Policy:
    """A loaded policy, ready to evaluate cases."""

    spec: PolicySpec
    source: str
    calendars: dict[str, BusinessCalendar]
    levels: dict[str, Level]
    statuses: dict[str, Status]
    paths: dict[str, EscalationPath]
    default_calendar: BusinessCalendar
    _level_keys: dict[str, Level] = field(default_factory=dict)
    _status_keys: dict[str, Status] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.spec.policy.name

    def level(self, name: str) -> Level | None:
        """Find a level by id, name or alias, ignoring case (trackers and people spell them many ways)."""
        lv = self.levels.get(name)
        return lv if lv is not None else self._level_keys.get(name.casefold())

    def status(self, name: str) -> Status | None:
        st = self.statuses.get(name)
        return st if st is not None else self._status_keys.get(name.casefold())

    def region_calendar(self, region: str | None) -> BusinessCalendar | None:
        """The calendar a region's business hours follow; None for an unknown region."""
        if region is None:
            region = self.spec.default_region
            if region is None:
                return self.default_calendar
        spec = self.spec.regions.get(region)
        if spec is None:
            if not self.spec.regions:
                return self.default_calendar
            return None
        return self.calendars[spec.calendar]

    def duration(self, text: str) -> Duration:
        return self.spec.duration(text)

    @cached_property
    def levels_by_rank(self) -> list[Level]:
        return sorted(self.levels.values(), key=lambda lv: lv.spec.rank)


def build_calendar(name: str, spec: CalendarSpec) -> BusinessCalendar:
    h = spec.holidays
    explicit = frozenset(h.dates) if h else frozenset()
    country = h.country if h else None
    subdiv = h.subdivision if h else None

    def holidays_for(year: int) -> Iterable[date]:
        days: set[date] = {d for d in explicit if d.year == year}
        if country:
            days.update(holidays_pkg.country_holidays(country, subdiv=subdiv, years=year).keys())
        return days

    closures = []
    for c in spec.closures:
        if c.every:
            nth, weekday = parse_nth_weekday(c.every)
            closures.append(
                Closure(start=parse_time(c.start), end=parse_time(c.end), nth=nth, weekday=weekday)
            )
        else:
            closures.append(Closure(start=parse_time(c.start), end=parse_time(c.end), on=c.on))
    has_holidays = bool(explicit or country)
    return BusinessCalendar(
        name, spec.zone, spec.weekly(), holidays_for if has_holidays else (), tuple(closures)
    )


def compile_policy(spec: PolicySpec, *, source: str = "<policy>") -> Policy:
    calendars = {name: build_calendar(name, c) for name, c in spec.calendars.items()}
    paths: dict[str, EscalationPath] = {}
    for name, p in spec.escalation_paths.items():
        paths[name] = EscalationPath(
            name=name,
            calendar=calendars[p.calendar or spec.default_calendar],
            start=p.start,
            not_before=spec.duration(p.not_before) if p.not_before else None,
            customer_request=p.customer_request,
            steps=tuple(
                EscalationStep(
                    el.level, el.name, spec.duration(el.after) if el.after else None, tuple(el.actions)
                )
                for el in p.levels
            ),
        )
    levels: dict[str, Level] = {}
    for lv in spec.levels:
        level_cal = calendars[lv.calendar] if lv.calendar else None
        targets = tuple(
            Target(
                key=t.key,
                metric=t.metric,
                duration=spec.duration(t.within or "untimed"),
                calendar=calendars[t.calendar] if t.calendar else level_cal,
                warn_fraction=t.warn_at,
                met_by=frozenset(t.met_by),
                milestone=t.milestone,
                description=t.description,
            )
            for t in lv.targets
        )
        path_name = lv.escalation_path or spec.default_escalation_path
        levels[lv.id] = Level(lv.id, lv, targets, level_cal, paths[path_name] if path_name else None)
    statuses = {
        st.name: Status(
            name=st.name,
            category=st.category,
            pauses_all=st.pauses == ALL,
            pauses=frozenset(st.pauses) if isinstance(st.pauses, list) else frozenset(),
            active=st.is_active,
            holds_until=st.holds_until,
            requires_link=st.requires_link,
            spec=st,
        )
        for st in spec.statuses
    }
    policy = Policy(spec, source, calendars, levels, statuses, paths, calendars[spec.default_calendar])
    for level in levels.values():
        for alias in (level.id, level.spec.name, *level.spec.aliases):
            policy._level_keys.setdefault(alias.casefold(), level)
    for status in statuses.values():
        policy._status_keys.setdefault(status.name.casefold(), status)
    return policy
