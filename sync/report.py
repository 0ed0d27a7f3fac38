"""SLA attainment report from the state store: what a support manager reads once a month.

``build_report`` turns the ``outcomes`` and ``escalations`` tables into plain data with a handful of SQL
aggregations (one scan of ``outcomes`` per figure, no per-case Python loop except over the breaches
themselves), so it stays fast on hundreds of thousands of targets. ``render_report`` prints that data as
terminal tables, Markdown, CSV, JSON or one self-contained HTML page.

The report is a cohort: the cases *opened* in the period. Attainment of the cases opened in March is
what a support manager reports for March, and the figures of a closed period stop moving once its cases
are finished, whereas filtering by due or met instants would split one case over several reports.

Only the state tables are read. They hold case ids, levels, target names and instants, no credential, and
nothing from the deployment's settings is added, so no format can leak a secret. Text that comes from
trackers (case ids, tracker, level and target names) is escaped for each output: HTML-escaped in the page,
stripped of control characters for the terminal, defused against spreadsheet formulas in the CSV.
"""

from __future__ import annotations

import csv
import html
import io
import json
import math
import re
import sys
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal, TextIO

from rich.console import Console
from rich.table import Table as RichTable
from rich.text import Text

from casewarden.policy.explain import Table
from casewarden.sync.render import render_tables
from casewarden.sync.state import StateStore, iso
from casewarden.sync.terminal import make_console

__all__ = [
    "CSV_COLUMNS",
    "Attainment",
    "Breach",
    "Report",
    "RunSummary",
    "build_report",
    "human_duration",
    "render_report",
    "report_as_json",
    "report_tables",
]

ReportFormat = Literal["table", "markdown", "csv", "json", "html"]

#: Worst breaches listed by the terminal/Markdown tables; the other formats carry all of them.
WORST_BREACHES = 20
#: Breach rows in the HTML page: enough to read, small enough to open; CSV and JSON have all of them.
HTML_BREACH_ROWS = 1000


# -- data -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Attainment:
    """One (case level, target) cell. ``pct_met`` is met / (met + breached) in percent: targets still in
    progress have no outcome yet and would drag the figure down, so they are counted apart. ``None`` when
    no target of the cell has finished."""

    level: str
    target: str
    met: int
    breached: int
    in_progress: int
    total: int
    pct_met: float | None


@dataclass(frozen=True)
class Breach:
    """A breached target. ``met_at`` is None while the target is still unmet (overdue and open); then
    ``late_seconds`` is how late it was at the engine's last evaluation of the case. For periodic
    updates, ``due_at`` is the first due instant of the latest run of missed updates, ``met_at`` the
    update that ended it, and ``missed`` how many were missed (0 for other targets)."""

    tracker: str
    case_id: str
    level: str
    target: str
    due_at: datetime
    met_at: datetime | None
    late_seconds: float
    missed: int = 0


@dataclass(frozen=True)
class RunSummary:
    """The sync runs started in the report's period (runs are per deployment, not per tracker), so a
    reader can tell whether the figures rest on a healthy engine."""

    count: int
    by_status: dict[str, int] = field(default_factory=dict)
    last_id: int | None = None
    last_status: str | None = None
    last_mode: str | None = None
    last_started_at: datetime | None = None
    last_finished_at: datetime | None = None


@dataclass(frozen=True)
class Report:
    """Everything one report shows. ``breaches`` is latest due first; ``escalations`` maps an escalation
    level to the number of cases that reached it (a reopened case counts once per level);
    ``breaches_by_day`` lists the UTC dates of ``due_at`` that have breaches, in order (days without any
    are left out; the HTML chart fills them in)."""

    since: datetime | None
    until: datetime
    attainment: list[Attainment]
    breaches: list[Breach]
    escalations: dict[int, int]
    breaches_by_day: list[tuple[date, int]]
    runs: RunSummary
    trackers: list[str]
    cases: int = 0
    notifications: dict[str, int] = field(
        default_factory=dict
    )  # outbox state -> deliveries owed in the period
    given_up: list[tuple[str, str, str, str, str]] = field(
        default_factory=list
    )  # (tracker, key, channel, at, why)

    @property
    def met(self) -> int:
        return sum(a.met for a in self.attainment)

    @property
    def breached(self) -> int:
        return sum(a.breached for a in self.attainment)

    @property
    def in_progress(self) -> int:
        return sum(a.in_progress for a in self.attainment)

    @property
    def targets(self) -> int:
        return sum(a.total for a in self.attainment)

    @property
    def pct_met(self) -> float | None:
        """All levels and targets together."""
        return _pct(self.met, self.breached)


# -- building -------------------------------------------------------------------------------------


def build_report(
    store: StateStore, *, since: datetime | None = None, until: datetime, tracker: str | None = None
) -> Report:
    """The report of the cases opened in [since, until] (both ends included; no ``since``: every case
    opened up to ``until``), optionally of one tracker.

    Why opened: attainment of the cases opened in a period is what a support manager reports monthly,
    and it gives each case to exactly one period. Escalations follow the same cohort (escalations of the
    cases opened in the period, whenever they were reached). Runs have no tracker: their summary covers
    the runs started in the period.

    All queries read one snapshot (a read transaction) so a sync engine writing meanwhile cannot make the
    figures disagree with each other. Instants must carry their UTC offset: a naive one is ambiguous.
    """
    _require_aware(until, "until")
    if since is not None:
        _require_aware(since, "since")
        if since > until:
            raise ValueError(f"since ({since.isoformat()}) is after until ({until.isoformat()})")
    lo, hi = iso(since) if since is not None else "", iso(until)
    where = "opened_at >= ? AND opened_at <= ?" + (" AND tracker = ?" if tracker is not None else "")
    params: tuple[object, ...] = (lo, hi, tracker) if tracker is not None else (lo, hi)
    db = store.db
    own = not db.in_transaction
    if own:
        db.execute("BEGIN")
    try:
        per_tracker = db.execute(
            f"SELECT tracker, COUNT(DISTINCT case_id) FROM outcomes WHERE {where} GROUP BY tracker "
            "ORDER BY tracker",
            params,
        ).fetchall()
        attainment = [
            Attainment(level, target, met, breached, progress, total, _pct(met, breached))
            for level, target, met, breached, progress, total in db.execute(
                "SELECT level, target, SUM(state = 'met'), SUM(state = 'breached'), "
                f"SUM(state IN ('running', 'warning', 'paused')), COUNT(*) FROM outcomes WHERE {where} "
                "GROUP BY level, target",
                params,
            )
        ]
        attainment.sort(key=lambda a: (_natural(a.level), _natural(a.target)))
        # A breached row without due_at cannot say how late it is; the engine never writes one.
        breaches = [
            Breach(
                tr,
                cid,
                level,
                target,
                _instant(due),
                _instant(met) if met else None,
                _late(late, due, met),
                int(missed or 0),
            )
            for tr, cid, level, target, due, met, late, missed in db.execute(
                "SELECT tracker, case_id, level, target, due_at, met_at, late_seconds, missed FROM outcomes "
                f"WHERE {where} AND state = 'breached' AND due_at IS NOT NULL "
                "ORDER BY due_at DESC, tracker, case_id, target",
                params,
            )
        ]
        by_day = [
            (date.fromisoformat(day), n)
            for day, n in db.execute(
                "SELECT substr(due_at, 1, 10) AS day, COUNT(*) FROM outcomes "
                f"WHERE {where} AND state = 'breached' AND due_at IS NOT NULL GROUP BY day ORDER BY day",
                params,
            )
        ]
        # One row per (case, epoch, level): count each case once per level, and only the cohort's cases.
        # The unary + keeps SQLite off the (tracker, opened_at) index for the probe: with it, each probe
        # scanned a whole tracker's outcomes (47 s at 20,000 cases); on the primary key it is one lookup.
        escalations = dict(
            db.execute(
                "SELECT level, COUNT(*) FROM (SELECT DISTINCT e.tracker, e.case_id, e.level FROM escalations e "
                f"WHERE {'e.tracker = ? AND ' if tracker is not None else ''}EXISTS (SELECT 1 FROM outcomes o "
                "WHERE o.tracker = e.tracker AND o.case_id = e.case_id AND +o.opened_at >= ? "
                "AND +o.opened_at <= ?)) GROUP BY level ORDER BY level",
                (tracker, lo, hi) if tracker is not None else (lo, hi),
            ).fetchall()
        )
        runs = _runs(store, lo, hi)
        # notifications owed in the period (queued then): what became of them, and the ones given up
        owed_where = "created_at >= ? AND created_at <= ?" + (
            " AND tracker = ?" if tracker is not None else ""
        )
        notifications = {
            str(status): int(n)
            for status, n in db.execute(
                f"SELECT status, COUNT(*) FROM outbox WHERE {owed_where} GROUP BY status ORDER BY status",
                params,
            )
        }
        given_up = db.execute(
            "SELECT tracker, key, channel, COALESCE(done_at, ''), COALESCE(detail, '') FROM outbox "
            f"WHERE {owed_where} AND status = 'given_up' ORDER BY done_at DESC LIMIT {WORST_BREACHES}",
            params,
        ).fetchall()
    finally:
        if own and db.in_transaction:
            db.execute("COMMIT")
    return Report(
        since=since,
        until=until,
        attainment=attainment,
        breaches=breaches,
        escalations={int(k): int(v) for k, v in escalations.items()},
        breaches_by_day=by_day,
        runs=runs,
        trackers=[t for t, _n in per_tracker],
        cases=sum(n for _t, n in per_tracker),
        notifications=notifications,
        given_up=[tuple(row) for row in given_up],
    )


def _runs(store: StateStore, lo: str, hi: str) -> RunSummary:
    db = store.db
    by_status = dict(
        db.execute(
            "SELECT status, COUNT(*) FROM runs WHERE started_at >= ? AND started_at <= ? "
            "GROUP BY status ORDER BY status",
            (lo, hi),
        ).fetchall()
    )
    last = db.execute(
        "SELECT id, status, mode, started_at, finished_at FROM runs WHERE started_at >= ? AND "
        "started_at <= ? ORDER BY started_at DESC, id DESC LIMIT 1",
        (lo, hi),
    ).fetchone()
    if last is None:
        return RunSummary(0, {str(k): int(v) for k, v in by_status.items()})
    return RunSummary(
        sum(by_status.values()),
        {str(k): int(v) for k, v in by_status.items()},
        int(last[0]),
        last[1],
        last[2],
        _instant(last[3]),
        _instant(last[4]) if last[4] else None,
    )


def _require_aware(t: datetime, name: str) -> None:
    if t.tzinfo is None or t.utcoffset() is None:
        raise ValueError(f"{name} must carry its UTC offset (got the naive {t.isoformat()})")


def _instant(s: str) -> datetime:
    """Stored instants are ``iso()`` text ('...Z'); fromisoformat reads them in C, fast enough to turn
    every breach of a large store into datetimes."""
    t = datetime.fromisoformat(s)
    return t if t.tzinfo is not None else t.replace(tzinfo=UTC)


def _late(late: float | None, due: str, met: str | None) -> float:
    if late is not None:
        return float(late)
    return max(0.0, (_instant(met) - _instant(due)).total_seconds()) if met else 0.0


def _pct(met: int, breached: int) -> float | None:
    return None if met + breached == 0 else 100.0 * met / (met + breached)


def _natural(s: str) -> tuple[tuple[int, int | str], ...]:
    """P2 before P10, sev1 before sev2: level names usually carry a rank number."""
    return tuple((0, int(p)) if p.isdigit() else (1, p.lower()) for p in re.split(r"(\d+)", s) if p)


# -- shared formatting ----------------------------------------------------------------------------


def human_duration(seconds: float) -> str:
    """'3 h 20 min', '2 d 4 h', '45 s': the two largest units, enough to judge how late a case was."""
    total = round(abs(seconds))
    sign = "-" if seconds < 0 and total else ""
    parts: list[str] = []
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60), ("s", 1)):
        n, total = divmod(total, size)
        if parts:
            if n:
                parts.append(f"{n} {unit}")
            break
        if n:
            parts.append(f"{n} {unit}")
    return sign + (" ".join(parts) or "0 s")


def _fmt_pct(p: float | None) -> str:
    return "–" if p is None else f"{p:.1f}%"


def fmt_instant(t: datetime | None) -> str:
    return "–" if t is None else t.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _period_text(report: Report) -> str:
    start = "the beginning" if report.since is None else fmt_instant(report.since)
    return f"cases opened from {start} to {fmt_instant(report.until)}"


def _runs_text(runs: RunSummary) -> str:
    if runs.count == 0:
        return "no run in the period"
    statuses = ", ".join(f"{n} {s}" for s, n in runs.by_status.items())
    plural = "" if runs.count == 1 else "s"
    return (
        f"{runs.count} run{plural} ({statuses}); last #{runs.last_id} {runs.last_status} "
        f"({runs.last_mode}), started {fmt_instant(runs.last_started_at)}"
    )


def _notifications_text(report: Report) -> str:
    """Deliveries owed in the period, by what became of them (one per notification and channel)."""
    n = report.notifications
    if not n:
        return "none owed in the period"
    parts = [
        (n.get("done", 0), "delivered"),
        (n.get("given_up", 0), "given up"),
        (n.get("held", 0), "held over the cap (run --yes)"),
        (n.get("failed", 0) + n.get("queued", 0) + n.get("pending", 0), "waiting to be sent or tried again"),
        (n.get("adopted", 0), "held back by adoption"),
    ]
    return ", ".join(f"{count} {label}" for count, label in parts if count)


def _late_text(b: Breach) -> str:
    """'3 h 30 min', and for periodic updates how many were missed: '3 h 30 min, 3 missed'."""
    late = human_duration(b.late_seconds)
    return f"{late}, {b.missed} missed" if b.missed else late


def _worst(report: Report, n: int = WORST_BREACHES) -> list[Breach]:
    return sorted(report.breaches, key=lambda b: (-b.late_seconds, -b.due_at.timestamp()))[:n]


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _printable(s: str) -> str:
    """Terminal output: a case id carrying an escape sequence must not drive the reader's terminal."""
    s = _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", s)
    return "".join(c if unicodedata.category(c) not in ("Cf", "Co") else f"\\u{ord(c):04x}" for c in s)


# -- tables (terminal, Markdown) -------------------------------------------------------------------


def report_tables(report: Report, worst: int = WORST_BREACHES) -> list[Table]:
    """The report as plain tables (``policy.explain.Table``): terminal and Markdown share them."""
    p = _printable
    summary = Table(
        "SLA report",
        _SUMMARY_COLUMNS,
        (
            ("period", _period_text(report)),
            ("trackers", p(", ".join(report.trackers)) or "–"),
            ("cases", str(report.cases)),
            (
                "targets",
                f"{report.targets}: {report.met} met, {report.breached} breached, "
                f"{report.in_progress} in progress",
            ),
            ("% met", _fmt_pct(report.pct_met)),
            ("runs", _runs_text(report.runs)),
            ("notifications", _notifications_text(report)),
            *(
                ("given up", p(f"{key} via {channel} at {at}: {why}"))
                for _t, key, channel, at, why in report.given_up
            ),
        ),
    )
    rows = [
        (
            p(a.level),
            p(a.target),
            str(a.met),
            str(a.breached),
            str(a.in_progress),
            str(a.total),
            _fmt_pct(a.pct_met),
        )
        for a in report.attainment
    ]
    if len(report.attainment) > 1:
        rows.append(
            (
                "all",
                "all",
                str(report.met),
                str(report.breached),
                str(report.in_progress),
                str(report.targets),
                _fmt_pct(report.pct_met),
            )
        )
    attainment = Table(
        "Attainment by level and target",
        ("level", "target", "met", "breached", "in progress", "total", "% met"),
        tuple(rows),
        (
            "% met = met / (met + breached); running, warning and paused targets are in "
            "progress and not counted",
        )
        if rows
        else ("no case opened in the period",),
    )
    escalations = Table(
        "Escalations reached",
        ("escalation level", "cases"),
        tuple((str(lv), str(n)) for lv, n in report.escalations.items()),
        () if report.escalations else ("no escalation",),
    )
    listed = _worst(report, worst)
    breaches = Table(
        f"The {len(listed)} worst breaches of {len(report.breaches)}" if listed else "Worst breaches",
        ("tracker", "case", "level", "target", "due", "met", "late"),
        tuple(
            (
                p(b.tracker),
                p(b.case_id),
                p(b.level),
                p(b.target),
                fmt_instant(b.due_at),
                fmt_instant(b.met_at) if b.met_at else "not yet",
                _late_text(b),
            )
            for b in listed
        ),
        (
            "late: met minus due; for a target not met yet, as of the last evaluation",
            "periodic updates: due is the first update missed in a row, met the update that ended the row",
        )
        if listed
        else ("no breach",),
    )
    return [summary, attainment, escalations, breaches]


_SUMMARY_COLUMNS = ("figure", "value")
_NUMERIC = re.compile(r"^(–|-?\d+(\.\d+)?%?)$")


def _print_tables(tables: Sequence[Table], console: Console) -> None:
    """Rich tables with numbers right-aligned; cells are ``Text`` so tracker data is never markup."""
    for t in tables:
        if not t.rows:  # an empty grid says less than its note
            console.print(Text(t.title, style="bold"))
            for n in t.notes:
                console.print(Text(f"  • {n}", style="dim"))
            console.print()
            continue
        rt = RichTable(
            title=Text(t.title),
            title_justify="left",
            show_header=t.columns != _SUMMARY_COLUMNS,
            title_style="bold",
        )
        for i, c in enumerate(t.columns):
            numeric = bool(t.rows) and all(_NUMERIC.match(r[i]) for r in t.rows)
            rt.add_column(Text(c), justify="right" if numeric else "left", overflow="fold")
        for row in t.rows:
            style = "bold" if row[:2] == ("all", "all") else ""
            rt.add_row(*(Text(cell, style=style) for cell in row))
        console.print(rt)
        for n in t.notes:
            console.print(Text(f"  • {n}", style="dim"))
        console.print()


# -- CSV --------------------------------------------------------------------------------------------

#: One header for every row; ``section`` says which columns a row fills (the others are empty):
#: attainment -> level, target, met, breached, in_progress, total, pct_met (percent, 2 decimals)
#: escalation -> escalation_level, cases
#: breaches_by_day -> day, breaches
#: breach -> tracker, case_id, level, target, due_at, met_at, late_seconds (instants ISO-8601 with offset),
#:           missed (periodic updates missed; 0 for other targets)
CSV_COLUMNS = (
    "section",
    "level",
    "target",
    "met",
    "breached",
    "in_progress",
    "total",
    "pct_met",
    "escalation_level",
    "cases",
    "day",
    "breaches",
    "tracker",
    "case_id",
    "due_at",
    "met_at",
    "late_seconds",
    "missed",
)

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(s: str) -> str:
    """Spreadsheets run a cell starting with = + - @ as a formula: a case id like '=HYPERLINK(...)' is
    prefixed with a quote, as OWASP advises. Only text from trackers goes through here."""
    return "'" + s if s.startswith(_FORMULA_START) else s


def report_as_csv(report: Report) -> str:
    """One valid CSV (a single header, so any CSV reader or spreadsheet filter works) rather than several
    tables glued by blank lines, which readers reject or misparse."""
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=CSV_COLUMNS, lineterminator="\n")
    w.writeheader()
    for a in report.attainment:
        w.writerow(
            {
                "section": "attainment",
                "level": _cell(a.level),
                "target": _cell(a.target),
                "met": a.met,
                "breached": a.breached,
                "in_progress": a.in_progress,
                "total": a.total,
                "pct_met": "" if a.pct_met is None else f"{a.pct_met:.2f}",
            }
        )
    for lv, n in report.escalations.items():
        w.writerow({"section": "escalation", "escalation_level": lv, "cases": n})
    for day, n in report.breaches_by_day:
        w.writerow({"section": "breaches_by_day", "day": day.isoformat(), "breaches": n})
    for b in report.breaches:
        w.writerow(
            {
                "section": "breach",
                "tracker": _cell(b.tracker),
                "case_id": _cell(b.case_id),
                "level": _cell(b.level),
                "target": _cell(b.target),
                "due_at": b.due_at.isoformat(),
                "met_at": b.met_at.isoformat() if b.met_at else "",
                "late_seconds": f"{b.late_seconds:.3f}",
                "missed": b.missed,
            }
        )
    return buf.getvalue()


# -- JSON -------------------------------------------------------------------------------------------


def _iso(t: datetime | None) -> str | None:
    return None if t is None else t.isoformat()


def report_as_json(report: Report) -> dict[str, Any]:
    """Everything in the report; instants ISO-8601 with their offset, escalation levels as objects
    (JSON keys would have to be strings)."""
    r = report.runs
    return {
        "since": _iso(report.since),
        "until": _iso(report.until),
        "trackers": report.trackers,
        "cases": report.cases,
        "totals": {
            "targets": report.targets,
            "met": report.met,
            "breached": report.breached,
            "in_progress": report.in_progress,
            "pct_met": report.pct_met,
        },
        "attainment": [
            {
                "level": a.level,
                "target": a.target,
                "met": a.met,
                "breached": a.breached,
                "in_progress": a.in_progress,
                "total": a.total,
                "pct_met": a.pct_met,
            }
            for a in report.attainment
        ],
        "escalations": [{"level": lv, "cases": n} for lv, n in report.escalations.items()],
        "breaches_by_day": [{"day": d.isoformat(), "breaches": n} for d, n in report.breaches_by_day],
        "breaches": [
            {
                "tracker": b.tracker,
                "case_id": b.case_id,
                "level": b.level,
                "target": b.target,
                "due_at": _iso(b.due_at),
                "met_at": _iso(b.met_at),
                "late_seconds": b.late_seconds,
                "missed": b.missed,
            }
            for b in report.breaches
        ],
        "runs": {
            "count": r.count,
            "by_status": r.by_status,
            "last_id": r.last_id,
            "last_status": r.last_status,
            "last_mode": r.last_mode,
            "last_started_at": _iso(r.last_started_at),
            "last_finished_at": _iso(r.last_finished_at),
        },
        "notifications": {
            "by_status": report.notifications,
            "given_up": [
                {"tracker": t, "key": key, "channel": channel, "at": at, "why": why}
                for t, key, channel, at, why in report.given_up
            ],
        },
    }


# -- HTML -------------------------------------------------------------------------------------------

_PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#7A7A7A")  # Okabe–Ito
_BREACH_COLOUR = "#D55E00"
_ESC_COLOUR = "#6B5BD2"

_CSS = """
:root{color-scheme:light;--ink:#1f2933;--muted:#5f6b7a;--line:#e3e7ec;--bg:#f4f6f9;--card:#fff;
--good:#16794a;--bad:#b4400b}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--ink);
font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
main{max-width:1060px;margin:0 auto;padding:36px 24px 56px}
h1{font-size:28px;line-height:1.2;margin:0 0 6px;letter-spacing:-.01em}
h2{font-size:17px;margin:0 0 4px}
.sub{color:var(--muted);margin:0}
.cap{color:var(--muted);font-size:13px;margin:0 0 12px}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(160px,1fr));gap:12px;margin:24px 0 8px}
.card{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:14px 16px}
.card .k{color:var(--muted);font-size:13px}
.card .v{font-size:26px;font-weight:650;font-variant-numeric:tabular-nums;line-height:1.3}
.card .v.good{color:var(--good)}.card .v.bad{color:var(--bad)}
.card .s{color:var(--muted);font-size:12px}
.panel{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:18px 20px;margin:16px 0}
.grid{display:grid;grid-template-columns:minmax(0,2fr) minmax(0,1fr);gap:16px}
.grid .panel{margin:0}
.below{margin-top:18px}
@media (max-width:820px){.grid{grid-template-columns:minmax(0,1fr)}}
svg{display:block;width:100%;height:auto;overflow:visible}
svg text{font-family:inherit;font-size:11px;fill:#5f6b7a}
svg .axis{stroke:#9aa5b1;stroke-width:1}
svg .grid-line{stroke:#e3e7ec;stroke-width:1}
svg .val{fill:#1f2933;font-size:10.5px;font-weight:600}
svg .lbl{fill:#1f2933;font-size:12px}
svg .none{fill:#9aa5b1;font-style:italic}
.legend{display:flex;flex-wrap:wrap;gap:6px 18px;margin-top:10px;font-size:13px;color:var(--muted)}
.legend i{display:inline-block;width:11px;height:11px;border-radius:3px;margin-right:6px;vertical-align:-1px}
.wrap{overflow-x:auto}
table{border-collapse:collapse;width:100%;font-size:14px}
th,td{padding:6px 10px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
th{font-weight:600;color:var(--muted);font-size:12px;text-transform:uppercase;letter-spacing:.04em;
background:#f9fafb;white-space:nowrap}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
tbody tr:nth-child(even){background:#fafbfc}
tr.all td{font-weight:650;border-top:2px solid var(--line)}
code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:13px;word-break:break-all}
.badge{display:inline-block;padding:0 7px;border-radius:999px;font-size:12px;background:#fde9df;color:#9a3412}
.empty{color:var(--muted);font-style:italic;padding:12px 0}
footer{color:var(--muted);font-size:13px;margin-top:28px}
@media print{body{background:#fff}.panel,.card{break-inside:avoid}main{padding:0}}
"""


def _e(value: object) -> str:
    """Every value that reaches the page goes through here: case ids and names come from trackers."""
    return html.escape(str(value), quote=True)


def _f(x: float) -> str:
    return f"{x:.1f}"


def _nice_step(top: float, ticks: int = 4) -> float:
    """A 1-2-5 step so the axis reads 0, 5, 10, 15 rather than 0, 3.75, 7.5."""
    raw = max(top, 1) / ticks
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 5, 10) if m * mag >= raw)
    return max(1.0, step)


def _svg_open(width: int, height: int, label: str) -> str:
    return (
        f'<svg viewBox="0 0 {width} {height}" role="img" aria-label="{_e(label)}" '
        f'xmlns="http://www.w3.org/2000/svg">'
    )


def _svg_empty(width: int, height: int, label: str, message: str) -> str:
    return (
        _svg_open(width, height, label) + f'<rect x="0.5" y="0.5" width="{width - 1}" '
        f'height="{height - 1}" rx="8" fill="#fafbfc" stroke="#e3e7ec"/>'
        f'<text class="none" x="{width / 2}" y="{height / 2}" '
        f'text-anchor="middle" dominant-baseline="middle">{_e(message)}</text></svg>'
    )


def _attainment_chart(report: Report) -> tuple[str, list[str]]:
    """Grouped bars: one group per level, one bar per target, height = % met. Returns (svg, targets)."""
    width, height, left, right, top, bottom = 760, 290, 46, 10, 18, 30
    label = "Percent of targets met, by level and target"
    targets = sorted({a.target for a in report.attainment}, key=_natural)
    if not any(a.pct_met is not None for a in report.attainment):
        return _svg_empty(width, 120, label, "No finished target in this period"), targets
    colour = {t: _PALETTE[i % len(_PALETTE)] for i, t in enumerate(targets)}
    levels: dict[str, list[Attainment]] = {}
    for a in report.attainment:
        levels.setdefault(a.level, []).append(a)
    pw, ph = width - left - right, height - top - bottom
    base = top + ph
    out = [_svg_open(width, height, label)]
    for pct in (0, 25, 50, 75, 100):
        y = base - ph * pct / 100
        out.append(
            f'<line class="{"axis" if pct == 0 else "grid-line"}" x1="{left}" x2="{width - right}" '
            f'y1="{_f(y)}" y2="{_f(y)}"/><text x="{left - 8}" y="{_f(y)}" text-anchor="end" '
            f'dominant-baseline="middle">{pct}%</text>'
        )
    group_w = pw / len(levels)
    slots = max(len(v) for v in levels.values())
    bar_w = min(46.0, group_w * 0.78 / slots)
    for g, (level, cells) in enumerate(levels.items()):
        cx = left + group_w * (g + 0.5)
        x0 = cx - bar_w * len(cells) / 2
        for i, a in enumerate(cells):
            x = x0 + i * bar_w
            tip = (
                f"{a.level} · {a.target}: {_fmt_pct(a.pct_met)} met ({a.met} met, {a.breached} breached, "
                f"{a.in_progress} in progress)"
            )
            if a.pct_met is None:
                out.append(
                    f'<g><title>{_e(tip)}</title><rect x="{_f(x + 1)}" y="{_f(base - 3)}" '
                    f'width="{_f(bar_w - 2)}" height="3" fill="#cbd2d9"/></g>'
                )
                continue
            h = ph * a.pct_met / 100
            out.append(
                f'<g><title>{_e(tip)}</title><rect x="{_f(x + 1)}" y="{_f(base - h)}" '
                f'width="{_f(bar_w - 2)}" height="{_f(h)}" rx="2" fill="{colour[a.target]}"/>'
            )
            if bar_w >= 22:
                out.append(
                    f'<text class="val" x="{_f(x + bar_w / 2)}" y="{_f(base - h - 4)}" '
                    f'text-anchor="middle">{a.pct_met:.0f}%</text>'
                )
            out.append("</g>")
        out.append(f'<text class="lbl" x="{_f(cx)}" y="{base + 18}" text-anchor="middle">{_e(level)}</text>')
    out.append("</svg>")
    return "".join(out), targets


def _time_buckets(days: Sequence[tuple[date, int]]) -> tuple[str, list[tuple[date, int]]]:
    """Every day between the first and last breach (zeros included, so gaps show as gaps); weeks beyond
    three months and months beyond two years, so the bars stay wide enough to read."""
    if not days:
        return "day", []
    first, last = days[0][0], days[-1][0]
    span = (last - first).days + 1
    unit = "day" if span <= 92 else "week" if span <= 731 else "month"

    def key(d: date) -> date:
        return d if unit == "day" else d - timedelta(days=d.weekday()) if unit == "week" else d.replace(day=1)

    def step(d: date) -> date:
        if unit == "month":
            return date(d.year + d.month // 12, d.month % 12 + 1, 1)
        return d + timedelta(days=1 if unit == "day" else 7)

    counts: dict[date, int] = {}
    for d, n in days:
        counts[key(d)] = counts.get(key(d), 0) + n
    out, d = [], key(first)
    while d <= key(last):
        out.append((d, counts.get(d, 0)))
        d = step(d)
    return unit, out


def _breaches_chart(report: Report) -> tuple[str, str]:
    width, height, left, right, top, bottom = 600, 230, 36, 6, 12, 26
    label = "Breaches over time, by due date"
    unit, buckets = _time_buckets(report.breaches_by_day)
    if not buckets:
        return _svg_empty(width, 110, label, "No breach in this period"), unit
    pw, ph = width - left - right, height - top - bottom
    base = top + ph
    step = _nice_step(max(n for _d, n in buckets))
    ymax = step * math.ceil(max(n for _d, n in buckets) / step)
    out = [_svg_open(width, height, label)]
    tick = 0.0
    while tick <= ymax:
        y = base - ph * tick / ymax
        out.append(
            f'<line class="{"axis" if tick == 0 else "grid-line"}" x1="{left}" x2="{width - right}" '
            f'y1="{_f(y)}" y2="{_f(y)}"/><text x="{left - 8}" y="{_f(y)}" text-anchor="end" '
            f'dominant-baseline="middle">{tick:g}</text>'
        )
        tick += step
    slot = pw / len(buckets)
    gap = min(slot * 0.2, 6)
    every = max(1, math.ceil(len(buckets) / 7))
    fmt = "%b %Y" if unit == "month" else "%d %b"
    for i, (d, n) in enumerate(buckets):
        x = left + i * slot
        h = ph * n / ymax
        when = (
            d.strftime("%Y-%m")
            if unit == "month"
            else (f"week of {d.isoformat()}" if unit == "week" else d.isoformat())
        )
        out.append(
            f"<g><title>{_e(f'{when}: {n} breach' + ('' if n == 1 else 'es'))}</title>"
            f'<rect x="{_f(x + gap / 2)}" y="{_f(base - h)}" width="{_f(max(slot - gap, 1))}" '
            f'height="{_f(h)}" rx="1.5" fill="{_BREACH_COLOUR}"/></g>'
        )
        if i % every == 0:
            out.append(
                f'<text x="{_f(x + slot / 2)}" y="{base + 16}" text-anchor="middle">'
                f"{_e(d.strftime(fmt))}</text>"
            )
    out.append("</svg>")
    return "".join(out), unit


def _escalations_chart(report: Report) -> str:
    label = "Cases that reached each escalation level"
    if not report.escalations:
        return _svg_empty(300, 110, label, "No escalation in this period")
    row, left, width = 30, 64, 300
    height = row * len(report.escalations) + 8
    top_n = max(report.escalations.values())
    out = [_svg_open(width, height, label)]
    for i, (lv, n) in enumerate(report.escalations.items()):
        y = 4 + i * row
        w = (width - left - 50) * n / top_n if top_n else 0
        out.append(
            f"<g><title>{_e(f'level {lv}: {n} cases')}</title>"
            f'<text class="lbl" x="0" y="{y + 11}" dominant-baseline="middle">Level {_e(lv)}</text>'
            f'<rect x="{left}" y="{y + 2}" width="{_f(max(w, 2))}" height="{row - 10}" rx="3" '
            f'fill="{_ESC_COLOUR}"/><text class="val" x="{_f(left + max(w, 2) + 6)}" y="{y + 11}" '
            f'dominant-baseline="middle">{n}</text></g>'
        )
    out.append("</svg>")
    return "".join(out)


def _html_table(
    columns: Sequence[tuple[str, bool]],
    rows: Sequence[Sequence[str]],
    empty: str,
    row_class: Sequence[str] = (),
) -> str:
    """columns: (name, numeric); cells are already-escaped HTML."""
    if not rows:
        return f'<p class="empty">{_e(empty)}</p>'
    head = "".join(f"<th{' class=n' if num else ''}>{_e(c)}</th>" for c, num in columns)
    body = []
    for i, r in enumerate(rows):
        cls = f' class="{row_class[i]}"' if i < len(row_class) and row_class[i] else ""
        body.append(
            f"<tr{cls}>"
            + "".join(
                f"<td{' class=n' if num else ''}>{cell}</td>"
                for (_c, num), cell in zip(columns, r, strict=True)
            )
            + "</tr>"
        )
    return (
        f'<div class="wrap"><table><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table></div>'
    )


def report_as_html(report: Report, max_breaches: int = HTML_BREACH_ROWS) -> str:
    """One self-contained page: inline CSS and SVG, no script, font or request to the network (a CSP
    meta tag forbids them, a second line of defence behind escaping every tracker-supplied value)."""
    chart, targets = _attainment_chart(report)
    legend = "".join(
        f'<span><i style="background:{_PALETTE[i % len(_PALETTE)]}"></i>{_e(t)}</span>'
        for i, t in enumerate(targets)
    )
    time_chart, unit = _breaches_chart(report)
    pct = report.pct_met
    cards = [
        ("Cases opened", _e(report.cases), "", _e(", ".join(report.trackers) or "no tracker")),
        (
            "Targets met",
            _e(_fmt_pct(pct)),
            "" if pct is None else ("good" if pct >= 95 else "bad" if pct < 80 else ""),
            _e(f"{report.met} of {report.met + report.breached} finished"),
        ),
        (
            "Breached",
            _e(report.breached),
            "bad" if report.breached else "",
            _e(f"{sum(1 for b in report.breaches if b.met_at is None)} still open"),
        ),
        ("In progress", _e(report.in_progress), "", "running, warning or paused"),
        (
            "Notifications",
            _e(report.notifications.get("done", 0)),
            "bad" if report.notifications.get("given_up") else "",
            _e(_notifications_text(report)),
        ),
        (
            "Sync runs",
            _e(report.runs.count),
            "",
            _e(
                f"last {report.runs.last_status} {fmt_instant(report.runs.last_started_at)}"
                if report.runs.count
                else "none in the period"
            ),
        ),
    ]
    card_html = "".join(
        f'<div class="card"><div class="k">{k}</div><div class="v {cls}">{v}</div>'
        f'<div class="s">{s}</div></div>'
        for k, v, cls, s in cards
    )
    att_rows = [
        [
            _e(a.level),
            _e(a.target),
            _e(a.met),
            _e(a.breached),
            _e(a.in_progress),
            _e(a.total),
            _e(_fmt_pct(a.pct_met)),
        ]
        for a in report.attainment
    ]
    att_class = [""] * len(att_rows)
    if len(att_rows) > 1:
        att_rows.append(
            [
                "All",
                "all",
                _e(report.met),
                _e(report.breached),
                _e(report.in_progress),
                _e(report.targets),
                _e(_fmt_pct(pct)),
            ]
        )
        att_class.append("all")
    att_table = _html_table(
        (
            ("level", False),
            ("target", False),
            ("met", True),
            ("breached", True),
            ("in progress", True),
            ("total", True),
            ("% met", True),
        ),
        att_rows,
        "No case opened in this period.",
        att_class,
    )
    shown = report.breaches[:max_breaches]
    br_rows = [
        [
            _e(b.tracker),
            f"<code>{_e(b.case_id)}</code>",
            _e(b.level),
            _e(b.target),
            _e(fmt_instant(b.due_at)),
            _e(fmt_instant(b.met_at)) if b.met_at else '<span class="badge">not met</span>',
            f'<span title="{_e(f"{b.late_seconds:.0f} s")}">{_e(_late_text(b))}</span>',
        ]
        for b in shown
    ]
    br_table = _html_table(
        (
            ("tracker", False),
            ("case", False),
            ("level", False),
            ("target", False),
            ("due", False),
            ("met", False),
            ("late", True),
        ),
        br_rows,
        "No breach in this period.",
    )
    more = (
        f'<p class="cap">Showing the {len(shown)} latest of {len(report.breaches)} breaches; the CSV '
        "and JSON formats list all of them.</p>"
        if len(shown) < len(report.breaches)
        else ""
    )
    period = _period_text(report)
    title = f"SLA report: {period}"
    return "".join(
        (
            '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width,initial-scale=1">'
            '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
            "style-src 'unsafe-inline'; img-src data:\">"
            f"<title>{_e(title)}</title><style>{_CSS}</style></head><body><main>",
            f'<header><h1>SLA attainment</h1><p class="sub">{_e(period[:1].upper() + period[1:])}'
            f"{_e(' · ' + ', '.join(report.trackers)) if report.trackers else ''}</p></header>",
            f'<section class="cards">{card_html}</section>',
            '<section class="panel"><h2>Targets met by level</h2><p class="cap">Percent of finished targets met '
            "(met / (met + breached)), one bar per target within each level; hover a bar for the counts.</p>"
            f'{chart}<div class="legend">{legend}</div><div class="below">{att_table}</div></section>',
            '<div class="grid"><section class="panel"><h2>Breaches over time</h2><p class="cap">Breached targets '
            f"per {_e(unit)}, by the UTC date they fell due.</p>{time_chart}</section>",
            '<section class="panel"><h2>Escalations reached</h2><p class="cap">Cases that reached each '
            f"escalation level.</p>{_escalations_chart(report)}</section></div>",
            f'<section class="panel"><h2>Breaches</h2><p class="cap">Latest due first. Late: met minus due, or '
            "as of the last evaluation for a target not met yet. Periodic updates: due is the first update "
            "missed in a row, met the update that ended the row, and how many were missed."
            f"</p>{more}{br_table}</section>",
            f"<footer>Generated by casewarden from the state store. Runs: {_e(_runs_text(report.runs))}."
            "</footer>",
            "</main></body></html>\n",
        )
    )


# -- entry point ------------------------------------------------------------------------------------


def render_report(
    report: Report, fmt: ReportFormat = "table", out: TextIO | None = None, console: Console | None = None
) -> None:
    """Print ``report`` as ``fmt``. Text formats (csv, json, html) are written verbatim to ``out``, else
    to the console's file, else stdout: they are files, so no rich styling or wrapping may touch them.
    The table and markdown formats print on ``console`` (or a console on ``out``)."""
    if fmt in ("table", "markdown"):
        con = console or (make_console(file=out) if out is not None else make_console())
        tables = report_tables(report)
        if fmt == "table":
            _print_tables(tables, con)
        else:
            render_tables(tables, "markdown", con)
        return
    if fmt == "csv":
        text = report_as_csv(report)
    elif fmt == "json":
        text = json.dumps(report_as_json(report), indent=2, ensure_ascii=False) + "\n"
    elif fmt == "html":
        text = report_as_html(report)
    else:
        raise ValueError(f"unknown report format '{fmt}'; formats: table, markdown, csv, json, html")
    target = out if out is not None else (console.file if console is not None else sys.stdout)
    target.write(text)
    target.flush()
