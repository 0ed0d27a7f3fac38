"""The shared suites must fail a connector that is wrong in the ways a remote connector can quietly be.

``tests/trackers/wrong.py`` keeps its markers only in memory and ignores group assignment while answering
"applied". Run on it, the contract and fault suites must fail exactly where those faults matter: markers
after a restart, assignment taking effect, and the engine repeating side effects after a crash. The suites
run in a separate pytest process so their failures are observed, not inherited.
"""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

MUST_FAIL = {
    "TestContract::test_markers_survive_a_restart[wrong]",
    "TestContract::test_group_assignment_takes_effect[wrong]",
    "TestContract::test_a_lost_answer_is_unknown_then_settled_as_applied[wrong]",
    "TestFaults::test_killed_between_the_writes_and_the_record[wrong]",
    "TestFaults::test_unknown_outcomes_that_landed_and_that_did_not[wrong]",
    "TestFaults::test_a_lost_state_store_repeats_nothing[wrong]",
}


def run_suites(tracker: str, tmp_path: Path) -> dict[str, bool]:
    report = tmp_path / f"{tracker}.xml"
    env = {**os.environ, "CASEWARDEN_TEST_TRACKERS": tracker}
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            f"--junitxml={report}",
            str(ROOT / "tests" / "test_contract.py"),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    outcome = {}
    for case in ET.parse(report).getroot().iter("testcase"):
        name = f"{case.get('classname', '').rpartition('.')[2]}::{case.get('name')}"
        failed = any(child.tag in ("failure", "error") for child in case)
        skipped = any(child.tag == "skipped" for child in case)
        if not skipped:
            outcome[name] = not failed
    return outcome


def test_the_suites_fail_a_connector_that_forgets_markers_and_ignores_assignment(tmp_path: Path) -> None:
    outcome = run_suites("wrong", tmp_path)
    failed = {name for name, passed in outcome.items() if not passed}
    assert failed >= MUST_FAIL, f"the suites let a wrong connector through: {sorted(MUST_FAIL - failed)}"
    # and they are not failing it for unrelated reasons: the plain read path still passes
    assert outcome["TestContract::test_created_case_reads_back_with_its_timeline[wrong]"]
