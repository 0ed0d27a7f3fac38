"""The deployment file: located errors as good as the policy's, connector settings included; secrets refused
anywhere; cross-references with the policy checked before any tracker is touched."""

from __future__ import annotations

from pathlib import Path

import pytest

from casewarden.errors import ConfigError
from casewarden.policy.loader import load_policy_text
from casewarden.sync.deployment import load_deployment, load_deployment_text
from casewarden.sync.deployment_checks import check_deployment
from casewarden.sync.wiring import Runtime
from tests.policy_fixtures import POLICY

GOOD = """\
policy: policy.yaml
state: state.sqlite
trackers:
  - name: desk
    type: local
    settings:
      path: tracker.sqlite
      create: true
notifications:
  channels:
    hook: {type: webhook, url_env: HOOK_URL}
  contacts: {boss: [hook]}
"""


def problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_deployment_text(text, filename="casewarden.yaml")
    return [str(p) for p in caught.value.problems]


def test_a_good_file_loads_with_its_connector_settings() -> None:
    d = load_deployment_text(GOOD, filename="casewarden.yaml")
    cls, settings = d.connector_of("desk")
    assert cls.type == "local" and settings.model_dump()["path"] == "tracker.sqlite"


def test_a_misspelt_connector_setting_names_file_line_and_the_right_key() -> None:
    missing, p = problems(GOOD.replace("      path: tracker.sqlite", "      pth: tracker.sqlite"))
    assert missing.startswith("casewarden.yaml:6:5: trackers[0].settings.path: required field is missing")
    assert p.startswith(
        "casewarden.yaml:7:7: trackers[0].settings.pth: unknown key 'pth'; did you mean 'path'?"
    )
    assert "allowed: path, create" in p


def test_an_unknown_tracker_type_says_which_exist() -> None:
    [p] = problems(GOOD.replace("type: local", "type: locall"))
    assert p.startswith("casewarden.yaml:5:5: trackers[0].type:")
    assert "unknown tracker type 'locall'; did you mean 'local'?" in p


def test_every_mistake_is_reported_at_once() -> None:
    text = GOOD.replace("type: local", "type: nosuch").replace("state: state.sqlite", "state: [1]")
    found = problems(text)
    assert any("state" in p for p in found)


@pytest.mark.parametrize(
    ("snippet", "where"),
    [
        ("    hook: {type: webhook, url_env: HOOK_URL, token: abc123}", "notifications.channels.hook.token"),
        (
            "    hook: {type: webhook, url_env: HOOK_URL, auth: {password: hunter2}}",
            "notifications.channels.hook.auth",
        ),
        (
            "    hook: {type: webhook, url_env: HOOK_URL, credentials: abc}",
            "notifications.channels.hook.credentials",
        ),
        (
            "    hook: {type: webhook, url_env: HOOK_URL, private_key: abc}",
            "notifications.channels.hook.private_key",
        ),
        (
            "    hook: {type: webhook, url: 'https://bot:s3cret@hooks.example.com/x'}",
            "notifications.channels.hook.url",
        ),
    ],
)
def test_inline_secrets_are_refused_at_any_depth(snippet: str, where: str) -> None:
    text = GOOD.replace("    hook: {type: webhook, url_env: HOOK_URL}", snippet)
    found = problems(text)
    assert any(where in p and ("secret" in p or "password" in p) for p in found), found
    assert not any(s in p for p in found for s in ("abc123", "hunter2", "s3cret")), "never echo the secret"


def test_env_keys_are_not_secrets() -> None:
    text = GOOD.replace("url_env: HOOK_URL}", "url_env: HOOK_URL, headers_env: {Authorization: HOOK_TOKEN}}")
    load_deployment_text(text, filename="casewarden.yaml")


def test_case_data_the_connector_cannot_read_is_refused() -> None:
    text = GOOD.replace(
        "      create: true\n", "      create: true\n    case_data:\n      region: {organization_field: r}\n"
    )
    [p] = problems(text)
    assert "trackers[0].case_data.region" in p and "cannot read case data from a organization_field" in p


def test_tracker_names_are_unique() -> None:
    text = GOOD.replace(
        "notifications:",
        "  - {name: desk, type: local, settings: {path: b.sqlite, create: true}}\nnotifications:",
    )
    assert any("used twice" in p for p in problems(text))


def test_cross_references_with_the_policy(tmp_path: Path) -> None:
    text = GOOD.replace(
        "      create: true\n", "      create: true\n    levels: {P9: P9}\n    statuses: {Opne: Open}\n"
    )
    text = text.replace(
        "contacts: {boss: [hook]}", "contacts: {bos: [hook], boss: [hok]}\n  on_breach: [nope]"
    )
    d = load_deployment_text(text, filename="casewarden.yaml")
    found = [str(p) for p in check_deployment(d, load_policy_text(POLICY))]
    assert any("levels.P9" in p and "unknown level 'P9'" in p for p in found)
    assert any("statuses.Opne" in p and "did you mean 'Open'" in p for p in found)
    assert any("contacts.bos" in p and "did you mean 'boss'" in p for p in found)
    assert any("contacts.boss[0]" in p and "did you mean 'hook'" in p for p in found)
    assert any("on_breach[0]" in p and "unknown notification channel 'nope'" in p for p in found)
    assert all(p.startswith("casewarden.yaml:") and p.split(":")[1].isdigit() for p in found)


def test_a_mistyped_tracker_path_is_refused_unless_create(tmp_path: Path) -> None:
    (tmp_path / "policy.yaml").write_text(POLICY)
    (tmp_path / "casewarden.yaml").write_text(GOOD.replace("      create: true\n", ""))
    with pytest.raises(ConfigError, match=r"tracker\.sqlite does not exist .*create: true"):
        Runtime(load_deployment(tmp_path / "casewarden.yaml"), with_channels=False)
    assert not (tmp_path / "tracker.sqlite").exists()


def test_a_missing_deployment_file_says_how_to_make_one(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="casewarden init"):
        load_deployment(tmp_path / "nope.yaml")
