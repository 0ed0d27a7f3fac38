"""``JiraConnector``: the policy enforced on Jira Cloud and Data Center (and Jira Service Management).

The class holds the pieces together and delegates each job to its module: ``reading`` (incremental
search and its resume point), ``timeline`` (an issue bean as a normalized case), ``histories`` (whole
changelogs in bulk), ``writing`` (one edit per issue, transitions, comments, links, watchers, related
issues), ``markers`` (issue properties and marker lines, found in bulk; settling unknown outcomes),
``bootstrap`` (custom fields and options; what an admin must do), ``health`` and ``native_sla`` (doctor's
checks and JSM's own SLA timers).

Markers live in the issue property ``casewarden.markers`` (``{"keys": [...]}``), written in the same
request as the edit or transition it records, read back in the search; a keyed internal comment also
ends with its ``[casewarden:KEY]`` line, and an issue opened by ``open_related`` carries the key in its
``casewarden.origin`` property.
"""

from __future__ import annotations

import builtins
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from typing import ClassVar, Self

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
from casewarden.connectors.jira.client import JiraClient
from casewarden.connectors.jira.settings import SETTINGS_EXAMPLE, JiraSettings
from casewarden.connectors.jira.site import SiteInfo

__all__ = ["JiraConnector"]


class JiraConnector(Connector):
    """See the module docstring. ``sleep``/``now``/``monotonic`` are test seams for fake time."""

    type: ClassVar[str] = "jira"
    Settings: ClassVar[builtins.type[ConnectorSettings]] = JiraSettings
    SETTINGS_EXAMPLE: ClassVar[str] = SETTINGS_EXAMPLE
    NATIVE_SLA: ClassVar[bool] = True
    MARKERS: ClassVar[str] = (
        'the issue property casewarden.markers ({"keys": [...]}, set in the same request as the edit or '
        "transition), a [casewarden:KEY] line at the end of each keyed internal comment, and the "
        "casewarden.origin property of an issue opened as a related case"
    )
    SOURCE_KINDS: ClassVar[frozenset[str]] = frozenset(
        {"native", "field", "tag", "tag_prefix", "organization_field", "requester_timezone"}
    )

    def __init__(
        self,
        settings: JiraSettings,
        context: ConnectorContext,
        *,
        sleep: Callable[[float], None] = time.sleep,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self.context = context
        self.names = context.names
        self.api = JiraClient(
            settings, context.environ, context.budget, sleep=sleep, now=now, monotonic=monotonic
        )
        self.site = SiteInfo(self.api, settings.projects)
        #: the real `jira.JIRA` client (deploymentType set), for modules that call the library directly
        self.client = self.api.jira
        #: the first governed project (doctor checks it)
        self.project = settings.projects[0]
        #: ids of issues this instance just changed: the next search reconciles them (read-after-write)
        self.recently_written: list[str] = []
        #: how many batches this instance applied (a read in progress restarts its search after writes)
        self.writes = 0

    @classmethod
    def from_deployment(cls, settings: ConnectorSettings, context: ConnectorContext) -> Self:
        assert isinstance(settings, JiraSettings)
        return cls(settings, context)

    @classmethod
    def example_mapping(
        cls, levels: Sequence[tuple[str, int]], statuses: Sequence[tuple[str, str]]
    ) -> tuple[dict[str, str], dict[str, str]]:
        """Levels onto Jira's five default priorities by rank; statuses onto a JSM workflow by category."""
        priorities = ["Highest", "High", "Medium", "Low", "Lowest"]
        ordered = sorted(levels, key=lambda lv: lv[1])
        level_map = {lv: priorities[min(i, len(priorities) - 1)] for i, (lv, _rank) in enumerate(ordered)}
        by_category = {
            "new": "Waiting for support",
            "open": "In Progress",
            "pending": "Waiting for customer",
            "hold": "Escalated",
            "solved": "Resolved",
            "closed": "Closed",
        }
        status_map = {st: by_category.get(cat, st) for st, cat in statuses}
        return level_map, status_map

    @property
    def cloud(self) -> bool:
        return self.api.cloud

    # -- reading -------------------------------------------------------------------------------------
    def read_changed(
        self, resume: Resume | None, until: datetime, known: KnownCases = nothing_known
    ) -> Iterator[Page]:
        from casewarden.connectors.jira.reading import read_changed

        return read_changed(self, resume, until, known)

    def read_cases(self, ids: Sequence[str]) -> list[TrackerCase]:
        from casewarden.connectors.jira.reading import read_cases

        return read_cases(self, ids)

    # -- writing -------------------------------------------------------------------------------------
    def apply(self, batch: Sequence[CaseChanges]) -> list[ChangeResult]:
        from casewarden.connectors.jira.writing import apply

        self.writes += 1
        return apply(self, batch)

    def find_markers(self, case_ids: Sequence[str]) -> dict[str, set[str]]:
        from casewarden.connectors.jira.markers import find_markers

        return find_markers(self, case_ids)

    def settle(self, pending: Sequence[Pending]) -> dict[str, Outcome]:
        from casewarden.connectors.jira.markers import settle

        return settle(self, pending)

    # -- bootstrap, capabilities, health ---------------------------------------------------------------
    def bootstrap_plan(self, needs: BootstrapNeeds) -> list[BootstrapStep]:
        from casewarden.connectors.jira.bootstrap import plan

        return plan(self, needs)

    def bootstrap_apply(self, steps: Sequence[BootstrapStep]) -> None:
        from casewarden.connectors.jira.bootstrap import apply_steps

        apply_steps(self, steps)

    def jsm(self) -> bool:
        """Internal comments through JSM: the setting, else whether every governed project is a service desk."""
        if self.settings.jsm is not None:
            return self.settings.jsm
        return all(self.site.project(key).service_desk for key in self.settings.projects)

    def capabilities(self) -> Capabilities:
        supported = set(ChangeKind)
        notes = []
        if self.settings.group_field is None:
            supported.discard(ChangeKind.ASSIGN_GROUP)
            notes.append("Jira has no group assignment: set 'group_field' to a custom field to enable it")
        if not self.jsm():
            notes.append(
                "not a JSM project: notes are plain comments (visible to everyone who sees the issue)"
            )
        notes.append("statuses change only through workflow transitions; an unreachable status is refused")
        return Capabilities(
            supported=frozenset(supported),
            link_kinds=frozenset(self.settings.link_types),
            notes=tuple(notes),
            unreachable_statuses=self._statuses_outside_workflows(),
        )

    def _statuses_outside_workflows(self) -> dict[str, str]:
        """Policy statuses mapped to a Jira status that no governed project's workflow has: never
        planned (a status in the workflow that no transition reaches is refused when tried, with the
        reason, and shown by doctor)."""
        cached: dict[str, str] | None = self.__dict__.get("_outside")
        if cached is not None:
            return cached
        in_workflow: set[str] = set()
        for key in self.settings.projects:
            rows = (
                self.api.call("GET", f"project/{key}/statuses", what=f"reading the statuses of {key}") or []
            )
            for row in rows:
                in_workflow |= {str(s.get("name", "")).casefold() for s in row.get("statuses") or []}
        outside = {
            policy: f"'{jira}' is not a status of the workflow of {', '.join(self.settings.projects)}"
            for policy, jira in self.names.tracker_statuses()
            if jira.casefold() not in in_workflow
        }
        self.__dict__["_outside"] = outside
        return outside

    def health(self) -> list[HealthCheck]:
        from casewarden.connectors.jira.health import checks

        return checks(self)

    def native_timers(self, case_ids: Sequence[str]) -> list[NativeTimer]:
        from casewarden.connectors.jira.native_sla import timers

        return timers(self, case_ids)

    def close(self) -> None:
        self.api.session.close()
