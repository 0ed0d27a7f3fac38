"""The spec validator in tests/fakes/openapi.py: the real clients' requests pass, faults are caught, and
each named quirk relaxes exactly what it says (the relaxed thing passes, a near miss still fails).

Everything that needs the published specs skips (with the validator's own reason) when they are absent;
the specs load once per session.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests
import responses
import yaml
from jira import JIRA
from zenpy import Zenpy
from zenpy.lib.api_objects import Comment, CustomField, Ticket

from tests.fakes import openapi
from tests.fakes import openapi_quirks as quirks
from tests.fakes.openapi import QUIRKS, ApiSpec, SpecRecorder

ZD = "https://acme.zendesk.com/api/v2"
JIRA_SERVER = "https://acme.atlassian.net"
J2 = JIRA_SERVER + "/rest/api/2"
J3 = JIRA_SERVER + "/rest/api/3"
JSM = JIRA_SERVER + "/rest/servicedeskapi"
JSON = "application/json"
JIRA_TIME = "2025-01-31T10:00:00.000+0000"
ZENDESK_TIME = "2025-01-31T10:00:00Z"


@pytest.fixture(scope="session")
def zendesk() -> ApiSpec:
    return ApiSpec.zendesk()


@pytest.fixture(scope="session")
def platform() -> ApiSpec:
    return ApiSpec.jira_platform()


@pytest.fixture(scope="session")
def jsm() -> ApiSpec:
    return ApiSpec.jira_service_management()


def req(spec: ApiSpec, method: str, url: str, body: Any = None, **kwargs: Any) -> list[str]:
    text = body if body is None or isinstance(body, str) else json.dumps(body)
    return spec.check_request(method, url, text, JSON if text is not None else None, **kwargs)


def ans(spec: ApiSpec, method: str, url: str, status: int, body: Any = None) -> list[str]:
    text = body if body is None or isinstance(body, str) else json.dumps(body)
    return spec.check_response(method, url, status, text)


def flags(problems: list[str], fragment: str) -> None:
    assert any(fragment in problem for problem in problems), f"expected {fragment!r} among {problems}"


# --------------------------------------------------------------------------------------------------
# Locating the specs (needs no specs)
# --------------------------------------------------------------------------------------------------


def test_specs_dir_follows_the_environment_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(openapi.SPECS_ENV, str(tmp_path))
    assert openapi.specs_dir() == tmp_path
    assert openapi.require_specs() == tmp_path


def test_absent_specs_skip_with_where_it_looked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    missing = tmp_path / "nowhere"
    monkeypatch.setenv(openapi.SPECS_ENV, str(missing))
    assert openapi.specs_dir() is None
    with pytest.raises(pytest.skip.Exception) as skipped:
        openapi.require_specs()
    reason = str(skipped.value)
    assert str(missing) in reason and openapi.SPECS_ENV in reason and "zendesk-support-openapi.yaml" in reason


def test_a_missing_file_in_the_folder_skips_naming_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(openapi.SPECS_ENV, str(tmp_path))
    with pytest.raises(pytest.skip.Exception, match=r"jira-platform-openapi-v3\.json is missing"):
        ApiSpec.jira_platform()


def test_parsed_yaml_is_cached_on_disk_by_size_and_mtime(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(openapi, "_cache_dir", lambda: tmp_path / "cache")
    source = tmp_path / "spec.yaml"
    source.write_text("openapi: 3.0.3\npaths: {}\n")
    first, first_cached = openapi._read_document(source)
    again, again_cached = openapi._read_document(source)
    assert (first, first_cached, again_cached) == ({"openapi": "3.0.3", "paths": {}}, False, True)
    assert again == first
    source.write_text("openapi: 3.1.0\npaths: {}\n")  # same size, another mtime: read afresh
    later = source.stat().st_mtime_ns + 1_000_000_000
    os.utime(source, ns=(later, later))
    changed, changed_cached = openapi._read_document(source)
    assert (changed["openapi"], changed_cached) == ("3.1.0", False)


# --------------------------------------------------------------------------------------------------
# Known-good: the real clients, at the wire
# --------------------------------------------------------------------------------------------------


@pytest.fixture
def wire() -> Iterator[responses.RequestsMock]:
    # assert_all_requests_are_fired: every registered answer must be used, so the calls checked below
    # really are the ones the clients made.
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock


def test_zenpy_requests_and_plausible_answers_conform(
    zendesk: ApiSpec, wire: responses.RequestsMock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ZENPY_FORCE_NETLOC", raising=False)
    monkeypatch.delenv("ZENPY_FORCE_SCHEME", raising=False)
    ticket = {"id": 1, "requester_id": 7, "subject": "s", "status": "open", "assignee_id": None}
    export_page = {
        "tickets": [ticket],
        "after_cursor": "c2",
        "after_url": f"{ZD}/incremental/tickets/cursor.json?cursor=c2",
        "before_cursor": None,
        "before_url": None,
        "end_of_stream": True,
    }
    job = {"id": "j1", "status": "queued", "url": f"{ZD}/job_statuses/j1.json", "total": 2, "progress": None}
    wire.get(f"{ZD}/incremental/tickets/cursor.json", json=export_page)
    wire.put(f"{ZD}/tickets/update_many.json", json={"job_status": job})
    wire.post(f"{ZD}/tickets.json", status=201, json={"ticket": ticket, "audit": {"id": 3, "events": []}})
    wire.get(f"{ZD}/job_statuses/j1.json", json={"job_status": {**job, "status": "completed", "results": []}})
    audits = {"audits": [{"id": 5, "ticket_id": 1, "created_at": ZENDESK_TIME, "events": []}]}
    wire.get(
        f"{ZD}/tickets/1/audits.json", json={**audits, "next_page": None, "previous_page": None, "count": 1}
    )
    wire.put(f"{ZD}/tickets/1.json", json={"ticket": ticket, "audit": {"id": 4, "events": []}})

    client = Zenpy(subdomain="acme", email="agent@example.com", token="t0ken", disable_cache=True)
    list(client.tickets.incremental(start_time=datetime(2025, 1, 1, tzinfo=UTC), include=["users"]))
    list(client.tickets.incremental(cursor="c2"))
    client.tickets.update(
        [
            Ticket(
                id=1, status="pending", tags=["cw"], custom_fields=[CustomField(id=5, value="2025-02-01")]
            ),
            Ticket(id=2, priority="high", comment=Comment(body="internal note", public=False)),
        ]
    )
    client.tickets.create(Ticket(subject="s", external_id="cw-1", comment=Comment(body="first")))
    client.job_status(id="j1")
    list(client.tickets.audits(ticket=1))
    client.tickets.update(Ticket(id=1, status="open", comment=Comment(body="note", public=False)))

    sent = [
        (call.request.method, str(call.request.url).split("?")[0].removeprefix(ZD)) for call in wire.calls
    ]
    assert sent == [
        ("GET", "/incremental/tickets/cursor.json"),
        ("GET", "/incremental/tickets/cursor.json"),
        ("PUT", "/tickets/update_many.json"),
        ("POST", "/tickets.json"),
        ("GET", "/job_statuses/j1.json"),
        ("GET", "/tickets/1/audits.json"),
        ("PUT", "/tickets/1.json"),
    ]
    SpecRecorder(zendesk, responses_too=True).assert_clean(wire.calls)


def test_jira_requests_and_plausible_answers_conform(
    platform: ApiSpec, jsm: ApiSpec, wire: responses.RequestsMock
) -> None:
    issue = {"id": "10001", "key": "SUP-1", "self": f"{J2}/issue/10001", "fields": {"updated": JIRA_TIME}}
    user_self = f"{J2}/user?accountId=acc-1"
    wire.get(
        f"{J2}/serverInfo",
        json={
            "baseUrl": JIRA_SERVER,
            "deploymentType": "Cloud",
            "versionNumbers": [1001, 0, 0],
            "serverTime": JIRA_TIME,
        },
    )
    wire.get(
        f"{J2}/field",
        json=[{"id": "summary", "name": "Summary", "clauseNames": ["summary"], "custom": False}],
    )
    wire.get(f"{J2}/search/jql", json={"issues": [issue], "isLast": True})
    wire.get(f"{J2}/issue/SUP-1", json=issue)
    comment = {"id": "1", "body": "hi", "self": f"{J2}/issue/10001/comment/1", "created": JIRA_TIME}
    wire.post(f"{J2}/issue/SUP-1/comment", status=201, json=comment)
    wire.post(f"{J2}/issue/SUP-1/transitions", status=204, body=b"")
    link_types = [{"id": "1", "name": "Blocks", "inward": "is blocked by", "outward": "blocks"}]
    wire.get(f"{J2}/issueLinkType", json={"issueLinkTypes": link_types})
    wire.post(f"{J2}/issueLink", status=201, body=b"")
    wire.get(f"{J2}/user/search", json=[{"accountId": "acc-1", "displayName": "Bob", "self": user_self}])
    wire.post(f"{J2}/issue/SUP-1/watchers", status=204, body=b"")
    wire.put(f"{J2}/issue/10001", status=204, body=b"")
    wire.get(f"{J2}/issue/10001", json=issue)
    wire.post(
        f"{JSM}/request/SUP-1/comment", status=201, json={"id": "2", "body": "internal", "public": False}
    )
    wire.get(
        f"{JSM}/request/SUP-1/sla",
        json={"values": [], "size": 0, "start": 0, "limit": 50, "isLastPage": True},
    )

    client = JIRA(server=JIRA_SERVER, basic_auth=("agent@example.com", "t0ken"))
    assert client.deploymentType == "Cloud"
    client.enhanced_search_issues(
        "project = SUP ORDER BY updated ASC", fields=["summary", "updated"], maxResults=50
    )
    found = client.issue("SUP-1", fields="summary,status")
    client.add_comment("SUP-1", "hi", is_internal=True)
    client.transition_issue("SUP-1", "31", comment="moving on")
    client.create_issue_link("Blocks", "SUP-1", "SUP-2")
    client.add_watcher("SUP-1", "bob")
    found.update(fields={"summary": "new"}, notify=False)
    client._session.post(
        f"{JSM}/request/SUP-1/comment", data=json.dumps({"body": "internal", "public": False})
    )
    client._session.get(f"{JSM}/request/SUP-1/sla")

    assert len(wire.calls) == 14
    SpecRecorder(platform, jsm, responses_too=True).assert_clean(wire.calls)


# --------------------------------------------------------------------------------------------------
# Known-bad: faults are caught
# --------------------------------------------------------------------------------------------------

# (spec, "METHOD path under the spec's base URL", body, a fragment the problems must contain)
BAD_REQUESTS: list[tuple[str, str, Any, str]] = [
    ("zd", "GET /tickkets.json", None, "no operation in the Zendesk Support spec matches"),
    ("zd", "PATCH /tickets/1.json", {"ticket": {}}, "PATCH is not declared for /api/v2/tickets/{ticket_id}"),
    ("zd", "GET /tickets/abc.json", None, "path parameter 'ticket_id': 'abc' is not of type 'integer'"),
    (
        "zd",
        "PUT /tickets/1.json",
        {"ticket": {"priority": 5}},
        "$.ticket.priority: 5 is not of type 'string'",
    ),
    ("zd", "PUT /tickets/1.json", {"ticket": {"status": "done"}}, "'done' is not one of"),
    (
        "zd",
        "POST /tickets/create_many.json",
        {"tickets": {"subject": "x"}},
        "$.tickets: {'subject': 'x'} is not",
    ),
    ("zd", "POST /tickets.json", {"ticket": {"subject": "no comment"}}, "'comment' is a required property"),
    ("zd", "POST /tickets.json", "{not json", "request body is not valid JSON"),
    (
        "zd",
        "GET /incremental/tickets/cursor.json?include=users",
        None,
        "query parameter 'start_time' is required",
    ),
    ("zd", "GET /incremental/tickets/cursor.json?start_time=yesterday", None, "'yesterday' is not of type"),
    ("zd", "GET /tickets.json?sort_by=nonsense", None, "query parameter 'sort_by' is not declared"),
    (
        "zd",
        "GET /tickets/1.json",
        '{"ticket": {}}',
        "sends a body, but GET /api/v2/tickets/{ticket_id} declares",
    ),
    ("jira", "GET /search/jql?maxResults=many", None, "'many' is not of type 'integer'"),
    (
        "jira",
        "POST /issueLink",
        {"type": {"name": "B"}, "inwardIssue": {"key": "A-1"}},
        "'outwardIssue' is a",
    ),
    (
        "jira",
        "POST /issueLink",
        {"type": {}, "inwardIssue": {}, "outwardIssue": {"key": 2}},
        "2 is not of type",
    ),
    (
        "jira",
        "POST /issue/A-1/comment",
        {"body": "x", "visibility": {"type": "team"}},
        "'team' is not one of",
    ),
    ("jira", "POST /issueLink", None, "request body is required"),
    ("jira", "DELETE /serverInfo", None, "DELETE is not declared for /rest/api/3/serverInfo"),
    (
        "jsm",
        "POST /request/A-1/comment",
        {"body": "x", "internal": True},
        "Additional properties are not allowed",
    ),
]
BASES = {
    "zd": (ApiSpec.zendesk, ZD),
    "jira": (ApiSpec.jira_platform, J2),
    "jsm": (ApiSpec.jira_service_management, JSM),
}


@pytest.mark.parametrize(("spec_key", "call", "body", "expected"), BAD_REQUESTS)
def test_faulty_requests_are_flagged(spec_key: str, call: str, body: Any, expected: str) -> None:
    load, base = BASES[spec_key]
    method, path = call.split(" ", 1)
    flags(req(load(), method, base + path, body), expected)


def test_faulty_answers_are_flagged(zendesk: ApiSpec, platform: ApiSpec) -> None:
    ticket_url = f"{ZD}/tickets/1.json"
    assert ans(zendesk, "GET", ticket_url, 200, {"ticket": {"id": 1, "requester_id": 2}}) == []
    flags(
        ans(zendesk, "GET", ticket_url, 200, {"ticket": {"id": 1}}), "'requester_id' is a required property"
    )
    flags(
        ans(zendesk, "GET", ticket_url, 200, {"ticket": {"id": "1", "requester_id": 2}}),
        "'1' is not of type 'integer'",
    )
    flags(
        ans(
            zendesk,
            "GET",
            ticket_url,
            200,
            {"ticket": {"id": 1, "requester_id": 2, "created_at": "last week"}},
        ),
        "is not a 'date-time'",
    )
    flags(
        ans(zendesk, "GET", ticket_url, 200, {"ticket": {"id": 1, "requester_id": 2, "comment": {}}}),
        "write-only",
    )
    flags(
        ans(zendesk, "GET", ticket_url, 201, {"ticket": {"id": 1, "requester_id": 2}}),
        "status 201 is not declared",
    )
    flags(ans(zendesk, "GET", ticket_url, 200, None), "empty body")
    flags(ans(zendesk, "GET", ticket_url, 200, "<html>"), "not valid JSON")
    flags(ans(zendesk, "DELETE", ticket_url, 204, {"ticket": {}}), "declares none")
    search = f"{J2}/search/jql?jql=project%3DSUP"
    flags(ans(platform, "GET", search, 200, {"issues": {}, "isLast": True}), "is not of type 'array'")
    flags(ans(platform, "GET", search, 200, {"issues": [], "total": 3}), "Additional properties")


# --------------------------------------------------------------------------------------------------
# SpecRecorder
# --------------------------------------------------------------------------------------------------


def test_recorder_routes_by_path_and_lists_each_violation(
    zendesk: ApiSpec, platform: ApiSpec, jsm: ApiSpec, wire: responses.RequestsMock
) -> None:
    wire.put(f"{ZD}/tickets/1.json", json={"ticket": {"id": 1}})  # answer lacks requester_id
    wire.post(f"{J2}/issue/A-1/comment", status=201, json={"id": "1", "body": "x"})
    wire.get(f"{JSM}/request/A-1/sla", json={"values": []})
    wire.get(JIRA_SERVER + "/rest/agile/1.0/board", json={})
    requests.put(f"{ZD}/tickets/1.json", json={"ticket": {"priority": 5}}, auth=("a", "b"))
    requests.post(f"{J2}/issue/A-1/comment", json={"body": "x"}, auth=("a", "b"))
    requests.get(f"{JSM}/request/A-1/sla")  # no credentials
    requests.get(JIRA_SERVER + "/rest/agile/1.0/board", auth=("a", "b"))

    recorder = SpecRecorder(zendesk, platform, jsm)
    assert [spec.name for spec in map(recorder.spec_for, [ZD + "/x", J2 + "/x", JSM + "/x"])] == [  # type: ignore[union-attr]
        "zendesk",
        "jira_platform",
        "jira_service_management",
    ]
    problems = recorder.check_calls(wire.calls)
    assert problems == [
        "call 1, PUT /api/v2/tickets/1.json: request body $.ticket.priority: 5 is not of type 'string'",
        "call 1, PUT /api/v2/tickets/1.json: request body $.ticket.priority: 5 is not one of "
        "['urgent', 'high', 'normal', 'low']",
        "call 3, GET /rest/servicedeskapi/request/A-1/sla: sends no credentials; the operation accepts "
        "basic, bearer",
        "call 4, GET /rest/agile/1.0/board: no spec among zendesk, jira_platform, jira_service_management "
        "covers this URL",
    ]
    with pytest.raises(AssertionError) as failed:
        recorder.assert_clean(wire.calls)
    assert str(failed.value).startswith(
        "4 spec violation(s) in 4 call(s):\n  - call 1, PUT /api/v2/tickets/1.json"
    )

    answers_too = SpecRecorder(zendesk, platform, jsm, responses_too=True).check_calls(wire.calls)
    flags(answers_too, "call 1, PUT /api/v2/tickets/1.json: answer $.ticket: 'requester_id' is a required")
    assert len(answers_too) == len(problems) + 1


def test_recorder_passes_clean_calls(zendesk: ApiSpec, wire: responses.RequestsMock) -> None:
    wire.get(f"{ZD}/tickets/1.json", json={"ticket": {"id": 1, "requester_id": 2}})
    requests.get(f"{ZD}/tickets/1.json", auth=("a", "b"))
    SpecRecorder(zendesk, responses_too=True).assert_clean(wire.calls)
    assert SpecRecorder(zendesk).check_calls(wire.calls) == []


def test_operation_lookup(zendesk: ApiSpec, platform: ApiSpec) -> None:
    found = zendesk.operation("put", f"{ZD}/tickets/update_many.json?ids=1,2")
    assert found is not None and (found.operation_id, found.path_template) == (
        "TicketsUpdateMany",
        "/api/v2/tickets/update_many",
    )  # the literal segment wins over /tickets/{ticket_id}
    single = zendesk.operation("PUT", "/api/v2/tickets/12")
    assert single is not None and single.operation_id == "UpdateTicket"
    assert (
        platform.operation("GET", "https://jira.example.com/ctx/rest/api/2/issue/A-1") is not None
    )  # base URL ignored
    assert zendesk.operation("GET", f"{ZD}/tickets/12/") is None  # a trailing slash is another path
    assert zendesk.operation("GET", J2 + "/issue/A-1") is None


# --------------------------------------------------------------------------------------------------
# Each quirk: what it relaxes passes, a near miss still fails
# --------------------------------------------------------------------------------------------------

QUIRK_TESTS: set[str] = set()


def covers(name: str) -> Callable[[Callable[..., None]], Callable[..., None]]:
    assert name in {quirk.name for quirk in QUIRKS}, name

    def register(test: Callable[..., None]) -> Callable[..., None]:
        QUIRK_TESTS.add(name)
        return test

    return register


def test_every_quirk_has_its_test() -> None:
    assert {quirk.name for quirk in QUIRKS} == QUIRK_TESTS


@covers(quirks.ZD_YAML_TAGS)
def test_yaml_value_tag_and_dates_read_as_strings(zendesk: ApiSpec) -> None:
    snippet = "change: =\nwhen: 2024-01-02\n"
    with pytest.raises(yaml.constructor.ConstructorError):
        yaml.safe_load(snippet)
    assert yaml.load(snippet, Loader=openapi._SpecLoader) == {"change": "=", "when": "2024-01-02"}
    with pytest.raises(yaml.constructor.ConstructorError):  # still a safe loader
        yaml.load("x: !!python/object/apply:os.getcwd []\n", Loader=openapi._SpecLoader)
    assert zendesk.operation("GET", f"{ZD}/triggers.json") is not None  # the whole file loads


@covers(quirks.ZD_JSON_SUFFIX)
def test_json_suffix(zendesk: ApiSpec, platform: ApiSpec) -> None:
    assert zendesk.operation("GET", f"{ZD}/tickets/1.json") is zendesk.operation("GET", f"{ZD}/tickets/1")
    assert req(zendesk, "GET", f"{ZD}/tickets/1.json") == []
    flags(req(zendesk, "GET", f"{ZD}/tickets/1.xml"), "'1.xml' is not of type 'integer'")
    flags(req(zendesk, "GET", f"{ZD}/tickets.json/1"), "no operation")
    flags(req(platform, "GET", f"{J2}/serverInfo.json"), "no operation")


@covers(quirks.ZD_CURSOR_WITHOUT_START_TIME)
def test_cursor_follow_up_without_start_time(zendesk: ApiSpec) -> None:
    assert req(zendesk, "GET", f"{ZD}/incremental/tickets/cursor.json?cursor=abc") == []
    assert req(zendesk, "GET", f"{ZD}/incremental/users/cursor.json?cursor=abc") == []
    flags(req(zendesk, "GET", f"{ZD}/incremental/tickets/cursor.json"), "'start_time' is required")
    time_based = f"{ZD}/incremental/tickets.json?cursor=abc"  # not a cursor export: start_time stays required
    flags(req(zendesk, "GET", time_based), "'start_time' is required")


@covers(quirks.ZD_UNDECLARED_REQUEST_BODIES)
def test_operations_without_a_declared_body(zendesk: ApiSpec) -> None:
    assert req(zendesk, "PUT", f"{ZD}/tickets/1/tags.json", {"tags": ["cw-due"]}) == []
    assert req(zendesk, "POST", f"{ZD}/ticket_fields.json", {"ticket_field": {"type": "text"}}) == []
    flags(req(zendesk, "PUT", f"{ZD}/tickets/1/tags.json", "tags=a"), "not valid JSON")
    flags(req(zendesk, "PATCH", f"{ZD}/tickets/1/tags.json", {"tags": []}), "PATCH is not declared")
    flags(req(zendesk, "PUT", f"{ZD}/tickets/1/mark_as_spam.json", {"x": 1}), "declares none")


@covers(quirks.ZD_UPDATE_MANY_BODY)
def test_update_many_body(zendesk: ApiSpec) -> None:
    url = f"{ZD}/tickets/update_many.json"
    assert req(zendesk, "PUT", url, {"tickets": [{"id": 1, "status": "open"}, {"id": 2}]}) == []
    assert req(zendesk, "PUT", url + "?ids=1,2", {"ticket": {"status": "solved"}}) == []
    flags(req(zendesk, "PUT", url, {"tickets": {"id": 1}}), "is not of type 'array'")
    flags(req(zendesk, "PUT", url, {"tickets": [{"status": "open"}]}), "'id' is a required")
    flags(req(zendesk, "PUT", url, {"tickets": [{"id": 1, "priority": 5}]}), "not of type 'string'")
    flags(req(zendesk, "PUT", url, {}), "is not valid under any of the given schemas")


@covers(quirks.ZD_CUSTOM_FIELD_VALUES)
def test_ticket_custom_field_values(zendesk: ApiSpec) -> None:
    url = f"{ZD}/tickets/1.json"
    values = [{"id": 1, "value": "2025-02-01T10:00:00Z"}, {"id": 2, "value": True}, {"id": 3, "value": None}]
    values += [{"id": 4, "value": ["a", "b"]}, {"id": 5, "value": 3.5}, {"id": 6}]
    assert req(zendesk, "PUT", url, {"ticket": {"custom_fields": values}}) == []
    answer = {"ticket": {"id": 1, "requester_id": 2, "custom_fields": values}}
    assert ans(zendesk, "GET", url, 200, answer) == []
    flags(req(zendesk, "PUT", url, {"ticket": {"custom_fields": [{"value": "x"}]}}), "'id' is a required")
    nested = {"ticket": {"custom_fields": [{"id": 1, "value": {"nested": 1}}]}}
    flags(req(zendesk, "PUT", url, nested), "not valid under any of the given schemas")


@covers(quirks.ZD_PAGING_AND_INCLUDE)
def test_paging_and_include_parameters(zendesk: ApiSpec) -> None:
    audits = f"{ZD}/tickets/1/audits.json"
    assert req(zendesk, "GET", audits + "?page%5Bsize%5D=100&include=None") == []  # zenpy's own
    assert req(zendesk, "GET", audits + "?page[size]=100&page[after]=xyz") == []
    flags(req(zendesk, "GET", audits + "?page[size]=0"), "less than the minimum of 1")
    flags(req(zendesk, "GET", audits + "?page[size]=big"), "'big' is not of type 'integer'")
    flags(req(zendesk, "GET", audits + "?page[sise]=1"), "'page[sise]' is not declared")
    flags(
        req(zendesk, "PUT", f"{ZD}/tickets/1.json?include=users", {"ticket": {}}), "'include' is not declared"
    )


@covers(quirks.ZD_EXPORT_PER_PAGE)
def test_per_page_on_the_ticket_exports(zendesk: ApiSpec) -> None:
    cursor = f"{ZD}/incremental/tickets/cursor.json?start_time=1700000000"
    events = f"{ZD}/incremental/ticket_events.json?start_time=1700000000"
    assert req(zendesk, "GET", cursor + "&per_page=1000") == []
    assert req(zendesk, "GET", events + "&per_page=50&include=comment_events") == []
    flags(req(zendesk, "GET", cursor + "&per_page=1001"), "greater than the maximum of 1000")
    flags(req(zendesk, "GET", events + "&per_page=many"), "'many' is not of type 'integer'")
    flags(req(zendesk, "GET", f"{ZD}/tickets/1/audits.json?per_page=10"), "'per_page' is not declared")


@covers(quirks.ZD_NULL_OPTIONAL_FIELDS)
def test_null_for_optional_answer_fields(zendesk: ApiSpec) -> None:
    url = f"{ZD}/tickets/1.json"
    nulls = {"id": 1, "requester_id": 2, "assignee_id": None, "group_id": None, "subject": None}
    assert ans(zendesk, "GET", url, 200, {"ticket": nulls}) == []
    flags(ans(zendesk, "GET", url, 200, {"ticket": {"id": 1, "requester_id": None}}), "None for not nullable")
    flags(
        ans(zendesk, "GET", url, 200, {"ticket": {"id": 1, "requester_id": 2, "assignee_id": "x"}}),
        "'x' is not of type 'integer'",
    )
    flags(req(zendesk, "PUT", url, {"ticket": {"assignee_id": None}}), "None for not nullable")


@covers(quirks.ZD_SCHEDULES)
def test_business_hours_schedules(zendesk: ApiSpec) -> None:
    schedules = f"{ZD}/business_hours/schedules.json"
    schedule = {
        "id": 9,
        "name": "EU",
        "time_zone": "Berlin",
        "intervals": [{"start_time": 1980, "end_time": 2460}],
    }
    assert req(zendesk, "GET", schedules) == []
    assert ans(zendesk, "GET", schedules, 200, {"schedules": [schedule]}) == []
    assert req(zendesk, "POST", schedules, {"schedule": {"name": "EU", "time_zone": "Berlin"}}) == []
    workweek = f"{ZD}/business_hours/schedules/9/workweek.json"
    assert (
        req(zendesk, "PUT", workweek, {"workweek": {"intervals": [{"start_time": 0, "end_time": 600}]}}) == []
    )
    holiday = {"holiday": {"name": "New Year", "start_date": "2026-01-01", "end_date": "2026-01-01"}}
    assert req(zendesk, "POST", f"{ZD}/business_hours/schedules/9/holidays.json", holiday) == []
    flags(req(zendesk, "POST", schedules, {"schedule": {"name": "EU"}}), "'time_zone' is a required")
    flags(
        req(zendesk, "PUT", workweek, {"workweek": {"intervals": [{"start_time": 0, "end_time": 20000}]}}),
        "maximum",
    )
    flags(ans(zendesk, "GET", schedules, 200, {"schedule": schedule}), "'schedules' is a required")
    flags(req(zendesk, "GET", f"{ZD}/business_hours/schedules/eu.json"), "is not of type 'integer'")


@covers(quirks.JIRA_V2_PATHS)
def test_v2_and_latest_paths_map_to_v3(platform: ApiSpec) -> None:
    v3 = platform.operation("GET", f"{J3}/issue/A-1")
    assert v3 is not None and v3.operation_id == "getIssue"
    assert platform.operation("GET", f"{J2}/issue/A-1") is v3
    assert platform.operation("GET", JIRA_SERVER + "/rest/api/latest/issue/A-1") is v3
    flags(req(platform, "GET", JIRA_SERVER + "/rest/api/1/issue/A-1"), "no operation")
    flags(req(platform, "GET", JIRA_SERVER + "/rest/api/4/issue/A-1"), "no operation")


@covers(quirks.JIRA_V2_PLAIN_TEXT)
def test_plain_text_under_v2_and_adf_under_v3(platform: ApiSpec) -> None:
    adf = {
        "type": "doc",
        "version": 1,
        "content": [{"type": "paragraph", "content": [{"type": "text", "text": "x"}]}],
    }
    assert req(platform, "POST", f"{J2}/issue/A-1/comment", {"body": "plain"}) == []
    assert req(platform, "POST", f"{J3}/issue/A-1/comment", {"body": adf}) == []
    flags(req(platform, "POST", f"{J2}/issue/A-1/comment", {"body": adf}), "is not a plain string")
    flags(req(platform, "POST", f"{J3}/issue/A-1/comment", {"body": "plain"}), "is not an ADF document")
    answer = {"id": "1", "body": adf}
    flags(ans(platform, "POST", f"{J2}/issue/A-1/comment", 201, answer), "is not a plain string")


@covers(quirks.JIRA_TRANSITION_ID_NUMBER)
def test_transition_id_as_number(platform: ApiSpec) -> None:
    url = f"{J2}/issue/A-1/transitions"
    assert req(platform, "POST", url, {"transition": {"id": 31}}) == []
    assert req(platform, "POST", url, {"transition": {"id": "31"}}) == []
    flags(req(platform, "POST", url, {"transition": {"id": [31]}}), "is not valid under any")
    listed = {"transitions": [{"id": 31, "name": "Done"}]}  # a fake must still answer with a string id
    flags(ans(platform, "GET", url, 200, listed), "$.transitions[0].id")
    assert ans(platform, "GET", url, 200, {"transitions": [{"id": "31", "name": "Done"}]}) == []


@covers(quirks.JIRA_LINK_NULL_COMMENT)
def test_link_with_null_comment(platform: ApiSpec) -> None:
    link = {"type": {"name": "Blocks"}, "inwardIssue": {"key": "A-1"}, "outwardIssue": {"key": "A-2"}}
    assert req(platform, "POST", f"{J2}/issueLink", {**link, "comment": None}) == []
    assert req(platform, "POST", f"{J2}/issueLink", {**link, "comment": {"body": "x"}}) == []
    flags(req(platform, "POST", f"{J2}/issueLink", {**link, "comment": "x"}), "$.comment")


@covers(quirks.JIRA_OFFSET_TIMESTAMPS)
def test_offsets_without_colon(platform: ApiSpec, zendesk: ApiSpec) -> None:
    info = f"{J2}/serverInfo"
    assert ans(platform, "GET", info, 200, {"serverTime": JIRA_TIME}) == []
    assert ans(platform, "GET", info, 200, {"serverTime": "2025-01-31T10:00:00+01:00"}) == []
    flags(ans(platform, "GET", info, 200, {"serverTime": "2025-01-31 10:00"}), "is not a 'date-time'")
    flags(
        ans(platform, "GET", info, 200, {"serverTime": "2025-13-31T10:00:00.000+0000"}),
        "is not a 'date-time'",
    )
    zendesk_ticket = {"ticket": {"id": 1, "requester_id": 2, "created_at": "2025-01-31T10:00:00+0000"}}
    flags(ans(zendesk, "GET", f"{ZD}/tickets/1.json", 200, zendesk_ticket), "is not a 'date-time'")


@covers(quirks.JIRA_EMPTY_SUCCESS_BODIES)
def test_empty_success_bodies(platform: ApiSpec) -> None:
    assert ans(platform, "POST", f"{J2}/issue/A-1/transitions", 204, None) == []
    assert ans(platform, "PUT", f"{J2}/issue/A-1", 204, "") == []
    assert ans(platform, "POST", f"{J2}/issueLink", 201, None) == []
    flags(ans(platform, "GET", f"{J2}/issue/A-1", 200, None), "empty body")
    flags(ans(platform, "POST", f"{J2}/issue/A-1/transitions", 204, "done"), "not valid JSON")
    flags(ans(platform, "POST", f"{J2}/issue/A-1/transitions", 200, None), "status 200 is not declared")


@covers(quirks.JIRA_USER_SEARCH_FLAGS)
def test_user_search_flags(platform: ApiSpec) -> None:
    url = f"{J2}/user/search?query=bob&includeActive=True&includeInactive=False&maxResults=20"
    assert req(platform, "GET", url) == []
    flags(req(platform, "GET", f"{J2}/user/search?includeActive=maybe"), "'maybe' is not of type 'boolean'")
    flags(req(platform, "GET", f"{J2}/user/search?includeDeleted=true"), "'includeDeleted' is not declared")


@covers(quirks.JIRA_NULL_CHANGE_ITEMS)
def test_change_items_without_a_value_before_or_after(platform: ApiSpec) -> None:
    url = f"{J2}/issue/A-1/changelog"
    item = {
        "field": "labels",
        "fieldtype": "jira",
        "from": None,
        "fromString": None,
        "to": "x",
        "toString": "x",
    }
    page = {"values": [{"id": "1", "created": JIRA_TIME, "items": [item]}], "isLast": True}
    assert ans(platform, "GET", url, 200, page) == []
    cleared = {**item, "from": "x", "fromString": "x", "to": None, "toString": None}
    assert ans(platform, "GET", url, 200, {**page, "values": [{"id": "2", "items": [cleared]}]}) == []
    wrong = {**item, "from": 7}
    flags(ans(platform, "GET", url, 200, {**page, "values": [{"id": "3", "items": [wrong]}]}), "from")


@covers(quirks.JSM_BASIC_AUTH)
def test_basic_auth_on_jsm(jsm: ApiSpec, platform: ApiSpec) -> None:
    url = f"{JSM}/request/A-1/comment"
    body = {"body": "x", "public": False}
    assert req(jsm, "POST", url, body, headers={"Authorization": "Basic YTpi"}) == []
    assert req(jsm, "POST", url, body, headers={"authorization": "Bearer tok"}) == []
    flags(req(jsm, "POST", url, body, headers={}), "sends no credentials")
    flags(req(jsm, "POST", url, body, headers={"Authorization": "Token x"}), "sends 'token' credentials")
    assert req(platform, "GET", f"{J2}/myself", headers={"Authorization": "Basic YTpi"}) == []
    flags(req(platform, "GET", f"{J2}/myself", headers={}), "sends no credentials")


@covers(quirks.UNDECLARED_ERROR_ANSWERS)
def test_undeclared_error_answers(zendesk: ApiSpec, platform: ApiSpec) -> None:
    ticket = f"{ZD}/tickets/1.json"
    assert ans(zendesk, "GET", ticket, 429, "Too many requests") == []
    assert ans(zendesk, "PUT", ticket, 503, None) == []
    assert ans(platform, "GET", f"{J2}/issue/A-1", 404, {"errorMessages": ["Issue does not exist"]}) == []
    flags(ans(zendesk, "GET", ticket, 202, {"ticket": {}}), "status 202 is not declared")
    organization = f"{ZD}/organizations/1.json"  # declares its 429 answer: that one is checked
    assert (
        ans(
            zendesk,
            "PUT",
            organization,
            429,
            {"errors": [{"code": "TooManyRequests", "title": "Too many requests"}]},
        )
        == []
    )
    flags(ans(zendesk, "PUT", organization, 429, {"errors": "slow down"}), "is not of type 'array'")
