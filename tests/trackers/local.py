"""The embedded tracker under the shared suites."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from casewarden.connectors.base import Change, Connector
from casewarden.connectors.local import LocalTracker, UnknownOutcome
from casewarden.connectors.mapping import NameMap
from casewarden.errors import SkippableConnectorError
from tests.trackers import LEVELS, STATUSES


class LocalFaults:
    """Faults through the embedded tracker's fault hook, per case, until cleared."""

    def __init__(self) -> None:
        self.rules: dict[str, str] = {}

    def lose_answer(self, case_id: str) -> None:
        self.rules[case_id] = "lose_answer"

    def lose_request(self, case_id: str) -> None:
        self.rules[case_id] = "lose_request"

    def refuse(self, case_id: str) -> None:
        self.rules[case_id] = "refuse"

    def clear(self) -> None:
        self.rules.clear()

    def __call__(self, change: Change) -> Exception | None:
        rule = self.rules.get(change.case_id)
        if rule == "lose_answer":
            return UnknownOutcome(landed=True)
        if rule == "lose_request":
            return UnknownOutcome(landed=False)
        if rule == "refuse":
            return SkippableConnectorError(f"case {change.case_id}: validation failed")
        return None


class LocalHarness(LocalTracker):
    """The tracker side is the embedded tracker's own API, plus what the suites read back."""

    def note_bodies(self, case_id: str) -> list[str]:
        return [c.body for c in self.comments(case_id) if not c.public]


class LocalUnderTest:
    name = "local"
    history_page = 0

    def __init__(self, directory: Path, clock: Callable[[], datetime], page_size: int = 3) -> None:
        self.path = directory / "tracker.sqlite"
        self.clock = clock
        self.page_size = page_size
        self.faults = LocalFaults()
        self.harness = LocalHarness(self.path, clock=clock)
        self._made: list[Connector] = []

    def connector(self) -> Connector:
        conn = LocalTracker(
            self.path,
            page_size=self.page_size,
            clock=self.clock,
            fail=self.faults,
            names=NameMap(policy_levels=LEVELS, policy_statuses=list(STATUSES), identity=True),
        )
        self._made.append(conn)
        return conn

    def tracker_entry(self) -> str:
        return f"  - name: suite\n    type: local\n    settings: {{path: {self.path}, create: true}}\n"

    def close(self) -> None:
        for conn in self._made:
            conn.close()
        self.harness.close()


def make(directory: Path, clock: Callable[[], datetime]) -> LocalUnderTest:
    return LocalUnderTest(directory, clock)
