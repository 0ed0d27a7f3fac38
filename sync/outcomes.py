"""The rows of the ``outcomes`` table that reports read: one per target of an evaluated case.

Kept apart from the engine so that what a report says about a target is a pure function of the
evaluation, testable without a cycle. A one-shot target's row is its due instant, when it was met and
how late. A periodic-update target has no single due instant: once an update was missed its row is a
breach, the first due instant of the latest run of missed updates, when the next update came (None
while it is still late; the solving of the case when it came first) and how late, and how many updates
were missed in the epoch.
"""

from __future__ import annotations

from datetime import datetime

from casewarden.policy.case import Case
from casewarden.policy.model import Metric
from casewarden.policy.results import Evaluation, TargetState
from casewarden.sync.state import iso

#: (case_id, target, level, metric, state, opened_at, due_at, met_at, late_seconds, missed), as
#: ``StateStore.save_outcomes`` takes them
OutcomeRow = tuple[str, str, str, str, str, str, str | None, str | None, float | None, int]


def outcome_rows(ev: Evaluation, case: Case, now: datetime) -> list[OutcomeRow]:
    """``late_seconds`` counts real seconds from due to met (or to ``now`` while unmet); instants are
    compared as epoch seconds (two instants of one ZoneInfo subtract by wall clock)."""
    opened = iso(case.opened_at)
    rows: list[OutcomeRow] = []
    for t in ev.targets:
        state, due, met, late = t.state.value, t.due_at, t.met_at, None
        if t.metric == Metric.PERIODIC_UPDATE and t.missed_due_at is not None:
            state, due, met = TargetState.BREACHED.value, t.missed_due_at, t.missed_until
            late = (met or now).timestamp() - due.timestamp()
        elif t.state is TargetState.BREACHED and due is not None:
            late = (met or now).timestamp() - due.timestamp()
        rows.append(
            (
                case.id,
                t.name,
                t.level,
                t.metric,
                state,
                opened,
                iso(due) if due else None,
                iso(met) if met else None,
                late,
                t.missed,
            )
        )
    return rows
