"""Cross-reference checks: every name a policy uses must exist.

Kept apart from the models so all broken references in a file are collected in one pass, each with the
path of the field that holds it (the loader turns paths into line and column) and the closest valid
name, since most broken references are typos.
"""

from __future__ import annotations

from collections.abc import Iterable

import holidays as holidays_pkg

from casewarden.policy.durations import Duration, DurationKind
from casewarden.policy.located import Loc, unknown_name
from casewarden.policy.model import Metric, PolicySpec

Problem = tuple[Loc, str]

CUSTOMER_ESCALATION = "customer_escalation"


def _unknown(kind: str, name: str, valid: Iterable[str]) -> str:
    return unknown_name(kind, name, valid)


def check_references(spec: PolicySpec) -> list[Problem]:
    problems: list[Problem] = []
    cals = set(spec.calendars)
    level_ids = [lv.id for lv in spec.levels]
    levels = set(level_ids)
    statuses = [st.name for st in spec.statuses]
    status_set = set(statuses)
    paths = set(spec.escalation_paths)
    contacts = set(spec.contacts)

    def need(loc: Loc, kind: str, name: str | None, valid: set[str]) -> None:
        if name is not None and name not in valid:
            problems.append((loc, _unknown(kind, name, valid)))

    def duration(loc: Loc, text: str | None) -> None:
        if text is None:
            return
        try:
            spec.duration(text)
        except ValueError as exc:
            problems.append((loc, str(exc)))

    need(("default_calendar",), "calendar", spec.default_calendar, cals)
    for name, region in spec.regions.items():
        need(("regions", name, "calendar"), "calendar", region.calendar, cals)
    need(("default_region",), "region", spec.default_region, set(spec.regions))
    need(("default_level",), "level", spec.default_level, levels)

    supported = holidays_pkg.list_supported_countries()
    for name, cal in spec.calendars.items():
        h = cal.holidays
        if h and h.country:
            if h.country not in supported:
                problems.append(
                    (
                        ("calendars", name, "holidays", "country"),
                        _unknown("holiday country", h.country, supported),
                    )
                )
            elif h.subdivision and h.subdivision not in supported[h.country]:
                problems.append(
                    (
                        ("calendars", name, "holidays", "subdivision"),
                        _unknown(f"subdivision of {h.country}", h.subdivision, supported[h.country]),
                    )
                )

    for i, dup in _duplicates(level_ids):
        problems.append((("levels", i, "id"), f"level id '{dup}' is defined twice"))
    seen_alias: dict[str, str] = {}
    for i, lv in enumerate(spec.levels):
        for j, alias in enumerate([lv.id, lv.name, *lv.aliases]):
            owner = seen_alias.setdefault(alias.casefold(), lv.id)
            if owner != lv.id:
                problems.append(
                    (("levels", i, "aliases", max(j - 2, 0)), f"'{alias}' already names level '{owner}'")
                )
    for i, dup in _duplicates(statuses):
        problems.append((("statuses", i, "name"), f"status '{dup}' is defined twice"))

    milestone_names = {CUSTOMER_ESCALATION, *spec.milestones}
    target_keys: set[str] = set()
    for lv in spec.levels:
        for t in lv.targets:
            target_keys.add(t.key)
            if t.metric is Metric.MILESTONE and t.milestone:
                milestone_names.add(t.milestone)
    met_by_allowed = {m.value for m in Metric} | {"escalation"} | milestone_names

    for i, lv in enumerate(spec.levels):
        base: Loc = ("levels", i)
        need((*base, "calendar"), "calendar", lv.calendar, cals)
        need((*base, "escalation_path"), "escalation path", lv.escalation_path, paths)
        need((*base, "on_workaround"), "level", lv.on_workaround, levels)
        if spec.case_types:
            need((*base, "case_type"), "case type", lv.case_type, {c.id for c in spec.case_types})
        keys = [t.key for t in lv.targets]
        for j, dup in _duplicates(keys):
            problems.append(
                ((*base, "targets", j), f"target '{dup}' appears twice in level {lv.id}; give one a 'name'")
            )
        for j, t in enumerate(lv.targets):
            tloc: Loc = (*base, "targets", j)
            need((*tloc, "calendar"), "calendar", t.calendar, cals)
            duration((*tloc, "within"), t.within)
            for k, ev in enumerate(t.met_by):
                need((*tloc, "met_by", k), "event", ev, met_by_allowed)
            if t.metric is Metric.PERIODIC_UPDATE and t.within:
                d = _safe(spec, t.within)
                if d is not None and (d.kind is DurationKind.UNTIMED or (d.seconds == 0 and d.days == 0)):
                    problems.append(((*tloc, "within"), "a periodic update needs a positive interval"))

    for i, ct in enumerate(spec.case_types):
        for j, lid in enumerate(ct.levels):
            need(("case_types", i, "levels", j), "level", lid, levels)
        need(("case_types", i, "default_level"), "level", ct.default_level, levels)

    pause_allowed = target_keys | {m.value for m in Metric}
    for i, st in enumerate(spec.statuses):
        if isinstance(st.pauses, list):
            for j, name in enumerate(st.pauses):
                need(("statuses", i, "pauses", j), "target", name, pause_allowed)

    lc = spec.lifecycle
    duration(("lifecycle", "reopen_window"), lc.reopen_window)
    need(("lifecycle", "reopen_status"), "status", lc.reopen_status, status_set)
    if lc.reopen_window and not lc.reopen_status:
        problems.append((("lifecycle", "reopen_status"), "a reopen window needs 'reopen_status'"))
    need(("lifecycle", "resume_status"), "status", lc.resume_status, status_set)
    if any(s.holds_until for s in spec.statuses) and not lc.resume_status:
        problems.append(
            (
                ("lifecycle", "resume_status"),
                "a status with holds_until needs lifecycle.resume_status to resume to",
            )
        )
    if lc.close_no_response:
        c = lc.close_no_response
        need(("lifecycle", "close_no_response", "status"), "status", c.status, status_set)
        need(("lifecycle", "close_no_response", "calendar"), "calendar", c.calendar, cals)
        duration(("lifecycle", "close_no_response", "after"), c.after)
        duration(("lifecycle", "close_no_response", "warn_before"), c.warn_before)
    if lc.master_cases:
        for j, lid in enumerate(lc.master_cases.levels):
            need(("lifecycle", "master_cases", "levels", j), "level", lid, levels)
        duration(("lifecycle", "master_cases", "update_every"), lc.master_cases.update_every)

    need(("default_escalation_path",), "escalation path", spec.default_escalation_path, paths)
    for name, path in spec.escalation_paths.items():
        base = ("escalation_paths", name)
        need((*base, "calendar"), "calendar", path.calendar, cals)
        duration((*base, "not_before"), path.not_before)
        numbers = [el.level for el in path.levels]
        if numbers != sorted(set(numbers)):
            problems.append(((*base, "levels"), "escalation levels must be numbered in increasing order"))
        if path.customer_request and path.customer_request > max(numbers, default=0):
            problems.append(
                (
                    (*base, "customer_request"),
                    f"level {path.customer_request} is not on this path (it has {numbers})",
                )
            )
        prev = -1
        for j, el in enumerate(path.levels):
            d = _safe(spec, el.after) if el.after else None
            if d is not None and d.kind is DurationKind.ELAPSED and d.seconds < prev:
                problems.append(
                    (
                        (*base, "levels", j, "after"),
                        "each escalation level must come no earlier than the one before",
                    )
                )
            if d is not None:
                prev = d.seconds if d.kind is DurationKind.ELAPSED else prev
            duration((*base, "levels", j, "after"), el.after)
            for k, act in enumerate(el.actions):
                need((*base, "levels", j, "actions", k, "raise_level"), "level", act.raise_level, levels)
                for m, who in enumerate(act.notify or []):
                    need((*base, "levels", j, "actions", k, "notify", m), "contact", who, contacts)

    intake = spec.intake
    for ch, lid in intake.default_level_by_channel.items():
        need(("intake", "default_level_by_channel", ch), "level", lid, levels)
    for i, flag in enumerate(intake.flags):
        for j, lid in enumerate(flag.levels):
            need(("intake", "flags", i, "levels", j), "level", lid, levels)
    return problems


def _duplicates(names: list[str]) -> list[tuple[int, str]]:
    seen: set[str] = set()
    out = []
    for i, n in enumerate(names):
        if n in seen:
            out.append((i, n))
        seen.add(n)
    return out


def _safe(spec: PolicySpec, text: str) -> Duration | None:
    try:
        return spec.duration(text)
    except ValueError:
        return None
