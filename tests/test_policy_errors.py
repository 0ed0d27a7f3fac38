"""Mistakes in a policy file are all reported at once, each located (file, line, column, field path) and
saying what is allowed; preset names work wherever a file does; unknown names get a clear answer.

Line and column numbers below are counted by hand in the YAML texts of this module (1-based).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from casewarden.errors import PolicyError, PolicyProblem
from casewarden.policy.loader import load_policy, load_policy_text
from casewarden.policy.presets import preset_names, preset_path
from casewarden.sync.cli import main

# Shape mistakes: found by the schema (pydantic) pass.
SHAPE = """\
policy:
  name: broken-shape
default_calendar: business
calendars:
  business:
    zone: America/Denverr
    hours: {mon-fri: ["17:00-08:00"]}
levels:
  - id: S1
    name: Critical
    rank: 1
    descripton: typo
    targets:
      - {metric: first_response, within: 3 fortnights}
default_level: S1
statuses:
  - {name: Open, category: open}
lifecyle:
  reopen_window: 7 days
"""

# Reference mistakes: the shape is right, names point nowhere or clash.
REFERENCES = """\
policy:
  name: broken-references
default_calendar: 24x7
calendars:
  24x7: {zone: UTC}
  business:
    zone: America/Denver
    hours: {mon-fri: ["08:00-17:00"]}
    holidays: {country: ZZ}
levels:
  - id: S1
    name: Critical
    rank: 1
    calendar: busines
  - id: S1
    name: Again
    rank: 2
default_level: S1
statuses:
  - {name: Open, category: open}
"""

# Both kinds in one file.
EVERYTHING = """\
policy:
  name: broken-everything
default_calendar: 24x7
calendars:
  24x7: {zone: UTC}
  business:
    zone: America/Denverr
    hours: {mon-fri: ["17:00-08:00"]}
    holidays: {country: ZZ}
levels:
  - id: S1
    name: Critical
    rank: 1
    calendar: busines
    descripton: typo
    targets:
      - {metric: first_response, within: 3 fortnights}
  - id: S1
    name: Again
    rank: 2
default_level: S1
statuses:
  - {name: Open, category: open}
"""

SYNTAX = """\
policy:
  name: broken-yaml
levels:
  - id: S1
   name: Critical
"""


def problems_of(text: str, filename: str) -> list[PolicyProblem]:
    with pytest.raises(PolicyError) as info:
        load_policy_text(text, filename=filename)
    return info.value.problems


def by_path(problems: list[PolicyProblem]) -> dict[str, PolicyProblem]:
    out = {p.path: p for p in problems}
    assert len(out) == len(problems), f"two problems share a path: {problems}"
    return out


def test_shape_mistakes_are_all_reported_with_location_and_what_is_allowed() -> None:
    found = by_path(problems_of(SHAPE, "shape.yaml"))
    assert set(found) == {
        "calendars.business.zone",
        "calendars.business.hours",
        "levels[0].descripton",
        "levels[0].targets[0].within",
        "lifecyle",
    }
    assert all(p.file == "shape.yaml" for p in found.values())

    zone = found["calendars.business.zone"]
    assert (zone.line, zone.column) == (6, 5)
    assert "'America/Denverr' is not an IANA time zone" in zone.message
    assert "America/Denver" in zone.message.split("not an IANA time zone", 1)[1]  # an example of one

    hours = found["calendars.business.hours"]
    assert (hours.line, hours.column) == (7, 5)
    assert "'17:00-08:00'" in hours.message and "ends after it starts" in hours.message
    assert "two intervals to cross midnight" in hours.message

    key = found["levels[0].descripton"]
    assert (key.line, key.column) == (12, 5)
    assert "unknown key 'descripton'" in key.message
    assert "did you mean 'description'?" in key.message
    assert "allowed: id, name, aliases, rank, description" in key.message

    duration = found["levels[0].targets[0].within"]
    assert (duration.line, duration.column) == (14, 34)
    assert "'3 fortnights'" in duration.message and "unknown unit 'fortnights'" in duration.message
    assert "minutes, hours, days or weeks" in duration.message

    top = found["lifecyle"]
    assert (top.line, top.column) == (18, 1)
    assert "did you mean 'lifecycle'?" in top.message


def test_reference_mistakes_are_all_reported_with_location_and_suggestion() -> None:
    found = by_path(problems_of(REFERENCES, "refs.yaml"))
    assert set(found) == {"calendars.business.holidays.country", "levels[0].calendar", "levels[1].id"}

    country = found["calendars.business.holidays.country"]
    assert (country.line, country.column) == (9, 16)
    assert "unknown holiday country 'ZZ'" in country.message
    allowed = country.message.split("allowed: ", 1)[1]
    assert "US" in allowed.split(", ") and "GB" in allowed.split(", ")

    cal = found["levels[0].calendar"]
    assert (cal.line, cal.column) == (14, 5)
    assert cal.message == "unknown calendar 'busines'; did you mean 'business'? (allowed: 24x7, business)"

    dup = found["levels[1].id"]
    assert (dup.line, dup.column) == (15, 5)
    assert dup.message == "level id 'S1' is defined twice"


def test_shape_and_reference_mistakes_are_reported_together() -> None:
    found = by_path(problems_of(EVERYTHING, "all.yaml"))
    assert set(found) == {
        "calendars.business.zone",
        "calendars.business.hours",
        "calendars.business.holidays.country",
        "levels[0].calendar",
        "levels[0].descripton",
        "levels[0].targets[0].within",
        "levels[1].id",
    }


def test_shape_mistakes_are_each_located() -> None:
    """Every schema problem of a file with both kinds is there, with its line and column."""
    found = by_path(problems_of(EVERYTHING, "all.yaml"))
    assert {
        "calendars.business.zone",
        "calendars.business.hours",
        "levels[0].descripton",
        "levels[0].targets[0].within",
    } <= set(found)
    within = found["levels[0].targets[0].within"]
    assert (within.line, within.column) == (17, 34)


def test_yaml_syntax_error_names_its_line() -> None:
    [problem] = problems_of(SYNTAX, "syntax.yaml")
    assert problem.file == "syntax.yaml"
    assert (problem.line, problem.column) == (5, 4)
    assert problem.message.startswith("not valid YAML:")
    assert problem.path == "levels[0]"  # replayed from the events before the error
    assert str(problem).startswith("syntax.yaml:5:4: levels[0]: not valid YAML")


def test_problem_text_is_file_line_column_path_message() -> None:
    found = by_path(problems_of(REFERENCES, "refs.yaml"))
    assert str(found["levels[1].id"]) == "refs.yaml:15:5: levels[1].id: level id 'S1' is defined twice"


# --------------------------------------------------------------------------- command line


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_cli_validate_exits_1_and_prints_every_problem(tmp_path: Path) -> None:
    shape = write(tmp_path, "shape.yaml", SHAPE)
    refs = write(tmp_path, "refs.yaml", REFERENCES)
    result = CliRunner().invoke(main, ["policy", "validate", str(shape), str(refs), "tiered-partner"])
    assert result.exit_code == 1
    err = result.stderr
    for where in (
        f"{shape}:6:5: calendars.business.zone:",
        f"{shape}:7:5: calendars.business.hours:",
        f"{shape}:12:5: levels[0].descripton: unknown key 'descripton'; did you mean 'description'?",
        f"{shape}:14:34: levels[0].targets[0].within:",
        f"{shape}:18:1: lifecyle:",
        f"{refs}:9:16: calendars.business.holidays.country: unknown holiday country 'ZZ'",
        f"{refs}:14:5: levels[0].calendar: unknown calendar 'busines'; did you mean 'business'?",
        f"{refs}:15:5: levels[1].id: level id 'S1' is defined twice",
    ):
        assert where in err, where
    assert err.count("error ") == 8
    assert "2 of 3 file(s) have problems." in err
    assert "ok tiered-partner: tiered-partner" in result.stdout


def test_cli_validate_reports_yaml_syntax_error(tmp_path: Path) -> None:
    path = write(tmp_path, "syntax.yaml", SYNTAX)
    result = CliRunner().invoke(main, ["policy", "validate", str(path)])
    assert result.exit_code == 1
    assert f"{path}:5:4: levels[0]: not valid YAML" in result.stderr


def test_cli_explain_of_a_broken_file_exits_1(tmp_path: Path) -> None:
    path = write(tmp_path, "refs.yaml", REFERENCES)
    result = CliRunner().invoke(main, ["policy", "explain", str(path)])
    assert result.exit_code == 1
    assert "level id 'S1' is defined twice" in result.stderr
    assert "3 problem(s) found." in result.stderr


# --------------------------------------------------------------------------- presets and names


def test_a_preset_name_works_where_a_file_does(tmp_path: Path) -> None:
    source = preset_path("priority-lifecycle")
    assert source is not None
    copy = tmp_path / "mine.yaml"
    shutil.copy(source, copy)
    by_name, by_file = load_policy("priority-lifecycle"), load_policy(copy)
    assert by_name.spec == by_file.spec
    runner = CliRunner()
    for ref in ("priority-lifecycle", str(copy)):
        assert runner.invoke(main, ["policy", "validate", ref]).exit_code == 0
        due = runner.invoke(
            main, ["due", ref, "--level", "P3", "--opened", "2026-11-25T16:30:00-07:00", "--json"]
        )
        assert due.exit_code == 0, due.output
        assert '"due": "2026-11-27T08:30:00-07:00"' in due.stdout


def test_a_file_wins_over_a_preset_of_the_same_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path, "tiered-partner", REFERENCES)
    with pytest.raises(PolicyError) as info:
        load_policy("tiered-partner")
    assert info.value.problems[0].file == "tiered-partner"


def test_unknown_name_is_a_clear_error() -> None:
    with pytest.raises(PolicyError) as info:
        load_policy("priority-lifecyle")
    [problem] = info.value.problems
    assert problem.message.startswith("no such file, and no preset of that name.")
    assert "Did you mean the preset 'priority-lifecycle'?" in problem.message
    assert "Presets: " + ", ".join(preset_names()) in problem.message


def test_cli_unknown_name() -> None:
    runner = CliRunner()
    result = runner.invoke(main, ["policy", "validate", "no-such-policy.yaml"])
    assert result.exit_code == 1
    assert "no-such-policy.yaml: no such file, and no preset of that name." in result.stderr
    assert "Did you mean" not in result.stderr
    due = runner.invoke(main, ["due", "tiered-partnr", "--level", "T2", "--opened", "2026-05-01T10:00:00Z"])
    assert due.exit_code == 1
    assert "Did you mean the preset 'tiered-partner'?" in due.stderr


def test_cli_due_unknown_level_names_the_levels() -> None:
    result = CliRunner().invoke(
        main, ["due", "tiered-partner", "--level", "Tier 4", "--opened", "2026-05-01T10:00:00Z"]
    )
    assert result.exit_code == 2
    assert "unknown level 'Tier 4'; levels: T1, T2, T3" in result.stderr
