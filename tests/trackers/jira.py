"""Jira Cloud and Jira Data Center under the shared suites: the real connector and ``jira`` client against
the stateful fake (``tests/fakes/jira``) served by ``responses``.

The harness acts on the fake's own API (issues created with explicit instants, statuses set as a person
would, comments public or internal) in the suite policy's names, translated with the factory's maps:
levels to priorities, statuses to the JSM workflow's statuses (On Hold is "Escalated", reachable from
"In Progress" only, so the connector walks multi-step paths). Faults are injected at the wire, per issue:
``lose_answer`` lets the write land and answers 503, ``lose_request`` answers 503 without doing it,
``refuse`` answers 400 with Jira's ``errorMessages``. Every request first moves the fake's clock to the
suite's clock (writes are stamped like the embedded tracker's), and retries wait in fake time.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

import requests
import responses

from casewarden.connectors.base import ConnectorContext
from casewarden.connectors.jira import JiraConnector, JiraSettings
from casewarden.connectors.mapping import NameMap
from casewarden.connectors.sources import CaseSources, Source
from casewarden.policy.case import Author
from casewarden.policy.loader import load_policy_text
from casewarden.sync.deployment import TrackerSpec
from casewarden.sync.wiring import managed_fields
from tests.fakes.jira import FAKE_API_TOKEN, FAKE_PAT, FakeJira
from tests.fakes.jira.site import Mode, Transition, User
from tests.fakes.jira.state import CHANNEL_PROPERTY, CHANNELS, Issue
from tests.trackers import LEVELS, STATUSES, SUITE_POLICY

LEVEL_MAP = {"S1": "Highest", "S2": "High", "S3": "Medium", "S4": "Low"}
STATUS_MAP = {
    "New": "Waiting for support",
    "Open": "In Progress",
    "Pending": "Waiting for customer",
    "On Hold": "Escalated",
    "Solved": "Resolved",
    "Closed": "Closed",
}
MILESTONES = ("restoration", "temporary_fix", "permanent_fix", "customer_escalation")
GROUP_FIELD = "Support team"
HOLD_FIELD = "Hold until"
AUTHORIZED_LABEL = "designated_contact"
CHECKLIST = ("description", "logs", "version", "impact")
PROJECT = "SUP"
_ISSUE_PATH = re.compile(r"/rest/(?:api/\d+|servicedeskapi)/(?:issue|request)/(\d+)")


def milestone_field(name: str) -> str:
    return f"Milestone {name}"


def case_sources() -> CaseSources:
    return CaseSources(
        region=Source(field="Region"),
        case_type=Source(field="Case type"),
        requester_authorized=Source(tag=AUTHORIZED_LABEL),
        hold_until=Source(field=HOLD_FIELD),
        milestones={name: Source(field=milestone_field(name)) for name in MILESTONES},
        checklist={item: Source(tag=f"provided-{item}") for item in CHECKLIST},
    )


def suite_fields() -> tuple[str, ...]:
    policy = load_policy_text(SUITE_POLICY)
    spec = TrackerSpec(name="suite", type="jira")
    names = [name for _logical, name in managed_fields(policy, spec)]
    return tuple(dict.fromkeys(["cw_next_due", "cw_breached", *names]))


class WireFaults:
    """Per-issue faults on write requests, applied around the fake (see the module docstring)."""

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

    def rule_for(self, request: requests.PreparedRequest) -> str | None:
        if not self.rules or request.method not in ("POST", "PUT", "DELETE"):
            return None
        path = request.path_url.split("?", 1)[0]
        if "/search" in path or "bulkfetch" in path:
            return None
        ids: set[str] = set()
        match = _ISSUE_PATH.search(path)
        if match:
            ids.add(match.group(1))
        try:
            body = json.loads(request.body or b"{}") if request.body else {}
        except ValueError:
            body = {}
        if isinstance(body, dict):
            for side in ("inwardIssue", "outwardIssue"):
                ref = body.get(side)
                if isinstance(ref, dict) and ref.get("id"):
                    ids.add(str(ref["id"]))
            for prop in body.get("properties") or []:
                value = prop.get("value") if isinstance(prop, dict) else None
                if isinstance(value, dict) and value.get("source"):
                    ids.add(str(value["source"]))
        return next((self.rules[i] for i in sorted(ids) if i in self.rules), None)


class JiraHarness:
    """The tracker side: what people do in Jira, on the fake's own API, in the suite's names."""

    def __init__(self, fake: FakeJira) -> None:
        self.fake = fake
        site = fake.site
        for name in ("Region", "Case type", GROUP_FIELD):
            site.add_custom_field(name, "text")
        site.add_custom_field(HOLD_FIELD, "datetime")
        for name in MILESTONES:
            site.add_custom_field(milestone_field(name), "datetime")
        self.user_for("duty-manager@example.com", customer=False)

    def user_for(self, email: str, customer: bool = True) -> str:
        site = self.fake.site
        for user in site.users.values():
            if user.email == email:
                return user.handle
        handle = re.sub(r"[^a-z0-9]", "", email.split("@")[0].lower()) or "user"
        while handle in site.users:
            handle += "x"
        n = len(site.users)
        site.users[handle] = User(
            handle, f"qm:{n:04d}-{handle}", handle, f"JIRAUSER{11000 + n}", email, email, "UTC",
            "customer" if customer else "atlassian",
        )  # fmt: skip
        return handle

    def _move(self, issue: Issue, at: datetime, status: str, values: dict[str, Any] | None = None) -> None:
        target = self.fake.site.status(STATUS_MAP.get(status, status))
        state = self.fake.state
        state.edit(
            issue, state.at(at), "alice", values or {}, transition=Transition("0", "harness", target.id)
        )

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
        fields = {k: v for k, v in {"Region": region, "Case type": case_type}.items() if v is not None}
        labels = [f"provided-{item}" for item in provided]
        if requester_authorized:
            labels.append(AUTHORIZED_LABEL)
        issue = self.fake.create_issue(
            PROJECT,
            subject,
            created=opened_at,
            reporter=self.user_for(requester) if requester else None,
            priority=LEVEL_MAP[level],
            labels=labels,
            fields=fields,
            channel=channel if channel in CHANNELS else None,
        )
        if channel is not None and channel not in CHANNELS:
            self.fake.set_property(issue, CHANNEL_PROPERTY, {"value": channel}, at=opened_at)
        if status != "New":
            self._move(issue, opened_at, status)
        return str(issue.id)

    def add_comment(
        self, case_id: str, at: datetime, author: Author | str, body: str, public: bool = True
    ) -> None:
        issue = self.fake.issue(case_id)
        who = issue.reporter if Author(author) is Author.CUSTOMER else "alice"
        self.fake.add_comment(issue, at, who or "carol", body, internal=not public)

    def set_status(self, case_id: str, at: datetime, status: str, hold_until: datetime | None = None) -> None:
        values = {}
        if hold_until is not None:
            values[self.fake.field_id(HOLD_FIELD)] = hold_until
        self._move(self.fake.issue(case_id), at, status, values)

    def set_level(self, case_id: str, at: datetime, level: str) -> None:
        self.fake.set_priority(case_id, at, LEVEL_MAP[level])

    def add_milestone(self, case_id: str, at: datetime, name: str) -> None:
        self.fake.set_field(case_id, at, milestone_field(name), at)

    def delete_case(self, case_id: str, at: datetime) -> None:
        self.fake.delete_issue(case_id, at)

    def merge_case(self, case_id: str, into: str, at: datetime) -> None:
        """Jira has no merge: close the issue as a duplicate of the one it was merged into."""
        self.fake.link("Duplicate", case_id, into, at)
        self._move(self.fake.issue(case_id), at, "Closed")

    def note_bodies(self, case_id: str) -> list[str]:
        return [c.body for c in self.fake.issue(case_id).comments if c.internal]

    def assigned_group(self, case_id: str) -> str | None:
        value = self.fake.issue(case_id).custom.get(self.fake.field_id(GROUP_FIELD))
        return None if value is None else str(value)

    def followers(self, case_id: str) -> set[str]:
        return {self.fake.user(h).email for h in self.fake.issue(case_id).watchers}


class JiraUnderTest:
    page_size = 3

    def __init__(self, directory: Path, clock: Callable[[], datetime], mode: Mode) -> None:
        self.name = "jira-cloud" if mode == "cloud" else "jira-dc"
        self.mode = mode
        self.clock = clock
        self.fake = FakeJira(mode, now=datetime(2020, 1, 1, tzinfo=clock().tzinfo))
        if mode == "cloud":
            self.fake.search_changelog_limit = 10
            self.history_page = 10
        else:
            self.history_page = 0
        self.harness = JiraHarness(self.fake)
        self.faults = WireFaults()
        self.mock = responses.RequestsMock(assert_all_requests_are_fired=False)
        pattern = re.compile(re.escape(self.fake.base_url) + r"(/.*)?$")
        for method in ("GET", "POST", "PUT", "DELETE"):
            self.mock.add_callback(method, pattern, callback=self._serve)
        self.mock.start()
        self._made: list[JiraConnector] = []
        #: settings a focused test changes (e.g. link_types), applied to every connector made after
        self.overrides: dict[str, Any] = {}

    def _serve(self, request: requests.PreparedRequest) -> tuple[int, dict[str, str], Any]:
        now = self.clock()
        if now > self.fake.now:
            self.fake.now = now
        rule = self.faults.rule_for(request)
        error = {"Content-Type": "application/json;charset=UTF-8"}
        if rule == "refuse":
            return 400, error, json.dumps({"errorMessages": ["The issue failed validation."], "errors": {}})
        if rule == "lose_request":
            return 503, error, json.dumps({"errorMessages": ["Service unavailable"], "errors": {}})
        answer = self.fake._callback(request)
        if rule == "lose_answer":
            return 503, error, json.dumps({"errorMessages": ["Service unavailable"], "errors": {}})
        return answer

    def settings(self) -> JiraSettings:
        common: dict[str, Any] = {
            "server": self.fake.base_url,
            "projects": (PROJECT,),
            "page_size": self.page_size,
            "group_field": GROUP_FIELD,
            "timeout": 10,
            **self.overrides,
        }
        if self.mode == "cloud":
            return JiraSettings(
                email=self.fake.site.user("agent").email, token_env="JIRA_API_TOKEN", **common
            )
        return JiraSettings(pat_env="JIRA_PAT", **common)

    def environ(self) -> dict[str, str]:
        return {"JIRA_API_TOKEN": FAKE_API_TOKEN, "JIRA_PAT": FAKE_PAT}

    def connector(self) -> JiraConnector:
        context = ConnectorContext(
            tracker="suite",
            names=NameMap(LEVEL_MAP, STATUS_MAP, policy_levels=LEVELS, policy_statuses=list(STATUSES)),
            case_data=case_sources(),
            fields=suite_fields(),
            environ=self.environ(),
        )
        conn = JiraConnector(self.settings(), context, sleep=self.fake.sleep, now=lambda: self.fake.now)
        self._made.append(conn)
        return conn

    def tracker_entry(self) -> str:
        s = self.settings()
        auth = f"email: {s.email}, token_env: JIRA_API_TOKEN" if self.mode == "cloud" else "pat_env: JIRA_PAT"
        levels = ", ".join(f"{k}: {v}" for k, v in LEVEL_MAP.items())
        statuses = ", ".join(f"{k}: {v}" for k, v in STATUS_MAP.items())
        return (
            "  - name: suite\n"
            "    type: jira\n"
            f"    settings: {{server: '{s.server}', {auth}, projects: [{PROJECT}], page_size: {s.page_size}, "
            f"group_field: {GROUP_FIELD}}}\n"
            f"    levels: {{{levels}}}\n"
            f"    statuses: {{{statuses}}}\n"
        )

    def close(self) -> None:
        for conn in self._made:
            conn.close()
        self.mock.stop()
        self.mock.reset()


def make_cloud(directory: Path, clock: Callable[[], datetime]) -> JiraUnderTest:
    return JiraUnderTest(directory, clock, "cloud")


def make_dc(directory: Path, clock: Callable[[], datetime]) -> JiraUnderTest:
    return JiraUnderTest(directory, clock, "datacenter")
