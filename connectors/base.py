"""The connector contract, second version: what every tracker (embedded, Zendesk, Jira) does for the engine.

A connector translates; it knows nothing of SLA rules. The contract is shaped by what remote trackers
can honestly do, not by what the embedded tracker does for free:

* **Resume points are the connector's.** :meth:`Connector.read_changed` yields :class:`Page` s, each
  carrying an opaque, JSON-able resume point (Zendesk: the export cursor plus the events export's end
  time; Jira: the window and the ids seen at its edge; a tracker with only ``updated_at``:
  :class:`casewarden.connectors.cursor.TimeCursor`). The engine commits a page's resume point in the
  same transaction as that page's ledger and snapshots, and hands the last committed one back next cycle.
* **Timelines are whole.** Incremental reads may return only what changed; the connector then completes
  each case from what the engine already knows of it (``known``, the case as last stored) or fetches
  full histories in bulk for the cases that need them. Evaluation always sees the whole timeline.
* **Every change has an outcome**: :attr:`Outcome.APPLIED`, :attr:`Outcome.REFUSED` (with the tracker's
  reason; nothing landed) or :attr:`Outcome.UNKNOWN` (a timeout, a 5xx after the write may have landed, a
  bulk job still running). A keyed side effect with an unknown outcome stays ``pending`` in the ledger
  and is settled (:meth:`Connector.settle`) from the tracker's markers before anything is repeated.
* **Markers are on the tracker**, found in bulk, by a fresh process: every change with a ``key`` leaves
  the key where :meth:`Connector.find_markers` finds it after a restart. Each connector documents where.
* **One request per case where the tracker allows it**: :meth:`Connector.apply` receives each case's
  changes of a cycle together (:class:`CaseChanges`), so fields, tags, status and note can travel in one
  request; changes the tracker applied together are reported with the same outcome.
* **Capabilities are read by the planner**: a change the tracker cannot make is never planned.
* **Bootstrap needs are typed** (:class:`NeededField`, :class:`NeededStatus`), and a step the
  connector cannot carry out says what an admin must do instead.
* **Deleted and merged cases** are reported (:attr:`Page.gone`) and dropped from state.

A connector is a plugin: a subclass with a ``type`` name, a pydantic ``Settings`` model and
:meth:`Connector.from_deployment`, registered in the ``casewarden.connectors`` entry-point group
(:mod:`casewarden.connectors.registry`). The shared suites in ``tests/connector_contract.py`` and
``tests/connector_faults.py`` prove a connector against this contract through this API only.
"""

from __future__ import annotations

import abc
import builtins
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, ClassVar, Self

from pydantic import BaseModel, ConfigDict

from casewarden.connectors.mapping import NameMap
from casewarden.connectors.sources import CaseSources
from casewarden.policy.case import Case

MARKER_PREFIX = "casewarden:"

#: JSON-able resume point, owned by one connector; the engine stores it and never looks inside.
Resume = dict[str, Any]


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


class Outcome(StrEnum):
    APPLIED = "applied"  # the tracker holds the change
    REFUSED = "refused"  # the tracker said no; nothing of it landed
    UNKNOWN = "unknown"  # it may or may not have landed: settle from markers before repeating


class FieldType(StrEnum):
    """What a managed field must hold; each connector picks the tracker's type for it (Zendesk has no
    datetime field, so it uses text holding ISO-8601 UTC)."""

    DATETIME = "datetime"
    TEXT = "text"
    SELECT = "select"
    LABEL = "label"
    NUMBER = "number"


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
class CaseChanges:
    """All of one case's changes in a cycle, in the order the planner wants them applied."""

    case_id: str
    changes: tuple[Change, ...]


@dataclass(frozen=True, slots=True)
class ChangeResult:
    """What became of one change. ``error`` is the tracker's reason for a refusal, or why the outcome is
    unknown; ``token`` lets :meth:`Connector.settle` find an unknown write again (e.g. a job id)."""

    change: Change
    outcome: Outcome
    error: str | None = None
    token: str | None = None

    @property
    def ok(self) -> bool:
        return self.outcome is Outcome.APPLIED


@dataclass(frozen=True, slots=True)
class TrackerCase:
    """A case as read: the normalized timeline plus what casewarden itself manages on the tracker.

    ``fields`` holds the current values of the deployment's managed fields (keyed by the deployment's
    field names, values as strings); ``tags`` the case's tags; ``url`` a link a person can open.
    ``problems`` lists what the connector could not translate (an unmapped priority or status, a region
    it cannot tell): the engine reports such a case and skips it.
    """

    case: Case
    fields: dict[str, str | None] = field(default_factory=dict)
    tags: frozenset[str] = frozenset()
    url: str = ""
    problems: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Gone:
    """A case the tracker no longer has as itself: ``deleted``, or ``merged`` into ``into``."""

    case_id: str
    reason: str
    into: str | None = None


@dataclass(frozen=True, slots=True)
class Page:
    """One page of changed cases and the resume point that follows it (``None``: unchanged)."""

    cases: list[TrackerCase]
    resume: Resume | None = None
    gone: list[Gone] = field(default_factory=list)
    #: How many changed cases the whole read holds, when the tracker can say cheaply (on the first page;
    #: ``None``: unknown). Only for progress: the engine never relies on it.
    total: int | None = None


#: The engine's knowledge of cases, for connectors whose incremental reads carry only changes: the case
#: as the engine last stored it (with the fields and tags casewarden wrote, without its own status and
#: level moves, which the tracker reports with their real instants), for the ids it knows.
KnownCases = Callable[[Sequence[str]], Mapping[str, TrackerCase]]


def nothing_known(_ids: Sequence[str]) -> Mapping[str, TrackerCase]:
    return {}


@dataclass(frozen=True, slots=True)
class Pending:
    """A side effect whose outcome the ledger does not know (the process died, or the tracker said
    ``unknown``): what :meth:`Connector.settle` is asked about."""

    key: str
    case_id: str
    action: str
    token: str | None = None
    #: when the engine first recorded the side effect, on its own clock (the one ``read_changed``'s
    #: ``until`` comes from): the write, if it landed, landed after it, so a connector may look for its
    #: marker only among changes since then. None: not known (look everywhere).
    since: datetime | None = None


@dataclass(frozen=True, slots=True)
class NeededField:
    name: str  # the tracker field name the deployment maps a logical field to
    type: FieldType
    options: tuple[str, ...] = ()  # for SELECT
    purpose: str = ""


@dataclass(frozen=True, slots=True)
class NeededStatus:
    name: str  # the tracker's status name the deployment maps a policy status to
    category: str  # the policy category: new, open, pending, hold, solved, closed
    policy_name: str = ""


@dataclass(frozen=True, slots=True)
class BootstrapNeeds:
    """What the deployment asks of the tracker: managed fields, statuses and level values, in the
    tracker's names."""

    fields: tuple[NeededField, ...]
    statuses: tuple[NeededStatus, ...]
    levels: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class BootstrapStep:
    """One thing a deployment needs on the tracker. ``exists``: it is there (or was adopted by name);
    ``manual``: the connector cannot create it, and this says what an admin must do instead."""

    kind: str  # "field" | "option" | "status" | "priority" | "group" | "tag"
    name: str
    detail: str = ""
    exists: bool = False
    manual: str = ""


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What the tracker can do; the planner never plans what it cannot.

    ``link_kinds`` None means every link kind; ``unwritable_fields`` names managed fields whose tracker
    type cannot hold what casewarden writes (with the reason); ``unreachable_statuses`` names policy
    statuses the tracker cannot move a case to (a Jira workflow without that status, with the reason).
    ``notes`` are limitations in words an admin understands, shown by ``doctor``. ``frozen_categories``
    are status categories in which the tracker accepts no change to a case at all (Zendesk's closed
    tickets): the planner plans nothing for such a case but the changes that open a new one."""

    supported: frozenset[ChangeKind]
    link_kinds: frozenset[str] | None = None
    unwritable_fields: Mapping[str, str] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    frozen_categories: frozenset[str] = frozenset()
    unreachable_statuses: Mapping[str, str] = field(default_factory=dict)

    def refusal(self, change: Change) -> str | None:
        """Why this tracker cannot make ``change``, or None if it can."""
        if change.kind not in self.supported:
            return f"cannot {change.kind.value.replace('_', ' ')}"
        if (
            change.kind is ChangeKind.LINK
            and self.link_kinds is not None
            and change.field not in self.link_kinds
        ):
            return f"cannot make '{change.field}' links (can: {', '.join(sorted(self.link_kinds)) or 'none'})"
        if change.kind is ChangeKind.SET_STATUS and change.value in self.unreachable_statuses:
            return f"cannot move a case to '{change.value}': {self.unreachable_statuses[change.value or '']}"
        if change.kind is ChangeKind.SET_FIELD and change.field in self.unwritable_fields:
            return f"cannot write field '{change.field}': {self.unwritable_fields[change.field or '']}"
        return None


@dataclass(frozen=True, slots=True)
class NativeTimer:
    """One SLA timer as the tracker itself computes it (Zendesk SLA policies, JSM SLAs), for the
    cross-check that shows where the tracker's own figures and casewarden's disagree.

    ``metric`` is the policy metric it corresponds to (``first_response``, ``resolution``...; the
    connector maps the tracker's names, e.g. Zendesk ``first_reply_time`` or a JSM SLA's name);
    ``source`` is the tracker's own name for it. ``due`` is the instant the tracker says the target
    breaches (or breached); None when the tracker shows no running target (met, or paused without a
    breach time)."""

    case_id: str
    metric: str
    source: str
    due: datetime | None
    breached: bool = False
    paused: bool = False


@dataclass(frozen=True, slots=True)
class HealthCheck:
    name: str
    ok: bool
    detail: str = ""


class CycleBudget:
    """How long this tracker's part of a cycle may still take, shared by the engine and the connector.

    Connectors bound their retries and polling by :meth:`deadline` (a ``time.monotonic`` instant) so
    that a rate-limited or slow tracker ends the cycle cleanly instead of running into the next one; the
    engine stops reading further pages once :meth:`exhausted`."""

    def __init__(self, seconds: float | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.seconds = seconds
        self._deadline: float | None = None
        self.start(seconds)

    def start(self, seconds: float | None) -> None:
        self.seconds = seconds
        self._deadline = None if seconds is None else self.clock() + seconds

    def deadline(self) -> float | None:
        return self._deadline

    def remaining(self) -> float:
        return float("inf") if self._deadline is None else self._deadline - self.clock()

    def exhausted(self) -> bool:
        return self.remaining() <= 0


class ConnectorSettings(BaseModel):
    """Base of every connector's ``Settings``: strict, so a misspelt key is an error with did-you-mean.
    Secrets are never settings: a key that names a credential must be a ``*_env`` key naming the
    environment variable that holds it (the deployment loader refuses the rest, at any depth)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass
class ConnectorContext:
    """What a connector is built with besides its settings: the deployment around it.

    ``fields`` are the tracker names of the fields casewarden manages (read into ``TrackerCase.fields``);
    ``names`` maps policy levels and statuses to tracker values and back; ``case_data`` says where the
    case data the policy needs comes from; ``base_dir`` resolves relative paths; ``environ`` holds the
    secrets named by ``*_env`` settings; ``budget`` is this tracker's share of the cycle's time;
    ``field_types`` says what each managed field holds (by tracker name), and ``status_categories`` each
    policy status's category (by policy name), for ``health`` to check the tracker's fields and statuses."""

    tracker: str
    names: NameMap
    case_data: CaseSources = field(default_factory=CaseSources)
    fields: tuple[str, ...] = ()
    base_dir: Path = field(default_factory=Path.cwd)
    environ: Mapping[str, str] = field(default_factory=dict)
    budget: CycleBudget = field(default_factory=CycleBudget)
    field_types: Mapping[str, FieldType] = field(default_factory=dict)
    status_categories: Mapping[str, str] = field(default_factory=dict)


class Connector(abc.ABC):
    """Base class for tracker connectors. Subclasses set the class attributes and implement the hooks.

    ``type`` is the name a deployment's ``type:`` selects; ``Settings`` validates its ``settings:``;
    ``SETTINGS_EXAMPLE`` is the commented YAML that ``casewarden init --tracker TYPE`` writes under
    ``settings:``; ``IDENTITY_NAMES`` says the tracker stores policy level and status names as they are
    (the embedded tracker), so no mapping is required; ``MARKERS`` says in words where markers live;
    ``NATIVE_SLA`` says :meth:`native_timers` reads the tracker's own SLA timers."""

    type: ClassVar[str]
    Settings: ClassVar[builtins.type[ConnectorSettings]] = ConnectorSettings
    SETTINGS_EXAMPLE: ClassVar[str] = ""
    IDENTITY_NAMES: ClassVar[bool] = False
    MARKERS: ClassVar[str] = ""
    #: the tracker computes SLA timers of its own that :meth:`native_timers` reads
    NATIVE_SLA: ClassVar[bool] = False

    @classmethod
    @abc.abstractmethod
    def from_deployment(cls, settings: ConnectorSettings, context: ConnectorContext) -> Self:
        """Build the connector for one tracker entry of a deployment."""

    @classmethod
    def example_mapping(
        cls, levels: Sequence[tuple[str, int]], statuses: Sequence[tuple[str, str]]
    ) -> tuple[dict[str, str], dict[str, str]]:
        """Starting ``levels`` and ``statuses`` maps for ``init``: (policy level, rank) and (policy
        status, category) in, policy name -> tracker value out. The default keeps the policy's names."""
        return {lv: lv for lv, _rank in levels}, {st: st for st, _cat in statuses}

    @classmethod
    def example_settings(cls, levels: Sequence[tuple[str, int]], statuses: Sequence[tuple[str, str]]) -> str:
        """The commented ``settings:`` ``init`` writes for a policy with these levels and statuses (as for
        :meth:`example_mapping`), for a tracker whose settings depend on the policy (Zendesk: a drop-down
        for levels when there are more than its four priorities). The default: ``SETTINGS_EXAMPLE``."""
        return cls.SETTINGS_EXAMPLE

    @abc.abstractmethod
    def read_changed(
        self, resume: Resume | None, until: datetime, known: KnownCases = nothing_known
    ) -> Iterator[Page]:
        """Pages of the cases changed since ``resume`` (every case when None), oldest first, up to
        ``until``; each page carries the resume point to continue after it. Pages may repeat cases the
        previous cycle saw; the engine de-duplicates within a cycle."""

    @abc.abstractmethod
    def read_cases(self, ids: Sequence[str]) -> list[TrackerCase]:
        """Read the named cases again, with whole timelines (unknown ids are left out)."""

    @abc.abstractmethod
    def apply(self, batch: Sequence[CaseChanges]) -> list[ChangeResult]:
        """Apply a batch; one result per change, in the batch's order. Never raises for a refused or
        unknown change; raises only when the tracker as a whole is unusable (FatalConnectorError)."""

    @abc.abstractmethod
    def find_markers(self, case_ids: Sequence[str]) -> dict[str, set[str]]:
        """Side-effect keys recorded on each case (see :func:`marker_text`); cases without any may be
        left out. Must work in a fresh process: markers live on the tracker."""

    def settle(self, pending: Sequence[Pending]) -> dict[str, Outcome]:
        """For side effects of unknown outcome: APPLIED (landed), REFUSED (certainly did not land: plan it
        again) or UNKNOWN (cannot tell yet, e.g. a job still running: ask again next cycle). The default
        reads markers: a tracker whose writes are synchronous knows a missing marker means not landed."""
        markers = self.find_markers(sorted({p.case_id for p in pending}))
        return {
            p.key: Outcome.APPLIED if p.key in markers.get(p.case_id, set()) else Outcome.REFUSED
            for p in pending
        }

    @abc.abstractmethod
    def bootstrap_plan(self, needs: BootstrapNeeds) -> list[BootstrapStep]:
        """What :meth:`bootstrap_apply` would create; ``exists`` marks what is already there."""

    @abc.abstractmethod
    def bootstrap_apply(self, steps: Sequence[BootstrapStep]) -> None:
        """Create the missing fields, options and statuses (never duplicating one). Safe to run twice."""

    @abc.abstractmethod
    def capabilities(self) -> Capabilities:
        """What this tracker can and cannot do."""

    @abc.abstractmethod
    def health(self) -> list[HealthCheck]:
        """Connectivity and permission checks for ``casewarden doctor``."""

    def native_timers(self, case_ids: Sequence[str]) -> list[NativeTimer]:
        """The tracker's own SLA timers for these cases, for ``report --cross-check``. The default: the
        tracker has none (``NATIVE_SLA`` False). Connectors that override it read in bulk where the API
        allows, and skip cases the tracker keeps no SLA for."""
        return []

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections; the default has nothing to release."""


def group_by_case(changes: Sequence[Change]) -> list[CaseChanges]:
    """Changes grouped per case, cases in first-seen order, each case's changes in their order."""
    grouped: dict[str, list[Change]] = {}
    for c in changes:
        grouped.setdefault(c.case_id, []).append(c)
    return [CaseChanges(cid, tuple(cs)) for cid, cs in grouped.items()]
