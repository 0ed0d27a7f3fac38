"""The connector contract: what every tracker (embedded, Zendesk, Jira) does for the sync engine.

A connector translates; it knows nothing of SLA rules. It reads cases with their timelines into the
normalized :class:`policy.case.Case`, applies a batch of :class:`Change` and says, per change, what
happened. Side effects that must happen at most once (notes, transitions, related cases) carry a
``key``; a connector leaves that key on the tracker (a marker line in the note, a tag) so that after a
crash the engine can ask :meth:`Connector.find_markers` whether the write already landed before it
repeats it.
"""

from __future__ import annotations

import abc
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import ClassVar

from casewarden.policy.case import Case

MARKER_PREFIX = "casewarden:"


def marker_text(key: str) -> str:
    """The line a connector appends to a note (or the tag it adds) to record side effect ``key``."""
    return f"[{MARKER_PREFIX}{key}]"


class ChangeKind(StrEnum):
    SET_FIELD = "set_field"  # field=<deployment field name>, value=str or None to clear
    SET_LEVEL = "set_level"  # value=<policy level id>; the connector maps it to a priority
    ADD_TAG = "add_tag"
    REMOVE_TAG = "remove_tag"
    ADD_NOTE = "add_note"  # internal note; value=text
    SET_STATUS = "set_status"  # value=<policy status name>
    ASSIGN_GROUP = "assign_group"  # value=<group name>
    ADD_FOLLOWER = "add_follower"  # value=<user e-mail or name>; the owner is unchanged
    LINK = "link"  # field=<link kind>, value=<other case id>
    OPEN_RELATED = "open_related"  # value=<subject>; the new case links back with kind "related"


@dataclass(frozen=True, slots=True)
class Change:
    """One write to one case. ``key`` identifies a side effect for the ledger: (case, action, level,
    reopen epoch) joined with ``:``; plain field syncs have none because repeating them is harmless."""

    case_id: str
    kind: ChangeKind
    value: str | None = None
    field: str | None = None
    key: str | None = None
    reason: str = ""


@dataclass(frozen=True, slots=True)
class ChangeResult:
    change: Change
    ok: bool
    error: str | None = None
    retriable: bool = False


@dataclass(frozen=True, slots=True)
class TrackerCase:
    """A case as read: the normalized timeline plus what casewarden itself manages on the tracker.

    ``fields`` holds the current values of the deployment's managed fields (keyed by the deployment's
    field names, values as strings); ``tags`` the case's tags; ``url`` a link a person can open.
    ``problems`` lists what the connector could not translate (unknown priority or status): the engine
    reports such a case and skips it.
    """

    case: Case
    fields: dict[str, str | None] = field(default_factory=dict)
    tags: frozenset[str] = frozenset()
    url: str = ""
    problems: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class BootstrapStep:
    """Something a deployment needs on the tracker: a field, a status, a tag vocabulary."""

    kind: str  # "field" | "status" | "priority" | "group"
    name: str
    detail: str = ""
    exists: bool = False


@dataclass(frozen=True, slots=True)
class Capabilities:
    supported: frozenset[ChangeKind]
    notes: tuple[str, ...] = ()  # what the tracker cannot do, in words an admin understands


@dataclass(frozen=True, slots=True)
class HealthCheck:
    name: str
    ok: bool
    detail: str = ""


@dataclass(frozen=True, slots=True)
class BootstrapNeeds:
    """What the deployment asks of the tracker: managed field names and policy status names."""

    fields: tuple[str, ...]
    statuses: tuple[str, ...]
    levels: tuple[str, ...]


class Connector(abc.ABC):
    """Base class for tracker connectors. Subclasses set ``name`` and implement the hooks."""

    name: ClassVar[str]

    @abc.abstractmethod
    def read_changed(self, since: datetime | None, until: datetime) -> Iterator[list[TrackerCase]]:
        """Yield pages of cases whose ``updated_at`` is in ``[since, until]`` (all cases when ``since``
        is None), oldest first. Pages may overlap the previous cycle; the engine de-duplicates."""

    @abc.abstractmethod
    def read_cases(self, ids: Sequence[str]) -> list[TrackerCase]:
        """Read the named cases again (unknown ids are left out)."""

    @abc.abstractmethod
    def apply(self, changes: Sequence[Change]) -> list[ChangeResult]:
        """Apply a batch; one result per change, in order. Never raises for a single refused change."""

    @abc.abstractmethod
    def find_markers(self, case_id: str) -> set[str]:
        """Side-effect keys already recorded on the case (see :func:`marker_text`)."""

    @abc.abstractmethod
    def bootstrap_plan(self, needs: BootstrapNeeds) -> list[BootstrapStep]:
        """What :meth:`bootstrap_apply` would create; ``exists`` marks what is already there."""

    @abc.abstractmethod
    def bootstrap_apply(self, steps: Sequence[BootstrapStep]) -> None:
        """Create the missing fields and statuses. Safe to run twice."""

    @abc.abstractmethod
    def capabilities(self) -> Capabilities:
        """What this tracker can and cannot do."""

    @abc.abstractmethod
    def health(self) -> list[HealthCheck]:
        """Connectivity and permission checks for ``casewarden doctor``."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections; the default has nothing to release."""
