"""The shared contract and fault-injection suites, run over every tracker factory in tests.trackers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.connector_contract import ConnectorContract
from tests.connector_faults import APPLY_AT, ConnectorFaults
from tests.trackers import Factory, TrackerUnderTest, factory, selected


@pytest.fixture(params=selected())
def tut_factory(request: pytest.FixtureRequest) -> Factory:
    return factory(request.param)


@pytest.fixture
def tut(tut_factory: Factory, tmp_path: Path) -> Iterator[TrackerUnderTest]:
    """A fresh, empty tracker. The contract suite's writes are stamped a little after the harness's
    instants; the fault suite's at a fixed instant after its cycles' ``now``."""
    directory = tmp_path / "tracker"
    directory.mkdir()
    made = tut_factory(directory, lambda: APPLY_AT)
    yield made
    made.close()


class TestContract(ConnectorContract):
    pass


class TestFaults(ConnectorFaults):
    pass
