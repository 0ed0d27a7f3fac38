"""docs/zendesk.md stays true to the connector: every setting is documented, the example deployment's
settings validate, and the guide is linked from the README."""

from __future__ import annotations

import re
from pathlib import Path

from ruamel.yaml import YAML

from casewarden.connectors.zendesk import ZendeskConnector, ZendeskSettings

ROOT = Path(__file__).resolve().parents[1]
GUIDE = (ROOT / "docs" / "zendesk.md").read_text(encoding="utf-8")


def test_every_setting_is_in_the_guide_and_no_other() -> None:
    table = GUIDE.split("### Settings", 1)[1].split("\n\n", 2)[1]
    documented = set()
    for row in table.splitlines()[2:]:
        documented |= set(re.findall(r"`([a-z_]+)`", row.split("|")[1]))
    assert documented == set(ZendeskSettings.model_fields)


def test_the_example_deployment_settings_validate() -> None:
    block = re.search(r"```yaml\n(trackers:.*?)```", GUIDE, re.S)
    assert block is not None
    tracker = YAML(typ="safe").load(block.group(1))["trackers"][0]
    assert tracker["type"] == ZendeskConnector.type
    ZendeskSettings.model_validate(tracker["settings"])


def test_the_readme_links_the_guide() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "## Zendesk" in readme and "docs/zendesk.md" in readme


def test_the_example_deployment_is_what_init_writes_for_the_preset_it_names() -> None:
    from casewarden.sync.init_files import deployment_text

    command = re.search(r"casewarden init --preset (\S+) --tracker zendesk", GUIDE)
    block = re.search(r"```yaml\n(trackers:.*?)```", GUIDE, re.S)
    assert command is not None and block is not None
    written = deployment_text(command.group(1), "zendesk", "policy.yaml")
    assert block.group(1) in written
