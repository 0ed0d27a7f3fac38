"""The sync cycle: read changed cases -> evaluate at ``now`` -> desired state -> diff -> plan -> apply in
batches -> record.

Side effects run at most once per key, also across crashes and unknown outcomes: a key is recorded
``pending`` (committed) before its write and ``done`` after. A change whose outcome the tracker could not
tell (a timeout, a 5xx after the write may have landed, a bulk job still running) stays ``pending``; it is
settled by the connector from the tracker's markers (:meth:`Connector.settle`) right after its batch and
again at the start of later cycles, before anything is repeated: landed means done, certainly not landed
means planned again, still unknown means asked again next cycle. Notifications have no marker on a
tracker, so a ``pending`` notification is never resent: it is marked ``uncertain`` and reported (at most
once beats twice for a pager).

Each page a connector yields carries its resume point; the page's ledger, audit, snapshots and resume
point commit in one transaction, so a cycle that dies midway resumes after the last recorded page.

Trackers are independent: one tracker's failure (unreachable, credentials, a connector bug) ends that
tracker's part of the cycle, is recorded in its result, and the others still run. While a cycle runs,
its lease is renewed (:class:`casewarden.sync.lease.LeaseKeeper`), so a slow remote cycle never overlaps
a second runner; a tracker's ``time_budget`` ends its part cleanly after the page in progress.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from casewarden.connectors.base import (
    Capabilities,
    CaseChanges,
    Change,
    ChangeKind,
    ChangeResult,
    Connector,
    CycleBudget,
    Gone,
    Outcome,
    Page,
    Pending,
    TrackerCase,
    group_by_case,
)
from casewarden.errors import (
    CaseError,
    ConnectorError,
    FatalConnectorError,
    LockedError,
    NotifyError,
    StateError,
)
from casewarden.policy.compiled import Policy
from casewarden.policy.evaluate import evaluate
from casewarden.policy.results import Evaluation, TargetState
from casewarden.sync.deployment import Deployment, TrackerSpec
from casewarden.sync.lease import LeaseKeeper
from casewarden.sync.notify import Channel
from casewarden.sync.outcomes import outcome_rows
from casewarden.sync.planner import (
    MOVES,
    CasePlan,
    PlannedNotification,
    action_keys,
    plan_converged,
    simulate,
)
from casewarden.sync.snapshot import decode, decode_with_counts, encode, fingerprint
from casewarden.sync.state import AuditRow, StateStore, iso

log = logging.getLogger("casewarden.sync")

LEASE_SECONDS = 900.0
NOTIFY_ACTION = "notify"
SNAPSHOT_PAGE = 1000


@dataclass
class Skipped:
    tracker: str
    case_id: str
    reason: str


@dataclass
class TrackerResult:
    tracker: str
    read: int = 0
    reevaluated: int = 0
    evaluated: int = 0
    changes: list[Change] = field(default_factory=list)
    notifications: list[PlannedNotification] = field(default_factory=list)
    results: list[ChangeResult] = field(default_factory=list)
    notified: int = 0
    notify_failed: list[str] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    recovered: int = 0  # side effects found on the tracker after a crash or an unknown outcome
    still_unknown: int = 0  # side effects whose outcome the tracker cannot tell yet
    uncertain: list[str] = field(default_factory=list)
    breaches: int = 0
    unchanged: int = 0  # read, but the only change was casewarden's own writes
    flags: int = 0
    gone: int = 0  # deleted or merged cases dropped from state
    error: str | None = None  # this tracker's part of the cycle failed: why
    stopped_early: bool = False  # the tracker's time budget ran out; the next cycle carries on

    @property
    def applied(self) -> int:
        return sum(1 for r in self.results if r.outcome is Outcome.APPLIED)

    @property
    def refused(self) -> list[ChangeResult]:
        return [r for r in self.results if r.outcome is Outcome.REFUSED]

    @property
    def unknown(self) -> list[ChangeResult]:
        return [r for r in self.results if r.outcome is Outcome.UNKNOWN]

    @property
    def failed(self) -> list[ChangeResult]:
        """Changes that did not (certainly) land: refused, or of unknown outcome."""
        return [r for r in self.results if r.outcome is not Outcome.APPLIED]


@dataclass
class CycleResult:
    at: datetime
    dry_run: bool
    trackers: list[TrackerResult]
    run_id: int | None = None

    @property
    def tracker_errors(self) -> list[TrackerResult]:
        return [t for t in self.trackers if t.error]


class LeaseLost(LockedError):
    """The lease expired under a running cycle and another runner took it: stop writing at once."""


class Engine:
    """Runs cycles for one deployment. ``clock`` is the only source of time in the sync layer's logic,
    so tests drive cycles at chosen instants."""

    def __init__(
        self,
        deployment: Deployment,
        policy: Policy,
        state: StateStore,
        connectors: Mapping[str, Connector],
        channels: Mapping[str, Channel],
        clock: Callable[[], datetime],
        *,
        progress: Callable[[str, int], None] | None = None,
        unavailable: Mapping[str, str] | None = None,
        lease_seconds: float = LEASE_SECONDS,
    ):
        self.deployment = deployment
        self.policy = policy
        self.state = state
        self.connectors = connectors
        self.channels = channels
        self.clock = clock
        self.progress = progress or (lambda _label, _n: None)
        self.unavailable = dict(unavailable or {})
        self.lease_seconds = lease_seconds
        self._keeper: LeaseKeeper | None = None

    # -- public ---------------------------------------------------------------------------------------
    def plan(self) -> CycleResult:
        """Exactly what :meth:`run_once` would do now, without changing anything anywhere."""
        now = self.clock()
        results = [
            self._tracker(spec, now, apply=False, run_id=None) for spec in self.deployment.spec.trackers
        ]
        return CycleResult(now, True, results)

    def run_once(self) -> CycleResult:
        now = self.clock()
        lease = f"deployment:{self.deployment.source}"
        self.state.acquire_lease(lease, now, self.lease_seconds)
        run_id = self.state.start_run(now, "run")
        results: list[TrackerResult] = []
        keeper = LeaseKeeper(self.state.path, lease, self.state.holder, self.lease_seconds, self.clock)
        self._keeper = keeper
        try:
            with keeper:
                for spec in self.deployment.spec.trackers:
                    results.append(self._tracker(spec, now, apply=True, run_id=run_id))
        except BaseException as exc:
            self.state.finish_run(run_id, self.clock(), "failed", _counts(results), error=_safe_error(exc))
            if not isinstance(exc, LeaseLost):
                self.state.release_lease(lease)
            raise
        finally:
            self._keeper = None
        bad = any(r.failed or r.notify_failed or r.error for r in results)
        self.state.finish_run(run_id, self.clock(), "partial" if bad else "ok", _counts(results))
        self.state.release_lease(lease)
        return CycleResult(now, False, results, run_id)

    # -- one tracker ----------------------------------------------------------------------------------
    def _tracker(self, spec: TrackerSpec, now: datetime, *, apply: bool, run_id: int | None) -> TrackerResult:
        """One tracker's part of the cycle; its failure is recorded, not raised, so the others run.
        State-store failures and a lost lease are the whole deployment's and do stop the cycle."""
        out = TrackerResult(spec.name)
        conn = self.connectors.get(spec.name)
        if conn is None:
            out.error = self.unavailable.get(spec.name, "the connector could not be built")
            log.error("tracker %s: %s", spec.name, out.error)
            return out
        try:
            self._cycle(spec, conn, now, apply, run_id, out)
        except (StateError, KeyboardInterrupt):
            raise
        except ConnectorError as exc:
            out.error = _safe_error(exc)
            log.error("tracker %s: cycle stopped: %s", spec.name, out.error)
        except Exception as exc:  # a connector bug must not stop the other trackers either
            out.error = _safe_error(exc)
            log.exception("tracker %s: cycle stopped by an unexpected error", spec.name)
        return out

    def _cycle(
        self,
        spec: TrackerSpec,
        conn: Connector,
        now: datetime,
        apply: bool,
        run_id: int | None,
        out: TrackerResult,
    ) -> None:
        budget = CycleBudget(spec.time_budget)
        shared = getattr(getattr(conn, "context", None), "budget", None)
        if isinstance(shared, CycleBudget):  # the connector bounds its retries and polling by the same budget
            shared.start(spec.time_budget)
        caps = conn.capabilities()
        overlay = self._recover(spec.name, conn, out, now, apply)
        resume = self.state.resume(spec.name)
        salt = self._salt(spec)
        seen: set[str] = set()

        def known(ids: Sequence[str]) -> dict[str, TrackerCase]:
            stored = self.state.known_cases(spec.name, ids)
            return {cid: decode(data, simulated=False) for cid, data in stored.items()}

        for page in conn.read_changed(resume, now, known):
            self._check_lease()
            fresh = [tc for tc in page.cases if tc.case.id not in seen]
            seen.update(tc.case.id for tc in fresh)
            out.read += len(fresh)
            self.progress("read", len(fresh))
            changed = self._changed(spec.name, fresh, now, salt, out)
            self._handle_page(spec, conn, caps, changed, now, apply, run_id, out, page, salt, overlay)
            if budget.exhausted():
                out.stopped_early = True
                log.warning("tracker %s: time budget used up; the next cycle carries on", spec.name)
                return
        due = [decode_with_counts(data) for _cid, data in self.state.due_snapshots(spec.name, now, seen)]
        if due:
            out.reevaluated = len(due)
            for i in range(0, len(due), SNAPSHOT_PAGE):
                chunk = due[i : i + SNAPSHOT_PAGE]
                sims = {tc.case.id: sim for tc, sim in chunk}
                self._handle_page(
                    spec,
                    conn,
                    caps,
                    [tc for tc, _ in chunk],
                    now,
                    apply,
                    run_id,
                    out,
                    None,
                    salt,
                    overlay,
                    sims,
                )

    def _check_lease(self) -> None:
        if self._keeper is not None and self._keeper.lost:
            raise LeaseLost("the lease was lost mid-cycle (another runner took over); stopped before writing")

    def _salt(self, spec: TrackerSpec) -> str:
        """What else evaluation depends on: the policy and this tracker's mapping. Editing either makes
        every case count as changed, so nothing stale survives a policy change."""
        text = self.policy.spec.model_dump_json() + spec.model_dump_json()
        return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()

    def _changed(
        self, tracker: str, page: Sequence[TrackerCase], now: datetime, salt: str, out: TrackerResult
    ) -> list[TrackerCase]:
        """Drop the cases whose only change since the last cycle is casewarden's own writes (their
        fingerprint is the one recorded after those writes) and whose timers cross nothing yet."""
        known = self.state.fingerprints(tracker, [tc.case.id for tc in page])
        horizon = iso(now)
        changed = []
        for tc in page:
            fp, next_at = known.get(tc.case.id, (None, None))
            if fp is not None and (next_at is None or next_at > horizon) and fp == fingerprint(tc, salt):
                out.unchanged += 1
                continue
            changed.append(tc)
        return changed

    def _handle_page(
        self,
        spec: TrackerSpec,
        conn: Connector,
        caps: Capabilities,
        cases: Sequence[TrackerCase],
        now: datetime,
        apply: bool,
        run_id: int | None,
        out: TrackerResult,
        page: Page | None,
        salt: str,
        overlay: Mapping[str, str | None],
        sims: Mapping[str, tuple[int, int]] | None = None,
    ) -> None:
        plans: list[CasePlan] = []
        evaluated: list[tuple[TrackerCase, Evaluation]] = []  # the case as read, and its settled evaluation
        candidates: list[tuple[TrackerCase, Evaluation]] = []
        unplaced: list[TrackerCase] = []
        for tc in cases:
            if tc.problems:
                reason = "; ".join(tc.problems)
                out.skipped.append(Skipped(spec.name, tc.case.id, reason))
                log.warning("skipped case %s: %s", tc.case.id, reason)
                unplaced.append(tc)
                continue
            try:
                ev = evaluate(self.policy, tc.case, now)
            except CaseError as exc:
                out.skipped.append(Skipped(spec.name, tc.case.id, exc.reason))
                log.warning("skipped case %s: %s", tc.case.id, exc.reason)
                unplaced.append(tc)
                continue
            candidates.append((tc, ev))
        keys = [k for _tc, ev in candidates for k in action_keys(ev)]
        ledger = self._ledger(spec.name, keys, overlay)
        floors = self.state.escalation_floors(spec.name, [tc.case.id for tc, _ev in candidates])
        for tc, ev in candidates:
            out.evaluated += 1
            out.flags += len(ev.flags)
            out.breaches += sum(1 for t in ev.targets if t.state is TargetState.BREACHED)
            read = tc
            plan, tc, ev = plan_converged(
                self.policy,
                tc,
                ev,
                spec,
                self.deployment.spec.notifications,
                ledger,
                floors.get((tc.case.id, ev.epoch), 0),
                now,
                lambda more: self._ledger(spec.name, more, overlay),
                caps,
            )
            out.problems.extend(f"{tc.case.id}: {p}" for p in plan.problems)
            out.changes.extend(plan.changes)
            out.notifications.extend(plan.notifications)
            plans.append(plan)
            evaluated.append((read, ev))
        self.progress("evaluated", len(cases))
        gone = page.gone if page is not None else []
        out.gone += len(gone)
        if not apply:
            return
        assert run_id is not None
        self._check_lease()
        changes = [c for p in plans for c in p.changes]
        notes = [n for p in plans for n in p.notifications]
        intents = [(c.key, c.case_id, c.kind.value) for c in changes if c.key]
        intents += [(n.key, n.message.case_id, NOTIFY_ACTION) for n in notes]
        if intents:
            self.state.record_intents(spec.name, intents, run_id, now)
        results: list[ChangeResult] = []
        groups = group_by_case(changes)
        for i in range(0, len(groups), spec.batch_size):
            batch = groups[i : i + spec.batch_size]
            results.extend(_apply_batch(conn, batch))
            self.progress("applied", len(batch))
        results = self._settle_unknown(spec.name, conn, results, out)
        out.results.extend(results)
        sent = self._notify(notes, out)
        self._record(
            spec.name, run_id, now, evaluated, unplaced, results, notes, sent, page, gone, salt, sims or {}
        )

    def _ledger(self, tracker: str, keys: list[str], overlay: Mapping[str, str | None]) -> dict[str, str]:
        """Ledger states of ``keys``, as recovery left them (``overlay``: what a dry run learnt from the
        tracker's markers without writing it down; None means forgotten)."""
        found = self.state.ledger_status(tracker, keys) if keys else {}
        for k in keys:
            if k in overlay:
                value = overlay[k]
                if value is None:
                    found.pop(k, None)
                else:
                    found[k] = value
        return found

    def _settle_unknown(
        self, tracker: str, conn: Connector, results: list[ChangeResult], out: TrackerResult
    ) -> list[ChangeResult]:
        """Ask the tracker at once about keyed changes whose outcome was unknown: most are answered by
        their markers (the write landed, the answer was lost); the rest stay unknown for next cycle."""
        unknown = [r for r in results if r.outcome is Outcome.UNKNOWN and r.change.key]
        if not unknown:
            return results
        try:
            verdicts = conn.settle(
                [Pending(r.change.key or "", r.change.case_id, r.change.kind.value, r.token) for r in unknown]
            )
        except ConnectorError as exc:
            log.warning("could not settle %d unknown outcome(s) now: %s", len(unknown), _safe_error(exc))
            return results
        settled = []
        for r in results:
            verdict = (
                verdicts.get(r.change.key or "") if r.outcome is Outcome.UNKNOWN and r.change.key else None
            )
            if verdict is Outcome.APPLIED:
                out.recovered += 1
                settled.append(ChangeResult(r.change, Outcome.APPLIED, "landed (found on the tracker)"))
            elif verdict is Outcome.REFUSED:
                settled.append(ChangeResult(r.change, Outcome.REFUSED, f"did not land ({r.error})"))
            else:
                settled.append(r)
        return settled

    def _notify(self, notes: Sequence[PlannedNotification], out: TrackerResult) -> set[str]:
        sent: set[str] = set()
        for n in notes:
            ok = True
            for name in n.channels:
                channel = self.channels.get(name)
                if channel is None:
                    out.problems.append(f"{n.message.case_id}: no notification channel named '{name}'")
                    ok = False
                    continue
                try:
                    channel.send(n.message)
                except NotifyError as exc:
                    ok = False
                    out.notify_failed.append(f"{n.key} via {name}: {exc}")
                    log.error("notification %s via %s failed: %s", n.key, name, exc)
            if ok:
                sent.add(n.key)
                out.notified += 1
        return sent

    def _record(
        self,
        tracker: str,
        run_id: int,
        now: datetime,
        evaluated: Sequence[tuple[TrackerCase, Evaluation]],
        unplaced: Sequence[TrackerCase],
        results: Sequence[ChangeResult],
        notes: Sequence[PlannedNotification],
        sent: set[str],
        page: Page | None,
        gone: Sequence[Gone],
        salt: str,
        sims: Mapping[str, tuple[int, int]],
    ) -> None:
        """Ledger, audit, snapshots, outcomes and resume point of one page: one transaction. Side effects
        whose outcome is unknown stay ``pending``, for the tracker's markers to settle."""
        applied_fields: dict[str, dict[str, str | None]] = {}
        retry: set[str] = (
            set()
        )  # cases with a change that did not land: due again at once, from their snapshot
        landed_moves: dict[str, list[Change]] = {}
        tag_changes: dict[str, list[Change]] = {}
        for r in results:
            if r.ok and r.change.kind is ChangeKind.SET_FIELD and r.change.field is not None:
                applied_fields.setdefault(r.change.case_id, {})[r.change.field] = r.change.value
            if r.ok and r.change.kind in (ChangeKind.ADD_TAG, ChangeKind.REMOVE_TAG):
                tag_changes.setdefault(r.change.case_id, []).append(r.change)
            elif not r.ok:
                retry.add(r.change.case_id)
            if r.ok and r.change.kind in MOVES:
                landed_moves.setdefault(r.change.case_id, []).append(r.change)
        with self.state.transaction() as db:
            for r in results:
                if not r.change.key:
                    continue
                if r.outcome is Outcome.UNKNOWN:
                    self.state.keep_pending(db, tracker, r.change.key, r.token)
                else:
                    status = "done" if r.ok else "failed"
                    self.state.settle(db, tracker, r.change.key, status, now, r.error)
            for n in notes:
                self.state.settle(
                    db,
                    tracker,
                    n.key,
                    "done" if n.key in sent else "failed",
                    now,
                    None if n.key in sent else "delivery failed",
                )
            changed = [
                AuditRow(
                    tracker,
                    r.change.case_id,
                    r.change.kind.value,
                    r.change.field,
                    r.change.value,
                    r.change.key,
                    r.change.reason,
                    r.ok,
                    r.error if r.outcome is not Outcome.UNKNOWN else f"outcome unknown: {r.error}",
                )
                for r in results
            ]
            notified = [
                AuditRow(
                    tracker,
                    n.message.case_id,
                    "notify",
                    ",".join(n.channels),
                    None,
                    n.key,
                    n.message.reason,
                    n.key in sent,
                )
                for n in notes
            ]
            self.state.audit(db, run_id, now, changed + notified)
            snaps: list[tuple[str, str | None, str | None, str, str | None]] = []
            outcomes: list[tuple[object, ...]] = []
            escalations: list[tuple[object, ...]] = []
            for tc in unplaced:  # kept so a connector completing incremental reads has a base
                snaps.append(
                    (
                        tc.case.id,
                        _iso_opt(tc.case.updated_at),
                        None,
                        encode(tc, sims.get(tc.case.id, (0, 0))),
                        None,
                    )
                )
            for tc, ev in evaluated:
                # the case as it now stands on the tracker: as read, plus the moves and fields that landed
                fields = applied_fields.get(tc.case.id) or {}
                moves = landed_moves.get(tc.case.id, [])
                case = simulate(tc.case, moves, now)
                prior = sims.get(tc.case.id, (0, 0))
                simulated = (
                    prior[0] + sum(1 for c in moves if c.kind is ChangeKind.SET_STATUS),
                    prior[1] + sum(1 for c in moves if c.kind is ChangeKind.SET_LEVEL),
                )
                tags = set(tc.tags)
                for c in tag_changes.get(tc.case.id, []):
                    (tags.add if c.kind is ChangeKind.ADD_TAG else tags.discard)(c.value or "")
                stored = TrackerCase(case, {**tc.fields, **fields}, frozenset(tags), tc.url)
                failed = tc.case.id in retry
                next_at = now if failed else ev.next_change_at
                snaps.append(
                    (
                        tc.case.id,
                        _iso_opt(tc.case.updated_at),
                        iso(next_at) if next_at else None,
                        encode(stored, simulated),
                        None if failed else fingerprint(stored, salt),
                    )
                )
                outcomes.extend(outcome_rows(ev, tc.case, now))
                esc = ev.escalation
                if esc and esc.level and esc.reached_at:
                    for lvl in range(1, esc.level + 1):
                        escalations.append(
                            (tc.case.id, ev.epoch, lvl, iso(esc.reached_at), int(esc.customer_requested))
                        )
            self.state.save_snapshots(db, tracker, snaps)
            self.state.save_outcomes(db, tracker, outcomes)
            self.state.save_escalations(db, tracker, escalations)
            if gone:
                self.state.drop_cases(db, tracker, [g.case_id for g in gone])
            if page is not None and page.resume is not None:
                self.state.set_resume(db, tracker, page.resume)

    def _recover(
        self, tracker: str, conn: Connector, out: TrackerResult, now: datetime, apply: bool
    ) -> dict[str, str | None]:
        """Settle side effects a previous cycle started but did not record, or whose outcome the tracker
        could not tell. The tracker is asked first, so no state-store lock is held across tracker calls.
        A dry run writes nothing: it returns what it learnt as an overlay on the ledger."""
        pending = self.state.pending(tracker)
        overlay: dict[str, str | None] = {}
        if not pending:
            return overlay
        effects = [e for e in pending if e.action != NOTIFY_ACTION]
        verdicts = (
            conn.settle([Pending(e.key, e.case_id, e.action, e.detail) for e in effects]) if effects else {}
        )
        for e in pending:
            if e.action == NOTIFY_ACTION:
                overlay[e.key] = "uncertain"
                continue
            verdict = verdicts.get(e.key, Outcome.UNKNOWN)
            overlay[e.key] = {Outcome.APPLIED: "done", Outcome.REFUSED: None, Outcome.UNKNOWN: "pending"}[
                verdict
            ]
        if not apply:
            return overlay
        with self.state.transaction() as db:
            for e in pending:
                verdict_state = overlay[e.key]
                if e.action == NOTIFY_ACTION:
                    why = "the cycle died while notifying; not resent"
                    self.state.settle(db, tracker, e.key, "uncertain", now, why)
                    out.uncertain.append(e.key)
                elif verdict_state == "done":
                    self.state.settle(db, tracker, e.key, "done", now, "found on the tracker")
                    out.recovered += 1
                elif verdict_state is None:
                    self.state.forget(db, tracker, e.key)
                else:
                    out.still_unknown += 1
        return {}


def _apply_batch(conn: Connector, batch: Sequence[CaseChanges]) -> list[ChangeResult]:
    """Apply one batch of cases' changes.

    A connector that raises mid-batch (rather than reporting per change) may have applied part of it:
    every change of the batch is then of unknown outcome, so its side effects stay ``pending`` to be
    settled from the tracker's markers; field values are simply diffed again. A fatal error (credentials,
    permissions) stops this tracker's cycle."""
    changes = [c for group in batch for c in group.changes]
    try:
        results = conn.apply(batch)
    except FatalConnectorError:
        raise
    except Exception as exc:
        log.error("batch of %d change(s) failed midway: %s", len(changes), _safe_error(exc))
        return [ChangeResult(c, Outcome.UNKNOWN, f"batch failed midway: {_safe_error(exc)}") for c in changes]
    if [r.change for r in results] != changes:
        raise FatalConnectorError(
            f"the connector answered {len(results)} result(s) for {len(changes)} change(s), or out of order: "
            "a connector bug"
        )
    return results


def _iso_opt(t: datetime | None) -> str | None:
    return iso(t) if t is not None else None


def _counts(results: Sequence[TrackerResult]) -> dict[str, int]:
    return {
        "read": sum(r.read for r in results),
        "evaluated": sum(r.evaluated for r in results),
        "applied": sum(r.applied for r in results),
        "failed": sum(len(r.failed) for r in results),
        "skipped": sum(len(r.skipped) for r in results),
    }


def _safe_error(exc: BaseException) -> str:
    """The class and first line only: exception texts from HTTP clients may carry customer data."""
    first = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {first[:300]}"


__all__ = ["CycleResult", "Engine", "LeaseLost", "Skipped", "TrackerResult"]
