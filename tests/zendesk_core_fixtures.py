"""Building a Zendesk connector on the fake for the focused connector tests (reading, writing, limits)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import responses

from casewarden.connectors.base import ConnectorContext, CycleBudget
from casewarden.connectors.mapping import NameMap
from casewarden.connectors.sources import CaseSources
from casewarden.connectors.zendesk import ZendeskConnector, ZendeskSettings
from casewarden.connectors.zendesk.client import BudgetedSession
from tests.fakes.zendesk import FakeZendesk, User

T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
LEVELS = {"S1": "urgent", "S2": "high", "S3": "normal", "S4": "low"}
STATUSES = {"New": "New", "Open": "Open", "Pending": "Pending", "Solved": "Solved", "Closed": "closed"}
TOKEN_ENV = "ZD_TEST_TOKEN"


class FakeTime:
    """A monotonic clock and a sleep that advances it (and the fake's clock) instead of waiting."""

    def __init__(self, *fakes: FakeZendesk) -> None:
        self.now = 1000.0
        self.fakes = list(fakes)
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds
        for fake in self.fakes:
            fake.advance(timedelta(seconds=seconds))


def connector(
    fake: FakeZendesk,
    *,
    time: FakeTime | None = None,
    budget: CycleBudget | None = None,
    fields: tuple[str, ...] = (),
    case_data: dict[str, Any] | None = None,
    names: NameMap | None = None,
    **settings: Any,
) -> ZendeskConnector:
    time = time or FakeTime(fake)
    budget = budget or CycleBudget(clock=time.clock)
    merged: dict[str, Any] = {
        "base_url": fake.base_url,
        "email": fake.admin.email,
        "token_env": TOKEN_ENV,
        "job_poll_interval": 1.0,
        **settings,
    }
    config = ZendeskSettings(**merged)
    context = ConnectorContext(
        tracker="zd",
        names=names or NameMap(LEVELS, STATUSES, policy_levels=list(LEVELS), policy_statuses=list(STATUSES)),
        case_data=CaseSources.model_validate(case_data or {}),
        fields=fields,
        environ={TOKEN_ENV: fake.api_token},
        budget=budget,
    )
    session = BudgetedSession(
        requests_per_minute=config.requests_per_minute,
        budget=budget,
        max_wait=config.max_wait,
        sleep=time.sleep,
        clock=time.clock,
        wall=lambda: fake.now,
    )
    return ZendeskConnector(config, context, session=session, sleep=time.sleep)


@pytest.fixture
def fake() -> FakeZendesk:
    return FakeZendesk(now=T0)


@pytest.fixture
def rsps() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture
def people(fake: FakeZendesk) -> tuple[User, User]:
    customer = fake.create_user("Carla Customer", "carla@example.com", at=T0)
    agent = fake.create_user("Ann Agent", "ann@acme.example", role="agent", at=T0)
    return customer, agent
