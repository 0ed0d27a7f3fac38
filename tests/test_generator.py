"""The case-history generator: deterministic, realistic, inside the policy's vocabulary, and fast."""

from __future__ import annotations

import itertools
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from casewarden.connectors.local import LocalTracker, Vocabulary, default_level_weights, generate, mutate
from casewarden.policy.case import Author, Case

LEVELS = ("S1", "S2", "S3", "S4")
STATUSES = {
    "New": "new",
    "Open": "open",
    "In Progress": "open",
    "Awaiting Customer": "pending",
    "On Hold": "hold",
    "Solved": "solved",
    "Closed": "closed",
}
MILESTONES = ("restoration", "temporary_fix", "permanent_fix")
REGIONS = ("americas", "emea", "apac")
INTAKE = ("description", "logs", "timeline")
START = datetime(2025, 1, 1, tzinfo=UTC)
END = datetime(2025, 3, 1, tzinfo=UTC)
COUNT = 2000


def run(tracker: LocalTracker, count: int, seed: int = 7) -> list[str]:
    return generate(
        tracker,
        count=count,
        levels=LEVELS,
        statuses=STATUSES,
        start=START,
        end=END,
        seed=seed,
        regions=REGIONS,
        milestones=MILESTONES,
        intake_items=INTAKE,
    )


def cases_of(tracker: LocalTracker) -> list[Case]:
    return [tc.case for page in tracker.pages_between(None, END) for tc in page]


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LocalTracker, list[Case], float]]:
    """2,000 generated cases, read back once, with the generation time."""
    tracker = LocalTracker(tmp_path_factory.mktemp("gen") / "tracker.db")
    started = time.perf_counter()
    ids = run(tracker, COUNT)
    elapsed = time.perf_counter() - started
    cases = cases_of(tracker)
    assert sorted(c.id for c in cases) == sorted(ids)
    yield tracker, cases, elapsed
    tracker.close()


def test_quick_run_of_two_thousand_cases(generated: tuple[LocalTracker, list[Case], float]) -> None:
    tracker, cases, elapsed = generated
    assert len(cases) == tracker.count() == COUNT
    assert elapsed < 15, f"{COUNT} cases took {elapsed:.1f}s"  # about 0.3 s on a quiet machine


def test_same_seed_same_cases(tmp_path: Path) -> None:
    with LocalTracker(tmp_path / "a.db") as first, LocalTracker(tmp_path / "b.db") as second:
        assert run(first, 150) == run(second, 150)
        assert cases_of(first) == cases_of(second)
        assert [first.comments(i) for i in first.case_ids()] == [
            second.comments(i) for i in second.case_ids()
        ]


def test_other_seed_other_cases(tmp_path: Path) -> None:
    with LocalTracker(tmp_path / "a.db") as first, LocalTracker(tmp_path / "b.db") as second:
        run(first, 50, seed=1)
        run(second, 50, seed=2)
        assert cases_of(first) != cases_of(second)


def events(case: Case) -> list[datetime]:
    """Every instant after the opening: history entries, replies (but the opening comment), milestones."""
    instants = [c.at for c in case.status_history[1:]] + [c.at for c in case.level_history[1:]]
    instants += [r.at for r in case.replies if r.at != case.opened_at] + [m.at for m in case.milestones]
    return instants


def test_instants_strictly_increase_within_the_range(
    generated: tuple[LocalTracker, list[Case], float],
) -> None:
    for case in generated[1]:
        after = sorted(events(case))
        assert len(set(after)) == len(after), case.id
        assert all(case.opened_at < at <= END for at in after), case.id
        assert START <= case.opened_at < END
        assert case.status_history[0].at == case.level_history[0].at == case.opened_at
        assert case.updated_at == max([case.opened_at, *after])


def test_histories_speak_the_policy_vocabulary(generated: tuple[LocalTracker, list[Case], float]) -> None:
    for case in generated[1]:
        statuses = [c.status for c in case.status_history]
        levels = [c.level for c in case.level_history]
        assert set(statuses) <= set(STATUSES) and set(levels) <= set(LEVELS)
        assert all(a != b for a, b in itertools.pairwise(statuses)), case.id
        assert all(a != b for a, b in itertools.pairwise(levels)), case.id
        assert [m.name for m in case.milestones] == list(MILESTONES[: len(case.milestones)])
        assert statuses[0] == "New"
        assert case.region in REGIONS and case.channel in ("portal", "email", "phone", "chat")
        assert case.provided <= set(INTAKE) and case.requester and case.requester.endswith("@example.com")
        assert (case.hold_until is not None) == (case.status == "On Hold"), case.id
        if case.hold_until is not None:
            assert case.hold_until > case.status_history[-1].at


def test_histories_are_varied(generated: tuple[LocalTracker, list[Case], float]) -> None:
    cases = generated[1]

    def share(predicate: Callable[[Case], object]) -> float:
        return sum(1 for c in cases if predicate(c)) / len(cases)

    def answered(c: Case) -> bool:
        return any(r.author is Author.AGENT and r.public for r in c.replies)

    def reopened(c: Case) -> bool:
        names = [s.status for s in c.status_history]
        return any(a in ("Solved", "Closed") and b == "Open" for a, b in itertools.pairwise(names))

    def rank_steps(c: Case) -> set[int]:
        ranks = [LEVELS.index(x.level) for x in c.level_history]
        return {b - a for a, b in itertools.pairwise(ranks)}

    def opened_in_business_hours(c: Case) -> bool:
        return c.opened_at.weekday() < 5 and 8 <= c.opened_at.hour < 18

    assert 0.03 < share(lambda c: not answered(c)) < 0.4
    assert share(lambda c: c.replies and all(r.at == c.opened_at for r in c.replies)) > 0.02  # untouched
    assert share(lambda c: c.status == "Closed") > 0.2
    assert share(lambda c: c.status == "Solved") > 0.05
    assert share(lambda c: c.status in ("New", "Open", "In Progress", "Awaiting Customer", "On Hold")) > 0.05
    assert share(reopened) > 0.005
    assert share(lambda c: -1 in rank_steps(c)) > 0.01 and share(lambda c: 1 in rank_steps(c)) > 0.01
    assert share(lambda c: "Awaiting Customer" in {s.status for s in c.status_history}) > 0.1
    assert share(lambda c: "On Hold" in {s.status for s in c.status_history}) > 0.02
    assert share(lambda c: c.milestones) > 0.05 and share(lambda c: c.etr is not None) > 0.01
    assert share(lambda c: any(not r.public for r in c.replies)) > 0.05
    assert 0.6 < share(opened_in_business_hours) < 0.95


def test_levels_favour_the_less_severe(generated: tuple[LocalTracker, list[Case], float]) -> None:
    opening = Counter(c.level_history[0].level for c in generated[1])
    assert opening["S1"] < opening["S2"] < opening["S3"]
    assert opening["S4"] > 3 * opening["S1"]
    assert default_level_weights(4) == [1.0, 2.0, 4.0, 4.0]
    assert default_level_weights(1) == [1.0]


def test_custom_level_weights(tmp_path: Path) -> None:
    with LocalTracker(tmp_path / "t.db") as tracker:
        generate(
            tracker,
            count=50,
            levels=LEVELS,
            statuses=STATUSES,
            start=START,
            end=END,
            level_weights=[1, 0, 0, 0],
        )
        assert {c.level_history[0].level for c in cases_of(tracker)} == {"S1"}


def test_minimal_vocabulary(tmp_path: Path) -> None:
    """A policy with only open and closed statuses still gets sensible histories."""
    with LocalTracker(tmp_path / "t.db") as tracker:
        generate(
            tracker,
            count=200,
            levels=("P1",),
            statuses={"Active": "open", "Done": "closed"},
            start=START,
            end=END,
        )
        for case in cases_of(tracker):
            assert {s.status for s in case.status_history} <= {"Active", "Done"}
            assert case.status_history[0].status == "Active"


def test_vocabulary_from_categories() -> None:
    vocabulary = Vocabulary.from_categories(STATUSES)
    assert vocabulary == Vocabulary(
        new="New",
        open=("Open", "In Progress"),
        pending="Awaiting Customer",
        hold="On Hold",
        solved="Solved",
        closed="Closed",
    )
    with pytest.raises(ValueError, match="category 'open'"):
        Vocabulary.from_categories({"New": "new", "Closed": "closed"})


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"count": -1}, "negative"),
        ({"levels": ()}, "level"),
        ({"end": START}, "later"),
        ({"level_weights": [1, 2]}, "one weight per level"),
        ({"start": datetime(2025, 1, 1)}, "naive"),
    ],
)
def test_bad_arguments(tmp_path: Path, kwargs: dict[str, object], message: str) -> None:
    arguments: dict[str, object] = {
        "count": 1,
        "levels": LEVELS,
        "statuses": STATUSES,
        "start": START,
        "end": END,
        **kwargs,
    }
    with LocalTracker(tmp_path / "t.db") as tracker, pytest.raises(ValueError, match=message):
        generate(tracker, **arguments)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------- mutate


@pytest.fixture
def small(tmp_path: Path) -> Iterator[LocalTracker]:
    with LocalTracker(tmp_path / "t.db") as tracker:
        run(tracker, 400)
        yield tracker


OPEN_STATUSES = [
    name for name, category in STATUSES.items() if category in ("new", "open", "pending", "hold")
]


def test_mutate_touches_a_fraction_of_all_cases_among_the_open_ones(small: LocalTracker) -> None:
    at = END + timedelta(hours=1)
    candidates = small.case_ids(OPEN_STATUSES)
    touched = mutate(small, fraction=0.05, at=at, seed=3)
    assert len(touched) == round(0.05 * small.count()) == 20
    assert len(set(touched)) == len(touched) and set(touched) <= set(candidates)
    changed = [tc.case.id for page in small.pages_between(at, at) for tc in page]
    assert sorted(changed) == sorted(touched)
    for tracker_case in small.read_cases(touched):
        case = tracker_case.case
        assert case.replies[-1].at == at or case.status_history[-1].at == at
    assert set(mutate(small, fraction=1.0, at=at + timedelta(hours=1), seed=3)) == set(candidates)


def test_mutate_is_deterministic(tmp_path: Path) -> None:
    results = []
    for name in ("a", "b"):
        with LocalTracker(tmp_path / f"{name}.db") as tracker:
            run(tracker, 200)
            mutate(tracker, fraction=0.5, at=END + timedelta(hours=1), seed=9)
            results.append(cases_of_all(tracker))
    assert results[0] == results[1]


def cases_of_all(tracker: LocalTracker) -> list[Case]:
    return [tc.case for page in tracker.pages_between(None, END + timedelta(days=1)) for tc in page]


def test_mutate_needs_a_vocabulary(tmp_path: Path) -> None:
    with LocalTracker(tmp_path / "t.db") as tracker:
        tracker.create_case("x", opened_at=START, level="S3", status="Open")
        with pytest.raises(ValueError, match="pass statuses"):
            mutate(tracker, fraction=0.5, at=END, seed=1)
        assert mutate(tracker, fraction=1.0, at=END, seed=1, statuses={"Open": "open"}) == ["L-1"]
        assert mutate(tracker, fraction=0.0, at=END, seed=1, statuses={"Open": "open"}) == []
        with pytest.raises(ValueError, match="fraction"):
            mutate(tracker, fraction=2.0, at=END, seed=1)


def test_mutate_touches_only_cases_last_updated_before_the_instant(small: LocalTracker) -> None:
    at = START + timedelta(days=20)
    before = {tc.case.id: tc.case for tc in small.read_cases(small.case_ids())}
    eligible = {
        i for i, c in before.items() if c.status in OPEN_STATUSES and c.updated_at and c.updated_at < at
    }
    touched = mutate(small, fraction=1.0, at=at, seed=1)
    assert touched and set(touched) == eligible
    assert all(tc.case.updated_at == at for tc in small.read_cases(touched))
