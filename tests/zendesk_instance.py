"""A Zendesk instance with history, for the CLI tests and the benchmark: the fake filled with tickets the way
an instance that has been in use for a while holds them, and a deployment for the
``severity-follow-the-sun`` preset pointed at it.

The preset's levels S1-S4 are Zendesk's four priorities, and its statuses are the instance's own
statuses (New, Open, Solved are Zendesk's default custom statuses; Pending Customer and On Hold are
created by ``bootstrap``, Closed is the built-in ``closed``), so ``casewarden init --tracker zendesk``
writes a deployment that needs no edit beyond the e-mail.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from tests.fakes.zendesk import FakeZendesk, Ticket, User

PRESET = "severity-follow-the-sun"
#: the admin ``init --tracker zendesk`` names in its settings (``email:``)
INIT_EMAIL = "casewarden@acme.example"
TOKEN_ENV = "ZENDESK_API_TOKEN"
PRIORITIES = ("urgent", "high", "normal", "low")


@dataclass
class People:
    admin: User
    agents: list[User]
    customers: list[User]


def staff(fake: FakeZendesk, at: datetime, *, customers: int = 20) -> People:
    """casewarden's admin (as ``init`` names it), a few agents and some customers."""
    admin = fake.user_by_email(INIT_EMAIL) or fake.create_user("casewarden", INIT_EMAIL, role="admin", at=at)
    agents = [fake.create_user(f"Agent {i}", f"agent{i}@acme.example", role="agent", at=at) for i in range(3)]
    people = [fake.create_user(f"Customer {i}", f"customer{i}@example.com", at=at) for i in range(customers)]
    return People(admin, agents, people)


def fill(
    fake: FakeZendesk,
    people: People,
    count: int,
    *,
    start: datetime,
    end: datetime,
    seed: int = 7,
    open_share: float = 0.7,
) -> list[Ticket]:
    """``count`` tickets opened between ``start`` and ``end`` in time order; about ``open_share`` of them
    still open (many long past their targets), the rest answered and solved."""
    rng = random.Random(seed)
    span = (end - start).total_seconds()
    opened = sorted(start + timedelta(seconds=rng.uniform(0, span * 0.9)) for _ in range(count))
    # every event of every ticket, played in time order (Zendesk history only moves forward)
    events: list[tuple[datetime, int, str]] = []
    for index, at in enumerate(opened):
        events.append((at, index, "open"))
        if rng.random() < open_share:
            if rng.random() < 0.4:
                events.append((at + timedelta(minutes=rng.uniform(5, 600)), index, "reply"))
            continue
        answered = at + timedelta(minutes=rng.uniform(5, 240))
        events.append((answered, index, "reply"))
        events.append((answered + timedelta(minutes=rng.uniform(10, 600)), index, "solve"))
    tickets: dict[int, Ticket] = {}
    for at, index, what in sorted(events, key=lambda e: (e[0], e[1], e[2] != "open")):
        if at >= end:
            continue
        if what == "open":
            tickets[index] = fake.create_ticket(
                f"Case opened {at:%Y-%m-%d %H:%M}",
                "It does not work.",
                requester=rng.choice(people.customers),
                created_at=at,
                priority=rng.choice(PRIORITIES),
                channel=rng.choice(("web", "email")),
            )
        elif what == "reply":
            fake.add_comment(tickets[index], at, rng.choice(people.agents), "Looking into it.")
        else:
            fake.update(tickets[index], at, {"status": "solved", "assignee_id": people.agents[0].id})
    return [tickets[i] for i in sorted(tickets)]


def touch(fake: FakeZendesk, people: People, tickets: list[Ticket], at: datetime, *, seed: int = 3) -> None:
    """A customer comments on each of ``tickets`` at ``at`` (a second apart): the changes of a cycle."""
    rng = random.Random(seed)
    for i, ticket in enumerate(sorted(tickets, key=lambda t: t.id)):
        if ticket.status == "closed":
            continue
        requester = fake.users[ticket.requester_id]
        fake.add_comment(
            ticket, at + timedelta(seconds=i), requester, rng.choice(("Any news?", "Still broken."))
        )
