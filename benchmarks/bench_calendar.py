"""Business-time arithmetic: casewarden's BusinessCalendar against the Python libraries that do the same.

Run ``python -m benchmarks.bench_calendar`` (``--quick`` for a smaller sample). Every implementation gets
the same seeded workload on the same calendar, Mon-Fri 08:00-17:00 America/Denver with US federal holidays:

* add: the due time of ``start + span`` of business time;
* between: the business time in ``[start, start + span)``;

with starts uniform over 2026-2027 (whole minutes) and spans log-uniform from 30 minutes to 365 days (whole
minutes). Peers that walk the calendar period by period are slow on long spans, so they run for a fixed
time budget per operation on a prefix of the (random, so representative) workload; the table says how many
ops each ran. Answers are cross-checked against ours on a sample.

The script never fails because a peer is missing or raises: it prints why and carries on.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import random
import sys
import time as clock
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import partial
from importlib import metadata
from typing import Any
from zoneinfo import ZoneInfo

import holidays as pyholidays

from casewarden.policy.calendar import BusinessCalendar

ZONE_NAME = "America/Denver"
DENVER = ZoneInfo(ZONE_NAME)
OPEN, CLOSE = time(8), time(17)
SEED = 20261126
MIN_SPAN, MAX_SPAN = 30, 365 * 24 * 60  # minutes
CHECK_SAMPLE = 1000
# Holidays for peers that take a fixed list; wide enough for a year of business time added in 2027.
HOLIDAY_YEARS = range(2024, 2036)


def us_holidays(year: int) -> list[date]:
    return list(pyholidays.country_holidays("US", years=year).keys())


ALL_HOLIDAYS = sorted(d for y in HOLIDAY_YEARS for d in us_holidays(y))


@dataclass
class Workload:
    starts: list[datetime]  # aware, America/Denver
    spans: list[int]  # minutes

    @classmethod
    def make(cls, n: int, seed: int) -> Workload:
        rng = random.Random(seed)
        first = datetime(2026, 1, 1, tzinfo=DENVER).timestamp()
        last = datetime(2028, 1, 1, tzinfo=DENVER).timestamp()
        minutes = int(last - first) // 60
        starts = [datetime.fromtimestamp(first + 60 * rng.randrange(minutes), DENVER) for _ in range(n)]
        lo, hi = math.log(MIN_SPAN), math.log(MAX_SPAN)
        spans = [round(math.exp(rng.uniform(lo, hi))) for _ in range(n)]
        return cls(starts, spans)


@dataclass
class Result:
    impl: str
    op: str
    rate: float | None = None  # ops per second
    ran: int = 0
    total: int = 0
    exact: int | None = None  # results equal to ours to the minute
    same_business: int | None = None  # within one business minute of ours (see legend)
    sampled: int = 0
    notes: list[str] = field(default_factory=list)


def timed_all(run: Callable[[], list[Any]], repeat: int) -> tuple[float, int, list[Any]]:
    """Time ``run`` (a whole pass over the workload, written as a comprehension so that the harness adds
    next to nothing per op); the best rate of ``repeat`` passes."""
    best, out = 0.0, []
    for _ in range(repeat):
        t0 = clock.process_time()
        out = run()
        best = max(best, len(out) / (clock.process_time() - t0))
    return best, len(out), out


def timed(fn: Callable[[int], Any], n: int, budget: float) -> tuple[float, int, list[Any]]:
    """Run ``fn(i)`` for i = 0, 1, ... until all ``n`` ran or ``budget`` seconds passed (for slow peers)."""
    out: list[Any] = []
    t0 = clock.process_time()
    deadline = clock.perf_counter() + budget
    for i in range(n):
        out.append(fn(i))
        if clock.perf_counter() > deadline:
            break
    return len(out) / (clock.process_time() - t0), len(out), out


def cross_check(
    res: Result, ours: Sequence[Any], theirs: Sequence[Any], same: Callable[[Any, Any], tuple[bool, bool]]
) -> None:
    k = min(len(theirs), CHECK_SAMPLE)
    res.sampled = k
    pairs = [same(ours[i], theirs[i]) for i in range(k)]
    res.exact = sum(1 for e, _ in pairs if e)
    res.same_business = sum(1 for _, b in pairs if b)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    ap.add_argument("--quick", action="store_true", help="smaller sample and shorter budgets for slow peers")
    ap.add_argument("--seed", type=int, default=SEED)
    args = ap.parse_args(argv)
    n = 5_000 if args.quick else 50_000
    budget = 2.0 if args.quick else 8.0  # seconds per (slow peer, operation)
    repeat = 1 if args.quick else 3

    wl = Workload.make(n, args.seed)
    ends = [s + timedelta(minutes=m) for s, m in zip(wl.starts, wl.spans, strict=True)]
    amounts = [60 * m for m in wl.spans]
    results: list[Result] = []

    # ------------------------------------------------------------------ ours
    cal = BusinessCalendar("office", ZONE_NAME, {d: [(OPEN, CLOSE)] for d in range(5)}, us_holidays)
    t0 = clock.perf_counter()
    cal.add(wl.starts[0], 60)
    first_year = clock.perf_counter() - t0
    t0 = clock.perf_counter()
    cal.add(datetime(2026, 1, 1, tzinfo=DENVER), MAX_SPAN * 60.0)  # build every year the workload reaches
    years_built = len(cal._years)
    build = clock.perf_counter() - t0 + first_year
    add, btw = cal.add, cal.between
    starts = wl.starts
    rate, ran, ours_add = timed_all(lambda: [add(s, a) for s, a in zip(starts, amounts, strict=True)], repeat)
    r = Result("ours: BusinessCalendar", "add", rate, ran, n)
    r.notes.append(f"warm; building its {years_built} years (once, lazily) took {build * 1000:.0f} ms")
    results.append(r)
    rate, ran, ours_btw = timed_all(lambda: [btw(s, e) for s, e in zip(starts, ends, strict=True)], repeat)
    results.append(Result("ours: BusinessCalendar", "between", rate, ran, n))

    def same_instant(o: datetime, t: datetime) -> tuple[bool, bool]:
        exact = abs(o.timestamp() - t.timestamp()) < 60
        return exact, exact or abs(cal.between(o, t)) < 60

    def same_seconds(o: float, t: float) -> tuple[bool, bool]:
        exact = abs(o - t) < 60
        return exact, exact

    always = BusinessCalendar("24x7", ZONE_NAME, None)
    add24, btw24 = always.add, always.between
    rate, ran, _ = timed_all(lambda: [add24(s, a) for s, a in zip(starts, amounts, strict=True)], repeat)
    results.append(Result("ours: 24x7 (reference)", "add", rate, ran, n, notes=["plain UTC datetime math"]))
    rate, ran, _ = timed_all(lambda: [btw24(s, e) for s, e in zip(starts, ends, strict=True)], repeat)
    results.append(Result("ours: 24x7 (reference)", "between", rate, ran, n))

    # ------------------------------------------------------------------ workclock
    try:
        import workclock
    except ImportError as exc:
        results.append(Result("workclock", "-", notes=[f"not importable ({exc}); skipped"]))
    else:
        sched = workclock.Schedule(
            [workclock.WorkDay(OPEN, CLOSE), workclock.Holidays(ALL_HOLIDAYS)], time_zone=ZONE_NAME
        )
        deltas = [timedelta(minutes=m) for m in wl.spans]
        wc_add, wc_btw = sched.add, sched.between
        for op, call, ours_out, same in (
            ("add", lambda i: wc_add(starts[i], deltas[i]), ours_add, same_instant),
            ("between", lambda i: wc_btw(starts[i], ends[i]).total_seconds(), ours_btw, same_seconds),
        ):
            try:
                rate, ran, out = timed(call, n, budget)
                r = Result("workclock (Rust core)", op, rate, ran, n)
                cross_check(r, ours_out, out, same)
                if ran < n:
                    r.notes.append(f"capped at {budget:.0f} s")
            except Exception as exc:  # a peer's failure is a finding, not a crash
                r = Result("workclock (Rust core)", op, notes=[f"failed: {type(exc).__name__}: {exc}"])
            results.append(r)
        # its batch API: one call for the whole sample (the conversion of inputs is included)
        for op, batch, ours_out, same in (
            ("add", lambda: sched.add_many(starts, deltas), ours_add, same_instant),
            (
                "between",
                lambda: [d.total_seconds() for d in sched.between_many(starts, ends)],
                ours_btw,
                same_seconds,
            ),
        ):
            try:
                t0 = clock.process_time()
                out = batch()
                r = Result("workclock *_many (batch)", op, n / (clock.process_time() - t0), n, n)
                cross_check(r, ours_out, out, same)
            except Exception as exc:
                r = Result("workclock *_many (batch)", op, notes=[f"failed: {type(exc).__name__}: {exc}"])
            results.append(r)

    # ------------------------------------------------------------------ businesstimedelta
    try:
        import businesstimedelta as btd
        import pytz
    except ImportError as exc:
        results.append(Result("businesstimedelta", "-", notes=[f"not importable ({exc}); skipped"]))
    else:
        ptz = pytz.timezone(ZONE_NAME)
        rules = btd.Rules(
            [
                btd.WorkDayRule(start_time=OPEN, end_time=CLOSE, working_days=[0, 1, 2, 3, 4], tz=ptz),
                btd.HolidayRule(set(ALL_HOLIDAYS), tz=ptz),
            ]
        )
        p_starts = [ptz.localize(s.replace(tzinfo=None), is_dst=bool(s.dst())) for s in starts]
        p_ends = [ptz.localize(e.replace(tzinfo=None), is_dst=bool(e.dst())) for e in ends]
        for op, call, ours_out, same in (
            (
                "add",
                lambda i: p_starts[i] + btd.BusinessTimeDelta(rules, seconds=amounts[i]),
                ours_add,
                same_instant,
            ),
            (
                "between",
                lambda i: rules.difference(p_starts[i], p_ends[i]).timedelta.total_seconds(),
                ours_btw,
                same_seconds,
            ),
        ):
            try:
                rate, ran, out = timed(call, n, budget)
                r = Result("businesstimedelta", op, rate, ran, n)
                cross_check(r, ours_out, out, same)
                if ran < n:
                    r.notes.append(f"capped at {budget:.0f} s")
            except Exception as exc:
                r = Result("businesstimedelta", op, notes=[f"failed: {type(exc).__name__}: {exc}"])
            results.append(r)

    # ------------------------------------------------------------------ pandas
    try:
        import pandas as pd
        from pandas.tseries.offsets import CustomBusinessHour
    except ImportError as exc:
        results.append(Result("pandas CustomBusinessHour", "-", notes=[f"not importable ({exc}); skipped"]))
    else:
        cbh = CustomBusinessHour(start="08:00", end="17:00", holidays=ALL_HOLIDAYS)
        # pandas works on naive local wall times (fine here: 08:00-17:00 never meets a 02:00 DST change)
        naive = [pd.Timestamp(s.replace(tzinfo=None)) for s in starts]
        one_hour = timedelta(hours=1)

        def pandas_add(i: int) -> datetime:
            # CustomBusinessHour counts whole hours; the minutes are added by hand: within the business
            # period if they fit, else back from one more business hour (which lands after the reopening).
            h, m = divmod(wl.spans[i], 60)
            t1 = naive[i] + cbh * h if h else cbh.rollforward(naive[i])
            if m:
                c = t1 + timedelta(minutes=m)
                if cbh.is_on_offset(c) and c.date() == t1.date():
                    t1 = c
                else:
                    t1 = (t1 + cbh) - (one_hour - timedelta(minutes=m))
            return t1.to_pydatetime().replace(tzinfo=DENVER)

        try:
            rate, ran, out = timed(pandas_add, n, budget)
            r = Result("pandas CustomBusinessHour", "add", rate, ran, n)
            cross_check(r, ours_add, out, same_instant)
            if ran < n:
                r.notes.append(f"capped at {budget:.0f} s")
            r.notes.append("whole hours by pandas, minutes by hand; naive local times")
        except Exception as exc:
            r = Result("pandas CustomBusinessHour", "add", notes=[f"failed: {type(exc).__name__}: {exc}"])
        results.append(r)
        results.append(
            Result(
                "pandas CustomBusinessHour", "between", notes=["n/a: pandas has no business-time difference"]
            )
        )

    by_span = span_breakdown(wl, amounts, cal, repeat)
    print_report(results, n, args, budget, repeat)
    print()
    print("add ops/s by span (closed form: ours should not slow down as spans grow; walkers do):")
    head = f"{'implementation':<28} " + " ".join(f"{label:>14}" for label, _ in SPAN_BUCKETS)
    print(head)
    print("-" * len(head))
    for impl, rates in by_span:
        print(f"{impl:<28} " + " ".join(f"{_fmt_int(r):>14}" for r in rates))
    return 0


SPAN_BUCKETS = [("<= 8 h", 8 * 60), ("8 h - 10 d", 10 * 1440), ("> 10 days", MAX_SPAN + 1)]


def span_breakdown(
    wl: Workload, amounts: list[int], cal: BusinessCalendar, repeat: int
) -> list[tuple[str, list[float | None]]]:
    """add ops/s per span bucket, for ours and (if importable) workclock: how cost moves with the span."""
    buckets: list[list[int]] = [[] for _ in SPAN_BUCKETS]
    for i, m in enumerate(wl.spans):
        lo = 0
        for k, (_, hi) in enumerate(SPAN_BUCKETS):
            if lo < m <= hi:
                buckets[k].append(i)
            lo = hi
    rows: list[tuple[str, list[float | None]]] = []
    add = cal.add

    def run_ours(pairs: list[tuple[datetime, int]]) -> list[datetime]:
        return [add(s, a) for s, a in pairs]

    ours: list[float | None] = []
    for idx in buckets:
        pairs = [(wl.starts[i], amounts[i]) for i in idx]
        ours.append(timed_all(partial(run_ours, pairs), repeat)[0] if pairs else None)
    rows.append(("ours: BusinessCalendar", ours))
    try:
        import workclock
    except ImportError:
        return rows
    sched = workclock.Schedule(
        [workclock.WorkDay(OPEN, CLOSE), workclock.Holidays(ALL_HOLIDAYS)], time_zone=ZONE_NAME
    )
    wc_add = sched.add

    def run_theirs(pairs: list[tuple[datetime, timedelta]]) -> list[datetime]:
        return [wc_add(s, d) for s, d in pairs]

    theirs: list[float | None] = []
    for idx in buckets:
        pairs_td = [(wl.starts[i], timedelta(minutes=wl.spans[i])) for i in idx]
        theirs.append(timed_all(partial(run_theirs, pairs_td), 1)[0] if pairs_td else None)
    rows.append(("workclock (Rust core)", theirs))
    return rows


def _fmt_int(x: float | None) -> str:
    return "-" if x is None else f"{x:,.0f}"


def print_report(results: list[Result], n: int, args: argparse.Namespace, budget: float, repeat: int) -> None:
    def version(pkg: str) -> str:
        try:
            return f"{pkg} {metadata.version(pkg)}"
        except metadata.PackageNotFoundError:
            return f"{pkg} (not installed)"

    print("casewarden calendar benchmark: Mon-Fri 08:00-17:00 America/Denver + US federal holidays")
    quick = ", --quick" if args.quick else ""
    print(
        f"workload: {n:,} seeded random ops (seed {args.seed}{quick}); starts in 2026-2027, "
        f"spans log-uniform {MIN_SPAN} min .. 365 days (whole minutes)"
    )
    print("  add = due time of start + span of business time; between = business time in [start, start+span)")
    print(
        f"  fast implementations: best of {repeat} passes over all ops; slow peers: as many ops as fit in "
        f"{budget:.0f} s per operation (a prefix of the random workload)"
    )
    print(
        "  ops/s are per CPU second of this process (time.process_time), so other load on a shared machine "
        "skews them less"
    )
    try:
        with open("/proc/loadavg") as fh:
            load = f", load average {fh.read().split()[0]} at the end"
    except OSError:
        load = ""
    print(
        f"Python {platform.python_version()} on {platform.machine()} ({os.cpu_count()} CPUs{load}), "
        + ", ".join(version(p) for p in ("pandas", "businesstimedelta", "workclock"))
    )
    print()
    head = f"{'implementation':<28} {'op':<8} {'ops/s':>11} {'ops run':>15} {'agree w/ ours':>15}  notes"
    print(head)
    print("-" * len(head))
    for r in results:
        ran = f"{r.ran:,}/{r.total:,}" if r.total else "-"
        if r.exact is None:
            agree = "-"
        elif r.exact == r.same_business:
            agree = f"{r.exact}/{r.sampled}"
        else:
            agree = f"{r.exact}(+{(r.same_business or 0) - r.exact})/{r.sampled}"
        print(f"{r.impl:<28} {r.op:<8} {_fmt_int(r.rate):>11} {ran:>15} {agree:>15}  {'; '.join(r.notes)}")
    print()
    print(
        f"agree w/ ours: of the first {CHECK_SAMPLE:,} results (or all a capped peer ran), how many equal "
        "ours to the minute;\n  (+k): k more are the same business instant written differently (a closing "
        "time vs the next opening: no business time lies between them)."
    )


if __name__ == "__main__":
    sys.exit(main())
