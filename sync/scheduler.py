"""``run --every``: cycles on a fixed interval with the ``schedule`` library.

A failed cycle is logged and recorded, and the next one still runs, except when the state store itself
fails (:class:`StateError`: corrupt, read-only, a full disk): every later cycle would fail the same way,
so the loop stops and the error is reported with its own exit code. SIGTERM stops the loop after the
cycle in progress (the handler only sets a flag). So does a first Ctrl-C (SIGINT), which then ends
``run_every`` with :class:`KeyboardInterrupt` (exit 130, as an interrupted command does); a second Ctrl-C
interrupts the cycle in progress at once. Two runners on one deployment never overlap: the engine takes a
lease in the state store, and a runner that finds it held skips that turn.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from types import FrameType

import schedule

from casewarden.errors import LockedError, StateError

log = logging.getLogger("casewarden.scheduler")


def run_every(
    seconds: int,
    cycle: Callable[[], object],
    *,
    stop: threading.Event | None = None,
    max_cycles: int | None = None,
    install_signals: bool = True,
) -> int:
    """Run ``cycle`` now and then every ``seconds`` until stopped; returns the number of failed cycles.
    Raises :class:`KeyboardInterrupt` when Ctrl-C stopped it."""
    stop = stop or threading.Event()
    interrupted = threading.Event()
    failures = 0
    done = 0

    def job() -> None:
        nonlocal failures, done
        try:
            cycle()
        except LockedError as exc:
            log.warning("cycle skipped: %s", exc)
        except StateError:
            raise
        except Exception as exc:
            failures += 1
            log.error(
                "cycle failed: %s: %s", type(exc).__name__, str(exc).splitlines()[0] if str(exc) else ""
            )
        done += 1
        if max_cycles is not None and done >= max_cycles:
            stop.set()

    previous: dict[signal.Signals, object] = {}
    if install_signals and threading.current_thread() is threading.main_thread():

        def on_signal(signum: int, _frame: FrameType | None) -> None:
            if signum == signal.SIGINT:
                if interrupted.is_set():
                    raise KeyboardInterrupt
                interrupted.set()
                log.warning("interrupted: stopping after the cycle in progress (Ctrl-C again to stop now)")
            else:
                log.info("received signal %d: stopping after the cycle in progress", signum)
            stop.set()

        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[sig] = signal.signal(sig, on_signal)
    scheduler = schedule.Scheduler()
    scheduler.every(seconds).seconds.do(job)
    try:
        job()
        while not stop.is_set():
            scheduler.run_pending()
            idle = scheduler.idle_seconds
            stop.wait(max(0.05, min(1.0, idle if idle is not None else 1.0)))
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)  # type: ignore[arg-type]
    if interrupted.is_set():
        raise KeyboardInterrupt
    return failures
