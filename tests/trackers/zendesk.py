"""Zendesk under the shared suites: the real connector and zenpy against the stateful fake, at the wire.

* **Time.** Writes through the API are stamped with the factory's clock (as the embedded tracker stamps
  its writes), and the fake's own ``now`` (what the exports may show) stays two minutes past the latest
  write, so Zendesk's last-minute exclusion never hides a write from the suites' next read; the
  exclusion itself is proved in ``tests/test_zendesk_reading.py``.
* **Names.** Levels S1-S4 are the priorities urgent/high/normal/low; statuses are the default custom
  statuses (``On Hold`` is Zendesk's ``On-hold``) and ``Closed`` the built-in ``closed``. Region, case type
  and hold-until live in text fields, milestones and checklist items in tags, the channel is
  ``via.channel``.
* **Closed tickets** are final, as on Zendesk: the harness ignores a status or level change to one, and a
  reply to one opens a follow-up ticket (``via_followup_source_id``), which is what Zendesk does with it.
* **The instance** comes bootstrapped (as an admin would have it), so ``doctor``'s field checks pass;
  the suites bootstrap again, which must then find everything and create nothing.
* **Faults at the wire**: ``lose_answer`` lets a write land and answers 500, ``lose_request`` drops it
  (a connection error), ``refuse`` fails the ticket inside its bulk job (or answers 422) with a reason.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests
import responses
from requests import PreparedRequest

from casewarden.connectors.base import BootstrapNeeds, ConnectorContext, FieldType, NeededField
from casewarden.connectors.mapping import NameMap
from casewarden.connectors.sources import CaseSources
from casewarden.connectors.zendesk import ZendeskConnector, ZendeskSettings
from casewarden.policy.case import Author
from casewarden.policy.loader import load_policy_text
from casewarden.sync.deployment import TrackerSpec
from casewarden.sync.wiring import managed_fields, needs
from tests.fakes.zendesk import FakeZendesk
from tests.fakes.zendesk.records import to_second
from tests.trackers import LEVELS, STATUSES, SUITE_POLICY

BASE_URL = "https://suite.zendesk.com"
TOKEN_ENV = "CASEWARDEN_SUITE_ZENDESK_TOKEN"
LEVEL_MAP = dict(zip(LEVELS, ("urgent", "high", "normal", "low"), strict=True))
STATUS_MAP = {
    "New": "New",
    "Open": "Open",
    "Pending": "Pending",
    "On Hold": "On-hold",
    "Solved": "Solved",
    "Closed": "closed",
}
CHANNELS = {"portal": "web", "phone": "voice", "email": "email", "chat": "chat"}
REGION_FIELD, TYPE_FIELD, HOLD_FIELD = "Support region", "Case type", "Hold until"
AUTHORIZED_TAG = "designated_contact"
MILESTONE_TAG = "milestone_"
PROVIDED_TAG = "provided_"
MILESTONES = ("restoration", "temporary_fix", "permanent_fix", "customer_escalation")
CHECKLIST = ("description", "logs")
LEAD = timedelta(minutes=2)
EPOCH = datetime(2015, 1, 1, tzinfo=UTC)

CASE_DATA: dict[str, Any] = {
    "region": {"field": REGION_FIELD},
    "case_type": {"field": TYPE_FIELD},
    "hold_until": {"field": HOLD_FIELD},
    "channel": {"native": True, "map": {v: k for k, v in CHANNELS.items()}},
    "requester_authorized": {"tag": AUTHORIZED_TAG},
    "milestones": {m: {"tag": MILESTONE_TAG + m} for m in MILESTONES},
    "checklist": {c: {"tag": PROVIDED_TAG + c} for c in CHECKLIST},
}


class SuiteZendesk(FakeZendesk):
    """The fake with API writes stamped by the suite's clock and ``now`` kept ahead of every write."""

    write_clock: Callable[[], datetime]

    def __init__(self, clock: Callable[[], datetime]) -> None:
        self.write_clock = clock
        super().__init__(BASE_URL, now=EPOCH)  # the account and its seed long before any case
        self.now = clock() + LEAD

    def _stamp(self, at: datetime | None) -> datetime:
        if at is not None:
            # The suites write each case's history in turn (case after case, not in global time order),
            # always before they read it back: the fake's forward-only rule is kept for API writes only.
            stamped = to_second(at)
            self._history_at = max(self._history_at, stamped)
        else:
            stamped = super()._stamp(self.write_clock())
        if stamped + LEAD > self.now:
            self.now = stamped + LEAD
        return stamped


class WireFaults:
    """Faults per ticket, injected in front of the fake's router."""

    def __init__(self, fake: SuiteZendesk) -> None:
        self.fake = fake
        self.rules: dict[int, str] = {}

    def lose_answer(self, case_id: str) -> None:
        self.rules[int(case_id)] = "lose_answer"

    def lose_request(self, case_id: str) -> None:
        self.rules[int(case_id)] = "lose_request"

    def refuse(self, case_id: str) -> None:
        self.rules[int(case_id)] = "refuse"

    def clear(self) -> None:
        self.rules.clear()

    def _touched(self, request: PreparedRequest) -> list[int]:
        """The tickets a write touches (a bulk update's items, a single update, a follow-up's source)."""
        path = urlsplit(str(request.url)).path
        try:
            body = json.loads(request.body or b"null")
        except ValueError:
            body = None
        ids: list[int] = []
        if path.endswith("/tickets/update_many.json") and isinstance(body, dict):
            ids += [int(t["id"]) for t in body.get("tickets") or [] if t.get("id") is not None]
        elif "/tickets/" in path and request.method in ("PUT", "POST", "DELETE"):
            part = path.split("/tickets/", 1)[1].split("/", 1)[0].removesuffix(".json")
            if part.isdigit():
                ids.append(int(part))
        if path.endswith("/tickets.json") and request.method == "POST" and isinstance(body, dict):
            ticket = body.get("ticket") or {}
            source = (
                ticket.get("via_followup_source_id") or str(ticket.get("external_id") or "").split(":")[1:2]
            )
            if isinstance(source, list):
                source = source[0] if source else None
            if source and str(source).isdigit():
                ids.append(int(source))
        return ids

    def __call__(self, request: PreparedRequest) -> tuple[int, dict[str, str], str]:
        router = self.fake.router
        if request.method == "GET" or not self.rules:
            return router._callback(request)
        rules = {self.rules[i] for i in self._touched(request) if i in self.rules}
        if "lose_request" in rules:
            raise requests.ConnectionError("the request was lost on the way (suite fault)")
        if "refuse" in rules:
            path = urlsplit(str(request.url)).path
            refused = [i for i in self._touched(request) if self.rules.get(i) == "refuse"]
            if path.endswith("/tickets/update_many.json"):
                self.fake.faults.fail_tickets_in_jobs({i: f"ticket {i}: validation failed" for i in refused})
            else:
                body = {
                    "error": "RecordInvalid",
                    "description": "Record validation errors",
                    "details": {"base": [{"description": f"ticket {refused[0]}: validation failed"}]},
                }
                return 422, {"Content-Type": "application/json"}, json.dumps(body)
        status, headers, text = router._callback(request)
        if "lose_answer" in rules:
            return 500, {"Content-Type": "application/json"}, json.dumps({"error": "InternalError"})
        return status, headers, text


class ZendeskHarness:
    """What a person does in Zendesk's UI, in the suite policy's names."""

    def __init__(self, fake: SuiteZendesk) -> None:
        self.fake = fake
        at = EPOCH
        self.agent = fake.create_user("Suite Agent", "agent@acme.example", role="agent", at=at)
        self.customer = fake.create_user("Suite Customer", "customer@example.com", at=at)
        fake.create_user("Duty Manager", "duty-manager@example.com", role="agent", at=at)
        fake.create_group("Tier 2", at=at)
        self.fields = {
            title: fake.create_ticket_field("text", title, at=at).id
            for title in (REGION_FIELD, TYPE_FIELD, HOLD_FIELD)
        }
        self.statuses = {s.agent_label: s.id for s in fake.custom_statuses.values()}

    def _status(self, status: str) -> dict[str, Any]:
        tracker = STATUS_MAP[status]
        if tracker == "closed":
            return {"status": "closed"}
        return {"custom_status_id": self.statuses[tracker]}

    def _requester(self, email: str | None) -> Any:
        if email is None:
            return self.customer
        return self.fake.user_by_email(email) or self.fake.create_user(
            email.split("@")[0], email, at=self.fake._history_at
        )

    def _open(self, case_id: str) -> bool:
        ticket = self.fake.tickets.get(int(case_id))
        return ticket is not None and not ticket.deleted and ticket.status != "closed"

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
        tags = [PROVIDED_TAG + p for p in provided]
        if requester_authorized:
            tags.append(AUTHORIZED_TAG)
        fields = [
            {"id": self.fields[title], "value": value}
            for title, value in ((REGION_FIELD, region), (TYPE_FIELD, case_type))
            if value is not None
        ]
        ticket = self.fake.create_ticket(
            subject,
            f"{subject} (opened)",
            requester=self._requester(requester),
            created_at=opened_at,
            channel=CHANNELS.get(channel or "", channel or "web"),
            priority=LEVEL_MAP[level],
            tags=tags,
            custom_fields=fields,
            **self._status(status),
        )
        return str(ticket.id)

    def add_comment(
        self, case_id: str, at: datetime, author: Author | str, body: str, public: bool = True
    ) -> None:
        ticket = self.fake.ticket(int(case_id))
        agent = Author(author) is Author.AGENT
        who = self.agent if agent else self.fake.user(ticket.requester_id)
        if ticket.status == "closed":
            # a reply to a closed ticket opens a follow-up, as Zendesk does
            self.fake.create_ticket(
                f"Re: {ticket.subject}",
                body,
                requester=ticket.requester_id,
                submitter=who,
                created_at=at,
                via_followup_source_id=ticket.id,
                priority=ticket.priority,
            )
            return
        self.fake.add_comment(ticket.id, at, who, body, public=public)

    def set_status(self, case_id: str, at: datetime, status: str, hold_until: datetime | None = None) -> None:
        if not self._open(case_id):
            return  # Zendesk refuses every change to a closed ticket
        change = self._status(status)
        if hold_until is not None:
            value = to_second(hold_until).strftime("%Y-%m-%dT%H:%M:%SZ")
            change["custom_fields"] = [{"id": self.fields[HOLD_FIELD], "value": value}]
        self.fake.update(int(case_id), at, change, author=self.agent)

    def set_level(self, case_id: str, at: datetime, level: str) -> None:
        if self._open(case_id):
            self.fake.set_priority(int(case_id), at, LEVEL_MAP[level], author=self.agent)

    def add_milestone(self, case_id: str, at: datetime, name: str) -> None:
        if self._open(case_id):
            self.fake.add_tags(int(case_id), at, [MILESTONE_TAG + name], author=self.agent)

    def delete_case(self, case_id: str, at: datetime) -> None:
        self.fake.delete_ticket(int(case_id), at)

    def merge_case(self, case_id: str, into: str, at: datetime) -> None:
        self.fake.merge_tickets(int(into), [int(case_id)], at, author=self.agent)

    def note_bodies(self, case_id: str) -> list[str]:
        ticket = self.fake.tickets.get(int(case_id))
        return [] if ticket is None else [c["body"] for c in ticket.comments() if not c["public"]]

    def assigned_group(self, case_id: str) -> str | None:
        ticket = self.fake.tickets.get(int(case_id))
        if ticket is None or ticket.group_id is None:
            return None
        return self.fake.groups[ticket.group_id].name

    def followers(self, case_id: str) -> set[str]:
        ticket = self.fake.tickets.get(int(case_id))
        return set() if ticket is None else {self.fake.users[u].email for u in ticket.follower_ids}


def _needs() -> BootstrapNeeds:
    policy = load_policy_text(SUITE_POLICY)
    suite = needs(policy, TrackerSpec(name="suite", type="zendesk", levels=LEVEL_MAP, statuses=STATUS_MAP))
    extra = (NeededField("cw_next_due", FieldType.DATETIME), NeededField("cw_breached", FieldType.TEXT))
    return BootstrapNeeds(suite.fields + extra, suite.statuses, suite.levels)


def _managed() -> tuple[str, ...]:
    policy = load_policy_text(SUITE_POLICY)
    names = [name for _logical, name in managed_fields(policy, TrackerSpec(name="suite", type="zendesk"))]
    return tuple(dict.fromkeys([*names, "cw_next_due", "cw_breached"]))


class ZendeskUnderTest:
    name = "zendesk"
    page_size = 3
    history_page = 100

    def __init__(self, directory: Path, clock: Callable[[], datetime]) -> None:
        self.directory = directory
        self.fake = SuiteZendesk(clock)
        self.mock = responses.RequestsMock(assert_all_requests_are_fired=False)
        self.mock.start()
        self.faults = WireFaults(self.fake)
        url = __import__("re").compile("^" + __import__("re").escape(BASE_URL) + "/api/v2/")
        for method in ("GET", "POST", "PUT", "DELETE", "PATCH"):
            self.mock.add_callback(method, url, callback=self.faults, content_type=None)
        self.harness = ZendeskHarness(self.fake)
        self.fields = _managed()
        self._made: list[ZendeskConnector] = []
        # an instance an admin has bootstrapped (doctor's field checks pass); bootstrap itself is proved
        # by the contract suite's idempotence test and tests/test_zendesk_writing.py
        setup = self.connector()
        setup.bootstrap_apply(setup.bootstrap_plan(_needs()))

    def settings(self) -> ZendeskSettings:
        return ZendeskSettings(
            base_url=BASE_URL,
            email=self.fake.admin.email,
            token_env=TOKEN_ENV,
            page_size=self.page_size,
            events_page_size=50,
            requests_per_minute=2500,
            job_poll_interval=0.001,
        )

    def connector(self) -> ZendeskConnector:
        context = ConnectorContext(
            tracker="suite",
            names=NameMap(LEVEL_MAP, STATUS_MAP, policy_levels=LEVELS, policy_statuses=list(STATUSES)),
            case_data=CaseSources.model_validate(CASE_DATA),
            fields=self.fields,
            base_dir=self.directory,
            environ={TOKEN_ENV: self.fake.api_token},
        )
        conn = ZendeskConnector(self.settings(), context, sleep=lambda _s: None)
        self._made.append(conn)
        return conn

    def tracker_entry(self) -> str:
        entry = {
            "name": "suite",
            "type": "zendesk",
            "settings": {
                "base_url": BASE_URL,
                "email": self.fake.admin.email,
                "token_env": TOKEN_ENV,
                "page_size": self.page_size,
                "events_page_size": 50,
                "requests_per_minute": 2500,
            },
            "levels": LEVEL_MAP,
            "statuses": STATUS_MAP,
            "case_data": CASE_DATA,
        }
        # block style, one flow (JSON) value per key, so a caller can append more keys of the entry
        lines = [
            f"{'  - ' if i == 0 else '    '}{k}: {json.dumps(v)}" for i, (k, v) in enumerate(entry.items())
        ]
        return "\n".join(lines) + "\n"

    def close(self) -> None:
        for conn in self._made:
            conn.close()
        self.mock.stop()
        self.mock.reset()


def make(directory: Path, clock: Callable[[], datetime]) -> ZendeskUnderTest:
    return ZendeskUnderTest(directory, clock)
