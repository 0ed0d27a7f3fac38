"""Where the tracker's own SLA timers and casewarden's disagree, and by how much.

A team moving from Zendesk SLA policies or JSM SLAs to casewarden runs both side by side for a while;
before anyone trusts either figure they want the cases where the two disagree. The comparison reads the
cases live (whole timelines, through ``read_cases``) rather than from the state store, so both sides look
at the same case at the same instant, and asks the connector for the tracker's timers in bulk.

Only open cases are compared, and only metrics both sides have: a tracker SLA metric the policy has no
target for, or a target the tracker keeps no SLA for, is counted but not a disagreement. Trackers count
in whole minutes, so differences within ``tolerance`` agree.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from casewarden.connectors.base import Connector, NativeTimer, TrackerCase
from casewarden.errors import CaseError, CasewardenError
from casewarden.policy.compiled import Policy
from casewarden.policy.evaluate import evaluate
from casewarden.policy.results import Evaluation, TargetResult, TargetState
from casewarden.sync.wiring import Runtime

#: how many open cases one cross-check reads by default: a sample, not a full scan
DEFAULT_LIMIT = 200
DEFAULT_TOLERANCE = 60.0


@dataclass(frozen=True, slots=True)
class Disagreement:
    """One case and metric where the two sides differ. ``delta`` is theirs minus ours in seconds (positive:
    the tracker breaches later); None when one side has no running timer."""

    case_id: str
    url: str
    metric: str
    source: str
    ours: datetime | None
    theirs: datetime | None
    delta: float | None
    why: str


@dataclass
class TrackerCrossCheck:
    """The cross-check of one tracker. ``skipped`` says why nothing was compared (no native SLA, not
    reachable); ``compared`` counts (case, metric) pairs both sides have."""

    tracker: str
    cases: int = 0
    compared: int = 0
    agreed: int = 0
    theirs_only: int = 0
    disagreements: list[Disagreement] = field(default_factory=list)
    skipped: str | None = None

    @property
    def largest(self) -> float | None:
        deltas = [abs(d.delta) for d in self.disagreements if d.delta is not None]
        return max(deltas) if deltas else None


def cross_check_tracker(
    tracker: str,
    conn: Connector,
    policy: Policy,
    case_ids: Sequence[str],
    now: datetime,
    *,
    tolerance: float = DEFAULT_TOLERANCE,
) -> TrackerCrossCheck:
    """Compare the tracker's timers with casewarden's for the open ones among ``case_ids``."""
    out = TrackerCrossCheck(tracker)
    if not conn.NATIVE_SLA:
        out.skipped = "this tracker computes no SLA timers of its own"
        return out
    try:
        cases = [tc for tc in conn.read_cases(list(case_ids)) if not tc.problems]
        evaluations: dict[str, tuple[TrackerCase, Evaluation]] = {}
        for tc in cases:
            try:
                evaluations[tc.case.id] = (tc, evaluate(policy, tc.case, now))
            except CaseError:
                continue  # the policy cannot place it: plan and run report it; nothing to compare
        open_ids = [cid for cid, (_tc, ev) in evaluations.items() if ev.open]
        timers = conn.native_timers(open_ids) if open_ids else []
    except CasewardenError as exc:
        out.skipped = f"could not read the tracker: {exc}"
        return out
    out.cases = len(open_ids)
    by_case: dict[str, list[NativeTimer]] = {}
    for t in timers:
        by_case.setdefault(t.case_id, []).append(t)
    for cid in open_ids:
        tc, ev = evaluations[cid]
        for timer in by_case.get(cid, []):
            ours = _our_target(ev.targets, timer.metric)
            if ours is None:
                out.theirs_only += 1
                continue
            out.compared += 1
            problem = _compare(tc, ours, timer, tolerance)
            if problem is None:
                out.agreed += 1
            else:
                out.disagreements.append(problem)
    out.disagreements.sort(
        key=lambda d: (-(abs(d.delta) if d.delta is not None else float("inf")), d.case_id)
    )
    return out


def _our_target(targets: Sequence[TargetResult], metric: str) -> TargetResult | None:
    """Our target for the metric: the first one still running, else the first one (a periodic metric can
    have several targets; the tracker shows the one it is counting)."""
    same = [t for t in targets if t.metric == metric]
    running = [t for t in same if not _finished(t)]
    chosen = running or same
    return chosen[0] if chosen else None


def _finished(t: TargetResult) -> bool:
    """Met, or breached and then met late: either way the clock has stopped (trackers say "achieved")."""
    return t.state is TargetState.MET or t.met_at is not None


def _compare(
    tc: TrackerCase, ours: TargetResult, theirs: NativeTimer, tolerance: float
) -> Disagreement | None:
    ours_due = None if _finished(ours) else ours.due_at
    if ours.state is TargetState.PAUSED and theirs.paused:
        return None  # both stopped: neither shows a breach instant that means anything yet
    if ours_due is None and theirs.due is None:
        return None
    if ours_due is None or theirs.due is None:
        why = (
            "casewarden counts it as done; the tracker still runs it"
            if ours_due is None
            else "the tracker shows no running timer" + (" (paused)" if theirs.paused else "")
        )
        return Disagreement(tc.case.id, tc.url, ours.metric, theirs.source, ours_due, theirs.due, None, why)
    delta = (theirs.due - ours_due).total_seconds()
    if abs(delta) <= tolerance:
        return None
    return Disagreement(
        tc.case.id, tc.url, ours.metric, theirs.source, ours_due, theirs.due, delta, "due instants differ"
    )


def cross_check(
    rt: Runtime,
    now: datetime,
    *,
    tracker: str | None = None,
    limit: int = DEFAULT_LIMIT,
    tolerance: float = DEFAULT_TOLERANCE,
    case_ids: Sequence[str] = (),
) -> list[TrackerCrossCheck]:
    """The cross-check of every tracker of the deployment (or one): the named cases, else the ``limit``
    cases whose timers run out soonest according to the state store (the ones a team watches)."""
    results: list[TrackerCrossCheck] = []
    for spec in rt.deployment.spec.trackers:
        if tracker is not None and spec.name != tracker:
            continue
        conn = rt.connectors.get(spec.name)
        if conn is None:
            results.append(
                TrackerCrossCheck(spec.name, skipped=rt.unavailable.get(spec.name, "not reachable"))
            )
            continue
        ids = list(case_ids) or rt.state.cases_with_timers(spec.name, limit)
        if not ids and conn.NATIVE_SLA:
            results.append(TrackerCrossCheck(spec.name, skipped="no open case known yet: run a cycle first"))
            continue
        results.append(cross_check_tracker(spec.name, conn, rt.policy, ids, now, tolerance=tolerance))
    return results
