"""The SLA report against a real SQLite state store filled through the store's own write methods.

The fixture is small enough to work out every figure by hand (see ``_fill``), so the assertions are the
numbers a support manager would expect, not numbers read back from the code under test.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import re
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from rich.console import Console

from casewarden.sync.report import (
    CSV_COLUMNS,
    Attainment,
    Report,
    _time_buckets,
    build_report,
    human_duration,
    render_report,
)
from casewarden.sync.state import StateStore, iso

MARCH = datetime(2024, 3, 1, tzinfo=UTC)
END_OF_MARCH = datetime(2024, 3, 31, 23, 59, 59, tzinfo=UTC)
EVIL = "<script>alert(1)</script>"


def at(day: int, hour: int = 9, minute: int = 0, month: int = 3) -> datetime:
    return datetime(2024, month, day, hour, minute, tzinfo=UTC)


def outcome(
    case_id: str,
    target: str,
    level: str,
    state: str,
    opened: datetime,
    due: datetime | None = None,
    met: datetime | None = None,
    late: float | None = None,
) -> tuple[object, ...]:
    """A row as ``StateStore.save_outcomes`` takes it (the tracker is its own argument)."""
    metric = "reply" if target == "first_response" else "resolve"
    return (
        case_id,
        target,
        level,
        metric,
        state,
        iso(opened),
        iso(due) if due else None,
        iso(met) if met else None,
        late,
        0,
    )


def _fill(store: StateStore) -> None:
    """Cases (opened -> targets):

    zendesk c1 P1 03-01 09:00: first_response met; resolution breached, met 3 h 20 min late (due 03-02)
    zendesk c2 P1 03-05 09:00: first_response breached, not met, 2 h late (due 03-05 10:00);
                               resolution running
    zendesk c3 P2 03-10 09:00: first_response met; resolution warning
    zendesk c4 P2 03-20 09:00: first_response paused; resolution breached, met 1 d 1 h late (due 03-21 08:00)
    zendesk c5 P1 02-15 09:00 (before March): first_response breached (due 02-15 10:00); resolution met
    jira    J-1 P1 03-12 09:00: both met

    Escalations: c1 levels 1, 2 (epoch 0) and 1 again after a reopen (epoch 1); c2 level 1; J-1 level 1;
    c5 levels 1, 2, 3.
    """
    zd = [
        outcome("c1", "first_response", "P1", "met", at(1), at(1, 10), at(1, 9, 30)),
        outcome("c1", "resolution", "P1", "breached", at(1), at(2), at(2, 12, 20), 12000.0),
        outcome("c2", "first_response", "P1", "breached", at(5), at(5, 10), None, 7200.0),
        outcome("c2", "resolution", "P1", "running", at(5), at(7)),
        outcome("c3", "first_response", "P2", "met", at(10), at(10, 13), at(10, 11)),
        outcome("c3", "resolution", "P2", "warning", at(10), at(14)),
        outcome("c4", "first_response", "P2", "paused", at(20), at(20, 13)),
        outcome("c4", "resolution", "P2", "breached", at(20), at(21, 8), at(22, 9), 90000.0),
        outcome(
            "c5",
            "first_response",
            "P1",
            "breached",
            at(15, month=2),
            at(15, 10, month=2),
            at(15, 11, month=2),
            3600.0,
        ),
        outcome("c5", "resolution", "P1", "met", at(15, month=2), at(16, month=2), at(15, 17, month=2)),
    ]
    jira = [
        outcome("J-1", "first_response", "P1", "met", at(12), at(12, 10), at(12, 9, 5)),
        outcome("J-1", "resolution", "P1", "met", at(12), at(13), at(12, 15)),
    ]
    with store.transaction() as db:
        store.save_outcomes(db, "zendesk", zd)
        store.save_outcomes(db, "jira", jira)
        store.save_escalations(
            db,
            "zendesk",
            [
                ("c1", 0, 1, iso(at(1, 10)), 0),
                ("c1", 0, 2, iso(at(1, 12)), 0),
                ("c1", 1, 1, iso(at(3)), 1),
                ("c2", 0, 1, iso(at(5, 10)), 0),
                ("c5", 0, 1, iso(at(15, 10, month=2)), 0),
                ("c5", 0, 2, iso(at(15, 11, month=2)), 0),
                ("c5", 0, 3, iso(at(15, 12, month=2)), 0),
            ],
        )
        store.save_escalations(db, "jira", [("J-1", 0, 1, iso(at(12, 10)), 0)])
    old = store.start_run(at(10, month=2), "once")
    store.finish_run(old, at(10, 0, 1, month=2), "ok", {"read": 3})
    ok = store.start_run(at(15), "once")
    store.finish_run(ok, at(15, 9, 1), "ok", {"read": 5})
    failed = store.start_run(at(16), "watch")
    store.finish_run(failed, at(16, 9, 1), "failed", {}, "connection refused")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[StateStore]:
    s = StateStore(tmp_path / "state.db")
    _fill(s)
    yield s
    s.close()


@pytest.fixture
def march(store: StateStore) -> Report:
    return build_report(store, since=MARCH, until=END_OF_MARCH)


def cell(report: Report, level: str, target: str) -> Attainment:
    return next(a for a in report.attainment if (a.level, a.target) == (level, target))


# -- figures -----------------------------------------------------------------------------------------


def test_attainment_by_level_and_target(march: Report) -> None:
    assert [(a.level, a.target) for a in march.attainment] == [
        ("P1", "first_response"),
        ("P1", "resolution"),
        ("P2", "first_response"),
        ("P2", "resolution"),
    ]
    fr = cell(march, "P1", "first_response")  # c1 met, c2 breached, J-1 met
    assert (fr.met, fr.breached, fr.in_progress, fr.total) == (2, 1, 0, 3)
    assert fr.pct_met == pytest.approx(200 / 3)
    res = cell(march, "P1", "resolution")  # c1 breached, c2 running, J-1 met
    assert (res.met, res.breached, res.in_progress, res.total, res.pct_met) == (1, 1, 1, 3, 50.0)
    assert cell(march, "P2", "first_response").pct_met == 100.0  # c3 met, c4 paused (in progress)
    p2 = cell(march, "P2", "resolution")  # c3 warning, c4 breached
    assert (p2.met, p2.breached, p2.in_progress, p2.pct_met) == (0, 1, 1, 0.0)
    assert (march.cases, march.trackers) == (5, ["jira", "zendesk"])
    assert (march.met, march.breached, march.in_progress, march.targets) == (4, 3, 3, 10)
    assert march.pct_met == pytest.approx(400 / 7)


def test_pct_met_is_none_when_nothing_finished(tmp_path: Path) -> None:
    s = StateStore(tmp_path / "s.db")
    with s.transaction() as db:
        s.save_outcomes(db, "zendesk", [outcome("x", "first_response", "P3", "running", at(1), at(2))])
    r = build_report(s, until=END_OF_MARCH)
    assert r.attainment == [Attainment("P3", "first_response", 0, 0, 1, 1, None)]
    assert r.pct_met is None
    out = io.StringIO()
    render_report(r, "html", out, None)
    assert "No finished target in this period" in out.getvalue()


def test_since_filters_on_opened_at_and_both_ends_are_included(store: StateStore, march: Report) -> None:
    everything = build_report(store, until=END_OF_MARCH)
    assert everything.cases == 6  # c5 (opened in February) too
    assert cell(everything, "P1", "first_response").breached == 2
    assert {b.case_id for b in everything.breaches} - {b.case_id for b in march.breaches} == {"c5"}
    # c1 opened exactly at since and c3 exactly at until: both in
    edge = build_report(store, since=at(1), until=at(10))
    assert edge.cases == 3 and edge.trackers == ["zendesk"]
    later = build_report(store, since=at(1, 9, 1), until=at(10))
    assert later.cases == 2
    # a case opened in the period counts even if its breach falls due after the period
    assert {b.case_id for b in build_report(store, since=at(20), until=at(20)).breaches} == {"c4"}


def test_since_and_until_can_use_any_offset(store: StateStore) -> None:
    paris = timezone(timedelta(hours=1))
    r = build_report(store, since=datetime(2024, 3, 1, 10, 0, tzinfo=paris), until=END_OF_MARCH)
    assert r.cases == 5  # 10:00+01:00 is c1's 09:00Z opening


def test_tracker_filter(store: StateStore) -> None:
    r = build_report(store, since=MARCH, until=END_OF_MARCH, tracker="jira")
    assert (r.cases, r.trackers, r.breaches, r.escalations) == (1, ["jira"], [], {1: 1})
    assert cell(r, "P1", "resolution").pct_met == 100.0
    assert build_report(store, until=END_OF_MARCH, tracker="nope").cases == 0


def test_invalid_periods_are_refused(store: StateStore) -> None:
    with pytest.raises(ValueError, match="offset"):
        build_report(store, until=datetime(2024, 3, 31))
    with pytest.raises(ValueError, match="offset"):
        build_report(store, since=datetime(2024, 3, 1), until=END_OF_MARCH)
    with pytest.raises(ValueError, match="after"):
        build_report(store, since=END_OF_MARCH, until=MARCH)


def test_breaches_latest_first_with_lateness(march: Report) -> None:
    assert [(b.case_id, b.target) for b in march.breaches] == [
        ("c4", "resolution"),
        ("c2", "first_response"),
        ("c1", "resolution"),
    ]
    c4, c2, c1 = march.breaches
    assert (c4.tracker, c4.level, c4.due_at, c4.met_at, c4.late_seconds) == (
        "zendesk",
        "P2",
        at(21, 8),
        at(22, 9),
        90000.0,
    )
    assert c2.met_at is None and c2.late_seconds == 7200.0
    assert c1.due_at == at(2) and c1.met_at == at(2, 12, 20) and c1.late_seconds == 12000.0
    assert all(b.due_at.tzinfo is not None for b in march.breaches)
    assert [human_duration(b.late_seconds) for b in march.breaches] == ["1 d 1 h", "2 h", "3 h 20 min"]


def test_missing_late_seconds_is_derived_from_met_at(tmp_path: Path) -> None:
    s = StateStore(tmp_path / "s.db")
    with s.transaction() as db:
        s.save_outcomes(
            db, "zendesk", [outcome("x", "resolution", "P1", "breached", at(1), at(2), at(2, 10))]
        )
    assert build_report(s, until=END_OF_MARCH).breaches[0].late_seconds == 3600.0


def test_escalation_counts_cases_once_per_level(store: StateStore, march: Report) -> None:
    assert march.escalations == {1: 3, 2: 1}  # c1 (reopened, still one case), c2, J-1; level 2: c1
    assert build_report(store, until=END_OF_MARCH).escalations == {1: 4, 2: 2, 3: 1}


def test_breaches_by_day_uses_the_utc_date_of_due_at(store: StateStore, march: Report) -> None:
    assert march.breaches_by_day == [(date(2024, 3, 2), 1), (date(2024, 3, 5), 1), (date(2024, 3, 21), 1)]
    with store.transaction() as db:  # 23:30 at -05:00 is the next UTC day
        due = datetime(2024, 3, 4, 23, 30, tzinfo=timezone(timedelta(hours=-5)))
        store.save_outcomes(
            db, "zendesk", [outcome("c6", "resolution", "P1", "breached", at(4), due, None, 60.0)]
        )
    r = build_report(store, since=MARCH, until=END_OF_MARCH)
    assert r.breaches_by_day[1] == (date(2024, 3, 5), 2)


def test_runs_summary_covers_the_period(store: StateStore, march: Report) -> None:
    r = march.runs
    assert (r.count, r.by_status) == (2, {"failed": 1, "ok": 1})
    assert (r.last_status, r.last_mode) == ("failed", "watch")
    assert (r.last_started_at, r.last_finished_at) == (at(16), at(16, 9, 1))
    assert build_report(store, until=END_OF_MARCH).runs.count == 3


def test_empty_store_gives_an_empty_report(tmp_path: Path) -> None:
    s = StateStore(tmp_path / "empty.db")
    r = build_report(s, since=MARCH, until=END_OF_MARCH)
    assert (r.attainment, r.breaches, r.escalations, r.breaches_by_day, r.trackers, r.cases) == (
        [],
        [],
        {},
        [],
        [],
        0,
    )
    assert r.runs.count == 0 and r.runs.last_status is None and r.pct_met is None
    for fmt in ("table", "markdown", "csv", "json", "html"):
        buf = io.StringIO()
        render_report(r, fmt, buf, None)
        assert buf.getvalue()
    page = io.StringIO()
    render_report(r, "html", page, None)
    assert "No breach in this period" in page.getvalue() and "No case opened" in page.getvalue()
    assert json.loads(_render(r, "json"))["attainment"] == []


def test_report_reads_inside_a_caller_transaction(store: StateStore) -> None:
    with store.transaction():
        assert build_report(store, until=END_OF_MARCH).cases == 6
    assert not store.db.in_transaction


# -- formatting ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0 s"),
        (45, "45 s"),
        (61, "1 min 1 s"),
        (600, "10 min"),
        (3600, "1 h"),
        (12000, "3 h 20 min"),
        (12015, "3 h 20 min"),
        (90000, "1 d 1 h"),
        (2 * 86400 + 5, "2 d"),
        (-90, "-1 min 30 s"),
        (0.4, "0 s"),
    ],
)
def test_human_duration(seconds: float, text: str) -> None:
    assert human_duration(seconds) == text


def _render(report: Report, fmt: str) -> str:
    buf = io.StringIO()
    render_report(report, fmt, buf, None)  # type: ignore[arg-type]
    return buf.getvalue()


def test_table_format(march: Report) -> None:
    buf = io.StringIO()
    render_report(march, "table", None, Console(file=buf, width=160))
    text = buf.getvalue()
    for needle in (
        "Attainment by level and target",
        "66.7%",
        "57.1%",
        "Escalations reached",
        "The 3 worst breaches of 3",
        "1 d 1 h",
        "3 h 20 min",
        "not yet",
        "2 runs",
    ):
        assert needle in text
    worst = text.index("The 3 worst")  # worst first: c4 (1 d 1 h), c1 (3 h 20 min), c2 (2 h)
    assert text.index("1 d 1 h", worst) < text.index("3 h 20 min", worst) < text.index(" 2 h ", worst)


def test_table_and_markdown_neutralize_terminal_and_markup_tricks(tmp_path: Path) -> None:
    s = StateStore(tmp_path / "s.db")
    nasty = "[bold red]x[/]\x1b[2J" + EVIL
    with s.transaction() as db:
        s.save_outcomes(
            db, "zendesk", [outcome(nasty, "resolution", "P1", "breached", at(1), at(2), None, 5.0)]
        )
    r = build_report(s, until=END_OF_MARCH)
    buf = io.StringIO()
    render_report(r, "table", None, Console(file=buf, width=200))
    assert "\x1b" not in buf.getvalue() and "[bold red]x[/]" in buf.getvalue()
    md = _render(r, "markdown")
    assert "\x1b" not in md and "| level |" in md


def test_csv_round_trips_the_numbers(march: Report) -> None:
    text = _render(march, "csv")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert tuple(next(csv.reader(io.StringIO(text)))) == CSV_COLUMNS
    assert {r["section"] for r in rows} == {"attainment", "escalation", "breaches_by_day", "breach"}
    att = [r for r in rows if r["section"] == "attainment"]
    assert len(att) == len(march.attainment)
    for r, a in zip(att, march.attainment, strict=True):
        assert (r["level"], r["target"]) == (a.level, a.target)
        assert (int(r["met"]), int(r["breached"]), int(r["in_progress"]), int(r["total"])) == (
            a.met,
            a.breached,
            a.in_progress,
            a.total,
        )
        assert float(r["pct_met"]) == pytest.approx(a.pct_met, abs=0.005)
        assert r["case_id"] == "" and r["due_at"] == ""
    assert {
        int(r["escalation_level"]): int(r["cases"]) for r in rows if r["section"] == "escalation"
    } == march.escalations
    assert [
        (date.fromisoformat(r["day"]), int(r["breaches"])) for r in rows if r["section"] == "breaches_by_day"
    ] == march.breaches_by_day
    breaches = [r for r in rows if r["section"] == "breach"]
    got = [(r["case_id"], datetime.fromisoformat(r["due_at"]), float(r["late_seconds"])) for r in breaches]
    assert got == [(b.case_id, b.due_at, b.late_seconds) for b in march.breaches]
    assert breaches[1]["met_at"] == "" and datetime.fromisoformat(breaches[0]["met_at"]) == at(22, 9)


def test_csv_defuses_spreadsheet_formulas(tmp_path: Path) -> None:
    s = StateStore(tmp_path / "s.db")
    with s.transaction() as db:
        s.save_outcomes(
            db,
            "zendesk",
            [outcome('=HYPERLINK("http://x")', "resolution", "P1", "breached", at(1), at(2), None, 5.0)],
        )
    rows = list(csv.DictReader(io.StringIO(_render(build_report(s, until=END_OF_MARCH), "csv"))))
    assert next(r for r in rows if r["section"] == "breach")["case_id"] == '\'=HYPERLINK("http://x")'


def test_json_has_everything_with_offsets(march: Report) -> None:
    data = json.loads(_render(march, "json"))
    assert data["since"] == "2024-03-01T00:00:00+00:00" and data["until"].endswith("+00:00")
    assert (data["cases"], data["trackers"]) == (5, ["jira", "zendesk"])
    assert data["totals"] == {
        "targets": 10,
        "met": 4,
        "breached": 3,
        "in_progress": 3,
        "pct_met": pytest.approx(400 / 7),
    }
    assert data["attainment"][0] == {
        "level": "P1",
        "target": "first_response",
        "met": 2,
        "breached": 1,
        "in_progress": 0,
        "total": 3,
        "pct_met": pytest.approx(200 / 3),
    }
    assert data["escalations"] == [{"level": 1, "cases": 3}, {"level": 2, "cases": 1}]
    assert data["breaches_by_day"][0] == {"day": "2024-03-02", "breaches": 1}
    first = data["breaches"][0]
    assert first == {
        "tracker": "zendesk",
        "case_id": "c4",
        "level": "P2",
        "target": "resolution",
        "due_at": "2024-03-21T08:00:00+00:00",
        "met_at": "2024-03-22T09:00:00+00:00",
        "late_seconds": 90000.0,
        "missed": 0,
    }
    assert data["breaches"][1]["met_at"] is None
    assert data["runs"]["count"] == 2 and data["runs"]["last_started_at"] == "2024-03-16T09:00:00+00:00"
    assert "error" not in data["runs"]  # run errors are free text from exceptions: not reported


def test_html_is_self_contained_with_charts_and_escapes_tracker_data(store: StateStore) -> None:
    with store.transaction() as db:
        store.save_outcomes(
            db,
            "zendesk",
            [outcome(EVIL, "resolution", 'P1"><img src=x>', "breached", at(3), at(4), None, 300.0)],
        )
    page = _render(build_report(store, since=MARCH, until=END_OF_MARCH), "html")
    assert page.startswith("<!doctype html>") and page.rstrip().endswith("</html>")
    assert page.count("<svg") == 3  # % met by level, breaches over time, escalations
    assert "<rect" in page and "<title>" in page
    assert EVIL not in page and "<script" not in page.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<img" not in page and "&lt;img src=x&gt;" in page
    # nothing is fetched: no external script, stylesheet, font or image (only the SVG namespace URI)
    assert "<link" not in page and "@import" not in page and "url(" not in page
    assert re.search(r"<[^>]*\s(src|href)\s*=", page) is None
    assert re.findall(r"https?://[^\s\"'<]*", page) == ["http://www.w3.org/2000/svg"] * 3
    assert "Content-Security-Policy" in page
    for needle in ("SLA attainment", "2024-03-01 00:00 UTC", "first_response", "3 h 20 min", "Level 2"):
        assert needle in page


def test_periodic_breaches_show_the_missed_due_instant_lateness_and_count(tmp_path: Path) -> None:
    """A periodic-update breach as the engine records it (sync.outcomes): the first due instant of the
    latest run of missed updates, the update that ended it, how late, how many were missed."""
    s = StateStore(tmp_path / "s.db")
    row = list(outcome("p1", "periodic_update", "P1", "breached", at(1), at(1, 10), at(1, 13, 30), 12600.0))
    row[3], row[9] = "periodic_update", 3  # updates due 10:00, 11:00, 12:00 missed; the next came 13:30
    late = list(outcome("p2", "periodic_update", "P1", "breached", at(2), at(2, 10), None, 1800.0))
    late[3], late[9] = "periodic_update", 1  # due 10:00, still late at the last evaluation (10:30)
    with s.transaction() as db:
        s.save_outcomes(db, "zendesk", [tuple(row), tuple(late)])
    r = build_report(s, until=END_OF_MARCH)
    assert [(b.case_id, b.due_at, b.met_at, b.late_seconds, b.missed) for b in r.breaches] == [
        ("p2", at(2, 10), None, 1800.0, 1),
        ("p1", at(1, 10), at(1, 13, 30), 12600.0, 3),
    ]
    csv_rows = [x for x in csv.DictReader(io.StringIO(_render(r, "csv"))) if x["section"] == "breach"]
    assert [(x["case_id"], x["missed"]) for x in csv_rows] == [("p2", "1"), ("p1", "3")]
    assert [b["missed"] for b in json.loads(_render(r, "json"))["breaches"]] == [1, 3]
    page = _render(r, "html")
    assert "3 h 30 min" in page and "3 missed" in page and "1 missed" in page
    buf = io.StringIO()
    render_report(r, "table", None, Console(file=buf, width=200))
    assert "3 missed" in buf.getvalue()


def test_render_without_out_writes_to_the_console_file(march: Report) -> None:
    buf = io.StringIO()
    render_report(march, "json", None, Console(file=buf))
    assert json.loads(buf.getvalue())["cases"] == 5
    with pytest.raises(ValueError, match="unknown report format"):
        render_report(march, "xml", io.StringIO(), None)  # type: ignore[arg-type]


def test_breach_chart_buckets_long_periods() -> None:
    unit, days = _time_buckets([(date(2024, 1, 1), 2), (date(2024, 1, 4), 1)])
    assert unit == "day" and days == [(date(2024, 1, d), n) for d, n in ((1, 2), (2, 0), (3, 0), (4, 1))]
    unit, weeks = _time_buckets([(date(2024, 1, 3), 2), (date(2024, 1, 4), 1), (date(2024, 7, 1), 5)])
    assert unit == "week" and weeks[0] == (date(2024, 1, 1), 3) and weeks[-1] == (date(2024, 7, 1), 5)
    assert all((b - a).days == 7 for (a, _), (b, _) in itertools.pairwise(weeks))
    unit, months = _time_buckets([(date(2022, 11, 5), 1), (date(2024, 12, 30), 4)])
    assert unit == "month" and len(months) == 26 and months[-1] == (date(2024, 12, 1), 4)
    assert sum(n for _d, n in months) == 5


# -- scale -----------------------------------------------------------------------------------------


@pytest.mark.slow
def test_build_report_at_100k_cases(tmp_path: Path) -> None:
    s = StateStore(tmp_path / "big.db")
    start = datetime(2024, 1, 1, tzinfo=UTC)
    states = ("met", "met", "met", "met", "met", "met", "breached", "running", "warning", "paused")
    targets = ("first_response", "next_reply", "update", "resolution")

    def rows(tracker_index: int) -> Iterator[tuple[object, ...]]:
        for i in range(tracker_index, 100_000, 2):
            opened = start + timedelta(minutes=5 * i)
            for k, target in enumerate(targets):
                state = states[(i + k) % len(states)]
                due = opened + timedelta(hours=1 + 4 * k)
                met = due + timedelta(minutes=30) if state == "breached" and i % 3 else None
                yield (
                    f"case-{i}",
                    target,
                    f"P{i % 4 + 1}",
                    "m",
                    state,
                    iso(opened),
                    iso(due),
                    iso(met) if met else None,
                    1800.0 if state == "breached" else None,
                    0,
                )

    t0 = time.perf_counter()
    with s.transaction() as db:
        for n, tracker in enumerate(("zendesk", "jira")):
            s.save_outcomes(db, tracker, rows(n))
            s.save_escalations(
                db,
                tracker,
                [(f"case-{i}", 0, lvl, iso(start), 0) for i in range(n, 100_000, 10) for lvl in (1, 2)],
            )
    filled = time.perf_counter() - t0
    t0 = time.perf_counter()
    r = build_report(s, until=start + timedelta(days=400))
    whole = time.perf_counter() - t0
    t0 = time.perf_counter()
    month = build_report(s, since=start + timedelta(days=90), until=start + timedelta(days=120))
    part = time.perf_counter() - t0
    print(
        f"\n100,000 cases x 4 targets: filled in {filled:.2f} s; build_report all {whole:.2f} s "
        f"({len(r.breaches)} breaches), one month {part:.2f} s"
    )
    assert r.cases == 100_000 and r.targets == 400_000 and r.trackers == ["jira", "zendesk"]
    assert r.breached == 40_000 and r.met == 240_000 and r.in_progress == 120_000
    assert len(r.breaches) == 40_000 and r.escalations == {1: 20_000, 2: 20_000}
    assert 0 < month.cases < 100_000
    assert whole < 30 and part < 30
