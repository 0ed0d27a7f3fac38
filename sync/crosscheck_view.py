"""The cross-check as tables: one summary row per tracker, then the disagreements, largest first."""

from __future__ import annotations

from collections.abc import Sequence

from casewarden.policy.explain import Table
from casewarden.sync.crosscheck import TrackerCrossCheck
from casewarden.sync.report import fmt_instant, human_duration

#: disagreements listed per tracker; the summary row counts them all
SHOWN = 50


def crosscheck_tables(results: Sequence[TrackerCrossCheck], tolerance: float) -> list[Table]:
    summary = Table(
        "Cross-check with the trackers' own SLA timers",
        ("tracker", "open cases", "compared", "agree", "disagree", "largest difference", "note"),
        tuple(
            (
                r.tracker,
                str(r.cases),
                str(r.compared),
                str(r.agreed),
                str(len(r.disagreements)),
                human_duration(r.largest) if r.largest is not None else "-",
                r.skipped
                or (f"{r.theirs_only} tracker timers have no policy target" if r.theirs_only else ""),
            )
            for r in results
        ),
        (f"differences up to {human_duration(tolerance)} count as agreeing (trackers count in minutes)",),
    )
    tables = [summary]
    for r in results:
        if not r.disagreements:
            continue
        rows = tuple(
            (
                d.case_id,
                d.metric,
                d.source,
                fmt_instant(d.ours),
                fmt_instant(d.theirs),
                ("+" if d.delta > 0 else "") + human_duration(d.delta) if d.delta is not None else "-",
                d.why,
                d.url,
            )
            for d in r.disagreements[:SHOWN]
        )
        notes = (f"{len(r.disagreements) - SHOWN} more not shown",) if len(r.disagreements) > SHOWN else ()
        tables.append(
            Table(
                f"{r.tracker}: where the tracker and casewarden disagree",
                (
                    "case",
                    "metric",
                    "tracker SLA",
                    "casewarden due",
                    "tracker due",
                    "tracker - ours",
                    "why",
                    "url",
                ),
                rows,
                notes,
            )
        )
    return tables
