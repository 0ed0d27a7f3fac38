"""The fake Zendesk, driven by the real zenpy client through ``responses``.

These tests pin down the behaviour a connector will rely on (paging, the last-minute exclusion of
the incremental exports, jobs, tags, custom statuses, fields) and what zenpy itself does when the
service misbehaves (429 in its three ``Retry-After`` forms, ``ratelimit_budget``, 5xx, a write that
lands but answers 500). zenpy's ``sleep`` is replaced by one that advances the fake clock, so rate
limits play out in fake time and the tests take none.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
import responses
from zenpy import Zenpy
from zenpy.lib.api_objects import Comment, CustomFieldOption, CustomStatus, Ticket, TicketField
from zenpy.lib.exception import APIException, RatelimitBudgetExceeded, RecordNotFoundException

from tests.fakes.zendesk import Account, FakeZendesk, User

T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
EXPORT = "GET /api/v2/incremental/tickets/cursor"
EVENTS = "GET /api/v2/incremental/ticket_events"
UPDATE = "PUT /api/v2/tickets/{ticket_id}"
SHOW = "GET /api/v2/tickets/{ticket_id}"


class FakeSleep(list[float]):
    """zenpy's ``sleep``: records each wait and moves the fake clock by it."""

    def __init__(self, fakes: list[FakeZendesk]) -> None:
        super().__init__()
        self.fakes = fakes

    def __call__(self, seconds: float) -> None:
        self.append(seconds)
        for fake in self.fakes:
            fake.advance(timedelta(seconds=seconds))


@pytest.fixture
def fake() -> FakeZendesk:
    return FakeZendesk(now=T0)


@pytest.fixture
def rsps() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch, fake: FakeZendesk) -> FakeSleep:
    sleep = FakeSleep([fake])
    monkeypatch.setattr("zenpy.lib.api.sleep", sleep)
    return sleep


@pytest.fixture
def zenpy(fake: FakeZendesk, rsps: responses.RequestsMock, sleeps: FakeSleep) -> Zenpy:
    fake.mount(rsps)
    return Zenpy(**fake.zenpy_kwargs())


@pytest.fixture
def people(fake: FakeZendesk) -> tuple[User, User]:
    customer = fake.create_user("Carla Customer", "carla@example.com", at=T0)
    agent = fake.create_user("Ann Agent", "ann@acme.example", role="agent", at=T0)
    return customer, agent


def unix(at: datetime) -> int:
    return int(at.timestamp())


# ------------------------------------------------------------------------------------------------
# Incremental ticket export (cursor based)


def test_cursor_export_pages_and_resumes_without_loss_or_duplicates(
    fake: FakeZendesk, zenpy: Zenpy, people: tuple[User, User]
) -> None:
    customer, agent = people
    org = fake.create_organization("Acme Corp", organization_fields={"tier": "gold"}, at=T0)
    customer.organization_id = org.id
    made = [
        fake.create_ticket(
            f"case {i}",
            "help",
            requester=customer,
            created_at=T0 + timedelta(minutes=i),
            group_id=fake.support_group.id,
        )
        for i in range(25)
    ]
    fake.now = T0 + timedelta(hours=1)

    first = zenpy.tickets.incremental(
        start_time=unix(T0 - timedelta(hours=1)), include=["users", "groups", "organizations"], per_page=10
    )
    seen = [t.id for t in first]
    assert seen == [t.id for t in made]
    assert fake.log.count(EXPORT) == 3  # 10 + 10 + 5, the last page says end_of_stream
    assert first.end_of_stream is True
    saved_cursor = first.after_cursor

    page = fake.log.of(EXPORT)[0].response
    assert {u["id"] for u in page["users"]} == {customer.id}
    assert [g["id"] for g in page["groups"]] == [fake.support_group.id]
    assert page["organizations"][0]["organization_fields"] == {"tier": "gold"}
    assert page["after_url"].startswith(fake.base_url + "/api/v2/incremental/tickets/cursor.json?cursor=")

    # one ticket changes and one is created inside the minute before the next read: both held back
    fake.add_comment(made[3], fake.now - timedelta(seconds=40), agent, "on it", public=True)
    late = fake.create_ticket("late", "x", requester=customer, created_at=fake.now - timedelta(seconds=10))
    held = zenpy.tickets.incremental(cursor=saved_cursor)
    assert [t.id for t in held] == []
    assert held.after_cursor == saved_cursor  # the cursor did not move past what was held back

    fake.advance(timedelta(minutes=2))
    resumed = zenpy.tickets.incremental(cursor=saved_cursor)
    assert [t.id for t in resumed] == [made[3].id, late.id]
    assert resumed.end_of_stream is True
    again = zenpy.tickets.incremental(cursor=resumed.after_cursor)
    assert list(again) == []


def test_cursor_export_refuses_a_start_time_inside_the_last_minute(fake: FakeZendesk, zenpy: Zenpy) -> None:
    with pytest.raises(APIException) as caught:
        list(zenpy.tickets.incremental(start_time=unix(fake.now) - 30))
    assert caught.value.response.status_code == 400
    assert "Too recent start_time" in caught.value.response.json()["description"]
    assert list(zenpy.tickets.incremental(start_time=unix(fake.now) - 60)) == []


def test_export_lag_holds_back_more_than_the_minute(
    fake: FakeZendesk, zenpy: Zenpy, people: tuple[User, User]
) -> None:
    customer, _ = people
    fake.now = T0 + timedelta(hours=1)
    ticket = fake.create_ticket(
        "slow index", "x", requester=customer, created_at=fake.now - timedelta(minutes=3)
    )
    fake.faults.export_lag_seconds = 300
    start = unix(T0)
    assert list(zenpy.tickets.incremental(start_time=start)) == []
    fake.faults.export_lag_seconds = 0
    assert [t.id for t in zenpy.tickets.incremental(start_time=start)] == [ticket.id]


def test_cursor_export_shows_deleted_and_merged_tickets(
    fake: FakeZendesk, zenpy: Zenpy, people: tuple[User, User]
) -> None:
    customer, agent = people
    gone = fake.create_ticket("spam", "buy now", requester=customer, created_at=T0)
    target = fake.create_ticket("printer", "broken", requester=customer, created_at=T0)
    duplicate = fake.create_ticket("printer again", "still broken", requester=customer, created_at=T0)
    fake.delete_ticket(gone, T0 + timedelta(minutes=1))
    fake.merge_tickets(target, [duplicate], T0 + timedelta(minutes=2), author=agent)
    fake.now = T0 + timedelta(minutes=10)

    exported = {t.id: t for t in zenpy.tickets.incremental(start_time=unix(T0) - 3600)}
    assert exported[gone.id].status == "deleted"
    assert exported[duplicate.id].status == "closed"
    assert "closed_by_merge" in exported[duplicate.id].tags
    note = next(e for e in duplicate.audits[-1].events if e["type"] == "Comment")
    assert note["public"] is False and f"#{target.id}" in note["body"]
    with pytest.raises(RecordNotFoundException):
        zenpy.tickets(id=gone.id)


# ------------------------------------------------------------------------------------------------
# Incremental ticket events export (time based)


def _history(fake: FakeZendesk, customer: User, agent: User, count: int, start: datetime) -> list[int]:
    """``count`` audits, two per second, alternating comments and status changes."""
    ticket = fake.create_ticket("history", "first", requester=customer, created_at=start)
    audit_ids = [ticket.audits[0].id]
    for i in range(1, count):
        at = start + timedelta(seconds=i // 2)
        if i % 2:
            audit_ids.append(fake.add_comment(ticket, at, agent, f"note {i}", public=False).id)
        else:
            audit_ids.append(fake.set_status(ticket, at, "pending" if i % 4 else "open", author=agent).id)
    return audit_ids


def test_ticket_events_export_pages_and_resumes_from_end_time(
    fake: FakeZendesk, zenpy: Zenpy, people: tuple[User, User]
) -> None:
    customer, agent = people
    written = _history(fake, customer, agent, 25, T0)
    fake.now = T0 + timedelta(hours=1)

    events = zenpy.tickets.events(start_time=unix(T0) - 10, include=["comment_events"], per_page=10)
    got = [e.id for e in events]
    calls = fake.log.count(EVENTS)
    assert calls >= 3
    # each page runs to the end of its last second and the next starts there: those come twice
    assert sorted(set(got)) == sorted(written)
    assert len(got) > len(set(got))
    assert events.end_of_stream is True
    end_time = events.end_time
    assert end_time == unix(T0 + timedelta(seconds=12))

    first_page = fake.log.of(EVENTS)[0].response
    comment = next(
        c for e in first_page["ticket_events"] for c in e["child_events"] if c["event_type"] == "Comment"
    )
    assert comment["body"] == "first" and comment["public"] is True
    assert first_page["next_page"].startswith(fake.base_url + "/api/v2/incremental/ticket_events.json?")

    # new history, partly inside the excluded minute; resuming from end_time loses nothing
    ticket_id = fake.tickets[max(fake.tickets)].id
    older = fake.set_priority(ticket_id, fake.now - timedelta(minutes=5), "high", author=agent)
    recent = fake.set_priority(ticket_id, fake.now - timedelta(seconds=20), "urgent", author=agent)
    resumed = [e.id for e in zenpy.tickets.events(start_time=end_time)]
    assert older.id in resumed and recent.id not in resumed
    fake.advance(timedelta(minutes=1))
    later = list(zenpy.tickets.events(start_time=end_time))
    later_ids = [e.id for e in later]
    assert recent.id in later_ids
    change = next(e for e in later if e.id == recent.id).child_events[0]
    assert change == {
        "id": change["id"],
        "via": "Web form",
        "via_reference_id": None,
        "priority": "urgent",
        "previous_value": "high",
        "event_type": "Change",
    }


def test_ticket_events_without_comment_sideload_only_flag_comments(
    fake: FakeZendesk, zenpy: Zenpy, people: tuple[User, User]
) -> None:
    customer, agent = people
    ticket = fake.create_ticket("t", "secret text", requester=customer, created_at=T0, tags=["vip"])
    fake.add_comment(ticket, T0 + timedelta(minutes=1), agent, "internal", public=False)
    fake.add_tags(ticket, T0 + timedelta(minutes=2), ["escalated"], author=agent)
    fake.now = T0 + timedelta(hours=1)
    events = list(zenpy.tickets.events(start_time=unix(T0) - 60))
    comment = events[1].child_events[0]
    assert comment["comment_present"] is True and comment["comment_public"] is False
    assert "body" not in comment
    tags = events[2].child_events[0]
    assert tags["tags"] == ["vip", "escalated"]
    assert tags["added_tags"] == ["escalated"] and tags["removed_tags"] == []


def test_ticket_events_export_needs_an_admin(
    fake: FakeZendesk, rsps: responses.RequestsMock, people: tuple[User, User]
) -> None:
    _, agent = people
    fake.mount(rsps)
    as_agent = Zenpy(**fake.zenpy_kwargs(agent))
    with pytest.raises(APIException) as caught:
        list(as_agent.tickets.events(start_time=unix(T0) - 3600))
    assert caught.value.response.status_code == 403


# ------------------------------------------------------------------------------------------------
# Audits, reads


def test_audits_page_by_100_with_cursor_links(
    fake: FakeZendesk, zenpy: Zenpy, people: tuple[User, User]
) -> None:
    customer, agent = people
    ticket = fake.create_ticket("long", "story", requester=customer, created_at=T0)
    for i in range(149):
        fake.add_comment(ticket, T0 + timedelta(minutes=i + 1), agent, f"update {i}", public=i % 2 == 0)
    audits = list(zenpy.tickets.audits(ticket=ticket.id))
    assert [a.id for a in audits] == [a.id for a in ticket.audits]
    assert len(audits) == 150
    calls = fake.log.of("GET /api/v2/tickets/{ticket_id}/audits")
    assert len(calls) == 2
    assert calls[0].query["page[size]"] == "100"
    assert calls[0].response["meta"]["has_more"] is True
    assert calls[1].response["meta"]["has_more"] is False
    assert calls[0].response["links"]["next"].startswith(fake.base_url)


def test_show_many_and_single_reads(fake: FakeZendesk, zenpy: Zenpy, people: tuple[User, User]) -> None:
    customer, _ = people
    a = fake.create_ticket("a", "x", requester=customer, created_at=T0)
    b = fake.create_ticket("b", "y", requester=customer, created_at=T0)
    fake.delete_ticket(b, T0)
    assert [t.id for t in zenpy.tickets(ids=[a.id, b.id, 999])] == [a.id]
    assert zenpy.tickets(id=a.id).description == "x"
    assert {u.email for u in zenpy.users(ids=[customer.id])} == {"carla@example.com"}
    assert [u.id for u in zenpy.users.search(query="email:carla@example.com")] == [customer.id]
    assert zenpy.users.me().role == "admin"


# ------------------------------------------------------------------------------------------------
# Writes: single, bulk and jobs


def test_single_update_returns_ticket_and_audit_with_metadata(
    fake: FakeZendesk, zenpy: Zenpy, people: tuple[User, User]
) -> None:
    customer, _ = people
    ticket = fake.create_ticket("t", "x", requester=customer, created_at=T0)
    fake.now = T0 + timedelta(hours=1)
    change = Ticket(id=ticket.id, status="pending", priority="high")
    change.comment = Comment(body="casewarden: due 2025-03-04T09:00Z", public=False)
    change.metadata = {"custom": {"casewarden": {"action": "a1"}}}
    result = zenpy.tickets.update(change)
    assert result.ticket.status == "pending"
    assert result.audit.metadata.custom == {"casewarden": {"action": "a1"}}
    kinds = [(e["type"], e.get("field_name")) for e in result.audit.events]
    assert kinds == [
        ("Comment", None),
        ("Change", "priority"),
        ("Change", "status"),
        ("Change", "custom_status_id"),
    ]
    assert fake.tickets[ticket.id].updated_at == fake.now


def test_update_many_job_completes_with_results_per_ticket(
    fake: FakeZendesk, zenpy: Zenpy, people: tuple[User, User]
) -> None:
    customer, agent = people
    tickets = [fake.create_ticket(f"t{i}", "x", requester=customer, created_at=T0) for i in range(3)]
    closed = fake.create_ticket("old", "x", requester=customer, created_at=T0)
    fake.set_status(closed, T0, "closed", author=agent)
    fake.now = T0 + timedelta(hours=1)
    changes = [Ticket(id=t.id, additional_tags=["cw_l2"], assignee_id=agent.id) for t in tickets]
    changes.append(Ticket(id=closed.id, priority="urgent"))
    changes.append(Ticket(id=424242, priority="urgent"))
    job = zenpy.tickets.update(changes)
    assert job.status == "queued"
    polled = zenpy.job_status(id=job.id)
    assert polled.status == "completed" and polled.progress == polled.total == 5
    outcome = {r.id: (r.success, getattr(r, "details", None)) for r in polled.results}
    assert outcome[tickets[0].id] == (True, None)
    assert outcome[closed.id] == (False, "Status: closed prevents ticket update")
    assert outcome[424242][0] is False
    for t in tickets:
        assert fake.tickets[t.id].tags == ["cw_l2"] and fake.tickets[t.id].status == "open"
    assert fake.log.writes()[0].body["tickets"][0]["id"] == tickets[0].id


def test_update_many_failed_and_per_ticket_failures(
    fake: FakeZendesk, zenpy: Zenpy, people: tuple[User, User]
) -> None:
    customer, _ = people
    a = fake.create_ticket("a", "x", requester=customer, created_at=T0)
    b = fake.create_ticket("b", "x", requester=customer, created_at=T0)
    fake.faults.fail_next_job("Internal error")
    job = zenpy.tickets.update([Ticket(id=a.id, priority="low"), Ticket(id=b.id, priority="low")])
    failed = zenpy.job_status(id=job.id)
    assert failed.status == "failed" and failed.message == "Internal error"
    assert fake.tickets[a.id].priority is None  # nothing of a failed job is applied

    fake.faults.fail_tickets_in_jobs({b.id: "Ticket is locked"})
    job = zenpy.tickets.update([Ticket(id=a.id, priority="low"), Ticket(id=b.id, priority="low")])
    done = zenpy.job_status(id=job.id)
    assert done.status == "completed"
    assert [(r.id, r.success) for r in done.results] == [(a.id, True), (b.id, False)]
    assert fake.tickets[a.id].priority == "low" and fake.tickets[b.id].priority is None


def test_slow_job_stays_working_for_the_given_polls(
    fake: FakeZendesk, zenpy: Zenpy, people: tuple[User, User]
) -> None:
    customer, _ = people
    a = fake.create_ticket("a", "x", requester=customer, created_at=T0)
    fake.faults.slow_jobs(polls=2)
    job = zenpy.tickets.update([Ticket(id=a.id, type="task")])
    assert [zenpy.job_status(id=job.id).status for _ in range(2)] == ["working", "working"]
    assert fake.tickets[a.id].type is None  # the work has not run yet
    fake.advance(timedelta(seconds=30))
    final = zenpy.job_status(id=job.id)
    assert final.status == "completed"
    assert fake.tickets[a.id].type == "task"
    assert fake.tickets[a.id].updated_at == T0 + timedelta(seconds=30)  # stamped when the job ran
    statuses = zenpy.job_status(ids=[job.id])
    assert [s.status for s in statuses["job_statuses"]] == ["completed"]


def test_jobs_limits_thirty_at_a_time_and_a_day_of_retention(
    fake: FakeZendesk, zenpy: Zenpy, people: tuple[User, User]
) -> None:
    customer, _ = people
    a = fake.create_ticket("a", "x", requester=customer, created_at=T0)
    fake.faults.slow_jobs(polls=5, count=30)
    jobs = [zenpy.tickets.update([Ticket(id=a.id, priority="low")]) for _ in range(30)]
    with pytest.raises(APIException) as caught:
        zenpy.tickets.update([Ticket(id=a.id, priority="low")])
    assert caught.value.response.status_code == 429
    assert "Retry-After" not in caught.value.response.headers
    fake.finish_jobs()
    fake.advance(timedelta(days=1, seconds=1))
    with pytest.raises(RecordNotFoundException):
        zenpy.job_status(id=jobs[0].id)


def test_a_write_that_lands_but_answers_500(
    fake: FakeZendesk, zenpy: Zenpy, people: tuple[User, User]
) -> None:
    customer, _ = people
    ticket = fake.create_ticket("t", "x", requester=customer, created_at=T0)
    fake.faults.fail_next(UPDATE, lands=True)
    change = Ticket(id=ticket.id)
    change.comment = Comment(body="casewarden marker", public=False)
    with pytest.raises(APIException) as caught:
        zenpy.tickets.update(change)
    assert caught.value.response.status_code == 500
    assert [c["body"] for c in fake.tickets[ticket.id].comments()] == ["x", "casewarden marker"]
    # an HTML error page is not JSON: zenpy lets requests raise HTTPError instead
    fake.faults.fail_next(UPDATE, lands=True, html=True)
    with pytest.raises(requests.HTTPError):
        zenpy.tickets.update(change)
    assert len(list(fake.tickets[ticket.id].comments())) == 3


def test_503_is_retried_by_zenpys_adapter_on_https_only(
    fake: FakeZendesk, zenpy: Zenpy, people: tuple[User, User]
) -> None:
    """zenpy mounts urllib3 ``Retry(total=3, status_forcelist={413, 503})`` on ``https://``: a PUT
    answered 503 is sent again, so a 503 that landed is applied once per attempt."""
    customer, _ = people
    ticket = fake.create_ticket("t", "x", requester=customer, created_at=T0)
    fake.faults.fail_next(UPDATE, count=2, status=503, lands=True)
    change = Ticket(id=ticket.id)
    change.comment = Comment(body="not idempotent", public=False)
    zenpy.tickets.update(change)
    assert fake.log.count(UPDATE) == 3
    assert [c["body"] for c in fake.tickets[ticket.id].comments()].count("not idempotent") == 3
    fake.faults.fail_next(UPDATE, count=4, status=503)
    with pytest.raises(requests.exceptions.RetryError):
        zenpy.tickets.update(change)
    fake.faults.fail_next(UPDATE, count=1, status=500)
    with pytest.raises(APIException):  # 500 is not in the retry list
        zenpy.tickets.update(change)


def test_http_base_url_gets_no_adapter_retries(
    monkeypatch: pytest.MonkeyPatch, rsps: responses.RequestsMock, sleeps: FakeSleep
) -> None:
    local = FakeZendesk("http://127.0.0.1:8080", now=T0)
    for name, value in local.zenpy_env().items():
        monkeypatch.setenv(name, value)
    local.mount(rsps)
    client = Zenpy(**local.zenpy_kwargs())
    local.faults.fail_next("GET /api/v2/users/me", status=503)
    with pytest.raises(APIException):
        client.users.me()
    assert local.log.count("GET /api/v2/users/me") == 1
    assert client.users.me().email == local.admin.email


def test_create_with_external_id_then_find_it_and_follow_ups(
    fake: FakeZendesk, zenpy: Zenpy, people: tuple[User, User]
) -> None:
    customer, agent = people
    created = zenpy.tickets.create(
        Ticket(
            subject="From casewarden",
            comment=Comment(body="opened by the local tracker"),
            requester_id=customer.id,
            external_id="cw-123",
            tags=["casewarden"],
        )
    )
    assert created.ticket.external_id == "cw-123"
    assert fake.log.of("POST /api/v2/tickets")[0].status == 201
    found = list(zenpy.tickets(external_id="cw-123"))
    assert [t.id for t in found] == [created.ticket.id]
    assert list(zenpy.tickets(external_id="nope")) == []

    with pytest.raises(APIException) as caught:
        zenpy.tickets.create(
            Ticket(subject="f", comment=Comment(body="b"), via_followup_source_id=created.ticket.id)
        )
    assert caught.value.response.status_code == 422
    fake.set_status(created.ticket.id, None, "closed", author=agent)
    follow_up = zenpy.tickets.create(
        Ticket(subject="f", comment=Comment(body="b"), via_followup_source_id=created.ticket.id)
    )
    assert follow_up.ticket.via.source.rel == "follow_up"
    assert fake.tickets[created.ticket.id].followup_ids == [follow_up.ticket.id]
    with pytest.raises(APIException) as caught:
        zenpy.tickets.create(Ticket(subject="no description"))
    assert caught.value.response.status_code == 422


def test_closed_tickets_and_safe_update_refuse_changes(
    fake: FakeZendesk, zenpy: Zenpy, people: tuple[User, User]
) -> None:
    customer, agent = people
    ticket = fake.create_ticket("t", "x", requester=customer, created_at=T0)
    stale = iso_of(fake.tickets[ticket.id].updated_at)
    fake.add_comment(ticket, T0 + timedelta(minutes=1), customer, "more info")
    fake.now = T0 + timedelta(minutes=5)
    with pytest.raises(APIException) as caught:
        zenpy.tickets.update(Ticket(id=ticket.id, priority="low", safe_update=True, updated_stamp=stale))
    assert caught.value.response.status_code == 409
    fake.set_status(ticket, None, "closed", author=agent)
    with pytest.raises(APIException) as caught:
        zenpy.tickets.update(Ticket(id=ticket.id, priority="low"))
    assert caught.value.response.status_code == 422


def iso_of(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_bulk_links_incidents_to_a_problem_and_adds_followers(
    fake: FakeZendesk, zenpy: Zenpy, people: tuple[User, User]
) -> None:
    customer, agent = people
    master = fake.create_ticket("outage", "all down", requester=customer, created_at=T0, type="problem")
    child = fake.create_ticket("me too", "down", requester=customer, created_at=T0)
    plain = fake.create_ticket("question", "?", requester=customer, created_at=T0)
    job = zenpy.tickets.update(
        [
            Ticket(
                id=child.id,
                type="incident",
                problem_id=master.id,
                additional_collaborators=[agent.id, "boss@example.com"],
            ),
            Ticket(id=plain.id, type="incident", problem_id=child.id),  # not a problem: refused
        ]
    )
    results = zenpy.job_status(id=job.id).results
    assert [(r.id, r.success) for r in results] == [(child.id, True), (plain.id, False)]
    shown = zenpy.tickets(id=child.id)
    assert (shown.type, shown.problem_id) == ("incident", master.id)
    boss = fake.user_by_email("boss@example.com")
    assert boss is not None and boss.role == "end-user"
    assert (shown.follower_ids, shown.email_cc_ids) == ([agent.id], [boss.id])
    assert zenpy.tickets(id=master.id).has_incidents is True
    assert [e["type"] for e in child.audits[-1].events][-2:] == ["FollowerChange", "EmailCcChange"]


def test_merge_through_the_api_is_a_job(fake: FakeZendesk, zenpy: Zenpy, people: tuple[User, User]) -> None:
    customer, _ = people
    target = fake.create_ticket("printer", "broken", requester=customer, created_at=T0)
    source = fake.create_ticket("printer!!", "still broken", requester=customer, created_at=T0)
    job = zenpy.tickets.merge(
        target.id, [source.id], target_comment="merged in", source_comment="closed: duplicate"
    )
    assert zenpy.job_status(id=job.id).status == "completed"
    assert (fake.tickets[source.id].status, fake.tickets[source.id].tags) == ("closed", ["closed_by_merge"])
    assert [c["body"] for c in fake.tickets[target.id].comments()] == ["broken", "merged in"]
    fake.now = T0 + timedelta(minutes=5)
    events = {e.id: e for e in zenpy.tickets.events(start_time=unix(T0) - 60)}
    assert events[target.audits[-1].id].merged_ticket_ids == [source.id]


def test_deleted_ticket_shows_as_a_status_change_in_the_events_export(
    fake: FakeZendesk, zenpy: Zenpy, people: tuple[User, User]
) -> None:
    customer, _ = people
    ticket = fake.create_ticket("spam", "x", requester=customer, created_at=T0)
    zenpy.tickets.delete(Ticket(id=ticket.id))
    assert fake.log.of("DELETE /api/v2/tickets/{ticket_id}")[0].status == 204
    fake.advance(timedelta(minutes=2))
    last = list(zenpy.tickets.events(start_time=unix(T0) - 60))[-1]
    assert last.child_events[0]["status"] == "deleted"
    assert last.child_events[0]["previous_value"] == "new"


def test_people_and_comments_reads(fake: FakeZendesk, zenpy: Zenpy, people: tuple[User, User]) -> None:
    customer, agent = people
    org = fake.create_organization("Acme Corp", organization_fields={"support_level": "gold"}, at=T0)
    nyc = fake.create_user(
        "Ned", "ned@example.com", time_zone="America/New_York", organization_id=org.id, at=T0
    )
    assert [(o.id, o.organization_fields["support_level"]) for o in zenpy.organizations(ids=[org.id])] == [
        (org.id, "gold")
    ]
    shown = zenpy.users(id=nyc.id)
    assert (shown.time_zone, shown.iana_time_zone) == ("Eastern Time (US & Canada)", "America/New_York")
    assert [g.name for g in zenpy.groups()] == ["Support"]
    ticket = fake.create_ticket("t", "first", requester=customer, created_at=T0)
    fake.add_comment(ticket, T0 + timedelta(minutes=1), agent, "internal <b>note</b>", public=False)
    comments = list(zenpy.tickets.comments(ticket.id))
    assert [(c.body, c.public, c.author_id) for c in comments] == [
        ("first", True, customer.id),
        ("internal <b>note</b>", False, agent.id),
    ]
    assert "&lt;b&gt;" in comments[1].html_body


# ------------------------------------------------------------------------------------------------
# Tags, custom statuses, fields


def test_tags_add_and_remove_in_place_while_setting_replaces(
    fake: FakeZendesk, zenpy: Zenpy, people: tuple[User, User]
) -> None:
    customer, _ = people
    ticket = fake.create_ticket("t", "x", requester=customer, created_at=T0, tags=["vip", "billing"])
    assert list(zenpy.tickets.add_tags(ticket.id, ["cw_due_soon"])) == ["vip", "billing", "cw_due_soon"]
    zenpy.tickets.delete_tags(ticket.id, ["billing"])
    assert fake.tickets[ticket.id].tags == ["vip", "cw_due_soon"]
    assert list(zenpy.tickets.tags(ticket.id)) == ["vip", "cw_due_soon"]
    assert list(zenpy.tickets.set_tags(ticket.id, ["only"])) == ["only"]
    zenpy.tickets.update(Ticket(id=ticket.id, tags=["Two Words"]))  # setting ticket.tags replaces
    assert fake.tickets[ticket.id].tags == ["two", "words"]
    tag_changes = [
        (e["previous_value"], e["value"])
        for a in ticket.audits
        for e in a.events
        if e.get("field_name") == "tags" and e["type"] == "Change"
    ]
    assert tag_changes == [
        (["vip", "billing"], ["vip", "billing", "cw_due_soon"]),
        (["vip", "billing", "cw_due_soon"], ["vip", "cw_due_soon"]),
        (["vip", "cw_due_soon"], ["only"]),
        (["only"], ["two", "words"]),
    ]
    statuses = [e.status for e in fake.log.entries if "/tags" in e.path]
    assert statuses == [200, 204, 200, 201]


def test_custom_statuses_list_create_update_and_use(
    fake: FakeZendesk, zenpy: Zenpy, people: tuple[User, User]
) -> None:
    customer, _ = people
    defaults = list(zenpy.custom_statuses())
    assert sorted(s.status_category for s in defaults) == ["hold", "new", "open", "pending", "solved"]
    assert all(s.default for s in defaults)
    waiting = zenpy.custom_statuses.create(
        CustomStatus(status_category="pending", agent_label="Waiting on vendor")
    )
    assert waiting.end_user_label == "Waiting on vendor" and waiting.active
    ticket = fake.create_ticket("t", "x", requester=customer, created_at=T0)
    result = zenpy.tickets.update(Ticket(id=ticket.id, custom_status_id=waiting.id))
    assert (result.ticket.status, result.ticket.custom_status_id) == ("pending", waiting.id)
    result = zenpy.tickets.update(Ticket(id=ticket.id, status="open"))
    assert result.ticket.custom_status_id == fake.default_status_for("open").id

    waiting.active = False
    assert zenpy.custom_statuses.update(waiting).active is False
    with pytest.raises(APIException) as caught:
        zenpy.tickets.update(Ticket(id=ticket.id, custom_status_id=waiting.id))
    assert caught.value.response.status_code == 422
    with pytest.raises(APIException):
        zenpy.custom_statuses.create(CustomStatus(status_category="closed", agent_label="Nope"))
    for i in range(98):
        fake.create_custom_status("pending", f"p{i}")
    with pytest.raises(APIException) as caught:  # 100 per category
        zenpy.custom_statuses.create(CustomStatus(status_category="pending", agent_label="one too many"))
    assert "100" in caught.value.response.text


def test_custom_statuses_not_activated(rsps: responses.RequestsMock, sleeps: FakeSleep) -> None:
    fake = FakeZendesk(now=T0, account=Account(custom_statuses_enabled=False))
    fake.mount(rsps)
    client = Zenpy(**fake.zenpy_kwargs())
    settings = client.users.session.get(f"{fake.base_url}/api/v2/account/settings.json").json()
    assert settings["settings"]["tickets"]["custom_statuses_enabled"] is False
    customer = fake.create_user("c", "c@example.com")
    ticket = fake.create_ticket("t", "x", requester=customer, created_at=T0)
    shown = client.tickets(id=ticket.id)
    assert not hasattr(shown, "custom_status_id") or shown.custom_status_id is None
    with pytest.raises(APIException):
        client.custom_statuses.create(CustomStatus(status_category="open", agent_label="x"))


def test_ticket_fields_create_options_and_values(
    fake: FakeZendesk, zenpy: Zenpy, people: tuple[User, User]
) -> None:
    customer, _ = people
    names = [f.type for f in zenpy.ticket_fields()]
    assert {"subject", "status", "priority", "group", "assignee", "custom_status"} <= set(names)
    level = zenpy.ticket_fields.create(
        TicketField(
            type="tagger",
            title="Support level",
            custom_field_options=[
                CustomFieldOption(name="L1", value="cw_l1"),
                CustomFieldOption(name="L2", value="cw_l2"),
            ],
        )
    )
    assert [o.value for o in level.custom_field_options] == ["cw_l1", "cw_l2"]
    zenpy.ticket_fields.options.create_or_update(level.id, CustomFieldOption(name="L3", value="cw_l3"))
    assert [o.value for o in zenpy.ticket_fields.options(id=level.id)] == ["cw_l1", "cw_l2", "cw_l3"]
    due = fake.create_ticket_field("regexp", "Due (UTC)", regexp_for_validation=r"\d{4}-\d\d-\d\dT\d\d:\d\dZ")
    with pytest.raises(APIException):
        zenpy.ticket_fields.create(TicketField(type="datetime", title="no such type"))

    ticket = fake.create_ticket("t", "x", requester=customer, created_at=T0, tags=["keep"])
    result = zenpy.tickets.update(
        Ticket(
            id=ticket.id,
            custom_fields=[
                {"id": level.id, "value": "cw_l2"},
                {"id": due.id, "value": "2025-03-04T09:00Z"},
                {"id": 987654, "value": "ignored"},
            ],
        )
    )
    values = {f["id"]: f["value"] for f in result.ticket.custom_fields}
    assert values[level.id] == "cw_l2" and values[due.id] == "2025-03-04T09:00Z"
    assert 987654 not in values
    assert result.ticket.tags == ["keep", "cw_l2"]  # a drop-down value is a tag
    zenpy.tickets.update(Ticket(id=ticket.id, custom_fields=[{"id": level.id, "value": "cw_l3"}]))
    assert fake.tickets[ticket.id].tags == ["keep", "cw_l3"]
    for bad in ({"id": level.id, "value": "cw_l9"}, {"id": due.id, "value": "tomorrow"}):
        with pytest.raises(APIException) as caught:
            zenpy.tickets.update(Ticket(id=ticket.id, custom_fields=[bad]))
        assert caught.value.response.status_code == 422
    changed = [e for e in ticket.audits[-1].events if e.get("field_name") == str(level.id)]
    assert changed[0]["previous_value"] == "cw_l2" and changed[0]["value"] == "cw_l3"


# ------------------------------------------------------------------------------------------------
# Rate limits: what zenpy does with each form of Retry-After


def test_429_with_retry_after_seconds_is_waited_out(
    fake: FakeZendesk, zenpy: Zenpy, sleeps: FakeSleep
) -> None:
    fake.faults.rate_limit_next(retry_after=3)
    assert zenpy.users.me().email == fake.admin.email
    assert sleeps == [1, 1, 1]  # zenpy sleeps second by second
    assert [e.status for e in fake.log] == [429, 200]


def test_429_with_http_date_retry_after_breaks_zenpy(fake: FakeZendesk, zenpy: Zenpy) -> None:
    fake.faults.rate_limit_next(retry_after=fake.now + timedelta(seconds=30))
    with pytest.raises(ValueError):  # int("Mon, 03 Mar 2025 ...")
        zenpy.users.me()
    assert fake.log.entries[0].response_headers["Retry-After"].endswith("GMT")


@pytest.mark.parametrize("retry_after", [None, 0])
def test_429_with_missing_or_zero_retry_after_raises(
    fake: FakeZendesk, zenpy: Zenpy, retry_after: int | None
) -> None:
    fake.faults.rate_limit_next(retry_after=retry_after)
    with pytest.raises(APIException) as caught:
        zenpy.users.me()
    assert caught.value.response.status_code == 429
    assert fake.log.count() == 1


def test_ratelimit_budget_stops_zenpy_waiting(
    fake: FakeZendesk, rsps: responses.RequestsMock, sleeps: FakeSleep
) -> None:
    fake.mount(rsps)
    budgeted = Zenpy(**fake.zenpy_kwargs(), ratelimit_budget=5)
    fake.faults.rate_limit_next(count=2, retry_after=3)
    with pytest.raises(RatelimitBudgetExceeded):
        budgeted.users.me()
    # 3 s for the first 429, then the budget (a lifetime total, never refilled) runs out
    assert len(sleeps) == 4
    assert fake.log.count() == 2


def test_requests_per_minute_budget_follows_the_fake_clock(
    fake: FakeZendesk, zenpy: Zenpy, sleeps: FakeSleep
) -> None:
    fake.now = T0 + timedelta(seconds=50)
    fake.faults.limit_per_minute(3)
    for _ in range(3):
        zenpy.users.me()
    remaining = [e.response_headers["X-Rate-Limit-Remaining"] for e in fake.log]
    assert remaining == ["2", "1", "0"]
    assert fake.log.entries[0].response_headers["ratelimit-limit"] == "3"
    assert fake.log.entries[0].response_headers["ratelimit-reset"] == "10"
    zenpy.users.me()  # 429, Retry-After 10 (the next minute), zenpy sleeps, the fake clock moves on
    assert sum(sleeps) == 10
    assert [e.status for e in fake.log][-2:] == [429, 200]
    fake.faults.limit_per_minute(1, endpoint=SHOW)
    assert fake.faults.endpoint_limits == {SHOW: 1}
    with pytest.raises(KeyError):
        fake.faults.limit_per_minute(1, endpoint="GET /api/v2/no/such/thing")


def test_5xx_on_the_next_calls_of_an_endpoint(
    fake: FakeZendesk, zenpy: Zenpy, people: tuple[User, User]
) -> None:
    customer, _ = people
    ticket = fake.create_ticket("t", "x", requester=customer, created_at=T0)
    fake.faults.fail_next(SHOW, count=2, status=500)
    for _ in range(2):
        with pytest.raises(APIException) as caught:
            zenpy.tickets(id=ticket.id)
        assert caught.value.response.status_code == 500
    assert zenpy.tickets(id=ticket.id).id == ticket.id
    fake.faults.fail_next(SHOW, status=502, html=True)
    with pytest.raises(requests.HTTPError):
        zenpy.tickets(id=ticket.id)
    fake.faults.clear()
    assert zenpy.tickets(id=ticket.id).id == ticket.id


# ------------------------------------------------------------------------------------------------
# Mounting, auth, settings, SLA


def test_two_fakes_and_a_path_prefixed_base_url(
    monkeypatch: pytest.MonkeyPatch, rsps: responses.RequestsMock, sleeps: FakeSleep
) -> None:
    acme = FakeZendesk("https://acme.zendesk.com", now=T0).mount(rsps)
    beta = FakeZendesk("https://beta.zendesk.com", now=T0).mount(rsps)
    customer = beta.create_user("b", "b@example.com")
    only_in_beta = beta.create_ticket("beta only", "x", requester=customer, created_at=T0)
    assert Zenpy(**beta.zenpy_kwargs()).tickets(id=only_in_beta.id).subject == "beta only"
    with pytest.raises(RecordNotFoundException):
        Zenpy(**acme.zenpy_kwargs()).tickets(id=only_in_beta.id)
    assert (acme.log.count(), beta.log.count()) == (1, 1)

    proxied = FakeZendesk("https://proxy.example.com/zd", now=T0).mount(rsps)
    for name, value in proxied.zenpy_env().items():
        monkeypatch.setenv(name, value)
    client = Zenpy(**proxied.zenpy_kwargs())
    assert client.users.me().email == proxied.admin.email
    assert proxied.log.entries[0].url == "https://proxy.example.com/zd/api/v2/users/me.json"


def test_authentication_and_unknown_endpoints(
    fake: FakeZendesk, rsps: responses.RequestsMock, people: tuple[User, User]
) -> None:
    customer, _ = people
    fake.mount(rsps)
    wrong_token = Zenpy(subdomain="acme", email=fake.admin.email, token="wrong", disable_cache=True)
    with pytest.raises(APIException) as caught:
        wrong_token.users.me()
    assert caught.value.response.status_code == 401
    end_user = Zenpy(**fake.zenpy_kwargs(customer))
    with pytest.raises(APIException):
        end_user.users.me()
    client = Zenpy(**fake.zenpy_kwargs())
    answer = client.users.session.get(f"{fake.base_url}/api/v2/no_such_thing.json")
    assert answer.status_code == 404
    assert fake.log.entries[-1].endpoint == "GET <unknown>"


def test_sla_policies_and_per_ticket_sla_data(
    fake: FakeZendesk, zenpy: Zenpy, people: tuple[User, User]
) -> None:
    customer, agent = people
    policy = fake.create_sla_policy(
        "Urgent",
        filter={"all": [{"field": "priority", "operator": "is", "value": "urgent"}], "any": []},
        policy_metrics=[
            {"priority": "urgent", "metric": "first_reply_time", "target": 30, "business_hours": False},
            {"priority": "urgent", "metric": "requester_wait_time", "target": 240, "business_hours": False},
        ],
    )
    assert [p.id for p in zenpy.sla_policies()] == [policy.id]
    ticket = fake.create_ticket("t", "down", requester=customer, created_at=T0, priority="urgent")
    fake.now = T0 + timedelta(minutes=10)
    shown = zenpy.tickets(id=ticket.id, include=["slas"])
    metrics = {m["metric"]: m for m in shown.slas["policy_metrics"]}
    assert metrics["first_reply_time"]["stage"] == "active"
    assert metrics["first_reply_time"]["breach_at"] == "2025-03-03T09:30:00Z"
    assert metrics["requester_wait_time"]["breach_at"] == "2025-03-03T13:00:00Z"
    fake.add_comment(ticket, fake.now, agent, "we are on it")
    fake.set_status(ticket, fake.now, "pending", author=agent)
    fake.now += timedelta(minutes=1)
    after = {m["metric"]: m for m in zenpy.tickets(id=ticket.id, include=["slas"]).slas["policy_metrics"]}
    assert after["first_reply_time"]["stage"] == "achieved"
    assert after["requester_wait_time"] == {
        "breach_at": None,
        "stage": "paused",
        "metric": "requester_wait_time",
    }
    fake.set_sla(
        ticket, [{"metric": "first_reply_time", "stage": "active", "breach_at": "2025-03-03T12:00:00Z"}]
    )
    pinned = zenpy.tickets(id=ticket.id, include=["slas"]).slas["policy_metrics"]
    assert pinned[0]["breach_at"] == "2025-03-03T12:00:00Z"


def test_sla_policies_unavailable_on_the_plan(rsps: responses.RequestsMock, sleeps: FakeSleep) -> None:
    fake = FakeZendesk(now=T0, account=Account(plan="team", sla_available=False)).mount(rsps)
    with pytest.raises(APIException) as caught:
        list(Zenpy(**fake.zenpy_kwargs()).sla_policies())
    assert caught.value.response.status_code == 403


# ------------------------------------------------------------------------------------------------
# Tracker side and API side leave the same history


def test_tracker_side_changes_produce_the_audits_the_api_would(
    fake: FakeZendesk, zenpy: Zenpy, people: tuple[User, User]
) -> None:
    customer, _ = people
    by_api = fake.create_ticket("a", "x", requester=customer, created_at=T0)
    by_hand = fake.create_ticket("b", "x", requester=customer, created_at=T0)
    fake.now = T0 + timedelta(minutes=5)
    change = Ticket(id=by_api.id, status="hold", additional_tags=["waiting"])
    change.comment = Comment(body="note", public=False, author_id=fake.admin.id)
    zenpy.tickets.update(change)
    fake.update(
        by_hand,
        None,
        {"status": "hold", "additional_tags": ["waiting"], "comment": {"body": "note", "public": False}},
    )

    def shape(audit: Any) -> list[dict[str, Any]]:
        return [{k: v for k, v in e.items() if k not in ("id", "audit_id")} for e in audit.events]

    assert shape(by_api.audits[-1]) == shape(by_hand.audits[-1])
    assert by_api.audits[-1].channel == "api" and by_hand.audits[-1].channel == "web"


def test_history_only_moves_forward(fake: FakeZendesk, people: tuple[User, User]) -> None:
    customer, _ = people
    fake.create_ticket("t", "x", requester=customer, created_at=T0 + timedelta(hours=1))
    with pytest.raises(ValueError, match="only moves forward"):
        fake.create_ticket("t", "x", requester=customer, created_at=T0)
    with pytest.raises(ValueError):
        fake.now = T0 - timedelta(seconds=1)


# ------------------------------------------------------------------------------------------------
# Payload shapes against the published spec (light: required properties and top-level keys)


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    """The raw Zendesk document (the validator's ``ApiSpec`` patches its quirks in; this check wants
    the letter of the spec)."""
    import yaml

    from tests.fakes.openapi import require_specs

    path = require_specs() / "zendesk-support-openapi.yaml"
    if not path.is_file():
        pytest.skip(f"{path} is missing")

    class Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
        pass

    for tag in ("tag:yaml.org,2002:value", "tag:yaml.org,2002:timestamp"):
        Loader.add_constructor(tag, lambda load, node: load.construct_scalar(node))
    with path.open() as stream:
        document: dict[str, Any] = yaml.load(stream, Loader=Loader)
    return document


def _schema(spec: dict[str, Any], name: str) -> dict[str, Any]:
    schema = spec["components"]["schemas"][name]
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def _required(spec: dict[str, Any], name: str) -> set[str]:
    schema = _schema(spec, name)
    required = set(schema.get("required", []))
    for part in schema.get("allOf", []):
        required |= set(
            _schema(spec, part["$ref"].rsplit("/", 1)[-1]).get("required", []) if "$ref" in part else []
        )
    return required


def test_main_payloads_carry_the_spec_required_properties(
    fake: FakeZendesk, zenpy: Zenpy, people: tuple[User, User], spec: dict[str, Any]
) -> None:
    customer, _ = people
    ticket = fake.create_ticket("t", "x", requester=customer, created_at=T0)
    fake.create_custom_status("open", "Investigating")
    fake.create_ticket_field("tagger", "Level", options=[("L1", "l1")])
    fake.now = T0 + timedelta(hours=1)
    zenpy.tickets(id=ticket.id)
    list(zenpy.tickets.incremental(start_time=unix(T0) - 60))
    list(zenpy.custom_statuses())
    list(zenpy.ticket_fields())
    list(zenpy.tickets.audits(ticket=ticket.id))
    job = zenpy.tickets.update([Ticket(id=ticket.id, priority="low")])
    zenpy.job_status(id=job.id)
    bodies = {e.endpoint: e.response for e in fake.log}

    def check(body: dict[str, Any], key: str, schema: str) -> None:
        items = body[key] if isinstance(body[key], list) else [body[key]]
        assert items, key
        for item in items:
            missing = _required(spec, schema) - set(item)
            assert not missing, f"{schema} misses {missing}"
            props = set(_schema(spec, schema).get("properties", {}))
            assert set(item) & props, f"{schema}: no spec property present"

    check(bodies[SHOW], "ticket", "TicketObject")
    check(bodies[EXPORT], "tickets", "TicketObject")
    assert set(_schema(spec, "CursorBasedExportIncrementalTicketsResponse")["properties"]) <= set(
        bodies[EXPORT]
    )
    check(bodies["GET /api/v2/custom_statuses"], "custom_statuses", "CustomStatusObject")
    check(bodies["GET /api/v2/ticket_fields"], "ticket_fields", "TicketFieldObject")
    check(bodies["GET /api/v2/tickets/{ticket_id}/audits"], "audits", "TicketAuditObject")
    check(bodies["GET /api/v2/job_statuses/{job_status_id}"], "job_status", "JobStatusObject")
    for result in bodies["GET /api/v2/job_statuses/{job_status_id}"]["job_status"]["results"]:
        assert {"id", "action", "success", "status"} <= set(result)
    # every path the fake serves is one the spec declares
    declared = {f"{m.upper()} {p}" for p, ops in spec["paths"].items() for m in ops if m != "parameters"}
    assert set(fake.endpoints) <= declared


# ------------------------------------------------------------------------------------------------
# Every request and answer of a representative scenario, against the published spec


def test_a_representative_scenario_conforms_to_the_spec(
    fake: FakeZendesk, rsps: responses.RequestsMock, sleeps: FakeSleep, people: tuple[User, User]
) -> None:
    from tests.fakes.openapi import ApiSpec, SpecRecorder

    recorder = SpecRecorder(ApiSpec.zendesk(), responses_too=True)
    customer, agent = people
    level = fake.create_ticket_field("tagger", "Level", options=[("L1", "cw_l1"), ("L2", "cw_l2")])
    due = fake.create_ticket_field("text", "Due (UTC)")
    waiting = fake.create_custom_status("pending", "Waiting on vendor")
    fake.create_sla_policy(
        "All",
        filter={"all": [], "any": []},
        policy_metrics=[
            {"priority": "high", "metric": "first_reply_time", "target": 60, "business_hours": False}
        ],
    )
    existing = [
        fake.create_ticket(
            f"case {i}", "help", requester=customer, created_at=T0 + timedelta(minutes=i), priority="high"
        )
        for i in range(3)
    ]
    fake.add_comment(existing[0], T0 + timedelta(minutes=5), agent, "looking", public=False)
    fake.now = T0 + timedelta(hours=1)
    fake.mount(rsps)
    zenpy = Zenpy(**fake.zenpy_kwargs())

    zenpy.users.me()
    list(zenpy.ticket_fields())
    list(zenpy.ticket_fields.options(id=level.id))
    list(zenpy.custom_statuses())
    list(zenpy.sla_policies())
    list(zenpy.groups())
    list(zenpy.users(ids=[customer.id, agent.id]))
    list(zenpy.users.search(query=f"email:{customer.email}"))
    exported = zenpy.tickets.incremental(
        start_time=unix(T0) - 60, include=["users", "groups", "organizations"], per_page=2
    )
    list(exported)
    list(zenpy.tickets.incremental(cursor=exported.after_cursor))
    list(zenpy.tickets.events(start_time=unix(T0) - 60, include=["comment_events"]))
    list(zenpy.tickets.audits(ticket=existing[0].id))
    zenpy.tickets(id=existing[0].id, include=["slas"])
    list(zenpy.tickets(ids=[t.id for t in existing]))

    created = zenpy.tickets.create(
        Ticket(
            subject="from casewarden",
            comment=Comment(body="hi"),
            requester_id=customer.id,
            external_id="cw-1",
        )
    )
    list(zenpy.tickets(external_id="cw-1"))
    change = Ticket(
        id=created.ticket.id,
        custom_status_id=waiting.id,
        custom_fields=[{"id": due.id, "value": "2025-03-04T09:00Z"}],
    )
    change.comment = Comment(body="casewarden: level L2", public=False)
    change.metadata = {"custom": {"casewarden": "a1"}}
    zenpy.tickets.update(change)
    zenpy.tickets.add_tags(created.ticket.id, ["cw_due_soon"])
    zenpy.tickets.delete_tags(created.ticket.id, ["cw_due_soon"])
    list(zenpy.tickets.tags(created.ticket.id))
    job = zenpy.tickets.update(
        [
            Ticket(id=t.id, custom_fields=[{"id": level.id, "value": "cw_l2"}], additional_tags=["cw_l2"])
            for t in existing
        ]
    )
    zenpy.job_status(id=job.id)
    fake.faults.rate_limit_next(retry_after=1)
    zenpy.tickets(id=existing[1].id)

    assert len(rsps.calls) >= 25
    # per_page on the cursor export (zenpy sends it) is the named quirk ZD_EXPORT_PER_PAGE
    recorder.assert_clean(rsps.calls)
