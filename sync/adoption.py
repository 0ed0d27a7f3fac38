"""Adoption: which notifications nobody is owed.

A tracker that already holds cases has a past full of breaches and escalations. The first run on it
writes fields and notes for all of them, but paging people about last month's breaches is a flood, not
a service. The rule, decided for each notification from the case's own timeline:

* the **crossing** is the instant the thing a notification announces happened: the breach instant of a
  breach notification, the instant an escalation level was reached (``PlannedAction.due_at``);
* the **adoption instant** of a tracker is when casewarden first ran on it (recorded in the state store;
  for a state store written before adoption existed, its last run);
* a notification is sent only if its crossing is after the adoption instant (unless the deployment
  asks for a ``backfill``) and no older than ``horizon`` when casewarden first plans it; otherwise it is
  recorded as *adopted* and never sent. A crossing exactly at the adoption instant counts as past: the
  first run cannot tell it from the ones before, and after an upgrade the last run already handled it.

Because both instants are fixed points of the case's timeline and of the tracker's history, a first run
that takes several cycles (a time budget, a crash) holds back exactly what a first run in one cycle
would; a lost state store starts a new adoption instant, so notifications whose history went with it
are not resent. The horizon also keeps a policy change (a new escalation notification) or an outage of
casewarden itself from paging about crossings long past.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from casewarden.sync.deployment import Adoption
from casewarden.sync.planner import instant_text


def held_back(crossed_at: datetime, adopted_at: datetime, now: datetime, rule: Adoption) -> str | None:
    """Why a notification for a crossing at ``crossed_at`` is not sent, or None when it is owed."""
    if not rule.backfill and crossed_at <= adopted_at:
        return (
            f"crossed {instant_text(crossed_at)}, before casewarden adopted the tracker "
            f"({instant_text(adopted_at)})"
        )
    if rule.horizon is not None and crossed_at < now - timedelta(seconds=rule.horizon):
        return f"crossed {instant_text(crossed_at)}, longer ago than the adoption horizon"
    return None


__all__ = ["held_back"]
