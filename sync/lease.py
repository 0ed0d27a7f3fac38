"""Keeping the runner's lease while a cycle runs, however long it takes.

Two runners on one deployment must never overlap: the engine takes a lease in the state store before a
cycle. A remote cycle can outlast any fixed lease (a first run over 100,000 tickets at Zendesk's rate
limit takes hours), so while a cycle runs a background thread renews the lease every third of its
lifetime, over its own SQLite connection (a connection must not be shared across threads mid-
transaction). Should the lease ever be lost (the process was suspended past its expiry and another runner
took over) the keeper says so, and the engine stops the cycle before its next write.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType

log = logging.getLogger("casewarden.lease")


def _iso(t: datetime) -> str:
    return t.astimezone(UTC).isoformat(timespec="microseconds")


class LeaseKeeper:
    def __init__(
        self,
        path: Path,
        name: str,
        holder: str,
        ttl_seconds: float,
        clock: Callable[[], datetime],
        *,
        every: float | None = None,
    ) -> None:
        self.path = path
        self.name = name
        self.holder = holder
        self.ttl = ttl_seconds
        self.clock = clock
        self.every = every if every is not None else max(ttl_seconds / 3, 0.05)
        self.renewals = 0
        self._lost = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def lost(self) -> bool:
        return self._lost.is_set()

    def renew(self) -> bool:
        """One renewal; False (and ``lost``) when the lease is no longer ours."""
        now = self.clock()
        expires = datetime.fromtimestamp(now.timestamp() + self.ttl, UTC)
        try:
            db = sqlite3.connect(self.path, timeout=5.0)
            try:
                with db:
                    cur = db.execute(
                        "UPDATE lease SET expires_at = ? WHERE name = ? AND holder = ?",
                        (_iso(expires), self.name, self.holder),
                    )
                ok = cur.rowcount == 1
            finally:
                db.close()
        except sqlite3.Error as exc:  # busy for a moment: try again at the next tick
            log.warning("could not renew the lease on %s: %s", self.name, exc)
            return True
        self.renewals += 1
        if not ok:
            log.error("the lease on %s was lost: another runner holds it now", self.name)
            self._lost.set()
        return ok

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            if not self.renew():
                return

    def __enter__(self) -> LeaseKeeper:
        self._thread = threading.Thread(target=self._run, name="casewarden-lease", daemon=True)
        self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
