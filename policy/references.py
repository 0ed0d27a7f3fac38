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
from casewarden.policy.model import Metric, PolicySpec, StatusCategory

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

    def duration(
        loc: Loc, text: str | None, *, timed: bool = False, positive: bool = False
    ) -> Duration | None:
        """Check a duration; ``timed``: one timed value (not 'untimed', not a range: only targets
        warn at a range's low end); ``positive``: more than zero."""
        if text is None:
            return None
        try:
            d = spec.duration(text)
        except ValueError as exc:
            problems.append((loc, str(exc)))
            return None
        if timed and d.is_untimed:
            problems.append(
                (loc, f"'{text}': give a duration here, e.g. '4 hours'; 'untimed' is for targets")
            )
            return None
        if timed and (d.warn_seconds is not None or d.warn_days is not None):
            problems.append(
                (loc, f"'{text}': give one duration here; a range ('5 to 10 days') is for targets")
            )
            return None
        if positive and d.seconds == 0 and d.days == 0 and not d.is_untimed:
            problems.append((loc, f"'{text}': must be more than zero"))
            return None
        return d

    def category(loc: Loc, name: str | None, allowed: set[StatusCategory], why: str) -> None:
        st = next((st for st in spec.statuses if st.name == name), None)
        if st is not None and st.category not in allowed:
            words = ", ".join(sorted(c.value for c in allowed))
            problems.append(
                (loc, f"status '{name}' has category {st.category.value}; {why} (allowed: {words})")
            )

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
                where: Loc = ("levels", i, ("id", "name")[j]) if j < 2 else ("levels", i, "aliases", j - 2)
                problems.append(
                    (where, f"'{alias}' already names level '{owner}' (names are compared ignoring case)")
                )
    # trackers spell statuses in any case, so 'Open' and 'open' would be one status
    folded = [st.casefold() for st in statuses]
    for i, dup in _duplicates(folded):
        first = statuses[folded.index(dup)]
        same = "" if first == statuses[i] else f" (as '{first}'; names are compared ignoring case)"
        problems.append((("statuses", i, "name"), f"status '{statuses[i]}' is defined twice{same}"))
    for i, dup in _duplicates([ct.id for ct in spec.case_types]):
        problems.append((("case_types", i, "id"), f"case type '{dup}' is defined twice"))
    for i, dup in _duplicates([f.name for f in spec.intake.flags]):
        problems.append((("intake", "flags", i, "name"), f"flag '{dup}' is defined twice"))

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
        if lv.on_workaround == lv.id:
            problems.append(((*base, "on_workaround"), f"level {lv.id} cannot step down to itself"))
        need((*base, "case_type"), "case type", lv.case_type, {c.id for c in spec.case_types})
        keys = [t.key for t in lv.targets]
        for j, dup in _duplicates(keys):
            problems.append(
                ((*base, "targets", j), f"target '{dup}' appears twice in level {lv.id}; give one a 'name'")
            )
        for j, t in enumerate(lv.targets):
            tloc: Loc = (*base, "targets", j)
            need((*tloc, "calendar"), "calendar", t.calendar, cals)
            within = duration((*tloc, "within"), t.within)
            if t.warn_at is not None and within is not None and within.is_untimed:
                problems.append(((*tloc, "warn_at"), "an untimed target has no due time to warn before"))
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
        if ct.default_level in levels and ct.default_level not in ct.levels:
            problems.append(
                (
                    ("case_types", i, "default_level"),
                    f"level '{ct.default_level}' is not one of this case type's levels "
                    f"(allowed: {', '.join(ct.levels)})",
                )
            )

    pause_allowed = target_keys | {m.value for m in Metric}
    for i, st in enumerate(spec.statuses):
        if isinstance(st.pauses, list):
            for j, name in enumerate(st.pauses):
                need(("statuses", i, "pauses", j), "target", name, pause_allowed)

    lc = spec.lifecycle
    stopped = {StatusCategory.SOLVED, StatusCategory.CLOSED}
    working = set(StatusCategory) - stopped
    duration(("lifecycle", "reopen_window"), lc.reopen_window, timed=True)
    need(("lifecycle", "reopen_status"), "status", lc.reopen_status, status_set)
    category(("lifecycle", "reopen_status"), lc.reopen_status, working, "a reopened case must be open again")
    if lc.reopen_window and not lc.reopen_status:
        problems.append((("lifecycle", "reopen_status"), "a reopen window needs 'reopen_status'"))
    need(("lifecycle", "resume_status"), "status", lc.resume_status, status_set)
    category(("lifecycle", "resume_status"), lc.resume_status, working, "a case resumes to an open status")
    if any(s.holds_until for s in spec.statuses) and not lc.resume_status:
        problems.append(
            (
                ("lifecycle", "resume_status"),
                "a status with holds_until needs lifecycle.resume_status to resume to",
            )
        )
    if lc.close_no_response:
        c = lc.close_no_response
        cloc: Loc = ("lifecycle", "close_no_response")
        need((*cloc, "status"), "status", c.status, status_set)
        category((*cloc, "status"), c.status, stopped, "this rule closes the case")
        need((*cloc, "calendar"), "calendar", c.calendar, cals)
        after = duration((*cloc, "after"), c.after, timed=True, positive=True)
        ahead = duration((*cloc, "warn_before"), c.warn_before, timed=True)
        if after is not None and ahead is not None and _not_shorter(ahead, after):
            problems.append(
                ((*cloc, "warn_before"), f"'{c.warn_before}' must be shorter than 'after' ({c.after})")
            )
    if lc.master_cases:
        for j, lid in enumerate(lc.master_cases.levels):
            need(("lifecycle", "master_cases", "levels", j), "level", lid, levels)
        duration(
            ("lifecycle", "master_cases", "update_every"),
            lc.master_cases.update_every,
            timed=True,
            positive=True,
        )

    need(("default_escalation_path",), "escalation path", spec.default_escalation_path, paths)
    for name, path in spec.escalation_paths.items():
        base = ("escalation_paths", name)
        need((*base, "calendar"), "calendar", path.calendar, cals)
        duration((*base, "not_before"), path.not_before, timed=True)
        numbers = [el.level for el in path.levels]
        if numbers != sorted(set(numbers)):
            problems.append(((*base, "levels"), "escalation levels must be numbered in increasing order"))
        if path.customer_request and numbers == sorted(set(numbers)) and path.customer_request not in numbers:
            problems.append(
                (
                    (*base, "customer_request"),
                    f"level {path.customer_request} is not on this path "
                    f"(allowed: {', '.join(map(str, numbers))})",
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
            duration((*base, "levels", j, "after"), el.after, timed=True)
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
        if spec.case_types:
            for j, ct_id in enumerate(flag.case_types):
                need(
                    ("intake", "flags", i, "case_types", j),
                    "case type",
                    ct_id,
                    {c.id for c in spec.case_types},
                )
    return problems


def _duplicates(names: list[str]) -> list[tuple[int, str]]:
    seen: set[str] = set()
    out = []
    for i, n in enumerate(names):
        if n in seen:
            out.append((i, n))
        seen.add(n)
    return out


def _not_shorter(a: Duration, b: Duration) -> bool:
    """Whether ``a`` is at least as long as ``b``, when the two can be compared (same kind)."""
    if a.kind is DurationKind.BUSINESS_DAYS and b.kind is DurationKind.BUSINESS_DAYS:
        return a.days >= b.days
    if a.kind is DurationKind.ELAPSED and b.kind is DurationKind.ELAPSED and a.business == b.business:
        return a.seconds >= b.seconds
    return False


def _safe(spec: PolicySpec, text: str) -> Duration | None:
    try:
        return spec.duration(text)
    except ValueError:
        return None
