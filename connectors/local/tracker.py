"""The embedded tracker: a small, real case tracker in one SQLite file.

It exists so that a newcomer can run casewarden with nothing else installed, and so that the demo, the
tests and the benchmarks have a tracker that behaves like Zendesk or Jira in the ways the sync engine
cares about: cases carry full timelines, every write bumps ``updated_at``, a refused write fails alone,
and side effects leave markers behind. Levels and statuses are stored by their *policy* names, so no
mapping is needed; given the policy's names (through the deployment), a case holding a name the policy
does not know is reported in ``TrackerCase.problems``.

Two faces:

* the tracker side (``create_case``, ``add_comment``, ``set_status``, ...): what a person does in a
  tracker's UI, used by the generator, the demo and tests; instants are given explicitly;
* the connector side (``read_changed``, ``apply``, ...): the :class:`connectors.base.Connector` hooks.
  Writes made through :meth:`LocalTracker.apply` happen at the tracker's ``clock``, because the time of
  a write is decided by the tracker, not by the caller.

Storage notes: instants are stored as fixed-width UTC ISO-8601 text (``2025-01-31T10:00:00.000000+00:00``),
so text order is time order, a person can read the file with the ``sqlite3`` shell, and
``datetime.fromisoformat`` (the fastest decoder available) turns them back into aware datetimes. The read
path builds a whole page with one query per table, never one per case.
"""

from __future__ import annotations

import builtins
import functools
import gc
import json
import re
import sqlite3
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar, Self, TypeVar

from casewarden.connectors.base import (
    MARKER_PREFIX,
    BootstrapNeeds,
    BootstrapStep,
    Capabilities,
    CaseChanges,
    Change,
    ChangeKind,
    ChangeResult,
    Connector,
    ConnectorContext,
    ConnectorSettings,
    Gone,
    HealthCheck,
    KnownCases,
    Outcome,
    Page,
    Resume,
    TrackerCase,
    marker_text,
    nothing_known,
)
from casewarden.connectors.cursor import TimeCursor, advance
from casewarden.connectors.mapping import NameMap
from casewarden.connectors.sources import CaseSources, SourceView, resolve_text
from casewarden.errors import (
    ConfigError,
    FatalConnectorError,
    RetriableConnectorError,
    SkippableConnectorError,
)
from casewarden.policy.case import Author, Case, LevelChange, Link, Milestone, Reply, StatusChange

__all__ = [
    "ID_PREFIX",
    "SCHEMA",
    "SCHEMA_VERSION",
    "CaseRecord",
    "Comment",
    "FaultHook",
    "LocalSettings",
    "LocalTracker",
    "UnknownOutcome",
]

SCHEMA_VERSION = 2
ID_PREFIX = "L-"

#: The whole schema. Child tables are keyed by ``case_id`` first because every read fetches them for a
#: page of case ids. Timeline tables name their rowid ``id`` so that ties at one instant keep insertion
#: order, and their indexes cover (case_id, at, id, <what is read>): a page is read from the index alone,
#: already in order, without touching the table or sorting (about a quarter faster than index + table).
SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS cases (
    id                   TEXT PRIMARY KEY,
    subject              TEXT NOT NULL,
    case_type            TEXT,
    channel              TEXT,
    region               TEXT,
    requester            TEXT,
    requester_authorized INTEGER CHECK (requester_authorized IN (0, 1)),
    opened_at            TEXT NOT NULL,
    updated_at           TEXT NOT NULL,
    level                TEXT NOT NULL,
    status               TEXT NOT NULL,
    hold_until           TEXT,
    etr                  TEXT,
    provided             TEXT NOT NULL DEFAULT '[]',
    assigned_group       TEXT
);
CREATE INDEX IF NOT EXISTS cases_updated ON cases (updated_at, id);
CREATE INDEX IF NOT EXISTS cases_status ON cases (status);

CREATE TABLE IF NOT EXISTS comments (
    id      INTEGER PRIMARY KEY,
    case_id TEXT NOT NULL REFERENCES cases (id),
    at      TEXT NOT NULL,
    author  TEXT NOT NULL CHECK (author IN ('agent', 'customer')),
    public  INTEGER NOT NULL CHECK (public IN (0, 1)),
    body    TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS comments_case ON comments (case_id, at, id, author, public);

CREATE TABLE IF NOT EXISTS status_history (
    id      INTEGER PRIMARY KEY,
    case_id TEXT NOT NULL REFERENCES cases (id),
    at      TEXT NOT NULL,
    status  TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS status_history_case ON status_history (case_id, at, id, status);

CREATE TABLE IF NOT EXISTS level_history (
    id      INTEGER PRIMARY KEY,
    case_id TEXT NOT NULL REFERENCES cases (id),
    at      TEXT NOT NULL,
    level   TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS level_history_case ON level_history (case_id, at, id, level);

CREATE TABLE IF NOT EXISTS milestones (
    id      INTEGER PRIMARY KEY,
    case_id TEXT NOT NULL REFERENCES cases (id),
    at      TEXT NOT NULL,
    name    TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS milestones_case ON milestones (case_id, at, id, name);

CREATE TABLE IF NOT EXISTS links (
    case_id TEXT NOT NULL REFERENCES cases (id),
    kind    TEXT NOT NULL,
    target  TEXT NOT NULL,
    PRIMARY KEY (case_id, kind, target)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS fields (
    case_id TEXT NOT NULL REFERENCES cases (id),
    name    TEXT NOT NULL,
    value   TEXT NOT NULL,
    PRIMARY KEY (case_id, name)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS tags (
    case_id TEXT NOT NULL REFERENCES cases (id),
    tag     TEXT NOT NULL,
    PRIMARY KEY (case_id, tag)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS followers (
    case_id TEXT NOT NULL REFERENCES cases (id),
    who     TEXT NOT NULL,
    PRIMARY KEY (case_id, who)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS markers (
    case_id TEXT NOT NULL REFERENCES cases (id),
    key     TEXT NOT NULL,
    at      TEXT NOT NULL,
    PRIMARY KEY (case_id, key)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS known_fields (
    name       TEXT PRIMARY KEY,
    created_at TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS known_statuses (
    name       TEXT PRIMARY KEY,
    created_at TEXT NOT NULL
) WITHOUT ROWID;

-- version 2: cases that were deleted or merged into another, so readers can drop them
CREATE TABLE IF NOT EXISTS gone (
    case_id TEXT PRIMARY KEY,
    at      TEXT NOT NULL,
    reason  TEXT NOT NULL CHECK (reason IN ('deleted', 'merged')),
    into_id TEXT
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS gone_at ON gone (at, case_id);
"""

#: Test seam: called with each change before :meth:`LocalTracker.apply` performs it. Return None to let
#: the change proceed, or an exception to make it fail as if the tracker had raised it (see ``apply``),
#: or :class:`UnknownOutcome` to make its outcome unknown, as a remote tracker's timeout would.
FaultHook = Callable[[Change], Exception | None]


class UnknownOutcome(Exception):
    """Returned by a fault hook: report the change's outcome as unknown, after performing it
    (``landed=True``: the answer was lost) or without (``landed=False``: the request was lost)."""

    def __init__(self, landed: bool):
        self.landed = landed
        super().__init__("the tracker's answer was lost" if landed else "the request was lost")


class LocalSettings(ConnectorSettings):
    """``settings:`` of a ``type: local`` tracker."""

    path: str
    create: bool = False
    page_size: int = 1000
    url_base: str = "local://case/"


Clock = Callable[[], datetime]

_CASE_COLUMNS = (
    "id, opened_at, updated_at, level, status, case_type, channel, region, requester, "
    "requester_authorized, provided, hold_until, etr"
)
_IN_PAGE = "case_id IN (SELECT value FROM json_each(?))"
_NOT_GONE = "id NOT IN (SELECT case_id FROM gone)"
_MARKER_LINE = re.compile(r"^[ \t]*\[" + re.escape(MARKER_PREFIX) + r"([^\]\r\n]+)\][ \t]*\r?$", re.MULTILINE)
_AUTO_ID = re.compile(re.escape(ID_PREFIX) + r"(\d+)")
_AUTHORS: dict[str, Author] = {a.value: a for a in Author}
_MMAP_BYTES = 1 << 30
_CACHE_KIB = 32 * 1024
_T = TypeVar("_T")


def _iso(at: datetime) -> str:
    """The stored form of an instant: fixed-width UTC text, so that text order is time order."""
    if at.tzinfo is UTC:  # the common case, and the generator's: skip the conversion
        return at.isoformat(timespec="microseconds")
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"naive datetime {at!r}: the local tracker needs timezone-aware instants")
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def _iso_opt(at: datetime | None) -> str | None:
    return None if at is None else _iso(at)


_dt = datetime.fromisoformat


def _dt_opt(text: str | None) -> datetime | None:
    return None if text is None else _dt(text)


@functools.lru_cache(maxsize=4096)
def _provided(text: str) -> frozenset[str]:
    """Decode the ``provided`` JSON list; cached because cases share few distinct checklists."""
    return frozenset(json.loads(text))


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector (if it runs) while building objects that cannot form cycles."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _bool_opt(value: bool | None) -> int | None:
    return None if value is None else int(value)


@dataclass(slots=True)
class CaseRecord:
    """One case with its whole history, for :meth:`LocalTracker.bulk_insert`.

    Timelines are plain tuples (not the ``policy.case`` dataclasses) because the generator builds millions
    of them and tuples are several times cheaper to create. ``level_history`` and ``status_history`` must
    not be empty; their last entries are the current level and status. ``updated_at`` defaults to the
    latest instant of the record. ``id`` None means "assign the next ``L-<n>``".
    """

    subject: str
    opened_at: datetime
    level_history: list[tuple[datetime, str]]
    status_history: list[tuple[datetime, str]]
    comments: list[tuple[datetime, str, bool, str]] = field(default_factory=list)  # at, author, public, body
    milestones: list[tuple[datetime, str]] = field(default_factory=list)
    links: list[tuple[str, str]] = field(default_factory=list)  # kind, target
    fields: dict[str, str] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)
    id: str | None = None
    case_type: str | None = None
    channel: str | None = None
    region: str | None = None
    requester: str | None = None
    requester_authorized: bool | None = None
    provided: Sequence[str] = ()
    hold_until: datetime | None = None
    etr: datetime | None = None
    assigned_group: str | None = None
    updated_at: datetime | None = None

    def latest(self) -> datetime:
        """The last instant anything happened on the case (its default ``updated_at``)."""
        instants = [self.opened_at]
        instants += (at for at, *_ in self.level_history)
        instants += (at for at, *_ in self.status_history)
        instants += (at for at, *_ in self.comments)
        instants += (at for at, *_ in self.milestones)
        return max(instants)


@dataclass(frozen=True, slots=True)
class Comment:
    """A comment as stored, body included (``Case.replies`` leaves bodies out)."""

    at: datetime
    author: Author
    public: bool
    body: str


class _Rows:
    """Rows for the child tables of a bulk insert, flushed together with ``executemany``."""

    def __init__(self) -> None:
        self.cases: list[tuple[Any, ...]] = []
        self.comments: list[tuple[str, str, str, int, str]] = []
        self.status: list[tuple[str, str, str]] = []
        self.level: list[tuple[str, str, str]] = []
        self.milestones: list[tuple[str, str, str]] = []
        self.links: list[tuple[str, str, str]] = []
        self.fields: list[tuple[str, str, str]] = []
        self.tags: list[tuple[str, str]] = []
        self.statuses_used: set[str] = set()


class LocalTracker(Connector):
    """The embedded SQLite tracker, both as a tracker (for people and generators) and as a connector.

    ``page_size`` is the number of cases per page of :meth:`read_changed`. ``clock`` gives the instant
    of writes made through :meth:`apply` (tests pass a fixed clock). ``fail`` is a fault-injection test
    seam: see :data:`FaultHook` and :meth:`apply`. ``names`` translates level and status names (the
    embedded tracker stores policy names, so by default it is the identity; given the policy's names it
    reports a case holding a name the policy does not know as a problem). ``case_data`` may take region,
    channel, case type and requester authorization from a field or a tag instead of the case's own
    columns. One connection is shared and guarded by a lock, so a tracker object may be used from several
    threads; other processes may open the same file (WAL mode).

    Markers live in the ``markers`` table (one row per key, written in the change's own savepoint) and,
    for notes, in the note's last line ``[casewarden:KEY]``.
    """

    type: ClassVar[str] = "local"
    Settings: ClassVar[builtins.type[ConnectorSettings]] = LocalSettings
    IDENTITY_NAMES: ClassVar[bool] = True
    MARKERS: ClassVar[str] = (
        "the tracker's markers table (one row per key), and a [casewarden:KEY] line at the end of each keyed "
        "internal note"
    )
    SOURCE_KINDS: ClassVar[frozenset[str]] = frozenset({"native", "field", "tag", "tag_prefix"})
    SETTINGS_EXAMPLE: ClassVar[str] = (
        "path: tracker.sqlite            # the embedded tracker's SQLite file\n"
        "create: true                    # create it if missing (otherwise a mistyped path is an error)\n"
    )

    def __init__(
        self,
        path: str | Path,
        *,
        url_base: str = "local://case/",
        page_size: int = 1000,
        clock: Clock | None = None,
        fail: FaultHook | None = None,
        names: NameMap | None = None,
        case_data: CaseSources | None = None,
    ) -> None:
        if page_size < 1:
            raise ValueError("page_size must be at least 1")
        self.names = names or NameMap.identity()
        self._translate = names is not None
        self.case_data = case_data or CaseSources()
        self.path = str(path)
        self.url_base = url_base
        self.page_size = page_size
        self._clock: Clock = clock or (lambda: datetime.now(UTC))
        self._fail = fail
        self._lock = threading.RLock()
        self._depth = 0
        self._conn = self._connect(self.path)
        self._ensure_schema()

    @classmethod
    def from_deployment(cls, settings: ConnectorSettings, context: ConnectorContext) -> Self:
        """The tracker a deployment's ``type: local`` entry names; a path that does not exist is refused
        unless ``create: true``, so a typo does not silently start an empty tracker."""
        assert isinstance(settings, LocalSettings)
        path = Path(settings.path).expanduser()
        if not path.is_absolute():
            path = context.base_dir / path
        if not settings.create and not path.exists():
            error = ConfigError(
                f"tracker '{context.tracker}': the embedded tracker file {path} does not exist "
                "(check settings.path, or set 'create: true' to start an empty tracker)"
            )
            error.setting = "path"  # type: ignore[attr-defined]  # located there in the deployment file
            raise error
        return cls(
            path,
            url_base=settings.url_base,
            page_size=settings.page_size,
            names=context.names,
            case_data=context.case_data,
        )

    # ----------------------------------------------------------------------------------------- lifecycle

    @staticmethod
    def _connect(path: str) -> sqlite3.Connection:
        """Open in autocommit mode: this class issues BEGIN/SAVEPOINT itself, so a batch commits once."""
        if path != ":memory:" and not path.startswith("file:"):
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        try:
            conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, uri=True)
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")  # durable enough with WAL; much faster commits
            conn.execute("PRAGMA busy_timeout = 5000")
            conn.execute("PRAGMA foreign_keys = ON")
            # Reads of a page touch children scattered over the file: memory-map it and keep a larger page
            # cache, which more than halves read_changed's time at 100,000 cases.
            conn.execute(f"PRAGMA mmap_size = {_MMAP_BYTES}")
            conn.execute(f"PRAGMA cache_size = -{_CACHE_KIB}")
        except sqlite3.Error as exc:
            raise FatalConnectorError(f"cannot open the local tracker at {path}: {exc}") from exc
        return conn

    def _ensure_schema(self) -> None:
        """Create the tables on first use and refuse a file written by a newer casewarden."""
        version = self._schema_version()
        if version is not None and version > SCHEMA_VERSION:
            raise FatalConnectorError(
                f"the local tracker at {self.path} has schema version {version}; this casewarden "
                f"understands up to {SCHEMA_VERSION}: upgrade casewarden"
            )
        if version == SCHEMA_VERSION:
            return
        with self.transaction():
            for statement in SCHEMA.split(";"):
                if statement.strip():
                    self._conn.execute(statement)
            self._conn.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('schema_version', ?)",
                (str(SCHEMA_VERSION),),
            )

    def _schema_version(self) -> int | None:
        exists = self._conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'")
        if exists.fetchone() is None:
            return None
        row = self._conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        return int(row[0]) if row else None

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> LocalTracker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One write transaction; nested uses become savepoints, so an inner failure undoes only itself.

        The generator and ``mutate`` wrap many tracker-side calls in one of these to commit once.
        """
        with self._lock:
            outer = self._depth == 0
            savepoint = f"sp{self._depth}"
            try:
                self._conn.execute("BEGIN IMMEDIATE" if outer else f"SAVEPOINT {savepoint}")
            except sqlite3.OperationalError as exc:
                raise RetriableConnectorError(f"the local tracker at {self.path} is busy: {exc}") from exc
            self._depth += 1
            try:
                yield
            except BaseException:
                self._conn.execute("ROLLBACK" if outer else f"ROLLBACK TO {savepoint}")
                if not outer:
                    self._conn.execute(f"RELEASE {savepoint}")
                raise
            else:
                self._conn.execute("COMMIT" if outer else f"RELEASE {savepoint}")
            finally:
                self._depth -= 1

    @contextmanager
    def _snapshot(self) -> Iterator[None]:
        """A read transaction, so that a page's cases and their children come from one state of the file."""
        with self._lock:
            if self._depth:
                yield
                return
            self._conn.execute("BEGIN")
            try:
                yield
            finally:
                self._conn.execute("COMMIT")

    # ---------------------------------------------------------------------------- tracker side (people)

    def create_case(
        self,
        subject: str,
        *,
        opened_at: datetime,
        level: str,
        status: str = "New",
        channel: str | None = None,
        region: str | None = None,
        case_type: str | None = None,
        requester: str | None = None,
        requester_authorized: bool | None = None,
        provided: Iterable[str] = (),
        case_id: str | None = None,
    ) -> str:
        """Open a case as a person would; its level and status histories start at ``opened_at``."""
        record = CaseRecord(
            subject=subject,
            opened_at=opened_at,
            level_history=[(opened_at, level)],
            status_history=[(opened_at, status)],
            id=case_id,
            case_type=case_type,
            channel=channel,
            region=region,
            requester=requester,
            requester_authorized=requester_authorized,
            provided=tuple(provided),
        )
        return self.bulk_insert([record])[0]

    def add_comment(
        self, case_id: str, at: datetime, author: Author | str, body: str, public: bool = True
    ) -> None:
        """A reply by an agent or the customer; ``public=False`` is an internal note."""
        who = Author(author)
        with self.transaction():
            when = self._touch(case_id, at)
            self._insert_comment(case_id, when, who, public, body)

    def set_status(self, case_id: str, at: datetime, status: str, hold_until: datetime | None = None) -> None:
        """Move the case to ``status``; ``hold_until`` is the set time of an On Hold status (else cleared)."""
        with self.transaction():
            when = self._touch(case_id, at)
            self._change_status(case_id, when, status, _iso_opt(hold_until))

    def set_level(self, case_id: str, at: datetime, level: str) -> None:
        """Change the case's level (a priority change in the tracker's words)."""
        with self.transaction():
            when = self._touch(case_id, at)
            self._change_level(case_id, when, level)

    def add_milestone(self, case_id: str, at: datetime, name: str) -> None:
        """Record a named milestone (restoration, temporary_fix, customer_escalation, ...)."""
        with self.transaction():
            when = self._touch(case_id, at)
            self._conn.execute(
                "INSERT INTO milestones (case_id, at, name) VALUES (?, ?, ?)", (case_id, when, name)
            )

    def set_etr(self, case_id: str, at: datetime, etr: datetime | None) -> None:
        """Promise (or withdraw, with None) an estimated time of resolution."""
        with self.transaction():
            self._touch(case_id, at)
            self._conn.execute("UPDATE cases SET etr = ? WHERE id = ?", (_iso_opt(etr), case_id))

    def add_link(self, case_id: str, at: datetime, kind: str, target: str) -> None:
        """Link the case to another (``duplicate_of``, ``child_of``, ``related``)."""
        with self.transaction():
            self._touch(case_id, at)
            self._insert_link(case_id, kind, target)

    def delete_case(self, case_id: str, at: datetime) -> None:
        """Delete a case as an admin would: it disappears, and readers are told it is gone."""
        with self.transaction():
            self._touch(case_id, at)
            for table in (
                "comments",
                "status_history",
                "level_history",
                "milestones",
                "links",
                "fields",
                "tags",
                "followers",
                "markers",
            ):
                self._conn.execute(f"DELETE FROM {table} WHERE case_id = ?", (case_id,))
            self._conn.execute("DELETE FROM links WHERE target = ?", (case_id,))
            self._conn.execute("DELETE FROM cases WHERE id = ?", (case_id,))
            self._conn.execute(
                "INSERT OR REPLACE INTO gone (case_id, at, reason, into_id) VALUES (?, ?, 'deleted', NULL)",
                (case_id, _iso(at)),
            )

    def merge_case(self, case_id: str, into: str, at: datetime) -> None:
        """Merge a case into another: its history stays readable by id, but it is no longer a case of its
        own (readers are told it was merged), as Zendesk and Jira do."""
        with self.transaction():
            self._touch(case_id, at)
            self._touch(into, at)
            self._conn.execute(
                "INSERT OR REPLACE INTO gone (case_id, at, reason, into_id) VALUES (?, ?, 'merged', ?)",
                (case_id, _iso(at), into),
            )

    def get_case(self, case_id: str) -> TrackerCase:
        """The case as the connector reads it; raises SkippableConnectorError if there is no such case."""
        found = self.read_cases([case_id])
        if not found:
            raise SkippableConnectorError(f"case {case_id} does not exist")
        return found[0]

    def comments(self, case_id: str) -> list[Comment]:
        """Every comment of the case with its body, oldest first (for people, the demo and tests)."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT at, author, public, body FROM comments WHERE case_id = ? ORDER BY at, id",
                (case_id,),
            ).fetchall()
        return [Comment(_dt(at), _AUTHORS[author], bool(public), body) for at, author, public, body in rows]

    def assigned_group(self, case_id: str) -> str | None:
        """The group the case is assigned to (not part of the normalized case)."""
        return self._scalar("SELECT assigned_group FROM cases WHERE id = ?", case_id)

    def followers(self, case_id: str) -> set[str]:
        """The people following the case (not part of the normalized case)."""
        with self._lock:
            rows = self._conn.execute("SELECT who FROM followers WHERE case_id = ?", (case_id,))
            return {who for (who,) in rows}

    def case_ids(
        self, statuses: Iterable[str] | None = None, *, updated_before: datetime | None = None
    ) -> list[str]:
        """Ids of all cases, or of those in one of ``statuses`` and last updated before ``updated_before``,
        in id order (for generators and tests)."""
        sql, params = "SELECT id FROM cases WHERE 1", []
        if statuses is not None:
            sql += " AND status IN (SELECT value FROM json_each(?))"
            params.append(json.dumps(sorted(set(statuses))))
        if updated_before is not None:
            sql += " AND updated_at < ?"
            params.append(_iso(updated_before))
        with self._lock:
            return [case_id for (case_id,) in self._conn.execute(sql + " ORDER BY id", params)]

    def count(self) -> int:
        """How many cases the tracker holds."""
        return int(self._scalar("SELECT count(*) FROM cases") or 0)

    def get_meta(self, key: str) -> str | None:
        """A value from the tracker's own key-value table (the generator records its vocabulary there)."""
        return self._scalar("SELECT value FROM meta WHERE key = ?", key)

    def set_meta(self, key: str, value: str) -> None:
        with self.transaction():
            self._conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    def bulk_insert(self, records: Iterable[CaseRecord], *, chunk: int = 5000) -> list[str]:
        """Insert many cases with their whole histories in one transaction; returns their ids in order.

        This is the generator's fast path: rows are gathered per table and written with ``executemany``
        every ``chunk`` cases. Statuses are checked against the known statuses (when any are known) per
        chunk, and a failure rolls the whole insert back.
        """
        ids: list[str] = []
        with self.transaction():
            known = self._known("known_statuses")
            next_number = int(self.get_meta("next_case_number") or 1)
            rows = _Rows()
            for record in records:
                case_id = record.id or f"{ID_PREFIX}{next_number}"
                next_number = self._next_number(case_id, next_number)
                self._gather(rows, case_id, record)
                ids.append(case_id)
                if len(rows.cases) >= chunk:
                    self._flush(rows, known)
                    rows = _Rows()
            self._flush(rows, known)
            self._conn.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('next_case_number', ?)", (str(next_number),)
            )
        return ids

    @staticmethod
    def _next_number(case_id: str, current: int) -> int:
        """Keep automatic ids clear of every id used so far, including ``L-<n>`` ids given explicitly."""
        match = _AUTO_ID.fullmatch(case_id)
        return max(current, int(match.group(1)) + 1) if match else current

    @staticmethod
    def _gather(rows: _Rows, case_id: str, record: CaseRecord) -> None:
        """Turn one record into rows for every table."""
        if not record.level_history or not record.status_history:
            raise ValueError(f"case {case_id}: level_history and status_history must not be empty")
        status = record.status_history[-1][1]
        rows.cases.append(
            (
                case_id,
                record.subject,
                record.case_type,
                record.channel,
                record.region,
                record.requester,
                _bool_opt(record.requester_authorized),
                _iso(record.opened_at),
                _iso(record.updated_at or record.latest()),
                record.level_history[-1][1],
                status,
                _iso_opt(record.hold_until),
                _iso_opt(record.etr),
                json.dumps(list(record.provided)),
                record.assigned_group,
            )
        )
        rows.level += [(case_id, _iso(at), level) for at, level in record.level_history]
        rows.status += [(case_id, _iso(at), name) for at, name in record.status_history]
        rows.statuses_used.update(name for _, name in record.status_history)
        rows.comments += [
            (case_id, _iso(at), Author(author).value, int(public), body)
            for at, author, public, body in record.comments
        ]
        rows.milestones += [(case_id, _iso(at), name) for at, name in record.milestones]
        rows.links += [(case_id, kind, target) for kind, target in record.links]
        rows.fields += [(case_id, name, value) for name, value in record.fields.items()]
        rows.tags += [(case_id, tag) for tag in record.tags]

    def _flush(self, rows: _Rows, known_statuses: set[str]) -> None:
        if known_statuses and not rows.statuses_used <= known_statuses:
            unknown = ", ".join(sorted(rows.statuses_used - known_statuses))
            raise SkippableConnectorError(f"unknown status {unknown}: not among the tracker's statuses")
        execute = self._conn.executemany
        try:
            execute(
                "INSERT INTO cases (id, subject, case_type, channel, region, requester, "
                "requester_authorized, opened_at, updated_at, level, status, hold_until, etr, provided, "
                "assigned_group) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                rows.cases,
            )
        except sqlite3.IntegrityError as exc:
            raise SkippableConnectorError(f"cannot create case: {exc}") from exc
        execute("INSERT INTO level_history (case_id, at, level) VALUES (?, ?, ?)", rows.level)
        execute("INSERT INTO status_history (case_id, at, status) VALUES (?, ?, ?)", rows.status)
        execute(
            "INSERT INTO comments (case_id, at, author, public, body) VALUES (?, ?, ?, ?, ?)", rows.comments
        )
        execute("INSERT INTO milestones (case_id, at, name) VALUES (?, ?, ?)", rows.milestones)
        execute("INSERT OR IGNORE INTO links (case_id, kind, target) VALUES (?, ?, ?)", rows.links)
        execute("INSERT OR REPLACE INTO fields (case_id, name, value) VALUES (?, ?, ?)", rows.fields)
        execute("INSERT OR IGNORE INTO tags (case_id, tag) VALUES (?, ?)", rows.tags)

    # ------------------------------------------------------------------------ shared write primitives

    def _touch(self, case_id: str, at: datetime | str) -> str:
        """Bump ``updated_at`` (it keeps the latest instant) and fail if the case does not exist."""
        when = at if isinstance(at, str) else _iso(at)
        cursor = self._conn.execute(
            "UPDATE cases SET updated_at = max(updated_at, ?) WHERE id = ?", (when, case_id)
        )
        if cursor.rowcount == 0:
            raise SkippableConnectorError(f"case {case_id} does not exist")
        return when

    def _insert_comment(self, case_id: str, when: str, author: Author, public: bool, body: str) -> None:
        self._conn.execute(
            "INSERT INTO comments (case_id, at, author, public, body) VALUES (?, ?, ?, ?, ?)",
            (case_id, when, author.value, int(public), body),
        )

    def _change_status(self, case_id: str, when: str, status: str, hold_until: str | None) -> None:
        """Set the status; history gets an entry only when the status really changes (as in a tracker)."""
        known = self._known("known_statuses")
        if known and status not in known:
            raise SkippableConnectorError(f"unknown status {status!r}: not among the tracker's statuses")
        current = self._scalar("SELECT status FROM cases WHERE id = ?", case_id)
        self._conn.execute(
            "UPDATE cases SET status = ?, hold_until = ? WHERE id = ?", (status, hold_until, case_id)
        )
        if status != current:
            self._conn.execute(
                "INSERT INTO status_history (case_id, at, status) VALUES (?, ?, ?)", (case_id, when, status)
            )

    def _change_level(self, case_id: str, when: str, level: str) -> None:
        current = self._scalar("SELECT level FROM cases WHERE id = ?", case_id)
        if level == current:
            return
        self._conn.execute("UPDATE cases SET level = ? WHERE id = ?", (level, case_id))
        self._conn.execute(
            "INSERT INTO level_history (case_id, at, level) VALUES (?, ?, ?)", (case_id, when, level)
        )

    def _insert_link(self, case_id: str, kind: str, target: str) -> None:
        if self._scalar("SELECT id FROM cases WHERE id = ?", target) is None:
            raise SkippableConnectorError(f"cannot link {case_id} to {target}: no such case")
        self._conn.execute(
            "INSERT OR IGNORE INTO links (case_id, kind, target) VALUES (?, ?, ?)", (case_id, kind, target)
        )

    def _known(self, table: str) -> set[str]:
        return {name for (name,) in self._conn.execute(f"SELECT name FROM {table}")}

    def _scalar(self, sql: str, *params: object) -> Any:
        with self._lock:
            row = self._conn.execute(sql, params).fetchone()
        return row[0] if row else None

    # ------------------------------------------------------------------------------------ read path

    def read_changed(
        self, resume: Resume | None, until: datetime, known: KnownCases = nothing_known
    ) -> Iterator[Page]:
        """Pages of cases changed since ``resume`` (a :class:`TimeCursor`), with whole timelines (the file
        holds them, so ``known`` is not needed), then the cases deleted or merged meanwhile.

        The cursor instant is read again and the ids already seen at it are dropped, so nothing is lost
        at a tie and nothing is read twice."""
        cursor = TimeCursor.from_json(resume)
        since = cursor.at if cursor else None
        running = cursor
        for page in self.pages_between(since, until):
            fresh = [tc for tc in page if not (running and running.is_seen(tc.case.id, tc.case.updated_at))]
            running = advance(running, [(tc.case.id, tc.case.updated_at) for tc in page], until)
            if fresh:
                yield Page(fresh, running.to_json() if running else None)
        gone = self._gone_between(since, until)
        if gone:
            yield Page([], running.to_json() if running else None, gone)

    def _gone_between(self, since: datetime | None, until: datetime) -> list[Gone]:
        low, high = ("" if since is None else _iso(since)), _iso(until)
        with self._lock:
            rows = self._conn.execute(
                "SELECT case_id, reason, into_id FROM gone WHERE at >= ? AND at <= ? ORDER BY at, case_id",
                (low, high),
            ).fetchall()
        return [Gone(cid, reason, into) for cid, reason, into in rows]

    def pages_between(self, since: datetime | None, until: datetime) -> Iterator[list[TrackerCase]]:
        """Pages of cases with ``since <= updated_at <= until`` in (updated_at, id) order.

        Keyset paging (continue after the last (updated_at, id) seen) keeps every page an index range
        scan, stays correct when many cases share one ``updated_at``, and tolerates writes between pages.
        """
        low, high = ("" if since is None else _iso(since)), _iso(until)
        after: tuple[str, str] | None = None
        while True:
            with self._snapshot():
                if after is None:
                    rows = self._conn.execute(
                        f"SELECT {_CASE_COLUMNS} FROM cases WHERE updated_at >= ? AND updated_at <= ? "
                        f"AND {_NOT_GONE} ORDER BY updated_at, id LIMIT ?",
                        (low, high, self.page_size),
                    ).fetchall()
                else:
                    rows = self._conn.execute(
                        f"SELECT {_CASE_COLUMNS} FROM cases WHERE (updated_at, id) > (?, ?) "
                        f"AND updated_at <= ? AND {_NOT_GONE} ORDER BY updated_at, id LIMIT ?",
                        (*after, high, self.page_size),
                    ).fetchall()
                page = self._build(rows)
            if page:
                yield page
            if len(rows) < self.page_size:
                return
            after = (rows[-1][2], rows[-1][0])

    def read_cases(self, ids: Sequence[str]) -> list[TrackerCase]:
        """The named cases in the order asked, unknown ids left out, read ``page_size`` at a time."""
        wanted = list(dict.fromkeys(ids))
        found: dict[str, TrackerCase] = {}
        for start in range(0, len(wanted), self.page_size):
            chunk = json.dumps(wanted[start : start + self.page_size])
            with self._snapshot():
                rows = self._conn.execute(
                    f"SELECT {_CASE_COLUMNS} FROM cases WHERE id IN (SELECT value FROM json_each(?)) AND {_NOT_GONE}",
                    (chunk,),
                ).fetchall()
                found.update((tc.case.id, tc) for tc in self._build(rows))
        return [found[case_id] for case_id in wanted if case_id in found]

    def _timeline(
        self, table: str, column: str, page: str, make: Callable[[datetime, str], _T]
    ) -> dict[str, list[_T]]:
        """One timeline table for a whole page, grouped by case id. Rows arrive ordered by case (the index
        order), so a new list starts whenever the id changes: no per-row dictionary lookup, no lambda."""
        grouped: dict[str, list[_T]] = {}
        current_id: str | None = None
        current: list[_T] = []
        sql = f"SELECT case_id, at, {column} FROM {table} WHERE {_IN_PAGE} ORDER BY case_id, at, id"
        for case_id, at, value in self._conn.execute(sql, (page,)):
            if case_id != current_id:
                current_id, current = case_id, []
                grouped[case_id] = current
            current.append(make(_dt(at), value))
        return grouped

    def _replies(self, page: str) -> dict[str, list[Reply]]:
        """Comments of a page as replies (internal notes included, with ``public=False``); no bodies read."""
        grouped: dict[str, list[Reply]] = {}
        current_id: str | None = None
        current: list[Reply] = []
        authors = _AUTHORS
        sql = f"SELECT case_id, at, author, public FROM comments WHERE {_IN_PAGE} ORDER BY case_id, at, id"
        for case_id, at, author, public in self._conn.execute(sql, (page,)):
            if case_id != current_id:
                current_id, current = case_id, []
                grouped[case_id] = current
            current.append(Reply(_dt(at), authors[author], public == 1))
        return grouped

    def _pairs(self, sql: str, page: str) -> dict[str, list[tuple[str, str]]]:
        """A small two-column child table (links, fields) for a page, grouped by case id."""
        grouped: dict[str, list[tuple[str, str]]] = defaultdict(list)
        for case_id, first, second in self._conn.execute(sql, (page,)):
            grouped[case_id].append((first, second))
        return grouped

    def _build(self, rows: list[tuple[Any, ...]]) -> list[TrackerCase]:
        """Build the TrackerCases of one page with one query per child table (seven in all).

        The cyclic garbage collector is paused meanwhile: a page creates some 20,000 small acyclic
        objects, and when the caller keeps the cases (as the sync engine does) every collection pass
        would walk all the cases read so far; pausing halves the time of a 100,000-case read.
        """
        if not rows:
            return []
        with _gc_paused():
            return self._build_page(rows)

    def _build_page(self, rows: list[tuple[Any, ...]]) -> list[TrackerCase]:
        page = json.dumps([row[0] for row in rows])
        levels = self._timeline("level_history", "level", page, LevelChange)
        statuses = self._timeline("status_history", "status", page, StatusChange)
        milestones = self._timeline("milestones", "name", page, Milestone)
        replies = self._replies(page)
        links = self._pairs(f"SELECT case_id, kind, target FROM links WHERE {_IN_PAGE}", page)
        fields = self._pairs(f"SELECT case_id, name, value FROM fields WHERE {_IN_PAGE}", page)
        tags: dict[str, list[str]] = defaultdict(list)
        for case_id, tag in self._conn.execute(f"SELECT case_id, tag FROM tags WHERE {_IN_PAGE}", (page,)):
            tags[case_id].append(tag)
        empty: list[Any] = []
        return [
            self._tracker_case(
                row,
                levels.get(row[0], empty),
                statuses.get(row[0], empty),
                replies.get(row[0], empty),
                milestones.get(row[0], empty),
                links.get(row[0], empty),
                fields.get(row[0], empty),
                tags.get(row[0], empty),
            )
            for row in rows
        ]

    def _tracker_case(
        self,
        row: tuple[Any, ...],
        levels: list[LevelChange],
        statuses: list[StatusChange],
        replies: list[Reply],
        milestones: list[Milestone],
        links: list[tuple[str, str]],
        fields: list[tuple[str, str]],
        tags: list[str],
    ) -> TrackerCase:
        """Assemble one case from its row and its children (already grouped and ordered)."""
        (
            case_id,
            opened,
            updated,
            level,
            status,
            case_type,
            channel,
            region,
            requester,
            authorized,
            provided,
            hold_until,
            etr,
        ) = row
        opened_at = _dt(opened)
        problems: list[str] = []
        level_history = tuple(levels) or (LevelChange(opened_at, level),)
        status_history = tuple(statuses) or (StatusChange(opened_at, status),)
        if self._translate:
            names = self.names
            level_history = tuple(
                LevelChange(x.at, names.level_from_tracker(x.level, problems)) for x in level_history
            )
            status_history = tuple(
                StatusChange(x.at, names.status_from_tracker(x.status, problems)) for x in status_history
            )
        field_map: dict[str, str | None] = dict(fields)
        tag_set = frozenset(tags)
        if self.case_data.all():
            native = {
                "region": region,
                "channel": channel,
                "case_type": case_type,
                "requester_authorized": None if authorized is None else bool(authorized),
            }
            view = SourceView(fields=field_map, tags=tag_set, native=native)
            data = self.case_data
            if data.region is not None:
                region = resolve_text(data.region, view, "region")
            if data.channel is not None:
                channel = resolve_text(data.channel, view, "channel")
            if data.case_type is not None:
                case_type = resolve_text(data.case_type, view, "case_type")
            if data.requester_authorized is not None:
                value = resolve_text(data.requester_authorized, view, "requester_authorized")
                authorized = None if value is None else value.lower() in ("true", "1", "yes")
            if data.checklist:
                items = set(_provided(provided))
                for item, source in data.checklist.items():
                    if source.kind != "native" and resolve_text(source, view, item):
                        items.add(item)
                provided = json.dumps(sorted(items))
        case = Case(
            id=case_id,
            opened_at=opened_at,
            level_history=level_history,
            status_history=status_history,
            replies=tuple(replies),
            milestones=tuple(milestones),
            links=tuple(Link(kind, target) for kind, target in links),
            case_type=case_type,
            channel=channel,
            region=region,
            requester=requester,
            requester_authorized=None if authorized is None else bool(authorized),
            provided=_provided(provided),
            hold_until=_dt_opt(hold_until),
            etr=_dt_opt(etr),
            updated_at=_dt(updated),
        )
        return TrackerCase(
            case=case,
            fields=field_map,
            tags=tag_set,
            url=self.url_base + case_id,
            problems=tuple(dict.fromkeys(problems)),
        )

    # ------------------------------------------------------------------------------------ write path

    def apply(self, batch: Sequence[CaseChanges]) -> list[ChangeResult]:
        """Apply a batch at one instant of the tracker's clock; one savepoint per change, one commit.

        A refused change (unknown case, unknown status or field once bootstrapped, a link to a missing case,
        a change missing its value) rolls back alone and is ``refused`` with the reason. Any other exception
        (a :class:`FatalConnectorError`, an SQLite failure, which is raised as one, or whatever the ``fail``
        hook returns) stops the batch: the changes before it are committed, as they would have landed on a
        remote tracker, and the exception is raised. Every change that carries a key leaves a row in
        ``markers`` in its own savepoint.
        """
        when = _iso(self._clock())
        results: list[ChangeResult] = []
        stop: Exception | None = None
        changes = [c for group in batch for c in group.changes]
        with self.transaction():
            for change in changes:
                fault = self._fail(change) if self._fail is not None else None
                if isinstance(fault, UnknownOutcome):
                    if fault.landed:
                        try:
                            with self.transaction():
                                self._apply_one(change, when)
                        except (SkippableConnectorError, RetriableConnectorError, sqlite3.IntegrityError):
                            pass
                    results.append(ChangeResult(change, Outcome.UNKNOWN, str(fault)))
                    continue
                try:
                    if fault is not None:
                        raise fault
                    with self.transaction():
                        self._apply_one(change, when)
                except (SkippableConnectorError, RetriableConnectorError, sqlite3.IntegrityError) as exc:
                    results.append(ChangeResult(change, Outcome.REFUSED, str(exc)))
                except sqlite3.Error as exc:  # the file itself is in trouble (disk full, I/O error)
                    stop = FatalConnectorError(f"the local tracker at {self.path} failed: {exc}")
                    stop.__cause__ = exc
                    break
                except Exception as exc:
                    stop = exc
                    break
                else:
                    results.append(ChangeResult(change, Outcome.APPLIED))
        if stop is not None:
            raise stop
        return results

    def _apply_one(self, change: Change, when: str) -> None:
        handler = self._HANDLERS.get(change.kind)
        if handler is None:
            raise SkippableConnectorError(f"the local tracker cannot apply {change.kind}")
        self._touch(change.case_id, when)
        handler(self, change, when)
        if change.key:
            self._conn.execute(
                "INSERT OR IGNORE INTO markers (case_id, key, at) VALUES (?, ?, ?)",
                (change.case_id, change.key, when),
            )

    @staticmethod
    def _need(value: str | None, what: str, change: Change) -> str:
        if value is None or value == "":
            raise SkippableConnectorError(f"{change.kind} on {change.case_id} needs {what}")
        return value

    def _do_set_field(self, change: Change, when: str) -> None:
        name = self._need(change.field, "a field name", change)
        known = self._known("known_fields")
        if known and name not in known:
            raise SkippableConnectorError(f"unknown field {name!r}: run casewarden bootstrap --apply")
        if change.value is None:
            self._conn.execute("DELETE FROM fields WHERE case_id = ? AND name = ?", (change.case_id, name))
        else:
            self._conn.execute(
                "INSERT OR REPLACE INTO fields (case_id, name, value) VALUES (?, ?, ?)",
                (change.case_id, name, change.value),
            )

    def _do_set_level(self, change: Change, when: str) -> None:
        level = self._need(change.value, "a level", change)
        self._change_level(change.case_id, when, self.names.level_to_tracker(level) or level)

    def _do_add_tag(self, change: Change, when: str) -> None:
        tag = self._need(change.value, "a tag", change)
        self._conn.execute("INSERT OR IGNORE INTO tags (case_id, tag) VALUES (?, ?)", (change.case_id, tag))

    def _do_remove_tag(self, change: Change, when: str) -> None:
        tag = self._need(change.value, "a tag", change)
        self._conn.execute("DELETE FROM tags WHERE case_id = ? AND tag = ?", (change.case_id, tag))

    def _do_add_note(self, change: Change, when: str) -> None:
        """An internal note by an agent; a keyed note ends with its marker line, found by find_markers."""
        body = self._need(change.value, "the note's text", change)
        if change.key:
            body = f"{body}\n{marker_text(change.key)}"
        self._insert_comment(change.case_id, when, Author.AGENT, False, body)

    def _do_set_status(self, change: Change, when: str) -> None:
        status = self._need(change.value, "a status", change)
        self._change_status(change.case_id, when, self.names.status_to_tracker(status) or status, None)

    def _do_assign_group(self, change: Change, when: str) -> None:
        group = self._need(change.value, "a group", change)
        self._conn.execute("UPDATE cases SET assigned_group = ? WHERE id = ?", (group, change.case_id))

    def _do_add_follower(self, change: Change, when: str) -> None:
        who = self._need(change.value, "a follower", change)
        self._conn.execute(
            "INSERT OR IGNORE INTO followers (case_id, who) VALUES (?, ?)", (change.case_id, who)
        )

    def _do_link(self, change: Change, when: str) -> None:
        kind = self._need(change.field, "a link kind (field)", change)
        self._insert_link(change.case_id, kind, self._need(change.value, "a target case", change))

    def _do_open_related(self, change: Change, when: str) -> None:
        """Open a follow-up case for the same requester, region and channel, linked ``related`` both ways.

        It opens with the level the source case has now and the status the source case opened with (the
        tracker's "new" status, whatever the policy calls it).
        """
        subject = self._need(change.value, "a subject", change)
        source = self._conn.execute(
            "SELECT level, case_type, channel, region, requester, requester_authorized, "
            "(SELECT status FROM status_history WHERE case_id = cases.id ORDER BY at, id LIMIT 1) "
            "FROM cases WHERE id = ?",
            (change.case_id,),
        ).fetchone()
        level, case_type, channel, region, requester, authorized, first_status = source
        opened = _dt(when)
        new_id = self.create_case(
            subject,
            opened_at=opened,
            level=level,
            status=first_status or "New",
            channel=channel,
            region=region,
            case_type=case_type,
            requester=requester,
            requester_authorized=None if authorized is None else bool(authorized),
        )
        self._insert_link(new_id, "related", change.case_id)
        self._insert_link(change.case_id, "related", new_id)

    _HANDLERS: ClassVar[Mapping[ChangeKind, Callable[[LocalTracker, Change, str], None]]] = {
        ChangeKind.SET_FIELD: _do_set_field,
        ChangeKind.SET_LEVEL: _do_set_level,
        ChangeKind.ADD_TAG: _do_add_tag,
        ChangeKind.REMOVE_TAG: _do_remove_tag,
        ChangeKind.ADD_NOTE: _do_add_note,
        ChangeKind.SET_STATUS: _do_set_status,
        ChangeKind.ASSIGN_GROUP: _do_assign_group,
        ChangeKind.ADD_FOLLOWER: _do_add_follower,
        ChangeKind.LINK: _do_link,
        ChangeKind.OPEN_RELATED: _do_open_related,
    }

    def find_markers(self, case_ids: Sequence[str]) -> dict[str, set[str]]:
        """Keys from the markers table plus marker lines in the cases' internal notes, for many cases.

        Notes are searched too so that a note whose marker row was lost (or that a person copied by hand)
        still counts. Public comments are not: a customer must not be able to suppress an action by typing
        a marker into a reply.
        """
        found: dict[str, set[str]] = defaultdict(set)
        ids = list(dict.fromkeys(case_ids))
        with self._snapshot():
            for start in range(0, len(ids), 1000):
                page = json.dumps(ids[start : start + 1000])
                for case_id, key in self._conn.execute(
                    f"SELECT case_id, key FROM markers WHERE {_IN_PAGE}", (page,)
                ):
                    found[case_id].add(key)
                notes = self._conn.execute(
                    f"SELECT case_id, body FROM comments WHERE {_IN_PAGE} AND public = 0 AND instr(body, ?) > 0",
                    (page, "[" + MARKER_PREFIX),
                ).fetchall()
                for case_id, body in notes:
                    found[case_id].update(match.group(1) for match in _MARKER_LINE.finditer(body))
        return dict(found)

    # ------------------------------------------------------------------------- bootstrap and health

    def bootstrap_plan(self, needs: BootstrapNeeds) -> list[BootstrapStep]:
        """Fields and statuses the tracker must know; levels need nothing (stored by policy id)."""
        with self._lock:
            fields, statuses = self._known("known_fields"), self._known("known_statuses")
        steps = [
            BootstrapStep("field", f.name, f"{f.type.value} (stored as text)", exists=f.name in fields)
            for f in needs.fields
        ]
        steps += [
            BootstrapStep("status", st.name, f"category {st.category}", exists=st.name in statuses)
            for st in needs.statuses
        ]
        steps += [
            BootstrapStep("priority", level, "stored by policy id", exists=True) for level in needs.levels
        ]
        return steps

    def bootstrap_apply(self, steps: Sequence[BootstrapStep]) -> None:
        """Register the fields and statuses (safe to run twice); other kinds need nothing here."""
        when = _iso(self._clock())
        tables = {"field": "known_fields", "status": "known_statuses"}
        with self.transaction():
            for step in steps:
                table = tables.get(step.kind)
                if table is not None:
                    self._conn.execute(
                        f"INSERT OR IGNORE INTO {table} (name, created_at) VALUES (?, ?)", (step.name, when)
                    )

    def capabilities(self) -> Capabilities:
        return Capabilities(supported=frozenset(ChangeKind))

    def health(self) -> list[HealthCheck]:
        """File, schema and contents checks for ``casewarden doctor``."""
        try:
            with self._lock:
                mode = self._conn.execute("PRAGMA journal_mode").fetchone()[0]
                version = self._schema_version()
                cases = self._conn.execute("SELECT count(*) FROM cases").fetchone()[0]
                comments = self._conn.execute("SELECT count(*) FROM comments").fetchone()[0]
                statuses = self._conn.execute("SELECT count(*) FROM known_statuses").fetchone()[0]
        except sqlite3.Error as exc:
            return [HealthCheck("database", False, f"{self.path}: {exc}")]
        return [
            HealthCheck("database", True, f"{self.path} (journal mode {mode})"),
            HealthCheck(
                "schema", version == SCHEMA_VERSION, f"schema version {version} (expected {SCHEMA_VERSION})"
            ),
            HealthCheck(
                "contents",
                True,
                f"{cases} cases, {comments} comments, {statuses} known statuses"
                + ("" if statuses else " (statuses not checked until bootstrap)"),
            ),
        ]
