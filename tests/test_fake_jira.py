"""The fake Jira (``tests/fakes/jira``) driven by the real ``jira`` client, in Cloud and Data Center modes.

Each test states a behaviour of Jira that a connector depends on (paging, time zones, lag, truncated
changelogs, workflow paths, internal comments, link direction, retries...) and checks that the fake shows it
through the library, so that connector tests built on the fake fail where a real site would.
"""

from __future__ import annotations

import itertools
import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from jira import JIRA, JIRAError

from tests.fakes.jira import FakeJira
from tests.fakes.jira.jql import JqlError, local_minute_to_utc, parse

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


@pytest.fixture(params=["cloud", "datacenter"])
def fake(request: pytest.FixtureRequest) -> Iterator[FakeJira]:
    site = FakeJira(request.param, now=at(60))
    with site.serve():
        yield site


@pytest.fixture
def cloud() -> Iterator[FakeJira]:
    site = FakeJira("cloud", now=at(60))
    with site.serve():
        yield site


@pytest.fixture
def dc() -> Iterator[FakeJira]:
    site = FakeJira("datacenter", now=at(60))
    with site.serve():
        yield site


@pytest.fixture
def no_waiting(monkeypatch: pytest.MonkeyPatch) -> None:
    """ResilientSession's jitter pinned to its ceiling so the waits it asks for are exact."""
    monkeypatch.setattr("jira.resilientsession.random.uniform", lambda low, high: high)


def let_time_pass(monkeypatch: pytest.MonkeyPatch, site: FakeJira) -> None:
    """jira's sleeps become fake time passing: instant tests, and rate-limit windows that really refill."""
    monkeypatch.setattr("jira.resilientsession.time.sleep", site.sleep)


def api(site: FakeJira, path: str, version: str = "2") -> str:
    return f"{site.base_url}/rest/api/{version}/{path}"


def send(client: JIRA, method: str, url: str, body: Any = None, **params: Any) -> Any:
    """A raw call through the client's own session (auth and retries included), decoded when there is a body."""
    response = client._session.request(
        method, url, data=None if body is None else json.dumps(body), params=params
    )
    return response.json() if response.text else None


def error_body(error: JIRAError) -> dict[str, Any]:
    assert error.response is not None
    body: dict[str, Any] = error.response.json()
    return body


def search(client: JIRA, site: FakeJira, jql: str, **kwargs: Any) -> list[Any]:
    """One page of issues by the deployment's own search: ``search/jql`` on Cloud, ``/search`` on DC."""
    if site.mode == "cloud":
        return list(client.enhanced_search_issues(jql, **kwargs))
    kwargs.pop("reconcileIssues", None)
    return list(client.search_issues(jql, **kwargs))


# -- construction and authentication ---------------------------------------------------------------
def test_construction_reads_server_info_and_loads_fields_on_first_search(fake: FakeJira) -> None:
    fake.create_issue("SUP", created=at(0))
    client = fake.client()
    assert fake.log.count("GET /rest/api/{v}/serverInfo") == 1
    assert client.deploymentType == ("Cloud" if fake.mode == "cloud" else "Server")
    assert client._is_cloud is (fake.mode == "cloud")
    assert fake.log.count("GET /rest/api/{v}/field") == 0
    search(client, fake, "project = SUP", fields=["summary"])
    search(client, fake, "project = SUP", fields=["summary"])
    assert fake.log.count("GET /rest/api/{v}/field") == 1  # the field cache is loaded once, lazily


def test_wrong_or_foreign_credentials_are_refused_with_401(fake: FakeJira) -> None:
    with pytest.raises(JIRAError) as refused:
        JIRA(server=fake.base_url, basic_auth=("casewarden-bot@acme.example", "wrong-token"))
    assert refused.value.status_code == 401
    # Cloud takes email + API token (basic), Data Center a Bearer PAT: the other scheme fails.
    other = (
        {"token_auth": "fake-cloud-api-token"}
        if fake.mode == "cloud"
        else {"basic_auth": ("casewarden", "x")}
    )
    with pytest.raises(JIRAError) as foreign:
        JIRA(server=fake.base_url, **other)
    assert foreign.value.status_code == 401
    me = fake.client().myself()
    assert me["timeZone"] == "Europe/Berlin"
    assert ("accountId" in me) is (fake.mode == "cloud")
    assert ("name" in me) is (fake.mode == "datacenter")


def test_data_center_has_no_v3_api_and_no_cloud_only_endpoints(dc: FakeJira) -> None:
    issue = dc.create_issue("SUP", created=at(0))
    client = dc.client()
    for url in (
        api(dc, f"issue/{issue.id}", "3"),
        api(dc, "search/jql"),
        api(dc, f"issue/{issue.id}/changelog"),
    ):
        with pytest.raises(JIRAError) as missing:
            client._session.get(url)
        assert missing.value.status_code == 404
    with pytest.raises(JIRAError) as missing:
        send(client, "POST", api(dc, "changelog/bulkfetch"), {"issueIdsOrKeys": [str(issue.id)]})
    assert missing.value.status_code == 404


def test_my_permissions_require_the_keys_on_cloud(fake: FakeJira) -> None:
    client = fake.client()
    fake.permissions.discard("BULK_CHANGE")
    if fake.mode == "cloud":
        with pytest.raises(JIRAError) as missing:
            client.my_permissions(projectKey="SUP")
        assert missing.value.status_code == 400
    answer: dict[str, Any] = client.my_permissions(
        projectKey="SUP", permissions="BULK_CHANGE,EDIT_ISSUES,BROWSE_PROJECTS"
    )
    granted = {key: value["havePermission"] for key, value in answer["permissions"].items()}
    assert granted == {"BULK_CHANGE": False, "EDIT_ISSUES": True, "BROWSE_PROJECTS": True}


# -- fields ----------------------------------------------------------------------------------------
def test_fields_report_schema_types_and_custom_fields_can_be_created(fake: FakeJira) -> None:
    client = fake.client()
    by_name = {f["name"]: f for f in client.fields()}
    assert by_name["Response due"]["schema"]["type"] == "datetime"
    assert by_name["Support level"]["schema"]["type"] == "option"
    assert by_name["Escalation note"]["schema"]["type"] == "string"
    assert by_name["Case flags"]["schema"] == {
        "type": "array",
        "items": "string",
        "custom": "com.atlassian.jira.plugin.system.customfieldtypes:labels",
        "customId": 10053,
    }
    assert by_name["Breach count"]["schema"]["type"] == "number"
    assert by_name["Response due"]["clauseNames"] == ["cf[10050]", "Response due"]
    created = send(
        client,
        "POST",
        api(fake, "field"),
        {
            "name": "Next breach",
            "type": "com.atlassian.jira.plugin.system.customfieldtypes:datetime",
            "searcherKey": "com.atlassian.jira.plugin.system.customfieldtypes:datetimerange",
        },
    )
    assert created["id"] == "customfield_10055"
    assert created["schema"]["type"] == "datetime"
    fake.permissions.discard("ADMINISTER")
    with pytest.raises(JIRAError) as refused:
        send(client, "POST", api(fake, "field"), {"name": "x", "type": created["schema"]["custom"]})
    assert refused.value.status_code == 403


def test_cloud_select_options_live_in_field_contexts(cloud: FakeJira) -> None:
    client = cloud.client()
    level = cloud.field_id("Support level")
    contexts = send(client, "GET", api(cloud, f"field/{level}/context"))["values"]
    assert len(contexts) == 1
    options_url = api(cloud, f"field/{level}/context/{contexts[0]['id']}/option")
    assert [o["value"] for o in send(client, "GET", options_url)["values"]] == ["L1", "L2", "L3"]
    send(client, "POST", options_url, {"options": [{"value": "L4"}]})
    issue = cloud.create_issue("SUP", created=at(0))
    client.issue(issue.key).update(fields={level: {"value": "L4"}})
    assert client.issue(issue.key).raw["fields"][level]["value"] == "L4"


# -- search ----------------------------------------------------------------------------------------
def test_enhanced_search_pages_by_next_page_token(cloud: FakeJira) -> None:
    for n in range(7):
        cloud.create_issue("SUP", f"case {n}", created=at(n))
    client = cloud.client()
    seen: list[str] = []
    token: str | None = None
    pages = 0
    while True:
        page = client.enhanced_search_issues(
            "project = SUP ORDER BY updated ASC",
            nextPageToken=token,
            maxResults=3,
            fields=["summary", "updated"],
        )
        pages += 1
        seen += [issue.fields.summary for issue in page]
        token = page.nextPageToken
        if token is None:
            break
    assert pages == 3
    assert seen == [f"case {n}" for n in range(7)]
    raw = client.enhanced_search_issues("project = SUP", maxResults=3, fields=["summary"], json_result=True)
    assert "total" not in raw  # search/jql has no total
    assert raw["isLast"] is False


def test_the_library_rewrites_field_names_through_the_field_cache(cloud: FakeJira) -> None:
    cloud.create_issue("SUP", created=at(0), fields={"Response due": at(30)})
    client = cloud.client()
    wanted = ["key", "summary", "Response due"]
    (found,) = client.enhanced_search_issues("project = SUP", fields=wanted)
    # clauseNames map names to ids: "key" (a clause name of "issuekey") and "Response due" are rewritten,
    # in the caller's own list, and the answer carries the value under both names.
    assert wanted == ["issuekey", "summary", "customfield_10050"]
    assert cloud.log[-1].url.count("fields=") == 3 and "fields=customfield_10050" in cloud.log[-1].url
    assert found.raw["fields"]["Response due"] == found.raw["fields"]["customfield_10050"]


def test_search_jql_returns_ids_only_by_default_and_caps_pages_with_fields(cloud: FakeJira) -> None:
    for n in range(105):
        cloud.create_issue("ENG", f"task {n}", created=at(n / 10))
    client = cloud.client()
    ids_only = send(client, "GET", api(cloud, "search/jql", "3"), jql="project = ENG", maxResults=500)
    assert len(ids_only["issues"]) == 105
    assert ids_only["issues"][0] == {"id": str(cloud.issue("ENG-105").id)}  # default order: key descending
    with_fields = send(
        client, "GET", api(cloud, "search/jql", "3"), jql="project = ENG", maxResults=500, fields="summary"
    )
    assert len(with_fields["issues"]) == 100
    assert "nextPageToken" in with_fields


def test_legacy_search_pages_with_start_at_on_data_center(dc: FakeJira) -> None:
    for n in range(5):
        dc.create_issue("ENG", f"task {n}", created=at(n))
    client = dc.client()
    page = client.search_issues(
        "project = ENG ORDER BY created ASC", startAt=2, maxResults=2, fields="summary"
    )
    assert [issue.fields.summary for issue in page] == ["task 2", "task 3"]
    assert page.total == 5
    everything = client.search_issues(
        "project = ENG ORDER BY created ASC", maxResults=False, fields="summary"
    )
    assert len(everything) == 5


def test_legacy_search_is_gone_on_cloud(cloud: FakeJira) -> None:
    client = cloud.client()
    for version in ("2", "3"):
        with pytest.raises(JIRAError) as gone:
            client._session.get(api(cloud, "search", version), params={"jql": "project = SUP"})
        assert gone.value.status_code == 410
    with pytest.raises(JIRAError, match="deprecated"):
        client.search_issues("project = SUP", startAt=10)  # refused by the library before any request
    assert cloud.log.count("* /rest/api/{v}/search") == 2


def test_jql_window_is_read_in_the_searching_users_zone_across_dst(fake: FakeJira) -> None:
    # Berlin leaves CET for CEST at 2026-03-29 01:00 UTC (local 02:00 -> 03:00).
    changes = {
        "before": datetime(2026, 3, 29, 0, 30, tzinfo=UTC),  # 01:30 CET
        "last CET minute": datetime(2026, 3, 29, 0, 59, tzinfo=UTC),  # 01:59 CET
        "first CEST minute": datetime(2026, 3, 29, 1, 0, tzinfo=UTC),  # 03:00 CEST
        "after": datetime(2026, 3, 29, 1, 30, tzinfo=UTC),  # 03:30 CEST
    }
    for summary, when in changes.items():
        fake.create_issue("SUP", summary, created=when)
    fake.now = datetime(2026, 3, 30, tzinfo=UTC)
    client = fake.client()
    window = 'project = SUP AND updated >= "2026/03/29 01:30" AND updated < "2026/03/29 03:30" ORDER BY updated ASC'
    found = [i.fields.summary for i in search(client, fake, window, fields=["summary"])]
    assert found == ["before", "last CET minute", "first CEST minute"]
    # 02:30 does not exist in Berlin that night; like Java, Jira reads it as 03:30 CEST.
    gap = 'project = SUP AND updated >= "2026/03/29 02:30" ORDER BY updated ASC'
    assert [i.fields.summary for i in search(client, fake, gap, fields=["summary"])] == ["after"]
    # The same words mean other instants for a user in UTC.
    fake.add_account("bob", "bob-secret")
    as_bob = JIRA(server=fake.base_url, **fake.credentials("bob"))
    assert as_bob.myself()["timeZone"] == "UTC"
    found_by_bob = [i.fields.summary for i in search(as_bob, fake, window, fields=["summary"])]
    assert found_by_bob == ["after"]


def test_local_minutes_resolve_like_java_in_gaps_and_overlaps() -> None:
    assert local_minute_to_utc("2026/03/29 02:30", "Europe/Berlin") == datetime(
        2026, 3, 29, 1, 30, tzinfo=UTC
    )
    # 02:30 happens twice on 2026-10-25; Jira takes the earlier (summer time) offset.
    assert local_minute_to_utc("2026-10-25 02:30", "Europe/Berlin") == datetime(
        2026, 10, 25, 0, 30, tzinfo=UTC
    )
    assert local_minute_to_utc("2026/01/05", "America/New_York") == datetime(2026, 1, 5, 5, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("jql", "message"),
    [
        ("project = SUP OR project = ENG", "only AND"),
        ("assignee = currentUser()", "Field 'assignee' does not exist"),
        ('updated >= "2026/03/29 01:30:15"', "Date value"),
        ("project ~ SUP", "not supported"),
        ("project = SUP ORDER BY rank", "Field 'rank'"),
    ],
)
def test_jql_outside_the_subset_is_refused(jql: str, message: str) -> None:
    with pytest.raises(JqlError, match=message):
        parse(jql)


def test_bad_and_unbounded_jql_answer_400_in_jiras_shape(cloud: FakeJira) -> None:
    client = cloud.client()
    with pytest.raises(JIRAError) as bad:
        client.enhanced_search_issues("project = SUP OR project = ENG", fields=["summary"])
    assert bad.value.status_code == 400
    assert error_body(bad.value)["errorMessages"]
    with pytest.raises(JIRAError, match="Unbounded"):
        client.enhanced_search_issues("ORDER BY updated ASC", fields=["summary"])


def test_search_lags_behind_changes_unless_reconciled(cloud: FakeJira) -> None:
    cloud.search_lag = timedelta(seconds=30)
    old = cloud.create_issue("SUP", "old summary", created=at(0))
    client = cloud.client()
    created = client.create_issue(project="SUP", summary="brand new", issuetype={"name": "Service Request"})
    cloud.set_field(old, None, "summary", "new summary")
    jql = "project = SUP ORDER BY updated ASC"
    assert [i.fields.summary for i in search(client, cloud, jql, fields=["summary"])] == ["old summary"]
    reconciled = search(client, cloud, jql, fields=["summary"], reconcileIssues=[old.id, int(created.id)])
    assert [i.fields.summary for i in reconciled] == ["new summary", "brand new"]
    cloud.advance(seconds=31)
    assert [i.fields.summary for i in search(client, cloud, jql, fields=["summary"])] == [
        "new summary",
        "brand new",
    ]


def test_search_lag_applies_to_deletions_too(fake: FakeJira) -> None:
    issue = fake.create_issue("ENG", "doomed", created=at(0))
    fake.search_lag = timedelta(minutes=1)
    fake.delete_issue(issue)
    client = fake.client()
    assert [i.key for i in search(client, fake, "project = ENG", fields=["summary"])] == ["ENG-1"]
    with pytest.raises(JIRAError) as gone:
        client.issue("ENG-1")
    assert gone.value.status_code == 404
    fake.advance(minutes=2)
    assert search(client, fake, "project = ENG", fields=["summary"]) == []


# -- changelog -------------------------------------------------------------------------------------
def _long_history(site: FakeJira, project: str, count: int, start: float = 0) -> int:
    issue = site.create_issue(project, "busy", created=at(start))
    for n in range(count):
        site.add_label(issue, at(start + 1 + n), f"l{n}")
    return issue.id


def test_cloud_search_shows_only_recent_histories_and_bulkfetch_pages_through_all(cloud: FakeJira) -> None:
    busy = _long_history(cloud, "ENG", 45)
    quiet = cloud.create_issue("ENG", "quiet", created=at(2.5))
    cloud.transition(quiet, at(3.5), "Done")  # two steps: To Do -> In Progress -> Done
    cloud.now = at(100)
    client = cloud.client()
    (found,) = client.enhanced_search_issues(f"id = {busy}", fields=["summary"], expand="changelog")
    assert found.raw["changelog"]["total"] == 45
    shown = found.raw["changelog"]["histories"]
    assert len(shown) == 40
    full = send(client, "GET", api(cloud, f"issue/{busy}/changelog", "3"), maxResults=100)
    assert full["total"] == 45 and len(full["values"]) == 45 and full["isLast"] is True
    assert full["values"][0]["items"][0]["toString"] == "l0"  # oldest first
    newest_first = [h["id"] for h in reversed(full["values"])]
    assert [h["id"] for h in shown] == newest_first[:40]  # search: the 40 most recent, newest first
    pages: list[list[dict[str, Any]]] = []
    token = None
    while True:
        body: dict[str, Any] = {"issueIdsOrKeys": [str(busy), quiet.key], "maxResults": 20}
        if token:
            body["nextPageToken"] = token
        page = send(client, "POST", api(cloud, "changelog/bulkfetch", "3"), body)
        pages.append([h for entry in page["issueChangeLogs"] for h in entry["changeHistories"]])
        token = page.get("nextPageToken")
        if not token:
            break
    assert [len(p) for p in pages] == [20, 20, 7]
    assert len({h["id"] for p in pages for h in p}) == 45 + 2
    # oldest first across pages (within a page the histories are grouped by issue)
    assert all(
        max(h["created"] for h in a) <= min(h["created"] for h in b) for a, b in itertools.pairwise(pages)
    )
    only_status = send(
        client, "POST", api(cloud, "changelog/bulkfetch", "3"),
        {"issueIdsOrKeys": [str(busy), str(quiet.id)], "fieldIds": ["status"]},
    )  # fmt: skip
    (entry,) = only_status["issueChangeLogs"]
    assert entry["issueId"] == str(quiet.id)
    assert [[i["toString"] for i in h["items"]] for h in entry["changeHistories"]] == [
        ["In Progress"],
        ["Done"],
    ]


def test_data_center_returns_the_whole_changelog_oldest_first(dc: FakeJira) -> None:
    busy = _long_history(dc, "ENG", 45)
    client = dc.client()
    issue = client.issue(str(busy), expand="changelog")
    histories = issue.raw["changelog"]["histories"]
    assert len(histories) == 45
    assert histories[0]["items"][0]["toString"] == "l0"


def test_histories_record_each_field_the_way_jira_does(fake: FakeJira) -> None:
    issue = fake.create_issue("SUP", created=at(0))
    fake.set_priority(issue, at(1), "High")
    fake.assign(issue, at(2), "bob")
    fake.set_field(issue, at(3), "Support level", "L2")
    fake.set_field(issue, at(4), "Response due", datetime(2026, 3, 2, 12, 0, tzinfo=UTC))
    fake.add_label(issue, at(5), "vip")
    client = fake.client()
    items = [h["items"][0] for h in client.issue(issue.key, expand="changelog").raw["changelog"]["histories"]]
    by_field = {item["fieldId"]: item for item in items}
    assert by_field["priority"] == {"field": "priority", "fieldtype": "jira", "fieldId": "priority",
                                    "from": "3", "fromString": "Medium", "to": "2", "toString": "High"}  # fmt: skip
    bob = fake.user("bob")
    assert by_field["assignee"]["to"] == (bob.account_id if fake.mode == "cloud" else bob.name)
    assert by_field["assignee"]["toString"] == "Bob Engineer"
    level = by_field[fake.field_id("Support level")]
    assert (level["field"], level["fieldtype"], level["toString"]) == ("Support level", "custom", "L2")
    due = by_field[fake.field_id("Response due")]
    assert due["to"] == "2026-03-02T12:00:00.000+0000"
    assert by_field["labels"]["toString"] == "vip"


# -- transitions -----------------------------------------------------------------------------------
def test_transitions_follow_the_workflow_graph(fake: FakeJira) -> None:
    issue = fake.create_issue("SUP", created=at(0))
    client = fake.client()
    assert [t["name"] for t in client.transitions(issue.key)] == ["Start progress"]
    with pytest.raises(JIRAError) as refused:
        client.transition_issue(issue.key, "41")  # Escalate is not offered from Waiting for support
    assert refused.value.status_code == 400
    client.transition_issue(issue.key, "Start progress")  # by name: the library looks the id up
    escalate = next(t for t in client.transitions(issue.key) if t["to"]["name"] == "Escalated")
    client.transition_issue(issue.key, escalate["id"])  # sent as a number
    assert fake.log[-1].request_body["transition"] == {"id": 41}
    current = client.issue(issue.key, expand="changelog")
    assert current.fields.status.name == "Escalated"
    assert current.fields.status.statusCategory.key == "indeterminate"
    statuses = [h["items"][0]["toString"] for h in current.raw["changelog"]["histories"]]
    assert sorted(statuses) == ["Escalated", "In Progress"]
    workflow = fake.site.projects["SUP"].workflow
    assert workflow.path(workflow.initial_status, fake.site.status("Canceled").id) is None
    with pytest.raises(ValueError, match="cannot be reached"):
        fake.transition(issue, None, "Canceled")


def test_resolving_sets_resolution_and_reopening_clears_it(fake: FakeJira) -> None:
    issue = fake.create_issue("ENG", created=at(0))
    fake.transition(issue, at(1), "Done")
    client = fake.client()
    done = client.issue(issue.key)
    assert done.raw["fields"]["resolution"]["name"] == "Done"
    assert done.fields.statuscategorychangedate is not None
    client.transition_issue(issue.key, "41")
    assert client.issue(issue.key).fields.resolution is None


# -- comments --------------------------------------------------------------------------------------
def test_internal_and_public_comments_through_both_apis(fake: FakeJira) -> None:
    issue = fake.create_issue("SUP", created=at(0))
    client = fake.client()
    client.add_comment(issue.key, "we are on it")
    client.add_comment(issue.key, "customer is on the VIP list", is_internal=True)
    requests_url = f"{fake.base_url}/rest/servicedeskapi/request/{issue.key}/comment"
    send(client, "POST", requests_url, {"body": "second note", "public": False})
    listed = client.comments(issue.key, expand="properties")
    internal = [
        c.body for c in listed if any(p.key == "sd.public.comment" and p.value.internal for p in c.properties)
    ]
    assert internal == ["customer is on the VIP list", "second note"]
    if fake.mode == "cloud":
        assert [c.raw["jsdPublic"] for c in listed] == [True, False, False]
    only_internal = send(client, "GET", requests_url, public="false")["values"]
    assert [c["body"] for c in only_internal] == ["customer is on the VIP list", "second note"]
    only_public = send(client, "GET", requests_url, internal="false")["values"]
    assert [(c["body"], c["public"]) for c in only_public] == [("we are on it", True)]


def test_v3_comments_are_adf_documents(cloud: FakeJira) -> None:
    issue = cloud.create_issue("ENG", created=at(0))
    client = cloud.client()
    adf = {
        "type": "doc",
        "version": 1,
        "content": [{"type": "paragraph", "content": [{"type": "text", "text": "hi"}]}],
    }
    with pytest.raises(JIRAError) as plain:
        send(client, "POST", api(cloud, f"issue/{issue.id}/comment", "3"), {"body": "hi"})
    assert plain.value.status_code == 400
    created = send(client, "POST", api(cloud, f"issue/{issue.id}/comment", "3"), {"body": adf})
    assert created["body"] == adf
    assert client.comments(issue.key)[0].body == "hi"  # v2 answers the plain text


def test_servicedeskapi_serves_only_service_project_issues(fake: FakeJira) -> None:
    software = fake.create_issue("ENG", created=at(0))
    client = fake.client()
    with pytest.raises(JIRAError) as missing:
        client._session.get(f"{fake.base_url}/rest/servicedeskapi/request/{software.key}")
    assert missing.value.status_code == 404
    assert error_body(missing.value)["errorMessage"]


# -- JSM request, channel and SLA --------------------------------------------------------------------
def test_jsm_request_channel_request_type_and_organizations(fake: FakeJira) -> None:
    emailed = fake.create_issue("SUP", "mail", created=at(0), channel="email", organizations=["Acme Corp"])
    client = fake.client()
    found = client.issue(emailed.key, properties="request.channel.type")
    assert found.raw["properties"] == {"request.channel.type": {"value": "email"}}
    assert found.raw["fields"]["customfield_10010"]["requestType"]["name"] == "Get IT help"
    assert [o["name"] for o in found.raw["fields"]["customfield_10002"]] == ["Acme Corp"]
    agent_made = client.create_issue(project="SUP", summary="by agent", issuetype={"name": "Incident"})
    assert client.issue_property(agent_made.key, "request.channel.type").value.value == "jira"
    request = send(client, "GET", f"{fake.base_url}/rest/servicedeskapi/request/{emailed.key}")
    assert request["currentStatus"]["status"] == "Waiting for support"
    assert request["serviceDeskId"] == "1"


def test_jsm_native_sla_cycles(fake: FakeJira) -> None:
    issue = fake.create_issue("SUP", created=at(0))
    fake.start_sla(issue, "Time to first response", timedelta(hours=4), at(0))
    fake.stop_sla(issue, "Time to first response", at(30))
    fake.start_sla(issue, "Time to resolution", timedelta(hours=8), at(0))
    fake.pause_sla(issue, "Time to resolution", at(60))
    fake.resume_sla(issue, "Time to resolution", at(120))
    fake.now = at(180)
    client = fake.client()
    slas = send(client, "GET", f"{fake.base_url}/rest/servicedeskapi/request/{issue.key}/sla")["values"]
    first, resolution = slas
    assert "ongoingCycle" not in first
    (done,) = first["completedCycles"]
    assert (done["breached"], done["elapsedTime"]["millis"]) == (False, 30 * 60_000)
    ongoing = resolution["ongoingCycle"]
    assert ongoing["paused"] is False
    assert ongoing["elapsedTime"]["millis"] == 120 * 60_000  # 180 min minus the hour paused
    assert ongoing["remainingTime"]["friendly"] == "6h 0m"
    assert ongoing["goalDuration"]["millis"] == 8 * 3_600_000
    assert ongoing["breachTime"]["epochMillis"] == int((at(0) + timedelta(hours=9)).timestamp() * 1000)


# -- properties ------------------------------------------------------------------------------------
def test_properties_ride_on_edits_and_transitions_and_come_back_in_search(fake: FakeJira) -> None:
    issue = fake.create_issue("SUP", created=at(0))
    client = fake.client()
    url = api(fake, f"issue/{issue.id}")
    edit = {"fields": {"labels": ["breached"]}, "properties": [{"key": "casewarden", "value": {"rev": 1}}]}
    send(client, "PUT", url, edit)
    move = {"transition": {"id": 11}, "properties": [{"key": "casewarden.due", "value": "2026-03-03"}]}
    send(client, "POST", f"{url}/transitions", move)
    found = search(
        client, fake, f"id = {issue.id}", fields=["labels"], properties="casewarden,casewarden.due"
    )
    assert found[0].raw["properties"] == {"casewarden": {"rev": 1}, "casewarden.due": "2026-03-03"}
    assert found[0].fields.labels == ["breached"]
    updated = fake.issue(issue).updated
    fake.advance(minutes=5)
    client.add_issue_property(issue.key, "casewarden", {"rev": 2})
    assert fake.issue(issue).updated == updated  # properties do not bump "updated"
    assert client.issue_property(issue.key, "casewarden").value.rev == 2
    with pytest.raises(JIRAError) as too_big:
        client.add_issue_property(issue.key, "casewarden", {"pad": "x" * 33_000})
    assert too_big.value.status_code == 400


def test_search_jql_takes_at_most_five_property_keys(cloud: FakeJira) -> None:
    client = cloud.client()
    with pytest.raises(JIRAError) as refused:
        client.enhanced_search_issues("project = SUP", fields=["summary"], properties="a,b,c,d,e,f")
    assert refused.value.status_code == 400


# -- edits, creation, moves ----------------------------------------------------------------------------
def test_issue_update_puts_to_self_and_rereads(fake: FakeJira) -> None:
    issue = fake.create_issue("SUP", created=at(0))
    client = fake.client()
    found = client.issue(issue.key)
    assert found.self == api(fake, f"issue/{issue.id}")
    fake.log.clear()
    found.update(fields={"customfield_10052": "call back"}, update={"labels": [{"add": "vip"}]})
    assert [(c.method, c.path, c.status) for c in fake.log] == [
        ("PUT", f"/rest/api/2/issue/{issue.id}", 204),
        ("GET", f"/rest/api/2/issue/{issue.id}", 200),
    ]
    assert found.fields.labels == ["vip"]
    assert found.fields.customfield_10052 == "call back"


def test_assignee_keyword_sends_a_name_which_cloud_refuses(fake: FakeJira) -> None:
    issue = fake.create_issue("SUP", created=at(0))
    client = fake.client()
    found = client.issue(issue.key)
    if fake.mode == "cloud":
        with pytest.raises(JIRAError) as refused:
            found.update(assignee="bob")  # the library sends {"name": "bob"}
        assert refused.value.status_code == 400
        found.update(fields={"assignee": {"accountId": fake.user("bob").account_id}})
    else:
        found.update(assignee="bob")
    assert found.raw["fields"]["assignee"]["displayName"] == "Bob Engineer"
    client.assign_issue(
        issue.key, "alice"
    )  # searches the user, then PUTs accountId or name to .../latest/...
    assign = fake.log.of("PUT /rest/api/{v}/issue/{issueIdOrKey}/assignee")[0]
    assert "/rest/api/latest/" in assign.url
    alice = fake.user("alice")
    assert assign.request_body == (
        {"accountId": alice.account_id} if fake.mode == "cloud" else {"name": "alice"}
    )
    assert fake.issue(issue).assignee == "alice"


def test_invalid_values_are_refused_per_field(fake: FakeJira) -> None:
    issue = fake.create_issue("SUP", created=at(0))
    client = fake.client()
    body = {
        "fields": {
            "customfield_10050": "2026-03-02 10:00",  # no offset
            "customfield_10051": "L2",  # a bare string, not {"value": ...}
            "status": {"name": "Resolved"},  # status only moves through transitions
        },
        "update": {"labels": [{"add": "two words"}]},
    }
    with pytest.raises(JIRAError) as refused:
        send(client, "PUT", api(fake, f"issue/{issue.id}"), body)
    errors = error_body(refused.value)["errors"]
    assert set(errors) == {"customfield_10050", "customfield_10051", "status", "labels"}
    assert fake.issue(issue).histories == []


def test_create_issue_returns_id_key_self_and_makes_watchers(fake: FakeJira) -> None:
    client = fake.client()
    created = client.create_issue(
        project="SUP",
        summary="Printer on fire",
        issuetype={"name": "Incident"},
        priority={"name": "High"},
        labels=["hardware"],
        customfield_10051={"value": "L2"},
        customfield_10050="2026-03-02T12:00:00.000+0000",
    )
    create_call = fake.log.of("POST /rest/api/{v}/issue")[0]
    assert set(create_call.response_body) == {"id", "key", "self"}
    assert created.key == "SUP-1"
    assert created.fields.priority.name == "High"
    assert created.fields.customfield_10051.value == "L2"
    # Timestamps come back in the caller's zone (Berlin, CET in March).
    assert created.fields.customfield_10050 == "2026-03-02T13:00:00.000+0100"
    assert created.fields.reporter.displayName == "Casewarden Bot"
    assert created.fields.status.name == "Waiting for support"
    assert created.fields.watches.watchCount == 1
    with pytest.raises(JIRAError) as bad:
        client.create_issue(
            project="SUP", summary="x", issuetype={"name": "Incident"}, customfield_10051={"value": "L9"}
        )
    assert error_body(bad.value)["errors"] == {"customfield_10051": "Option value 'L9' is not valid"}


def test_move_changes_the_key_and_keeps_the_id(fake: FakeJira) -> None:
    issue = fake.create_issue("SUP", created=at(0))
    original_id = issue.id
    fake.move_issue(issue, "ENG", at(5))
    client = fake.client()
    moved = client.issue("SUP-1")  # the old key still resolves
    assert (moved.key, moved.id) == ("ENG-1", str(original_id))
    assert moved.fields.status.name == "To Do"  # SUP's status is not in ENG's workflow
    assert [i.key for i in search(client, fake, "key = SUP-1", fields=["summary"])] == ["ENG-1"]
    items = {
        item["field"]: item
        for item in client.issue("ENG-1", expand="changelog").raw["changelog"]["histories"][0]["items"]
    }
    assert (items["Key"]["fromString"], items["Key"]["toString"]) == ("SUP-1", "ENG-1")


# -- links and watchers ----------------------------------------------------------------------------
def test_link_direction_as_each_side_reports_it(fake: FakeJira) -> None:
    blocker = fake.create_issue("ENG", "outage fix", created=at(0))
    blocked = fake.create_issue("SUP", "customer down", created=at(0))
    client = fake.client()
    client.create_issue_link("Blocks", inwardIssue=blocker.key, outwardIssue=blocked.key)
    (on_blocker,) = client.issue(blocker.key).fields.issuelinks
    (on_blocked,) = client.issue(blocked.key).fields.issuelinks
    # The POST's inwardIssue is the one that "blocks": it sees the other end as outwardIssue.
    assert on_blocker.outwardIssue.key == blocked.key and not hasattr(on_blocker, "inwardIssue")
    assert on_blocked.inwardIssue.key == blocker.key and not hasattr(on_blocked, "outwardIssue")
    assert (on_blocker.type.outward, on_blocked.type.inward) == ("blocks", "is blocked by")
    link = client.issue_link(on_blocker.id)
    assert (link.inwardIssue.key, link.outwardIssue.key) == (blocker.key, blocked.key)
    # Naming the inward description, the library swaps the ends for you.
    client.create_issue_link("is blocked by", inwardIssue=blocker.key, outwardIssue=blocked.key)
    swapped = fake.log.of("POST /rest/api/{v}/issueLink")[-1].request_body
    assert (swapped["inwardIssue"], swapped["outwardIssue"]) == ({"key": blocked.key}, {"key": blocker.key})
    history = fake.issue(blocked).histories[0].items[0]
    assert history.to_string == f"This issue is blocked by {blocker.key}"
    assert fake.log.count("GET /rest/api/{v}/issueLinkType") == 2  # fetched again on every link


def test_watchers_by_account_id_or_name_never_touch_the_assignee(fake: FakeJira) -> None:
    issue = fake.create_issue("SUP", created=at(0), assignee="alice")
    client = fake.client()
    client.add_watcher(issue.key, "bob")
    bob = fake.user("bob")
    posted = fake.log.of("POST /rest/api/{v}/issue/{issueIdOrKey}/watchers")[0]
    assert posted.request_body == (bob.account_id if fake.mode == "cloud" else "bob")
    assert posted.status == 204
    watchers = client.watchers(issue.key)
    assert [w.displayName for w in watchers.watchers] == ["Carol Customer", "Bob Engineer"]
    assert client.issue(issue.key).raw["fields"]["assignee"]["displayName"] == "Alice Agent"
    client.remove_watcher(issue.key, "bob")
    assert client.watchers(issue.key).watchCount == 1
    with pytest.raises(JIRAError) as unknown:
        send(client, "POST", api(fake, f"issue/{issue.id}/watchers"), "nobody-like-this")
    assert unknown.value.status_code == 404


# -- bulk edit ---------------------------------------------------------------------------------------
def test_cloud_bulk_edit_runs_as_a_task(cloud: FakeJira) -> None:
    first = cloud.create_issue("SUP", created=at(0), labels=["old"])
    second = cloud.create_issue("ENG", created=at(0))
    cloud.bulk_duration = timedelta(seconds=10)
    client = cloud.client()
    level_l3 = next(o.id for o in cloud.site.custom_field("Support level").options() if o.value == "L3")
    payload = {
        "selectedIssueIdsOrKeys": [first.key, str(second.id), "SUP-999"],
        "selectedActions": ["labels", "customfield_10051"],
        "editedFieldsInput": {
            "labelsFields": [{"fieldId": "labels", "bulkEditMultiSelectFieldOption": "ADD",
                              "labels": [{"name": "breached"}]}],
            "singleSelectFields": [{"fieldId": "customfield_10051", "option": {"optionId": int(level_l3)}}],
        },
        "sendBulkNotification": False,
    }  # fmt: skip
    submitted = send(client, "POST", api(cloud, "bulk/issues/fields", "3"), payload)
    queue = api(cloud, f"bulk/queue/{submitted['taskId']}", "3")
    assert send(client, "GET", queue)["status"] == "RUNNING"
    assert cloud.issue(first).labels == ["old"]
    cloud.advance(seconds=10)
    progress = send(client, "GET", queue)
    assert progress["status"] == "COMPLETE" and progress["progressPercent"] == 100
    assert sorted(progress["processedAccessibleIssues"]) == [first.id, second.id]
    assert progress["invalidOrInaccessibleIssueCount"] == 1
    assert cloud.issue(first).labels == ["breached", "old"]
    assert cloud.issue(second).custom["customfield_10051"] == level_l3
    cloud.permissions.discard("BULK_CHANGE")
    with pytest.raises(JIRAError) as refused:
        send(client, "POST", api(cloud, "bulk/issues/fields", "3"), payload)
    assert refused.value.status_code == 403


# -- faults and what ResilientSession does with them ----------------------------------------------------
def test_429_with_seconds_is_retried_after_twice_the_wait(
    cloud: FakeJira, monkeypatch: pytest.MonkeyPatch, no_waiting: None
) -> None:
    issue = cloud.create_issue("SUP", created=at(0))
    let_time_pass(monkeypatch, cloud)
    client = cloud.client()
    cloud.faults.rate_limit("GET /rest/api/{v}/issue/{issueIdOrKey}", times=2, retry_after=5)
    assert client.issue(issue.key).key == issue.key
    assert cloud.sleeps == [10, 10]  # 2 x Retry-After, capped at 60, times the (pinned) jitter
    limited = cloud.log.of("GET /rest/api/{v}/issue/*")[0]
    assert limited.status == 429 and limited.fault == "429"
    assert limited.response_headers["Retry-After"] == "5"
    assert limited.response_headers["X-RateLimit-Reset"] == "2026-03-02T10:00:05Z"
    assert [c.status for c in cloud.log.of("GET /rest/api/{v}/issue/*")] == [429, 429, 200]


def test_429_with_an_http_date_crashes_the_client(
    cloud: FakeJira, monkeypatch: pytest.MonkeyPatch, no_waiting: None
) -> None:
    issue = cloud.create_issue("SUP", created=at(0))
    let_time_pass(monkeypatch, cloud)
    client = cloud.client()
    cloud.faults.rate_limit("*", retry_after=cloud.now + timedelta(seconds=30))
    with pytest.raises(ValueError, match="invalid literal for int"):
        client.issue(issue.key)  # ResilientSession does int(Retry-After)
    assert cloud.sleeps == []


def test_429_without_retry_after_backs_off_exponentially_then_gives_up(
    cloud: FakeJira, monkeypatch: pytest.MonkeyPatch, no_waiting: None
) -> None:
    issue = cloud.create_issue("SUP", created=at(0))
    let_time_pass(monkeypatch, cloud)
    client = cloud.client()
    cloud.faults.rate_limit("*", times=10, retry_after=None)
    with pytest.raises(JIRAError) as limited:
        client.issue(issue.key)
    assert limited.value.status_code == 429
    assert cloud.sleeps == [20, 40, 60]  # 10 * 2**n, capped at 60; three retries, four calls
    assert cloud.log.count("GET /rest/api/{v}/issue/*") == 4
    cloud.faults.clear()
    assert client.issue(issue.key).key == issue.key


def test_rate_limit_headers_and_a_spent_budget(
    cloud: FakeJira, monkeypatch: pytest.MonkeyPatch, no_waiting: None
) -> None:
    issue = cloud.create_issue("SUP", created=at(0))
    let_time_pass(monkeypatch, cloud)
    client = cloud.client()
    cloud.faults.budget(limit=3, window=timedelta(seconds=20))
    response = client._session.get(api(cloud, f"issue/{issue.id}"))
    assert response.headers["X-RateLimit-Limit"] == "3"
    assert response.headers["X-RateLimit-Remaining"] == "2"
    assert "X-RateLimit-Reset" in response.headers
    client.issue(issue.key)
    client.issue(issue.key)
    client.issue(issue.key)  # the fourth call is refused, waits out the window (fake time) and succeeds
    assert [c.status for c in cloud.log.of("GET /rest/api/{v}/issue/*")] == [200, 200, 200, 429, 200]
    assert cloud.sleeps == [40]  # 2 x the 20 s Retry-After, which jira doubles


@pytest.mark.parametrize(("status", "retry_after", "retried"), [(500, None, False), (502, None, False),
                                                                (503, None, False), (503, 2, True)])  # fmt: skip
def test_server_errors_on_the_next_calls(
    fake: FakeJira, monkeypatch: pytest.MonkeyPatch, no_waiting: None, status: int, retry_after: int | None,
    retried: bool,
) -> None:  # fmt: skip
    issue = fake.create_issue("SUP", created=at(0))
    let_time_pass(monkeypatch, fake)
    client = fake.client()
    fake.faults.server_error(
        "GET /rest/api/{v}/issue/{issueIdOrKey}", status=status, times=1, retry_after=retry_after
    )
    if retried:
        assert client.issue(issue.key).key == issue.key
        assert fake.sleeps == [4]
    else:
        with pytest.raises(JIRAError) as failed:
            client.issue(issue.key)
        assert failed.value.status_code == status
        assert fake.sleeps == []
        assert client.issue(issue.key).key == issue.key  # the fault fired once


def test_a_post_that_lands_but_answers_503_is_written_twice_when_retried(
    fake: FakeJira, monkeypatch: pytest.MonkeyPatch, no_waiting: None
) -> None:
    issue = fake.create_issue("SUP", created=at(0))
    let_time_pass(monkeypatch, fake)
    client = fake.client()
    fake.faults.lands_then_fails("POST /rest/api/{v}/issue/{issueIdOrKey}/comment", retry_after=1)
    client.add_comment(issue.key, "We are looking into it.")
    assert [c.body for c in fake.issue(issue).comments] == ["We are looking into it."] * 2
    assert [c.fault for c in fake.log.of("POST */comment")] == ["landed+503", None]


def test_a_post_that_lands_but_answers_503_without_retry_after_is_reported_failed(fake: FakeJira) -> None:
    issue = fake.create_issue("SUP", created=at(0))
    client = fake.client()
    fake.faults.lands_then_fails("POST /rest/api/{v}/issue/{issueIdOrKey}/comment")
    with pytest.raises(JIRAError) as failed:
        client.add_comment(issue.key, "We are looking into it.")
    assert failed.value.status_code == 503
    assert [c.body for c in fake.issue(issue).comments] == [
        "We are looking into it."
    ]  # it landed all the same


def test_a_dropped_connection_after_a_write_is_retried_whatever_the_method(
    fake: FakeJira, monkeypatch: pytest.MonkeyPatch, no_waiting: None
) -> None:
    issue = fake.create_issue("SUP", created=at(0))
    let_time_pass(monkeypatch, fake)
    client = fake.client()
    fake.faults.connection_drop("POST /rest/api/{v}/issue/{issueIdOrKey}/comment", lands=True)
    client.add_comment(issue.key, "Escalated to engineering.")
    assert len(fake.issue(issue).comments) == 2
    assert fake.sleeps == [20]  # connection errors back off 10 * 2**n
    assert [c.fault for c in fake.log.of("POST */comment")] == ["landed+dropped", None]


# -- request log -----------------------------------------------------------------------------------
def test_request_log_counts_calls_per_endpoint(fake: FakeJira) -> None:
    issue = fake.create_issue("SUP", created=at(0))
    client = fake.client()
    client.issue(issue.key)
    client.issue(str(issue.id))
    client.add_comment(issue.key, "hello")
    counts = fake.log.counts()
    assert counts["GET /rest/api/{v}/issue/{issueIdOrKey}"] == 2
    assert counts["POST /rest/api/{v}/issue/{issueIdOrKey}/comment"] == 1
    assert fake.log.count("GET *") == 3  # serverInfo and two issue reads
    assert all(call.at == fake.now for call in fake.log)


def test_requests_outside_the_fake_are_not_served(fake: FakeJira) -> None:
    with pytest.raises(requests.ConnectionError):
        requests.get("https://elsewhere.example/rest/api/2/serverInfo", timeout=1)


# -- payload shapes against the published specs (a light structural check) ---------------------------------
SPECS = Path(
    os.environ.get(
        "CASEWARDEN_API_SPECS", Path(__file__).resolve().parents[1].parent / "shared" / "api-specs"
    )
)
_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,),
    "array": (list,),
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
}


def _spec(name: str) -> dict[str, Any]:
    path = SPECS / name
    if not path.exists():
        pytest.skip(f"published API specs not found at {SPECS} (set CASEWARDEN_API_SPECS)")
    loaded: dict[str, Any] = json.loads(path.read_text())
    return loaded


def shape_violations(spec: dict[str, Any], schema: dict[str, Any], value: Any, where: str = "$") -> list[str]:
    """Types, enums, required keys and closed objects (``additionalProperties: false``), recursively.

    Nulls pass: the specs mark almost nothing nullable though Jira sends null for empty values."""
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    if value is None:
        return []
    found: list[str] = []
    for part in schema.get("allOf", []):
        found += shape_violations(spec, part, value, where)
    expected = schema.get("type")
    if expected in _TYPES and (
        not isinstance(value, _TYPES[expected])
        or (isinstance(value, bool) and expected in ("integer", "number"))
    ):
        return [*found, f"{where}: {type(value).__name__} where the spec says {expected}"]
    if "enum" in schema and value not in schema["enum"]:
        found.append(f"{where}: {value!r} not in {schema['enum']}")
    if isinstance(value, dict):
        properties = schema.get("properties", {})
        found += [
            f"{where}: missing required {key!r}" for key in schema.get("required", []) if key not in value
        ]
        for key, item in value.items():
            if key in properties:
                found += shape_violations(spec, properties[key], item, f"{where}.{key}")
            elif schema.get("additionalProperties") is False:
                found.append(f"{where}: {key!r} is not in the spec")
            elif isinstance(schema.get("additionalProperties"), dict):
                found += shape_violations(spec, schema["additionalProperties"], item, f"{where}.{key}")
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        for position, item in enumerate(value[:5]):
            found += shape_violations(spec, schema["items"], item, f"{where}[{position}]")
    return found


def response_violations(site: FakeJira) -> list[str]:
    """Check every logged 2xx answer with a body against the spec's schema for that operation and status."""
    platform, jsm = _spec("jira-platform-openapi-v3.json"), _spec("jira-service-management-openapi.json")
    found: list[str] = []
    for call in site.log:
        if call.endpoint is None or call.response_body is None or not 200 <= call.status < 300:
            continue
        method, template = call.endpoint.split(" ", 1)
        spec = jsm if template.startswith("/rest/servicedeskapi") else platform
        operation = spec["paths"].get(template.replace("{v}", "3"), {}).get(method.lower())
        assert operation is not None, f"{call.endpoint} is not in the spec"
        content = operation["responses"].get(str(call.status), {}).get("content", {})
        schema = content.get("application/json", {}).get("schema")
        assert schema is not None, f"{call.endpoint} answered {call.status}, which the spec does not declare"
        found += [f"{call.endpoint}: {v}" for v in shape_violations(spec, schema, call.response_body)]
    return found


def request_violations(site: FakeJira) -> list[str]:
    """The same check for the JSON bodies the client sent (where the spec declares one)."""
    platform, jsm = _spec("jira-platform-openapi-v3.json"), _spec("jira-service-management-openapi.json")
    found: list[str] = []
    for call in site.log:
        if call.endpoint is None or call.request_body is None:
            continue
        method, template = call.endpoint.split(" ", 1)
        spec = jsm if template.startswith("/rest/servicedeskapi") else platform
        operation = spec["paths"][template.replace("{v}", "3")][method.lower()]
        schema = operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
        if schema is not None:
            found += [f"{call.endpoint}: {v}" for v in shape_violations(spec, schema, call.request_body)]
    return found


def test_main_responses_have_the_shapes_the_specs_publish(cloud: FakeJira) -> None:
    blocker = cloud.create_issue("ENG", "fix", created=at(0))
    issue = cloud.create_issue("SUP", created=at(1), organizations=["Acme Corp"])
    cloud.set_field(issue, at(2), "Response due", at(90))
    cloud.transition(issue, at(3), "Escalated")
    cloud.start_sla(issue, "Time to first response", timedelta(hours=4), at(1))
    client = cloud.client()
    client.myself()
    client.my_permissions(permissions="EDIT_ISSUES")
    client.fields()
    client.priorities()
    client.statuses()
    send(client, "GET", api(cloud, "project/SUP/statuses", "3"))
    client.add_comment(issue.key, "note", is_internal=True)
    client.comments(issue.key, expand="properties")
    client.create_issue_link("Blocks", inwardIssue=blocker.key, outwardIssue=issue.key)
    client.add_watcher(issue.key, "bob")
    client.watchers(issue.key)
    client.transitions(issue.key)
    client.transition_issue(issue.key, "81")  # Escalated -> In Progress
    client.add_issue_property(issue.key, "casewarden", {"rev": 1})
    client.issue_property(issue.key, "casewarden")
    client.issue_properties(issue.key)
    client.issue(issue.key, expand="changelog,renderedFields,names", properties="casewarden")
    client.enhanced_search_issues(
        "project = SUP", fields=["*all"], expand="changelog", properties="casewarden"
    )
    send(client, "GET", api(cloud, f"issue/{issue.id}/changelog", "3"))
    send(client, "POST", api(cloud, "changelog/bulkfetch", "3"), {"issueIdsOrKeys": [issue.key]})
    desk = f"{cloud.base_url}/rest/servicedeskapi"
    send(client, "GET", f"{desk}/request/{issue.key}")
    send(client, "POST", f"{desk}/request/{issue.key}/comment", {"body": "hello", "public": True})
    send(client, "GET", f"{desk}/request/{issue.key}/comment")
    send(client, "GET", f"{desk}/request/{issue.key}/sla")
    bulk = {
        "selectedIssueIdsOrKeys": [issue.key],
        "selectedActions": ["labels"],
        "editedFieldsInput": {
            "labelsFields": [
                {"fieldId": "labels", "bulkEditMultiSelectFieldOption": "ADD", "labels": [{"name": "x"}]}
            ]
        },
    }
    task = send(client, "POST", api(cloud, "bulk/issues/fields", "3"), bulk)
    send(client, "GET", api(cloud, f"bulk/queue/{task['taskId']}", "3"))
    assert response_violations(cloud) == []
    # What the library sends deviates in one known way: transition ids go out as numbers.
    assert request_violations(cloud) == [
        "POST /rest/api/{v}/issue/{issueIdOrKey}/transitions: $.transition.id: int where the spec says string"
    ]
