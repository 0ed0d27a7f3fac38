"""Timer semantics at the edges where SLA tools go wrong: outside hours, pauses over nights and weekends,
level changes, ranges, periodic updates, DST, reopening, escalation."""

from __future__ import annotations

from datetime import timedelta

import pytest

from casewarden.errors import CaseError
from casewarden.policy.evaluate import evaluate
from casewarden.policy.results import TargetState
from tests.policy_fixtures import UTC, case, den, policy

P = policy()


def target(ev, name):  # type: ignore[no-untyped-def]
    t = ev.target(name)
    assert t is not None, name
    return t


def test_case_opened_outside_hours_starts_at_next_opening() -> None:
    # Friday 18:30 Denver: 8 business hours run Monday 08:00-16:00
    ev = evaluate(P, case(den(2026, 11, 20, 18, 30)), den(2026, 11, 21, 12, 0))
    fr = target(ev, "first_response")
    assert fr.due_at == den(2026, 11, 23, 16, 0)
    assert fr.state is TargetState.RUNNING
    assert fr.remaining == 8 * 3600  # nothing counted over the weekend


def test_holiday_is_skipped() -> None:
    # Wednesday before Thanksgiving 15:00: 2 h Wed, Thursday holiday, 6 h Friday -> Fri 14:00
    ev = evaluate(P, case(den(2026, 11, 25, 15, 0)), den(2026, 11, 25, 15, 0))
    assert target(ev, "first_response").due_at == den(2026, 11, 27, 14, 0)


def test_business_days_same_local_time() -> None:
    # 3 business days from Wed 25 Nov 10:00 (Thanksgiving skipped): Fri 27, Mon 30, Tue 1 Dec 10:00
    ev = evaluate(P, case(den(2026, 11, 25, 10, 0)), den(2026, 11, 25, 10, 0))
    assert target(ev, "resolution").due_at == den(2026, 12, 1, 10, 0)


def test_pause_spanning_night_and_weekend_extends_due() -> None:
    opened = den(2026, 11, 19, 9, 0)  # Thursday
    # waiting on the customer Thursday 10:00 until Monday 11:00: 1 business hour used before the pause
    c = case(
        opened,
        statuses=[(opened, "New"), (den(2026, 11, 19, 10, 0), "Waiting"), (den(2026, 11, 23, 11, 0), "Open")],
    )
    ev = evaluate(P, c, den(2026, 11, 23, 11, 0))
    fr = target(ev, "first_response")
    # 7 business hours left from Mon 11:00: Mon 11:00-17:00 (6 h) + Tue 08:00-09:00
    assert fr.due_at == den(2026, 11, 24, 9, 0)
    assert fr.remaining == 7 * 3600


def test_paused_target_has_no_due_and_reports_paused() -> None:
    opened = den(2026, 11, 19, 9, 0)
    c = case(opened, statuses=[(opened, "New"), (den(2026, 11, 19, 10, 0), "Waiting")])
    fr = target(evaluate(P, c, den(2026, 11, 30, 12, 0)), "first_response")
    assert fr.state is TargetState.PAUSED
    assert fr.due_at is None
    assert fr.remaining == 7 * 3600


def test_met_target_stays_met_after_level_raise() -> None:
    opened = den(2026, 11, 19, 9, 0)
    # answered after 3 business hours at P3 (met), raised to P1 later: P1 wants 30 min, still met
    c = case(
        opened, levels=[(opened, "P3"), (den(2026, 11, 19, 14, 0), "P1")], agent=[den(2026, 11, 19, 12, 0)]
    )
    fr = target(evaluate(P, c, den(2026, 11, 19, 15, 0)), "first_response")
    assert fr.state is TargetState.MET
    assert fr.level == "P3"
    assert fr.met_at == den(2026, 11, 19, 12, 0)


def test_level_raise_recomputes_from_opening_by_default() -> None:
    opened = den(2026, 11, 19, 9, 0)
    c = case(opened, levels=[(opened, "P3"), (den(2026, 11, 19, 10, 0), "P1")])
    fr = target(evaluate(P, c, den(2026, 11, 19, 10, 0)), "first_response")
    assert fr.level == "P1"
    assert fr.due_at == den(2026, 11, 19, 9, 30)  # 30 min from the opening, under the new level
    assert fr.state is TargetState.BREACHED


def test_level_raise_from_change_restarts_at_the_change() -> None:
    p = policy(**{"default_level: P3": "default_level: P3\nlevel_change: from_change"})
    opened = den(2026, 11, 19, 9, 0)
    c = case(opened, levels=[(opened, "P3"), (den(2026, 11, 19, 10, 0), "P1")])
    fr = target(evaluate(p, c, den(2026, 11, 19, 10, 0)), "first_response")
    assert fr.due_at == den(2026, 11, 19, 10, 30)
    assert fr.state is TargetState.RUNNING


def test_range_warns_at_low_end_and_breaches_at_high_end() -> None:
    opened = den(2026, 11, 1, 12, 0)
    c = case(opened, "P2")
    tf = target(evaluate(P, c, opened + timedelta(days=6)), "temporary_fix")
    assert tf.warn_at == opened + timedelta(days=5)
    assert tf.due_at == opened + timedelta(days=10)
    assert tf.state is TargetState.WARNING
    assert target(evaluate(P, c, opened + timedelta(days=4)), "temporary_fix").state is TargetState.RUNNING
    assert (
        target(evaluate(P, c, opened + timedelta(days=10, seconds=1)), "temporary_fix").state
        is TargetState.BREACHED
    )


def test_range_across_dst_counts_elapsed_time_not_wall_clock() -> None:
    # 5 to 10 days of calendar time across the fall-back night (1 Nov 2026): 240 hours exactly
    opened = den(2026, 10, 30, 12, 0)
    tf = target(evaluate(P, case(opened, "P2"), opened), "temporary_fix")
    assert tf.due_at is not None
    assert tf.due_at.timestamp() - opened.timestamp() == 240 * 3600
    assert tf.due_at == den(2026, 11, 9, 11, 0)  # 12:00 MDT + 240 h = 11:00 MST


def test_warn_fraction() -> None:
    opened = den(2026, 11, 19, 9, 0)
    rs = target(evaluate(P, case(opened, "P1"), opened + timedelta(hours=2, minutes=5)), "restoration")
    assert rs.warn_at == opened + timedelta(hours=2)
    assert rs.state is TargetState.WARNING


def test_met_late_is_breached_with_met_at() -> None:
    opened = den(2026, 11, 19, 9, 0)
    c = case(opened, "P1", milestones=[(opened + timedelta(hours=5), "restoration")])
    rs = target(evaluate(P, c, opened + timedelta(hours=6)), "restoration")
    assert rs.state is TargetState.BREACHED
    assert rs.met_at == opened + timedelta(hours=5)
    assert rs.remaining == -3600


def test_periodic_updates_next_due_and_missed() -> None:
    opened = den(2026, 11, 19, 9, 0)
    c = case(opened, "P1", agent=[opened + timedelta(minutes=20), opened + timedelta(hours=3, minutes=20)])
    pu = target(evaluate(P, c, opened + timedelta(hours=3, minutes=50)), "periodic_update")
    assert pu.due_at == opened + timedelta(hours=4, minutes=20)
    assert pu.missed == 2  # the gap 00:20 -> 03:20 held two whole hours without an update
    assert pu.state is TargetState.RUNNING
    late = target(evaluate(P, c, opened + timedelta(hours=6)), "periodic_update")
    assert late.state is TargetState.BREACHED
    assert late.missed == 4


def test_periodic_update_business_interval_over_weekend() -> None:
    opened = den(2026, 11, 20, 10, 0)  # Friday
    c = case(opened, agent=[den(2026, 11, 20, 11, 0)])
    pu = target(evaluate(P, c, den(2026, 11, 21, 12, 0)), "periodic_update")
    assert pu.due_at == den(2026, 11, 23, 11, 0)  # 1 business day: Monday, same local time


def test_dst_spring_forward_business_hours() -> None:
    # Friday 6 March 2026 16:00 MST + 8 business hours: 1 h Fri, Mon 9 March (MDT) 08:00 + 7 h = 15:00 MDT
    ev = evaluate(P, case(den(2026, 3, 6, 16, 0)), den(2026, 3, 6, 16, 0))
    due = target(ev, "first_response").due_at
    assert due == den(2026, 3, 9, 15, 0)
    assert due is not None and due.utcoffset() == timedelta(hours=-6)


def test_resolution_met_when_solved_and_resumes_on_reopen() -> None:
    opened = den(2026, 11, 19, 9, 0)
    solved = den(2026, 11, 19, 11, 0)
    c = case(opened, statuses=[(opened, "New"), (solved, "Solved")])
    ev = evaluate(P, c, den(2026, 11, 20, 9, 0))
    assert target(ev, "resolution").state is TargetState.MET
    assert ev.epoch == 0 and not ev.open
    reopened = case(opened, statuses=[(opened, "New"), (solved, "Solved"), (den(2026, 11, 23, 9, 0), "Open")])
    ev2 = evaluate(P, reopened, den(2026, 11, 23, 9, 0))
    res = target(ev2, "resolution")
    assert ev2.epoch == 1 and ev2.open
    assert res.state is TargetState.RUNNING
    # 2 business hours were used before solving; the closed days do not count
    assert res.remaining == pytest.approx(3 * 9 * 3600 - 2 * 3600)


def test_customer_reply_after_close_reopens_within_window_else_opens_related() -> None:
    opened = den(2026, 11, 2, 9, 0)
    solved = den(2026, 11, 3, 9, 0)
    within = case(opened, statuses=[(opened, "New"), (solved, "Solved")], customer=[den(2026, 11, 9, 9, 0)])
    ev = evaluate(P, within, den(2026, 11, 9, 9, 5))
    reopen = [(a.kind, a.value) for a in ev.due if a.kind in ("set_status", "open_related")]
    assert reopen == [("set_status", "Open")]
    later = case(opened, statuses=[(opened, "New"), (solved, "Solved")], customer=[den(2026, 11, 11, 9, 0)])
    ev = evaluate(P, later, den(2026, 11, 11, 9, 5))
    assert [a.kind for a in ev.due if a.kind in ("set_status", "open_related")] == ["open_related"]


def test_escalation_levels_not_before_and_next() -> None:
    opened = den(2026, 11, 19, 9, 0)
    c = case(opened, "P1")
    assert evaluate(P, c, opened + timedelta(minutes=45)).escalation.level == 0  # type: ignore[union-attr]
    esc = evaluate(P, c, opened + timedelta(hours=1)).escalation
    assert esc is not None and esc.level == 1 and esc.reached_at == opened + timedelta(hours=1)
    assert esc.next_level == 2 and esc.next_at == opened + timedelta(hours=2)
    ev = evaluate(P, c, opened + timedelta(hours=7))
    assert ev.escalation is not None and ev.escalation.level == 3 and ev.escalation.next_at is None
    keys = sorted(str(a.key) for a in ev.due if a.key.action.startswith("escalation"))
    assert keys == ["C-1:escalation.0.note:1:0", "C-1:escalation.0.notify:2:0", "C-1:escalation.1.tag:2:0"]


def test_customer_requested_escalation_jumps_the_path() -> None:
    opened = den(2026, 11, 19, 9, 0)
    c = case(opened, "P1", milestones=[(opened + timedelta(minutes=10), "customer_escalation")])
    waiting = evaluate(P, c, opened + timedelta(minutes=20)).escalation
    # the path cannot escalate before 1 hour, a customer's request included: it waits, and says when
    assert waiting is not None and waiting.level == 0
    assert (waiting.next_level, waiting.next_at) == (2, opened + timedelta(hours=1))
    esc = evaluate(P, c, opened + timedelta(hours=1, minutes=5)).escalation
    assert esc is not None and esc.level == 2 and esc.customer_requested
    assert esc.reached_at == opened + timedelta(hours=1)


def test_escalation_freezes_when_solved() -> None:
    opened = den(2026, 11, 19, 9, 0)
    c = case(opened, "P1", statuses=[(opened, "New"), (opened + timedelta(minutes=90), "Solved")])
    esc = evaluate(P, c, opened + timedelta(days=3)).escalation
    assert esc is not None and esc.level == 1 and esc.next_at is None


def test_workaround_steps_level_down_once() -> None:
    opened = den(2026, 11, 19, 9, 0)
    c = case(opened, "P1", milestones=[(opened + timedelta(hours=1), "restoration")])
    acts = [a for a in evaluate(P, c, opened + timedelta(hours=2)).due if a.kind == "set_level"]
    assert [(a.value, a.due_at) for a in acts] == [("P2", opened + timedelta(hours=1))]
    stepped = case(
        opened,
        levels=[(opened, "P1"), (opened + timedelta(hours=1, minutes=5), "P2")],
        milestones=[(opened + timedelta(hours=1), "restoration")],
    )
    assert not [a for a in evaluate(P, stepped, opened + timedelta(hours=2)).due if a.kind == "set_level"]


def test_breach_note_is_keyed_per_target_level_and_epoch() -> None:
    opened = den(2026, 11, 19, 9, 0)
    ev = evaluate(P, case(opened, "P1"), opened + timedelta(minutes=40))
    notes = [str(a.key) for a in ev.due if a.key.action.startswith("breach.")]
    assert notes == ["C-1:breach.first_response:P1:0"]


def test_next_change_at_is_the_earliest_future_boundary() -> None:
    opened = den(2026, 11, 19, 9, 0)
    ev = evaluate(P, case(opened, "P1"), opened + timedelta(minutes=5))
    assert ev.next_change_at == opened + timedelta(minutes=30)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"level": "P9"}, "level 'P9'"),
        ({"statuses": "Nope"}, "status 'Nope'"),
        ({"region": "mars"}, None),
    ],
)
def test_case_the_policy_cannot_place_raises_case_error(kwargs: dict[str, str], message: str | None) -> None:
    opened = den(2026, 11, 19, 9, 0)
    if "statuses" in kwargs:
        c = case(opened, statuses=[(opened, kwargs["statuses"])])
    elif "region" in kwargs:
        p = policy(**{"default_level: P3": "default_level: P3\nregions: {earth: {calendar: office}}"})
        with pytest.raises(CaseError, match="region 'mars'"):
            evaluate(p, case(opened, region="mars"), opened)
        return
    else:
        c = case(opened, kwargs["level"])
    with pytest.raises(CaseError, match=message):
        evaluate(P, c, opened)


def test_aliases_and_case_insensitive_level_names() -> None:
    opened = den(2026, 11, 19, 9, 0)
    assert evaluate(P, case(opened, "urgent"), opened).level == "P1"


def test_evaluation_is_deterministic() -> None:
    opened = den(2026, 11, 19, 9, 0).astimezone(UTC)
    c = case(opened, "P1", agent=[opened + timedelta(minutes=20)])
    now = opened + timedelta(hours=3)
    assert evaluate(P, c, now) == evaluate(P, c, now)


def test_a_case_opened_at_a_staff_only_level_is_flagged() -> None:
    p = policy(**{"    on_workaround: P2\n": "    on_workaround: P2\n    staff_only: true\n"})
    opened = den(2026, 11, 19, 9, 0)
    flags = evaluate(p, case(opened, "P1"), opened).flags
    assert any("staff-only" in f for f in flags)
    raised = case(opened, levels=[(opened, "P3"), (opened + timedelta(hours=1), "P1")])
    assert not any("staff-only" in f for f in evaluate(p, raised, opened + timedelta(hours=2)).flags)


def test_breach_notes_for_met_late_and_missed_periodic_targets() -> None:
    opened = den(2026, 11, 19, 9, 0)
    late = case(opened, "P1", agent=[opened + timedelta(minutes=45)])  # first response due at 9:30
    keys = {
        str(a.key)
        for a in evaluate(P, late, opened + timedelta(hours=3)).due
        if a.key.action.startswith("breach.")
    }
    assert "C-1:breach.first_response:P1:0" in keys  # met late is still a breach
    assert "C-1:breach.periodic_update.2:P1:0" in keys  # updates due 10:45 and 11:45 both missed


# -- instants in a DST zone: the normalized case holds UTC -------------------------------------------
# 1 November 2026, America/Denver: 01:00-02:00 happens twice, first MDT (UTC-6, fold=0), then MST
# (UTC-7, fold=1). Aware datetimes that share a tzinfo compare by wall clock and ignore fold (PEP 495).


def test_replies_in_the_repeated_hour_are_ordered_as_instants() -> None:
    from datetime import datetime

    from tests.policy_fixtures import DEN

    opened = datetime(2026, 11, 1, 1, 30, tzinfo=DEN)  # 01:30 MDT = 07:30Z
    first = datetime(2026, 11, 1, 1, 50, tzinfo=DEN)  # 01:50 MDT = 07:50Z: 20 min after opening
    second = datetime(2026, 11, 1, 1, 10, tzinfo=DEN, fold=1)  # 01:10 MST = 08:10Z: 40 min after
    c = case(opened, "P1", agent=[first, second])
    for now in (
        datetime(2026, 11, 1, 8, 20, tzinfo=UTC),
        datetime(2026, 11, 1, 1, 20, tzinfo=DEN, fold=1),  # the same instant, given in Denver time
    ):
        ev = evaluate(P, c, now)
        fr = target(ev, "first_response")
        # P1 first response within 30 min: met by the 07:50Z reply, not breached by the 08:10Z one
        assert (fr.state, fr.met_at) == (TargetState.MET, datetime(2026, 11, 1, 7, 50, tzinfo=UTC))
        pu = target(ev, "periodic_update")
        # hourly after the last update, 08:10Z: due 09:10Z (not 08:50Z after the 07:50Z one)
        assert (pu.state, pu.due_at) == (TargetState.RUNNING, datetime(2026, 11, 1, 9, 10, tzinfo=UTC))
        assert pu.met_at == datetime(2026, 11, 1, 8, 10, tzinfo=UTC)


def test_the_normalized_case_holds_utc_instants() -> None:
    from datetime import UTC as STD_UTC
    from datetime import datetime

    from tests.policy_fixtures import DEN

    local = datetime(2026, 11, 1, 1, 10, tzinfo=DEN, fold=1)  # 08:10Z
    c = case(local, "P1", agent=[local], etr=local, hold_until=local, updated_at=local)
    instants = [
        c.opened_at,
        c.etr,
        c.hold_until,
        c.updated_at,
        c.replies[0].at,
        c.level_history[0].at,
        c.status_history[0].at,
    ]
    assert all(i is not None and i.tzinfo is STD_UTC for i in instants)
    assert all(i == datetime(2026, 11, 1, 8, 10, tzinfo=STD_UTC) for i in instants)
    with pytest.raises(ValueError, match="naive"):
        case(datetime(2026, 11, 1, 1, 10), "P1")


def test_next_change_is_the_earliest_boundary_in_the_repeated_hour() -> None:
    # business time on a 24x7 Denver calendar: due instants come back in Denver time
    p = policy(
        **{
            "  24x7: {zone: UTC, hours: 24x7}": "  24x7: {zone: UTC, hours: 24x7}\n"
            "  den24: {zone: America/Denver, hours: 24x7}",
            "    calendar: 24x7\n    escalation_path: clock\n    on_workaround: P2": "    calendar: den24\n"
            "    on_workaround: P2",
            "{metric: first_response, within: 30 min}": "{metric: first_response, within: 90 business min}",
            "{metric: restoration, within: 4 hours, warn_at: 0.5}": "{metric: restoration, within: 70 business min}",
            "{metric: periodic_update, within: 1 hour}": "{metric: periodic_update, within: 3 hours}",
        }
    )
    opened = datetime_utc(2026, 11, 1, 6, 40)  # 00:40 MDT
    ev = evaluate(p, case(opened, "P1"), datetime_utc(2026, 11, 1, 6, 45))
    # first response due 08:10Z (01:10 MST, fold=1), restoration 07:50Z (01:50 MDT), updates 09:40Z:
    # the earliest is 07:50Z. (An instant in the fold never compares equal to another zone's, PEP 495:
    # compare epoch seconds.)
    assert instant(target(ev, "first_response").due_at) == instant(datetime_utc(2026, 11, 1, 8, 10))
    assert instant(target(ev, "restoration").due_at) == instant(datetime_utc(2026, 11, 1, 7, 50))
    assert instant(ev.next_change_at) == instant(datetime_utc(2026, 11, 1, 7, 50))
    upcoming = [instant(a.due_at) for a in ev.upcoming]
    assert upcoming == sorted(upcoming)


def datetime_utc(*args: int):  # type: ignore[no-untyped-def]
    from datetime import datetime

    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def instant(t):  # type: ignore[no-untyped-def]
    assert t is not None
    return t.timestamp()


def test_an_update_after_the_clock_stopped_at_its_due_instant_is_late() -> None:
    opened = den(2026, 11, 19, 9, 0)
    # P1 hourly: updated 09:20, due 10:20; the case waits on the customer from exactly 10:20 (pauses all)
    c = case(
        opened,
        "P1",
        statuses=[(opened, "New"), (den(2026, 11, 19, 10, 20), "Waiting")],
        agent=[den(2026, 11, 19, 9, 20), den(2026, 11, 19, 10, 40)],
    )
    at_1030 = target(evaluate(P, c, den(2026, 11, 19, 10, 30)), "periodic_update")
    assert (at_1030.state, at_1030.missed) == (TargetState.BREACHED, 1)  # past due wins over paused
    # the update came 10:40, twenty minutes after it was due: still one missed, though the clock ran
    # exactly one hour in between (it stood still from 10:20)
    at_1045 = target(evaluate(P, c, den(2026, 11, 19, 10, 45)), "periodic_update")
    assert (at_1045.state, at_1045.missed) == (TargetState.PAUSED, 1)


def test_a_business_hours_update_after_the_closing_it_was_due_at_is_late() -> None:
    p = policy(
        **{
            "      - {metric: periodic_update, within: 1 business days}": "      - {metric: periodic_update, "
            "within: 3 business hours}"
        }
    )
    opened = den(2026, 11, 19, 14, 0)  # Thursday; the office closes at 17:00
    # 3 business hours from 14:00 run out at the closing, 17:00: due then (not at the next opening)
    c = case(opened, statuses=[(opened, "Open")], agent=[opened, den(2026, 11, 19, 18, 0)])
    pu = target(evaluate(p, c, den(2026, 11, 19, 17, 30)), "periodic_update")
    assert (pu.state, pu.due_at, pu.missed) == (TargetState.BREACHED, den(2026, 11, 19, 17, 0), 1)
    # the update came at 18:00, an hour late: one missed, next due 3 business hours on (Fri 11:00)
    pu = target(evaluate(p, c, den(2026, 11, 20, 9, 0)), "periodic_update")
    assert (pu.state, pu.due_at, pu.missed) == (TargetState.RUNNING, den(2026, 11, 20, 11, 0), 1)


def test_periodic_result_names_the_latest_run_of_missed_updates() -> None:
    opened = den(2026, 11, 19, 9, 0)
    m = timedelta(minutes=1)
    # P1 hourly: updates 09:20, 10:00 (on time), 12:50 (due 11:00, 12:00 missed), 13:10
    updates = [opened + 20 * m, opened + 60 * m, opened + 230 * m, opened + 250 * m]
    pu = target(evaluate(P, case(opened, "P1", agent=updates), opened + 260 * m), "periodic_update")
    assert (pu.state, pu.missed) == (TargetState.RUNNING, 2)
    assert (pu.missed_due_at, pu.missed_until) == (den(2026, 11, 19, 11, 0), den(2026, 11, 19, 12, 50))
    # now late again (due 14:10): the latest run is the current one, not ended yet
    late = target(evaluate(P, case(opened, "P1", agent=updates), opened + 320 * m), "periodic_update")
    assert (late.state, late.missed, late.missed_due_at, late.missed_until) == (
        TargetState.BREACHED,
        3,
        den(2026, 11, 19, 14, 10),
        None,
    )
    # solved at 15:00 without that update: the solving ends the run; the timer stopped, met
    solved = case(opened, "P1", agent=updates, statuses=[(opened, "New"), (opened + 360 * m, "Solved")])
    done = target(evaluate(P, solved, opened + 400 * m), "periodic_update")
    assert (done.state, done.missed, done.missed_due_at, done.missed_until) == (
        TargetState.MET,
        3,
        den(2026, 11, 19, 14, 10),
        den(2026, 11, 19, 15, 0),
    )


def test_a_case_behind_on_updates_is_due_again_when_the_next_one_is_missed() -> None:
    """P1 updates hourly. Last update 10:20, now 12:50: the 11:20 and 12:20 updates are missed; the 13:20
    one will be missed too if nothing comes, so the case must be re-evaluated at 13:20 (its breach note
    and notification for that miss must not wait until someone touches the case)."""
    opened = den(2026, 11, 19, 10, 0)
    c = case(
        opened, "P1", agent=[opened + timedelta(minutes=20)], statuses=[(opened, "New"), (opened, "Open")]
    )
    now = opened + timedelta(hours=2, minutes=50)
    ev = evaluate(P, c, now)
    pu = target(ev, "periodic_update")
    assert (pu.state, pu.missed) == (TargetState.BREACHED, 2)
    assert pu.recheck_at == opened + timedelta(hours=3, minutes=20)
    assert ev.next_change_at is not None and ev.next_change_at <= opened + timedelta(hours=3, minutes=20)
    later = target(evaluate(P, c, opened + timedelta(hours=3, minutes=21)), "periodic_update")
    assert later.missed == 3
