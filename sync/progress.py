"""Progress of a cycle for the person watching it: a total, a rate and an ETA, counted in cases (and in
notifications while they are sent), never in changes (a case with nine changes is one case).

On a terminal it is a live rich display on stderr that disappears when the command ends; otherwise
(cron, a pipe, a log shipper) it is a plain log line per phase at most every ``every`` seconds and at the
end of each phase, on the ``casewarden.progress`` logger at INFO (JSON with ``--log-format json``, shown
with ``--log-level info``), so stdout stays what the command prints.

The engine calls a progress function as ``progress(label, n, total)``: ``n`` more items done under
``label``; ``total`` the number expected in all when it became known (``None``: unchanged)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

if TYPE_CHECKING:
    from rich.progress import TaskID

log = logging.getLogger("casewarden.progress")


class ProgressFn(Protocol):
    def __call__(self, label: str, n: int, total: int | None = None, /) -> None: ...


def no_progress(_label: str, _n: int, _total: int | None = None, /) -> None:
    """What the engine reports to when nobody watches."""


def _eta(seconds: float | None) -> str:
    if seconds is None:
        return "ETA unknown"
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"ETA {seconds} s"
    if seconds < 3600:
        return f"ETA {seconds // 60} min {seconds % 60:02d} s"
    return f"ETA {seconds // 3600} h {seconds % 3600 // 60:02d} min"


@dataclass
class _Phase:
    label: str
    started: float
    done: int = 0
    total: int | None = None
    told: float = 0.0

    def rate(self, now: float) -> float | None:
        elapsed = now - self.started
        return self.done / elapsed if elapsed > 0 and self.done else None

    def line(self, now: float) -> str:
        rate = self.rate(now)
        count = f"{self.done:,}" + (f" of {self.total:,}" if self.total is not None else "")
        speed = f"{rate:,.0f}/s" if rate is not None else "-/s"
        eta = ""
        if self.total is not None:
            left = max(self.total - self.done, 0)
            eta = ", " + ("done" if not left else _eta(left / rate) if rate else _eta(None))
        return f"{self.label}: {count} ({speed}{eta}, {now - self.started:.1f} s)"


class _Rate(ProgressColumn):
    """Items per second, in the phase's own unit (rich's own speed column counts bytes)."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text("-/s" if speed is None else f"{speed:,.0f}/s", style="progress.data.speed")


class CycleProgress:
    """A progress function (see the module docstring) that shows each label as one line."""

    def __init__(
        self,
        console: Console,
        *,
        live: bool | None = None,
        every: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.live = console.is_terminal if live is None else live
        self.every = every
        self.clock = clock
        self._phases: dict[str, _Phase] = {}
        self._bar: Progress | None = None
        self._tasks: dict[str, TaskID] = {}
        if self.live:
            self._bar = Progress(
                TextColumn("{task.description}", markup=False),
                BarColumn(),
                MofNCompleteColumn(),
                _Rate(),
                TimeRemainingColumn(),
                TimeElapsedColumn(),
                console=console,
                transient=True,
                get_time=clock,
            )
            self._bar.start()

    def __call__(self, label: str, n: int, total: int | None = None, /) -> None:
        now = self.clock()
        phase = self._phases.get(label)
        if phase is None:
            phase = self._phases[label] = _Phase(label, now, told=now)
        phase.done += n
        if total is not None:
            phase.total = max(total, phase.done)
        if self._bar is not None:
            if label not in self._tasks:
                self._tasks[label] = self._bar.add_task(label, total=phase.total)
            self._bar.update(self._tasks[label], completed=phase.done, total=phase.total)
        elif now - phase.told >= self.every:
            phase.told = now
            log.info(phase.line(now), extra=self._extra(phase, now))

    def _extra(self, phase: _Phase, now: float) -> dict[str, object]:
        rate = phase.rate(now)
        return {
            "event": "progress",
            "phase": phase.label,
            "done": phase.done,
            "total": phase.total,
            "per_second": round(rate, 1) if rate is not None else None,
        }

    def lines(self) -> list[str]:
        """Each phase as a plain line, as the log gets it (for tests and the final report)."""
        now = self.clock()
        return [p.line(now) for p in self._phases.values()]

    def close(self) -> None:
        """End the display; without a terminal, log where each phase ended."""
        if self._bar is not None:
            self._bar.stop()
            self._bar = None
            return
        now = self.clock()
        for phase in self._phases.values():
            log.info(phase.line(now), extra=self._extra(phase, now))
        self._phases.clear()
