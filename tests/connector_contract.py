"""The contract every connector passes, through the Connector API only (contract version 2).

Subclass :class:`ConnectorContract` in a ``Test...`` class whose module provides a ``tut`` fixture (a
:class:`tests.trackers.TrackerUnderTest`, fresh and empty for every test); ``tests/test_contract.py``
does it for every factory in :mod:`tests.trackers`. The suite checks what the sync engine relies on, not
how a tracker stores it: whole timelines in time order (also for histories longer than one page of the
tracker's history API, and when an incremental read carries only changes), opaque JSON resume points that
lose nothing across pages and restarts, deleted and merged cases reported, per-change outcomes (applied,
refused with a reason, unknown when the answer or the request is lost) and settling them, changes that
really take effect (a connector that answers "applied" and does nothing fails), markers found in bulk and
by a fresh connector instance, capabilities that tell the truth, idempotent bootstrap.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta

import pytest

from casewarden.connectors.base import (
    BootstrapNeeds,
    BootstrapStep,
    Capabilities,
    CaseChanges,
    Change,
    ChangeKind,
    ChangeResult,
    Connector,
    FieldType,
    HealthCheck,
    NeededField,
    NeededStatus,
    Outcome,
    Page,
    Pending,
    Resume,
    TrackerCase,
)
from casewarden.policy.case import Author, LevelChange, Link, Milestone, Reply, StatusChange
from tests.trackers import LEVELS, STATUSES, TrackerUnderTest

T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)
NEW, OPEN, PENDING, SOLVED = "New", "Open", "Pending", "Solved"
FIELD = "cw_next_due"
TAGS_FIELD = "cw_breached"
MILESTONE = "restoration"
MISSING_CASE_ID = "999999999"


def until() -> datetime:
    """A window end past every write, including writes stamped by the tracker's own clock."""
    return datetime.now(UTC) + timedelta(days=1)


def needs() -> BootstrapNeeds:
    return BootstrapNeeds(
        fields=(
            NeededField(FIELD, FieldType.DATETIME, purpose="contract"),
            NeededField(TAGS_FIELD, FieldType.TEXT, purpose="contract"),
        ),
        statuses=tuple(NeededStatus(name, cat, name) for name, cat in STATUSES.items()),
        levels=LEVELS,
    )


class Reader:
    """Reads like the engine does: resumes where the last read stopped and knows what it read before
    (the ``known`` cases a connector may complete incremental reads from)."""

    def __init__(self) -> None:
        self.resume: Resume | None = None
        self.known: dict[str, TrackerCase] = {}

    def lookup(self, ids: Sequence[str]) -> Mapping[str, TrackerCase]:
        return {i: self.known[i] for i in ids if i in self.known}

    def pages(self, connector: Connector, *, up_to: datetime | None = None) -> Iterator[Page]:
        for page in connector.read_changed(self.resume, up_to or until(), self.lookup):
            json.dumps(page.resume)  # opaque, but JSON: the engine stores it as text
            for tc in page.cases:
                self.known[tc.case.id] = tc
            if page.resume is not None:
                self.resume = page.resume
            yield page

    def read(self, connector: Connector) -> list[TrackerCase]:
        return [tc for page in self.pages(connector) for tc in page.cases]


class ConnectorContract:
    """Shared connector tests; not collected itself (no ``Test`` prefix)."""

    # ------------------------------------------------------------------------------------- helpers

    @staticmethod
    def bootstrap(connector: Connector) -> None:
        connector.bootstrap_apply(connector.bootstrap_plan(needs()))

    @staticmethod
    def read_all(connector: Connector) -> list[TrackerCase]:
        return Reader().read(connector)

    @staticmethod
    def read_one(connector: Connector, case_id: str) -> TrackerCase:
        found = connector.read_cases([case_id])
        assert [tc.case.id for tc in found] == [case_id]
        return found[0]

    @staticmethod
    def open_case(
        tut: TrackerUnderTest, subject: str = "Case", at: datetime = T0, level: str | None = None
    ) -> str:
        """A case that an agent answered and moved to the open status."""
        h = tut.harness
        case_id = h.create_case(subject, opened_at=at, level=level or LEVELS[2], status=NEW)
        h.add_comment(case_id, at + MINUTE, Author.AGENT, "Looking into it.")
        h.set_status(case_id, at + 2 * MINUTE, OPEN)
        return case_id

    @staticmethod
    def apply(connector: Connector, *changes: Change) -> list[ChangeResult]:
        grouped: dict[str, list[Change]] = {}
        for c in changes:
            grouped.setdefault(c.case_id, []).append(c)
        results = connector.apply([CaseChanges(cid, tuple(cs)) for cid, cs in grouped.items()])
        assert [r.change for r in results] == [c for cs in grouped.values() for c in cs]
        return results

    def apply_ok(self, connector: Connector, *changes: Change) -> None:
        results = self.apply(connector, *changes)
        assert sorted(r.change.key or "" for r in results) == sorted(c.key or "" for c in changes)
        assert all(r.outcome is Outcome.APPLIED for r in results), results

    @staticmethod
    def ids(cases: Sequence[TrackerCase]) -> list[str]:
        return [tc.case.id for tc in cases]

    @staticmethod
    def supported(connector: Connector, kind: ChangeKind) -> None:
        if kind not in connector.capabilities().supported:
            pytest.skip(f"{type(connector).__name__} does not support {kind}")

    # ----------------------------------------------------------------------------------- read path

    def test_created_case_reads_back_with_its_timeline(self, tut: TrackerUnderTest) -> None:
        h = tut.harness
        level_a, level_b = LEVELS[2], LEVELS[1]
        case_id = h.create_case(
            "Printer on fire",
            opened_at=T0,
            level=level_a,
            status=NEW,
            channel="email",
            region="emea",
            requester="ann@example.com",
            requester_authorized=True,
            provided=("description", "logs"),
        )
        h.add_comment(case_id, T0 + 1 * MINUTE, Author.CUSTOMER, "More details.")
        h.add_comment(case_id, T0 + 10 * MINUTE, Author.AGENT, "Looking into it.")
        h.set_status(case_id, T0 + 11 * MINUTE, OPEN)
        h.set_level(case_id, T0 + 20 * MINUTE, level_b)
        h.add_comment(case_id, T0 + 30 * MINUTE, Author.AGENT, "Checked the logs.", public=False)
        h.set_status(case_id, T0 + 40 * MINUTE, PENDING)
        h.add_milestone(case_id, T0 + 50 * MINUTE, MILESTONE)

        [tracker_case] = [tc for tc in self.read_all(tut.connector()) if tc.case.id == case_id]
        case = tracker_case.case
        assert case.opened_at == T0
        assert case.level_history == (LevelChange(T0, level_a), LevelChange(T0 + 20 * MINUTE, level_b))
        assert case.status_history == (
            StatusChange(T0, NEW),
            StatusChange(T0 + 11 * MINUTE, OPEN),
            StatusChange(T0 + 40 * MINUTE, PENDING),
        )
        assert case.level == level_b and case.status == PENDING
        # A tracker may store the opening description as a customer comment at T0; later ones must match.
        assert [r for r in case.replies if r.at > T0] == [
            Reply(T0 + 1 * MINUTE, Author.CUSTOMER, True),
            Reply(T0 + 10 * MINUTE, Author.AGENT, True),
            Reply(T0 + 30 * MINUTE, Author.AGENT, False),
        ]
        assert case.milestones == (Milestone(T0 + 50 * MINUTE, MILESTONE),)
        assert case.updated_at is not None and case.updated_at >= T0 + 50 * MINUTE
        assert (case.channel, case.region, case.requester) == ("email", "emea", "ann@example.com")
        assert case.requester_authorized in (True, None)
        assert case.provided == frozenset({"description", "logs"})
        assert tracker_case.url and tracker_case.problems == ()

    def test_instants_are_utc(self, tut: TrackerUnderTest) -> None:
        case_id = self.open_case(tut)
        case = self.read_one(tut.connector(), case_id).case
        instants = [case.opened_at, case.updated_at] + [c.at for c in case.status_history]
        instants += [c.at for c in case.level_history] + [r.at for r in case.replies]
        assert all(at is not None and at.utcoffset() == timedelta(0) for at in instants)

    def test_a_resumed_read_returns_only_what_changed(self, tut: TrackerUnderTest) -> None:
        h = tut.harness
        early = h.create_case("Early", opened_at=T0, level=LEVELS[3], status=NEW)
        late = h.create_case("Late", opened_at=T0 + HOUR, level=LEVELS[3], status=NEW)
        reader = Reader()
        assert set(self.ids(reader.read(tut.connector()))) == {early, late}
        assert reader.resume is not None, "a read that returned cases leaves a resume point"
        assert reader.read(tut.connector()) == [], "nothing changed: nothing read"
        h.add_comment(early, T0 + 2 * HOUR, Author.CUSTOMER, "Hello?")
        again = reader.read(tut.connector())
        assert self.ids(again) == [early]
        assert [r.at for r in again[0].case.replies][-1] == T0 + 2 * HOUR

    def test_reads_page_and_resume_from_any_page_without_loss(self, tut: TrackerUnderTest) -> None:
        count = 2 * tut.page_size + 1
        created = {
            tut.harness.create_case(f"Case {n}", opened_at=T0 + n * MINUTE, level=LEVELS[3], status=NEW)
            for n in range(count)
        }
        reader = Reader()
        pages = [p for p in reader.pages(tut.connector()) if p.cases]
        assert len(pages) >= 3
        assert all(1 <= len(page.cases) <= tut.page_size for page in pages)
        assert sorted(tc.case.id for p in pages for tc in p.cases) == sorted(created)
        # a process that stopped after the first page resumes from that page's resume point: a fresh
        # connector reads exactly the rest
        resumed = Reader()
        resumed.resume = pages[0].resume
        rest = resumed.read(tut.connector())
        assert sorted({tc.case.id for tc in pages[0].cases} | set(self.ids(rest))) == sorted(created)
        assert not {tc.case.id for tc in pages[0].cases} & set(self.ids(rest)), "nothing read twice"

    def test_many_cases_changed_at_one_instant_are_all_read(self, tut: TrackerUnderTest) -> None:
        at = T0 + HOUR
        created = [
            tut.harness.create_case(f"Tie {n}", opened_at=at, level=LEVELS[3], status=NEW)
            for n in range(2 * tut.page_size + 2)
        ]
        reader = Reader()
        first = next(p for p in reader.pages(tut.connector()) if p.cases)
        rest = Reader()
        rest.resume = first.resume
        seen = [tc.case.id for tc in first.cases] + self.ids(rest.read(tut.connector()))
        assert sorted(seen) == sorted(created)

    def test_read_cases(self, tut: TrackerUnderTest) -> None:
        first = self.open_case(tut, "First")
        second = self.open_case(tut, "Second", at=T0 + HOUR)
        connector = tut.connector()
        found = connector.read_cases([second, MISSING_CASE_ID, first])
        assert set(self.ids(found)) == {first, second}
        by_id = {tc.case.id: tc.case for tc in self.read_all(connector)}
        assert all(tc.case == by_id[tc.case.id] for tc in found)
        assert connector.read_cases([]) == []

    def test_a_history_longer_than_one_page_is_whole(self, tut: TrackerUnderTest) -> None:
        """More status changes and comments than one page of the tracker's history API, read first in
        full and then incrementally (only the new entries changed): evaluation sees the whole timeline."""
        h = tut.harness
        n = max(tut.history_page, 10) + 5
        case_id = h.create_case("Long story", opened_at=T0, level=LEVELS[2], status=NEW)
        expected = [NEW]
        for i in range(n):
            status = OPEN if i % 2 == 0 else PENDING
            h.set_status(case_id, T0 + (2 * i + 1) * MINUTE, status)
            h.add_comment(
                case_id, T0 + (2 * i + 2) * MINUTE, Author.AGENT if i % 2 else Author.CUSTOMER, f"#{i}"
            )
            expected.append(status)
        reader = Reader()
        [first] = [tc for tc in reader.read(tut.connector()) if tc.case.id == case_id]
        assert [s.status for s in first.case.status_history] == expected
        assert len([r for r in first.case.replies if r.at > T0]) == n
        later = T0 + (2 * n + 5) * MINUTE
        h.set_status(case_id, later, SOLVED)
        [second] = [tc for tc in reader.read(tut.connector()) if tc.case.id == case_id]
        assert [s.status for s in second.case.status_history] == [*expected, SOLVED]
        assert second.case.replies == first.case.replies
        assert second.case.status_history[-1].at == later

    def test_deleted_and_merged_cases_are_reported_gone(self, tut: TrackerUnderTest) -> None:
        h = tut.harness
        keep, doomed, merged = (self.open_case(tut, name) for name in ("Keep", "Doomed", "Merged"))
        reader = Reader()
        reader.read(tut.connector())
        h.delete_case(doomed, T0 + HOUR)
        h.merge_case(merged, keep, T0 + HOUR)
        gone = {}
        cases = []
        for page in reader.pages(tut.connector()):
            gone.update({g.case_id: g for g in page.gone})
            cases += page.cases
        assert gone[doomed].reason == "deleted"
        assert (gone[merged].reason, gone[merged].into) == ("merged", keep)
        assert doomed not in self.ids(cases) and merged not in self.ids(cases)
        assert tut.connector().read_cases([doomed]) == []

    # ---------------------------------------------------------------------------------- write path

    def test_set_field_and_clear_it(self, tut: TrackerUnderTest) -> None:
        connector = tut.connector()
        self.supported(connector, ChangeKind.SET_FIELD)
        self.bootstrap(connector)
        case_id = self.open_case(tut)
        self.apply_ok(connector, Change(case_id, ChangeKind.SET_FIELD, "2025-03-04T09:00:00Z", field=FIELD))
        assert self.read_one(tut.connector(), case_id).fields[FIELD] == "2025-03-04T09:00:00Z"
        self.apply_ok(connector, Change(case_id, ChangeKind.SET_FIELD, None, field=FIELD))
        assert self.read_one(tut.connector(), case_id).fields.get(FIELD) is None

    def test_set_level(self, tut: TrackerUnderTest) -> None:
        connector = tut.connector()
        self.supported(connector, ChangeKind.SET_LEVEL)
        self.bootstrap(connector)
        case_id = self.open_case(tut, level=LEVELS[2])
        self.apply_ok(connector, Change(case_id, ChangeKind.SET_LEVEL, LEVELS[0]))
        case = self.read_one(tut.connector(), case_id).case
        assert [c.level for c in case.level_history] == [LEVELS[2], LEVELS[0]]
        assert case.level_history[-1].at >= case.level_history[0].at

    def test_tags_are_added_and_removed_without_touching_others(self, tut: TrackerUnderTest) -> None:
        connector = tut.connector()
        self.supported(connector, ChangeKind.ADD_TAG)
        self.bootstrap(connector)
        case_id = self.open_case(tut)
        self.apply_ok(connector, Change(case_id, ChangeKind.ADD_TAG, "someone-elses-tag"))
        self.apply_ok(connector, Change(case_id, ChangeKind.ADD_TAG, "cw_breached"))
        assert {"cw_breached", "someone-elses-tag"} <= self.read_one(tut.connector(), case_id).tags
        if ChangeKind.REMOVE_TAG in connector.capabilities().supported:
            self.apply_ok(connector, Change(case_id, ChangeKind.REMOVE_TAG, "cw_breached"))
            tags = self.read_one(tut.connector(), case_id).tags
            assert "cw_breached" not in tags and "someone-elses-tag" in tags

    def test_note_is_an_internal_reply_with_a_marker(self, tut: TrackerUnderTest) -> None:
        connector = tut.connector()
        self.supported(connector, ChangeKind.ADD_NOTE)
        self.bootstrap(connector)
        case_id = self.open_case(tut)
        before = self.read_one(connector, case_id).case.replies
        key = f"{case_id}:n:1"
        self.apply_ok(connector, Change(case_id, ChangeKind.ADD_NOTE, "Escalated to level 2.", key=key))
        after = self.read_one(tut.connector(), case_id).case.replies
        assert after[: len(before)] == before
        [note] = after[len(before) :]
        assert (note.author, note.public) == (Author.AGENT, False)
        assert key in tut.connector().find_markers([case_id]).get(case_id, set())
        assert any("Escalated to level 2." in body for body in tut.harness.note_bodies(case_id))

    def test_set_status(self, tut: TrackerUnderTest) -> None:
        connector = tut.connector()
        self.supported(connector, ChangeKind.SET_STATUS)
        self.bootstrap(connector)
        case_id = self.open_case(tut)
        self.apply_ok(connector, Change(case_id, ChangeKind.SET_STATUS, PENDING))
        case = self.read_one(tut.connector(), case_id).case
        assert case.status == PENDING
        assert [c.status for c in case.status_history] == [NEW, OPEN, PENDING]

    def test_group_assignment_takes_effect(self, tut: TrackerUnderTest) -> None:
        connector = tut.connector()
        self.supported(connector, ChangeKind.ASSIGN_GROUP)
        self.bootstrap(connector)
        case_id = self.open_case(tut)
        self.apply_ok(connector, Change(case_id, ChangeKind.ASSIGN_GROUP, "Tier 2"))
        assert tut.harness.assigned_group(case_id) == "Tier 2"

    def test_a_follower_is_added(self, tut: TrackerUnderTest) -> None:
        connector = tut.connector()
        self.supported(connector, ChangeKind.ADD_FOLLOWER)
        self.bootstrap(connector)
        case_id = self.open_case(tut)
        self.apply_ok(connector, Change(case_id, ChangeKind.ADD_FOLLOWER, "duty-manager@example.com"))
        assert "duty-manager@example.com" in tut.harness.followers(case_id)

    def test_link(self, tut: TrackerUnderTest) -> None:
        connector = tut.connector()
        self.supported(connector, ChangeKind.LINK)
        self.bootstrap(connector)
        duplicate, original = self.open_case(tut, "Duplicate"), self.open_case(tut, "Original")
        change = Change(duplicate, ChangeKind.LINK, original, field="duplicate_of")
        if connector.capabilities().refusal(change):
            pytest.skip("this tracker cannot make duplicate links")
        self.apply_ok(connector, change)
        assert Link("duplicate_of", original) in self.read_one(tut.connector(), duplicate).case.links

    def test_open_related(self, tut: TrackerUnderTest) -> None:
        connector = tut.connector()
        self.supported(connector, ChangeKind.OPEN_RELATED)
        self.bootstrap(connector)
        source = self.open_case(tut)
        key = f"{source}:related:1"
        self.apply_ok(connector, Change(source, ChangeKind.OPEN_RELATED, "Follow-up", key=key))
        others = [tc.case for tc in self.read_all(tut.connector()) if tc.case.id != source]
        assert [Link("related", source) in case.links for case in others] == [True]
        assert key in tut.connector().find_markers([source]).get(source, set())

    def test_a_write_makes_the_case_read_again(self, tut: TrackerUnderTest) -> None:
        connector = tut.connector()
        self.bootstrap(connector)
        case_id = self.open_case(tut)
        other = self.open_case(tut, "Other")
        reader = Reader()
        reader.read(connector)
        self.apply_ok(connector, Change(case_id, ChangeKind.ADD_TAG, "cw_touched"))
        assert self.ids(reader.read(tut.connector())) == [case_id]
        assert other

    def test_one_case_changes_travel_together(self, tut: TrackerUnderTest) -> None:
        connector = tut.connector()
        self.bootstrap(connector)
        case_id = self.open_case(tut)
        self.apply_ok(
            connector,
            Change(case_id, ChangeKind.SET_FIELD, "2025-03-04T09:00:00Z", field=FIELD),
            Change(case_id, ChangeKind.ADD_TAG, "cw_one"),
            Change(case_id, ChangeKind.SET_STATUS, PENDING, key=f"{case_id}:move:1"),
            Change(case_id, ChangeKind.ADD_NOTE, "Waiting for you.", key=f"{case_id}:note:1"),
        )
        tc = self.read_one(tut.connector(), case_id)
        assert (
            tc.fields[FIELD] == "2025-03-04T09:00:00Z" and "cw_one" in tc.tags and tc.case.status == PENDING
        )
        markers = tut.connector().find_markers([case_id])[case_id]
        assert {f"{case_id}:move:1", f"{case_id}:note:1"} <= markers

    def test_a_bad_change_is_refused_with_a_reason_and_fails_alone(self, tut: TrackerUnderTest) -> None:
        connector = tut.connector()
        self.bootstrap(connector)
        case_id = self.open_case(tut)
        other = self.open_case(tut, "Other")
        changes = [
            Change(case_id, ChangeKind.ADD_TAG, "cw_first"),
            Change(MISSING_CASE_ID, ChangeKind.ADD_TAG, "cw_lost"),
            Change(other, ChangeKind.ADD_TAG, "cw_last"),
        ]
        results = self.apply(connector, *changes)
        assert [r.outcome for r in results] == [Outcome.APPLIED, Outcome.REFUSED, Outcome.APPLIED]
        assert results[1].error
        assert "cw_first" in self.read_one(connector, case_id).tags
        assert "cw_last" in self.read_one(connector, other).tags

    def test_an_unknown_status_is_refused_and_leaves_no_marker(self, tut: TrackerUnderTest) -> None:
        connector = tut.connector()
        self.bootstrap(connector)
        case_id = self.open_case(tut)
        [result] = self.apply(
            connector, Change(case_id, ChangeKind.SET_STATUS, "No Such Status", key=f"{case_id}:bad")
        )
        assert result.outcome is Outcome.REFUSED and result.error
        assert self.read_one(connector, case_id).case.status == OPEN
        assert f"{case_id}:bad" not in tut.connector().find_markers([case_id]).get(case_id, set())

    def test_empty_batch(self, tut: TrackerUnderTest) -> None:
        assert tut.connector().apply([]) == []

    def test_unsupported_changes_are_refused_never_silently_applied(self, tut: TrackerUnderTest) -> None:
        connector = tut.connector()
        self.bootstrap(connector)
        case_id = self.open_case(tut)
        caps = connector.capabilities()
        for kind in sorted(set(ChangeKind) - caps.supported):
            [result] = self.apply(connector, Change(case_id, kind, "x", field="x"))
            assert result.outcome is Outcome.REFUSED, kind
            assert caps.refusal(result.change)

    # --------------------------------------------------------------------------------------- markers

    def test_markers_are_found_in_bulk_and_per_case(self, tut: TrackerUnderTest) -> None:
        connector = tut.connector()
        self.bootstrap(connector)
        cases = [self.open_case(tut, f"C{i}") for i in range(tut.page_size + 2)]
        assert not any(connector.find_markers(cases).values())
        self.apply_ok(
            connector,
            *[Change(c, ChangeKind.ADD_NOTE, "Breach warning.", key=f"{c}:warn:1:0") for c in cases[:-1]],
            Change(cases[0], ChangeKind.SET_STATUS, PENDING, key=f"{cases[0]}:pending:1:0"),
        )
        found = connector.find_markers(cases)
        assert {f"{cases[0]}:warn:1:0", f"{cases[0]}:pending:1:0"} <= found[cases[0]]
        assert all(f"{c}:warn:1:0" in found[c] for c in cases[:-1])
        assert not found.get(cases[-1])

    def test_markers_survive_a_restart(self, tut: TrackerUnderTest) -> None:
        """A fresh process (a new connector instance) finds every marker the old one left: the engine
        relies on it to never repeat a side effect after a crash."""
        first = tut.connector()
        self.bootstrap(first)
        case_id = self.open_case(tut)
        keys = [f"{case_id}:note:1", f"{case_id}:status:1", f"{case_id}:tag:1"]
        self.apply_ok(
            first,
            Change(case_id, ChangeKind.ADD_NOTE, "Escalated.", key=keys[0]),
            Change(case_id, ChangeKind.SET_STATUS, PENDING, key=keys[1]),
            Change(case_id, ChangeKind.ADD_TAG, "esc-1", key=keys[2]),
        )
        first.close()
        fresh = tut.connector()
        assert set(keys) <= fresh.find_markers([case_id]).get(case_id, set())
        pending = [Pending(k, case_id, "x") for k in keys]
        assert fresh.settle(pending) == dict.fromkeys(keys, Outcome.APPLIED)

    # --------------------------------------------------------------------------------------- outcomes

    def test_a_lost_answer_is_unknown_then_settled_as_applied(self, tut: TrackerUnderTest) -> None:
        connector = tut.connector()
        self.bootstrap(connector)
        case_id = self.open_case(tut)
        key = f"{case_id}:note:lost-answer"
        tut.faults.lose_answer(case_id)
        result, tagged = self.apply(
            connector,
            Change(case_id, ChangeKind.ADD_NOTE, "Landed.", key=key),
            Change(case_id, ChangeKind.ADD_TAG, "cw_landed"),
        )
        tut.faults.clear()
        assert result.outcome is Outcome.UNKNOWN, (
            "the write may have landed: the connector cannot say applied or refused"
        )
        assert tagged.outcome is Outcome.UNKNOWN, (
            "a case's changes that travelled together share their outcome"
        )
        fresh = tut.connector()
        assert fresh.settle([Pending(key, case_id, "add_note", result.token)]) == {key: Outcome.APPLIED}
        assert sum("Landed." in b for b in tut.harness.note_bodies(case_id)) == 1

    def test_a_lost_request_is_unknown_then_never_settled_as_applied(self, tut: TrackerUnderTest) -> None:
        connector = tut.connector()
        self.bootstrap(connector)
        case_id = self.open_case(tut)
        key = f"{case_id}:note:lost-request"
        tut.faults.lose_request(case_id)
        [result] = self.apply(connector, Change(case_id, ChangeKind.ADD_NOTE, "Never landed.", key=key))
        tut.faults.clear()
        assert result.outcome is Outcome.UNKNOWN
        verdict = tut.connector().settle([Pending(key, case_id, "add_note", result.token)])[key]
        assert verdict in (Outcome.REFUSED, Outcome.UNKNOWN)
        assert not any("Never landed." in b for b in tut.harness.note_bodies(case_id))

    def test_a_refused_write_says_why(self, tut: TrackerUnderTest) -> None:
        connector = tut.connector()
        self.bootstrap(connector)
        case_id = self.open_case(tut)
        tut.faults.refuse(case_id)
        [result] = self.apply(
            connector, Change(case_id, ChangeKind.ADD_TAG, "cw_refused", key=f"{case_id}:t")
        )
        tut.faults.clear()
        assert result.outcome is Outcome.REFUSED and result.error
        assert "cw_refused" not in self.read_one(connector, case_id).tags

    # ------------------------------------------------------------------------ bootstrap and health

    def test_bootstrap_is_idempotent_and_typed(self, tut: TrackerUnderTest) -> None:
        connector = tut.connector()
        plan = connector.bootstrap_plan(needs())
        assert all(isinstance(step, BootstrapStep) for step in plan)
        names = {step.name for step in plan}
        assert FIELD in names or any(FIELD in step.detail for step in plan)
        connector.bootstrap_apply([s for s in plan if not s.manual])
        again = tut.connector().bootstrap_plan(needs())
        assert all(step.exists or step.manual for step in again), [s for s in again if not s.exists]
        tut.connector().bootstrap_apply([s for s in again if not s.exists and not s.manual])
        assert tut.connector().bootstrap_plan(needs()) == again

    def test_health_and_capabilities(self, tut: TrackerUnderTest) -> None:
        connector = tut.connector()
        checks = connector.health()
        assert checks and all(isinstance(c, HealthCheck) for c in checks)
        assert all(c.ok for c in checks), checks
        capabilities = connector.capabilities()
        assert isinstance(capabilities, Capabilities)
        assert capabilities.supported <= frozenset(ChangeKind)
        assert type(connector).MARKERS, "each connector documents where its markers live"
