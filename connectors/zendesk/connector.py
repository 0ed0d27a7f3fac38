"""``ZendeskConnector``: the contract's hooks, each delegating to the module that does that one job.

Markers live on the tickets themselves (see :mod:`casewarden.connectors.zendesk.markers`): every update
that carries keyed changes also carries one private comment ending in a ``[casewarden:KEY]`` line per key,
and the same keys in the update's audit metadata (``metadata.custom.casewarden``); a follow-up ticket
carries its key in its ``external_id``. Nothing is kept in memory between processes.
"""

from __future__ import annotations

import builtins
import re
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import Any, ClassVar, Self
from urllib.parse import urlsplit

import requests
from zenpy import Zenpy
from zenpy.lib.exception import APIException

from casewarden.connectors.base import (
    BootstrapNeeds,
    BootstrapStep,
    Capabilities,
    CaseChanges,
    ChangeKind,
    ChangeResult,
    Connector,
    ConnectorContext,
    ConnectorSettings,
    HealthCheck,
    KnownCases,
    NativeTimer,
    Outcome,
    Page,
    Pending,
    Resume,
    TrackerCase,
    nothing_known,
)
from casewarden.connectors.zendesk.client import BudgetedSession, build_zenpy
from casewarden.connectors.zendesk.settings import PRIORITIES, SETTINGS_EXAMPLE, ZendeskSettings
from casewarden.errors import ConfigError, error_for_status

__all__ = ["ZendeskConnector"]

#: the drop-down ``init`` sets up for the levels of a policy with more levels than Zendesk's priorities
EXAMPLE_LEVEL_FIELD = "Level"

#: link kinds Zendesk has natively: an incident of a problem ticket (the policy's child_of a master case)
LINK_KINDS = frozenset({"child_of"})


class ZendeskConnector(Connector):
    """One Zendesk Support instance. ``session`` and ``sleep`` are test seams (the session must be a
    :class:`BudgetedSession` or behave like one)."""

    type: ClassVar[str] = "zendesk"
    Settings: ClassVar[builtins.type[ConnectorSettings]] = ZendeskSettings
    SETTINGS_EXAMPLE: ClassVar[str] = SETTINGS_EXAMPLE
    NATIVE_SLA: ClassVar[bool] = True
    SOURCE_KINDS: ClassVar[frozenset[str]] = frozenset(
        {"native", "field", "tag", "tag_prefix", "organization_field", "requester_timezone"}
    )
    MARKERS: ClassVar[str] = (
        "a private comment on the ticket ending in one [casewarden:KEY] line per key of the update (and the "
        "keys in that update's audit metadata); a follow-up ticket's key in its external_id"
    )

    def __init__(
        self,
        settings: ZendeskSettings,
        context: ConnectorContext,
        *,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        self.settings = settings
        self.context = context
        self.names = context.names
        self.case_data = context.case_data
        self.managed_fields = context.fields
        self.sleep: Callable[[float], None] = sleep or time.sleep
        self.session = session or BudgetedSession(
            requests_per_minute=settings.requests_per_minute,
            budget=context.budget,
            max_wait=settings.max_wait,
            sleep=self.sleep,
        )
        self.client: Zenpy = build_zenpy(settings, context.environ, self.session)
        from casewarden.connectors.zendesk.catalogue import Catalogue

        self.catalogue = Catalogue(self)
        #: keys recorded on tickets whose whole history the current read gave (see markers.py); a write
        #: through this connector forgets its tickets, so the answer never misses a marker it left
        self.seen_markers: dict[int, frozenset[str]] = {}

    @classmethod
    def from_deployment(cls, settings: ConnectorSettings, context: ConnectorContext) -> Self:
        if not isinstance(settings, ZendeskSettings):  # pragma: no cover - the registry validates
            raise ConfigError("zendesk settings expected")
        return cls(settings, context)

    @classmethod
    def example_mapping(
        cls, levels: Sequence[tuple[str, int]], statuses: Sequence[tuple[str, str]]
    ) -> tuple[dict[str, str], dict[str, str]]:
        """Levels onto Zendesk's four priorities by rank; a policy with more levels than that keeps its
        level names, as the options of the drop-down :meth:`example_settings` names (two levels on one
        priority could not be told apart when read back). Statuses onto custom statuses of the same name,
        the policy's closed statuses onto Zendesk's ``closed``."""
        ranked = sorted(levels, key=lambda lv: lv[1])
        if len(ranked) > len(PRIORITIES):
            level_map = {lv: lv for lv, _r in ranked}
        else:
            level_map = {lv: PRIORITIES[i] for i, (lv, _r) in enumerate(ranked)}
        status_map = {st: ("closed" if cat == "closed" else st) for st, cat in statuses}
        return level_map, status_map

    @classmethod
    def example_settings(cls, levels: Sequence[tuple[str, int]], statuses: Sequence[tuple[str, str]]) -> str:
        """``SETTINGS_EXAMPLE``, with ``level_field`` set when the policy has more levels than Zendesk has
        priorities (see :meth:`example_mapping`)."""
        if len(levels) <= len(PRIORITIES):
            return SETTINGS_EXAMPLE
        setting = f"level_field: {EXAMPLE_LEVEL_FIELD}"
        line = f"{setting:<32}# a drop-down for the {len(levels)} levels (Zendesk has {len(PRIORITIES)} priorities)"
        return re.sub(r"(?m)^# level_field:.*$", line, SETTINGS_EXAMPLE, count=1)

    # -- URLs ------------------------------------------------------------------------------------

    def api_url(self, path: str) -> str:
        return f"{self.settings.url}/api/v2/{path.lstrip('/')}"

    def ticket_url(self, ticket_id: int | str) -> str:
        return f"{self.settings.url}/agent/tickets/{ticket_id}"

    def get_json(self, url: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        """A GET through zenpy's own transport (its session, its error checks), answered as the raw JSON:
        zenpy's objects drop the sideloads and the page boundaries the reader needs. A failure is raised
        as casewarden's own error (403: fatal, 404/422: skippable, 5xx after retries: retriable), without
        the response body, which may hold customer data."""
        try:
            response = self.client.tickets._get(url, raw_response=True, params=params)
        except (APIException, requests.HTTPError) as exc:
            status = getattr(getattr(exc, "response", None), "status_code", None) or 500
            path = urlsplit(url).path
            raised = error_for_status(status, f"Zendesk GET {path}")
            if raised is None:  # pragma: no cover - a 2xx never raises
                raise
            raise raised from None
        body: dict[str, Any] = response.json()
        return body

    # -- the contract ----------------------------------------------------------------------------

    def read_changed(
        self, resume: Resume | None, until: datetime, known: KnownCases = nothing_known
    ) -> Iterator[Page]:
        from casewarden.connectors.zendesk.reading import read_changed

        return read_changed(self, resume, until, known)

    def read_cases(self, ids: Sequence[str]) -> list[TrackerCase]:
        from casewarden.connectors.zendesk.reading import read_cases

        return read_cases(self, ids)

    def apply(self, batch: Sequence[CaseChanges]) -> list[ChangeResult]:
        from casewarden.connectors.zendesk.writing import apply

        for group in batch:
            if group.case_id.isdigit():
                self.seen_markers.pop(int(group.case_id), None)
        return apply(self, batch)

    def find_markers(self, case_ids: Sequence[str]) -> dict[str, set[str]]:
        from casewarden.connectors.zendesk.markers import find_markers

        return find_markers(self, case_ids)

    def settle(self, pending: Sequence[Pending]) -> dict[str, Outcome]:
        from casewarden.connectors.zendesk.markers import settle

        return settle(self, pending)

    def bootstrap_plan(self, needs: BootstrapNeeds) -> list[BootstrapStep]:
        from casewarden.connectors.zendesk.bootstrap import plan

        return plan(self, needs)

    def bootstrap_apply(self, steps: Sequence[BootstrapStep]) -> None:
        from casewarden.connectors.zendesk.bootstrap import apply_steps

        apply_steps(self, steps)

    def capabilities(self) -> Capabilities:
        return Capabilities(
            supported=frozenset(ChangeKind),
            link_kinds=LINK_KINDS,
            frozen_categories=frozenset({"closed"}),
            notes=(
                "links: only child_of (an incident of a problem ticket); Zendesk has no duplicate link",
                "due instants are written to text fields as ISO-8601 UTC (Zendesk has no datetime field)",
                "closed tickets take no change (Zendesk keeps them final): casewarden plans none for them",
            ),
        )

    def health(self) -> list[HealthCheck]:
        from casewarden.connectors.zendesk.health import checks

        return checks(self)

    def native_timers(self, case_ids: Sequence[str]) -> list[NativeTimer]:
        from casewarden.connectors.zendesk.native_sla import timers

        return timers(self, case_ids)

    def close(self) -> None:
        self.session.close()
