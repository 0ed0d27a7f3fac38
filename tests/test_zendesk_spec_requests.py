"""Every request the Zendesk connector sends, in a representative cycle, against the published OpenAPI spec.

The cycle: doctor's reads, ``bootstrap`` (plan and apply: fields, drop-down options, custom statuses), the
first read of every ticket (the cursor export and the events export, audits on first sight), a batch of
every change kind (fields, level, tags added and removed, a keyed internal note, a status move, a group, a
follower, a problem/incident link, a follow-up ticket for a closed case), a slow bulk job whose outcome is
settled later from markers, the markers read back by a fresh connector, the native SLA timers, and the
next incremental read from the saved resume point.

The fake answers with the real API's shapes, and zenpy builds the real requests; the spec validator
(tests/fakes/openapi.py, with its named quirks of the published spec) checks each one's path, query and
body. The test is skipped, saying where it looked, only when the specs folder is absent (``../shared/
api-specs`` or ``$CASEWARDEN_API_SPECS``).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from casewarden.connectors.base import Change, ChangeKind, Outcome, Pending, group_by_case, marker_text
from casewarden.policy.loader import load_policy_text
from casewarden.sync.deployment import TrackerSpec
from casewarden.sync.wiring import needs
from tests.fakes.openapi import ApiSpec, SpecRecorder
from tests.trackers import SUITE_POLICY
from tests.trackers.zendesk import LEVEL_MAP, STATUS_MAP, ZendeskUnderTest, make

T0 = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)


class Clock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


@pytest.fixture
def spec() -> ApiSpec:
    return ApiSpec.zendesk()  # skips the test, saying where it looked, without the published specs


@pytest.fixture
def tracker(tmp_path: Path) -> Iterator[tuple[ZendeskUnderTest, Clock]]:
    clock = Clock(T0)
    under_test = make(tmp_path, clock)
    suite_settings = under_test.settings
    # a slow job is given up on after a fifth of a second, not the default 30 s
    under_test.settings = lambda: suite_settings().model_copy(update={"job_deadline": 0.2})  # type: ignore[method-assign]
    try:
        yield under_test, clock
    finally:
        under_test.close()


def test_every_request_of_a_representative_cycle_conforms_to_the_spec(
    spec: ApiSpec, tracker: tuple[ZendeskUnderTest, Clock]
) -> None:
    tut, clock = tracker
    fake, harness = tut.fake, tut.harness
    fake.create_sla_policy(
        "Standard",
        filter={"all": [], "any": []},
        policy_metrics=[
            {"priority": p, "metric": "first_reply_time", "target": 60, "business_hours": False}
            for p in ("urgent", "high", "normal", "low")
        ],
        at=T0 - timedelta(days=30),
    )
    policy = load_policy_text(SUITE_POLICY)
    # one status the instance lacks, so that bootstrap creates a custom status too
    statuses = {**STATUS_MAP, "Pending": "Waiting on vendor"}
    deployment_spec = TrackerSpec(name="suite", type="zendesk", levels=LEVEL_MAP, statuses=statuses)
    conn = tut.connector()

    # doctor and bootstrap
    assert all(c.ok for c in conn.health() if c.name in ("token", "role"))
    steps = conn.bootstrap_plan(needs(policy, deployment_spec))
    conn.bootstrap_apply([s for s in steps if not s.exists and not s.manual])

    # an instance with history: open, answered, on hold, closed; a problem to link incidents to
    opened = T0 - timedelta(days=2)
    cases = [
        harness.create_case(f"case {i}", opened_at=opened + timedelta(minutes=i), level=level)
        for i, level in enumerate(("S1", "S2", "S3", "S4", "S1", "S3"))
    ]
    harness.add_comment(cases[1], opened + timedelta(hours=1), "agent", "Looking into it.")
    harness.add_comment(cases[1], opened + timedelta(hours=2), "customer", "Thanks, still broken.")
    harness.add_comment(
        cases[2], opened + timedelta(hours=3), "agent", "Internal: checking logs", public=False
    )
    harness.set_status(cases[3], opened + timedelta(hours=4), "On Hold")
    harness.set_status(cases[5], opened + timedelta(hours=5), "Solved")
    harness.set_status(cases[5], opened + timedelta(hours=6), "Closed")
    clock.at = T0

    # the first read of everything, then the cases again with whole timelines
    pages = list(conn.read_changed(None, T0))
    read = {tc.case.id for page in pages for tc in page.cases}
    assert set(cases) <= read
    resume = next(p.resume for p in reversed(pages) if p.resume is not None)
    conn.read_cases(cases[:3])

    # one batch with every change kind
    clock.at = T0 + timedelta(minutes=1)
    key = f"{cases[0]}:note:1:0"
    changes = [
        Change(cases[0], ChangeKind.SET_FIELD, "2026-11-16T10:00:00Z", field="casewarden_next_due"),
        Change(cases[0], ChangeKind.SET_FIELD, "S1", field="casewarden_level"),
        Change(cases[0], ChangeKind.SET_FIELD, "2", field="casewarden_escalation_level"),
        Change(cases[0], ChangeKind.ADD_TAG, "esc-1"),
        Change(cases[0], ChangeKind.ADD_NOTE, "Escalated to the team lead", key=key),
        Change(cases[1], ChangeKind.SET_LEVEL, "S1"),
        Change(cases[1], ChangeKind.REMOVE_TAG, "esc-1"),
        Change(cases[1], ChangeKind.SET_STATUS, "Pending", key=f"{cases[1]}:status:Pending:0"),
        Change(cases[2], ChangeKind.ASSIGN_GROUP, "Tier 2", key=f"{cases[2]}:group:2:0"),
        Change(cases[2], ChangeKind.ADD_FOLLOWER, "duty-manager@example.com", key=f"{cases[2]}:follow:2:0"),
        Change(cases[4], ChangeKind.LINK, cases[0], field="child_of"),
        Change(cases[5], ChangeKind.OPEN_RELATED, "Follow-up: case 5", key=f"{cases[5]}:related:1:0"),
    ]
    results = conn.apply(group_by_case(changes))
    assert len(results) == len(changes)
    assert all(r.outcome is Outcome.APPLIED for r in results), [(r.change.kind, r.error) for r in results]

    # a bulk job still running at the deadline: unknown, settled from markers by a fresh connector
    clock.at = T0 + timedelta(minutes=2)
    fake.faults.slow_jobs(polls=10_000)
    slow_key = f"{cases[3]}:note:1:0"
    slow = conn.apply(group_by_case([Change(cases[3], ChangeKind.ADD_NOTE, "Still on hold", key=slow_key)]))
    fake.finish_jobs()
    fresh = tut.connector()
    outcomes = fresh.settle(
        [Pending(slow_key, cases[3], "note", token=slow[0].token), Pending(key, cases[0], "note")]
    )
    assert outcomes[key] is Outcome.APPLIED
    markers = fresh.find_markers(cases)
    assert key in markers.get(cases[0], set())
    assert marker_text(key) in "\n".join(harness.note_bodies(cases[0]))

    # Zendesk's own SLA figures, and the next incremental read from the saved resume point
    assert fresh.native_timers(cases)
    clock.at = T0 + timedelta(minutes=10)
    fake.now = max(fake.now, clock.at)
    list(fresh.read_changed(resume, clock.at))

    calls = list(tut.mock.calls)
    sent = {(c.request.method, c.request.url.split("?")[0].split("/api/v2/")[1]) for c in calls}
    for method, path_start in (
        ("GET", "users/me"),
        ("POST", "ticket_fields"),
        ("POST", "custom_statuses"),
        ("GET", "incremental/tickets/cursor"),
        ("GET", "incremental/ticket_events"),
        ("PUT", "tickets/update_many"),
        ("GET", "job_statuses"),
        ("POST", "tickets"),
        ("GET", "tickets/show_many"),
    ):
        assert any(m == method and p.startswith(path_start) for m, p in sent), (
            f"{method} {path_start} never sent"
        )
    SpecRecorder(spec).assert_clean(calls)
