"""A compact test policy and case builders shared by the policy tests."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from casewarden.policy.case import Author, Case, LevelChange, Milestone, Reply, StatusChange
from casewarden.policy.compiled import Policy
from casewarden.policy.loader import load_policy_text

DEN = ZoneInfo("America/Denver")
UTC = ZoneInfo("UTC")

POLICY = """
policy: {name: test-policy}
meanings: {immediate: 15 minutes, continuous: 1 hour}
default_calendar: office
calendars:
  24x7: {zone: UTC, hours: 24x7}
  office:
    zone: America/Denver
    hours: {mon-fri: ["08:00-17:00"]}
    holidays: {country: US}
default_level: P3
levels:
  - id: P1
    name: Urgent
    rank: 1
    calendar: 24x7
    escalation_path: clock
    on_workaround: P2
    targets:
      - {metric: first_response, within: 30 min}
      - {metric: restoration, within: 4 hours, warn_at: 0.5}
      - {metric: periodic_update, within: 1 hour}
  - id: P2
    name: High
    rank: 2
    calendar: 24x7
    escalation_path: clock
    targets:
      - {metric: first_response, within: 2 hours}
      - {metric: temporary_fix, within: 5 to 10 days}
  - id: P3
    name: Normal
    rank: 3
    escalation_path: clock
    targets:
      - {metric: first_response, within: 8 business hours}
      - {metric: resolution, within: 3 business days}
      - {metric: periodic_update, within: 1 business days}
statuses:
  - {name: New, category: new}
  - {name: Open, category: open}
  - {name: Waiting, category: pending, pauses: all}
  - {name: Solved, category: solved}
lifecycle:
  reopen_window: 7 days
  reopen_status: Open
  close_no_response: {after: 2 business days, status: Solved}
contacts: {boss: {}}
escalation_paths:
  clock:
    calendar: 24x7
    not_before: 1 hour
    customer_request: 2
    levels:
      - {level: 1, after: 30 min, actions: [{note: "level one"}]}
      - {level: 2, after: 2 hours, actions: [{notify: [boss]}, {tag: esc-2}]}
      - {level: 3, after: 6 hours}
"""


def policy(text: str = POLICY, **replace: str) -> Policy:
    for old, new in replace.items():
        text = text.replace(old, new)
    return load_policy_text(text, filename="test.yaml")


def den(*args: int) -> datetime:
    return datetime(*args, tzinfo=DEN)  # type: ignore[misc]


def case(
    opened: datetime,
    level: str | None = "P3",
    *,
    statuses: list[tuple[datetime, str]] | None = None,
    levels: list[tuple[datetime, str]] | None = None,
    agent: list[datetime] = (),  # type: ignore[assignment]
    customer: list[datetime] = (),
    milestones: list[tuple[datetime, str]] = (),  # type: ignore[assignment]
    **extra: object,
) -> Case:
    level_history = tuple(LevelChange(t, lv) for t, lv in (levels or ([(opened, level)] if level else [])))
    status_history = tuple(StatusChange(t, s) for t, s in (statuses or [(opened, "New")]))
    replies = tuple(
        sorted(
            [*(Reply(t, Author.AGENT) for t in agent), *(Reply(t, Author.CUSTOMER) for t in customer)],
            key=lambda r: r.at,
        )
    )
    return Case(
        id="C-1",
        opened_at=opened,
        level_history=level_history,
        status_history=status_history,
        replies=replies,
        milestones=tuple(Milestone(t, n) for t, n in milestones),
        **extra,
    )  # type: ignore[arg-type]
