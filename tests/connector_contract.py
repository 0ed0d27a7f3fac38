"""The one contract every connector passes: the embedded tracker, and the Zendesk and Jira fakes.

Subclass :class:`ConnectorContract` in a ``Test...`` class and provide two fixtures, each fresh (an empty
tracker) for every test:

* ``connector``: the :class:`connectors.base.Connector` under test, built so that ``read_changed`` yields
  pages of at most :attr:`ConnectorContract.PAGE_SIZE` cases;
* ``harness``: an object with the tracker-side methods of :class:`Harness` (what a person does in the
  tracker's UI), speaking policy names: levels from :attr:`LEVELS`, statuses from :attr:`STATUSES`. For a
  remote tracker it writes to the fake server, translating names through the deployment mapping.

Override the class attributes when a tracker spells something differently (``MISSING_CASE_ID``). The
suite checks behaviour the sync engine relies on, not how a tracker stores it: normalized timelines in
time order, inclusive ``updated_at`` windows, paging, per-change results, markers, idempotent bootstrap.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import ClassVar, Protocol

import pytest

from casewarden.connectors.base import (
    BootstrapNeeds,
    BootstrapStep,
    Capabilities,
    Change,
    ChangeKind,
    Connector,
    HealthCheck,
    TrackerCase,
)
from casewarden.policy.case import Author, LevelChange, Link, Milestone, Reply, StatusChange

T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)


class Harness(Protocol):
    """The tracker-side operations the contract needs; instants are given, names are policy names."""

    def create_case(
        self,
        subject: str,
        *,
        opened_at: datetime,
        level: str,
        status: str = ...,
        channel: str | None = None,
        region: str | None = None,
        case_type: str | None = None,
        requester: str | None = None,
        requester_authorized: bool | None = None,
        provided: Iterable[str] = (),
        case_id: str | None = None,
    ) -> str: ...

    def add_comment(
        self, case_id: str, at: datetime, author: Author | str, body: str, public: bool = True
    ) -> None: ...

    def set_status(
        self, case_id: str, at: datetime, status: str, hold_until: datetime | None = None
    ) -> None: ...

    def set_level(self, case_id: str, at: datetime, level: str) -> None: ...

    def add_milestone(self, case_id: str, at: datetime, name: str) -> None: ...


def _until() -> datetime:
    """A window end past every write, including writes stamped by the tracker's own clock."""
    return datetime.now(UTC) + timedelta(days=1)


class ConnectorContract:
    """Shared connector tests; not collected itself (no ``Test`` prefix)."""

    PAGE_SIZE: ClassVar[int] = 3
    LEVELS: ClassVar[tuple[str, ...]] = ("S1", "S2", "S3", "S4")
    NEW: ClassVar[str] = "New"
    OPEN: ClassVar[str] = "Open"
    PENDING: ClassVar[str] = "Pending"
    SOLVED: ClassVar[str] = "Solved"
    STATUSES: ClassVar[tuple[str, ...]] = ("New", "Open", "Pending", "Solved")
    UNKNOWN_STATUS: ClassVar[str] = "No Such Status"
    FIELD: ClassVar[str] = "cw_next_due"
    MILESTONE: ClassVar[str] = "restoration"
    MISSING_CASE_ID: ClassVar[str] = "no-such-case"

    # ------------------------------------------------------------------------------------- helpers

    def needs(self) -> BootstrapNeeds:
        return BootstrapNeeds(fields=(self.FIELD,), statuses=self.STATUSES, levels=self.LEVELS)

    def bootstrap(self, connector: Connector) -> None:
        connector.bootstrap_apply(connector.bootstrap_plan(self.needs()))

    @staticmethod
    def read_all(
        connector: Connector, since: datetime | None = None, until: datetime | None = None
    ) -> list[TrackerCase]:
        return [tc for page in connector.read_changed(since, until or _until()) for tc in page]

    def read_one(self, connector: Connector, case_id: str) -> TrackerCase:
        found = connector.read_cases([case_id])
        assert [tc.case.id for tc in found] == [case_id]
        return found[0]

    def open_case(
        self, harness: Harness, subject: str = "Case", at: datetime = T0, level: str | None = None
    ) -> str:
        """A case that an agent answered and moved to the open status."""
        case_id = harness.create_case(subject, opened_at=at, level=level or self.LEVELS[2], status=self.NEW)
        harness.add_comment(case_id, at + MINUTE, Author.AGENT, "Looking into it.")
        harness.set_status(case_id, at + 2 * MINUTE, self.OPEN)
        return case_id

    def apply_ok(self, connector: Connector, *changes: Change) -> None:
        results = connector.apply(list(changes))
        assert [(r.change, r.ok) for r in results] == [(c, True) for c in changes], results

    @staticmethod
    def ids(cases: Sequence[TrackerCase]) -> list[str]:
        return [tc.case.id for tc in cases]

    # ----------------------------------------------------------------------------------- read path

    def test_created_case_reads_back_with_its_timeline(self, connector: Connector, harness: Harness) -> None:
        level_a, level_b = self.LEVELS[2], self.LEVELS[1]
        case_id = harness.create_case(
            "Printer on fire",
            opened_at=T0,
            level=level_a,
            status=self.NEW,
            channel="email",
            region="emea",
            requester="ann@example.com",
            requester_authorized=True,
            provided=("description", "logs"),
        )
        harness.add_comment(case_id, T0 + 1 * MINUTE, Author.CUSTOMER, "More details.")
        harness.add_comment(case_id, T0 + 10 * MINUTE, Author.AGENT, "Looking into it.")
        harness.set_status(case_id, T0 + 11 * MINUTE, self.OPEN)
        harness.set_level(case_id, T0 + 20 * MINUTE, level_b)
        harness.add_comment(case_id, T0 + 30 * MINUTE, Author.AGENT, "Checked the logs.", public=False)
        harness.set_status(case_id, T0 + 40 * MINUTE, self.PENDING)
        harness.add_milestone(case_id, T0 + 50 * MINUTE, self.MILESTONE)

        [tracker_case] = [tc for tc in self.read_all(connector) if tc.case.id == case_id]
        case = tracker_case.case
        assert case.opened_at == T0
        assert case.level_history == (LevelChange(T0, level_a), LevelChange(T0 + 20 * MINUTE, level_b))
        assert case.status_history == (
            StatusChange(T0, self.NEW),
            StatusChange(T0 + 11 * MINUTE, self.OPEN),
            StatusChange(T0 + 40 * MINUTE, self.PENDING),
        )
        assert case.level == level_b and case.status == self.PENDING
        # A tracker may store the opening description as a customer comment at T0; later ones must match.
        assert [r for r in case.replies if r.at > T0] == [
            Reply(T0 + 1 * MINUTE, Author.CUSTOMER, True),
            Reply(T0 + 10 * MINUTE, Author.AGENT, True),
            Reply(T0 + 30 * MINUTE, Author.AGENT, False),
        ]
        assert case.milestones == (Milestone(T0 + 50 * MINUTE, self.MILESTONE),)
        assert case.updated_at == T0 + 50 * MINUTE
        assert (case.channel, case.region, case.requester) == ("email", "emea", "ann@example.com")
        assert case.requester_authorized in (True, None)
        assert case.provided == frozenset({"description", "logs"})
        assert tracker_case.url and tracker_case.problems == ()

    def test_instants_are_timezone_aware(self, connector: Connector, harness: Harness) -> None:
        case_id = self.open_case(harness)
        case = self.read_one(connector, case_id).case
        instants = [case.opened_at, case.updated_at] + [c.at for c in case.status_history]
        instants += [c.at for c in case.level_history] + [r.at for r in case.replies]
        assert all(at is not None and at.utcoffset() == timedelta(0) for at in instants)

    def test_read_changed_window_is_inclusive(self, connector: Connector, harness: Harness) -> None:
        first, second, third = (
            harness.create_case(f"Case {n}", opened_at=T0 + n * HOUR, level=self.LEVELS[3], status=self.NEW)
            for n in (1, 2, 3)
        )
        at_two = T0 + 2 * HOUR
        assert self.ids(self.read_all(connector, at_two, at_two)) == [second]
        assert self.ids(self.read_all(connector, None, at_two)) == [first, second]
        assert self.ids(self.read_all(connector, at_two + timedelta(seconds=1), T0 + 3 * HOUR)) == [third]
        assert self.read_all(connector, T0 + 4 * HOUR, T0 + 5 * HOUR) == []

    def test_read_changed_follows_later_activity(self, connector: Connector, harness: Harness) -> None:
        early = harness.create_case("Early", opened_at=T0, level=self.LEVELS[3], status=self.NEW)
        late = harness.create_case("Late", opened_at=T0 + HOUR, level=self.LEVELS[3], status=self.NEW)
        harness.add_comment(early, T0 + 2 * HOUR, Author.CUSTOMER, "Hello?")
        assert self.ids(self.read_all(connector)) == [late, early]
        assert self.ids(self.read_all(connector, T0 + 90 * MINUTE)) == [early]

    def test_read_changed_pages(self, connector: Connector, harness: Harness) -> None:
        count = 2 * self.PAGE_SIZE + 1
        created = {
            harness.create_case(f"Case {n}", opened_at=T0 + n * MINUTE, level=self.LEVELS[3], status=self.NEW)
            for n in range(count)
        }
        pages = list(connector.read_changed(None, _until()))
        assert len(pages) >= 3
        assert all(1 <= len(page) <= self.PAGE_SIZE for page in pages)
        cases = [tc.case for page in pages for tc in page]
        assert sorted(c.id for c in cases) == sorted(created)
        stamps = [c.updated_at or T0 for c in cases]
        assert stamps == sorted(stamps)

    def test_read_cases(self, connector: Connector, harness: Harness) -> None:
        first = self.open_case(harness, "First")
        second = self.open_case(harness, "Second", at=T0 + HOUR)
        found = connector.read_cases([second, self.MISSING_CASE_ID, first])
        assert set(self.ids(found)) == {first, second}
        by_id = {tc.case.id: tc.case for tc in self.read_all(connector)}
        assert all(tc.case == by_id[tc.case.id] for tc in found)
        assert connector.read_cases([]) == []

    # ---------------------------------------------------------------------------------- write path

    def kind_supported(self, connector: Connector, kind: ChangeKind) -> None:
        if kind not in connector.capabilities().supported:
            pytest.skip(f"{connector.name} does not support {kind}")

    def test_set_field_and_clear_it(self, connector: Connector, harness: Harness) -> None:
        self.kind_supported(connector, ChangeKind.SET_FIELD)
        self.bootstrap(connector)
        case_id = self.open_case(harness)
        self.apply_ok(
            connector, Change(case_id, ChangeKind.SET_FIELD, "2025-03-04T09:00:00Z", field=self.FIELD)
        )
        assert self.read_one(connector, case_id).fields[self.FIELD] == "2025-03-04T09:00:00Z"
        self.apply_ok(connector, Change(case_id, ChangeKind.SET_FIELD, None, field=self.FIELD))
        assert self.read_one(connector, case_id).fields.get(self.FIELD) is None

    def test_set_level(self, connector: Connector, harness: Harness) -> None:
        self.kind_supported(connector, ChangeKind.SET_LEVEL)
        self.bootstrap(connector)
        case_id = self.open_case(harness, level=self.LEVELS[2])
        self.apply_ok(connector, Change(case_id, ChangeKind.SET_LEVEL, self.LEVELS[0]))
        case = self.read_one(connector, case_id).case
        assert [c.level for c in case.level_history] == [self.LEVELS[2], self.LEVELS[0]]
        assert case.level_history[-1].at >= case.level_history[0].at

    def test_add_and_remove_tag(self, connector: Connector, harness: Harness) -> None:
        self.kind_supported(connector, ChangeKind.ADD_TAG)
        self.bootstrap(connector)
        case_id = self.open_case(harness)
        self.apply_ok(connector, Change(case_id, ChangeKind.ADD_TAG, "cw_breached"))
        assert "cw_breached" in self.read_one(connector, case_id).tags
        if ChangeKind.REMOVE_TAG in connector.capabilities().supported:
            self.apply_ok(connector, Change(case_id, ChangeKind.REMOVE_TAG, "cw_breached"))
            assert "cw_breached" not in self.read_one(connector, case_id).tags

    def test_note_is_an_internal_reply_with_a_marker(self, connector: Connector, harness: Harness) -> None:
        self.kind_supported(connector, ChangeKind.ADD_NOTE)
        self.bootstrap(connector)
        case_id = self.open_case(harness)
        before = self.read_one(connector, case_id).case.replies
        self.apply_ok(
            connector, Change(case_id, ChangeKind.ADD_NOTE, "Escalated to level 2.", key=f"{case_id}:n:1")
        )
        after = self.read_one(connector, case_id).case.replies
        assert after[: len(before)] == before
        [note] = after[len(before) :]
        assert (note.author, note.public) == (Author.AGENT, False)
        assert f"{case_id}:n:1" in connector.find_markers(case_id)

    def test_set_status(self, connector: Connector, harness: Harness) -> None:
        self.kind_supported(connector, ChangeKind.SET_STATUS)
        self.bootstrap(connector)
        case_id = self.open_case(harness)
        self.apply_ok(connector, Change(case_id, ChangeKind.SET_STATUS, self.PENDING))
        case = self.read_one(connector, case_id).case
        assert case.status == self.PENDING
        assert [c.status for c in case.status_history] == [self.NEW, self.OPEN, self.PENDING]

    @pytest.mark.parametrize("kind", [ChangeKind.ASSIGN_GROUP, ChangeKind.ADD_FOLLOWER])
    def test_assignment_changes_are_accepted(
        self, connector: Connector, harness: Harness, kind: ChangeKind
    ) -> None:
        self.kind_supported(connector, kind)
        self.bootstrap(connector)
        case_id = self.open_case(harness)
        self.apply_ok(connector, Change(case_id, kind, "duty-manager@example.com"))

    def test_link(self, connector: Connector, harness: Harness) -> None:
        self.kind_supported(connector, ChangeKind.LINK)
        self.bootstrap(connector)
        duplicate, original = self.open_case(harness, "Duplicate"), self.open_case(harness, "Original")
        self.apply_ok(connector, Change(duplicate, ChangeKind.LINK, original, field="duplicate_of"))
        assert Link("duplicate_of", original) in self.read_one(connector, duplicate).case.links

    def test_open_related(self, connector: Connector, harness: Harness) -> None:
        self.kind_supported(connector, ChangeKind.OPEN_RELATED)
        self.bootstrap(connector)
        source = self.open_case(harness)
        self.apply_ok(
            connector, Change(source, ChangeKind.OPEN_RELATED, "Follow-up", key=f"{source}:related:1")
        )
        others = [tc.case for tc in self.read_all(connector) if tc.case.id != source]
        assert [Link("related", source) in case.links for case in others] == [True]
        assert f"{source}:related:1" in connector.find_markers(source)

    def test_apply_makes_the_case_show_as_changed(self, connector: Connector, harness: Harness) -> None:
        self.bootstrap(connector)
        case_id = self.open_case(harness)
        last = self.read_one(connector, case_id).case.updated_at
        assert last is not None
        self.apply_ok(connector, Change(case_id, ChangeKind.ADD_TAG, "cw_touched"))
        assert self.ids(self.read_all(connector, last + timedelta(seconds=1))) == [case_id]

    def test_a_bad_change_fails_alone(self, connector: Connector, harness: Harness) -> None:
        self.bootstrap(connector)
        case_id = self.open_case(harness)
        changes = [
            Change(case_id, ChangeKind.ADD_TAG, "cw_first"),
            Change(self.MISSING_CASE_ID, ChangeKind.ADD_TAG, "cw_lost"),
            Change(case_id, ChangeKind.SET_STATUS, self.UNKNOWN_STATUS, key=f"{case_id}:bad-status"),
            Change(case_id, ChangeKind.ADD_TAG, "cw_last"),
        ]
        results = connector.apply(changes)
        assert [r.change for r in results] == changes
        assert [r.ok for r in results] == [True, False, False, True]
        assert all(r.error for r in results if not r.ok)
        tracker_case = self.read_one(connector, case_id)
        assert {"cw_first", "cw_last"} <= tracker_case.tags
        assert tracker_case.case.status == self.OPEN
        assert f"{case_id}:bad-status" not in connector.find_markers(case_id)

    def test_empty_batch(self, connector: Connector) -> None:
        assert connector.apply([]) == []

    def test_markers_are_found_per_case(self, connector: Connector, harness: Harness) -> None:
        self.bootstrap(connector)
        case_id, other = self.open_case(harness), self.open_case(harness, "Other")
        assert connector.find_markers(case_id) == set()
        self.apply_ok(
            connector,
            Change(case_id, ChangeKind.ADD_NOTE, "Breach warning.", key=f"{case_id}:warn:1:0"),
            Change(case_id, ChangeKind.SET_STATUS, self.PENDING, key=f"{case_id}:pending:1:0"),
        )
        assert {f"{case_id}:warn:1:0", f"{case_id}:pending:1:0"} <= connector.find_markers(case_id)
        assert connector.find_markers(other) == set()

    # ------------------------------------------------------------------------ bootstrap and health

    def test_bootstrap_is_idempotent(self, connector: Connector) -> None:
        plan = connector.bootstrap_plan(self.needs())
        assert all(isinstance(step, BootstrapStep) for step in plan)
        assert {self.FIELD, *self.STATUSES} <= {step.name for step in plan}
        connector.bootstrap_apply(plan)
        again = connector.bootstrap_plan(self.needs())
        assert all(step.exists for step in again), [s for s in again if not s.exists]
        connector.bootstrap_apply(again)
        assert connector.bootstrap_plan(self.needs()) == again

    def test_health_and_capabilities(self, connector: Connector) -> None:
        checks = connector.health()
        assert checks and all(isinstance(c, HealthCheck) for c in checks)
        assert all(c.ok for c in checks), checks
        capabilities = connector.capabilities()
        assert isinstance(capabilities, Capabilities)
        assert capabilities.supported <= frozenset(ChangeKind)
