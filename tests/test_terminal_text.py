"""Text that came from a file or a tracker reaches the terminal as it was written: rich never reads it
as markup (``[/red]`` once crashed the error printer) or as an emoji code (``:100:``), and control
characters are shown, not obeyed."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from pathlib import Path

from click.testing import CliRunner
from rich.console import Console

from casewarden.connectors.base import Change, ChangeKind, ChangeResult, Outcome
from casewarden.policy.explain import Table
from casewarden.sync.cli import main
from casewarden.sync.engine import CycleResult, Skipped, TrackerResult
from casewarden.sync.render import render_tables
from casewarden.sync.summary import print_cycle
from casewarden.sync.terminal import say, visible

MARKUP = "[/red] In Progress"
EMOJI = ":100:"
BOLD = "[bold]loud[/bold]"

POLICY = f"""\
policy: {{name: "{EMOJI} {BOLD}"}}
default_calendar: office
calendars:
  office: {{zone: UTC, hours: 24x7}}
levels:
  - id: P1
    name: "{MARKUP}"
    rank: 1
    targets:
      - {{metric: first_response, within: 30 min, name: "{BOLD}"}}
default_level: P1
statuses:
  - {{name: "{EMOJI}", category: new}}
  - {{name: "{MARKUP}", category: open}}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "policy.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_validate_prints_the_policy_name_verbatim(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["policy", "validate", str(write(tmp_path, POLICY))])
    assert result.exit_code == 0, result.output
    assert f": {EMOJI} {BOLD} (1 levels, 2 statuses" in result.stdout


def test_explain_prints_names_verbatim_in_every_format(tmp_path: Path) -> None:
    path = str(write(tmp_path, POLICY))
    runner = CliRunner()
    table = runner.invoke(main, ["policy", "explain", path])
    assert table.exit_code == 0, table.output
    for text in (MARKUP, EMOJI, BOLD, f"Levels of {EMOJI} {BOLD}"):
        assert text in table.stdout, text
    assert "💯" not in table.stdout
    markdown = runner.invoke(main, ["policy", "explain", path, "--format", "markdown"])
    assert f"| {MARKUP} |" in markdown.stdout and f"| {EMOJI} |" in markdown.stdout
    assert "💯" not in markdown.stdout
    as_json = runner.invoke(main, ["policy", "explain", path, "--format", "json"])
    statuses = next(t for t in json.loads(as_json.stdout) if t["title"] == "Statuses")
    assert [row["status"] for row in statuses["rows"]] == [EMOJI, MARKUP]


def test_the_error_printer_prints_quoted_names_verbatim(tmp_path: Path) -> None:
    broken = POLICY + f'lifecycle: {{resume_status: "{MARKUP}x", reopen_status: "{EMOJI}"}}\n'
    result = CliRunner().invoke(main, ["policy", "validate", str(write(tmp_path, broken))])
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit)
    assert f"unknown status '{MARKUP}x'; did you mean '{MARKUP}'?" in result.stderr
    assert f"status '{EMOJI}' has category new" not in result.stderr  # new is allowed for a reopen
    explain = CliRunner().invoke(main, ["policy", "explain", str(write(tmp_path, broken))])
    assert explain.exit_code == 1 and f"unknown status '{MARKUP}x'" in explain.stderr


def test_due_prints_target_names_verbatim(tmp_path: Path) -> None:
    path = str(write(tmp_path, POLICY))
    result = CliRunner().invoke(main, ["due", path, "--level", MARKUP, "--opened", "2026-05-01T10:00:00Z"])
    assert result.exit_code == 0, result.output
    assert f"  {BOLD}" in result.stdout and "due 2026-05-01T10:30:00+00:00" in result.stdout
    unknown = CliRunner().invoke(main, ["due", path, "--level", "[/red]", "--opened", "2026-05-01T10:00:00Z"])
    assert unknown.exit_code == 2 and "unknown level '[/red]'" in unknown.stderr


def test_the_helpers_are_safe_on_a_console_that_reads_markup() -> None:
    """Library callers pass their own consoles (markup and emoji on by default): the helpers hold."""
    buf = io.StringIO()
    console = Console(file=buf, width=200)
    say(console, ("error", "red"), f" {MARKUP} {EMOJI} \x1b[2J")
    render_tables([Table(BOLD, (MARKUP,), ((EMOJI,),), (f"{BOLD} note",))], "table", console)
    out = buf.getvalue()
    assert f"error {MARKUP} {EMOJI} \\x1b[2J" in out
    assert f"\n{BOLD}" in out and f"┃ {MARKUP} ┃" in out and f"│ {EMOJI}" in out and f"• {BOLD} note" in out
    assert "💯" not in out and "\x1b" not in out


def test_visible_shows_control_characters() -> None:
    assert visible("a\x00b\x1b[31mc\x7f\u0085\nd\te") == "a\\x00b\\x1b[31mc\\x7f\\x85\nd\te"


def test_a_cycle_summary_prints_tracker_text_verbatim() -> None:
    """Case ids, reasons, statuses and errors come from the tracker."""
    change = Change(f"{EMOJI}-1", ChangeKind.SET_STATUS, MARKUP, None, "k:escalation.1", f"moved to {MARKUP}")
    tracker = TrackerResult(
        f"{BOLD} desk",
        read=1,
        changes=[change],
        results=[ChangeResult(change, Outcome.REFUSED, f"HTTP 422: {MARKUP}")],
        skipped=[Skipped(f"{BOLD} desk", "[red]7", f"unknown status {MARKUP}")],
        problems=[f"problem with {EMOJI}"],
    )
    buf = io.StringIO()
    print_cycle(CycleResult(datetime(2026, 5, 1, tzinfo=UTC), False, [tracker]), Console(file=buf, width=300))
    out = buf.getvalue()
    for text in (
        f"{BOLD} desk: read 1",
        f"- {EMOJI}-1: set_status = '{MARKUP}'  (moved to {MARKUP})",
        f"refused {EMOJI}-1 set_status: HTTP 422: {MARKUP}",
        f"skipped [red]7: unknown status {MARKUP}",
        f"problem problem with {EMOJI}",
    ):
        assert text in out, text
