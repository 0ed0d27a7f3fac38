"""One deployment, one policy, two trackers: a Zendesk instance and a Jira project governed together.

The two fakes are served on one ``responses`` mock; the deployment is what ``casewarden init`` writes for
each tracker, joined into one file. Both trackers get their fields written by one ``run``; when either
goes down (every request answering 503), that tracker is reported with exit 4 and the other's cycle still
runs in full; when it comes back, its next cycle carries on where it stopped, and nothing keyed is
written twice on either tracker.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import responses
from click.testing import CliRunner
from ruamel.yaml import YAML

from casewarden.sync.cli import EXIT_OK, EXIT_TRACKER, main
from tests.fakes.jira import FAKE_API_TOKEN, FakeJira
from tests.fakes.zendesk import FakeZendesk
from tests.trackers.zendesk import BASE_URL, LEAD, SuiteZendesk
from tests.zendesk_instance import PRESET, TOKEN_ENV, fill, staff

JIRA_PRIORITIES = ("Highest", "High", "Medium", "Low")
JIRA_STATUSES = ("Waiting for support", "In Progress", "Waiting for customer")


class Both:
    """The two fakes, the joined deployment and the environment holding both tokens."""

    def __init__(self, directory: Path, mock: responses.RequestsMock) -> None:
        wall = datetime.now(UTC).replace(microsecond=0)
        self.zendesk: FakeZendesk = SuiteZendesk(lambda: datetime.now(UTC))
        people = staff(self.zendesk, wall - timedelta(days=10))
        fill(self.zendesk, people, 30, start=wall - timedelta(days=10), end=wall - timedelta(minutes=10))
        self.jira = FakeJira("cloud", now=wall)
        for n in range(20):
            opened = wall - timedelta(days=5) + timedelta(hours=5 * n)
            issue = self.jira.create_issue(
                "SUP", f"Jira case {n}", created=opened, reporter="carol", priority=JIRA_PRIORITIES[n % 4]
            )
            self.jira.add_comment(issue, opened + timedelta(minutes=5), "carol", "It is broken.")
            self.jira.start_sla(issue, "Time to first response", timedelta(hours=8), at=opened)
            if JIRA_STATUSES[n % 3] != "Waiting for support":
                self.jira.transition(issue, opened + timedelta(minutes=30), JIRA_STATUSES[n % 3])
        self.jira.now = wall
        self.zendesk.mount(mock)
        self.jira.mount(mock)
        self.config = self._deployment(directory)
        self.env = {
            TOKEN_ENV: self.zendesk.api_token,
            "JIRA_API_TOKEN": FAKE_API_TOKEN,
            "CASEWARDEN_WEBHOOK_URL": "http://127.0.0.1:9/unused",  # no rule of the preset notifies
        }

    def _deployment(self, directory: Path) -> Path:
        yaml = YAML()
        docs = {}
        for tracker in ("zendesk", "jira"):
            where = directory / tracker
            result = CliRunner().invoke(
                main, ["init", "--preset", PRESET, "--tracker", tracker, "--dir", str(where)]
            )
            assert result.exit_code == 0, result.output
            docs[tracker] = yaml.load((where / "casewarden.yaml").read_text())
        doc = docs["zendesk"]
        zd = doc["trackers"][0]
        zd["settings"]["subdomain"] = urlsplit(BASE_URL).netloc.split(".")[0]
        jira = docs["jira"]["trackers"][0]
        jira["settings"]["server"] = self.jira.base_url
        jira["settings"]["email"] = self.jira.user("agent").email
        jira["settings"]["max_attempts"] = 1  # down is down: no retries, no real sleeps
        doc["trackers"].append(jira)
        doc["policy"] = str(directory / "zendesk" / "policy.yaml")
        path = directory / "casewarden.yaml"
        with path.open("w") as fh:
            yaml.dump(doc, fh)
        return path

    def invoke(self, *args: str) -> tuple[int, str]:
        now = datetime.now(UTC)
        if now + LEAD > self.zendesk.now:
            self.zendesk.now = now + LEAD
        if now > self.jira.now:
            self.jira.now = now
        result = CliRunner().invoke(
            main, [*args, "-c", str(self.config)], env=self.env, catch_exceptions=False
        )
        self.last_output = result.output
        return result.exit_code, result.stdout if "--json" in args else result.output

    def run(self) -> tuple[int, dict[str, dict[str, Any]]]:
        code, out = self.invoke("run", "--once", "--json")
        assert out.strip(), f"exit {code} and no JSON: {self.last_output}"
        return code, {t["tracker"]: t for t in json.loads(out)["trackers"]}

    def keyed_writes(self, tracker: str) -> Counter[str]:
        """Every keyed side effect as the tracker holds it: marker lines in notes and comments."""
        seen: Counter[str] = Counter()
        if tracker == "jira":
            for issue in self.jira.state.issues.values():
                for comment in issue.comments:
                    seen.update(line for line in comment.body.splitlines() if line.startswith("[casewarden:"))
            return seen
        for ticket in self.zendesk.tickets.values():
            for body in (c["body"] for c in ticket.comments()):
                seen.update(line for line in body.splitlines() if line.startswith("[casewarden:"))
        return seen


@pytest.fixture
def both(tmp_path: Path) -> Iterator[Both]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield Both(tmp_path, mock)


def test_one_policy_governs_a_zendesk_instance_and_a_jira_project(both: Both) -> None:
    code, out = both.invoke("bootstrap", "--apply")
    assert code == EXIT_OK, out
    code, trackers = both.run()
    assert code == EXIT_OK, trackers
    assert set(trackers) == {"zendesk", "jira"}
    for name, result in trackers.items():
        assert result["error"] is None and result["read"] > 0, (name, result)
        assert result["applied"] > 0 and not result["failed"], (name, result)


@pytest.mark.parametrize("down", ["zendesk", "jira"])
def test_one_trackers_outage_does_not_stop_the_other(both: Both, down: str) -> None:
    code, out = both.invoke("bootstrap", "--apply")
    assert code == EXIT_OK, out
    up = "jira" if down == "zendesk" else "zendesk"
    if down == "zendesk":
        for endpoint in both.zendesk.endpoints:
            both.zendesk.faults.fail_next(endpoint, count=100_000, status=503)
    else:
        both.jira.faults.server_error("*", 503, times=100_000)

    code, trackers = both.run()
    assert code == EXIT_TRACKER, trackers
    assert trackers[down]["error"] and "503" in trackers[down]["error"], trackers[down]
    assert trackers[up]["error"] is None and trackers[up]["applied"] > 0, trackers[up]

    both.zendesk.faults.clear()
    both.jira.faults.clear()
    code, trackers = both.run()
    assert code == EXIT_OK, trackers
    assert trackers[down]["error"] is None and trackers[down]["applied"] > 0, "it carried on once back"
    both.run()
    for tracker in ("zendesk", "jira"):
        written = both.keyed_writes(tracker)
        assert sum(written.values()) > 0, f"the preset's keyed notes reached {tracker}"
        twice = {key: n for key, n in written.items() if n > 1}
        assert twice == {}, f"written twice on {tracker}: {twice}"


def test_report_cross_check_compares_with_zendesk_sla_policies(both: Both) -> None:
    """Zendesk's SLA policy agrees with the preset for the 24x7 levels (15 minutes and 1 hour to the first
    reply, in calendar time) and not for S3, whose 8 hours casewarden counts in business hours: the
    cross-check must find exactly the S3 tickets still waiting for a first reply, each late by the
    closed hours between."""
    both.zendesk.create_sla_policy(
        "Support",
        filter={"all": [], "any": []},
        policy_metrics=[
            {"priority": p, "metric": "first_reply_time", "target": minutes, "business_hours": False}
            for p, minutes in (("urgent", 15), ("high", 60), ("normal", 480))
        ],
    )
    assert both.invoke("bootstrap", "--apply")[0] == EXIT_OK
    assert both.run()[0] == EXIT_OK
    code, out = both.invoke("report", "--cross-check", "--tracker", "zendesk", "--format", "json")
    tables = json.loads(out)
    summary = tables[0]["rows"][0]
    assert summary["tracker"] == "zendesk" and int(summary["compared"]) > 0, summary
    rows = tables[1]["rows"] if len(tables) > 1 else []
    metrics = {r["metric"] for r in rows}
    assert metrics <= {"first_response"}, rows
    priorities = {
        both.zendesk.tickets[int(r["case"])].priority for r in rows if r["why"] == "due instants differ"
    }
    assert priorities == {"normal"}, rows
    assert all(r["why"] == "due instants differ" for r in rows), "both sides agree which clocks stopped"
    assert int(summary["agree"]) > 0, "the 24x7 levels agree"
    assert code == 1, "disagreements are problems found"


def test_report_cross_check_compares_with_jsm_slas(both: Both) -> None:
    """JSM's "Time to first response" runs 8 calendar hours on every issue; the preset gives S1 15 minutes,
    S2 an hour and S3 8 business hours: the cross-check must say each unanswered issue disagrees, by the
    difference between the two rules."""
    assert both.invoke("bootstrap", "--apply")[0] == EXIT_OK
    assert both.run()[0] == EXIT_OK
    code, out = both.invoke("report", "--cross-check", "--tracker", "jira", "--format", "json")
    tables = json.loads(out)
    summary = tables[0]["rows"][0]
    assert summary["tracker"] == "jira" and int(summary["compared"]) > 0, summary
    rows = {r["case"]: r for r in tables[1]["rows"]}
    assert rows and code == 1
    checked: Counter[str] = Counter()
    for case_id, row in rows.items():
        issue = both.jira.issue(case_id)
        priority = both.jira.site.priority(issue.priority).name
        checked[priority] += 1
        assert row["tracker SLA"] == "Time to first response" and row["metric"] == "first_response"
        if priority == "Highest":  # S1: 15 minutes against JSM's 8 hours
            assert row["tracker - ours"] == "+7 h 45 min", row
        elif priority == "High":  # S2: 1 hour
            assert row["tracker - ours"] == "+7 h", row
    assert checked["Highest"] and checked["High"], checked
