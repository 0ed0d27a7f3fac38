"""``casewarden case explain ID``: one case as a support manager asks about it first. Its timeline, each
target's clock (its calendar, the pauses that stopped it, when it is due), why it is breached or when it
will be, the escalation level and what comes next.

Everything is the policy engine's own answer (:func:`casewarden.policy.evaluate.evaluate` and the
timeline it builds): nothing is recomputed here, only gathered and worded, so the explanation cannot
drift from what ``run`` does. Rendering lives here, in sync/, and the policy layer stays pure."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from rich.console import Console

from casewarden.policy.case import Case
from casewarden.policy.compiled import Policy
from casewarden.policy.evaluate import evaluate
from casewarden.policy.results import Evaluation, TargetResult, TargetState
from casewarden.policy.timeline import Timeline, build_timeline
from casewarden.sync.terminal import say


def _iso(t: datetime | None) -> str | None:
    return t.isoformat() if t is not None else None


def span_text(seconds: float) -> str:
    """A span for people: '2 h 05 min', '3 days 4 h', '45 s'."""
    s = int(abs(seconds))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min"
    if s < 86400:
        return f"{s // 3600} h {s % 3600 // 60:02d} min"
    return f"{s // 86400} day(s) {s % 86400 // 3600} h"


@dataclass
class CaseExplanation:
    case_id: str
    url: str
    evaluation: Evaluation
    timeline: list[tuple[datetime, str]]
    pauses: dict[str, list[tuple[datetime, datetime | None, str]]]
    problems: list[str] = field(default_factory=list)
    #: what the state store says became of each side effect that is due (key -> "done", "pending", ...;
    #: notifications: their outbox state, e.g. "adopted" for one adoption held back)
    done: dict[str, str] = field(default_factory=dict)


def explain_case(policy: Policy, case: Case, now: datetime, *, url: str = "") -> CaseExplanation:
    """Evaluate ``case`` at ``now`` and gather what the explanation shows (raises CaseError as evaluate
    does for a case the policy cannot place)."""
    ev = evaluate(policy, case, now)
    tl = build_timeline(policy, case)
    return CaseExplanation(case.id, url, ev, _events(case), {t.name: _pauses(tl, t) for t in ev.targets})


def _events(case: Case) -> list[tuple[datetime, str]]:
    events: list[tuple[datetime, str]] = [(case.opened_at, "opened")]
    for i, lc in enumerate(case.level_history):
        events.append((lc.at, f"level {lc.level}" if i else f"level {lc.level} at opening"))
    for sc in case.status_history:
        events.append((sc.at, f"status {sc.status}"))
    for r in case.replies:
        who = "agent" if r.author.value == "agent" else "customer"
        events.append((r.at, f"{'public' if r.public else 'internal'} reply by the {who}"))
    for m in case.milestones:
        events.append((m.at, f"milestone {m.name}"))
    if case.hold_until is not None:
        events.append((case.hold_until, "on hold until"))
    if case.etr is not None:
        events.append((case.etr, "estimated time of resolution (ETR)"))
    return sorted(events, key=lambda e: e[0].timestamp())


def _pauses(tl: Timeline, t: TargetResult) -> list[tuple[datetime, datetime | None, str]]:
    """The spans in which this target's clock stood still, and the status that stopped it."""
    out: list[tuple[datetime, datetime | None, str]] = []
    for seg in tl.segments:
        if seg.status.stopped or seg.status.pauses_target(t.name, t.metric):
            why = seg.status.name + (" (solved or closed)" if seg.status.stopped else "")
            if out and out[-1][1] == seg.start and out[-1][2] == why:
                out[-1] = (out[-1][0], seg.end, why)
            else:
                out.append((seg.start, seg.end, why))
    return out


def verdict(t: TargetResult, now: datetime) -> str:
    """Why a target is in its state, or when it will change, in one sentence."""
    own = (
        f"{t.duration} of {t.calendar}"
        if t.calendar == "calendar time"
        else f"{t.duration} on the {t.calendar} calendar"
    )
    if t.metric == "periodic_update":
        missed = ""
        if t.missed:
            since = f" from {_iso(t.missed_due_at)}" if t.missed_due_at else ""
            ended = f", caught up at {_iso(t.missed_until)}" if t.missed_until else ", still behind"
            missed = f"{t.missed} update(s) missed{since}{ended}; "
        if t.state is TargetState.PAUSED:
            return f"{missed}paused: no update is due while the case is paused (one every {own})"
        if t.due_at is not None:
            return f"{missed}next update due {_iso(t.due_at)} (one every {own})"
        return f"{missed}no update due (one every {own})"
    if t.state is TargetState.MET:
        return (
            f"met at {_iso(t.met_at)}"
            + (f", before its due {_iso(t.due_at)}" if t.due_at else "")
            + f" ({own})"
        )
    if t.state is TargetState.BREACHED:
        late = f", {span_text(t.remaining)} late" if t.remaining is not None else ""
        if t.met_at is not None:
            return f"breached: met at {_iso(t.met_at)}, after its due {_iso(t.due_at)}{late} ({own})"
        return f"breached: due {_iso(t.due_at)} and not met yet{late} ({own})"
    if t.state is TargetState.PAUSED:
        left = f"; {span_text(t.remaining)} left when it runs again" if t.remaining is not None else ""
        return f"paused now{left} ({own})"
    if t.due_at is None:
        return f"untimed: tracked, never breached ({own})"
    left = f", {span_text(t.remaining)} of its time left" if t.remaining is not None else ""
    warn = f"; warned at {_iso(t.warn_at)}" if t.state is TargetState.WARNING and t.warn_at else ""
    when = "breaches" if t.due_at > now else "due"
    return f"running: {when} at {_iso(t.due_at)} unless met{left}{warn} ({own})"


def explanation_json(x: CaseExplanation) -> dict[str, Any]:
    ev = x.evaluation
    esc = ev.escalation
    return {
        "case_id": x.case_id,
        "url": x.url,
        "at": ev.at.isoformat(),
        "level": ev.level,
        "level_defaulted": ev.level_defaulted,
        "status": ev.status,
        "case_type": ev.case_type,
        "open": ev.open,
        "epoch": ev.epoch,
        "timeline": [{"at": at.isoformat(), "event": what} for at, what in x.timeline],
        "targets": [
            {
                "name": t.name,
                "metric": t.metric,
                "level": t.level,
                "state": t.state.value,
                "duration": t.duration,
                "calendar": t.calendar,
                "due_at": _iso(t.due_at),
                "warn_at": _iso(t.warn_at),
                "met_at": _iso(t.met_at),
                "remaining_seconds": t.remaining,
                "missed": t.missed,
                "pauses": [
                    {"from": a.isoformat(), "until": _iso(b), "status": why} for a, b, why in x.pauses[t.name]
                ],
                "why": verdict(t, ev.at),
            }
            for t in ev.targets
        ],
        "escalation": None
        if esc is None
        else {
            "path": esc.path,
            "level": esc.level,
            "reached_at": _iso(esc.reached_at),
            "next_level": esc.next_level,
            "next_at": _iso(esc.next_at),
            "customer_requested": esc.customer_requested,
        },
        "due_now": [{**_action(a), "done": x.done.get(str(a.key), "not yet")} for a in ev.due],
        "next": [_action(a) for a in ev.upcoming],
        "flags": list(ev.flags),
        "next_change_at": _iso(ev.next_change_at),
        "problems": x.problems,
    }


def _action(a: Any) -> dict[str, Any]:
    return {
        "at": a.due_at.isoformat(),
        "kind": a.kind,
        "value": a.value,
        "reason": a.reason,
        "key": str(a.key),
    }


#: What became of a due side effect, in words (ledger and outbox states).
DONE_TEXT = {
    "done": "done",
    "found": "done (found on the tracker)",
    "pending": "pending: its outcome is being settled",
    "failed": "failed; tried again on a later cycle",
    "uncertain": "of uncertain delivery",
    "queued": "queued: the next run sends it",
    "held": "held over notifications.max_per_cycle until 'run --yes'",
    "given_up": "given up: never delivered",
    "adopted": "not sent: it crossed before casewarden adopted the tracker (or beyond the horizon)",
}


def print_explanation(x: CaseExplanation, console: Console) -> None:
    """The explanation for people; every value is printed as it is (never as markup)."""
    ev = x.evaluation
    say(
        console,
        ("case " + x.case_id, "bold"),
        f"  level {ev.level}" + (" (defaulted: the case has none)" if ev.level_defaulted else ""),
        f", status {ev.status}, {'open' if ev.open else 'solved or closed'}"
        + (f", type {ev.case_type}" if ev.case_type else "")
        + (f", reopen epoch {ev.epoch}" if ev.epoch else "")
        + f"; as of {ev.at.isoformat()}",
    )
    if x.url:
        say(console, f"  {x.url}")
    for p in x.problems:
        say(console, "  ", ("problem", "yellow"), f" {p}")
    say(console, ("Timeline", "bold"))
    for at, what in x.timeline:
        say(console, f"  {at.isoformat()}  {what}")
    say(console, ("Targets", "bold"))
    if not ev.targets:
        say(console, "  none at this level")
    for t in ev.targets:
        style = {"breached": "red", "warning": "yellow", "met": "green"}.get(t.state.value, "cyan")
        say(
            console,
            "  ",
            (f"{t.name:<18}", "bold"),
            " ",
            (f"{t.state.value:<9}", style),
            f" {verdict(t, ev.at)}",
        )
        for a, b, why in x.pauses[t.name]:
            say(console, f"      paused {a.isoformat()} .. {_iso(b) or 'now'} ({why})")
    say(console, ("Escalation", "bold"))
    esc = ev.escalation
    if esc is None:
        say(console, "  no escalation path at this level")
    else:
        reached = (
            f"level {esc.level} reached at {_iso(esc.reached_at)}" if esc.level else "not escalated yet"
        ) + (" (the customer asked)" if esc.customer_requested else "")
        nxt = (
            f"; level {esc.next_level} at {_iso(esc.next_at)}"
            if esc.next_level is not None and esc.next_at is not None
            else "; no further level"
        )
        say(console, f"  path {esc.path}: {reached}{nxt}")
    say(console, ("What comes next", "bold"))
    if ev.due:
        for act in ev.due:
            done = x.done.get(str(act.key))
            state = DONE_TEXT.get(done, done) if done else "not yet: the next run does it"
            say(console, f"  due: {act.kind} {act.value}  [{state}]")
    for act in ev.upcoming[:10]:
        say(console, f"  {act.due_at.isoformat()}: {act.kind} {act.value}")
    if not ev.due and not ev.upcoming:
        say(console, "  nothing the policy schedules")
    if ev.next_change_at:
        say(
            console,
            f"  the next boundary (a warning, breach or escalation) is at {ev.next_change_at.isoformat()}",
        )
    for f in ev.flags:
        say(console, "  ", ("flag", "yellow"), f" {f}")
