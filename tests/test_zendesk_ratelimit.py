"""The Zendesk connector's session: a requests-per-minute budget, Retry-After in its three forms, backoff
on 5xx for reads, never a resent write, never a wait past the cycle's deadline, never zenpy's own sleep."""

from __future__ import annotations

from datetime import timedelta

import pytest
import requests
import responses

from casewarden.connectors.base import CycleBudget
from casewarden.connectors.zendesk.client import split_base_url
from casewarden.errors import ConfigError, RetriableConnectorError
from tests import zendesk_core_fixtures as zc
from tests.fakes.zendesk import FakeZendesk
from tests.zendesk_core_fixtures import T0, FakeTime, connector

fake, rsps, people = zc.fake, zc.rsps, zc.people

ME = "GET /api/v2/users/me"
UPDATE = "PUT /api/v2/tickets/{ticket_id}"


@pytest.fixture(autouse=True)
def no_zenpy_sleep(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(_seconds: float) -> None:
        raise AssertionError("zenpy slept: its unbounded 429 loop ran")

    monkeypatch.setattr("zenpy.lib.api.sleep", refuse)


def test_retry_after_in_seconds_is_waited_then_the_call_succeeds(
    fake: FakeZendesk, rsps: responses.RequestsMock
) -> None:
    fake.mount(rsps)
    time = FakeTime(fake)
    conn = connector(fake, time=time)
    fake.faults.rate_limit_next(2, retry_after=7)
    assert conn.client.users.me().email == fake.admin.email
    assert time.slept == [7, 7]
    assert fake.log.count(ME) == 3


def test_retry_after_as_an_http_date(fake: FakeZendesk, rsps: responses.RequestsMock) -> None:
    fake.mount(rsps)
    time = FakeTime(fake)
    conn = connector(fake, time=time)
    fake.faults.rate_limit_next(1, retry_after=fake.now + timedelta(seconds=42))
    assert conn.client.users.me().email == fake.admin.email
    assert time.slept == [42]


@pytest.mark.parametrize("header", [None, "0"])
def test_a_missing_or_zero_retry_after_backs_off_on_our_schedule(
    fake: FakeZendesk, rsps: responses.RequestsMock, header: str | None
) -> None:
    fake.mount(rsps)
    time = FakeTime(fake)
    conn = connector(fake, time=time)
    fake.faults.rate_limit_next(2, retry_after=header)
    assert conn.client.users.me().email == fake.admin.email
    assert len(time.slept) == 2 and all(0 <= s <= 2 for s in time.slept)


def test_a_wait_past_the_cycle_deadline_ends_the_call_instead(
    fake: FakeZendesk, rsps: responses.RequestsMock
) -> None:
    fake.mount(rsps)
    time = FakeTime(fake)
    budget = CycleBudget(30, clock=time.clock)
    conn = connector(fake, time=time, budget=budget)
    fake.faults.rate_limit_next(1, retry_after=45)
    with pytest.raises(RetriableConnectorError) as caught:
        conn.client.users.me()
    assert caught.value.retry_after == 45
    assert time.slept == [] and fake.log.count(ME) == 1


def test_5xx_on_a_read_is_retried_with_backoff(fake: FakeZendesk, rsps: responses.RequestsMock) -> None:
    fake.mount(rsps)
    time = FakeTime(fake)
    conn = connector(fake, time=time)
    fake.faults.fail_next(ME, count=2, status=503)
    assert conn.client.users.me().email == fake.admin.email
    assert fake.log.count(ME) == 3 and len(time.slept) == 2


def test_a_write_answered_5xx_is_never_sent_again(
    fake: FakeZendesk, rsps: responses.RequestsMock, people: tuple
) -> None:
    from zenpy.lib.api_objects import Comment, Ticket
    from zenpy.lib.exception import APIException

    fake.mount(rsps)
    customer, _ = people
    ticket = fake.create_ticket("t", "x", requester=customer, created_at=T0)
    conn = connector(fake)
    fake.faults.fail_next(UPDATE, count=1, status=503, lands=True)
    change = Ticket(id=ticket.id, comment=Comment(body="once", public=False))
    with pytest.raises(APIException):
        conn.client.tickets.update(change)
    assert fake.log.count(UPDATE) == 1
    assert [c["body"] for c in fake.tickets[ticket.id].comments()].count("once") == 1


def test_a_dropped_connection_on_a_write_is_not_resent(
    fake: FakeZendesk, rsps: responses.RequestsMock
) -> None:
    url = fake.base_url + "/api/v2/tickets/1.json"
    rsps.add(responses.PUT, url, body=requests.ConnectionError("reset"))
    conn = connector(fake)
    with pytest.raises(requests.ConnectionError):
        conn.session.put(url, json={})
    assert len([c for c in rsps.calls if c.request.method == "PUT"]) == 1


def test_the_requests_per_minute_budget_spaces_requests(
    fake: FakeZendesk, rsps: responses.RequestsMock
) -> None:
    fake.mount(rsps)
    time = FakeTime(fake)
    conn = connector(fake, time=time, requests_per_minute=3)
    for _ in range(7):
        conn.client.users.me()
    # 3 at once, then a wait to the end of the minute for the next 3, then another
    assert len(time.slept) == 2 and all(abs(s - 60) < 1e-6 for s in time.slept)
    assert conn.session.count == 7


def test_two_instances_in_one_process_with_full_base_urls(
    monkeypatch: pytest.MonkeyPatch, rsps: responses.RequestsMock
) -> None:
    monkeypatch.delenv("ZENPY_FORCE_NETLOC", raising=False)
    monkeypatch.delenv("ZENPY_FORCE_SCHEME", raising=False)
    local = FakeZendesk("http://127.0.0.1:8080/zd", now=T0).mount(rsps)
    hosted = FakeZendesk("https://beta.zendesk.com", now=T0).mount(rsps)
    only = hosted.create_user("b", "b@example.com", at=T0)
    a, b = connector(local), connector(hosted)
    assert a.client.users.me().email == local.admin.email
    assert b.client.users(id=only.id).email == "b@example.com"
    assert local.log.entries[0].url == "http://127.0.0.1:8080/zd/api/v2/users/me.json"
    assert (len(local.log), len(hosted.log)) == (1, 1)


def test_base_urls_split_for_zenpy() -> None:
    assert split_base_url("https://acme.zendesk.com") == ("https", "acme", "zendesk.com")
    assert split_base_url("http://127.0.0.1:8080/zd/") == ("http", "127", "0.0.1:8080/zd")
    with pytest.raises(ConfigError, match=r"127\.0\.0\.1"):
        split_base_url("http://localhost:8080")


def test_a_process_wide_zenpy_override_is_warned_about(
    monkeypatch: pytest.MonkeyPatch, fake: FakeZendesk, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("ZENPY_FORCE_NETLOC", "elsewhere.example")
    connector(fake)
    assert "ZENPY_FORCE_NETLOC is set" in caplog.text
