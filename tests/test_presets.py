"""The five bundled presets against their seed tables (``/work/shared/seed-policies.md``).

Every expected instant below was worked out by hand from the seed and the preset's documented readings
(the comment next to it shows the sum) and is written as a literal ISO instant with its UTC offset: nothing
here asks the code under test for an expectation. Aware datetimes compare as instants, so an expectation
written in the case's local offset matches an answer given in the calendar's zone.

Opening instants are chosen to exercise the calendars: Friday afternoon, before opening hours, the day
before a public holiday, a holiday itself, a daylight-saving week, the monthly maintenance night.
"""

from __future__ import annotations

import json
from datetime import datetime
from functools import cache

import pytest
from click.testing import CliRunner

from casewarden.policy.case import Author, Case, LevelChange, Link, Milestone, Reply, StatusChange
from casewarden.policy.compiled import Policy
from casewarden.policy.evaluate import evaluate
from casewarden.policy.explain import due_untouched
from casewarden.policy.loader import load_policy, load_policy_text
from casewarden.policy.presets import preset_names, preset_path
from casewarden.policy.results import Evaluation, PlannedAction, TargetResult, TargetState
from casewarden.sync.cli import main

PRESETS = (
    "severity-follow-the-sun",
    "priority-restoration",
    "priority-activation",
    "tiered-partner",
    "priority-lifecycle",
)


def t(text: str) -> datetime:
    """A literal instant: ISO 8601 with its UTC offset (a naive one is a mistake in the test)."""
    value = datetime.fromisoformat(text)
    assert value.tzinfo is not None, text
    return value


@cache
def pol(name: str) -> Policy:
    return load_policy(name)


def mk(
    opened: str,
    level: str | list[tuple[str, str]] | None,
    *,
    statuses: list[tuple[str, str]] | None = None,
    agent: tuple[str, ...] = (),
    customer: tuple[str, ...] = (),
    milestones: tuple[tuple[str, str], ...] = (),
    links: tuple[Link, ...] = (),
    hold_until: str | None = None,
    etr: str | None = None,
    **extra: object,
) -> Case:
    """A case from literal instants. ``level`` is the level at opening, or [(at, level), ...], or None
    (no level set: intake decides). ``statuses`` defaults to New at the opening."""
    at = t(opened)
    if level is None:
        levels: tuple[LevelChange, ...] = ()
    elif isinstance(level, str):
        levels = (LevelChange(at, level),)
    else:
        levels = tuple(LevelChange(t(w), lv) for w, lv in level)
    history = tuple(StatusChange(t(w), s) for w, s in (statuses or [(opened, "New")]))
    replies = tuple(
        sorted(
            [*(Reply(t(w), Author.AGENT) for w in agent), *(Reply(t(w), Author.CUSTOMER) for w in customer)],
            key=lambda r: r.at,
        )
    )
    return Case(
        id="C-1",
        opened_at=at,
        level_history=levels,
        status_history=history,
        replies=replies,
        milestones=tuple(Milestone(t(w), n) for w, n in milestones),
        links=links,
        hold_until=t(hold_until) if hold_until else None,
        etr=t(etr) if etr else None,
        **extra,
    )  # type: ignore[arg-type]


def target(ev: Evaluation, name: str) -> TargetResult:
    found = ev.target(name)
    assert found is not None, f"no target {name} in {[x.name for x in ev.targets]}"
    return found


def actions(items: tuple[PlannedAction, ...], kind: str | None = None) -> list[PlannedAction]:
    return [a for a in items if kind is None or a.kind == kind]


def flag_names(ev: Evaluation) -> list[str]:
    return [f.split(":", 1)[0] for f in ev.flags]


# --------------------------------------------------------------------------- every preset loads


def test_the_five_presets_are_bundled() -> None:
    assert set(PRESETS) <= set(preset_names())


@pytest.mark.parametrize("name", PRESETS)
def test_preset_validates(name: str) -> None:
    result = CliRunner().invoke(main, ["policy", "validate", name])
    assert result.exit_code == 0, result.output
    assert f"ok {name}: {name}" in result.output
    p = pol(name)
    assert p.name == name
    assert p.spec.policy.readings, "every preset documents its readings"
    assert p.spec.policy.source.startswith("seed ")


@pytest.mark.parametrize("name", PRESETS)
def test_preset_explains(name: str) -> None:
    result = CliRunner().invoke(main, ["policy", "explain", name, "--format", "markdown"])
    assert result.exit_code == 0, result.output
    assert f"Levels of {name}" in result.output
    for lv in pol(name).spec.levels:
        assert lv.id in result.output


@pytest.mark.parametrize("name", PRESETS)
def test_preset_contains_no_real_contact_data(name: str) -> None:
    path = preset_path(name)
    assert path is not None
    text = path.read_text(encoding="utf-8")
    assert "@" not in text.replace("@example.com", "")
    for real in ("bluecoat", "calltower", "roxen", "bluip", "(408)", "(800)", "(801)", "541 3700"):
        assert real not in text.lower()


# --------------------------------------------------------------------------- the seed tables, row by row
# (preset, level, opened, region, {target: (due, warn)}, [escalation instants by level])


class AtOpening(str):
    """An 'N business days' due instant counted from a start at or before the calendar's opening (a case
    opened before hours or on a closed day). design.md: 'N business days' = the same local time on the Nth
    following business day, a start outside hours first moved to the next opening; so it is due *at the
    opening* of that day. Checked apart, in test_business_days_from_an_opening."""


ROWS = [
    # ---- seed 1: severity, follow-the-sun. Friday 20 Nov 2026 15:00 Los Angeles (PST, -08:00);
    # Thanksgiving (Thu 26 Nov) is a US holiday on the americas calendar (Mon-Fri 08:00-17:00).
    pytest.param(
        "severity-follow-the-sun",
        "S1",
        "2026-11-20T15:00-08:00",
        None,
        {
            "first_response": ("2026-11-20T15:15-08:00", None),  # immediate = 15 min
            "escalation": ("2026-11-20T17:00-08:00", "2026-11-20T16:30-08:00"),  # 2 h, warn at 75 %
            "periodic_update": ("2026-11-20T16:00-08:00", None),  # continuous = hourly
        },
        [],
        id="seed1-S1",
    ),
    pytest.param(
        "severity-follow-the-sun",
        "S2",
        "2026-11-20T15:00-08:00",
        None,
        {
            "first_response": ("2026-11-20T16:00-08:00", None),
            "escalation": ("2026-11-21T15:00-08:00", "2026-11-21T09:00-08:00"),  # 24 h, warn at 18 h
            "periodic_update": ("2026-11-21T15:00-08:00", None),  # daily, 24x7
        },
        [],
        id="seed1-S2",
    ),
    pytest.param(
        "severity-follow-the-sun",
        "S3",
        "2026-11-20T15:00-08:00",
        None,
        {
            # 8 business hours: Fri 15-17 (2 h) + Mon 08-14 (6 h)
            "first_response": ("2026-11-23T14:00-08:00", None),
            # 5 business days: Mon 23, Tue 24, Wed 25, (Thanksgiving), Fri 27, Mon 30 -> same local time
            "escalation": ("2026-11-30T15:00-08:00", None),
            "periodic_update": ("2026-11-30T15:00-08:00", None),  # weekly = 5 business days
        },
        [],
        id="seed1-S3-friday-afternoon-americas",
    ),
    pytest.param(
        "severity-follow-the-sun",
        "S4",
        "2026-11-20T15:00-08:00",
        None,
        {
            "first_response": ("2026-11-25T15:00-08:00", None),  # 3 business days: 23, 24, 25
            # 10 business days: 23, 24, 25, 27, 30, Dec 1, 2, 3, 4, 7
            "escalation": ("2026-12-07T15:00-08:00", None),
            "periodic_update": ("2026-11-30T15:00-08:00", None),
        },
        [],
        id="seed1-S4-friday-afternoon-americas",
    ),
    pytest.param(
        "severity-follow-the-sun",
        "S4",
        "2026-03-09T06:00-07:00",
        "americas",
        {
            # Monday after the spring DST change, before opening: moved to 08:00 PDT first
            "first_response": (AtOpening("2026-03-12T08:00-07:00"), None),  # Tue 10, Wed 11, Thu 12
            "escalation": (AtOpening("2026-03-23T08:00-07:00"), None),  # 10, 11, 12, 13, 16 .. 20, 23
            "periodic_update": (AtOpening("2026-03-16T08:00-07:00"), None),  # 10, 11, 12, 13, 16
        },
        [],
        id="seed1-S4-before-opening-dst-week",
    ),
    pytest.param(
        "severity-follow-the-sun",
        "S3",
        "2026-12-24T16:00+00:00",
        "emea",
        {
            # London: Thu 24 Dec 16-17 (1 h); Christmas Fri 25; Boxing Day (Sat 26) observed Mon 28;
            # Tue 29 08:00 + 7 h
            "first_response": ("2026-12-29T15:00+00:00", None),
            # 5 business days: Tue 29, Wed 30, Thu 31, (New Year Fri 1 Jan), Mon 4, Tue 5
            "escalation": ("2027-01-05T16:00+00:00", None),
            "periodic_update": ("2027-01-05T16:00+00:00", None),
        },
        [],
        id="seed1-S3-day-before-holiday-emea",
    ),
    pytest.param(
        "severity-follow-the-sun",
        "S3",
        "2026-08-10T06:00+08:00",
        "apac",
        {
            # Singapore: Mon 10 Aug is National Day (observed), before hours anyway -> Tue 11 08:00 + 8 h
            "first_response": ("2026-08-11T16:00+08:00", None),
            # from Tue 11 08:00: Wed 12, Thu 13, Fri 14, Mon 17, Tue 18
            "escalation": (AtOpening("2026-08-18T08:00+08:00"), None),
            "periodic_update": (AtOpening("2026-08-18T08:00+08:00"), None),
        },
        [],
        id="seed1-S3-holiday-apac",
    ),
    # ---- seed 2: priority with restoration and fixes; calendar time (24x7). Fri 1 May 2026 10:00 UTC.
    pytest.param(
        "priority-restoration",
        "P1",
        "2026-05-01T10:00+00:00",
        None,
        {
            "first_response": ("2026-05-01T10:30+00:00", None),  # 30 min
            "restoration": ("2026-05-02T10:00+00:00", None),  # 24 hours
            "temporary_fix": ("2026-05-11T10:00+00:00", "2026-05-06T10:00+00:00"),  # 5 to 10 days
            "permanent_fix": ("2026-07-30T10:00+00:00", "2026-06-30T10:00+00:00"),  # 60 to 90 days
            "hardware_replaced": (None, None),  # per service plan: untimed
        },
        [],
        id="seed2-P1",
    ),
    pytest.param(
        "priority-restoration",
        "P2",
        "2026-05-01T10:00+00:00",
        None,
        {
            "first_response": ("2026-05-01T12:00+00:00", None),  # 2 hours
            "restoration": ("2026-05-04T10:00+00:00", None),  # 72 hours
            "permanent_fix": (None, None),  # next patch/maintenance release
        },
        [],
        id="seed2-P2",
    ),
    pytest.param(
        "priority-restoration",
        "P3",
        "2026-05-01T10:00+00:00",
        None,
        {
            "first_response": ("2026-05-02T10:00+00:00", None),  # 24 hours
            "restoration": ("2026-05-11T10:00+00:00", None),  # 10 days
            "permanent_fix": (None, None),
        },
        [],
        id="seed2-P3",
    ),
    pytest.param(
        "priority-restoration",
        "P4",
        "2026-05-01T10:00+00:00",
        None,
        {
            "first_response": ("2026-05-02T10:00+00:00", None),
            "restoration": ("2026-05-11T10:00+00:00", None),
        },
        [],
        id="seed2-P4",
    ),
    # ---- seed 3: priority with activation; calendar time. Fri 1 May 2026 10:00 UTC.
    pytest.param(
        "priority-activation",
        "Critical",
        "2026-05-01T10:00+00:00",
        None,
        {
            "first_response": ("2026-05-01T11:00+00:00", None),  # 0-1 hours
            "activation": ("2026-05-01T11:00+00:00", None),  # immediately (= 1 hour)
            "periodic_update": ("2026-05-01T14:00+00:00", None),  # 4 hours
        },
        [],
        id="seed3-Critical",
    ),
    pytest.param(
        "priority-activation",
        "High",
        "2026-05-01T10:00+00:00",
        None,
        {
            "first_response": ("2026-05-01T14:00+00:00", None),  # 4 hours
            "activation": ("2026-05-02T10:00+00:00", None),  # daily
            "periodic_update": ("2026-05-02T10:00+00:00", None),  # daily
        },
        [],
        id="seed3-High",
    ),
    pytest.param(
        "priority-activation",
        "Normal",
        "2026-05-01T10:00+00:00",
        None,
        {
            "first_response": ("2026-05-02T10:00+00:00", None),  # 1 day
            "activation": ("2026-05-03T10:00+00:00", None),  # reading: 2 days
            "periodic_update": ("2026-05-08T10:00+00:00", None),  # reading: weekly
        },
        [],
        id="seed3-Normal",
    ),
    pytest.param(
        "priority-activation",
        "Low",
        "2026-05-01T10:00+00:00",
        None,
        {
            "first_response": ("2026-05-03T10:00+00:00", None),  # reading: 2 days
            "activation": (None, None),  # reading: untimed
            "periodic_update": ("2026-05-08T10:00+00:00", None),  # reading: weekly
        },
        [],
        id="seed3-Low",
    ),
    # ---- seed 4: tiered partner; clock hours 24x7. Fri 1 May 2026 22:30 UTC (the path runs overnight).
    pytest.param("tiered-partner", "T1", "2026-05-01T22:30+00:00", None, {}, [], id="seed4-TierI"),
    pytest.param(
        "tiered-partner",
        "T2",
        "2026-05-01T22:30+00:00",
        None,
        {
            "first_response": ("2026-05-01T23:30+00:00", None),  # 1 hour
        },
        [
            "2026-05-02T02:30+00:00",
            "2026-05-02T06:30+00:00",  # 4 h, 8 h,
            "2026-05-02T08:30+00:00",
            "2026-05-02T10:30+00:00",
        ],
        id="seed4-TierII",
    ),  # 10 h, 12 h
    pytest.param(
        "tiered-partner",
        "T3",
        "2026-05-01T22:30+00:00",
        None,
        {
            "first_response": ("2026-05-01T22:45+00:00", None),  # immediate = 15 min
        },
        [
            "2026-05-02T02:30+00:00",
            "2026-05-02T06:30+00:00",
            "2026-05-02T08:30+00:00",
            "2026-05-02T10:30+00:00",
        ],
        id="seed4-TierIII",
    ),
    # ---- seed 5: priority lifecycle. Wed 25 Nov 2026 16:30 Denver (MST, -07:00), the day before
    # Thanksgiving. Extended hours Mon-Fri 07:00-19:00.
    pytest.param(
        "priority-lifecycle",
        "P1G",
        "2026-11-25T16:30-07:00",
        None,
        {
            "first_response": ("2026-11-25T16:45-07:00", None),  # immediate = 15 min
            "periodic_update": ("2026-11-25T17:30-07:00", None),  # hourly
        },
        [
            "2026-11-25T17:30-07:00",
            "2026-11-25T20:30-07:00",  # reading: 1 h, 4 h,
            "2026-11-26T00:30-07:00",
            "2026-11-26T16:30-07:00",
        ],
        id="seed5-P1G",
    ),  # 8 h, 24 h
    pytest.param(
        "priority-lifecycle",
        "P1",
        "2026-11-25T16:30-07:00",
        None,
        {
            "first_response": ("2026-11-25T16:45-07:00", None),  # 15 min
            "periodic_update": ("2026-11-25T17:30-07:00", None),  # hourly
        },
        [
            "2026-11-25T17:30-07:00",
            "2026-11-25T20:30-07:00",
            "2026-11-26T00:30-07:00",
            "2026-11-26T16:30-07:00",
        ],
        id="seed5-P1",
    ),
    pytest.param(
        "priority-lifecycle",
        "P2",
        "2026-11-25T16:30-07:00",
        None,
        {
            "first_response": ("2026-11-25T17:00-07:00", None),  # 30 min
            "periodic_update": ("2026-11-25T18:30-07:00", None),  # 2 hours
        },
        [
            "2026-11-25T17:30-07:00",
            "2026-11-25T20:30-07:00",
            "2026-11-26T00:30-07:00",
            "2026-11-26T16:30-07:00",
        ],
        id="seed5-P2",
    ),
    pytest.param(
        "priority-lifecycle",
        "P3",
        "2026-11-25T16:30-07:00",
        None,
        {
            # 4 business hours: Wed 16:30-19:00 (2.5 h), Thanksgiving, Fri 07:00-08:30 (1.5 h)
            "first_response": ("2026-11-27T08:30-07:00", None),
            "periodic_update": ("2026-11-27T16:30-07:00", None),  # 1 business day: Fri 27
        },
        [
            "2026-12-03T16:30-07:00",  # 5 business days: support desk
            "2026-12-10T16:30-07:00",  # 10 business days: support managers
        ],
        id="seed5-P3-day-before-thanksgiving",
    ),  # 10: Fri 4 .. Thu 10
    pytest.param(
        "priority-lifecycle",
        "P4",
        "2026-11-25T16:30-07:00",
        None,
        {
            "first_response": ("2026-11-27T16:30-07:00", None),  # 1 business day
            "periodic_update": ("2026-11-30T16:30-07:00", None),  # 2 business days: Fri, Mon
        },
        [
            "2026-12-03T16:30-07:00",  # 5 business days: support desk
            "2026-12-10T16:30-07:00",  # 10 business days: support managers
        ],
        id="seed5-P4-day-before-thanksgiving",
    ),
    pytest.param(
        "priority-lifecycle",
        "P3",
        "2026-03-09T05:00-06:00",
        None,
        {
            # Monday after the DST change (MDT), before opening: 07:00 + 4 h
            "first_response": ("2026-03-09T11:00-06:00", None),
            "periodic_update": (AtOpening("2026-03-10T07:00-06:00"), None),
        },
        [
            "2026-03-16T07:00-06:00",  # 5 business days: support desk
            "2026-03-23T07:00-06:00",  # 10 business days: support managers
        ],
        id="seed5-P3-before-opening",
    ),  # 5, 10
    pytest.param(
        "priority-lifecycle",
        "P4",
        "2026-03-09T05:00-06:00",
        None,
        {
            "first_response": (AtOpening("2026-03-10T07:00-06:00"), None),  # next opening + 1 business day
            "periodic_update": (AtOpening("2026-03-11T07:00-06:00"), None),
        },
        [
            "2026-03-16T07:00-06:00",  # 5 business days: support desk
            "2026-03-23T07:00-06:00",  # 10 business days: support managers
        ],
        id="seed5-P4-before-opening",
    ),
    pytest.param(
        "priority-lifecycle",
        "P3",
        "2026-07-10T17:00-06:00",
        None,
        {
            "first_response": ("2026-07-13T09:00-06:00", None),  # Fri 17-19 (2 h) + Mon 07-09
            "periodic_update": ("2026-07-13T17:00-06:00", None),  # Monday, same local time
        },
        [
            "2026-07-17T17:00-06:00",  # 5 business days: support desk
            "2026-07-24T17:00-06:00",  # 10 business days: support managers
        ],
        id="seed5-P3-friday-afternoon",
    ),
    pytest.param(
        "priority-lifecycle",
        "P4",
        "2026-07-02T10:00-06:00",
        None,
        {
            # Thursday before Independence Day, observed Friday 3 July: next business day is Monday 6
            "first_response": ("2026-07-06T10:00-06:00", None),
            "periodic_update": ("2026-07-07T10:00-06:00", None),
        },
        [
            "2026-07-10T10:00-06:00",  # 5 business days: support desk
            "2026-07-17T10:00-06:00",  # 10 business days: support managers
        ],
        id="seed5-P4-day-before-july-4th-observed",
    ),
    pytest.param(
        "priority-lifecycle",
        "Standard",
        "2026-11-20T18:00-07:00",
        None,
        {
            "first_response": ("2026-11-23T18:00-07:00", None),  # 1 business day: Monday
            "done": ("2026-11-24T18:00-07:00", None),  # 2 business days: Tuesday
        },
        [],
        id="seed5-MACD-Standard-friday-evening",
    ),
    pytest.param(
        "priority-lifecycle",
        "Expedited",
        "2026-11-20T18:00-07:00",
        None,
        {
            "first_response": ("2026-11-23T10:00-07:00", None),  # Fri 18-19 (1 h) + Mon 07-10
            "done": ("2026-11-23T18:00-07:00", None),  # 1 business day
        },
        [],
        id="seed5-MACD-Expedited-friday-evening",
    ),
    pytest.param(
        "priority-lifecycle",
        "Standard",
        "2026-11-21T10:00-07:00",
        None,
        {
            # Saturday: handled the next business day (Mon 07:00), then 1 / 2 business days later
            "first_response": (AtOpening("2026-11-24T07:00-07:00"), None),
            "done": (AtOpening("2026-11-25T07:00-07:00"), None),
        },
        [],
        id="seed5-MACD-Standard-saturday",
    ),
    pytest.param(
        "priority-lifecycle",
        "Expedited",
        "2026-11-21T10:00-07:00",
        None,
        {
            "first_response": ("2026-11-23T11:00-07:00", None),  # Mon 07:00 + 4 h
            "done": (AtOpening("2026-11-24T07:00-07:00"), None),
        },
        [],
        id="seed5-MACD-Expedited-saturday",
    ),
]


def _instants(
    expected: dict[str, tuple[str | None, str | None]], *, at_opening: bool
) -> dict[str, tuple[datetime | None, datetime | None]]:
    return {
        name: (t(due) if due else None, t(warn) if warn else None)
        for name, (due, warn) in expected.items()
        if isinstance(due, AtOpening) is at_opening
    }


@pytest.mark.parametrize(("preset", "level", "opened", "region", "expected", "escalations"), ROWS)
def test_seed_table_row(
    preset: str,
    level: str,
    opened: str,
    region: str | None,
    expected: dict[str, tuple[str | None, str | None]],
    escalations: list[str],
) -> None:
    report = due_untouched(pol(preset), level, t(opened), region)
    assert [x.name for x in report.targets] == list(expected)
    want = _instants(expected, at_opening=False)
    got = {x.name: (x.due, x.warn_at) for x in report.targets if x.name in want}
    assert got == want
    assert list(report.escalations) == [(i + 1, t(at)) for i, at in enumerate(escalations)]


AT_OPENING_ROWS = [
    pytest.param(*p.values, id=p.id)
    for p in ROWS
    if any(isinstance(due, AtOpening) for due, _ in p.values[4].values())
]


@pytest.mark.parametrize(("preset", "level", "opened", "region", "expected", "escalations"), AT_OPENING_ROWS)
def test_business_days_from_an_opening(
    preset: str,
    level: str,
    opened: str,
    region: str | None,
    expected: dict[str, tuple[str | None, str | None]],
    escalations: list[str],
) -> None:
    report = due_untouched(pol(preset), level, t(opened), region)
    want = _instants(expected, at_opening=True)
    assert want
    assert {x.name: (x.due, x.warn_at) for x in report.targets if x.name in want} == want


def test_business_days_at_opening_are_the_same_business_time() -> None:
    """What the engine does give for those rows is the same amount of business time: the closing instant
    of the day before is as far from the opening as the contract's instant (no open time lies between)."""
    p = pol("priority-lifecycle")
    extended = p.calendars["extended"]
    report = due_untouched(p, "P4", t("2026-03-09T05:00-06:00"))
    first = next(x for x in report.targets if x.name == "first_response")
    assert first.due is not None
    assert extended.between(first.due, t("2026-03-10T07:00-06:00")) == 0
    assert extended.between(t("2026-03-09T05:00-06:00"), first.due) == 12 * 3600


# --------------------------------------------------------------------------- seed 1 behaviour

S1 = "severity-follow-the-sun"


def test_seed1_workaround_steps_s1_down_to_s2_and_meets_escalation() -> None:
    c = mk(
        "2026-11-20T15:00-08:00",
        "S1",
        statuses=[("2026-11-20T15:00-08:00", "New"), ("2026-11-20T15:05-08:00", "Open")],
        agent=("2026-11-20T15:05-08:00",),
        milestones=(("2026-11-20T15:40-08:00", "restoration"),),
    )
    ev = evaluate(pol(S1), c, t("2026-11-20T15:45-08:00"))
    step = actions(ev.due, "set_level")
    assert [(a.value, a.due_at) for a in step] == [("S2", t("2026-11-20T15:40-08:00"))]
    esc = target(ev, "escalation")
    assert esc.state is TargetState.MET
    assert esc.met_at == t("2026-11-20T15:40-08:00")


def test_seed1_workaround_steps_s2_down_to_s3() -> None:
    c = mk("2026-11-20T15:00-08:00", "S2", milestones=(("2026-11-21T09:00-08:00", "restoration"),))
    ev = evaluate(pol(S1), c, t("2026-11-21T09:01-08:00"))
    step = actions(ev.due, "set_level")
    assert [(a.value, a.due_at) for a in step] == [("S3", t("2026-11-21T09:00-08:00"))]


def test_seed1_no_second_step_down_once_the_level_was_set_after_the_workaround() -> None:
    # S1 -> S2 at 15:50 after the 15:40 workaround: S2's own on_workaround (S3) must not fire for it
    c = mk(
        "2026-11-20T15:00-08:00",
        [("2026-11-20T15:00-08:00", "S1"), ("2026-11-20T15:50-08:00", "S2")],
        milestones=(("2026-11-20T15:40-08:00", "restoration"),),
    )
    ev = evaluate(pol(S1), c, t("2026-11-20T16:00-08:00"))
    assert ev.level == "S2"
    assert actions(ev.due, "set_level") == [] and actions(ev.upcoming, "set_level") == []


@pytest.mark.parametrize(
    ("level", "channel", "flagged"),
    [
        ("S1", "portal", True),
        ("S2", "portal", True),
        ("S3", "portal", False),
        ("S1", "phone", False),
    ],
)
def test_seed1_portal_s1_s2_need_phone_follow_up(level: str, channel: str, flagged: bool) -> None:
    ev = evaluate(pol(S1), mk("2026-11-20T15:00-08:00", level, channel=channel), t("2026-11-20T15:01-08:00"))
    assert ("phone-follow-up" in flag_names(ev)) is flagged


def test_seed1_escalation_met_by_escalating_to_next_level() -> None:
    c = mk(
        "2026-11-20T15:00-08:00", "S3", region="emea", milestones=(("2026-11-23T09:00-08:00", "escalated"),)
    )
    esc = target(evaluate(pol(S1), c, t("2026-11-23T10:00-08:00")), "escalation")
    assert esc.state is TargetState.MET and esc.met_at == t("2026-11-23T09:00-08:00")


# --------------------------------------------------------------------------- seed 2 behaviour

S2 = "priority-restoration"
P1_OPEN = "2026-05-01T10:00+00:00"


@pytest.mark.parametrize(
    ("now", "state"),
    [
        ("2026-05-06T09:59+00:00", TargetState.RUNNING),
        ("2026-05-06T10:00+00:00", TargetState.WARNING),  # low end of '5 to 10 days'
        ("2026-05-11T09:59+00:00", TargetState.WARNING),
        ("2026-05-11T10:00+00:00", TargetState.BREACHED),  # high end
    ],
)
def test_seed2_range_warns_low_and_breaches_high(now: str, state: TargetState) -> None:
    tf = target(evaluate(pol(S2), mk(P1_OPEN, "P1"), t(now)), "temporary_fix")
    assert tf.state is state
    assert tf.warn_at == t("2026-05-06T10:00+00:00") and tf.due_at == t("2026-05-11T10:00+00:00")


def test_seed2_temporary_fix_within_range_is_met() -> None:
    c = mk(P1_OPEN, "P1", milestones=(("2026-05-08T12:00+00:00", "temporary_fix"),))
    ev = evaluate(pol(S2), c, t("2026-05-09T00:00+00:00"))
    assert target(ev, "temporary_fix").state is TargetState.MET
    # the patch also restored service, but after the 24-hour restoration goal
    rest = target(ev, "restoration")
    assert rest.met_at == t("2026-05-08T12:00+00:00") and rest.state is TargetState.BREACHED


def test_seed2_permanent_fix_meets_the_temporary_fix() -> None:
    c = mk(
        P1_OPEN,
        "P1",
        milestones=(
            ("2026-05-01T20:00+00:00", "workaround_noted"),
            ("2026-05-03T10:00+00:00", "permanent_fix"),
        ),
    )
    ev = evaluate(pol(S2), c, t("2026-05-04T00:00+00:00"))
    assert target(ev, "temporary_fix").state is TargetState.MET
    assert target(ev, "permanent_fix").state is TargetState.MET


def test_seed2_next_release_is_tracked_never_due() -> None:
    open_ = evaluate(pol(S2), mk(P1_OPEN, "P2"), t("2027-05-01T10:00+00:00"))
    pf = target(open_, "permanent_fix")
    assert pf.state is TargetState.RUNNING and pf.due_at is None
    done = evaluate(
        pol(S2),
        mk(P1_OPEN, "P2", milestones=(("2026-09-01T00:00+00:00", "permanent_fix"),)),
        t("2027-05-01T10:00+00:00"),
    )
    assert target(done, "permanent_fix").state is TargetState.MET


def test_seed2_p3_workaround_or_temporary_solution() -> None:
    c = mk(P1_OPEN, "P3", milestones=(("2026-05-09T10:00+00:00", "temporary_fix"),))
    rest = target(evaluate(pol(S2), c, t("2026-05-12T00:00+00:00")), "restoration")
    assert rest.state is TargetState.MET and rest.met_at == t("2026-05-09T10:00+00:00")


def test_seed2_priority_change_recomputes_from_opening_and_met_stays_met() -> None:
    # responded at 11:00 as P3, raised to P1 at 12:00: the response stays met (judged as P3)
    c = mk(P1_OPEN, [(P1_OPEN, "P3"), ("2026-05-01T12:00+00:00", "P1")], agent=("2026-05-01T11:00+00:00",))
    ev = evaluate(pol(S2), c, t("2026-05-01T12:30+00:00"))
    assert ev.level == "P1"
    fr = target(ev, "first_response")
    assert (fr.state, fr.level, fr.met_at) == (TargetState.MET, "P3", t("2026-05-01T11:00+00:00"))
    assert target(ev, "restoration").due_at == t("2026-05-02T10:00+00:00")  # P1: opening + 24 h
    assert target(ev, "temporary_fix").due_at == t("2026-05-11T10:00+00:00")
    # not yet responded when raised: P1's 30 minutes from the opening are already past
    c2 = mk(P1_OPEN, [(P1_OPEN, "P3"), ("2026-05-01T12:00+00:00", "P1")])
    fr2 = target(evaluate(pol(S2), c2, t("2026-05-01T12:30+00:00")), "first_response")
    assert fr2.state is TargetState.BREACHED and fr2.due_at == t("2026-05-01T10:30+00:00")


def test_seed2_waiting_on_customer_pauses_restoration_only() -> None:
    c = mk(
        P1_OPEN,
        "P1",
        statuses=[
            (P1_OPEN, "New"),
            ("2026-05-01T10:20+00:00", "Open"),
            ("2026-05-01T12:00+00:00", "Waiting on Customer"),
            ("2026-05-01T18:00+00:00", "Open"),
        ],
    )
    ev = evaluate(pol(S2), c, t("2026-05-01T20:00+00:00"))
    assert target(ev, "restoration").due_at == t("2026-05-02T16:00+00:00")  # + 6 h paused
    assert target(ev, "temporary_fix").due_at == t("2026-05-11T10:00+00:00")  # not paused


def test_seed2_intake_checklist() -> None:
    checklist = pol(S2).spec.intake.required_information
    assert len(checklist) == 10
    partial = evaluate(pol(S2), mk(P1_OPEN, "P1", provided=frozenset(checklist[:8])), t(P1_OPEN))
    assert [f for f in partial.flags if f.startswith("missing information")] == [
        "missing information: routing information, traces"
    ]
    full = evaluate(pol(S2), mk(P1_OPEN, "P1", provided=frozenset(checklist)), t(P1_OPEN))
    assert not [f for f in full.flags if f.startswith("missing information")]


def test_seed2_no_priority_starts_at_p3_for_review() -> None:
    ev = evaluate(pol(S2), mk(P1_OPEN, None), t(P1_OPEN))
    assert ev.level == "P3" and ev.level_defaulted
    assert "level defaulted to P3: review it" in ev.flags


# --------------------------------------------------------------------------- seed 3 behaviour

S3 = "priority-activation"
OPEN3 = "2026-05-01T10:00+00:00"


def test_seed3_activation_is_reaching_an_active_status() -> None:
    c = mk(
        OPEN3,
        "Critical",
        statuses=[
            (OPEN3, "New"),
            ("2026-05-01T10:20+00:00", "Responded"),
            ("2026-05-01T10:50+00:00", "In Progress"),
        ],
        agent=("2026-05-01T10:20+00:00",),
    )
    ev = evaluate(pol(S3), c, t("2026-05-01T11:30+00:00"))
    act = target(ev, "activation")
    assert (act.state, act.met_at) == (TargetState.MET, t("2026-05-01T10:50+00:00"))
    assert target(ev, "first_response").met_at == t("2026-05-01T10:20+00:00")
    assert target(ev, "periodic_update").due_at == t("2026-05-01T14:20+00:00")  # last update + 4 h


def test_seed3_responded_is_not_activated() -> None:
    c = mk(
        OPEN3,
        "Critical",
        statuses=[(OPEN3, "New"), ("2026-05-01T10:20+00:00", "Responded")],
        agent=("2026-05-01T10:20+00:00",),
    )
    act = target(evaluate(pol(S3), c, t("2026-05-01T11:30+00:00")), "activation")
    assert (act.state, act.due_at) == (TargetState.BREACHED, t("2026-05-01T11:00+00:00"))


def test_seed3_waiting_on_customer_pauses_activation_and_updates() -> None:
    c = mk(
        OPEN3,
        "Normal",
        statuses=[
            (OPEN3, "New"),
            ("2026-05-01T11:00+00:00", "Responded"),
            ("2026-05-01T12:00+00:00", "Waiting on Customer"),
            ("2026-05-02T12:00+00:00", "Responded"),
        ],
        agent=("2026-05-01T11:00+00:00",),
    )
    ev = evaluate(pol(S3), c, t("2026-05-02T13:00+00:00"))
    assert target(ev, "activation").due_at == t("2026-05-04T10:00+00:00")  # 2 days + 24 h paused
    assert target(ev, "periodic_update").due_at == t("2026-05-09T11:00+00:00")  # 7 days + 24 h paused


def test_seed3_default_level_is_normal() -> None:
    ev = evaluate(pol(S3), mk(OPEN3, None), t(OPEN3))
    assert ev.level == "Normal" and ev.level_defaulted


def test_seed3_customer_escalation_raises_normal_to_high_tier_one_keeps_ownership() -> None:
    c = mk(
        OPEN3,
        "Normal",
        statuses=[(OPEN3, "New"), ("2026-05-01T10:30+00:00", "Responded")],
        agent=("2026-05-01T10:30+00:00",),
        milestones=(("2026-05-02T09:00+00:00", "customer_escalation"),),
    )
    ev = evaluate(pol(S3), c, t("2026-05-02T09:05+00:00"))
    assert ev.escalation is not None
    assert (ev.escalation.level, ev.escalation.customer_requested) == (1, True)
    esc = [
        (a.kind, a.value if a.kind != "notify" else a.targets, a.due_at)
        for a in ev.due
        if a.key.action.startswith("escalation.")
    ]
    at = t("2026-05-02T09:00+00:00")
    assert esc[:3] == [
        ("raise_level", "High", at),
        ("notify", ("tier-two",), at),
        ("add_follower", "tier-two", at),
    ]
    assert esc[3][0] == "note" and "keeps ownership" in esc[3][1]
    assert not [a for a in ev.due if a.kind == "assign_group"]


def test_seed3_raised_to_high_gets_high_targets_from_the_change() -> None:
    c = mk(
        OPEN3,
        [(OPEN3, "Normal"), ("2026-05-02T09:10+00:00", "High")],
        statuses=[(OPEN3, "New"), ("2026-05-01T10:30+00:00", "Responded")],
        agent=("2026-05-01T10:30+00:00",),
        milestones=(("2026-05-02T09:00+00:00", "customer_escalation"),),
    )
    ev = evaluate(pol(S3), c, t("2026-05-02T10:00+00:00"))
    # High has no escalation path; the level the customer's escalation reached under Normal stands
    assert ev.level == "High" and ev.escalation is not None
    esc = ev.escalation
    assert (esc.path, esc.level, esc.reached_at, esc.customer_requested) == (
        "attention",
        1,
        t("2026-05-02T09:00+00:00"),
        True,
    )
    assert esc.next_level is None and esc.next_at is None
    act = target(ev, "activation")
    assert (act.state, act.due_at) == (TargetState.RUNNING, t("2026-05-03T09:10+00:00"))  # change + 1 day
    fr = target(ev, "first_response")
    assert (fr.state, fr.level) == (TargetState.MET, "Normal")
    # from_change restarts the updates at the change too: change + daily (not last update + daily)
    assert target(ev, "periodic_update").due_at == t("2026-05-03T09:10+00:00")


def test_seed3_escalation_reached_before_a_raise_freezes_when_solved_and_restarts_on_reopen() -> None:
    statuses = [(OPEN3, "New"), ("2026-05-01T10:30+00:00", "Responded")]
    kw = {
        "agent": ("2026-05-01T10:30+00:00",),
        "milestones": (("2026-05-02T09:00+00:00", "customer_escalation"),),
    }
    levels = [(OPEN3, "Normal"), ("2026-05-02T09:10+00:00", "High")]
    solved = mk(OPEN3, levels, statuses=[*statuses, ("2026-05-03T09:00+00:00", "Solved")], **kw)  # type: ignore[arg-type]
    esc = evaluate(pol(S3), solved, t("2026-05-04T09:00+00:00")).escalation
    assert esc is not None and esc.level == 1  # frozen while solved
    reopened = mk(
        OPEN3,
        levels,
        statuses=[*statuses, ("2026-05-03T09:00+00:00", "Solved"), ("2026-05-04T09:00+00:00", "In Progress")],
        **kw,  # type: ignore[arg-type]
    )
    # a reopen starts a new epoch: the level reached under Normal in the first one no longer counts
    assert evaluate(pol(S3), reopened, t("2026-05-04T10:00+00:00")).escalation is None


# --------------------------------------------------------------------------- seed 4 behaviour

S4 = "tiered-partner"
OPEN4 = "2026-05-01T22:30+00:00"


def tier_case(level: str = "T2", **kw: object) -> Case:
    kw.setdefault("statuses", [(OPEN4, "New"), ("2026-05-01T22:40+00:00", "Open")])
    kw.setdefault("agent", ("2026-05-01T22:40+00:00",))
    return mk(OPEN4, level, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("now", "level", "next_at"),
    [
        ("2026-05-01T23:30+00:00", 0, "2026-05-02T02:30+00:00"),  # 1 h: cannot be escalated
        ("2026-05-02T02:29+00:00", 0, "2026-05-02T02:30+00:00"),  # 3 h 59
        ("2026-05-02T02:30+00:00", 1, "2026-05-02T06:30+00:00"),  # 4 h
        ("2026-05-02T06:29+00:00", 1, "2026-05-02T06:30+00:00"),  # 7 h 59
        ("2026-05-02T06:30+00:00", 2, "2026-05-02T08:30+00:00"),  # 8 h
        ("2026-05-02T08:30+00:00", 3, "2026-05-02T10:30+00:00"),  # 10 h
        ("2026-05-02T10:30+00:00", 4, None),  # 12 h
        ("2026-05-03T04:30+00:00", 4, None),  # 30 h: stays at 4
    ],
)
@pytest.mark.parametrize("tier", ["T2", "T3"])
def test_seed4_escalation_path_clock_hours(tier: str, now: str, level: int, next_at: str | None) -> None:
    esc = evaluate(pol(S4), tier_case(tier), t(now)).escalation
    assert esc is not None
    assert esc.level == level
    assert esc.next_at == (t(next_at) if next_at else None)


def test_seed4_level_actions_notify_placeholder_contacts() -> None:
    ev = evaluate(pol(S4), tier_case(), t("2026-05-02T02:30+00:00"))
    due = [(a.kind, a.targets or a.value) for a in ev.due if a.key.action.startswith("escalation.")]
    assert due[:2] == [("tag", "escalation-level-1"), ("notify", ("escalation-level-1", "partner"))]
    assert due[2][0] == "note" and "through the partner" in due[2][1]
    nxt = [
        (a.kind, a.targets or a.value, a.due_at)
        for a in ev.upcoming
        if a.key.action.startswith("escalation.")
    ]
    assert ("notify", ("escalation-level-2", "partner"), t("2026-05-02T06:30+00:00")) in nxt
    contacts = pol(S4).spec.contacts
    assert all("@example.com" in c.description for c in contacts.values())


def test_seed4_solved_case_stops_escalating() -> None:
    c = tier_case(
        statuses=[(OPEN4, "New"), ("2026-05-01T22:40+00:00", "Open"), ("2026-05-02T07:30+00:00", "Solved")]
    )  # solved at 9 h
    esc = evaluate(pol(S4), c, t("2026-05-02T18:30+00:00")).escalation
    assert esc is not None and (esc.level, esc.next_level) == (2, None)


def test_seed4_partner_request_cannot_escalate_before_4_hours() -> None:
    c = tier_case(milestones=(("2026-05-01T23:30+00:00", "customer_escalation"),))  # asked at 1 h
    early = evaluate(pol(S4), c, t("2026-05-02T00:30+00:00")).escalation
    assert early is not None and early.level == 0
    late = evaluate(pol(S4), c, t("2026-05-02T02:30+00:00")).escalation
    assert late is not None and (late.level, late.reached_at) == (1, t("2026-05-02T02:30+00:00"))


def test_seed4_partner_request_after_4_hours_escalates_at_once() -> None:
    c = tier_case(milestones=(("2026-05-02T03:00+00:00", "customer_escalation"),))
    esc = evaluate(pol(S4), c, t("2026-05-02T03:01+00:00")).escalation
    assert esc is not None and esc.level == 1


def test_seed4_tier_one_is_not_for_the_vendor() -> None:
    ev = evaluate(pol(S4), mk(OPEN4, "T1"), t("2026-05-03T00:00+00:00"))
    assert ev.targets == () and ev.escalation is None
    assert "not-for-vendor" in flag_names(ev)
    assert "not-for-vendor" not in flag_names(evaluate(pol(S4), tier_case("T2"), t(OPEN4)))


def test_seed4_tier_three_outage_flag_and_immediate_response() -> None:
    ev = evaluate(pol(S4), mk(OPEN4, "T3"), t("2026-05-01T22:46+00:00"))
    assert "urgent-outage" in flag_names(ev)
    fr = target(ev, "first_response")
    assert (fr.state, fr.due_at) == (TargetState.BREACHED, t("2026-05-01T22:45+00:00"))


def test_seed4_only_partner_contacts_open_cases() -> None:
    end_customer = tier_case(requester="end-user@example.org", requester_authorized=False)
    ev = evaluate(pol(S4), end_customer, t(OPEN4))
    assert "requester end-user@example.org is not an authorized contact" in ev.flags
    partner = evaluate(pol(S4), tier_case(requester="noc@example.com", requester_authorized=True), t(OPEN4))
    assert not [f for f in partner.flags if "authorized" in f]


@pytest.mark.parametrize(
    ("raised", "now", "state", "due", "missed"),
    [
        # Normal (updates every 7 days) opened Mon 2 Nov 09:00Z, answered 10:00Z, raised to High (daily)
        # on Thu 5 Nov 09:00Z: level_change from_change restarts the updates at the change -> due Fri
        # 6 Nov 09:00Z; nothing was missed while it was Normal (7 days from Mon 10:00Z is Mon 9 Nov)
        ("2026-11-05T09:00Z", "2026-11-05T10:00Z", TargetState.RUNNING, "2026-11-06T09:00Z", 0),
        ("2026-11-05T09:00Z", "2026-11-06T09:30Z", TargetState.BREACHED, "2026-11-06T09:00Z", 1),
        # raised ten days in (Thu 12 Nov): the Normal update due Mon 9 Nov 10:00Z was missed and stays so
        ("2026-11-12T09:00Z", "2026-11-12T10:00Z", TargetState.RUNNING, "2026-11-13T09:00Z", 1),
    ],
)
def test_seed3_level_raise_restarts_periodic_updates_at_the_change(
    raised: str, now: str, state: TargetState, due: str, missed: int
) -> None:
    c = mk(
        "2026-11-02T09:00Z",
        [("2026-11-02T09:00Z", "Normal"), (raised, "High")],
        statuses=[("2026-11-02T09:00Z", "New"), ("2026-11-02T10:00Z", "In Progress")],
        agent=("2026-11-02T10:00Z",),
    )
    pu = target(evaluate(pol("priority-activation"), c, t(now)), "periodic_update")
    assert (pu.level, pu.state, pu.due_at, pu.missed) == ("High", state, t(due), missed)
    assert pu.met_at == t("2026-11-02T10:00Z")  # the last update


# --------------------------------------------------------------------------- seed 5 behaviour

S5 = "priority-lifecycle"


def test_seed5_p3_one_business_day_is_same_time_next_business_day_over_a_holiday() -> None:
    c = mk(
        "2026-11-25T09:00-07:00",
        "P3",
        statuses=[("2026-11-25T09:00-07:00", "New"), ("2026-11-25T09:10-07:00", "In Progress")],
        agent=("2026-11-25T10:30-07:00",),
    )
    ev = evaluate(pol(S5), c, t("2026-11-25T11:00-07:00"))
    assert target(ev, "first_response").state is TargetState.MET
    # last update Wed 10:30; Thanksgiving Thursday is skipped -> Friday 10:30
    assert target(ev, "periodic_update").due_at == t("2026-11-27T10:30-07:00")


@pytest.mark.parametrize(
    ("now", "state", "missed"),
    [
        # P3 updates every 1 business day on Mon-Fri 07:00-19:00; the last update was Mon 2 Nov 07:00
        # (the opening), so updates fall due Tue 07:00, Wed 07:00, ... Each day's 12 open hours run out
        # at 19:00, but the due instant is the next opening: nothing is missed before it.
        ("2026-11-02T18:59-07:00", TargetState.RUNNING, 0),
        ("2026-11-02T19:00-07:00", TargetState.RUNNING, 0),  # closing: 12 h used, due Tue 07:00
        ("2026-11-02T23:00-07:00", TargetState.RUNNING, 0),
        ("2026-11-03T07:00-07:00", TargetState.BREACHED, 1),  # Tue 07:00 passed without an update
        ("2026-11-03T12:00-07:00", TargetState.BREACHED, 1),
        ("2026-11-03T20:00-07:00", TargetState.BREACHED, 1),  # 24 h used; the 2nd is due Wed 07:00
        ("2026-11-04T06:59-07:00", TargetState.BREACHED, 1),
        ("2026-11-04T07:00-07:00", TargetState.BREACHED, 2),
    ],
)
def test_seed5_p3_business_day_updates_are_missed_at_the_opening_not_the_closing(
    now: str, state: TargetState, missed: int
) -> None:
    opened = "2026-11-02T07:00-07:00"
    c = mk(opened, "P3", statuses=[(opened, "In Progress")], agent=(opened,))
    ev = evaluate(pol(S5), c, t(now))
    pu = target(ev, "periodic_update")
    assert (pu.state, pu.due_at, pu.missed) == (state, t("2026-11-03T07:00-07:00"), missed)
    notes = [str(a.key) for a in ev.due if a.key.action.startswith("breach.periodic_update")]
    assert notes == ([f"C-1:breach.periodic_update.{missed}:P3:0"] if missed else [])


def test_seed5_p3_update_after_a_missed_business_day() -> None:
    opened = "2026-11-02T07:00-07:00"
    # the update owed Tue 07:00 came Tue 20:00 (after hours): one missed (Wed 07:00 was not due yet);
    # the next is due 1 business day after Tue 20:00, moved to Wed 07:00 -> Thu 07:00
    c = mk(opened, "P3", statuses=[(opened, "In Progress")], agent=(opened, "2026-11-03T20:00-07:00"))
    for now, missed in (("2026-11-04T12:00-07:00", 1), ("2026-11-05T07:00-07:00", 2)):
        pu = target(evaluate(pol(S5), c, t(now)), "periodic_update")
        assert (pu.due_at, pu.missed) == (t("2026-11-05T07:00-07:00"), missed)


def test_seed5_maintenance_window_is_on_the_platform_calendar_only() -> None:
    p = pol(S5)
    platform = p.calendars["platform"]
    # third Friday of November 2026 is the 20th: closed 22:00 Fri - 04:00 Sat Mountain Time
    assert platform.is_open(t("2026-11-20T21:59-07:00"))
    assert not platform.is_open(t("2026-11-20T22:00-07:00"))
    assert not platform.is_open(t("2026-11-21T03:59-07:00"))
    assert platform.is_open(t("2026-11-21T04:00-07:00"))
    assert platform.is_open(t("2026-11-13T23:00-07:00"))  # second Friday: no window
    assert platform.between(t("2026-11-20T20:00-07:00"), t("2026-11-21T06:00-07:00")) == 4 * 3600
    # no support timer uses it: a P1 raised during maintenance is still due in 15 minutes ...
    p1 = {x.name: x.due for x in due_untouched(p, "P1", t("2026-11-20T21:55-07:00")).targets}
    assert p1 == {
        "first_response": t("2026-11-20T22:10-07:00"),
        "periodic_update": t("2026-11-20T22:55-07:00"),
    }
    # ... and the window lies outside the extended hours: Fri 18:30-19:00 + Mon 07:00-10:30
    p3 = {x.name: x.due for x in due_untouched(p, "P3", t("2026-11-20T18:30-07:00")).targets}
    assert p3["first_response"] == t("2026-11-23T10:30-07:00")
    used = {lv.calendar.name for lv in p.levels.values() if lv.calendar is not None}
    assert "platform" not in used


def _closed_p3(closed_at: str, *, reply: str, extra: list[tuple[str, str]] = ()) -> Case:  # type: ignore[assignment]
    return mk(
        "2026-11-30T09:00-07:00",
        "P3",
        statuses=[
            ("2026-11-30T09:00-07:00", "New"),
            ("2026-11-30T09:30-07:00", "In Progress"),
            (closed_at, "Closed"),
            *extra,
        ],
        agent=("2026-11-30T09:30-07:00",),
        customer=(reply,),
    )


@pytest.mark.parametrize(
    ("reply", "kind", "value"),
    [
        (
            "2026-12-08T09:59-07:00",
            "set_status",
            "Customer Reopened",
        ),  # within 7 calendar days of Dec 1 10:00
        ("2026-12-08T10:00-07:00", "set_status", "Customer Reopened"),  # exactly 7 days
        ("2026-12-08T10:01-07:00", "open_related", "Follow-up to case C-1"),
    ],
)
def test_seed5_reopen_within_seven_days_else_new_related_case(reply: str, kind: str, value: str) -> None:
    ev = evaluate(pol(S5), _closed_p3("2026-12-01T10:00-07:00", reply=reply), t("2026-12-08T11:00-07:00"))
    life = [a for a in ev.due if a.kind in ("set_status", "open_related")]
    assert [(a.kind, a.value, a.due_at) for a in life] == [(kind, value, t(reply))]


def test_seed5_reopened_case_restarts_its_timers() -> None:
    c = _closed_p3(
        "2026-12-01T10:00-07:00",
        reply="2026-12-03T09:00-07:00",
        extra=[("2026-12-03T09:05-07:00", "Customer Reopened")],
    )
    ev = evaluate(pol(S5), c, t("2026-12-03T09:10-07:00"))
    assert ev.open and ev.epoch == 1 and ev.status == "Customer Reopened"
    assert target(ev, "periodic_update").due_at == t("2026-12-04T09:05-07:00")
    # the path restarts at the reopen: 5 business days later (Fri 4, Mon 7, Tue 8, Wed 9, Thu 10)
    assert ev.escalation is not None and ev.escalation.next_at == t("2026-12-10T09:05-07:00")


def test_seed5_close_no_response_after_two_business_days() -> None:
    c = mk(
        "2026-11-23T09:00-07:00",
        "P3",
        statuses=[
            ("2026-11-23T09:00-07:00", "New"),
            ("2026-11-23T09:10-07:00", "In Progress"),
            ("2026-11-25T15:00-07:00", "Resolved - Follow-up Required"),
        ],
        agent=("2026-11-23T09:10-07:00", "2026-11-25T15:00-07:00"),
    )
    # Wed 15:00 + 2 business days: (Thanksgiving) Fri 27, Mon 30 -> Mon 30 Nov 15:00
    before = evaluate(pol(S5), c, t("2026-11-30T14:59-07:00"))
    assert not [a for a in before.due if a.value == "Closed - No Response"]
    closing = [a for a in before.upcoming if a.kind == "set_status"]
    assert [(a.value, a.due_at) for a in closing] == [("Closed - No Response", t("2026-11-30T15:00-07:00"))]
    assert target(before, "periodic_update").state is TargetState.PAUSED
    at = evaluate(pol(S5), c, t("2026-11-30T15:00-07:00"))
    due = [(a.kind, a.value) for a in at.due if a.key.action.startswith("close_no_response")]
    assert due[0][0] == "note" and "Closed - No Response" in due[0][1]
    assert due[1] == ("set_status", "Closed - No Response")


def test_seed5_customer_back_after_no_response_gets_a_new_related_case() -> None:
    c = mk(
        "2026-11-23T09:00-07:00",
        "P3",
        statuses=[
            ("2026-11-23T09:00-07:00", "New"),
            ("2026-11-23T09:10-07:00", "In Progress"),
            ("2026-11-25T15:00-07:00", "Resolved - Follow-up Required"),
            ("2026-11-30T15:00-07:00", "Closed - No Response"),
        ],
        customer=("2026-12-01T08:00-07:00",),
    )
    ev = evaluate(pol(S5), c, t("2026-12-01T09:00-07:00"))
    assert [(a.kind, a.due_at) for a in ev.due if a.kind in ("set_status", "open_related")] == [
        ("open_related", t("2026-12-01T08:00-07:00"))
    ]


def test_seed5_on_hold_pauses_everything_and_resumes_at_the_set_time() -> None:
    base = [
        ("2026-11-02T09:00-07:00", "New"),
        ("2026-11-02T09:05-07:00", "In Progress"),
        ("2026-11-02T10:00-07:00", "On Hold"),
    ]
    held = mk(
        "2026-11-02T09:00-07:00",
        "P3",
        statuses=base,
        agent=("2026-11-02T09:30-07:00",),
        hold_until="2026-11-04T10:00-07:00",
    )
    ev = evaluate(pol(S5), held, t("2026-11-03T12:00-07:00"))
    assert target(ev, "periodic_update").state is TargetState.PAUSED
    resume = [a for a in ev.upcoming if a.kind == "set_status"]
    assert [(a.value, a.due_at) for a in resume] == [("In Progress", t("2026-11-04T10:00-07:00"))]
    resumed = mk(
        "2026-11-02T09:00-07:00",
        "P3",
        statuses=[*base, ("2026-11-04T10:00-07:00", "In Progress")],
        agent=("2026-11-02T09:30-07:00",),
        hold_until="2026-11-04T10:00-07:00",
    )
    # 12 business hours from Mon 09:30; 0.5 h ran before the hold; 11.5 h from Wed 10:00:
    # Wed 10:00-19:00 (9 h) + Thu 07:00-09:30
    upd = target(evaluate(pol(S5), resumed, t("2026-11-04T10:30-07:00")), "periodic_update")
    assert upd.due_at == t("2026-11-05T09:30-07:00")


def test_seed5_etr_replaces_scheduled_updates_until_it_passes() -> None:
    def p1(etr: str | None) -> Case:
        return mk(
            "2026-11-02T09:00-07:00",
            "P1",
            statuses=[("2026-11-02T09:00-07:00", "New"), ("2026-11-02T09:05-07:00", "In Progress")],
            agent=("2026-11-02T09:10-07:00",),
            etr=etr,
        )

    without = target(evaluate(pol(S5), p1(None), t("2026-11-02T11:00-07:00")), "periodic_update")
    assert (without.state, without.due_at) == (TargetState.BREACHED, t("2026-11-02T10:10-07:00"))
    with_etr = target(
        evaluate(pol(S5), p1("2026-11-02T15:00-07:00"), t("2026-11-02T11:00-07:00")), "periodic_update"
    )
    assert (with_etr.state, with_etr.due_at) == (TargetState.RUNNING, t("2026-11-02T15:00-07:00"))
    passed = target(
        evaluate(pol(S5), p1("2026-11-02T15:00-07:00"), t("2026-11-02T15:30-07:00")), "periodic_update"
    )
    assert (passed.state, passed.due_at) == (TargetState.BREACHED, t("2026-11-02T15:00-07:00"))


PENDING = "Resolved - Follow-up Required"  # pauses periodic updates


@pytest.mark.parametrize(
    ("updates", "moves", "now", "state", "due", "missed"),
    [
        # P1 updates hourly (calendar time); opened Mon 2 Nov 10:00, answered 10:10 with an ETR of
        # 14:00, which replaces the hourly updates (11:10, 12:10, 13:10) until it passes.
        ((), (), "13:00", TargetState.RUNNING, "14:00", 0),
        # the ETR passed without an update: the update owed at 14:00 is missed, not the three it replaced
        ((), (), "14:30", TargetState.BREACHED, "14:00", 1),
        # and the schedule runs on hourly from the ETR: 15:00 missed too
        ((), (), "15:30", TargetState.BREACHED, "14:00", 2),
        # an update before the ETR: the slots the ETR replaced are still not missed; still due at the ETR
        (("13:00",), (), "13:30", TargetState.RUNNING, "14:00", 0),
        # the update owed at the ETR came 20 min late: one missed; next due an hour after it
        (("13:00", "14:20"), (), "14:30", TargetState.RUNNING, "15:20", 1),
        # waiting on the customer (pauses updates): paused, no due time, even with an ETR ahead
        ((), (("11:00", PENDING),), "12:00", TargetState.PAUSED, None, 0),
        # the ETR fell in the pause (11:00-14:30): nothing owed at 14:00; the hour runs from the
        # resumption at 14:30 (the paused half hour after the ETR does not count) -> 15:30
        ((), (("11:00", PENDING), ("14:30", "In Progress")), "14:45", TargetState.RUNNING, "15:30", 0),
    ],
)
def test_seed5_etr_replaces_the_updates_it_covers(
    updates: tuple[str, ...],
    moves: tuple[tuple[str, str], ...],
    now: str,
    state: TargetState,
    due: str | None,
    missed: int,
) -> None:
    def at(hhmm: str) -> str:
        return f"2026-11-02T{hhmm}-07:00"

    c = mk(
        at("10:00"),
        "P1",
        statuses=[(at("10:00"), "In Progress"), *((at(w), st) for w, st in moves)],
        agent=(at("10:10"), *(at(u) for u in updates)),
        etr=at("14:00"),
    )
    ev = evaluate(pol(S5), c, t(at(now)))
    pu = target(ev, "periodic_update")
    assert (pu.state, pu.due_at, pu.missed) == (state, t(at(due)) if due else None, missed)
    notes = [str(a.key) for a in ev.due if a.key.action.startswith("breach.periodic_update")]
    assert notes == ([f"C-1:breach.periodic_update.{missed}:P1:0"] if state is TargetState.BREACHED else [])


def test_master_case_reminders_with_a_business_days_cadence_follow_the_calendar() -> None:
    # priority-lifecycle with P3 master cases updated every 1 business day (extended hours, Mon-Fri
    # 07:00-19:00 America/Denver)
    text = (
        preset_path(S5)
        .read_text()
        .replace(
            "    levels: [P1G]\n    link_kind: child_of\n    update_every: 1 hour",
            "    levels: [P3]\n    link_kind: child_of\n    update_every: 1 business day",
        )
    )
    p = load_policy_text(text)
    c = mk(
        "2026-11-05T10:00-07:00",  # Thursday
        "P3",
        statuses=[("2026-11-05T10:00-07:00", "In Progress")],
        agent=("2026-11-05T10:00-07:00", "2026-11-06T18:30-07:00"),  # last update Fri 18:30
    )
    ev = evaluate(p, c, t("2026-11-06T19:00-07:00"))
    assert not [a for a in ev.due if a.key.action.startswith("master_update")]
    # 1 business day after Fri 18:30: Mon 09 Nov 18:30
    master = [a for a in ev.upcoming if a.key.action.startswith("master_update")]
    assert [a.due_at for a in master] == [t("2026-11-09T18:30-07:00")]


def test_seed5_p1g_master_case_updates_hourly() -> None:
    c = mk(
        "2026-11-02T09:00-07:00",
        "P1G",
        statuses=[("2026-11-02T09:00-07:00", "New"), ("2026-11-02T09:02-07:00", "In Progress")],
        agent=("2026-11-02T09:10-07:00", "2026-11-02T10:05-07:00"),
    )
    ev = evaluate(pol(S5), c, t("2026-11-02T10:30-07:00"))
    master = [a for a in ev.upcoming if a.key.action.startswith("master_update")]
    assert [(a.kind, a.due_at) for a in master] == [("note", t("2026-11-02T11:05-07:00"))]
    assert target(ev, "periodic_update").due_at == t("2026-11-02T11:05-07:00")
    assert target(ev, "first_response").met_at == t("2026-11-02T09:10-07:00")
    assert "master-case" in flag_names(ev)
    late = evaluate(pol(S5), c, t("2026-11-02T11:10-07:00"))
    assert [a.due_at for a in late.due if a.key.action.startswith("master_update")] == [
        t("2026-11-02T11:05-07:00")
    ]
    assert pol(S5).levels["P1G"].spec.staff_only
    # a P1 case is not a master case
    p1 = evaluate(pol(S5), mk("2026-11-02T09:00-07:00", "P1"), t("2026-11-02T09:30-07:00"))
    assert not [a for a in (*p1.due, *p1.upcoming) if a.key.action.startswith("master_update")]


@pytest.mark.parametrize(
    ("channel", "defaulted_flag"),
    [
        ("portal", "level defaulted to P4 for channel portal: review it"),
        ("email", "level defaulted to P4 for channel email: review it"),
        ("chat", "level defaulted to P4 for channel chat: review it"),  # no channel rule: policy default
    ],
)
def test_seed5_cases_without_priority_start_at_p4(channel: str, defaulted_flag: str) -> None:
    ev = evaluate(pol(S5), mk("2026-11-25T16:30-07:00", None, channel=channel), t("2026-11-25T16:30-07:00"))
    assert ev.level == "P4" and ev.level_defaulted
    assert defaulted_flag in ev.flags
    assert target(ev, "first_response").due_at == t("2026-11-27T16:30-07:00")


def test_seed5_macd_request_without_channel_starts_standard() -> None:
    ev = evaluate(pol(S5), mk("2026-11-25T16:30-07:00", None, case_type="macd"), t("2026-11-25T16:30-07:00"))
    assert ev.level == "Standard"
    assert "provisioning-fee" in flag_names(ev)


def test_seed5_macd_request_from_the_portal_starts_standard() -> None:
    ev = evaluate(
        pol(S5),
        mk("2026-11-25T16:30-07:00", None, case_type="macd", channel="portal"),
        t("2026-11-25T16:30-07:00"),
    )
    assert ev.level == "Standard"


def test_seed5_only_designated_contacts() -> None:
    bad = mk("2026-11-25T16:30-07:00", "P3", requester="someone@example.org", requester_authorized=False)
    assert (
        "requester someone@example.org is not an authorized contact"
        in evaluate(pol(S5), bad, t("2026-11-25T16:30-07:00")).flags
    )
    unknown = mk("2026-11-25T16:30-07:00", "P3", requester="mpoc@example.org")  # tracker cannot tell
    assert not [f for f in evaluate(pol(S5), unknown, t("2026-11-25T16:30-07:00")).flags if "authorized" in f]


def test_seed5_duplicate_needs_a_link_to_the_main_case() -> None:
    statuses = [("2026-11-25T09:00-07:00", "New"), ("2026-11-25T09:30-07:00", "Duplicate")]
    bare = evaluate(
        pol(S5), mk("2026-11-25T09:00-07:00", "P3", statuses=statuses), t("2026-11-25T10:00-07:00")
    )
    assert "status Duplicate needs a 'duplicate_of' link to the main case" in bare.flags
    assert not bare.open
    linked = evaluate(
        pol(S5),
        mk("2026-11-25T09:00-07:00", "P3", statuses=statuses, links=(Link("duplicate_of", "C-0"),)),
        t("2026-11-25T10:00-07:00"),
    )
    assert not [f for f in linked.flags if "duplicate_of" in f]


def test_seed5_shipping_pauses_macd_completion_only() -> None:
    c = mk(
        "2026-11-02T09:00-07:00",
        "Standard",
        case_type="macd",
        statuses=[
            ("2026-11-02T09:00-07:00", "New"),
            ("2026-11-02T09:30-07:00", "In Progress"),
            ("2026-11-03T09:00-07:00", "Shipping"),
            ("2026-11-05T09:00-07:00", "In Progress"),
        ],
        agent=("2026-11-02T09:30-07:00",),
    )
    ev = evaluate(pol(S5), c, t("2026-11-05T10:00-07:00"))
    # 2 business days = 24 business hours; 12 ran Mon 09:00-Tue 09:00; 12 more from Thu 09:00:
    # Thu 09:00-19:00 (10 h) + Fri 07:00-09:00
    assert target(ev, "done").due_at == t("2026-11-06T09:00-07:00")
    assert target(ev, "first_response").met_at == t("2026-11-02T09:30-07:00")


def test_seed5_customer_escalation_reaches_support_managers() -> None:
    c = mk("2026-11-02T09:00-07:00", "P2", milestones=(("2026-11-02T09:20-07:00", "customer_escalation"),))
    ev = evaluate(pol(S5), c, t("2026-11-02T09:30-07:00"))
    assert ev.escalation is not None
    assert (ev.escalation.level, ev.escalation.customer_requested) == (2, True)
    assert ev.escalation.next_at == t("2026-11-02T17:00-07:00")  # level 3 at 8 h
    notified = [(a.targets, a.due_at) for a in ev.due if a.kind == "notify"]
    assert notified == [
        (("support-desk",), t("2026-11-02T09:20-07:00")),
        (("support-managers",), t("2026-11-02T09:20-07:00")),
    ]


def test_seed5_p1_reaches_the_vp_after_eight_hours() -> None:
    c = mk("2026-11-02T09:00-07:00", "P1", agent=("2026-11-02T09:05-07:00",))
    ev = evaluate(pol(S5), c, t("2026-11-02T17:00-07:00"))
    assert ev.escalation is not None
    assert (ev.escalation.level, ev.escalation.reached_at) == (3, t("2026-11-02T17:00-07:00"))
    assert ("vp-support",) in [a.targets for a in ev.due if a.kind == "notify"]


# --------------------------------------------------------------------------- `casewarden due --json`

LEVELS = {
    "severity-follow-the-sun": {
        "S1": ["first_response", "escalation", "periodic_update"],
        "S2": ["first_response", "escalation", "periodic_update"],
        "S3": ["first_response", "escalation", "periodic_update"],
        "S4": ["first_response", "escalation", "periodic_update"],
    },
    "priority-restoration": {
        "P1": ["first_response", "restoration", "temporary_fix", "permanent_fix", "hardware_replaced"],
        "P2": ["first_response", "restoration", "permanent_fix"],
        "P3": ["first_response", "restoration", "permanent_fix"],
        "P4": ["first_response", "restoration"],
    },
    "priority-activation": {
        lv: ["first_response", "activation", "periodic_update"]
        for lv in ("Critical", "High", "Normal", "Low")
    },
    "tiered-partner": {"T1": [], "T2": ["first_response"], "T3": ["first_response"]},
    "priority-lifecycle": {
        **{lv: ["first_response", "periodic_update"] for lv in ("P1G", "P1", "P2", "P3", "P4")},
        "Expedited": ["first_response", "done"],
        "Standard": ["first_response", "done"],
    },
}
ESCALATION_LEVELS = {
    ("tiered-partner", "T2"): 4,
    ("tiered-partner", "T3"): 4,
    **{("priority-lifecycle", lv): 4 for lv in ("P1G", "P1", "P2")},
    **{("priority-lifecycle", lv): 2 for lv in ("P3", "P4")},  # VP and CEO only when a person escalates
}


def test_due_levels_cover_every_preset_level() -> None:
    for name, levels in LEVELS.items():
        assert set(levels) == set(pol(name).levels), name


@pytest.mark.parametrize(("preset", "level"), [(p, lv) for p, lvs in LEVELS.items() for lv in lvs])
def test_cli_due_json_shape(preset: str, level: str) -> None:
    result = CliRunner().invoke(
        main, ["due", preset, "--level", level, "--opened", "2026-11-20T16:30:00-07:00", "--json"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert set(data) == {"level", "targets", "escalations"}
    assert data["level"] == level
    assert [x["name"] for x in data["targets"]] == LEVELS[preset][level]
    for x in data["targets"]:
        assert set(x) == {"name", "metric", "due", "warn_at"}
        for key in ("due", "warn_at"):
            if x[key] is not None:
                assert datetime.fromisoformat(x[key]).tzinfo is not None
                assert datetime.fromisoformat(x[key]) >= t("2026-11-20T16:30:00-07:00")
    assert len(data["escalations"]) == ESCALATION_LEVELS.get((preset, level), 0)
    for i, x in enumerate(data["escalations"], start=1):
        assert set(x) == {"level", "at"} and x["level"] == i
        assert datetime.fromisoformat(x["at"]).tzinfo is not None


def test_cli_due_accepts_level_aliases_and_regions() -> None:
    result = CliRunner().invoke(
        main,
        [
            "due",
            "severity-follow-the-sun",
            "--level",
            "Severity 3",
            "--region",
            "emea",
            "--opened",
            "2026-12-24T16:00:00+00:00",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["level"] == "S3"
    first = next(x for x in data["targets"] if x["name"] == "first_response")
    assert datetime.fromisoformat(first["due"]) == t("2026-12-29T15:00+00:00")
