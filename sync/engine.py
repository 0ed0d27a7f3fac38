"""The sync cycle: read changed cases -> evaluate at ``now`` -> desired state -> diff -> plan -> apply in
batches -> record.

Side effects run at most once per key, also across crashes: a key is recorded ``pending`` (committed)
before its write and ``done`` after. At the start of a cycle, ``pending`` keys are resolved by asking
the tracker for the key's marker: found means the write landed (record it done), missing means it did
not (plan it again). Notifications have no marker on a tracker, so a ``pending`` notification is never
resent: it is marked ``uncertain`` and reported (at most once beats twice for a pager).

The cursor advances per page, in the same transaction as that page's ledger, audit and snapshots, and
never past the cycle's start.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from casewarden.connectors.base import Change, ChangeKind, ChangeResult, Connector, TrackerCase
from casewarden.errors import CaseError, FatalConnectorError, NotifyError
from casewarden.policy.compiled import Policy
from casewarden.policy.evaluate import evaluate
from casewarden.policy.results import Evaluation, TargetState
from casewarden.sync.deployment import Deployment, TrackerSpec
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
from casewarden.sync.snapshot import decode, encode, fingerprint
from casewarden.sync.state import AuditRow, Cursor, StateStore, iso

log = logging.getLogger("casewarden.sync")

LEASE_SECONDS = 900.0
NOTIFY_ACTION = "notify"


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
    recovered: int = 0
    uncertain: list[str] = field(default_factory=list)
    breaches: int = 0
    unchanged: int = 0  # read, but the only change was casewarden's own writes
    flags: int = 0

    @property
    def applied(self) -> int:
        return sum(1 for r in self.results if r.ok)

    @property
    def failed(self) -> list[ChangeResult]:
        return [r for r in self.results if not r.ok]


@dataclass
class CycleResult:
    at: datetime
    dry_run: bool
    trackers: list[TrackerResult]
    run_id: int | None = None


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
    ):
        self.deployment = deployment
        self.policy = policy
        self.state = state
        self.connectors = connectors
        self.channels = channels
        self.clock = clock
        self.progress = progress or (lambda _label, _n: None)

    # -- public ---------------------------------------------------------------------------------------
    def plan(self) -> CycleResult:
        """Exactly what :meth:`run_once` would do now, without changing anything anywhere."""
        now = self.clock()
        results = [self._cycle(spec, now, apply=False, run_id=None) for spec in self.deployment.spec.trackers]
        return CycleResult(now, True, results)

    def run_once(self) -> CycleResult:
        now = self.clock()
        lease = f"deployment:{self.deployment.source}"
        self.state.acquire_lease(lease, now, LEASE_SECONDS)
        run_id = self.state.start_run(now, "run")
        results: list[TrackerResult] = []
        try:
            for spec in self.deployment.spec.trackers:
                results.append(self._cycle(spec, now, apply=True, run_id=run_id))
        except BaseException as exc:
            self.state.finish_run(run_id, self.clock(), "failed", _counts(results), error=_safe_error(exc))
            self.state.release_lease(lease)
            raise
        status = "ok" if not any(r.failed or r.notify_failed for r in results) else "partial"
        self.state.finish_run(run_id, self.clock(), status, _counts(results))
        self.state.release_lease(lease)
        return CycleResult(now, False, results, run_id)

    # -- one tracker ----------------------------------------------------------------------------------
    def _cycle(self, spec: TrackerSpec, now: datetime, *, apply: bool, run_id: int | None) -> TrackerResult:
        conn = self.connectors[spec.name]
        out = TrackerResult(spec.name)
        if apply:
            self._recover(spec.name, conn, out, now)
        cursor = self.state.cursor(spec.name)
        salt = self._salt(spec)
        running = cursor
        seen: set[str] = set()
        for page in self._read(conn, cursor, now):
            fresh = [tc for tc in page if tc.case.id not in seen]
            seen.update(tc.case.id for tc in fresh)
            out.read += len(fresh)
            self.progress("read", len(fresh))
            running = _advance(running, page, now)
            changed = self._changed(spec.name, fresh, now, salt, out)
            self._handle_page(spec, conn, changed, now, apply, run_id, out, running, salt)
        due = [decode(data) for _cid, data in self.state.due_snapshots(spec.name, now, seen)]
        if due:
            out.reevaluated = len(due)
            for i in range(0, len(due), 1000):
                self._handle_page(spec, conn, due[i : i + 1000], now, apply, run_id, out, None, salt)
        return out

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

    def _read(self, conn: Connector, cursor: Cursor | None, now: datetime) -> Iterator[list[TrackerCase]]:
        since = cursor.at if cursor else None
        for page in conn.read_changed(since, now):
            if cursor is not None:
                # the cursor instant is read again (nothing is lost at a tie); drop what was seen at it
                page = [
                    tc for tc in page if not (tc.case.updated_at == cursor.at and tc.case.id in cursor.seen)
                ]
            if page:
                yield page

    def _handle_page(
        self,
        spec: TrackerSpec,
        conn: Connector,
        page: Sequence[TrackerCase],
        now: datetime,
        apply: bool,
        run_id: int | None,
        out: TrackerResult,
        cursor: Cursor | None,
        salt: str,
    ) -> None:
        plans: list[CasePlan] = []
        evaluated: list[tuple[TrackerCase, Evaluation]] = []  # the case as read, and its settled evaluation
        candidates: list[tuple[TrackerCase, Evaluation]] = []
        for tc in page:
            if tc.problems:
                out.skipped.append(Skipped(spec.name, tc.case.id, "; ".join(tc.problems)))
                continue
            try:
                ev = evaluate(self.policy, tc.case, now)
            except CaseError as exc:
                out.skipped.append(Skipped(spec.name, tc.case.id, exc.reason))
                log.warning("skipped case %s: %s", tc.case.id, exc.reason)
                continue
            candidates.append((tc, ev))
        keys = [k for _tc, ev in candidates for k in action_keys(ev)]
        ledger = self.state.ledger_status(spec.name, keys) if keys else {}
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
                lambda more: self.state.ledger_status(spec.name, more),
            )
            out.problems.extend(f"{tc.case.id}: {p}" for p in plan.problems)
            out.changes.extend(plan.changes)
            out.notifications.extend(plan.notifications)
            plans.append(plan)
            evaluated.append((read, ev))
        self.progress("evaluated", len(page))
        if not apply:
            return
        assert run_id is not None
        changes = [c for p in plans for c in p.changes]
        notes = [n for p in plans for n in p.notifications]
        intents = [(c.key, c.case_id, c.kind.value) for c in changes if c.key]
        intents += [(n.key, n.message.case_id, NOTIFY_ACTION) for n in notes]
        if intents:
            self.state.record_intents(spec.name, intents, run_id, now)
        results: list[ChangeResult] = []
        unknown: set[int] = set()
        for i in range(0, len(changes), spec.batch_size):
            batch = changes[i : i + spec.batch_size]
            batch_results, known = _apply_batch(conn, batch)
            if not known:
                unknown.update(id(c) for c in batch)
            results.extend(batch_results)
            self.progress("applied", len(batch))
        out.results.extend(results)
        sent = self._notify(notes, out)
        self._record(spec.name, run_id, now, evaluated, results, notes, sent, cursor, unknown, salt)

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
        results: Sequence[ChangeResult],
        notes: Sequence[PlannedNotification],
        sent: set[str],
        cursor: Cursor | None,
        unknown: set[int],
        salt: str,
    ) -> None:
        """Ledger, audit, snapshots, outcomes and cursor of one page: one transaction. Side effects whose
        outcome is unknown stay ``pending``: the next cycle asks the tracker for their markers."""
        applied_fields: dict[str, dict[str, str | None]] = {}
        retry: set[str] = set()  # cases with a failed change: due again at once, from their snapshot
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
                if r.change.key and id(r.change) not in unknown:
                    self.state.settle(db, tracker, r.change.key, "done" if r.ok else "failed", now, r.error)
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
                    r.error,
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
            snaps, outcomes, escalations = [], [], []
            for tc, ev in evaluated:
                # the case as it now stands on the tracker: as read, plus the moves and fields that landed
                fields = applied_fields.get(tc.case.id) or {}
                case = simulate(tc.case, landed_moves.get(tc.case.id, []), now)
                tags = set(tc.tags)
                for c in tag_changes.get(tc.case.id, []):
                    (tags.add if c.kind is ChangeKind.ADD_TAG else tags.discard)(c.value or "")
                stored = TrackerCase(case, {**tc.fields, **fields}, frozenset(tags), tc.url)
                failed = tc.case.id in retry
                next_at = now if failed else ev.next_change_at
                snaps.append(
                    (
                        tc.case.id,
                        iso(tc.case.updated_at) if tc.case.updated_at else None,
                        iso(next_at) if next_at else None,
                        encode(stored),
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
            if cursor is not None:
                self.state.set_cursor(db, tracker, cursor)

    def _recover(self, tracker: str, conn: Connector, out: TrackerResult, now: datetime) -> None:
        """Settle side effects a previous cycle started but did not record. The tracker is asked for its
        markers first, so no state-store lock is held across tracker calls."""
        pending = self.state.pending(tracker)
        if not pending:
            return
        markers: dict[str, set[str]] = {}
        for entry in pending:
            if entry.action != NOTIFY_ACTION and entry.case_id not in markers:
                markers[entry.case_id] = conn.find_markers(entry.case_id)
        with self.state.transaction() as db:
            for entry in pending:
                if entry.action == NOTIFY_ACTION:
                    why = "the cycle died while notifying; not resent"
                    self.state.settle(db, tracker, entry.key, "uncertain", now, why)
                    out.uncertain.append(entry.key)
                elif entry.key in markers[entry.case_id]:
                    self.state.settle(
                        db, tracker, entry.key, "done", now, "found on the tracker after a crash"
                    )
                    out.recovered += 1
                else:
                    self.state.forget(db, tracker, entry.key)


def _apply_batch(conn: Connector, batch: Sequence[Change]) -> tuple[list[ChangeResult], bool]:
    """Apply one batch; the flag says whether the outcome of every change is known.

    A connector that raises mid-batch (rather than reporting per change) may have applied part of it:
    the batch is reported failed and its side effects stay ``pending``, to be settled from the tracker's
    markers on the next cycle. Field values are simply diffed again. A fatal error (credentials,
    permissions) stops the cycle."""
    try:
        results = conn.apply(batch)
    except FatalConnectorError:
        raise
    except Exception as exc:
        log.error("batch of %d change(s) failed midway: %s", len(batch), _safe_error(exc))
        return [
            ChangeResult(c, False, f"batch failed midway: {_safe_error(exc)}", retriable=True) for c in batch
        ], False
    if len(results) != len(batch):
        raise RuntimeError(f"connector returned {len(results)} results for {len(batch)} changes")
    return results, True


def _advance(cursor: Cursor | None, page: Sequence[TrackerCase], cap: datetime) -> Cursor | None:
    stamps = [tc.case.updated_at for tc in page if tc.case.updated_at is not None]
    if not stamps:
        return cursor
    top = min(max(stamps), cap)
    ids = frozenset(tc.case.id for tc in page if tc.case.updated_at == top)
    if cursor is not None and cursor.at == top:
        ids = ids | cursor.seen
    return Cursor(top, ids)


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


__all__ = ["CycleResult", "Engine", "Skipped", "TrackerResult"]
