"""A deliberately wrong connector, kept to prove the shared suites catch what they must.

It is the embedded tracker with two faults a careless remote connector could have and still pass a
naive suite: it keeps its markers only in memory (so a restarted process finds none and would repeat
every side effect), and it silently ignores group assignment (answering "applied"). The suites run on it
(``CASEWARDEN_TEST_TRACKERS=wrong``) must fail; ``tests/test_suites_catch_wrong_connector.py`` checks
that they do.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import ClassVar

from casewarden.connectors.base import CaseChanges, Change, ChangeKind, ChangeResult, Connector
from casewarden.connectors.local import LocalTracker
from casewarden.connectors.mapping import NameMap
from tests.trackers import LEVELS, STATUSES
from tests.trackers.local import LocalUnderTest


class ForgetfulTracker(LocalTracker):
    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.memory: dict[str, set[str]] = {}

    def apply(self, batch: Sequence[CaseChanges]) -> list[ChangeResult]:
        results = super().apply(batch)
        for r in results:
            if r.ok and r.change.key:
                self.memory.setdefault(r.change.case_id, set()).add(r.change.key)
        return results

    def find_markers(self, case_ids: Sequence[str]) -> dict[str, set[str]]:
        return {cid: set(self.memory[cid]) for cid in case_ids if cid in self.memory}

    def _do_assign_group(self, change: Change, when: str) -> None:
        return None  # "applied", but nothing happens

    _HANDLERS: ClassVar[Mapping[ChangeKind, Callable[[LocalTracker, Change, str], None]]] = {
        **LocalTracker._HANDLERS,
        ChangeKind.ASSIGN_GROUP: _do_assign_group,  # type: ignore[dict-item]
    }


class WrongUnderTest(LocalUnderTest):
    name = "wrong"

    def connector(self) -> Connector:
        conn = ForgetfulTracker(
            self.path,
            page_size=self.page_size,
            clock=self.clock,
            fail=self.faults,
            names=NameMap(policy_levels=LEVELS, policy_statuses=list(STATUSES), identity=True),
        )
        self._made.append(conn)
        return conn


def make(directory: Path, clock: Callable[[], datetime]) -> WrongUnderTest:
    return WrongUnderTest(directory, clock)
