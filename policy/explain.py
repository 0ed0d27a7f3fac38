"""The policy as the tables a support manager would print, and the 'untouched case' due report.

Pure data (titles, columns, rows of strings): the command line decides how to render them, so the same
content serves the terminal, Markdown and JSON.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from casewarden.errors import CaseError
from casewarden.policy.calendar import OutOfRange
from casewarden.policy.case import Case, LevelChange, StatusChange
from casewarden.policy.compiled import Policy
from casewarden.policy.escalation import step_times
from casewarden.policy.evaluate import evaluate_targets
from casewarden.policy.model import ActionSpec, PolicySpec, StatusCategory
from casewarden.policy.timeline import build_timeline


@dataclass(frozen=True)
class Table:
    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    notes: tuple[str, ...] = ()


def explain(policy: Policy) -> list[Table]:
    spec = policy.spec
    metrics: list[str] = []
    for lv in spec.levels:
        for t in lv.targets:
            if t.key not in metrics:
                metrics.append(t.key)
    level_rows = []
    definitions: list[tuple[str, str, str]] = []
    for lv in sorted(spec.levels, key=lambda lv: lv.rank):
        by_key = {t.key: t for t in lv.targets}
        cells = []
        for m in metrics:
            spec_t = by_key.get(m)
            cells.append(
                "-"
                if spec_t is None
                else _within(spec, spec_t.within or "")
                + (f" (warn at {spec_t.warn_at:.0%})" if spec_t.warn_at else "")
            )
        coverage = lv.calendar or ("region's calendar" if spec.regions else spec.default_calendar)
        names = ", ".join([lv.name, *lv.aliases])
        extra = []
        if lv.on_workaround:
            extra.append(f"workaround -> {lv.on_workaround}")
        if lv.staff_only:
            extra.append("staff only")
        if lv.case_type:
            extra.append(f"type {lv.case_type}")
        level_rows.append((lv.id, names, lv.coverage or coverage, *cells, "; ".join(extra)))
        definitions.append((lv.id, lv.description, "; ".join(lv.examples)))
    tables = [
        Table(
            f"Levels of {spec.policy.name} (default {spec.default_level})",
            ("level", "names", "coverage", *metrics, "rules"),
            tuple(level_rows),
            tuple(spec.policy.readings),
        ),
        Table("Level definitions", ("level", "definition", "examples"), tuple(definitions)),
    ]
    cal_rows = []
    for name, cal in spec.calendars.items():
        hol = ""
        if cal.holidays:
            parts = []
            if cal.holidays.country:
                parts.append(
                    cal.holidays.country
                    + (f"-{cal.holidays.subdivision}" if cal.holidays.subdivision else "")
                    + " public holidays"
                )
            if cal.holidays.dates:
                parts.append(", ".join(d.isoformat() for d in cal.holidays.dates))
            hol = "; ".join(parts)
        closures = "; ".join(f"{c.every or c.on} {c.start}-{c.end}" for c in cal.closures)
        hours = (
            "24x7" if cal.hours == "24x7" else "; ".join(f"{k} {', '.join(v)}" for k, v in cal.hours.items())
        )
        used_by = [r for r, spec_r in spec.regions.items() if spec_r.calendar == name]
        cal_rows.append(
            (
                name,
                cal.zone,
                hours,
                hol or "-",
                closures or "-",
                ", ".join(used_by) or ("default" if name == spec.default_calendar else "-"),
            )
        )
    tables.append(
        Table("Calendars", ("calendar", "zone", "hours", "holidays", "closures", "regions"), tuple(cal_rows))
    )
    path_rows = []
    for name, path in spec.escalation_paths.items():
        for el in path.levels:
            acts = "; ".join(f"{a.kind}: {_action_text(a)}" for a in el.actions)
            when = el.after or "customer request only"
            if path.customer_request == el.level and el.after:
                when += " (or at once on customer request)"
            path_rows.append(
                (
                    name,
                    str(el.level),
                    el.name,
                    when,
                    path.calendar or spec.default_calendar,
                    path.not_before or "-",
                    acts or "-",
                )
            )
    if path_rows:
        tables.append(
            Table(
                "Escalation paths",
                ("path", "level", "name", "after", "calendar", "not before", "actions"),
                tuple(path_rows),
            )
        )
    status_rows = []
    for st in spec.statuses:
        effects = []
        if st.pauses:
            effects.append("pauses " + (st.pauses if isinstance(st.pauses, str) else ", ".join(st.pauses)))
        if st.holds_until:
            effects.append("holds until a set time")
        if st.requires_link:
            effects.append(f"needs a {st.requires_link} link")
        if st.is_active:
            effects.append("counts as activation")
        if st.category in (StatusCategory.SOLVED, StatusCategory.CLOSED):
            effects.append("stops all timers")
        status_rows.append((st.name, st.category.value, "; ".join(effects) or "-", st.description))
    tables.append(Table("Statuses", ("status", "category", "effects", "meaning"), tuple(status_rows)))
    rules = _rules(policy)
    if rules:
        tables.append(Table("Lifecycle and intake rules", ("rule", "setting"), tuple(rules)))
    return tables


def _within(spec: PolicySpec, text: str) -> str:
    word = text.strip().lower()
    if word.startswith("immediate"):
        return f"{text} (= {spec.meanings.immediate})"
    if word.startswith("continuous"):
        return f"{text} (= every {spec.meanings.continuous})"
    return text


def _action_text(a: ActionSpec) -> str:
    v = getattr(a, a.kind)
    if isinstance(v, dict):
        return ", ".join(f"{k}={x}" for k, x in v.items())
    if isinstance(v, list):
        return ", ".join(v)
    return str(v)


def _rules(policy: Policy) -> list[tuple[str, str]]:
    spec = policy.spec
    lc, intake = spec.lifecycle, spec.intake
    out: list[tuple[str, str]] = []
    out.append(
        ("meaning of 'immediate' / 'continuous'", f"{spec.meanings.immediate} / {spec.meanings.continuous}")
    )
    out.append(
        (
            "level change",
            "targets recomputed from the opening"
            if spec.level_change == "from_opening"
            else "targets restart at the change",
        )
    )
    if lc.reopen_window:
        out.append(
            (
                "reopen",
                f"customer reply within {lc.reopen_window} of closing -> {lc.reopen_status}; "
                "later -> new related case",
            )
        )
    if lc.close_no_response:
        c = lc.close_no_response
        out.append(
            (
                "close on no response",
                f"after {c.after} waiting on the customer -> {c.status}"
                + (f" (warn {c.warn_before} before)" if c.warn_before else ""),
            )
        )
    if lc.resume_status:
        out.append(("resume from hold", f"at the set time -> {lc.resume_status}"))
    if lc.master_cases:
        out.append(
            (
                "master cases",
                f"levels {', '.join(lc.master_cases.levels)}: update every {lc.master_cases.update_every}",
            )
        )
    if lc.etr_replaces_updates:
        out.append(("estimated time of resolution", "replaces scheduled updates until it passes"))
    for ch, lv in intake.default_level_by_channel.items():
        out.append((f"intake: channel {ch}", f"starts at {lv} until reviewed"))
    if intake.required_information:
        out.append(("intake: required information", ", ".join(intake.required_information)))
    if intake.authorized_requesters_only:
        out.append(("intake: requesters", "designated contacts only"))
    for f in intake.flags:
        scope = " ".join(x for x in (",".join(f.levels), ",".join(f.channels), ",".join(f.case_types)) if x)
        out.append((f"flag: {f.name}", f"{f.message}" + (f" [{scope}]" if scope else "")))
    return out


@dataclass(frozen=True)
class DueTarget:
    name: str
    metric: str
    due: datetime | None
    warn_at: datetime | None


@dataclass(frozen=True)
class DueReport:
    level: str
    region: str | None
    targets: tuple[DueTarget, ...]
    escalations: tuple[tuple[int, datetime], ...]


def due_untouched(policy: Policy, level: str, opened: datetime, region: str | None = None) -> DueReport:
    """When each target and escalation level falls for a case opened at ``opened`` that nobody touches."""
    lv = policy.level(level)
    if lv is None:
        raise CaseError("(due)", f"unknown level '{level}'; levels: {', '.join(policy.levels)}")
    regions = policy.spec.regions
    if region is not None and region not in regions:
        known = f"regions: {', '.join(regions)}" if regions else "this policy defines no regions"
        raise CaseError("(due)", f"unknown region '{region}'; {known}")
    try:
        return _due_untouched(policy, lv.id, opened, region)
    except OutOfRange as exc:
        raise CaseError(
            "(due)", f"cannot work out due times for a case opened {opened.isoformat()}: {exc}"
        ) from None


def _due_untouched(policy: Policy, level: str, opened: datetime, region: str | None) -> DueReport:
    lv = policy.levels[level]
    first = next(
        (s for s in policy.spec.statuses if s.category is StatusCategory.NEW), policy.spec.statuses[0]
    )
    case = Case(
        id="(due)",
        opened_at=opened,
        level_history=(LevelChange(opened, lv.id),),
        status_history=(StatusChange(opened, first.name),),
        region=region,
    )
    tl = build_timeline(policy, case)
    targets = evaluate_targets(policy, tl, opened, None)
    esc: tuple[tuple[int, datetime], ...] = ()
    if lv.path is not None:
        esc = tuple((step.level, at) for step, at in step_times(lv.path, opened))
    return DueReport(
        lv.id, region, tuple(DueTarget(t.name, t.metric, t.due_at, t.warn_at) for t in targets), esc
    )
