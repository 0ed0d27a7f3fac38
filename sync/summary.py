"""What a plan or a run did, for people (text) and for scripts (JSON)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from rich.console import Console

from casewarden.sync.engine import CycleResult, TrackerResult
from casewarden.sync.terminal import say


def cycle_json(result: CycleResult) -> dict[str, Any]:
    return {
        "at": result.at.isoformat(),
        "dry_run": result.dry_run,
        "run_id": result.run_id,
        "trackers": [_tracker_json(t, result.dry_run) for t in result.trackers],
    }


def _tracker_json(t: TrackerResult, dry_run: bool) -> dict[str, Any]:
    out: dict[str, Any] = {
        "tracker": t.tracker,
        "read": t.read,
        "unchanged": t.unchanged,
        "reevaluated": t.reevaluated,
        "evaluated": t.evaluated,
        "changes": [
            {
                "case_id": c.case_id,
                "kind": c.kind.value,
                "field": c.field,
                "value": c.value,
                "key": c.key,
                "reason": c.reason,
            }
            for c in t.changes
        ],
        "notifications": [
            {
                "key": n.key,
                "case_id": n.message.case_id,
                "channels": list(n.channels),
                "reason": n.message.reason,
            }
            for n in t.notifications
        ],
        "notifications_to_send": t.deliveries + t.notify_owed,
        "notifications_owed": t.notify_owed,
        "notifications_adopted": t.adopted,
        "notifications_held": t.notify_held,
        "rebuilt": t.rebuilt,
        "skipped": [{"case_id": s.case_id, "reason": s.reason} for s in t.skipped],
        "problems": t.problems,
        "gone": t.gone,
        "error": t.error,
        "stopped_early": t.stopped_early,
    }
    if not dry_run:
        out.update(
            {
                "applied": t.applied,
                "refused": len(t.refused),
                "unknown": len(t.unknown),
                "failed": [
                    {
                        "case_id": r.change.case_id,
                        "kind": r.change.kind.value,
                        "outcome": r.outcome.value,
                        "error": r.error,
                    }
                    for r in t.failed
                ],
                "notified": t.notified,
                "notify_failed": t.notify_failed,
                "notify_given_up": t.notify_given_up,
                "notify_deferred": t.notify_deferred,
                "notify_paused": t.notify_paused,
                "notify_resent": t.notify_resent,
                "recovered": t.recovered,
                "still_unknown": t.still_unknown,
                "uncertain": t.uncertain,
            }
        )
    return out


def kind_counts(t: TrackerResult) -> Counter[str]:
    counts: Counter[str] = Counter()
    for c in t.changes:
        label = c.kind.value
        if c.key and ":escalation." in c.key:
            label = "escalation " + label
        elif c.key and ":breach." in c.key:
            label = "breach note"
        counts[label] += 1
    return counts


def notifications_line(t: TrackerResult, dry_run: bool) -> str:
    """How many notifications the cycle sends (or would), and what adoption and the cap hold back."""
    to_send = t.deliveries + t.notify_owed
    parts = [f"{to_send:>6}  notification(s) {'to send' if dry_run else 'queued'}"]
    if t.notify_owed:
        parts[0] += f" ({t.notify_owed} owed from earlier cycles)"
    if t.adopted:
        parts.append(
            f"{t.adopted} held back by adoption (crossed before the first run on the tracker, or the horizon)"
        )
    if t.notify_held:
        parts.append(f"{t.notify_held} over notifications.max_per_cycle, held until 'run --yes'")
    return "; ".join(parts)


def delivery_lines(t: TrackerResult, examples: int = 3) -> list[tuple[str, str, str]]:
    """(label, style, text) lines about deliveries that need a person's attention."""
    lines: list[tuple[str, str, str]] = []
    if t.notify_failed:
        lines.append(
            ("retry", "yellow", f"{len(t.notify_failed)} notification(s) failed; tried again on later cycles")
        )
        lines += [("retry", "yellow", f"  {f}") for f in t.notify_failed[:examples]]
    if t.notify_given_up:
        lines.append(("given up", "red", f"{len(t.notify_given_up)} notification(s) never delivered"))
        lines += [("given up", "red", f"  {g}") for g in t.notify_given_up[:examples]]
    if t.notify_held:
        lines.append(
            (
                "held",
                "red",
                f"{t.notify_held} notification(s) over notifications.max_per_cycle: check 'casewarden "
                "plan', then send them with 'casewarden run --yes'",
            )
        )
    if t.notify_paused:
        lines.append(
            (
                "paused",
                "yellow",
                f"channel(s) {', '.join(t.notify_paused)} kept failing: paused for this cycle",
            )
        )
    if t.notify_deferred:
        lines.append(
            (
                "later",
                "yellow",
                f"{t.notify_deferred} notification(s) left for the next cycle (time budget or paused channel)",
            )
        )
    if t.notify_resent:
        lines.append(
            (
                "resent",
                "yellow",
                f"{t.notify_resent} notification(s) interrupted mid-send: sent again under the same idempotency key",
            )
        )
    return lines


def print_cycle(result: CycleResult, console: Console, *, examples: int = 8) -> None:
    """The cycle for people. Case ids, reasons, errors and tracker names come from trackers and the
    policy, so every line goes through :func:`say` (printed as it is, never as markup)."""
    verb = "would" if result.dry_run else "did"
    for t in result.trackers:
        if t.error:
            say(console, (t.tracker, "bold"), ": ", ("failed", "red"), f" {t.error}")
            if not t.read and not t.changes:
                continue
        say(
            console,
            (t.tracker, "bold"),
            f": read {t.read} changed case(s)"
            + (f" ({t.unchanged} changed only by casewarden)" if t.unchanged else "")
            + f", re-evaluated {t.reevaluated} from state, evaluated {t.evaluated}; {t.breaches} target(s) "
            f"breached, {t.flags} intake flag(s)",
        )
        counts = kind_counts(t)
        to_send = t.deliveries + t.notify_owed
        if not counts and not to_send:
            say(console, f"  nothing to change: casewarden {verb} write nothing")
        for label, n in sorted(counts.items()):
            say(console, f"  {n:>6}  {label}")
        if to_send or t.adopted or t.notify_held:
            say(console, f"  {notifications_line(t, result.dry_run)}")
        shown = [c for c in t.changes if c.key][:examples] or t.changes[:examples]
        for c in shown:
            target = f" {c.field}" if c.field else ""
            what = f"{c.kind.value}{target}" + (f" = {c.value!r}" if c.value != c.reason else "")
            say(console, f"    - {c.case_id}: {what}  ({c.reason})")
        if not result.dry_run:
            say(
                console,
                f"  applied {t.applied}, refused {len(t.refused)}, outcome unknown {len(t.unknown)}, "
                f"notified {t.notified}"
                + (f", recovered {t.recovered} found on the tracker" if t.recovered else "")
                + (f", {t.still_unknown} still unknown (settled next cycle)" if t.still_unknown else "")
                + (f", {t.gone} deleted or merged case(s) dropped" if t.gone else "")
                + (", stopped at its time budget (the next cycle carries on)" if t.stopped_early else "")
                + (f", {len(t.uncertain)} notification(s) of uncertain delivery" if t.uncertain else "")
                + (f", {t.rebuilt} side effect(s) found on the tracker, not repeated" if t.rebuilt else ""),
            )
            for line in delivery_lines(t):
                say(console, "  ", (line[0], line[1]), f" {line[2]}")
            for r in t.failed[:examples]:
                say(
                    console,
                    "    ",
                    (r.outcome.value, "red"),
                    f" {r.change.case_id} {r.change.kind.value}: {r.error}",
                )
        for s in t.skipped[:examples]:
            say(console, "  ", ("skipped", "yellow"), f" {s.case_id}: {s.reason}")
        if len(t.skipped) > examples:
            say(console, f"  ... and {len(t.skipped) - examples} more skipped case(s)")
        for p in t.problems[:examples]:
            say(console, "  ", ("problem", "yellow"), f" {p}")
