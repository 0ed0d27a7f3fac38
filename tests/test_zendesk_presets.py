"""Every bundled preset maps onto Zendesk as ``casewarden init --tracker zendesk`` writes it: the deployment
validates, ``bootstrap --apply`` makes a fresh instance ready for it, and doctor's mapping checks pass.

A level map that sends two policy levels to one Zendesk value cannot be read back (a ticket at ``low``
would always be the first level mapped there), so levels must round-trip; a policy with more levels than
Zendesk's four priorities gets a drop-down. Statuses must round-trip too, except the policy's closed ones:
Zendesk has one closed status, and a closed ticket can no longer change, so they share it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import responses
from click.testing import CliRunner

from casewarden.policy.loader import load_policy
from casewarden.policy.presets import preset_names
from casewarden.sync.cli import main
from casewarden.sync.deployment import load_deployment
from casewarden.sync.deployment_checks import check_deployment
from casewarden.sync.doctor import run_doctor
from casewarden.sync.wiring import name_map
from tests.fakes.zendesk import FakeZendesk

NOW = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
#: the e-mail ``init --tracker zendesk`` writes; the fake gets an admin of that name
INIT_EMAIL = "casewarden@acme.example"

#: doctor's checks of the Zendesk tracker that say whether the deployment's mapping holds
MAPPING_CHECKS = ("levels mapped", "statuses mapped", "levels resolve", "statuses resolve")


@pytest.fixture
def fake() -> Iterator[FakeZendesk]:
    instance = FakeZendesk(now=NOW)
    instance.create_user("casewarden", INIT_EMAIL, role="admin", at=NOW)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        instance.mount(rsps)
        yield instance


def init(tmp_path: Path, preset: str) -> Path:
    result = CliRunner().invoke(
        main,
        ["init", "--preset", preset, "--tracker", "zendesk", "--dir", str(tmp_path)],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    return tmp_path / "casewarden.yaml"


@pytest.mark.parametrize("preset", preset_names())
def test_init_for_zendesk_writes_a_deployment_that_validates(tmp_path: Path, preset: str) -> None:
    path = init(tmp_path, preset)
    deployment = load_deployment(path)
    policy = load_policy(deployment.policy_source)
    assert check_deployment(deployment, policy) == []
    (spec,) = deployment.spec.trackers
    assert spec.type == "zendesk"
    names = name_map(policy, deployment, spec)
    assert names.unmapped_levels() == [] and names.unmapped_statuses() == []
    problems: list[str] = []
    levels_back = {
        lv: names.level_from_tracker(names.level_to_tracker(lv) or "", problems) for lv in policy.levels
    }
    open_statuses = [st for st, s in policy.statuses.items() if s.category.value != "closed"]
    statuses_back = {
        st: names.status_from_tracker(names.status_to_tracker(st) or "", problems) for st in open_statuses
    }
    assert problems == []
    assert {lv: back for lv, back in levels_back.items() if back != lv} == {}, "levels share a Zendesk value"
    assert {st: back for st, back in statuses_back.items() if back != st} == {}, "statuses share one"
    if len(policy.levels) > 4:
        assert spec.settings.get("level_field"), "more levels than priorities: a drop-down holds them"


@pytest.mark.parametrize("preset", preset_names())
def test_a_fresh_instance_bootstrapped_for_each_preset_passes_the_mapping_checks(
    tmp_path: Path, preset: str, fake: FakeZendesk
) -> None:
    path = init(tmp_path, preset)
    env = {"ZENDESK_API_TOKEN": fake.api_token}
    result = CliRunner().invoke(
        main, ["bootstrap", "--apply", "-c", str(path)], env=env, catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    checks = {
        c.name: c for c in run_doctor(load_deployment(path), environ=env, now=NOW) if c.scope == "zendesk"
    }
    failed = {name: c.detail for name, c in checks.items() if not c.ok}
    assert failed == {}, f"{preset}: doctor found {failed}"
    assert set(MAPPING_CHECKS) <= set(checks)
    assert checks["fields and statuses present"].ok
