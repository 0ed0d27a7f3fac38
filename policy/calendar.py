"""Business-hours calendars: when a support team is open, and how much open time lies between instants.

SLA timers run on *business time* ("8 business hours", "3 business days"), so every due date and every
report of elapsed time goes through this module. It is pure (it never reads the clock and does no I/O)
so that the same inputs give the same due dates in the sync engine, in tests and in a replay.

Why closed form
    A naive implementation walks day by day (or minute by minute) from the start, so a one-year SLA or a
    report over a quarter costs hundreds of steps per call. Here each local year is turned once, lazily, into
    sorted arrays of open intervals as UTC epoch seconds plus running totals of open seconds. ``add`` and
    ``between`` are then two binary searches, whatever the span. Years are built as queries reach them, so
    spans of several years and queries on either side of a year boundary work without configuration.

Why wall times are converted per day
    Opening hours are local wall-clock times. Each local date's times are turned into UTC instants with
    :mod:`zoneinfo` for that date, so daylight-saving changes move the instants, not the wall times. A wall
    time inside a spring-forward gap does not exist and moves forward by the length of the gap (PEP 495's
    ``fold=0``, as RFC 5545 and JavaScript Temporal do); an ambiguous wall time in a fall-back overlap is
    its first occurrence. Intervals are half-open: ``[start, end)``.

Thread safety
    The cached arrays are replaced as a whole (never mutated), so concurrent readers always see a
    consistent snapshot; two threads reaching a new year at once merely build it twice.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from itertools import accumulate, pairwise
from zoneinfo import ZoneInfo

__all__ = ["BusinessCalendar", "Closure", "OutOfRange"]

_MIDNIGHT = time(0)
_ONE_DAY = timedelta(days=1)
_DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
# A search for open time gives up after this many consecutive years without any, so that a calendar whose
# holidays or closures swallow every day fails loudly instead of looping until datetime overflows.
_MAX_EMPTY_YEARS = 10
# date(y + 1, 1, 1) and the year before must exist for every year built.
_FIRST_YEAR, _LAST_YEAR = 2, 9998
# UTC epoch seconds of the supported range's ends (a day inside them, for any zone's offset): a query
# that must end outside is refused at once instead of after building thousands of years.
_MIN_TS = (datetime(_FIRST_YEAR, 1, 2, tzinfo=UTC) - datetime(1970, 1, 1, tzinfo=UTC)).total_seconds()
_MAX_TS = (datetime(_LAST_YEAR, 12, 30, tzinfo=UTC) - datetime(1970, 1, 1, tzinfo=UTC)).total_seconds()

Interval = tuple[float, float]


class OutOfRange(ValueError):
    """The answer lies outside what the calendar can compute: before year 2 or after 9998, beyond an
    infinite amount, or past ten years without any open time. Its own class so that callers can turn
    it into "this case cannot be placed" without hiding other mistakes."""


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _naive(t: object) -> Exception:
    if not isinstance(t, datetime):
        return TypeError(f"expected a timezone-aware datetime, got {t!r}")
    return ValueError(f"{t!r} is naive; calendar arithmetic needs a timezone-aware datetime")


def _aware_ts(t: datetime) -> float:
    """UTC epoch seconds of an aware datetime.

    A naive datetime would silently be read as the host's local time (``timestamp()`` does that), so it is
    refused: subtracting an aware epoch raises TypeError for it. The subtraction is also about twice as fast
    as ``timestamp()``, which is why the hot paths below inline this same expression.
    """
    try:
        return (t - _EPOCH).total_seconds()
    except TypeError:
        raise _naive(t) from None


def _in_zone(t: datetime, zone: ZoneInfo) -> datetime:
    """``t`` as a real local time of ``zone``, exactly.

    Not ``t.astimezone(zone)``: when ``t`` is already in ``zone`` that returns ``t`` unchanged, even a wall
    time inside a spring-forward gap that no clock ever shows; going through UTC normalises it.
    """
    return t.astimezone(UTC).astimezone(zone)


def _wall_ts(d: date, t: time, zone: ZoneInfo) -> float:
    """UTC epoch seconds of wall time ``t`` on local date ``d``: fold=0, so a time in a spring-forward gap
    moves forward by the gap and an ambiguous one is its first occurrence."""
    return datetime.combine(d, t, zone).timestamp()


def _fmt_time(t: time, end: bool = False) -> str:
    if end and t == _MIDNIGHT:
        return "24:00"
    return t.strftime("%H:%M:%S" if t.second or t.microsecond else "%H:%M")


def _describe_ts(ts: float) -> str:
    try:
        return _fromts(ts, UTC).isoformat()
    except (OverflowError, OSError, ValueError):
        return f"instant {ts}"


def _nth_weekday(year: int, month: int, weekday: int, nth: int) -> date | None:
    """The ``nth`` (1..5, or -1 for last) ``weekday`` of a month, or None when the month has no such day."""
    first = date(year, month, 1)
    next_first = date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
    if nth > 0:
        d = first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (nth - 1))
        return d if d < next_first else None
    last = next_first - _ONE_DAY
    return last - timedelta(days=(last.weekday() - weekday) % 7)


def _merge(intervals: list[Interval]) -> list[Interval]:
    """Sort and union intervals, dropping empty ones and joining touching ones.

    Joining matters beyond tidiness: across a spring-forward gap two wall-time intervals that do not overlap
    can overlap as instants (02:30 moves to 03:30, after 03:00), and a 24x7 calendar's days touch at
    midnight; the prefix sums need disjoint intervals and ``open_intervals`` should report one stretch.
    """
    out: list[Interval] = []
    for s, e in sorted(iv for iv in intervals if iv[1] > iv[0]):
        if out and s <= out[-1][1]:
            if e > out[-1][1]:
                out[-1] = (out[-1][0], e)
        else:
            out.append((s, e))
    return out


def _subtract(opened: list[Interval], closed: list[Interval]) -> list[Interval]:
    """``opened`` minus ``closed``; both sorted and disjoint (as :func:`_merge` returns them)."""
    if not closed:
        return opened
    out: list[Interval] = []
    j = 0
    for s, e in opened:
        while j < len(closed) and closed[j][1] <= s:
            j += 1
        k = j
        cur = s
        while k < len(closed) and closed[k][0] < e:
            cs, ce = closed[k]
            if cs > cur:
                out.append((cur, cs))
            cur = max(cur, ce)
            k += 1
        if cur < e:
            out.append((cur, e))
    return out


@dataclass(frozen=True)
class Closure:
    """A recurring or one-off window when the calendar is closed even inside weekly hours.

    Maintenance windows and all-hands meetings are not holidays (they close part of a day, possibly across
    midnight), and they recur by rules like "third Friday of the month" that a list of dates cannot express
    for years ahead; hence a separate rule type.
    """

    start: time  # local start time
    end: time  # local end time; end <= start means it ends on the next day
    nth: int | None = None  # recurring monthly: 1..5 = nth weekday of month, -1 = last
    weekday: int | None = None  # 0=Mon..6=Sun, with nth
    on: date | None = None  # one-off: the local date it starts on
    # exactly one of (nth+weekday) or (on) is set

    def __post_init__(self) -> None:
        if self.start.tzinfo is not None or self.end.tzinfo is not None:
            raise ValueError("closure times are local wall times of the calendar's zone: give no tzinfo")
        recurring = self.nth is not None or self.weekday is not None
        if recurring == (self.on is not None):
            raise ValueError("a closure needs exactly one of (nth and weekday) or on")
        if recurring:
            if self.nth is None or self.weekday is None:
                raise ValueError("a recurring closure needs both nth and weekday")
            if self.nth not in (1, 2, 3, 4, 5, -1):
                raise ValueError(f"closure nth must be 1..5 or -1 (last), got {self.nth}")
            if not 0 <= self.weekday <= 6:
                raise ValueError(f"closure weekday must be 0 (Mon) .. 6 (Sun), got {self.weekday}")

    @property
    def crosses_midnight(self) -> bool:
        """True when the window ends on the day after it starts (end <= start)."""
        return self.end <= self.start

    def start_dates(self, first: date, last: date) -> list[date]:
        """Local dates in ``[first, last]`` on which this closure starts."""
        if self.on is not None:
            return [self.on] if first <= self.on <= last else []
        assert self.nth is not None and self.weekday is not None
        out: list[date] = []
        y, m = first.year, first.month
        while (y, m) <= (last.year, last.month):
            d = _nth_weekday(y, m, self.weekday, self.nth)
            if d is not None and first <= d <= last:
                out.append(d)
            y, m = (y + 1, 1) if m == 12 else (y, m + 1)
        return out

    def describe(self) -> str:
        """Human wording, for ``BusinessCalendar.describe`` and error messages."""
        span = f"{_fmt_time(self.start)}-{_fmt_time(self.end, end=True)}"
        if self.on is not None:
            return f"{self.on.isoformat()} {span}"
        assert self.nth is not None and self.weekday is not None
        which = "last" if self.nth == -1 else {1: "1st", 2: "2nd", 3: "3rd"}.get(self.nth, f"{self.nth}th")
        return f"{which} {_DAY_NAMES[self.weekday]} {span}"


class _Year:
    """One local year, built once: its open intervals and its business days."""

    __slots__ = ("bdays", "ends", "hi", "lo", "starts")

    def __init__(self, lo: float, hi: float, intervals: list[Interval], bdays: list[int]) -> None:
        self.lo = lo  # UTC epoch seconds of local Jan 1 00:00
        self.hi = hi  # ... of the next local Jan 1 00:00
        self.starts = [s for s, _ in intervals]
        self.ends = [e for _, e in intervals]
        self.bdays = bdays  # proleptic ordinals of the local dates with any open time


_INF = float("inf")
_fromts = datetime.fromtimestamp
# (lo, hi, starts, ends, cum, cumend, total): see _Span
State = tuple[float, float, list[float], list[float], list[float], list[float], float]


class _Span:
    """The contiguous run of built years the queries search, as one immutable snapshot.

    ``cum[i]`` is the open time before interval ``i`` and ``cumend[i]`` the open time up to its end, both
    counted from ``lo``; those prefix sums turn "open seconds between" into a subtraction and "where do N
    open seconds end" into a binary search. The arrays end with a sentinel interval at +inf (``cum`` with
    the total), so the hot paths need no end-of-array checks; ``n`` is the count of real intervals.
    ``state`` bundles the arrays in a tuple that the hot paths unpack in one step.
    """

    __slots__ = ("bdays", "cum", "cumend", "ends", "hi", "lo", "n", "starts", "state", "total", "y0", "y1")

    def __init__(self, y0: int, y1: int, years: Sequence[_Year]) -> None:
        self.y0 = y0
        self.y1 = y1
        if not years:  # the empty span: matches no instant, so the first query builds its year
            self.lo, self.hi = _INF, -_INF
        else:
            self.lo, self.hi = years[0].lo, years[-1].hi
        starts: list[float] = []
        ends: list[float] = []
        bdays: list[int] = []
        for yr in years:
            bdays.extend(yr.bdays)
            for s, e in zip(yr.starts, yr.ends, strict=True):
                if ends and s <= ends[-1]:  # touching across the year boundary (e.g. open over midnight)
                    ends[-1] = max(ends[-1], e)
                else:
                    starts.append(s)
                    ends.append(e)
        self.n = len(starts)
        cumend = list(accumulate(e - s for s, e in zip(starts, ends, strict=True)))
        self.total = cumend[-1] if cumend else 0.0
        self.cum = [0.0, *cumend]
        starts.append(_INF)
        ends.append(_INF)
        cumend.append(_INF)
        self.starts = starts
        self.ends = ends
        self.cumend = cumend
        self.bdays = bdays
        self.state: State = (self.lo, self.hi, starts, ends, self.cum, cumend, self.total)

    def elapsed(self, ts: float) -> float:
        """Open seconds from ``lo`` to ``ts`` (``ts`` within the span)."""
        i = bisect_right(self.ends, ts)
        s = self.starts[i]
        return self.cum[i] + ts - s if ts > s else self.cum[i]


DaySpec = tuple[tuple[time, time], ...]


class BusinessCalendar:
    """Weekly opening hours in one time zone, minus holidays and closures.

    ``weekly`` maps weekday (0=Mon..6=Sun) to that day's open intervals as local ``(start, end)`` times;
    ``end == time(0)`` means 24:00, intervals of a day must not overlap, and ``weekly=None`` means open
    around the clock. ``holidays`` closes whole local dates: an iterable of dates, or a callable asked for
    one year at a time (lazily, cached) so that a rule-based source such as the ``holidays`` package needs
    no list of years up front. ``closures`` close recurring or one-off windows (see :class:`Closure`).

    Every method takes aware datetimes in any zone (naive ones raise ValueError) and returns aware
    datetimes in the calendar's zone. The calendar is immutable from the outside; it caches built years.
    """

    name: str
    zone: ZoneInfo
    always_open: bool

    def __init__(
        self,
        name: str,
        zone: str | ZoneInfo,
        weekly: Mapping[int, Sequence[tuple[time, time]]] | None,
        holidays: Callable[[int], Iterable[date]] | Iterable[date] = (),
        closures: Sequence[Closure] = (),
    ) -> None:
        self.name = name
        self.zone = zone if isinstance(zone, ZoneInfo) else ZoneInfo(zone)
        self._weekly_given = weekly is not None
        self._days: tuple[DaySpec, ...] = self._check_weekly(weekly)
        self._holiday_fn: Callable[[int], Iterable[date]] | None = None
        self._fixed_holidays: dict[int, frozenset[date]] = {}
        self._holiday_cache: dict[int, frozenset[date]] = {}
        if callable(holidays):
            self._holiday_fn = holidays
            has_holidays = True
        else:
            by_year: dict[int, set[date]] = {}
            for d in holidays:
                if not isinstance(d, date):
                    raise ValueError(f"holidays must be dates, got {d!r}")
                by_year.setdefault(d.year, set()).add(date(d.year, d.month, d.day))
            self._fixed_holidays = {y: frozenset(ds) for y, ds in by_year.items()}
            has_holidays = bool(by_year)
        self._has_holidays = has_holidays
        self.closures: tuple[Closure, ...] = tuple(closures)
        for c in self.closures:
            if not isinstance(c, Closure):
                raise ValueError(f"closures must be Closure objects, got {c!r}")
        self.always_open = weekly is None and not has_holidays and not self.closures
        self._years: dict[int, _Year] = {}
        self._span = _Span(0, -1, [])
        self._state: State = self._span.state

    # ------------------------------------------------------------------ construction helpers

    @staticmethod
    def _check_weekly(weekly: Mapping[int, Sequence[tuple[time, time]]] | None) -> tuple[DaySpec, ...]:
        """Validate and normalise weekly hours, so a typo fails when the policy loads, not at the first
        due date; returns the sorted intervals of each weekday."""
        if weekly is None:
            return tuple(((_MIDNIGHT, _MIDNIGHT),) for _ in range(7))
        days: list[DaySpec] = []
        for key in weekly:
            if not isinstance(key, int) or isinstance(key, bool) or not 0 <= key <= 6:
                raise ValueError(f"weekly keys are weekdays 0 (Mon) .. 6 (Sun), got {key!r}")
        for wd in range(7):
            ivs = sorted(weekly.get(wd, ()), key=lambda iv: iv[0])
            for s, e in ivs:
                if s.tzinfo is not None or e.tzinfo is not None:
                    raise ValueError("weekly hours are wall times of the calendar's zone: give no tzinfo")
                if e != _MIDNIGHT and e <= s:
                    raise ValueError(
                        f"{_DAY_NAMES[wd]} {_fmt_time(s)}-{_fmt_time(e)}: an interval must end after it "
                        "starts (use time(0) for 24:00; split an overnight shift across the two days)"
                    )
            for (s1, e1), (s2, _) in pairwise(ivs):
                if e1 == _MIDNIGHT or s2 < e1:
                    raise ValueError(
                        f"{_DAY_NAMES[wd]}: intervals {_fmt_time(s1)}-{_fmt_time(e1, True)} "
                        f"and one starting {_fmt_time(s2)} overlap"
                    )
            days.append(tuple(ivs))
        if not any(days):
            raise ValueError("weekly hours are empty: the calendar would never open (weekly=None is 24x7)")
        return tuple(days)

    def _holidays_of(self, year: int) -> frozenset[date]:
        """Closed dates of a local year.

        The callable is asked for the year and both neighbours, and only dates of the year are kept: a
        source may list a holiday *observed* in the previous year (New Year's Day on a Saturday is observed
        on Friday 31 December) under the next year, and the answer must not depend on which years happened
        to be asked first.
        """
        if self._holiday_fn is None:
            return self._fixed_holidays.get(year, frozenset())
        found: set[date] = set()
        for y in (year - 1, year, year + 1):
            got = self._holiday_cache.get(y)
            if got is None:
                got = frozenset(date(d.year, d.month, d.day) for d in self._holiday_fn(y))
                self._holiday_cache[y] = got
            found.update(d for d in got if d.year == year)
        return frozenset(found)

    def _build_year(self, year: int) -> _Year:
        """Open intervals of one local year as UTC instants, and its business days."""
        if not _FIRST_YEAR <= year <= _LAST_YEAR:
            raise OutOfRange(f"year {year} is outside the supported range {_FIRST_YEAR}..{_LAST_YEAR}")
        zone = self.zone
        first = date(year, 1, 1)
        n = (date(year + 1, 1, 1) - first).days
        days = [first + timedelta(days=k) for k in range(n + 1)]
        midnights = [_wall_ts(d, _MIDNIGHT, zone) for d in days]
        closed = self._holidays_of(year)
        raw: list[Interval] = []
        for k in range(n):
            d = days[k]
            if d in closed:
                continue
            for s, e in self._days[d.weekday()]:
                ts_s = midnights[k] if s == _MIDNIGHT else _wall_ts(d, s, zone)
                ts_e = midnights[k + 1] if e == _MIDNIGHT else _wall_ts(d, e, zone)
                raw.append((ts_s, ts_e))
        intervals = _merge(raw)
        if self.closures:
            windows: list[Interval] = []
            for c in self.closures:
                # a closure that starts on 31 December of the year before can reach into this year
                for d in c.start_dates(first - _ONE_DAY, days[n - 1]):
                    end_day = d + _ONE_DAY if c.crosses_midnight else d
                    windows.append((_wall_ts(d, c.start, zone), _wall_ts(end_day, c.end, zone)))
            intervals = _subtract(intervals, _merge(windows))
        ends = [e for _, e in intervals]
        starts = [s for s, _ in intervals]
        bdays: list[int] = []
        base = first.toordinal()
        for k in range(n):
            i = bisect_right(ends, midnights[k])
            if i < len(starts) and starts[i] < midnights[k + 1]:
                bdays.append(base + k)
        return _Year(midnights[0], midnights[n], intervals, bdays)

    def _with_years(self, y0: int, y1: int) -> _Span:
        """Make the searched span cover local years ``y0..y1`` (building missing ones) and return it.

        The span only ever grows (it keeps the years it had), so a snapshot a caller holds stays valid for
        every instant it covered.
        """
        cur = self._span
        if cur.y0 <= cur.y1:
            y0, y1 = min(y0, cur.y0), max(y1, cur.y1)
        for y in range(y0, y1 + 1):
            if y not in self._years:
                self._years[y] = self._build_year(y)
        span = _Span(y0, y1, [self._years[y] for y in range(y0, y1 + 1)])
        self._span = span
        self._state = span.state
        return span

    def _cover(self, ts: float) -> _Span:
        """Extend the span so it contains instant ``ts``: the slow path of every query, taken once per
        newly reached year."""
        span = self._span
        if not _MIN_TS <= ts <= _MAX_TS:
            raise OutOfRange(
                f"{_describe_ts(ts)} is outside the supported range (years {_FIRST_YEAR}..{_LAST_YEAR})"
            )
        y = datetime.fromtimestamp(ts, self.zone).year
        if span.y1 < span.y0:
            span = self._with_years(y, y)
        elif not span.y0 <= y <= span.y1:  # one step to the year, not one per year in between
            span = self._with_years(min(y, span.y0), max(y, span.y1))
        while ts < span.lo:
            span = self._with_years(span.y0 - 1, span.y1)
        while ts >= span.hi:
            span = self._with_years(span.y0, span.y1 + 1)
        return span

    def _cover_year(self, year: int) -> _Span:
        """Extend the span so it contains local year ``year``."""
        span = self._span
        if span.y1 < span.y0:
            return self._with_years(year, year)
        if span.y0 <= year <= span.y1:
            return span
        return self._with_years(min(year, span.y0), max(year, span.y1))

    def _grow_forward(
        self, span: _Span, need_total: float | None = None, need_after: float | None = None
    ) -> _Span:
        """Append years until the span holds ``need_total`` open seconds or an interval ending after
        ``need_after``. Gives up after ``_MAX_EMPTY_YEARS`` years that add no open time."""
        if need_total is not None and not math.isfinite(need_total):
            raise OutOfRange(f"cannot add an infinite or NaN amount of open time ({need_total})")
        empty = 0
        while True:
            if need_total is not None and span.total >= need_total:
                return span
            if need_after is not None and span.n and span.ends[span.n - 1] > need_after:
                return span
            before = span.total
            # jump by an estimate of the years still needed, so a multi-year span builds in one go
            step = 1
            if need_total is not None and before > 0:
                per_year = before / (span.y1 - span.y0 + 1)
                step = max(1, min(50, int((need_total - before) / per_year)))
            span = self._with_years(span.y0, min(span.y1 + step, _LAST_YEAR + 1))
            empty = empty + step if span.total == before else 0
            if empty >= _MAX_EMPTY_YEARS:
                raise OutOfRange(
                    f"calendar {self.name!r} has no open time in {empty} consecutive years up to {span.y1}"
                )

    def _grow_backward(self, span: _Span, need: float) -> _Span:
        """Prepend years until at least ``need`` more open seconds lie before the current span.

        Prefix sums count from the span's start, so callers recompute their positions afterwards.
        """
        empty = 0
        while need > 0:
            before = span.total
            span = self._with_years(span.y0 - 1, span.y1)
            added = span.total - before
            need -= added
            empty = empty + 1 if added == 0 else 0
            if empty >= _MAX_EMPTY_YEARS:
                raise OutOfRange(
                    f"calendar {self.name!r} has no open time in {empty} consecutive years from {span.y0}"
                )
        return span

    # ------------------------------------------------------------------ queries

    def is_open(self, t: datetime) -> bool:
        """Whether instant ``t`` is inside opening hours (intervals are half-open: the closing instant is
        closed)."""
        try:
            delta = t - _EPOCH
        except TypeError:
            raise _naive(t) from None
        if self.always_open:
            return True
        ts = delta.total_seconds()
        span = self._span
        if not span.lo <= ts < span.hi:
            span = self._cover(ts)
        i = bisect_right(span.starts, ts) - 1
        return i >= 0 and ts < span.ends[i]

    def _next_open_ts(self, ts: float) -> float:
        span = self._cover(ts)
        i = bisect_right(span.ends, ts)
        if i == span.n:
            span = self._grow_forward(span, need_after=ts)
            i = bisect_right(span.ends, ts)
        s = span.starts[i]
        return s if s > ts else ts

    def next_open(self, t: datetime) -> datetime:
        """``t`` itself (in the calendar's zone) if open, else the next opening instant."""
        try:
            delta = t - _EPOCH
        except TypeError:
            raise _naive(t) from None
        if self.always_open:
            return _in_zone(t, self.zone)
        ts = delta.total_seconds()
        nxt = self._next_open_ts(ts)
        return _in_zone(t, self.zone) if nxt == ts else _fromts(nxt, self.zone)

    def add(self, start: datetime, seconds: float) -> datetime:
        """The first instant at which ``seconds`` of open time have elapsed, counting from ``start``.

        A start outside hours counts from the next opening, so the answer to "due 8 business hours after a
        Saturday ticket" is Monday 16:00. When the count runs out exactly at a closing time the closing
        instant is returned (it is the first instant the time has elapsed), not the next opening.
        ``seconds == 0`` returns ``next_open(start)``. Negative ``seconds`` count backwards: the latest
        instant ``r`` with ``between(r, start) == -seconds``.
        """
        # This is the hot path of every due-date computation, hence the inlining: _aware_ts, the span
        # check and _Span.elapsed are written out, and the arrays come from one tuple unpack.
        try:
            delta = start - _EPOCH
        except TypeError:
            raise _naive(start) from None
        ts = delta.total_seconds()
        lo, hi, starts, ends, cum, cumend, total = self._state
        if not lo <= ts < hi:
            if self.always_open:  # never built, so 24x7 calendars always come here
                # exact datetime arithmetic in UTC (aware + timedelta in a DST zone would add wall time)
                try:
                    return (_EPOCH + (delta + timedelta(seconds=seconds))).astimezone(self.zone)
                except OverflowError:
                    raise OutOfRange(
                        f"{start.isoformat()} plus {seconds} seconds is past the last supported year"
                    ) from None
            lo, hi, starts, ends, cum, cumend, total = self._cover(ts).state
        if seconds > 0:
            if ts + seconds > _MAX_TS:  # open time never runs faster than the clock
                raise OutOfRange(
                    f"{seconds} seconds of open time from {start.isoformat()} end after year {_LAST_YEAR}"
                )
            i = bisect_right(ends, ts)
            s = starts[i]
            target = (cum[i] + ts - s if ts > s else cum[i]) + seconds
            while target > total:  # the answer lies beyond the built years
                lo, hi, starts, ends, cum, cumend, total = self._grow_forward(self._cover(ts), target).state
                i = bisect_right(ends, ts)
                s = starts[i]
                target = (cum[i] + ts - s if ts > s else cum[i]) + seconds
            j = bisect_left(cumend, target)
            return _fromts(starts[j] + (target - cum[j]), self.zone)
        if seconds == 0:
            return self.next_open(start)
        if not math.isfinite(seconds):
            raise OutOfRange(f"cannot add an infinite or NaN amount of open time ({seconds})")
        span = self._cover(ts)
        target = span.elapsed(ts) + seconds
        while target < 0:
            span = self._grow_backward(span, -target)
            target = span.elapsed(ts) + seconds
        k = bisect_right(span.cum, target) - 1
        return _fromts(span.starts[k] + (target - span.cum[k]), self.zone)

    def between(self, a: datetime, b: datetime) -> float:
        """Open seconds in ``[a, b)``; negative (``-between(b, a)``) when ``b`` is before ``a``, so that
        "time left" and "time overdue" come from the same call."""
        try:
            da = a - _EPOCH
        except TypeError:
            raise _naive(a) from None
        try:
            db = b - _EPOCH
        except TypeError:
            raise _naive(b) from None
        ta = da.total_seconds()
        tb = db.total_seconds()
        lo, hi, starts, ends, cum, _, _ = self._state
        if not (lo <= ta < hi and lo <= tb < hi):
            if self.always_open:
                return (db - da).total_seconds()
            self._cover(ta)
            lo, hi, starts, ends, cum, _, _ = self._cover(tb).state
        # _Span.elapsed(tb) - _Span.elapsed(ta), inlined
        i = bisect_right(ends, tb)
        s = starts[i]
        cb = cum[i] + tb - s if tb > s else cum[i]
        i = bisect_right(ends, ta)
        s = starts[i]
        return cb - (cum[i] + ta - s if ta > s else cum[i])

    def is_business_day(self, d: date) -> bool:
        """Whether local date ``d`` has any open time (after holidays and closures)."""
        if isinstance(d, datetime):
            raise ValueError(f"is_business_day takes a local date, got the datetime {d!r}")
        if self.always_open:
            return True
        span = self._cover_year(d.year)
        o = d.toordinal()
        i = bisect_left(span.bdays, o)
        return i < len(span.bdays) and span.bdays[i] == o

    def add_business_days(self, start: datetime, days: int) -> datetime:
        """The same local time on the ``days``-th following business day.

        A start outside hours is first moved to the next opening (a ticket filed on Saturday with "1
        business day" is due Tuesday at opening, not Monday). If that local time is not open on the target
        day (shorter hours, a closure) the result is the next opening after it. ``days == 0`` is
        ``next_open(start)``; negative ``days`` count back to the ``|days|``-th previous business day.
        """
        moved = self.next_open(start)
        if days == 0:
            return moved
        local_day = moved.date()
        wall = moved.time().replace(fold=0)
        if self.always_open:  # every date is a business day; no year needs building
            return self.next_open(datetime.combine(local_day + timedelta(days=days), wall, self.zone))
        o = local_day.toordinal()
        # a business day is at least a calendar day: refuse at once what must end past the range
        if o + days > date(_LAST_YEAR, 12, 31).toordinal() or o + days < date(_FIRST_YEAR, 1, 1).toordinal():
            raise OutOfRange(
                f"{days} business days from {local_day.isoformat()} end outside the supported years "
                f"{_FIRST_YEAR}..{_LAST_YEAR}"
            )
        span = self._cover_year(local_day.year)
        empty = 0
        while True:
            # the index of the target in the span's sorted business days (recomputed after growing)
            idx = bisect_right(span.bdays, o) + days - 1 if days > 0 else bisect_left(span.bdays, o) + days
            if 0 <= idx < len(span.bdays):
                break
            before = len(span.bdays)
            # grow by an estimate of the years still needed (at most 50 at a time), not year by year
            per_year = before / (span.y1 - span.y0 + 1)
            missing = idx - len(span.bdays) + 1 if days > 0 else -idx
            step = max(1, min(50, int(missing / per_year))) if per_year else 1
            edge = span.y1 >= _LAST_YEAR if days > 0 else span.y0 <= _FIRST_YEAR
            if edge:
                raise OutOfRange(
                    f"{days} business days from {local_day.isoformat()} end outside the supported years "
                    f"{_FIRST_YEAR}..{_LAST_YEAR}"
                )
            if days > 0:
                span = self._with_years(span.y0, min(span.y1 + step, _LAST_YEAR))
            else:
                span = self._with_years(max(span.y0 - step, _FIRST_YEAR), span.y1)
            empty = empty + step if len(span.bdays) == before else 0
            if empty >= _MAX_EMPTY_YEARS:
                raise OutOfRange(f"calendar {self.name!r} has no business day in {empty} consecutive years")
        target = date.fromordinal(span.bdays[idx])
        return self.next_open(datetime.combine(target, wall, self.zone))

    def open_intervals(self, a: datetime, b: datetime) -> list[tuple[datetime, datetime]]:
        """The open stretches within ``[a, b)``, clipped to it, in the calendar's zone: what ``between``
        summed, for reports and "explain this due date"."""
        ta, tb = _aware_ts(a), _aware_ts(b)
        if tb <= ta:
            return []
        zone = self.zone
        if self.always_open:
            return [(_in_zone(a, zone), _in_zone(b, zone))]
        self._cover(ta)
        span = self._cover(tb)
        out: list[tuple[datetime, datetime]] = []
        i = bisect_right(span.ends, ta)
        while span.starts[i] < tb:  # the +inf sentinel ends the loop
            s, e = span.starts[i], span.ends[i]
            out.append(
                (
                    _in_zone(a, zone) if s <= ta else _fromts(s, zone),
                    _in_zone(b, zone) if e >= tb else _fromts(e, zone),
                )
            )
            i += 1
        return out

    def describe(self) -> str:
        """One line for humans, e.g. ``Mon-Fri 08:00-17:00 America/Denver, holidays, 1 closure``."""
        if not self._weekly_given:
            parts = [f"24x7 {self.zone.key}"]
        else:
            groups: list[tuple[int, int, DaySpec]] = []
            for wd, spec in enumerate(self._days):
                if not spec:
                    continue
                if groups and groups[-1][1] == wd - 1 and groups[-1][2] == spec:
                    groups[-1] = (groups[-1][0], wd, spec)
                else:
                    groups.append((wd, wd, spec))
            texts = []
            for lo, hi, spec in groups:
                days = _DAY_NAMES[lo] if lo == hi else f"{_DAY_NAMES[lo]}-{_DAY_NAMES[hi]}"
                hours = "+".join(f"{_fmt_time(s)}-{_fmt_time(e, end=True)}" for s, e in spec)
                texts.append(f"{days} {hours}")
            parts = [f"{', '.join(texts)} {self.zone.key}"]
        if self._has_holidays:
            parts.append("holidays")
        if self.closures:
            n = len(self.closures)
            parts.append(f"{n} closure" if n == 1 else f"{n} closures")
        return ", ".join(parts)

    def __repr__(self) -> str:
        return f"BusinessCalendar({self.name!r}: {self.describe()})"
