"""Trackers under test: one factory per connector, for the shared contract and fault suites.

Every connector is proved by the same suites (``tests/connector_contract.py``, ``tests/connector_faults.py``),
which talk to it only through the :class:`casewarden.connectors.base.Connector` API. What differs per
tracker lives in a factory here, returning a :class:`TrackerUnderTest`:

* ``connector()``: a NEW connector instance on the same tracker each call (calling it again is a restart:
  whatever the previous instance kept in memory is gone);
* ``harness``: what a person does in the tracker's UI (create a case, reply, move its status), at given
  instants and in the suite policy's names (:data:`LEVELS`, :data:`STATUSES`); for a remote tracker it
  writes to the fake server through the fake's own API;
* ``faults``: misbehaviour to switch on for a case and off again (a write that lands but whose answer is
  lost, one lost before it lands, a refusal), injected where the tracker really fails (at the wire for
  remote trackers);
* ``tracker_entry``: the deployment file's entry for the tracker, for engine-level tests.

Adding a connector's suites: write ``tests/trackers/<name>.py`` with a ``make(directory, clock)``
function and add it to :data:`FACTORIES`. ``CASEWARDEN_TEST_TRACKERS=a,b`` selects which factories run
(``wrong`` is the deliberately broken connector the suites must catch; it is never run by default).
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path
from typing import Protocol

from casewarden.connectors.base import Connector
from casewarden.policy.case import Author

LEVELS: tuple[str, ...] = ("S1", "S2", "S3", "S4")
STATUSES: dict[str, str] = {
    "New": "new",
    "Open": "open",
    "Pending": "pending",
    "On Hold": "hold",
    "Solved": "solved",
    "Closed": "closed",
}

#: The policy both suites enforce: every kind of side effect casewarden plans (notes, tags, fields,
#: status moves, level raises, group assignment, followers, notifications, related cases).
SUITE_POLICY = """
policy: {name: connector-suite}
meanings: {immediate: 15 minutes, continuous: 1 hour}
default_calendar: office
calendars:
  24x7: {zone: UTC, hours: 24x7}
  office: {zone: America/Denver, hours: {mon-fri: ["08:00-17:00"]}, holidays: {country: US}}
default_level: S3
levels:
  - id: S1
    name: Critical
    rank: 1
    calendar: 24x7
    escalation_path: standard
    on_workaround: S2
    targets:
      - {metric: first_response, within: 30 min}
      - {metric: restoration, within: 4 hours, warn_at: 0.5}
      - {metric: periodic_update, within: 1 hour}
  - id: S2
    name: High
    rank: 2
    calendar: 24x7
    escalation_path: standard
    targets:
      - {metric: first_response, within: 2 hours}
      - {metric: temporary_fix, within: 5 to 10 days}
  - id: S3
    name: Normal
    rank: 3
    escalation_path: standard
    targets:
      - {metric: first_response, within: 8 business hours}
      - {metric: resolution, within: 3 business days}
      - {metric: periodic_update, within: 1 business days}
  - id: S4
    name: Low
    rank: 4
    targets:
      - {metric: first_response, within: 2 business days}
statuses:
  - {name: New, category: new}
  - {name: Open, category: open}
  - {name: Pending, category: pending, pauses: all}
  - {name: On Hold, category: hold, pauses: all, holds_until: true}
  - {name: Solved, category: solved}
  - {name: Closed, category: closed, customer_reply: new_case}
lifecycle:
  reopen_window: 7 days
  reopen_status: Open
  resume_status: Open
  close_no_response: {after: 2 business days, status: Solved}
contacts: {boss: {}}
escalation_paths:
  standard:
    calendar: 24x7
    not_before: 1 hour
    customer_request: 2
    levels:
      - {level: 1, after: 30 min, actions: [{note: "Escalated to the team lead"}, {tag: esc-1}]}
      - level: 2
        after: 2 hours
        actions:
          - {notify: [boss]}
          - {assign_group: Tier 2}
          - {add_follower: duty-manager@example.com}
      - {level: 3, after: 6 hours, actions: [{raise_level: S1}]}
"""


class Harness(Protocol):
    """The tracker-side operations the suites need; instants are given, names are the suite policy's."""

    def create_case(
        self,
        subject: str,
        *,
        opened_at: datetime,
        level: str,
        status: str = ...,
        channel: str | None = None,
        region: str | None = None,
        case_type: str | None = None,
        requester: str | None = None,
        requester_authorized: bool | None = None,
        provided: Iterable[str] = (),
        case_id: str | None = None,
    ) -> str: ...

    def add_comment(
        self, case_id: str, at: datetime, author: Author | str, body: str, public: bool = True
    ) -> None: ...

    def set_status(
        self, case_id: str, at: datetime, status: str, hold_until: datetime | None = None
    ) -> None: ...

    def set_level(self, case_id: str, at: datetime, level: str) -> None: ...

    def add_milestone(self, case_id: str, at: datetime, name: str) -> None: ...

    def delete_case(self, case_id: str, at: datetime) -> None: ...

    def merge_case(self, case_id: str, into: str, at: datetime) -> None: ...

    def note_bodies(self, case_id: str) -> list[str]:
        """The bodies of the case's internal notes, as a person sees them."""
        ...

    def assigned_group(self, case_id: str) -> str | None: ...

    def followers(self, case_id: str) -> set[str]: ...


class Faults(Protocol):
    """Misbehaviour for the writes to one case, on until :meth:`clear`."""

    def lose_answer(self, case_id: str) -> None:
        """Writes to the case land, but the connector never learns it (a 5xx after landing, a timeout)."""

    def lose_request(self, case_id: str) -> None:
        """Writes to the case never land, and the connector cannot tell (a request lost on the way)."""

    def refuse(self, case_id: str) -> None:
        """The tracker refuses writes to the case (validation error)."""

    def clear(self) -> None: ...


class TrackerUnderTest(Protocol):
    name: str
    harness: Harness
    faults: Faults
    page_size: int  # cases per page of read_changed of the connectors it makes
    history_page: int  # entries per page of the tracker's own history API (0: it does not page)

    def connector(self) -> Connector: ...

    def tracker_entry(self) -> str:
        """The deployment file's YAML for this tracker (type, settings, levels, statuses), indented
        for a list item under ``trackers:``, with ``name: suite``."""
        ...

    def close(self) -> None: ...


Factory = Callable[[Path, Callable[[], datetime]], TrackerUnderTest]

#: factory name -> "module:function"; imported lazily so a missing optional fake never breaks the rest
FACTORIES: dict[str, str] = {
    "local": "tests.trackers.local:make",
    "zendesk": "tests.trackers.zendesk:make",
    "jira-cloud": "tests.trackers.jira:make_cloud",
    "jira-dc": "tests.trackers.jira:make_dc",
}
#: factories that exist to prove the suites catch broken connectors; never selected by default
BROKEN: dict[str, str] = {
    "wrong": "tests.trackers.wrong:make",
}


def selected() -> list[str]:
    wanted = os.environ.get("CASEWARDEN_TEST_TRACKERS")
    if not wanted:
        return list(FACTORIES)
    names = [n.strip() for n in wanted.split(",") if n.strip()]
    unknown = [n for n in names if n not in FACTORIES and n not in BROKEN]
    if unknown:
        raise ValueError(f"unknown tracker factories {unknown}; known: {sorted(FACTORIES | BROKEN)}")
    return names


def factory(name: str) -> Factory:
    target = {**FACTORIES, **BROKEN}[name]
    module, _, attr = target.partition(":")
    made: Factory = getattr(importlib.import_module(module), attr)
    return made
