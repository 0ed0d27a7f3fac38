"""JSM's own SLA timers as :class:`NativeTimer` s, read from the wire fake with the real ``jira`` client:
running, paused, breached, met, unmapped names, non-service projects, paging, and answers the spec
allows."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from casewarden.connectors.base import CycleBudget, NativeTimer
from casewarden.connectors.jira import native_sla
from casewarden.connectors.jira.client import JiraClient
from casewarden.connectors.jira.settings import JiraSettings
from casewarden.errors import ConnectorError
from tests.fakes.jira import FAKE_API_TOKEN, FAKE_PAT, FakeJira

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
FIRST, RESOLUTION = "Time to first response", "Time to resolution"


def api_for(fake: FakeJira) -> JiraClient:
    """The connector's own client on the fake, signed in as its agent (fake time: no real sleeps)."""
    if fake.mode == "cloud":
        settings = JiraSettings(
            server=fake.base_url, email=fake.user("agent").email, token_env="T", projects=("SUP",)
        )
        environ = {"T": FAKE_API_TOKEN}
    else:
        settings = JiraSettings(server=fake.base_url, pat_env="T", projects=("SUP",))
        environ = {"T": FAKE_PAT}
    return JiraClient(settings, environ, CycleBudget(), sleep=fake.sleep, now=lambda: fake.now)


@pytest.fixture(params=["cloud", "datacenter"])
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def fake(mode: str) -> Iterator[FakeJira]:
    site = FakeJira(mode, now=NOW)  # type: ignore[arg-type]
    with site.serve():
        yield site


def read(fake: FakeJira, *ids: str, metrics: dict[str, str] | None = None) -> list[NativeTimer]:
    return native_sla.read_timers(api_for(fake), list(ids), metrics)


def test_running_paused_breached_and_met_timers(fake: FakeJira) -> None:
    opened = NOW - timedelta(hours=3)
    running = fake.create_issue("SUP", "running", created=opened)
    fake.start_sla(running, FIRST, timedelta(hours=4), at=opened)
    fake.start_sla(running, RESOLUTION, timedelta(hours=8), at=opened)
    paused = fake.create_issue("SUP", "paused", created=opened)
    fake.start_sla(paused, RESOLUTION, timedelta(hours=8), at=opened)
    fake.pause_sla(paused, RESOLUTION, at=opened + timedelta(hours=1))
    late = fake.create_issue("SUP", "late", created=opened)
    fake.start_sla(late, FIRST, timedelta(hours=1), at=opened)
    met = fake.create_issue("SUP", "met", created=opened)
    fake.start_sla(met, FIRST, timedelta(hours=4), at=opened)
    fake.stop_sla(met, FIRST, at=opened + timedelta(minutes=30))
    missed = fake.create_issue("SUP", "missed", created=opened)
    fake.start_sla(missed, FIRST, timedelta(hours=1), at=opened)
    fake.stop_sla(missed, FIRST, at=opened + timedelta(hours=2))
    ids = [str(i.id) for i in (running, paused, late, met, missed)]

    got = {(t.case_id, t.metric): t for t in read(fake, *ids)}

    r = str(running.id)
    assert got[r, "first_response"] == NativeTimer(r, "first_response", FIRST, opened + timedelta(hours=4))
    assert got[r, "resolution"].due == opened + timedelta(hours=8)
    p = got[str(paused.id), "resolution"]
    assert p.paused and p.due is None and not p.breached
    lt = got[str(late.id), "first_response"]
    assert lt.breached and lt.due == opened + timedelta(hours=1)
    m = got[str(met.id), "first_response"]
    assert m.due is None and not m.breached and not m.paused
    ms = got[str(missed.id), "first_response"]
    assert ms.breached and ms.due == opened + timedelta(hours=1)
    assert len(got) == 6


def test_the_ongoing_cycle_wins_over_completed_ones(fake: FakeJira) -> None:
    opened = NOW - timedelta(hours=5)
    case = fake.create_issue("SUP", "reopened", created=opened)
    fake.start_sla(case, RESOLUTION, timedelta(hours=1), at=opened)
    fake.stop_sla(case, RESOLUTION, at=opened + timedelta(hours=2))  # breached
    fake.start_sla(case, RESOLUTION, timedelta(hours=4), at=opened + timedelta(hours=3))
    (timer,) = read(fake, str(case.id))
    assert not timer.breached and timer.due == opened + timedelta(hours=7)


def test_unmapped_names_other_projects_and_unknown_ids_are_left_out(fake: FakeJira) -> None:
    case = fake.create_issue("SUP", "custom SLA", created=NOW - timedelta(hours=1))
    fake.start_sla(case, "Time to triage", timedelta(hours=1))
    fake.start_sla(case, FIRST, timedelta(hours=2))
    software = fake.create_issue("ENG", "a bug", created=NOW - timedelta(hours=1))
    assert [t.source for t in read(fake, str(case.id), str(software.id), "999999")] == [FIRST]
    custom = read(fake, str(case.id), metrics={"Time to triage": "triage"})
    assert [(t.metric, t.source) for t in custom] == [("triage", "Time to triage")]


def test_every_page_of_slas_is_read(fake: FakeJira, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(native_sla, "PAGE_LIMIT", 2)
    case = fake.create_issue("SUP", "many SLAs", created=NOW - timedelta(hours=1))
    names = [f"SLA {n}" for n in range(5)]
    for name in names:
        fake.start_sla(case, name, timedelta(hours=2))
    got = read(fake, str(case.id), metrics={name: name for name in names})
    assert [t.source for t in got] == names
    assert fake.log.count("GET /rest/servicedeskapi/request/{issueIdOrKey}/sla") == 3


def test_a_passing_failure_is_retried_and_a_lasting_one_is_a_connector_error(fake: FakeJira) -> None:
    case = fake.create_issue("SUP", "secret customer text", created=NOW - timedelta(hours=1))
    fake.start_sla(case, FIRST, timedelta(hours=2))
    endpoint = "GET /rest/servicedeskapi/request/{issueIdOrKey}/sla"
    fake.faults.server_error(endpoint, 503, retry_after=2)
    assert [t.source for t in read(fake, str(case.id))] == [FIRST]
    fake.faults.server_error(endpoint, 500, times=50)
    with pytest.raises(ConnectorError) as caught:
        read(fake, str(case.id))
    assert "HTTP 500" in str(caught.value) and "secret" not in str(caught.value)


def test_requests_and_answers_follow_the_specs(mode: str) -> None:
    from tests.fakes.openapi import ApiSpec, SpecRecorder

    recorder = SpecRecorder(ApiSpec.jira_platform(), ApiSpec.jira_service_management(), responses_too=True)
    fake = FakeJira(mode, now=NOW)  # type: ignore[arg-type]
    opened = NOW - timedelta(hours=3)
    case = fake.create_issue("SUP", "checked", created=opened)
    fake.start_sla(case, FIRST, timedelta(hours=1), at=opened)
    fake.stop_sla(case, FIRST, at=opened + timedelta(minutes=20))
    fake.start_sla(case, RESOLUTION, timedelta(hours=8), at=opened)
    fake.pause_sla(case, RESOLUTION, at=opened + timedelta(hours=1))
    with fake.serve() as wire:
        assert len(native_sla.read_timers(api_for(fake), [str(case.id)])) == 2
        recorder.assert_clean(wire.calls)
