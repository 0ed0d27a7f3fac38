"""The command line on Jira, as a Jira admin uses it: ``init --tracker jira``, ``bootstrap``, ``bootstrap
--apply``, ``doctor``, ``plan``, ``run --once`` and ``report``, in process (click's CliRunner) against the
wire fake in Cloud and in Data Center mode, the token read from the environment, exactly as
tests/test_cli.py does against the embedded tracker. And the first run on a live project: many open
issues with breaches in their past, a real local webhook receiving ``on_breach``, and no flood.

The CLI reads the wall clock, so the fake's clock is set to it before each command (the fake stamps
writes with its own clock; search sees the world as of that clock).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import responses
from click.testing import CliRunner
from ruamel.yaml import YAML

from casewarden.sync.cli import EXIT_OK, main
from casewarden.sync.state import StateStore
from tests.fakes.jira import FAKE_API_TOKEN, FAKE_PAT, FakeJira
from tests.safety_fixtures import Receiver, receiver

PRESET = "priority-restoration"
PRIORITIES = ("Highest", "High", "Medium", "Low")
#: Where the fake's statuses sit in the workflow: a path from "Waiting for support" for each.
REACHED = ("Waiting for support", "In Progress", "Waiting for customer", "Resolved")


@pytest.fixture
def hook() -> Iterator[Receiver]:
    yield from receiver()


@pytest.fixture(params=["cloud", "datacenter"])
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


class Site:
    """A fake Jira site served for the whole test, with the deployment directory beside it."""

    def __init__(
        self,
        mode: str,
        directory: Path,
        hook: Receiver,
        mock: responses.RequestsMock,
        base_url: str | None = None,
    ) -> None:
        self.fake = FakeJira(mode, base_url=base_url, now=datetime.now(UTC))  # type: ignore[arg-type]
        self.fake.mount(mock)
        mock.add_passthru("http://127.0.0.1")  # the real webhook receiver
        self.directory = directory
        self.hook = hook
        self.env = {
            "CASEWARDEN_WEBHOOK_URL": hook.url(f"/{directory.name}"),
            "JIRA_API_TOKEN": FAKE_API_TOKEN,
            "JIRA_PAT": FAKE_PAT,
        }

    def sync_clock(self) -> None:
        now = datetime.now(UTC)
        if now > self.fake.now:
            self.fake.now = now

    def invoke(self, *args: str) -> tuple[int, str]:
        """Exit code and what the command printed (stdout only when asked for ``--json``)."""
        self.sync_clock()
        config = str(self.directory / "casewarden.yaml")
        result = CliRunner().invoke(main, [*args, "-c", config], env=self.env, catch_exceptions=False)
        return result.exit_code, result.stdout if "--json" in args else result.output

    def received(self) -> int:
        return sum(self.hook.keys(f"/{self.directory.name}").values())


def init_deployment(site: Site, **notifications: Any) -> Path:
    """``casewarden init --tracker jira``, then the settings an admin fills in for this site."""
    result = CliRunner().invoke(
        main, ["init", "--preset", PRESET, "--tracker", "jira", "--dir", str(site.directory)]
    )
    assert result.exit_code == 0, result.output
    path = site.directory / "casewarden.yaml"
    yaml = YAML()
    doc = yaml.load(path.read_text())
    fake = site.fake
    settings: dict[str, Any] = {"server": fake.base_url, "projects": ["SUP"]}
    if fake.mode == "cloud":
        settings |= {"email": fake.user("agent").email, "token_env": "JIRA_API_TOKEN"}
    else:
        settings |= {"pat_env": "JIRA_PAT"}
    tracker = doc["trackers"][0]
    tracker["settings"] = settings
    assert dict(tracker["levels"]) == dict(zip(("P1", "P2", "P3", "P4"), PRIORITIES, strict=True)), (
        "init maps the levels onto Jira's priorities by rank"
    )
    doc["notifications"]["on_breach"] = ["ops-webhook"]
    for key, value in notifications.items():
        doc["notifications"][key] = value
    with path.open("w") as fh:
        yaml.dump(doc, fh)
    return path


def populate(fake: FakeJira, count: int, *, days: float = 6, answered_every: int = 3) -> list[int]:
    """``count`` customer issues opened over the last ``days``, across priorities and statuses; every
    ``answered_every``-th has a public agent reply. Returns their ids."""
    now = fake.now
    ids = []
    for n in range(count):
        opened = now - timedelta(days=days) + timedelta(days=days * n / count) - timedelta(hours=1)
        issue = fake.create_issue(
            "SUP",
            f"Customer case {n}",
            created=opened,
            reporter="carol",
            priority=PRIORITIES[n % len(PRIORITIES)],
        )
        fake.add_comment(issue, opened + timedelta(minutes=5), "carol", "It is still broken.")
        if n % answered_every == 0:
            fake.add_comment(issue, opened + timedelta(minutes=20), "alice", "We are looking into it.")
        status = REACHED[n % len(REACHED)]
        if status != "Waiting for support":
            fake.transition(issue, opened + timedelta(minutes=30), status)
        ids.append(issue.id)
    fake.now = now
    return ids


def admin_adds_options(fake: FakeJira, field: str, values: tuple[str, ...]) -> None:
    """What an admin does by hand in a select field's context when bootstrap asks for it."""
    custom = fake.site.custom_field(field)
    if custom.kind != "select":
        return
    for value in values:
        if custom.option_by_value(value) is None:
            fake.site.add_option(custom, custom.contexts[0], value)


@pytest.fixture
def wire() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def writes(fake: FakeJira) -> list[str]:
    return [f"{c.method} {c.path}" for c in fake.log if c.method != "GET" and "/search" not in c.path]


def test_bootstrap_doctor_plan_run_report(
    mode: str, tmp_path: Path, hook: Receiver, wire: responses.RequestsMock
) -> None:
    site = Site(mode, tmp_path, hook, wire)
    init_deployment(site)
    fake = site.fake
    populate(fake, 24)

    code, out = site.invoke("bootstrap")
    assert code == EXIT_OK and "missing" in out, out
    before = {f.name for f in fake.site.custom_fields.values()}
    code, out = site.invoke("bootstrap", "--apply")
    assert code == EXIT_OK and "created" in out, out
    created = {f.name for f in fake.site.custom_fields.values()} - before
    level_kind = fake.site.custom_field("casewarden_level").kind
    # Data Center has no REST API for select options: there the level field is a text field
    assert level_kind == ("select" if mode == "cloud" else "text")
    if mode == "cloud":
        assert {o.value for o in fake.site.custom_field("casewarden_level").options()} == {
            "P1",
            "P2",
            "P3",
            "P4",
        }
    assert {"casewarden_next_due", "casewarden_escalation_level", "casewarden_level"} <= created
    assert any(name.startswith("casewarden_due_") for name in created)
    code, out = site.invoke("bootstrap", "--apply")
    assert code == EXIT_OK and "missing" not in out and " create " not in out, out
    assert {f.name for f in fake.site.custom_fields.values()} - before == created, "a field was duplicated"

    code, out = site.invoke("doctor")
    assert "SUP permissions - all 7" in out and "workflow: Resolved - reached from" in out, out
    assert "field casewarden_next_due" in out and "a Date Time Picker" in out, out
    assert FAKE_API_TOKEN not in out and FAKE_PAT not in out

    fake.log.clear()
    code, out = site.invoke("plan", "--json")
    assert code == EXIT_OK, out
    plan = json.loads(out)["trackers"][0]
    assert plan["changes"], "the plan writes the computed fields"
    assert writes(fake) == [], "plan changed the tracker"
    assert not StateStore(tmp_path / ".casewarden" / "state.sqlite").runs(), "plan records nothing"

    code, out = site.invoke("run", "--once", "--json")
    assert code == EXIT_OK, out
    run = json.loads(out)["trackers"][0]
    assert run["applied"] == len(run["changes"]) > 0 and not run["failed"]
    next_due = fake.field_id("casewarden_next_due")
    assert any(issue.custom.get(next_due) for issue in fake.state.issues.values()), "fields were written"

    # the next cycles read casewarden's own writes and then find nothing to do
    site.invoke("run", "--once", "--json")
    code, out = site.invoke("run", "--once", "--json")
    quiet = json.loads(out)["trackers"][0]
    assert code == EXIT_OK and quiet["changes"] == [] and quiet["notifications"] == [], out

    code, out = site.invoke("report", "--format", "json")
    assert code == EXIT_OK and json.loads(out)["attainment"], out
    code, out = site.invoke("report")
    assert code == EXIT_OK and "P1" in out, out


def test_doctor_passes_once_the_admin_did_what_bootstrap_asked(
    mode: str, tmp_path: Path, hook: Receiver, wire: responses.RequestsMock
) -> None:
    site = Site(mode, tmp_path, hook, wire)
    init_deployment(site)
    populate(site.fake, 8)
    code, out = site.invoke("doctor")
    assert code != EXIT_OK and "bootstrap --apply" in out, out
    assert site.invoke("bootstrap", "--apply")[0] == EXIT_OK
    admin_adds_options(site.fake, "casewarden_level", ("P1", "P2", "P3", "P4"))
    code, out = site.invoke("doctor")
    assert code == EXIT_OK, out


def test_a_first_run_on_a_live_project_sends_no_flood(
    mode: str, tmp_path: Path, hook: Receiver, wire: responses.RequestsMock
) -> None:
    """Sixty open issues whose first response breached days ago: the first run writes their fields and
    notes but notifies nobody; with a backfill (the control) the same past is notified."""
    live = tmp_path / "live"
    live.mkdir()
    site = Site(mode, live, hook, wire)
    init_deployment(site)
    populate(site.fake, 60, days=10, answered_every=10)
    assert site.invoke("bootstrap", "--apply")[0] == EXIT_OK
    admin_adds_options(site.fake, "casewarden_level", ("P1", "P2", "P3", "P4"))

    code, out = site.invoke("plan", "--json")
    assert code == EXIT_OK, out
    plan = json.loads(out)["trackers"][0]
    assert plan["notifications_adopted"] > 30 and plan["notifications"] == [], (
        "the past is held back, not planned"
    )
    code, out = site.invoke("run", "--once", "--json")
    assert code == EXIT_OK, out
    first = json.loads(out)["trackers"][0]
    assert first["notified"] == 0 and first["applied"] > 0, "fields and notes are still written"
    assert site.received() == 0, "the first run notified the past"
    code, out = site.invoke("run", "--once", "--json")
    assert code == EXIT_OK, out
    second = json.loads(out)["trackers"][0]
    assert second["notified"] == 0 and site.received() == 0
    held = first["notifications_adopted"] + second["notifications_adopted"]
    assert held == plan["notifications_adopted"], "what the plan held back is what the runs held back"

    # the control: the same past on another site, with a backfill, does reach the receiver
    control = tmp_path / "backfill"
    control.mkdir()
    other = Site(mode, control, hook, wire, base_url="https://control.example.net")
    init_deployment(other, adoption={"backfill": True, "horizon": None}, max_per_cycle=None)
    populate(other.fake, 60, days=10, answered_every=10)
    assert other.invoke("bootstrap", "--apply")[0] == EXIT_OK
    admin_adds_options(other.fake, "casewarden_level", ("P1", "P2", "P3", "P4"))
    code, out = other.invoke("run", "--once", "--json")
    assert code == EXIT_OK, out
    assert other.received() > 30, "without adoption the receiver would have been flooded"


def test_every_issue_is_read_by_the_first_run(
    mode: str, tmp_path: Path, hook: Receiver, wire: responses.RequestsMock
) -> None:
    """A run applies each page before reading the next, and its edits move those issues to the end of the
    ``ORDER BY updated`` result: paging by offset (nextPageToken, startAt) would then skip as many unread
    issues, and a resume point past them would lose them for good (seen on the connector once: 120
    issues, the plan read 120, the run 100, no later run the other 20)."""
    site = Site(mode, tmp_path, hook, wire)
    init_deployment(site)
    ids = populate(site.fake, 150)
    assert site.invoke("bootstrap", "--apply")[0] == EXIT_OK
    admin_adds_options(site.fake, "casewarden_level", ("P1", "P2", "P3", "P4"))
    plan = json.loads(site.invoke("plan", "--json")[1])["trackers"][0]
    assert plan["read"] == 150
    run = json.loads(site.invoke("run", "--once", "--json")[1])["trackers"][0]
    assert run["read"] == plan["read"]
    level = site.fake.field_id("casewarden_level")
    unread = [i for i in ids if site.fake.issue(i).custom.get(level) is None]
    assert unread == [], f"{len(unread)} of 150 issues never got their fields"


@pytest.mark.parametrize("outage", ["at connect", "mid-cycle"])
def test_a_jira_outage_does_not_stop_the_other_tracker(
    outage: str, tmp_path: Path, hook: Receiver, wire: responses.RequestsMock
) -> None:
    """One deployment, the same policy on the embedded tracker and on Jira: Jira down (from the start, or
    after the connector was built) is reported with exit 4, and the embedded tracker's cycle still runs."""
    from casewarden.connectors.local import LocalTracker

    site = Site("cloud", tmp_path, hook, wire)
    path = init_deployment(site)
    yaml = YAML()
    doc = yaml.load(path.read_text())
    local = {
        "name": "local",
        "type": "local",
        "settings": {"path": "tracker.sqlite"},
        "levels": {},
        "statuses": {},
    }
    doc["trackers"].insert(0, local)
    doc["trackers"][1]["settings"]["max_attempts"] = 1  # down is down: no retries (no real sleeps)
    with path.open("w") as fh:
        yaml.dump(doc, fh)
    tracker = LocalTracker(tmp_path / "tracker.sqlite")
    opened = datetime.now(UTC) - timedelta(hours=3)
    for n in range(5):
        tracker.create_case(f"Local case {n}", opened_at=opened, level="P2", status="New")
    tracker.close()
    populate(site.fake, 5)
    assert site.invoke("bootstrap", "--apply")[0] == EXIT_OK
    if outage == "at connect":
        site.fake.faults.server_error("*", 503, times=10_000)
    else:
        site.fake.faults.server_error("POST /rest/api/{v}/search/jql", 503, times=10_000)

    code, out = site.invoke("run", "--once", "--json")
    assert code == 4, out  # the tracker could not be reached
    local_result, jira_result = json.loads(out)["trackers"]
    assert local_result["tracker"] == "local" and local_result["error"] is None
    assert local_result["applied"] > 0 and not local_result["failed"], "the embedded tracker ran"
    assert jira_result["tracker"] == "jira" and "503" in (jira_result["error"] or ""), jira_result
