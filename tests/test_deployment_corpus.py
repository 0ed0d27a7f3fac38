"""The malformed-deployment corpus: every file in ``tests/corpus/deployment`` holds one mistake, and
``casewarden plan`` must answer it with one line naming the file, the line and the field, and exit code 2,
never a traceback. The format of the expectations is the policy corpus's (``tests/test_policy_corpus.py``;
see the corpus README)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from ruamel.yaml import YAML

from casewarden.sync.cli import EXIT_USAGE, main
from tests.test_policy_corpus import _EXPECT, assert_answered, read_expectations

CORPUS = Path(__file__).parent / "corpus" / "deployment"
SIDECAR = CORPUS / "expectations.yaml"
ENV = {
    "CORPUS_WEBHOOK_URL": "http://127.0.0.1:9/hook",
    "CORPUS_SMTP_USER": "casewarden",
    "CORPUS_SMTP_PASSWORD": "not-a-real-password",
    "CORPUS_UNSET_VARIABLE": "",
}

#: The deployment every corpus file is an edit of.
VALID = """\
# a valid deployment: the corpus files are this one with one mistake each
policy: priority-lifecycle
state: state/state.sqlite

trackers:
  - name: local
    type: local
    settings:
      path: tracker.sqlite
      create: true
    levels:
      P1: P1
      P2: P2
    statuses:
      New: New
    fields:
      level: casewarden_level
      breached: casewarden_breached
    batch_size: 100

notifications:
  channels:
    ops-webhook:
      type: webhook
      url_env: CORPUS_WEBHOOK_URL
      timeout: 10
    duty-email:
      type: email
      host: smtp.example.com
      port: 587
      security: starttls
      from: casewarden@example.com
      to: [duty-manager@example.com]
      username_env: CORPUS_SMTP_USER
      password_env: CORPUS_SMTP_PASSWORD
  contacts:
    support-desk: [ops-webhook]
    ceo: [duty-email]
  on_breach: [ops-webhook]
  adoption:
    horizon: 1 day
    backfill: false
  max_per_cycle: 200
  time_budget: 5 minutes
  retry: {backoff: 1 minute, max_backoff: 1 hour, max_age: 1 day}

schedule:
  every: 5m
"""


EXPECTATIONS = read_expectations(CORPUS)


def plan(path: Path) -> Result:
    return CliRunner().invoke(main, ["plan", "-c", str(path)], env=ENV)


def test_the_corpus_is_big_enough_and_every_sidecar_entry_has_a_file() -> None:
    assert len(EXPECTATIONS) >= 40
    side = YAML(typ="safe").load(SIDECAR.read_text(encoding="utf-8"))
    assert set(side) <= set(EXPECTATIONS)
    assert _EXPECT.pattern.startswith("# expect:")


def test_the_file_the_corpus_edits_is_valid(tmp_path: Path) -> None:
    path = tmp_path / "casewarden.yaml"
    path.write_text(VALID, encoding="utf-8")
    result = plan(path)
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("name", sorted(EXPECTATIONS))
def test_plan_answers_each_mistake_with_one_located_line(name: str, tmp_path: Path) -> None:
    path = tmp_path / name  # a folder of its own: the tracker and state a valid file would create
    shutil.copyfile(CORPUS / name, path)
    result = plan(path)
    expected = EXPECTATIONS[name]
    assert_answered(result, path, expected, exit_code=EXIT_USAGE, nothing_else=True)
    assert result.stdout == ""
    assert not (tmp_path / "tracker.sqlite").exists() or name == "tracker-path-missing.yaml"
