"""Fault injection specific to the embedded tracker: a real process kill (``os._exit``) between the
tracker's writes and the state store's record, and a ledger that lost its 'done'. (Kills at many more
points, with notifications counted at a real receiver, are in ``tests/test_kill_anywhere.py``.)

The faults every connector must survive (a batch dying midway, refusals, unknown outcomes, a restart
between apply and record, changes the tracker cannot make) are in the shared suite,
``tests/connector_faults.py``, run over every connector by ``tests/test_contract.py``."""

from __future__ import annotations

import re
import sqlite3
import subprocess
import sys
import textwrap
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest

from casewarden.connectors.base import Change, ChangeKind
from tests.sync_fixtures import (
    BACKFILL,
    NOW,
    RecordingChannel,
    dump_tracker,
    generated_tracker,
    make_engine,
    write_deployment,
)

MARKER = re.compile(r"\[casewarden:([^\]]+)\]")


def run_cycles(directory: Path, tracker, channel: RecordingChannel) -> None:  # type: ignore[no-untyped-def]
    """A normal run at NOW, then the next cycle, which absorbs casewarden's own writes."""
    for at in (NOW, NOW + timedelta(seconds=10)):
        engine, state = make_engine(directory, tracker, now=at, channels={"hook": channel})
        engine.run_once()
        state.close()


def reference(tmp_path: Path) -> tuple[dict[str, object], list[str]]:
    directory = tmp_path / "reference"
    directory.mkdir()
    write_deployment(directory, deployment_text=BACKFILL)
    tracker = generated_tracker(directory / "tracker.sqlite")
    channel = RecordingChannel()
    run_cycles(directory, tracker, channel)
    tracker.close()
    return dump_tracker(directory / "tracker.sqlite"), sorted(n.key for n in channel.sent)


def note_markers(path: Path) -> Counter[str]:
    db = sqlite3.connect(path)
    try:
        return Counter(
            m for (body,) in db.execute("SELECT body FROM comments") for m in MARKER.findall(body or "")
        )
    finally:
        db.close()


def faulty_env(tmp_path: Path, fail):  # type: ignore[no-untyped-def]
    directory = tmp_path / "faulty"
    directory.mkdir()
    write_deployment(directory, deployment_text=BACKFILL)
    return directory, generated_tracker(directory / "tracker.sqlite", fail=fail)


class Switch:
    """A fault hook that can be turned off, as the fault goes away between runs."""

    def __init__(self, decide) -> None:  # type: ignore[no-untyped-def]
        self.on = True
        self.decide = decide
        self.seen = 0

    def __call__(self, change: Change) -> Exception | None:
        if not self.on:
            return None
        self.seen += 1
        return self.decide(self.seen, change)


CRASH_SCRIPT = textwrap.dedent("""
    import os, sys
    sys.path.insert(0, {root!r})
    from pathlib import Path
    from casewarden.sync.engine import Engine
    from tests.sync_fixtures import generated_tracker, make_engine, RecordingChannel

    directory = Path({directory!r})
    tracker = generated_tracker(directory / "tracker.sqlite")
    engine, state = make_engine(directory, tracker)

    def die(self, *args, **kwargs):
        os._exit(137)  # killed after the writes landed, before anything was recorded
    Engine._record = die
    engine.run_once()
""")


def test_process_killed_between_apply_and_record(tmp_path: Path) -> None:
    expected, expected_sent = reference(tmp_path)
    directory, tracker = faulty_env(tmp_path, None)
    tracker.close()
    root = str(Path(__file__).resolve().parents[1])
    proc = subprocess.run(
        [sys.executable, "-c", CRASH_SCRIPT.format(root=root, directory=str(directory))],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 137, proc.stderr
    tracker = generated_tracker(directory / "tracker.sqlite")
    channel = RecordingChannel()
    engine, state = make_engine(directory, tracker, channels={"hook": channel})
    assert state.pending("local"), "the killed run left its intents pending"
    result = engine.run_once().trackers[0]
    assert result.recovered > 0, "writes that landed are found on the tracker, not repeated"
    state.close()
    absorb, state = make_engine(
        directory, tracker, now=NOW + timedelta(seconds=10), channels={"hook": channel}
    )
    absorb.run_once()
    tracker.close()
    assert dump_tracker(directory / "tracker.sqlite") == expected
    # the killed run queued none of its notifications: they are planned again and sent, each once
    assert sorted(n.key for n in channel.sent) == expected_sent
    assert max(note_markers(directory / "tracker.sqlite").values()) == 1


@pytest.mark.parametrize("kind", [ChangeKind.ADD_NOTE, ChangeKind.SET_STATUS])
def test_side_effect_found_on_tracker_is_not_repeated(tmp_path: Path, kind: ChangeKind) -> None:
    """The ledger lost the 'done' (crash), but the tracker carries the marker: no second write."""
    directory, tracker = faulty_env(tmp_path, None)
    engine, state = make_engine(directory, tracker)
    engine.run_once()
    done = state.db.execute(
        "SELECT key FROM ledger WHERE action = ? AND status = 'done' LIMIT 1", (kind.value,)
    ).fetchone()
    if done is None:
        pytest.skip(f"the generated cases needed no {kind.value}")
    state.db.execute("UPDATE ledger SET status = 'pending' WHERE key = ?", (done[0],))
    again, _ = make_engine(directory, tracker)
    result = again.run_once().trackers[0]
    assert result.recovered == 1
    assert not [c for c in result.changes if c.key == done[0]]
