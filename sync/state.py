"""The state store: cursors, the side-effect ledger, the audit log, runs, case snapshots and outcomes.

One SQLite file in WAL mode per deployment. Its schema is versioned by a migrations table and each
migration runs once, in order. A cycle commits the cursor, the ledger entries and the snapshots of the
cases it handled in one transaction, so a cycle that dies midway leaves the previous consistent state
and repeats, on the next run, only what had not been recorded.

Ledger protocol for a side effect with key K: record K as ``pending`` (committed) before the write,
``done`` after it. A ``pending`` entry found at the start of a cycle means the process died in between:
the engine asks the tracker whether the write landed (its marker) before it repeats it. Keys found as
markers on the tracker for cases the state never saw (a lost state file) are recorded ``done``.

Notifications have their own table, the outbox (:data:`OUTBOX_STATES`): one row per notification and
channel, queued with the page that owes it and moved through its states by
:mod:`casewarden.sync.delivery`; ``adoption`` holds each tracker's adoption instant
(:mod:`casewarden.sync.adoption`). Ledger rows with action ``notify`` come from state files written before
the outbox existed: they are honoured (never sent again) but no longer written.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from casewarden.errors import LockedError, StateError

MIGRATIONS: tuple[str, ...] = (
    # 1: the first schema
    """
    CREATE TABLE cursors (tracker TEXT PRIMARY KEY, at TEXT NOT NULL, seen TEXT NOT NULL);
    CREATE TABLE ledger (
        tracker TEXT NOT NULL, key TEXT NOT NULL, case_id TEXT NOT NULL, action TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('pending', 'done', 'failed', 'uncertain')),
        created_at TEXT NOT NULL, done_at TEXT, run_id INTEGER, detail TEXT,
        PRIMARY KEY (tracker, key));
    CREATE INDEX ledger_status ON ledger (tracker, status);
    CREATE TABLE runs (
        id INTEGER PRIMARY KEY AUTOINCREMENT, started_at TEXT NOT NULL, finished_at TEXT,
        status TEXT NOT NULL, mode TEXT NOT NULL, read INTEGER DEFAULT 0, evaluated INTEGER DEFAULT 0,
        applied INTEGER DEFAULT 0, failed INTEGER DEFAULT 0, skipped INTEGER DEFAULT 0, error TEXT);
    CREATE TABLE audit (
        id INTEGER PRIMARY KEY AUTOINCREMENT, run_id INTEGER, at TEXT NOT NULL, tracker TEXT NOT NULL,
        case_id TEXT NOT NULL, kind TEXT NOT NULL, field TEXT, value TEXT, key TEXT, reason TEXT,
        ok INTEGER NOT NULL, error TEXT);
    CREATE INDEX audit_case ON audit (tracker, case_id);
    CREATE TABLE snapshots (
        tracker TEXT NOT NULL, case_id TEXT NOT NULL, updated_at TEXT, next_at TEXT, data TEXT NOT NULL,
        PRIMARY KEY (tracker, case_id));
    CREATE INDEX snapshots_next ON snapshots (tracker, next_at);
    CREATE TABLE outcomes (
        tracker TEXT NOT NULL, case_id TEXT NOT NULL, target TEXT NOT NULL, level TEXT NOT NULL,
        metric TEXT NOT NULL, state TEXT NOT NULL, opened_at TEXT NOT NULL, due_at TEXT, met_at TEXT,
        late_seconds REAL, missed INTEGER DEFAULT 0,
        PRIMARY KEY (tracker, case_id, target));
    CREATE INDEX outcomes_opened ON outcomes (tracker, opened_at);
    CREATE TABLE escalations (
        tracker TEXT NOT NULL, case_id TEXT NOT NULL, epoch INTEGER NOT NULL, level INTEGER NOT NULL,
        reached_at TEXT NOT NULL, customer INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (tracker, case_id, epoch, level));
    CREATE TABLE lease (name TEXT PRIMARY KEY, holder TEXT NOT NULL, expires_at TEXT NOT NULL);
    """,
    # 2: what a case looked like after the last cycle wrote to it, to recognise casewarden's own writes
    """
    ALTER TABLE snapshots ADD COLUMN fingerprint TEXT;
    """,
    # 3: connectors own their resume points (opaque JSON); the old (at, seen) columns are read once, as a
    # time cursor, for state files written before
    """
    ALTER TABLE cursors ADD COLUMN data TEXT;
    """,
    # 4: the notification outbox (one row per notification and channel, sent and retried on its own, apart
    # from the tracker's writes) and each tracker's adoption instant; a tracker already synced adopts at its
    # last run, so upgrading sends what crosses from then on and nothing older
    """
    CREATE TABLE outbox (
        tracker TEXT NOT NULL, key TEXT NOT NULL, channel TEXT NOT NULL, case_id TEXT NOT NULL,
        status TEXT NOT NULL
            CHECK (status IN ('queued', 'pending', 'done', 'failed', 'held', 'given_up', 'adopted')),
        message TEXT, crossed_at TEXT, created_at TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
        next_at TEXT, done_at TEXT, detail TEXT, run_id INTEGER,
        PRIMARY KEY (tracker, key, channel));
    CREATE INDEX outbox_status ON outbox (tracker, status);
    CREATE TABLE adoption (tracker TEXT PRIMARY KEY, adopted_at TEXT NOT NULL);
    INSERT INTO adoption (tracker, adopted_at)
        SELECT c.tracker, r.at FROM cursors c, (SELECT MAX(started_at) AS at FROM runs WHERE mode = 'run') r
        WHERE r.at IS NOT NULL;
    """,
)

#: Outbox states: ``queued`` owed and never tried (or interrupted mid-send: tried again under the same
#: key); ``pending`` being sent right now (found at the start of a cycle: the process died mid-send);
#: ``failed`` to be tried again at ``next_at``; ``held`` over the cycle's cap, until ``run --yes``;
#: ``given_up`` not delivered within the retry age; ``adopted`` owed to nobody (see sync/adoption.py).
OUTBOX_STATES = ("queued", "pending", "done", "failed", "held", "given_up", "adopted")


def _dead_local_holder(holder: str) -> bool:
    """A lease taken by a process on this host that no longer exists (killed mid-cycle) is stale: waiting
    for it to expire would stall the schedule for nothing."""
    host, _, rest = holder.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def iso(t: datetime) -> str:
    """Instants are stored as UTC ISO-8601 text with a fixed width (microseconds, +00:00), so they sort
    as strings. isoformat, not strftime: this runs for every target of every case in a cycle."""
    return t.astimezone(UTC).isoformat(timespec="microseconds")


def parse_iso(s: str) -> datetime:
    return datetime.fromisoformat(s)


@dataclass(frozen=True)
class LedgerEntry:
    key: str
    case_id: str
    action: str
    status: str
    detail: str | None = None
    created_at: str | None = None


@dataclass(frozen=True)
class OutboxRow:
    """One notification to one channel, as the outbox holds it."""

    key: str
    channel: str
    case_id: str
    status: str
    message: dict[str, Any]
    created_at: datetime
    attempts: int


@dataclass(frozen=True)
class AuditRow:
    tracker: str
    case_id: str
    kind: str
    field: str | None
    value: str | None
    key: str | None
    reason: str
    ok: bool
    error: str | None = None


def state_failure(path: Path, exc: BaseException) -> StateError:
    """The one clear error for a state store that cannot be read or written, saying what to do.

    SQLite tells what went wrong only in its message; the cases an admin meets are told apart here: a
    file that is not (or no longer) a database, a read-only file or folder, a full disk. The message
    holds the path and SQLite's own words, never data from the file."""
    text = str(exc) or type(exc).__name__
    low = text.lower()
    if "locked" in low or "busy" in low:
        return LockedError(f"the state store {path} is locked by another process")
    if "not a database" in low or "malformed" in low or "corrupt" in low:
        why = "is corrupt or not a casewarden state file"
        fix = (
            "move it aside and run again (casewarden rebuilds what it did from the tracker's markers, and "
            "adopts the tracker again), or restore a backup"
        )
    elif "full" in low:
        why = "cannot be written: the disk is full"
        fix = "free some space on its disk, then run again"
    elif isinstance(exc, PermissionError) or any(
        w in low for w in ("readonly", "read-only", "permission", "unable to open", "access")
    ):
        why = "cannot be written (a read-only file or folder)"
        fix = "let the user running casewarden write the file and its folder, or point 'state:' elsewhere"
    else:
        why = "cannot be read or written"
        fix = "check the file and its disk"
    return StateError(f"the state store {path} {why} ({text}); {fix}")


class _Cursor(sqlite3.Cursor):
    """A cursor whose SQLite failures are :class:`StateError` s (see :class:`_Connection`)."""

    def _fail(self, exc: sqlite3.Error) -> StateError:
        return state_failure(getattr(self.connection, "state_path", Path("?")), exc)

    def execute(self, sql: str, parameters: Any = (), /) -> _Cursor:
        try:
            return super().execute(sql, parameters)
        except sqlite3.Error as exc:
            raise self._fail(exc) from None

    def executemany(self, sql: str, seq_of_parameters: Any, /) -> _Cursor:
        try:
            return super().executemany(sql, seq_of_parameters)
        except sqlite3.Error as exc:
            raise self._fail(exc) from None

    def fetchone(self) -> Any:
        try:
            return super().fetchone()
        except sqlite3.Error as exc:
            raise self._fail(exc) from None

    def fetchall(self) -> list[Any]:
        try:
            return super().fetchall()
        except sqlite3.Error as exc:
            raise self._fail(exc) from None

    def __next__(self) -> Any:
        try:
            return super().__next__()
        except sqlite3.Error as exc:
            raise self._fail(exc) from None


class _Connection(sqlite3.Connection):
    """The state store's connection: every SQLite failure (a corrupt or truncated file, a read-only file
    or folder, a full disk, found at any statement, not only at open) becomes a :class:`StateError`
    naming the file, so no layer above mistakes it for a tracker's failure or prints a traceback."""

    state_path: Path

    def cursor(self, factory: Any = _Cursor) -> Any:
        return super().cursor(factory)

    def execute(self, sql: str, parameters: Any = (), /) -> _Cursor:
        cur: _Cursor = self.cursor()
        return cur.execute(sql, parameters)

    def executemany(self, sql: str, parameters: Any, /) -> _Cursor:
        cur: _Cursor = self.cursor()
        return cur.executemany(sql, parameters)

    def commit(self) -> None:
        try:
            super().commit()
        except sqlite3.Error as exc:
            raise state_failure(self.state_path, exc) from None


def check_header(path: Path) -> None:
    """Refuse a state file that is cut short before SQLite reads it: a truncated file opens without a
    complaint and fails only when a statement reaches a missing page, or, worse, answers from the pages
    that are left. The header (the first 100 bytes) says how many pages the file holds."""
    try:
        size = path.stat().st_size
        if size == 0:
            return  # an empty file is an empty state store: rebuilt from the tracker's markers
        with path.open("rb") as fh:
            header = fh.read(100)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise state_failure(path, exc) from None
    if len(header) < 100 or not header.startswith(b"SQLite format 3\x00"):
        raise state_failure(path, sqlite3.DatabaseError("file is not a database"))
    page_size = int.from_bytes(header[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    pages = int.from_bytes(header[28:32], "big")
    # SQLite trusts the header's page count only when its "valid for" counter matches the change counter;
    # and a write-ahead log with frames in it may be a checkpoint a crash interrupted (the header already
    # written, the file not yet grown), which SQLite completes from the log: neither is a cut file
    valid = header[92:96] == header[24:28]
    wal = path.with_name(path.name + "-wal")
    logged = wal.exists() and wal.stat().st_size > 0
    if valid and not logged and pages and size < pages * page_size:
        raise state_failure(
            path,
            sqlite3.DatabaseError(
                f"database disk image is malformed: truncated to {size} of {pages * page_size} bytes"
            ),
        )


class _Probed(Exception):
    """Rolls the write probe back."""


class StateStore:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        check_header(self.path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.db = self._connect()
        except (OSError, sqlite3.Error) as exc:
            raise state_failure(self.path, exc) from None
        try:
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.execute("PRAGMA foreign_keys=ON")
            self.holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
            self.migrate()
        except BaseException:
            self.db.close()
            raise

    def _connect(self) -> sqlite3.Connection:
        """The connection (a seam for tests that simulate a full disk or a read-only file)."""
        db = sqlite3.connect(self.path, timeout=5.0, isolation_level=None, factory=_Connection)
        db.state_path = self.path
        return db

    # -- schema -------------------------------------------------------------------------------------
    def migrate(self) -> int:
        """Apply the migrations this file has not seen; returns the schema version."""
        try:
            with self.transaction():
                self.db.execute(
                    "CREATE TABLE IF NOT EXISTS migrations (version INTEGER PRIMARY KEY, "
                    "applied_at TEXT NOT NULL)"
                )
                done = {r[0] for r in self.db.execute("SELECT version FROM migrations")}
                for version, sql in enumerate(MIGRATIONS, start=1):
                    if version in done:
                        continue
                    for statement in filter(str.strip, sql.split(";")):
                        self.db.execute(statement)
                    self.db.execute("INSERT INTO migrations VALUES (?, ?)", (version, iso(datetime.now(UTC))))
        except sqlite3.Error as exc:
            raise state_failure(self.path, exc) from None
        return len(MIGRATIONS)

    def unwritable(self) -> str | None:
        """Why the store cannot be written (read-only file or folder, full disk), or None. Reading
        commands work on a read-only store; ``run`` does not, and ``doctor`` says so beforehand."""
        try:
            with self.transaction() as db:
                db.execute("CREATE TABLE IF NOT EXISTS write_probe (x INTEGER)")
                db.execute("INSERT INTO write_probe VALUES (1)")
                raise _Probed
        except _Probed:
            return None
        except StateError as exc:
            return str(exc)

    @property
    def version(self) -> int:
        row = self.db.execute("SELECT MAX(version) FROM migrations").fetchone()
        return int(row[0] or 0)

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One atomic unit; BEGIN IMMEDIATE takes the write lock up front so two writers fail fast."""
        self.db.execute("BEGIN IMMEDIATE")  # a lock held by another writer: LockedError (state_failure)
        try:
            yield self.db
        except BaseException:
            # SQLite may have rolled back already (a full disk, an I/O error); the error that brought us here
            # is the one to report, not a failed ROLLBACK
            if self.db.in_transaction:
                with suppress(StateError):
                    self.db.execute("ROLLBACK")
            raise
        else:
            self.db.execute("COMMIT")

    def close(self) -> None:
        self.db.close()

    # -- lease: two runners on one deployment never overlap -------------------------------------------
    def acquire_lease(self, name: str, now: datetime, ttl_seconds: float) -> None:
        expires = iso(datetime.fromtimestamp(now.timestamp() + ttl_seconds, UTC))
        with self.transaction() as db:
            row = db.execute("SELECT holder, expires_at FROM lease WHERE name = ?", (name,)).fetchone()
            if row and row[0] != self.holder and row[1] > iso(now) and not _dead_local_holder(row[0]):
                raise LockedError(f"another runner ({row[0]}) holds the lease on '{name}' until {row[1]}")
            db.execute(
                "INSERT INTO lease VALUES (?, ?, ?) ON CONFLICT(name) DO UPDATE SET holder = "
                "excluded.holder, expires_at = excluded.expires_at",
                (name, self.holder, expires),
            )

    def release_lease(self, name: str) -> None:
        with self.transaction() as db:
            db.execute("DELETE FROM lease WHERE name = ? AND holder = ?", (name, self.holder))

    def renew_lease(self, name: str, now: datetime, ttl_seconds: float) -> bool:
        """Extend our lease; False when it is no longer ours (it expired and another runner took it)."""
        expires = iso(datetime.fromtimestamp(now.timestamp() + ttl_seconds, UTC))
        with self.transaction() as db:
            cur = db.execute(
                "UPDATE lease SET expires_at = ? WHERE name = ? AND holder = ?", (expires, name, self.holder)
            )
            return cur.rowcount == 1

    # -- resume points: opaque JSON owned by each connector ------------------------------------------
    def resume(self, tracker: str) -> dict[str, Any] | None:
        row = self.db.execute("SELECT at, seen, data FROM cursors WHERE tracker = ?", (tracker,)).fetchone()
        if row is None:
            return None
        at, seen, data = row
        if data is not None:
            try:
                value = json.loads(data)
            except json.JSONDecodeError:
                raise StateError(
                    f"the resume point of tracker '{tracker}' in {self.path} is corrupt"
                ) from None
            return value if isinstance(value, dict) else None
        # written by casewarden before resume points were opaque: the embedded tracker's time cursor
        return {"at": at, "seen": json.loads(seen)} if at else None

    def set_resume(self, db: sqlite3.Connection, tracker: str, data: dict[str, Any]) -> None:
        db.execute(
            "INSERT INTO cursors (tracker, at, seen, data) VALUES (?, '', '[]', ?) ON CONFLICT(tracker) "
            "DO UPDATE SET at = '', seen = '[]', data = excluded.data",
            (tracker, json.dumps(data, separators=(",", ":"), sort_keys=True)),
        )

    # -- ledger ---------------------------------------------------------------------------------------
    def _where_in(self, sql: str, tracker: str, values: Sequence[str]) -> Iterator[tuple[Any, ...]]:
        """Rows of ``sql`` (which ends in ``IN ({})`` after a ``tracker = ?``) for many values, asked in
        chunks that stay under SQLite's limit on bound parameters."""
        for i in range(0, len(values), 500):
            chunk = values[i : i + 500]
            yield from self.db.execute(sql.format(",".join("?" * len(chunk))), (tracker, *chunk))

    def ledger_status(self, tracker: str, keys: Sequence[str]) -> dict[str, str]:
        return dict(
            self._where_in("SELECT key, status FROM ledger WHERE tracker = ? AND key IN ({})", tracker, keys)
        )

    def pending(self, tracker: str) -> list[LedgerEntry]:
        rows = self.db.execute(
            "SELECT key, case_id, action, status, detail, created_at FROM ledger "
            "WHERE tracker = ? AND status = 'pending'",
            (tracker,),
        ).fetchall()
        return [LedgerEntry(*r) for r in rows]

    def keep_pending(self, db: sqlite3.Connection, tracker: str, key: str, detail: str | None) -> None:
        """A side effect whose outcome is unknown stays pending; ``detail`` keeps what the connector needs
        to settle it later (e.g. a bulk job's id)."""
        db.execute(
            "UPDATE ledger SET status = 'pending', detail = ? WHERE tracker = ? AND key = ?",
            (detail, tracker, key),
        )

    def record_intents(
        self,
        db: sqlite3.Connection,
        tracker: str,
        entries: Iterable[tuple[str, str, str]],
        run_id: int,
        now: datetime,
    ) -> None:
        """Mark side effects as about to happen (key, case_id, action), committed before the writes. A
        failed one tried again becomes pending again, so a crash during the retry is recovered too."""
        db.executemany(
            "INSERT INTO ledger (tracker, key, case_id, action, status, created_at, run_id) "
            "VALUES (?, ?, ?, ?, 'pending', ?, ?) ON CONFLICT(tracker, key) DO UPDATE SET "
            "status = 'pending', run_id = excluded.run_id WHERE ledger.status = 'failed'",
            [(tracker, k, c, a, iso(now), run_id) for k, c, a in entries],
        )

    def forget(self, db: sqlite3.Connection, tracker: str, key: str) -> None:
        """Drop a pending side effect that never landed, so it is planned again like a new one."""
        db.execute("DELETE FROM ledger WHERE tracker = ? AND key = ?", (tracker, key))

    def settle(
        self,
        db: sqlite3.Connection,
        tracker: str,
        key: str,
        status: str,
        now: datetime,
        detail: str | None = None,
    ) -> None:
        db.execute(
            "UPDATE ledger SET status = ?, done_at = ?, detail = ? WHERE tracker = ? AND key = ?",
            (status, iso(now), detail, tracker, key),
        )

    def record_found(
        self, db: sqlite3.Connection, tracker: str, found: Iterable[tuple[str, str]], now: datetime
    ) -> None:
        """Side effects (key, case_id) found on the tracker for cases the state had never seen (a new or
        lost state file): recorded ``done`` so they are never done again."""
        db.executemany(
            "INSERT INTO ledger (tracker, key, case_id, action, status, created_at, done_at, detail) "
            "VALUES (?, ?, ?, 'found', 'done', ?, ?, 'found on the tracker') ON CONFLICT DO NOTHING",
            [(tracker, k, c, iso(now), iso(now)) for k, c in found],
        )

    # -- adoption: when casewarden first ran on a tracker ---------------------------------------------
    def adopted_at(self, tracker: str) -> datetime | None:
        row = self.db.execute("SELECT adopted_at FROM adoption WHERE tracker = ?", (tracker,)).fetchone()
        return parse_iso(row[0]) if row else None

    def adopt(self, tracker: str, now: datetime) -> datetime:
        """The tracker's adoption instant: ``now`` if this is casewarden's first run on it."""
        with self.transaction() as db:
            db.execute("INSERT INTO adoption VALUES (?, ?) ON CONFLICT DO NOTHING", (tracker, iso(now)))
        found = self.adopted_at(tracker)
        assert found is not None
        return found

    # -- the notification outbox ------------------------------------------------------------------------
    def outbox_keys(self, tracker: str, keys: Sequence[str]) -> set[str]:
        """The notification keys among ``keys`` that are in the outbox (in any state)."""
        sql = "SELECT DISTINCT key FROM outbox WHERE tracker = ? AND key IN ({})"
        return {k for (k,) in self._where_in(sql, tracker, list(keys))}

    def outbox_states(self, tracker: str, keys: Sequence[str]) -> dict[str, str]:
        """key -> the outbox state of each notification among ``keys`` (of its first channel)."""
        sql = "SELECT key, MIN(status) FROM outbox WHERE tracker = ? AND key IN ({}) GROUP BY key"
        return dict(self._where_in(sql, tracker, list(keys)))

    def queue(
        self,
        db: sqlite3.Connection,
        tracker: str,
        rows: Iterable[tuple[str, str, str, str, dict[str, Any] | None, datetime, str | None]],
        now: datetime,
        run_id: int | None,
    ) -> None:
        """rows: (key, channel, case_id, status 'queued' or 'adopted', message, crossed_at, detail). A row
        already there is left as it is: a notification is owed once."""
        db.executemany(
            "INSERT INTO outbox (tracker, key, channel, case_id, status, message, crossed_at, created_at, "
            "next_at, detail, run_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            [
                (
                    tracker,
                    key,
                    channel,
                    case_id,
                    status,
                    None if message is None else json.dumps(message, separators=(",", ":")),
                    iso(crossed),
                    iso(now),
                    iso(now),
                    detail,
                    run_id,
                )
                for key, channel, case_id, status, message, crossed, detail in rows
            ],
        )

    def outbox_due(self, tracker: str, now: datetime) -> list[OutboxRow]:
        """What is owed now, oldest first: never tried, retries whose time has come, and the ones held
        over a cap (sent only when a run is confirmed)."""
        rows = self.db.execute(
            "SELECT key, channel, case_id, status, message, created_at, attempts FROM outbox "
            "WHERE tracker = ? AND (status IN ('queued', 'held') OR (status = 'failed' AND next_at <= ?)) "
            "ORDER BY created_at, rowid",
            (tracker, iso(now)),
        ).fetchall()
        return [
            OutboxRow(
                key, channel, case_id, status, json.loads(message or "{}"), parse_iso(created), attempts
            )
            for key, channel, case_id, status, message, created, attempts in rows
        ]

    def outbox_owed(self, tracker: str, now: datetime) -> tuple[int, int]:
        """(owed now, held over a cap): what a run would try to send, interrupted sends included."""
        row = self.db.execute(
            "SELECT COALESCE(SUM(status IN ('queued', 'pending') OR (status = 'failed' AND next_at <= ?)), 0), "
            "COALESCE(SUM(status = 'held'), 0) FROM outbox WHERE tracker = ? AND status IN "
            "('queued', 'pending', 'failed', 'held')",
            (iso(now), tracker),
        ).fetchone()
        return int(row[0]), int(row[1])

    def release_held(self, tracker: str) -> int:
        """A confirmed run (``run --yes``) releases what was held over the cap: owed like any other now,
        so what this cycle cannot send (out of time, a paused channel) goes out in the next one."""
        with self.transaction() as db:
            cur = db.execute(
                "UPDATE outbox SET status = 'queued', detail = 'released by run --yes' WHERE tracker = ? "
                "AND status = 'held'",
                (tracker,),
            )
            return cur.rowcount

    def requeue_interrupted(self, tracker: str) -> int:
        """Sends a dead process left ``pending`` are owed again (the receiver may have them: they go out
        under the same idempotency key). Returns how many."""
        with self.transaction() as db:
            cur = db.execute(
                "UPDATE outbox SET status = 'queued', detail = 'interrupted mid-send; sent again' "
                "WHERE tracker = ? AND status = 'pending'",
                (tracker,),
            )
            return cur.rowcount

    def outbox_start(self, tracker: str, key: str, channel: str, now: datetime) -> None:
        """Committed right before one send, so a process dying mid-send leaves it ``pending``."""
        with self.transaction() as db:
            db.execute(
                "UPDATE outbox SET status = 'pending', attempts = attempts + 1 WHERE tracker = ? AND key = ? "
                "AND channel = ?",
                (tracker, key, channel),
            )

    def outbox_finish(
        self,
        db: sqlite3.Connection,
        tracker: str,
        key: str,
        channel: str,
        status: str,
        now: datetime,
        *,
        next_at: datetime | None = None,
        detail: str | None = None,
    ) -> None:
        db.execute(
            "UPDATE outbox SET status = ?, next_at = ?, done_at = ?, detail = ? WHERE tracker = ? AND "
            "key = ? AND channel = ?",
            (status, iso(next_at) if next_at else None, iso(now), detail, tracker, key, channel),
        )

    def outbox_counts(self, tracker: str | None = None) -> dict[str, int]:
        """Notifications per outbox state (one per notification and channel)."""
        sql = "SELECT status, COUNT(*) FROM outbox" + (" WHERE tracker = ?" if tracker else "")
        rows = self.db.execute(sql + " GROUP BY status", (tracker,) if tracker else ()).fetchall()
        return {str(status): int(n) for status, n in rows}

    def given_up(self, since: datetime, tracker: str | None = None) -> list[tuple[str, str, str, str, str]]:
        """(tracker, key, channel, given up at, why) of the notifications given up since ``since``."""
        sql = (
            "SELECT tracker, key, channel, done_at, COALESCE(detail, '') FROM outbox WHERE status = 'given_up' "
            "AND done_at >= ?" + (" AND tracker = ?" if tracker else "") + " ORDER BY done_at DESC"
        )
        return self.db.execute(sql, (iso(since), tracker) if tracker else (iso(since),)).fetchall()

    # -- audit, runs ----------------------------------------------------------------------------------
    def audit(self, db: sqlite3.Connection, run_id: int, now: datetime, rows: Iterable[AuditRow]) -> None:
        db.executemany(
            "INSERT INTO audit (run_id, at, tracker, case_id, kind, field, value, key, reason, ok, error) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    run_id,
                    iso(now),
                    r.tracker,
                    r.case_id,
                    r.kind,
                    r.field,
                    r.value,
                    r.key,
                    r.reason,
                    int(r.ok),
                    r.error,
                )
                for r in rows
            ],
        )

    def start_run(self, now: datetime, mode: str) -> int:
        with self.transaction() as db:
            cur = db.execute(
                "INSERT INTO runs (started_at, status, mode) VALUES (?, 'running', ?)", (iso(now), mode)
            )
            return int(cur.lastrowid or 0)

    def finish_run(
        self, run_id: int, now: datetime, status: str, counts: dict[str, int], error: str | None = None
    ) -> None:
        with self.transaction() as db:
            db.execute(
                "UPDATE runs SET finished_at = ?, status = ?, read = ?, evaluated = ?, applied = ?, "
                "failed = ?, skipped = ?, error = ? WHERE id = ?",
                (
                    iso(now),
                    status,
                    counts.get("read", 0),
                    counts.get("evaluated", 0),
                    counts.get("applied", 0),
                    counts.get("failed", 0),
                    counts.get("skipped", 0),
                    error,
                    run_id,
                ),
            )

    def runs(self, limit: int = 20) -> list[dict[str, object]]:
        cur = self.db.execute("SELECT * FROM runs ORDER BY id DESC LIMIT ?", (limit,))
        cols = [d[0] for d in cur.description]
        return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]

    # -- snapshots: re-evaluate a case whose timer crosses a boundary without re-reading it ----------
    def due_snapshots(self, tracker: str, until: datetime, exclude: set[str]) -> Iterator[tuple[str, str]]:
        for case_id, data in self.db.execute(
            "SELECT case_id, data FROM snapshots WHERE tracker = ? AND next_at IS NOT NULL AND next_at <= ?",
            (tracker, iso(until)),
        ):
            if case_id not in exclude:
                yield case_id, data

    def save_snapshots(
        self,
        db: sqlite3.Connection,
        tracker: str,
        rows: Iterable[tuple[str, str | None, str | None, str, str | None]],
    ) -> None:
        """rows: (case_id, updated_at iso, next_at iso, data json, fingerprint)."""
        db.executemany(
            "INSERT INTO snapshots (tracker, case_id, updated_at, next_at, data, fingerprint) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(tracker, case_id) DO UPDATE SET updated_at = "
            "excluded.updated_at, next_at = excluded.next_at, data = excluded.data, "
            "fingerprint = excluded.fingerprint",
            [(tracker, *r) for r in rows],
        )

    def cases_with_timers(self, tracker: str, limit: int) -> list[str]:
        """Ids of cases whose timers still run (a next boundary is stored), soonest first: the cases a
        cross-check with the tracker's own SLA timers is about."""
        rows = self.db.execute(
            "SELECT case_id FROM snapshots WHERE tracker = ? AND next_at IS NOT NULL "
            "ORDER BY next_at, case_id LIMIT ?",
            (tracker, limit),
        )
        return [r[0] for r in rows]

    def known_cases(self, tracker: str, ids: Sequence[str]) -> dict[str, str]:
        """case id -> stored snapshot JSON, for connectors completing incremental reads."""
        sql = "SELECT case_id, data FROM snapshots WHERE tracker = ? AND case_id IN ({})"
        return dict(self._where_in(sql, tracker, list(ids)))

    def drop_cases(self, db: sqlite3.Connection, tracker: str, ids: Sequence[str]) -> None:
        """Forget deleted and merged cases: no snapshot to re-evaluate, no outcome in reports. The ledger
        and audit keep their history."""
        for table in ("snapshots", "outcomes", "escalations"):
            db.executemany(
                f"DELETE FROM {table} WHERE tracker = ? AND case_id = ?", [(tracker, i) for i in ids]
            )

    def fingerprints(self, tracker: str, ids: Sequence[str]) -> dict[str, tuple[str | None, str | None]]:
        """case id -> (fingerprint, next_at iso) of the cases' snapshots."""
        sql = "SELECT case_id, fingerprint, next_at FROM snapshots WHERE tracker = ? AND case_id IN ({})"
        return {cid: (fp, next_at) for cid, fp, next_at in self._where_in(sql, tracker, ids)}

    def escalation_floors(self, tracker: str, ids: Sequence[str]) -> dict[tuple[str, int], int]:
        """The highest escalation level recorded per (case, epoch): a case's level never goes down."""
        sql = (
            "SELECT case_id, epoch, MAX(level) FROM escalations WHERE tracker = ? AND case_id IN ({}) "
            "GROUP BY case_id, epoch"
        )
        return {(cid, epoch): lvl for cid, epoch, lvl in self._where_in(sql, tracker, ids)}

    def save_outcomes(self, db: sqlite3.Connection, tracker: str, rows: Iterable[tuple[object, ...]]) -> None:
        db.executemany(
            "INSERT INTO outcomes VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(tracker, "
            "case_id, target) DO UPDATE SET level = excluded.level, metric = excluded.metric, "
            "state = excluded.state, opened_at = excluded.opened_at, due_at = excluded.due_at, "
            "met_at = excluded.met_at, late_seconds = excluded.late_seconds, missed = excluded.missed",
            [(tracker, *r) for r in rows],
        )

    def save_escalations(
        self, db: sqlite3.Connection, tracker: str, rows: Iterable[tuple[object, ...]]
    ) -> None:
        db.executemany(
            "INSERT INTO escalations VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            [(tracker, *r) for r in rows],
        )
