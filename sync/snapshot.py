"""Compact JSON for a read case, kept in the state store so a case whose timer crosses a boundary can be
re-evaluated without asking the tracker again. Instants are stored as epoch seconds (UTC): small, fast,
and exact to the microsecond for the spans trackers deal in.

A stored case is the case as read plus what casewarden wrote to it since: fields and tags as written,
and its own status and level moves *simulated* at the cycle's instant (the tracker stamps them a few
seconds later). Those simulated entries are always the last ones of their histories and are counted
(``sim``), so that a connector completing an incremental read from this snapshot gets the tracker's
timeline without them (:func:`decode` with ``simulated=False``) and adds the real entries itself."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from casewarden.connectors.base import TrackerCase
from casewarden.policy.case import Author, Case, LevelChange, Link, Milestone, Reply, StatusChange


def _t(d: datetime | None) -> float | None:
    return None if d is None else d.timestamp()


def _d(x: float | None) -> datetime | None:
    return None if x is None else datetime.fromtimestamp(x, UTC)


def _dd(x: float) -> datetime:
    return datetime.fromtimestamp(x, UTC)


def encode(tc: TrackerCase, simulated: tuple[int, int] = (0, 0)) -> str:
    """``simulated``: how many of the last status and level entries are casewarden's own moves."""
    c = tc.case
    data: dict[str, Any] = {
        "id": c.id,
        "o": c.opened_at.timestamp(),
        "lv": [[x.at.timestamp(), x.level] for x in c.level_history],
        "st": [[x.at.timestamp(), x.status] for x in c.status_history],
        "r": [[x.at.timestamp(), x.author == Author.AGENT, x.public] for x in c.replies],
        "m": [[x.at.timestamp(), x.name] for x in c.milestones],
        "l": [[x.kind, x.target] for x in c.links],
        "ct": c.case_type,
        "ch": c.channel,
        "rg": c.region,
        "rq": c.requester,
        "ra": c.requester_authorized,
        "pv": sorted(c.provided),
        "hu": _t(c.hold_until),
        "etr": _t(c.etr),
        "u": _t(c.updated_at),
        "f": tc.fields,
        "tg": sorted(tc.tags),
        "url": tc.url,
    }
    if simulated != (0, 0):
        data["sim"] = list(simulated)
    return json.dumps(data, separators=(",", ":"))


def fingerprint(tc: TrackerCase, salt: str) -> str:
    """What evaluating the case depends on: its timeline without internal notes (they count for no
    timer), its fields and tags, and the policy and mapping in force (``salt``). When a case read again
    has the fingerprint its snapshot recorded after casewarden's last writes, the only change was
    casewarden's own and the case need not be evaluated again."""
    c = tc.case
    data = [
        c.opened_at.timestamp(),
        [[x.at.timestamp(), x.level] for x in c.level_history],
        [[x.at.timestamp(), x.status] for x in c.status_history],
        [[x.at.timestamp(), x.author == Author.AGENT] for x in c.replies if x.public],
        [[x.at.timestamp(), x.name] for x in c.milestones],
        [[x.kind, x.target] for x in c.links],
        c.case_type,
        c.channel,
        c.region,
        c.requester,
        c.requester_authorized,
        sorted(c.provided),
        _t(c.hold_until),
        _t(c.etr),
        sorted(tc.fields.items()),
        sorted(tc.tags),
        salt,
    ]
    return hashlib.blake2b(json.dumps(data, separators=(",", ":")).encode(), digest_size=16).hexdigest()


def decode(text: str, *, simulated: bool = True) -> TrackerCase:
    """The stored case; with ``simulated=False`` without casewarden's own simulated moves."""
    return decode_with_counts(text, simulated=simulated)[0]


def decode_with_counts(text: str, *, simulated: bool = True) -> tuple[TrackerCase, tuple[int, int]]:
    d = json.loads(text)
    sim_status, sim_level = d.get("sim", (0, 0))
    st, lv = d["st"], d["lv"]
    if not simulated:
        st = st[: len(st) - sim_status] or st[:1]
        lv = lv[: len(lv) - sim_level] or lv[:1]
        sim_status = sim_level = 0
    case = Case(
        id=d["id"],
        opened_at=_dd(d["o"]),
        level_history=tuple(LevelChange(_dd(a), b) for a, b in lv),
        status_history=tuple(StatusChange(_dd(a), b) for a, b in st),
        replies=tuple(Reply(_dd(a), Author.AGENT if b else Author.CUSTOMER, p) for a, b, p in d["r"]),
        milestones=tuple(Milestone(_dd(a), b) for a, b in d["m"]),
        links=tuple(Link(a, b) for a, b in d["l"]),
        case_type=d["ct"],
        channel=d["ch"],
        region=d["rg"],
        requester=d["rq"],
        requester_authorized=d["ra"],
        provided=frozenset(d["pv"]),
        hold_until=_d(d["hu"]),
        etr=_d(d["etr"]),
        updated_at=_d(d["u"]),
    )
    return TrackerCase(case, dict(d["f"]), frozenset(d["tg"]), d["url"]), (sim_status, sim_level)
