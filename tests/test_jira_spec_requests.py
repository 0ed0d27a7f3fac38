"""Every request the Jira connector sends in a representative cycle conforms to the published specs.

The cycle runs through the connector's own API against the wire fake in Cloud mode (the specs describe
Jira Cloud): bootstrap (fields and options), a first read with a history longer than search shows (bulk
changelog), one apply with every kind of change (fields of each type, level, labels, a keyed note, a
two-step transition, group, follower, both link kinds, a related issue), a note whose answer is lost
(503 after it landed) and its settling from the markers, an incremental read, a re-read, JSM's SLAs and
doctor's checks. Each request is checked against ``jira-platform-openapi-v3.json`` (the client's v2
paths matched to v3 as tests/fakes/openapi_quirks.py says) or ``jira-service-management-openapi.json``,
and so is each answer the fake gave. Without the spec folder the test is skipped, saying where it looked.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from casewarden.connectors.base import (
    BootstrapNeeds,
    CaseChanges,
    Change,
    ChangeKind,
    ConnectorContext,
    CycleBudget,
    FieldType,
    NeededField,
    NeededStatus,
    Outcome,
    Pending,
)
from casewarden.connectors.jira import JiraConnector, JiraSettings
from casewarden.connectors.mapping import NameMap
from tests.fakes.jira import FAKE_API_TOKEN, FakeJira
from tests.fakes.openapi import ApiSpec, SpecRecorder

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
LEVELS = {"S1": "Highest", "S2": "High", "S3": "Medium", "S4": "Low"}
STATUSES = {
    "New": "Waiting for support",
    "Open": "In Progress",
    "Pending": "Waiting for customer",
    "On Hold": "Escalated",
    "Solved": "Resolved",
    "Closed": "Closed",
}
CATEGORIES = {"New": "new", "Open": "open", "Pending": "pending", "On Hold": "hold", "Solved": "solved"}
FIELDS = {
    "casewarden_next_due": FieldType.DATETIME,
    "casewarden_level": FieldType.SELECT,
    "casewarden_escalation_level": FieldType.NUMBER,
    "casewarden_breached": FieldType.TEXT,
    "casewarden_warning": FieldType.TEXT,
}
#: Endpoints the cycle must have exercised, so that a clean check means something.
EXERCISED = (
    "POST /rest/api/{v}/field",
    "POST /rest/api/{v}/field/{fieldId}/context/{contextId}/option",
    "POST /rest/api/{v}/search/jql",
    "POST /rest/api/{v}/changelog/bulkfetch",
    "PUT /rest/api/{v}/issue/{issueIdOrKey}",
    "POST /rest/api/{v}/issue/{issueIdOrKey}/transitions",
    "POST /rest/api/{v}/issue/{issueIdOrKey}/comment",
    "POST /rest/api/{v}/issueLink",
    "POST /rest/api/{v}/issue/{issueIdOrKey}/watchers",
    "POST /rest/api/{v}/issue",
    "GET /rest/servicedeskapi/request/{issueIdOrKey}/sla",
    "GET /rest/api/{v}/mypermissions",
    "GET /rest/api/{v}/issue/{issueIdOrKey}/editmeta",
)


def connector(fake: FakeJira) -> JiraConnector:
    settings = JiraSettings(
        server=fake.base_url,
        email=fake.user("agent").email,
        token_env="JIRA_API_TOKEN",
        projects=("SUP",),
        group_field="Support team",
    )
    context = ConnectorContext(
        tracker="jira",
        names=NameMap(LEVELS, STATUSES, policy_levels=list(LEVELS), policy_statuses=list(STATUSES)),
        fields=tuple(FIELDS),
        environ={"JIRA_API_TOKEN": FAKE_API_TOKEN},
        budget=CycleBudget(),
    )
    return JiraConnector(settings, context, sleep=fake.sleep, now=lambda: fake.now)


def needs() -> BootstrapNeeds:
    return BootstrapNeeds(
        fields=tuple(
            NeededField(name, kind, tuple(LEVELS) if kind is FieldType.SELECT else ())
            for name, kind in FIELDS.items()
        ),
        statuses=tuple(NeededStatus(jira, CATEGORIES.get(p, "closed"), p) for p, jira in STATUSES.items()),
        levels=tuple(LEVELS.values()),
    )


def test_a_whole_cycle_sends_only_what_the_specs_allow() -> None:
    recorder = SpecRecorder(ApiSpec.jira_platform(), ApiSpec.jira_service_management(), responses_too=True)
    fake = FakeJira("cloud", now=NOW)
    fake.site.add_custom_field("Support team", "text")
    opened = NOW - timedelta(hours=3)
    case = fake.create_issue("SUP", "Printer on fire", created=opened, reporter="carol", priority="High")
    fake.add_comment(case, opened + timedelta(minutes=5), "carol", "It is on fire.")
    fake.add_comment(case, opened + timedelta(minutes=20), "alice", "Looking into it.")
    fake.transition(case, opened + timedelta(minutes=25), "In Progress")
    fake.start_sla(case, "Time to first response", timedelta(hours=1), at=opened)
    fake.stop_sla(case, "Time to first response", at=opened + timedelta(minutes=20))
    fake.start_sla(case, "Time to resolution", timedelta(hours=8), at=opened)
    original = fake.create_issue("SUP", "Printer on fire (first report)", created=opened, reporter="carol")
    busy = fake.create_issue("SUP", "Long story", created=opened - timedelta(days=2), reporter="carol")
    for n in range(fake.search_changelog_limit + 5):  # more history than search shows
        fake.set_field(busy, opened - timedelta(days=1) + timedelta(minutes=n), "labels", [f"step-{n % 4}"])
    closed = fake.create_issue("SUP", "Old case", created=opened - timedelta(days=30), reporter="carol")
    fake.transition(closed, opened - timedelta(days=29), "Resolved")
    fake.transition(closed, opened - timedelta(days=28), "Closed")
    fake.add_label(case, opened + timedelta(minutes=26), "stale")
    fake.now = NOW
    ids = {name: str(issue.id) for name, issue in (("case", case), ("original", original), ("busy", busy))}

    with fake.serve() as wire:
        conn = connector(fake)
        steps = conn.bootstrap_plan(needs())
        conn.bootstrap_apply([s for s in steps if not s.exists and not s.manual])
        pages = list(conn.read_changed(None, fake.now))
        read = {tc.case.id for page in pages for tc in page.cases}
        assert set(ids.values()) <= read
        resume = next((p.resume for p in reversed(pages) if p.resume is not None), None)

        fake.advance(minutes=1)
        due = (NOW + timedelta(hours=2)).isoformat()
        every_kind = (
            Change(ids["case"], ChangeKind.SET_FIELD, due, "casewarden_next_due"),
            Change(ids["case"], ChangeKind.SET_FIELD, "S1", "casewarden_level"),
            Change(ids["case"], ChangeKind.SET_FIELD, "2", "casewarden_escalation_level"),
            Change(ids["case"], ChangeKind.SET_FIELD, "first_response", "casewarden_breached"),
            Change(ids["case"], ChangeKind.SET_FIELD, None, "casewarden_warning"),
            Change(ids["case"], ChangeKind.SET_LEVEL, "S1"),
            Change(ids["case"], ChangeKind.ADD_TAG, "esc-1"),
            Change(ids["case"], ChangeKind.REMOVE_TAG, "stale"),
            Change(
                ids["case"], ChangeKind.ADD_NOTE, "Escalated to the team lead", key=f"{ids['case']}:esc:1:0"
            ),
            Change(ids["case"], ChangeKind.SET_STATUS, "On Hold", key=f"{ids['case']}:status:hold:0"),
            Change(ids["case"], ChangeKind.ASSIGN_GROUP, "Tier 2"),
            Change(ids["case"], ChangeKind.ADD_FOLLOWER, "bob@acme.example", key=f"{ids['case']}:follow:2:0"),
            Change(ids["case"], ChangeKind.LINK, ids["original"], "duplicate_of", key=f"{ids['case']}:dup:0"),
            Change(ids["original"], ChangeKind.LINK, ids["busy"], "related", key=f"{ids['original']}:rel:0"),
            Change(str(closed.id), ChangeKind.OPEN_RELATED, "Old case, again", key=f"{closed.id}:reopen:1"),
        )
        results = conn.apply(
            [CaseChanges(c.case_id, (c,)) for c in every_kind[12:]]
            + [CaseChanges(ids["case"], every_kind[:12])]
        )
        refused = [(r.change.kind.value, r.error) for r in results if r.outcome is not Outcome.APPLIED]
        assert refused == []
        assert fake.issue(case).status == fake.site.status("Escalated").id, "a two-step transition"

        lost = f"{ids['busy']}:esc:1:0"
        fake.faults.lands_then_fails("POST /rest/api/{v}/issue/{issueIdOrKey}/comment")
        (unknown,) = conn.apply(
            [CaseChanges(ids["busy"], (Change(ids["busy"], ChangeKind.ADD_NOTE, "Hi", key=lost),))]
        )
        assert unknown.outcome is Outcome.UNKNOWN
        assert conn.settle([Pending(lost, ids["busy"], "note")]) == {lost: Outcome.APPLIED}
        assert lost in conn.find_markers([ids["busy"]]).get(ids["busy"], set())

        fake.advance(minutes=6)
        fake.add_comment(original, fake.now - timedelta(minutes=1), "carol", "Is it the same?")
        list(conn.read_changed(resume, fake.now))
        conn.read_cases(list(ids.values()))
        timers = conn.native_timers([ids["case"]])
        assert {t.metric for t in timers} == {"first_response", "resolution"}
        health = conn.health()
        assert health and health[0].ok

        fired = {call.endpoint for call in fake.log}
        assert [e for e in EXERCISED if e not in fired] == [], "the cycle did not exercise these"
        recorder.assert_clean(wire.calls)
