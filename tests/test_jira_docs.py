"""docs/jira.md stays true: it lists every Jira setting there is (and no other), its deployment example
is a valid tracker entry with valid Jira settings, and the README links to it."""

from __future__ import annotations

import re
from pathlib import Path

from ruamel.yaml import YAML

from casewarden.connectors.jira import JiraSettings
from casewarden.sync.deployment import TrackerSpec

ROOT = Path(__file__).resolve().parents[1]
GUIDE = (ROOT / "docs" / "jira.md").read_text()


def test_the_settings_table_lists_every_setting_and_no_other() -> None:
    table = GUIDE.split("Settings (`settings:`", 1)[1].split("\n\n", 2)[1]
    documented = {
        name for row in re.findall(r"^\| (`[^|]+`) \|", table, re.M) for name in re.findall(r"`(\w+)`", row)
    }
    assert documented == set(JiraSettings.model_fields)


def test_the_deployment_example_is_a_valid_entry() -> None:
    block = re.search(r"## 6\. The deployment entry.*?```yaml\n(.*?)```", GUIDE, re.S)
    assert block is not None
    entry = YAML(typ="safe").load(block.group(1))["trackers"][0]
    spec = TrackerSpec.model_validate(entry)
    settings = JiraSettings.model_validate(spec.settings)
    assert spec.type == "jira" and settings.projects == ("SUP",)


def test_the_readme_links_to_the_guide() -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("\n## Jira\n", 1)[1].split("\n## ", 1)[0]
    assert "(docs/jira.md)" in section and len(section.splitlines()) < 12, "keep the README's section short"
