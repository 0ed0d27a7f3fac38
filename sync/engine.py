"""The sync cycle: read changed cases -> evaluate at ``now`` -> desired state -> diff -> plan -> apply in
batches -> record.

Side effects run at most once per key, also across crashes and unknown outcomes: a key is recorded
``pending`` (committed) before its write and ``done`` after. A change whose outcome the tracker could not
tell (a timeout, a 5xx after the write may have landed, a bulk job still running) stays ``pending``; it is
settled by the connector from the tracker's markers (:meth:`Connector.settle`) right after its batch and
again at the start of later cycles, before anything is repeated: landed means done, certainly not landed
means planned again, still unknown means asked again next cycle. A case the state store has never seen
(a new tracker, or a state file that was lost) is checked against the tracker's markers, in bulk, before
anything keyed is planned for it, so a lost state repeats no note or transition.

Notifications are queued in an outbox with the page's record (after the tracker's writes) and sent on
their own, each ``pending`` only around its own send (:mod:`casewarden.sync.delivery`): never-attempted
ones survive any crash, failed ones are retried on later cycles, and a cycle's sending is bounded by a
cap, a time budget and pausing a failing channel. What the past owes nobody is held back by adoption
(:mod:`casewarden.sync.adoption`).

Each page a connector yields carries its resume point; the page's ledger, audit, snapshots and resume
point commit in one transaction, so a cycle that dies midway resumes after the last recorded page.

Trackers are independent: one tracker's failure (unreachable, credentials, a connector bug) ends that
tracker's part of the cycle, is recorded in its result, and the others still run. While a cycle runs,
its lease is renewed (:class:`casewarden.sync.lease.LeaseKeeper`), so a slow remote cycle never overlaps
a second runner; a tracker's ``time_budget`` ends its part cleanly after the page in progress.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

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
    StateError,
)
from casewarden.policy.compiled import Policy
from casewarden.policy.evaluate import evaluate
from casewarden.policy.results import Evaluation, TargetState
from casewarden.sync.adoption import held_back
from casewarden.sync.delivery import Dispatcher
from casewarden.sync.deployment import Deployment, TrackerSpec
from casewarden.sync.lease import LeaseKeeper
from casewarden.sync.notify import Channel
from casewarden.sync.outcomes import outcome_rows
from casewarden.sync.planner import (
    MOVES,
    NOTIFIED,
    CasePlan,
    PlannedNotification,
    action_keys,
    plan_converged,
    simulate,
)
from casewarden.sync.progress import ProgressFn, no_progress
from casewarden.sync.snapshot import decode, decode_with_counts, encode, fingerprint
from casewarden.sync.state import AuditRow, StateStore, iso

log = logging.getLogger("casewarden.sync")

LEASE_SECONDS = 900.0
#: Ledger action of a notification intent written before the outbox existed: found ``pending`` (a crash of
#: that version), its delivery cannot be known and its message was not kept, so it is marked ``uncertain``.
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
    notifications: list[PlannedNotification] = field(default_factory=list)  # newly owed (not adopted)
    results: list[ChangeResult] = field(default_factory=list)
    notified: int = 0  # deliveries (one per notification and channel) that went out
    notify_failed: list[str] = field(default_factory=list)  # failed this cycle; tried again later
    notify_given_up: list[str] = field(
        default_factory=list
    )  # not delivered within notifications.retry.max_age
    notify_held: int = 0  # over notifications.max_per_cycle: waiting for 'run --yes'
    notify_deferred: int = 0  # out of notification time, or the channel paused: the next cycle carries on
    notify_paused: list[str] = field(default_factory=list)  # channels paused for the rest of the cycle
    notify_resent: int = 0  # sends a dead process interrupted: sent again under the same idempotency key
    notify_owed: int = 0  # deliveries owed from earlier cycles (queued, retries due) that this one sends
    adopted: int = 0  # deliveries nobody is owed (crossed before adoption or the horizon): recorded, not sent
    rebuilt: int = 0  # keyed side effects found on the tracker for cases new to the state: not repeated
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
    def deliveries(self) -> int:
        """Deliveries of the newly owed notifications (one per notification and channel)."""
        return sum(len(n.channels) for n in self.notifications)

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
        progress: ProgressFn | None = None,
        unavailable: Mapping[str, str] | None = None,
        lease_seconds: float = LEASE_SECONDS,
        timer: Callable[[], float] = time.monotonic,
    ):
        self.deployment = deployment
        self.policy = policy
        self.state = state
        self.connectors = connectors
        self.channels = channels
        self.clock = clock
        self.progress: ProgressFn = progress or no_progress
        self.unavailable = dict(unavailable or {})
        self.lease_seconds = lease_seconds
        self.timer = timer  # monotonic seconds, for the notification time budget
        self._keeper: LeaseKeeper | None = None
        self._dispatcher: Dispatcher | None = None
        self._adopted: dict[str, datetime] = {}

    # -- public ---------------------------------------------------------------------------------------
    def plan(self) -> CycleResult:
        """Exactly what :meth:`run_once` would do now, without changing anything anywhere; notifications
        are counted as a run without ``confirm`` would send or hold them."""
        now = self.clock()
        started = self.timer()
        self._dispatcher = self._new_dispatcher(confirm=False)
        try:
            results = [
                self._tracker(spec, now, apply=False, run_id=None) for spec in self.deployment.spec.trackers
            ]
        finally:
            self._dispatcher = None
        result = CycleResult(now, True, results)
        log_cycle(result, self.timer() - started)
        return result

    def run_once(self, *, confirm: bool = False) -> CycleResult:
        """One cycle. ``confirm`` (``run --yes``) lifts ``notifications.max_per_cycle`` for this cycle and
        sends the notifications earlier cycles held over it."""
        now = self.clock()
        started = self.timer()
        lease = f"deployment:{self.deployment.source}"
        self.state.acquire_lease(lease, now, self.lease_seconds)
        run_id = self.state.start_run(now, "run")
        results: list[TrackerResult] = []
        keeper = LeaseKeeper(self.state.path, lease, self.state.holder, self.lease_seconds, self.clock)
        self._keeper = keeper
        self._dispatcher = self._new_dispatcher(confirm=confirm)
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
            self._dispatcher = None
        bad = any(
            r.failed or r.notify_failed or r.notify_given_up or r.notify_held or r.error for r in results
        )
        self.state.finish_run(run_id, self.clock(), "partial" if bad else "ok", _counts(results))
        self.state.release_lease(lease)
        result = CycleResult(now, False, results, run_id)
        log_cycle(result, self.timer() - started)
        return result

    def _new_dispatcher(self, *, confirm: bool) -> Dispatcher:
        return Dispatcher(
            self.state,
            self.channels,
            self.deployment.spec.notifications,
            self.timer,
            confirm=confirm,
            check_lease=self._check_lease,
            progress=self.progress,
        )

    # -- one tracker ----------------------------------------------------------------------------------
    def _tracker(self, spec: TrackerSpec, now: datetime, *, apply: bool, run_id: int | None) -> TrackerResult:
        """One tracker's part of the cycle; its failure is recorded, not raised, so the others run.
        State-store failures and a lost lease are the whole deployment's and do stop the cycle."""
        out = TrackerResult(spec.name)
        if apply:
            self._adopted[spec.name] = self.state.adopt(spec.name, now)
            out.notify_resent += self.state.requeue_interrupted(spec.name)
        else:
            self._adopted[spec.name] = self.state.adopted_at(spec.name) or now
        conn = self.connectors.get(spec.name)
        try:
            if conn is None:
                out.error = self.unavailable.get(spec.name, "the connector could not be built")
                log.error("tracker %s: %s", spec.name, out.error)
            else:
                self._cycle(spec, conn, now, apply, run_id, out)
        except (StateError, KeyboardInterrupt):
            raise
        except ConnectorError as exc:
            out.error = _safe_error(exc)
            log.error("tracker %s: cycle stopped: %s", spec.name, out.error)
        except Exception as exc:  # a connector bug must not stop the other trackers either
            out.error = _safe_error(exc)
            log.exception("tracker %s: cycle stopped by an unexpected error", spec.name)
        # what the outbox owes goes out even when the tracker could not be reached: it needs only channels
        if apply:
            assert run_id is not None
            self._drain(spec.name, run_id, now, out, final=True)
        else:
            self._preview(spec.name, now, out)
        return out

    def _drain(self, tracker: str, run_id: int, now: datetime, out: TrackerResult, *, final: bool) -> None:
        """Send what the tracker's outbox owes now. Sent, failed and given-up deliveries add up over the
        cycle's drains; held and deferred ones are still owed, so the last drain's count is the cycle's."""
        assert self._dispatcher is not None
        drained = self._dispatcher.drain(tracker, run_id, now, final=final)
        if drained is None:
            return
        out.notified += drained.sent
        out.notify_failed += drained.failed
        out.notify_given_up += drained.given_up
        out.notify_held = drained.held
        out.notify_deferred = drained.deferred
        out.notify_paused = list(self._dispatcher.paused)

    def _preview(self, tracker: str, now: datetime, out: TrackerResult) -> None:
        """For a plan: how many deliveries a run would send now, and how many the cap would hold."""
        assert self._dispatcher is not None
        owed, held = self.state.outbox_owed(tracker, now)
        out.notify_owed = owed
        out.notify_held = held + self._dispatcher.preview(owed + out.deliveries)

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
            self.progress("cases read", len(fresh), getattr(page, "total", None))
            changed, unseen = self._changed(spec.name, fresh, now, salt, out)
            self._handle_page(
                spec, conn, caps, changed, now, apply, run_id, out, page, salt, overlay, first_sight=unseen
            )
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
    ) -> tuple[list[TrackerCase], set[str]]:
        """Drop the cases whose only change since the last cycle is casewarden's own writes (their
        fingerprint is the one recorded after those writes) and whose timers cross nothing yet. Also
        returns the ids the state has never seen (no snapshot)."""
        known = self.state.fingerprints(tracker, [tc.case.id for tc in page])
        unseen = {tc.case.id for tc in page} - known.keys()
        horizon = iso(now)
        changed = []
        for tc in page:
            fp, next_at = known.get(tc.case.id, (None, None))
            if fp is not None and (next_at is None or next_at > horizon) and fp == fingerprint(tc, salt):
                out.unchanged += 1
                continue
            changed.append(tc)
        return changed, unseen

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
        *,
        first_sight: set[str] | frozenset[str] = frozenset(),
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
        # a case the state never saw may carry side effects done by a state file that was lost: its
        # markers answer for it (only such cases, and only if anything keyed could be planned for them)
        new = [
            tc.case.id
            for tc, ev in candidates
            if tc.case.id in first_sight and (ev.due or ev.level_defaulted)
        ]
        found = self._found_on_tracker(conn, new)
        answered: dict[str, str] = {}

        def lookup(more: list[str]) -> dict[str, str]:
            return self._ledger(spec.name, more, overlay, found, answered)

        ledger = lookup(keys)
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
                lookup,
                caps,
            )
            out.problems.extend(f"{tc.case.id}: {p}" for p in plan.problems)
            out.changes.extend(plan.changes)
            plans.append(plan)
            evaluated.append((read, ev))
        self.progress("cases evaluated", len(cases))
        out.rebuilt += len(answered)
        # a case whose markers answer for side effects this state never recorded was handled by an earlier
        # run whose state is lost: it is never backfilled, so losing the state does not replay its past
        handled = set(answered.values())
        send, adopted = self._adoption(spec.name, [n for p in plans for n in p.notifications], now, handled)
        out.notifications.extend(send)
        out.adopted += sum(len(n.channels) for n, _why in adopted)
        gone = page.gone if page is not None else []
        out.gone += len(gone)
        if not apply:
            return
        assert run_id is not None
        self._check_lease()
        changes = [c for p in plans for c in p.changes]
        intents = [(c.key, c.case_id, c.kind.value) for c in changes if c.key]
        owed = _outbox_rows(send, adopted)
        if intents or owed or answered:
            # before the tracker's writes: what they will do is pending; what the page owes people is
            # queued (a case the writes close is owed its notifications all the same); what the markers
            # answered is done
            with self.state.transaction() as db:
                self.state.record_intents(db, spec.name, intents, run_id, now)
                self.state.queue(db, spec.name, owed, now, run_id)
                self.state.record_found(db, spec.name, sorted(answered.items()), now)
        results: list[ChangeResult] = []
        groups = group_by_case(changes)
        for i in range(0, len(groups), spec.batch_size):
            batch = groups[i : i + spec.batch_size]
            results.extend(_apply_batch(conn, batch))
            self.progress("cases written", len(batch))  # cases, not changes: a batch is cases
        results = self._settle_unknown(spec.name, conn, results, out, now)
        out.results.extend(results)
        self._record(spec.name, run_id, now, evaluated, unplaced, results, page, gone, salt, sims or {})
        self._drain(spec.name, run_id, now, out, final=False)

    def _ledger(
        self,
        tracker: str,
        keys: list[str],
        overlay: Mapping[str, str | None],
        found: Mapping[str, str] | None = None,
        answered: dict[str, str] | None = None,
    ) -> dict[str, str]:
        """Ledger states of ``keys``, as recovery left them (``overlay``: what a dry run learnt from the
        tracker's markers without writing it down; None means forgotten). A key in the notification
        outbox reads :data:`NOTIFIED`; a key the ledger lacks but ``found`` (markers on the tracker of cases
        new to the state: key -> case id) holds reads ``done`` and is collected in ``answered``."""
        states = self.state.ledger_status(tracker, keys) if keys else {}
        missing = [k for k in keys if k not in states]
        if missing:
            states.update(dict.fromkeys(self.state.outbox_keys(tracker, missing), NOTIFIED))
        for k in keys:
            if k in overlay:
                value = overlay[k]
                if value is None:
                    states.pop(k, None)
                else:
                    states[k] = value
        if found:
            for k in keys:
                if k not in states and k in found:
                    states[k] = "done"
                    if answered is not None:
                        answered[k] = found[k]
        return states

    def _found_on_tracker(self, conn: Connector, case_ids: Sequence[str]) -> dict[str, str]:
        """Side effects the tracker's markers record for ``case_ids``: key -> case id, in one bulk call."""
        if not case_ids:
            return {}
        markers = conn.find_markers(list(case_ids))
        return {key: cid for cid, keys in markers.items() for key in keys}

    def _adoption(
        self,
        tracker: str,
        notes: Sequence[PlannedNotification],
        now: datetime,
        handled: set[str] | frozenset[str] = frozenset(),
    ) -> tuple[list[PlannedNotification], list[tuple[PlannedNotification, str]]]:
        """Split newly planned notifications into the owed and the adopted (with why nobody is owed it).
        ``handled``: cases the state never saw whose markers show an earlier run handled them: a backfill
        does not apply to them, so a lost state file does not replay their past."""
        rule = self.deployment.spec.notifications.adoption
        strict = rule.model_copy(update={"backfill": False})
        point = self._adopted.get(tracker, now)
        send: list[PlannedNotification] = []
        adopted: list[tuple[PlannedNotification, str]] = []
        for n in notes:
            why = held_back(n.crossed_at, point, now, strict if n.message.case_id in handled else rule)
            if why is None:
                send.append(n)
            else:
                adopted.append((n, why))
        return send, adopted

    def _settle_unknown(
        self, tracker: str, conn: Connector, results: list[ChangeResult], out: TrackerResult, now: datetime
    ) -> list[ChangeResult]:
        """Ask the tracker at once about keyed changes whose outcome was unknown: most are answered by
        their markers (the write landed, the answer was lost); the rest stay unknown for next cycle."""
        unknown = [r for r in results if r.outcome is Outcome.UNKNOWN and r.change.key]
        if not unknown:
            return results
        try:
            verdicts = conn.settle(
                [
                    Pending(r.change.key or "", r.change.case_id, r.change.kind.value, r.token, since=now)
                    for r in unknown
                ]
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

    def _record(
        self,
        tracker: str,
        run_id: int,
        now: datetime,
        evaluated: Sequence[tuple[TrackerCase, Evaluation]],
        unplaced: Sequence[TrackerCase],
        results: Sequence[ChangeResult],
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
            self.state.audit(db, run_id, now, changed)
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
            conn.settle(
                [Pending(e.key, e.case_id, e.action, e.detail, _since(e.created_at)) for e in effects]
            )
            if effects
            else {}
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


OutboxEntry = tuple[str, str, str, str, dict[str, Any] | None, datetime, str | None]


def _outbox_rows(
    send: Sequence[PlannedNotification], adopted: Sequence[tuple[PlannedNotification, str]]
) -> list[OutboxEntry]:
    """One outbox row per notification and channel: queued if owed, adopted (with why) if not."""
    rows: list[OutboxEntry] = [
        (n.key, ch, n.message.case_id, "queued", dataclasses.asdict(n.message), n.crossed_at, None)
        for n in send
        for ch in n.channels
    ]
    rows += [
        (n.key, ch, n.message.case_id, "adopted", None, n.crossed_at, why)
        for n, why in adopted
        for ch in n.channels
    ]
    return rows


def _since(created_at: str | None) -> datetime | None:
    """When the ledger first recorded a side effect (stored by :func:`iso`), for :attr:`Pending.since`."""
    try:
        return datetime.fromisoformat(created_at) if created_at else None
    except ValueError:
        return None


def _iso_opt(t: datetime | None) -> str | None:
    return iso(t) if t is not None else None


def log_cycle(result: CycleResult, seconds: float) -> None:
    """One structured record per cycle (a plan included): when, how long, and what it counted, so a log
    shipper can chart cycles without parsing the summary. Its fields are the JSON log line's."""
    trackers = result.trackers
    counts: dict[str, object] = {
        "event": "cycle",
        "mode": "plan" if result.dry_run else "run",
        "at": result.at.isoformat(),
        "run_id": result.run_id,
        "seconds": round(seconds, 3),
        "trackers": len(trackers),
        "read": sum(t.read for t in trackers),
        "reevaluated": sum(t.reevaluated for t in trackers),
        "evaluated": sum(t.evaluated for t in trackers),
        "changes": sum(len(t.changes) for t in trackers),
        "applied": sum(t.applied for t in trackers),
        "failed": sum(len(t.failed) for t in trackers),
        "skipped": sum(len(t.skipped) for t in trackers),
        "notified": sum(t.notified for t in trackers),
        "notify_failed": sum(len(t.notify_failed) for t in trackers),
        "notify_given_up": sum(len(t.notify_given_up) for t in trackers),
        "tracker_errors": sum(1 for t in trackers if t.error),
    }
    log.info(
        "cycle %s: %s tracker(s), read %s case(s), evaluated %s, %s change(s) %s, %s failed, notified %s, "
        "in %.1f s",
        counts["mode"],
        counts["trackers"],
        counts["read"],
        counts["evaluated"],
        counts["changes"],
        "planned" if result.dry_run else f"({counts['applied']} applied)",
        counts["failed"],
        counts["notified"],
        seconds,
        extra=counts,
    )


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
