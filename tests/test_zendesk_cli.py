"""The command line on a Zendesk instance, as an admin uses it: a deployment with ``type: zendesk`` runs
``doctor``, ``bootstrap``, ``bootstrap --apply``, ``plan``, ``run --once`` and ``report`` against the fake
as tests/test_cli.py runs them against the embedded tracker, the token coming from the environment; and a
first run on an instance holding many open tickets with old breaches writes their fields but sends no
flood of notifications (adoption), counted at a real local webhook receiver.

The commands run in-process (click's CliRunner) with the fake served by ``responses``; the webhook
receiver is a real HTTP server on loopback, let through the mock. The CLI reads the wall clock, so the
fake stamps casewarden's writes with the wall clock and keeps its own ``now`` (what its exports may show)
two minutes ahead, as the shared suites' factory does: Zendesk's last-minute exclusion is proved in the
reading tests, not waited out here.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import responses
from click.testing import CliRunner

from casewarden.sync.cli import EXIT_OK, EXIT_PROBLEMS, main
from casewarden.sync.state import StateStore
from tests.fakes.zendesk import FakeZendesk, Ticket
from tests.safety_fixtures import Receiver, receiver
from tests.trackers.zendesk import BASE_URL, LEAD, SuiteZendesk
from tests.zendesk_instance import PRESET, TOKEN_ENV, People, fill, staff

UPDATE_MANY = "PUT /api/v2/tickets/update_many"


@dataclass
class Deployment:
    config: Path
    fake: FakeZendesk
    people: People
    tickets: list[Ticket]
    hook: Receiver
    env: dict[str, str]

    def invoke(self, *args: str) -> tuple[int, str]:
        ahead = datetime.now(UTC) + LEAD
        if ahead > self.fake.now:
            self.fake.now = ahead
        result = CliRunner().invoke(
            main, [*args, "-c", str(self.config)], env=self.env, catch_exceptions=False
        )
        return result.exit_code, result.output

    def json(self, *args: str) -> tuple[int, dict[str, Any]]:
        code, out = self.invoke(*args, "--json")
        return code, json.loads(out)

    def field_id(self, title: str) -> int:
        return next(f.id for f in self.fake.ticket_fields.values() if f.title == title)


@pytest.fixture
def hook() -> Iterator[Receiver]:
    yield from receiver()


def deploy(tmp_path: Path, hook: Receiver, count: int, *, on_breach: bool = False) -> Iterator[Deployment]:
    """``casewarden init --tracker zendesk`` and an instance that has been in use for three weeks."""
    wall = datetime.now(UTC).replace(microsecond=0)
    start = wall - timedelta(days=21)
    fake = SuiteZendesk(lambda: datetime.now(UTC))
    people = staff(fake, start)
    tickets = fill(fake, people, count, start=start, end=wall - timedelta(minutes=10))
    result = CliRunner().invoke(
        main, ["init", "--preset", PRESET, "--tracker", "zendesk", "--dir", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    config = tmp_path / "casewarden.yaml"
    text = config.read_text()
    assert "subdomain: acme " in text
    text = text.replace("subdomain: acme ", f"subdomain: {urlsplit(BASE_URL).netloc.split('.')[0]} ")
    if on_breach:
        text = text.replace("  on_breach: []", "  on_breach: [ops-webhook]")
    config.write_text(text)
    env = {TOKEN_ENV: fake.api_token, "CASEWARDEN_WEBHOOK_URL": hook.url("/hook")}
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.add_passthru("http://127.0.0.1")
        fake.mount(rsps)
        yield Deployment(config, fake, people, tickets, hook, env)


@pytest.fixture
def deployment(tmp_path: Path, hook: Receiver) -> Iterator[Deployment]:
    yield from deploy(tmp_path, hook, 60)


def test_init_writes_a_zendesk_deployment_with_the_token_in_the_environment(deployment: Deployment) -> None:
    text = deployment.config.read_text()
    assert "type: zendesk" in text and f"token_env: {TOKEN_ENV}" in text
    assert deployment.fake.api_token not in text


def test_doctor_then_bootstrap_then_doctor(deployment: Deployment) -> None:
    code, out = deployment.invoke("doctor")
    assert code == EXIT_PROBLEMS and "bootstrap --apply" in out
    assert "ok   zendesk: token" in out and "ok   zendesk: role" in out
    code, out = deployment.invoke("bootstrap")
    assert code == 0 and "missing" in out and "run again with --apply" in out
    assert deployment.fake.log.writes() == [], "bootstrap without --apply creates nothing"
    fields_before = len(deployment.fake.ticket_fields)
    code, out = deployment.invoke("bootstrap", "--apply")
    assert code == 0 and "created" in out, out
    assert len(deployment.fake.ticket_fields) > fields_before
    labels = {s.agent_label for s in deployment.fake.custom_statuses.values()}
    assert {"Pending Customer", "On Hold"} <= labels
    # a second bootstrap finds everything and creates nothing twice
    writes = len(deployment.fake.log.writes())
    code, out = deployment.invoke("bootstrap", "--apply")
    assert code == 0 and "missing" not in out and "created" not in out, out
    assert len(deployment.fake.log.writes()) == writes
    titles = Counter(f.title for f in deployment.fake.ticket_fields.values())
    assert max(titles.values()) == 1, "no field was created twice"
    code, out = deployment.invoke("doctor")
    assert code == EXIT_OK, out
    assert deployment.fake.api_token not in out


def test_plan_then_run_then_quiet_run_then_report(deployment: Deployment) -> None:
    assert deployment.invoke("bootstrap", "--apply")[0] == 0
    writes = len(deployment.fake.log.writes())
    code, plan = deployment.json("plan")
    assert code == 0
    changes = plan["trackers"][0]["changes"]
    assert changes and {"case_id", "kind", "field", "value", "key", "reason"} <= set(changes[0])
    assert len(deployment.fake.log.writes()) == writes, "plan writes nothing to Zendesk"
    state = deployment.config.parent / ".casewarden" / "state.sqlite"
    assert not StateStore(state).runs(), "plan records nothing"

    code, run = deployment.json("run", "--once")
    assert code == EXIT_OK, run
    first = run["trackers"][0]
    assert first["applied"] == len(first["changes"]) > 0 and not first["failed"]
    assert deployment.fake.log.count(UPDATE_MANY) >= 1, "written in bulk"
    level, due = deployment.field_id("casewarden_level"), deployment.field_id("casewarden_next_due")
    assert all(t.custom_fields.get(level) for t in deployment.tickets), "every ticket has its level"
    dues = [t.custom_fields[due] for t in deployment.tickets if t.custom_fields.get(due)]
    assert dues and all(str(d).endswith("Z") for d in dues), "due instants as ISO-8601 UTC text"

    # the next cycles read casewarden's own writes and then find nothing to do
    code, absorb = deployment.json("run", "--once")
    rewritten = [c for c in absorb["trackers"][0]["changes"] if c["kind"] == "set_field"]
    assert code == 0 and rewritten == [], "a field casewarden wrote (a drop-down's too) read back as written"
    writes = len(deployment.fake.log.writes())
    code, again = deployment.json("run", "--once")
    quiet = again["trackers"][0]
    assert code == 0 and quiet["changes"] == [] and quiet["notifications"] == []
    assert len(deployment.fake.log.writes()) == writes, "a quiet cycle writes nothing"

    code, out = deployment.invoke("report", "--format", "json")
    assert code == 0 and json.loads(out)["attainment"]


def test_a_missing_token_is_a_configuration_error_naming_the_variable(deployment: Deployment) -> None:
    env: dict[str, str | None] = {**deployment.env, TOKEN_ENV: None}
    result = CliRunner().invoke(main, ["run", "--once", "-c", str(deployment.config)], env=env)
    assert result.exit_code == 2 and TOKEN_ENV in result.output


def test_a_first_run_on_a_busy_instance_writes_fields_but_sends_no_flood(
    tmp_path: Path, hook: Receiver
) -> None:
    """300 tickets, most of them open for days past their targets and escalated to the duty manager: the
    first run writes every open ticket's fields, ``plan`` counts what adoption holds back, and the real
    webhook receiver gets nothing."""
    for d in deploy(tmp_path, hook, 300, on_breach=True):
        assert d.invoke("bootstrap", "--apply")[0] == 0
        code, plan = d.json("plan")
        planned = plan["trackers"][0]
        assert code == 0 and planned["notifications_adopted"] > 100, "the instance's past holds many breaches"
        assert planned["notifications"] == [], "none of them is owed to anyone now"
        code, run = d.json("run", "--once")
        first = run["trackers"][0]
        assert code == EXIT_OK, run
        assert first["notified"] == 0 and first["notifications_adopted"] == planned["notifications_adopted"]
        assert d.hook.received == [], "the first run paged about the past"
        level, breached = d.field_id("casewarden_level"), d.field_id("casewarden_breached")
        assert all(t.custom_fields.get(level) for t in d.tickets), "every ticket's fields are written"
        assert sum(1 for t in d.tickets if t.custom_fields.get(breached)) > 100, "old breaches are flagged"
        assert any(k.get("kind") == "add_note" for k in first["changes"]), "notes are still written"
