"""Writing to Zendesk: one update_many item per case, jobs of at most 100, outcomes per change, markers
found again (from audits and from the events export), follow-ups never created twice, bootstrap."""

from __future__ import annotations

from datetime import timedelta

import responses

from casewarden.connectors.base import (
    BootstrapNeeds,
    CaseChanges,
    Change,
    ChangeKind,
    FieldType,
    NeededField,
    NeededStatus,
    Outcome,
    Pending,
)
from casewarden.connectors.mapping import NameMap
from casewarden.connectors.zendesk import ZendeskConnector
from tests import zendesk_core_fixtures as zc
from tests.fakes.zendesk import FakeZendesk, User
from tests.zendesk_core_fixtures import T0, connector

fake, rsps, people = zc.fake, zc.rsps, zc.people

BULK = "PUT /api/v2/tickets/update_many"
MINUTE = timedelta(minutes=1)


def tickets(fake: FakeZendesk, customer: User, count: int) -> list[str]:
    made = [
        str(fake.create_ticket(f"t{i}", "x", requester=customer, created_at=T0, priority="normal").id)
        for i in range(count)
    ]
    fake.now = T0 + 10 * MINUTE
    return made


def apply(conn: ZendeskConnector, *changes: Change) -> list:
    grouped: dict[str, list[Change]] = {}
    for c in changes:
        grouped.setdefault(c.case_id, []).append(c)
    return conn.apply([CaseChanges(k, tuple(v)) for k, v in grouped.items()])


def test_one_item_per_case_and_jobs_of_at_most_100(
    fake: FakeZendesk, rsps: responses.RequestsMock, people: tuple[User, User]
) -> None:
    fake.mount(rsps)
    customer, _ = people
    ids = tickets(fake, customer, 150)
    conn = connector(fake)
    changes = [
        c
        for i in ids
        for c in (Change(i, ChangeKind.ADD_TAG, "cw_a"), Change(i, ChangeKind.SET_STATUS, "Open"))
    ]
    results = apply(conn, *changes)
    assert all(r.outcome is Outcome.APPLIED for r in results)
    sizes = [len(e.body["tickets"]) for e in fake.log.of(BULK)]
    assert sizes == [100, 50]
    assert all(fake.tickets[int(i)].status == "open" and "cw_a" in fake.tickets[int(i)].tags for i in ids)


def test_a_slow_job_is_unknown_with_its_token_and_settled_once_it_ran(
    fake: FakeZendesk, rsps: responses.RequestsMock, people: tuple[User, User]
) -> None:
    fake.mount(rsps)
    customer, _ = people
    [tid] = tickets(fake, customer, 1)
    conn = connector(fake, job_deadline=3, job_poll_interval=1)
    fake.faults.slow_jobs(polls=10)
    key = f"{tid}:note:1"
    [result] = apply(conn, Change(tid, ChangeKind.ADD_NOTE, "Escalated.", key=key))
    assert result.outcome is Outcome.UNKNOWN and result.token and result.token.startswith("job:")
    pending = [Pending(key, tid, "add_note", result.token)]
    assert connector(fake).settle(pending) == {key: Outcome.UNKNOWN}
    fake.finish_jobs()
    assert connector(fake).settle(pending) == {key: Outcome.APPLIED}


def test_per_ticket_failures_are_refused_with_zendesks_reason(
    fake: FakeZendesk, rsps: responses.RequestsMock, people: tuple[User, User]
) -> None:
    fake.mount(rsps)
    customer, _ = people
    a, b = tickets(fake, customer, 2)
    fake.faults.fail_tickets_in_jobs({int(b): "Ticket is locked by an integration"})
    ra, rb = apply(connector(fake), Change(a, ChangeKind.ADD_TAG, "x"), Change(b, ChangeKind.ADD_TAG, "x"))
    assert ra.outcome is Outcome.APPLIED
    assert rb.outcome is Outcome.REFUSED and rb.error and "locked by an integration" in rb.error


def test_a_write_that_lands_but_answers_500_is_unknown_then_applied(
    fake: FakeZendesk, rsps: responses.RequestsMock, people: tuple[User, User]
) -> None:
    fake.mount(rsps)
    customer, _ = people
    [tid] = tickets(fake, customer, 1)
    fake.faults.fail_next(BULK, lands=True)
    key = f"{tid}:warn:1"
    note, tag = apply(
        connector(fake),
        Change(tid, ChangeKind.ADD_NOTE, "Warning.", key=key),
        Change(tid, ChangeKind.ADD_TAG, "w"),
    )
    assert (note.outcome, tag.outcome) == (Outcome.UNKNOWN, Outcome.UNKNOWN)
    assert fake.log.count(BULK) == 1, "a write is never sent twice"
    assert connector(fake).settle([Pending(key, tid, "add_note", note.token)]) == {key: Outcome.APPLIED}
    bodies = [c["body"] for c in fake.tickets[int(tid)].comments() if not c["public"]]
    assert bodies == [f"Warning.\n[casewarden:{key}]"]


def test_tags_group_followers_and_links(
    fake: FakeZendesk, rsps: responses.RequestsMock, people: tuple[User, User]
) -> None:
    fake.mount(rsps)
    customer, agent = people
    fake.create_group("Tier 2", at=T0)
    a, b = tickets(fake, customer, 2)
    fake.update(int(a), None, {"assignee_id": agent.id, "additional_tags": ["theirs", "cw_old"]})
    conn = connector(fake)
    results = apply(
        conn,
        Change(a, ChangeKind.ADD_TAG, "cw_new"),
        Change(a, ChangeKind.REMOVE_TAG, "cw_old"),
        Change(a, ChangeKind.ASSIGN_GROUP, "Tier 2"),
        Change(a, ChangeKind.ADD_FOLLOWER, fake.admin.email),
        Change(a, ChangeKind.LINK, b, field="child_of"),
        Change(a, ChangeKind.ASSIGN_GROUP, "No Such Group"),
        Change(a, ChangeKind.ADD_FOLLOWER, customer.email),
    )
    assert [r.outcome for r in results] == [Outcome.APPLIED] * 5 + [Outcome.REFUSED] * 2
    ticket = fake.tickets[int(a)]
    assert set(ticket.tags) >= {"theirs", "cw_new"} and "cw_old" not in ticket.tags
    assert fake.groups[ticket.group_id or 0].name == "Tier 2"
    assert ticket.follower_ids == [fake.admin.id] and ticket.assignee_id == agent.id
    assert (ticket.type, ticket.problem_id, fake.tickets[int(b)].type) == ("incident", int(b), "problem")
    [case] = conn.read_cases([a])
    assert ("child_of", b) in [(x.kind, x.target) for x in case.case.links]


def test_a_follow_up_is_found_again_by_its_external_id_before_creating_twice(
    fake: FakeZendesk, rsps: responses.RequestsMock, people: tuple[User, User]
) -> None:
    fake.mount(rsps)
    customer, _ = people
    [src] = tickets(fake, customer, 1)
    key = f"{src}:related:1"
    change = Change(src, ChangeKind.OPEN_RELATED, "Follow-up", key=key)
    assert [r.outcome for r in apply(connector(fake), change)] == [Outcome.APPLIED]
    assert [r.outcome for r in apply(connector(fake), change)] == [Outcome.APPLIED]
    follow_ups = [t for t in fake.tickets.values() if t.external_id == f"casewarden:{key}"]
    assert len(follow_ups) == 1 and follow_ups[0].requester_id == customer.id
    assert key in connector(fake).find_markers([src])[src]


def test_markers_from_audits_and_from_the_events_export_agree(
    fake: FakeZendesk, rsps: responses.RequestsMock, people: tuple[User, User]
) -> None:
    fake.mount(rsps)
    customer, _ = people
    ids = tickets(fake, customer, 4)
    changes = [Change(i, ChangeKind.SET_STATUS, "Pending", key=f"{i}:pending:1") for i in ids]
    changes.append(Change(ids[0], ChangeKind.ADD_NOTE, "Note.", key=f"{ids[0]}:note:1"))
    assert all(r.ok for r in apply(connector(fake), *changes))
    fake.advance(2 * MINUTE)
    from_audits = connector(fake, audit_scan_limit=100).find_markers(ids)
    from_events = connector(fake, audit_scan_limit=0).find_markers(ids)
    assert from_audits == from_events
    assert from_audits[ids[0]] == {f"{ids[0]}:pending:1", f"{ids[0]}:note:1"}
    # the record-only comment for a keyed status move is not a reply anyone wrote
    [case] = connector(fake).read_cases([ids[1]])
    assert len(case.case.replies) == 1


def test_bootstrap_adopts_by_name_and_never_duplicates(
    fake: FakeZendesk, rsps: responses.RequestsMock, people: tuple[User, User]
) -> None:
    fake.mount(rsps)
    fake.create_ticket_field("text", "casewarden_next_due", at=T0)
    needs = BootstrapNeeds(
        fields=(
            NeededField("casewarden_next_due", FieldType.DATETIME),
            NeededField("casewarden_level", FieldType.SELECT, ("S1", "S2")),
            NeededField("casewarden_escalation_level", FieldType.NUMBER),
            NeededField("casewarden_flags", FieldType.LABEL),
        ),
        statuses=(NeededStatus("Open", "open", "Open"), NeededStatus("Waiting", "pending", "Waiting")),
        levels=("S1", "S2"),
    )
    conn = connector(fake)
    plan = conn.bootstrap_plan(needs)
    missing = {(s.kind, s.name) for s in plan if not s.exists and not s.manual}
    assert missing == {
        ("field", "casewarden_level"),
        ("field", "casewarden_escalation_level"),
        ("status", "Waiting"),
    }
    conn.bootstrap_apply(plan)
    conn.bootstrap_apply(plan)  # twice: nothing is created twice
    titles = [f.title for f in fake.ticket_fields.values()]
    assert titles.count("casewarden_level") == 1 and titles.count("casewarden_next_due") == 1
    level = next(f for f in fake.ticket_fields.values() if f.title == "casewarden_level")
    assert (level.type, [o.name for o in level.options]) == ("tagger", ["S1", "S2"])
    waiting = [s for s in fake.custom_statuses.values() if s.agent_label == "Waiting"]
    assert [s.status_category for s in waiting] == ["pending"]
    more = BootstrapNeeds(
        fields=(NeededField("casewarden_level", FieldType.SELECT, ("S1", "S2", "S3")),),
        statuses=(),
        levels=(),
    )
    steps = connector(fake).bootstrap_plan(more)
    assert [(s.kind, s.name, s.exists) for s in steps] == [
        ("field", "casewarden_level", True),
        ("option", "S3", False),
    ]
    connector(fake).bootstrap_apply(steps)
    assert [o.name for o in level.options] == ["S1", "S2", "S3"]
    assert all(s.exists for s in connector(fake).bootstrap_plan(more))


def test_levels_in_a_drop_down_and_built_in_statuses(
    fake: FakeZendesk, rsps: responses.RequestsMock, people: tuple[User, User]
) -> None:
    """A deployment that keeps levels in its own drop-down and uses Zendesk's built-in statuses."""
    fake.mount(rsps)
    customer, _agent = people
    names = NameMap(
        {"S1": "Sev 1", "S3": "Sev 3"},
        {"New": "new", "Open": "open", "Pending": "pending", "Solved": "solved"},
        policy_levels=["S1", "S3"],
        policy_statuses=["New", "Open", "Pending", "Solved"],
    )
    conn = connector(fake, level_field="Severity", custom_statuses=False, names=names)
    needs = BootstrapNeeds(fields=(), statuses=(NeededStatus("Open", "open", "Open"),), levels=("S1", "S3"))
    conn.bootstrap_apply(conn.bootstrap_plan(needs))
    severity = next(f for f in fake.ticket_fields.values() if f.title == "Severity")
    assert [o.name for o in severity.options] == ["Sev 1", "Sev 3"]
    ticket = fake.create_ticket(
        "t",
        "x",
        requester=customer,
        created_at=T0,
        custom_fields=[{"id": severity.id, "value": "severity_sev_3"}],
    )
    fake.now = T0 + 10 * MINUTE
    tid = str(ticket.id)
    results = apply(
        conn, Change(tid, ChangeKind.SET_LEVEL, "S1"), Change(tid, ChangeKind.SET_STATUS, "Pending")
    )
    assert all(r.ok for r in results), results
    assert fake.tickets[ticket.id].custom_fields[severity.id] == "severity_sev_1"
    assert fake.tickets[ticket.id].status == "pending"
    [case] = conn.read_cases([tid])
    assert [lv.level for lv in case.case.level_history] == ["S3", "S1"]
    assert [st.status for st in case.case.status_history] == ["New", "Pending"]
    assert case.problems == ()


def test_oauth_tokens_are_sent_as_bearer(fake: FakeZendesk) -> None:
    from casewarden.connectors.base import ConnectorContext
    from casewarden.connectors.zendesk import ZendeskSettings

    settings = ZendeskSettings(subdomain="acme", oauth_token_env="ZD_OAUTH")
    conn = ZendeskConnector(settings, ConnectorContext("zd", NameMap(), environ={"ZD_OAUTH": "t0k"}))
    assert conn.session.headers["Authorization"] == "Bearer t0k"
    assert "t0k" not in repr(conn.settings)


def test_markers_of_a_first_read_cost_no_call_and_a_write_is_never_missed(
    fake: FakeZendesk, rsps: responses.RequestsMock, people: tuple[User, User]
) -> None:
    fake.mount(rsps)
    customer, _ = people
    a, b = tickets(fake, customer, 2)
    conn = connector(fake)
    for _page in conn.read_changed(None, T0 + 99 * MINUTE):
        pass
    before = len(fake.log)
    assert conn.find_markers([a, b]) == {}
    assert len(fake.log) == before, "answered from the read that just gave both whole histories"
    key = f"{a}:note:1"
    assert all(r.ok for r in apply(conn, Change(a, ChangeKind.ADD_NOTE, "Escalated.", key=key)))
    assert conn.find_markers([a, b]) == {a: {key}}


def test_a_follow_up_of_a_closed_ticket_is_a_native_follow_up_found_from_the_source(
    fake: FakeZendesk, rsps: responses.RequestsMock, people: tuple[User, User]
) -> None:
    fake.mount(rsps)
    customer, agent = people
    [src] = tickets(fake, customer, 1)
    fake.set_status(int(src), fake.now, "closed", author=agent)
    fake.advance(MINUTE)
    key = f"{src}:related:1"
    [result] = apply(connector(fake), Change(src, ChangeKind.OPEN_RELATED, "Customer wrote again", key=key))
    assert result.ok, result
    [follow_up] = [t for t in fake.tickets.values() if t.via_followup_source_id == int(src)]
    assert fake.tickets[int(src)].followup_ids == [follow_up.id]
    assert connector(fake).find_markers([src]) == {src: {key}}
    [case] = connector(fake).read_cases([str(follow_up.id)])
    assert ("related", src) in [(x.kind, x.target) for x in case.case.links]


def test_public_notes_show_no_marker_and_their_keys_are_recorded_privately(
    fake: FakeZendesk, rsps: responses.RequestsMock, people: tuple[User, User]
) -> None:
    fake.mount(rsps)
    customer, _ = people
    [tid] = tickets(fake, customer, 1)
    key = f"{tid}:update:1"
    [result] = apply(
        connector(fake, public_notes=True), Change(tid, ChangeKind.ADD_NOTE, "We are on it.", key=key)
    )
    assert result.ok
    comments = list(fake.tickets[int(tid)].comments())[1:]
    assert [(c["public"], c["body"]) for c in comments] == [
        (False, f"casewarden recorded this update.\n[casewarden:{key}]"),
        (True, "We are on it."),
    ]
    assert connector(fake).find_markers([tid]) == {tid: {key}}


def test_a_public_note_whose_record_failed_is_unknown(
    fake: FakeZendesk, rsps: responses.RequestsMock, people: tuple[User, User]
) -> None:
    """The private record and the public reply are two updates of one job: one landing alone is unknown."""
    fake.mount(rsps)
    customer, _ = people
    [tid] = tickets(fake, customer, 1)
    fake.faults.fail_tickets_in_jobs({int(tid): "locked"})  # the first update of the ticket in the job
    [result] = apply(
        connector(fake, public_notes=True), Change(tid, ChangeKind.ADD_NOTE, "Hi.", key=f"{tid}:u:1")
    )
    assert result.outcome is Outcome.UNKNOWN


def test_a_job_that_cannot_be_sent_in_time_is_refused_and_the_jobs_before_it_keep_their_outcome(
    fake: FakeZendesk, rsps: responses.RequestsMock, people: tuple[User, User]
) -> None:
    from casewarden.connectors.base import CycleBudget

    fake.mount(rsps)
    customer, _ = people
    ids = tickets(fake, customer, 101)
    time = zc.FakeTime(fake)
    conn = connector(fake, time=time, budget=CycleBudget(30, clock=time.clock))
    fake.faults.limit_per_minute(1, endpoint=BULK)  # the second job's 429 asks for a minute's wait
    results = apply(conn, *[Change(i, ChangeKind.ADD_TAG, "cw_t") for i in ids])
    assert [r.outcome for r in results] == [Outcome.APPLIED] * 100 + [Outcome.REFUSED]
    assert results[-1].error and "not sent" in results[-1].error
    assert fake.log.count(BULK) == 2 and "cw_t" not in fake.tickets[int(ids[-1])].tags
