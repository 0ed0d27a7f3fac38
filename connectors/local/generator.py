"""Realistic case histories for the embedded tracker: the demo's data, the tests' cases, the benchmarks' load.

The caller passes what the policy provides (level ids most severe first, the status vocabulary as
name -> category, milestone names), so generated cases always speak the policy's language. Histories are
simulated forward from the opening with a :class:`random.Random` seeded by the caller, so a seed always
gives the same cases, and every event after the opening happens strictly later than the one before it and
no later than ``end``. Cases are written through :meth:`LocalTracker.bulk_insert` (one transaction), which
is what makes 100,000 cases a matter of seconds.

What a history may contain, with rough odds: opened mostly in business hours (UTC), sometimes at night or
on a weekend, with the customer's description as the first comment (at the opening, as Zendesk stores it);
a first public agent reply after a delay that grows with the level's rank (some cases are
never answered, some never touched after opening); agent updates, customer replies, internal notes;
moves to the pending status and back when the customer answers; holds with a ``hold_until``; level raises
and step-downs; milestones in the order given; an estimated time of resolution; solving and closing; a
customer reply after closing that reopens the case, or that arrives on a closed case without reopening it.
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from casewarden.connectors.local.tracker import CaseRecord, LocalTracker
from casewarden.policy.case import Author
from casewarden.policy.compiled import Policy

__all__ = ["DEFAULT_CHANNELS", "STATUS_VOCABULARY_META", "Vocabulary", "generate", "mutate"]

DEFAULT_CHANNELS: tuple[str, ...] = ("portal", "email", "phone", "chat")
#: Key in the tracker's ``meta`` table under which :func:`generate` records the vocabulary it used, so that
#: :func:`mutate` can make status changes on the same tracker without being told the vocabulary again.
STATUS_VOCABULARY_META = "generator.statuses"

_MINUTE, _HOUR, _DAY = 60, 3600, 86400
_OPEN_CATEGORIES = ("new", "open", "pending", "hold")
_SUBJECTS = (
    "Cannot log in after upgrade",
    "Reports time out",
    "Sync job fails nightly",
    "Slow dashboard",
    "API returns 500 on export",
    "License key rejected",
    "Emails not delivered",
    "Data missing after import",
    "Crash when opening settings",
    "Question about configuration",
    "Feature request: bulk edit",
    "Outage in production cluster",
    "Certificate expired",
    "Search results incomplete",
)
_AGENT_TEXT = (
    "Looking into this now.",
    "We reproduced the issue.",
    "Update: still investigating.",
    "Could you send the logs?",
    "A fix is being tested.",
    "Please try the workaround below.",
)
_CUSTOMER_TEXT = (
    "Any news?",
    "Logs attached.",
    "Still happening here.",
    "That worked, thanks.",
    "This is blocking our team.",
    "See the details below.",
)


@dataclass(frozen=True, slots=True)
class Vocabulary:
    """The statuses the generator moves cases through, picked from a policy's name -> category mapping.

    The first status of each category is used, except for work statuses, where every status of category
    ``open`` may appear (the first one most often).
    """

    new: str
    open: tuple[str, ...]
    pending: str | None = None
    hold: str | None = None
    solved: str | None = None
    closed: str | None = None

    @classmethod
    def from_categories(cls, statuses: Mapping[str, str]) -> Vocabulary:
        by_category: dict[str, list[str]] = {}
        for name, category in statuses.items():
            by_category.setdefault(str(category), []).append(name)
        work = tuple(by_category.get("open", ()))
        if not work:
            raise ValueError("the status vocabulary needs at least one status of category 'open'")

        def first(category: str) -> str | None:
            names = by_category.get(category)
            return names[0] if names else None

        return cls(
            new=first("new") or work[0],
            open=work,
            pending=first("pending"),
            hold=first("hold"),
            solved=first("solved"),
            closed=first("closed"),
        )


@dataclass(frozen=True, slots=True)
class _Settings:
    """Everything fixed for one generation run, computed once instead of per case."""

    levels: tuple[str, ...]
    cum_weights: tuple[float, ...]
    vocabulary: Vocabulary
    start: int
    end: int
    regions: tuple[str, ...]
    channels: tuple[str, ...]
    milestones: tuple[str, ...]
    case_types: tuple[str, ...]
    intake_items: tuple[str, ...]
    requesters: int


def default_level_weights(count: int) -> list[float]:
    """Weights that favour the less severe levels, as real queues do: 1, 2, 4, ... capped at the
    second-to-last level's (four levels give 1:2:4:4, about 9% / 18% / 36% / 36%)."""
    cap = 2 ** max(0, count - 2)
    return [float(min(2**i, cap)) for i in range(count)]


def generate(
    tracker: LocalTracker,
    *,
    count: int,
    levels: Sequence[str],
    statuses: Mapping[str, str],
    start: datetime,
    end: datetime,
    seed: int = 0,
    regions: Sequence[str] = (),
    channels: Sequence[str] = DEFAULT_CHANNELS,
    milestones: Sequence[str] = (),
    case_types: Sequence[str] = (),
    intake_items: Sequence[str] = (),
    level_weights: Sequence[float] | None = None,
) -> list[str]:
    """Create ``count`` cases opened between ``start`` and ``end`` and return their ids (see
    :func:`generate_records` for the arguments)."""
    records = generate_records(
        count=count,
        levels=levels,
        statuses=statuses,
        start=start,
        end=end,
        seed=seed,
        regions=regions,
        channels=channels,
        milestones=milestones,
        case_types=case_types,
        intake_items=intake_items,
        level_weights=level_weights,
    )
    tracker.set_meta(STATUS_VOCABULARY_META, json.dumps({name: str(cat) for name, cat in statuses.items()}))
    return tracker.bulk_insert(records)


def generate_records(
    *,
    count: int,
    levels: Sequence[str],
    statuses: Mapping[str, str],
    start: datetime,
    end: datetime,
    seed: int = 0,
    regions: Sequence[str] = (),
    channels: Sequence[str] = DEFAULT_CHANNELS,
    milestones: Sequence[str] = (),
    case_types: Sequence[str] = (),
    intake_items: Sequence[str] = (),
    level_weights: Sequence[float] | None = None,
) -> Iterator[CaseRecord]:
    """``count`` case histories opened between ``start`` and ``end``, without a tracker: the shared
    connector suites replay them through any tracker's own API.

    ``levels`` are the policy's level ids, most severe first; ``level_weights`` (default
    :func:`default_level_weights`) favours the later, less severe ones. ``statuses`` maps every status name
    to its category (new, open, pending, hold, solved, closed). ``milestones`` are recorded in the order
    given (e.g. restoration, temporary_fix, permanent_fix). ``intake_items`` are the checklist items a case
    may provide at opening (most cases provide most of them). ``case_types`` are assigned at random, so pass
    them only when every type allows every level.
    """
    if count < 0:
        raise ValueError("count must not be negative")
    if not levels:
        raise ValueError("at least one level is needed")
    first, last = _epoch(start), _epoch(end)
    if last <= first:
        raise ValueError("end must be later than start")
    weights = list(level_weights) if level_weights is not None else default_level_weights(len(levels))
    if len(weights) != len(levels):
        raise ValueError("level_weights must have one weight per level")
    settings = _Settings(
        levels=tuple(levels),
        cum_weights=tuple(_cumulative(weights)),
        vocabulary=Vocabulary.from_categories(statuses),
        start=first,
        end=last,
        regions=tuple(regions),
        channels=tuple(channels),
        milestones=tuple(milestones),
        case_types=tuple(case_types),
        intake_items=tuple(intake_items),
        requesters=max(10, count // 5),
    )
    rng = random.Random(seed)
    history = _History(rng, settings)
    return (history.record() for _ in range(count))


def mutate(
    tracker: LocalTracker,
    *,
    fraction: float,
    at: datetime,
    seed: int,
    statuses: Mapping[str, str] | None = None,
) -> list[str]:
    """Give ``fraction`` of all the tracker's cases one new event at ``at``: a reply or a status change.
    Returns the touched ids. This is the "1% of cases changed since the last cycle" load.

    Cases are drawn from the open ones (status category new, open, pending or hold) last updated before
    ``at``, since closed cases rarely move; when fewer are eligible, all of them are touched. ``statuses``
    (name -> category) defaults to the vocabulary recorded by :func:`generate` on this tracker.
    """
    if not 0 <= fraction <= 1:
        raise ValueError("fraction must be between 0 and 1")
    categories = _recorded_vocabulary(tracker) if statuses is None else statuses
    vocabulary = Vocabulary.from_categories(categories)
    open_names = [name for name, category in categories.items() if str(category) in _OPEN_CATEGORIES]
    candidates = tracker.case_ids(open_names, updated_before=at)
    rng = random.Random(seed)
    chosen = rng.sample(candidates, min(len(candidates), round(fraction * tracker.count())))
    current = {tc.case.id: tc.case.status for tc in tracker.read_cases(chosen)}
    with tracker.transaction():
        for case_id in chosen:
            _touch_one(tracker, rng, vocabulary, case_id, current.get(case_id), at)
    return chosen


def _recorded_vocabulary(tracker: LocalTracker) -> dict[str, str]:
    recorded = tracker.get_meta(STATUS_VOCABULARY_META)
    if recorded is None:
        raise ValueError("pass statuses: this tracker holds no vocabulary recorded by generate()")
    vocabulary: dict[str, str] = json.loads(recorded)
    return vocabulary


def _touch_one(
    tracker: LocalTracker,
    rng: random.Random,
    vocabulary: Vocabulary,
    case_id: str,
    status: str | None,
    at: datetime,
) -> None:
    """One event on an open case: a reply (60%) or the status change a person would make next."""
    if rng.random() < 0.6:
        waiting = status in (vocabulary.pending, vocabulary.hold)
        author = Author.CUSTOMER if waiting or rng.random() < 0.4 else Author.AGENT
        text = _CUSTOMER_TEXT if author is Author.CUSTOMER else _AGENT_TEXT
        tracker.add_comment(case_id, at, author, rng.choice(text))
        return
    if status in vocabulary.open and vocabulary.pending:
        tracker.set_status(case_id, at, vocabulary.pending)
    else:
        tracker.set_status(case_id, at, vocabulary.open[0])


def _epoch(at: datetime) -> int:
    if at.tzinfo is None:
        raise ValueError(f"naive datetime {at!r}: pass timezone-aware instants")
    return math.floor(at.timestamp())


def _cumulative(weights: Sequence[float]) -> Iterator[float]:
    total = 0.0
    for weight in weights:
        if weight < 0:
            raise ValueError("level weights must not be negative")
        total += weight
        yield total


def _is_business_hours(t: int) -> bool:
    """Monday to Friday, 08:00-18:00 UTC (1970-01-01 was a Thursday, weekday 3)."""
    day, second = divmod(t, _DAY)
    return (day + 3) % 7 < 5 and 8 * _HOUR <= second < 18 * _HOUR


@dataclass(slots=True)
class _History:
    """Simulates one case at a time, forward from its opening; ``record()`` starts a fresh case."""

    rng: random.Random
    s: _Settings
    t: int = 0
    rank: int = 0
    status: str = ""
    hold_until: int | None = None
    etr: int | None = None
    next_milestone: int = 0
    levels: list[tuple[int, str]] = field(default_factory=list)
    statuses: list[tuple[int, str]] = field(default_factory=list)
    comments: list[tuple[int, str, bool, str]] = field(default_factory=list)
    milestones: list[tuple[int, str]] = field(default_factory=list)

    # ------------------------------------------------------------------------------- one whole case

    def record(self) -> CaseRecord:
        rng, s = self.rng, self.s
        opened = self._opening()
        self.rank = rng.choices(range(len(s.levels)), cum_weights=s.cum_weights)[0]
        level = s.levels[self.rank]
        self.t, self.status = opened, s.vocabulary.new
        self.hold_until = self.etr = None
        self.next_milestone = 0
        self.levels, self.statuses = [(opened, level)], [(opened, self.status)]
        self.comments, self.milestones = [(opened, "customer", True, "Case opened.")], []
        self._simulate()
        return CaseRecord(
            subject=rng.choice(_SUBJECTS),
            opened_at=_dt(opened),
            level_history=[(_dt(t), name) for t, name in self.levels],
            status_history=[(_dt(t), name) for t, name in self.statuses],
            comments=[(_dt(t), author, public, body) for t, author, public, body in self.comments],
            milestones=[(_dt(t), name) for t, name in self.milestones],
            case_type=rng.choice(s.case_types) if s.case_types else None,
            channel=rng.choice(s.channels) if s.channels else None,
            region=rng.choice(s.regions) if s.regions else None,
            requester=f"customer{rng.randrange(s.requesters)}@example.com",
            requester_authorized=rng.random() < 0.92,
            provided=[item for item in s.intake_items if rng.random() < 0.85],
            hold_until=_dt(self.hold_until) if self.hold_until is not None else None,
            etr=_dt(self.etr) if self.etr is not None else None,
            updated_at=_dt(self.t),  # the last event: the simulation only moves forward
        )

    def _opening(self) -> int:
        """Business hours are about five times as likely per hour as nights and weekends."""
        rng, s = self.rng, self.s
        latest = max(s.start + 1, s.end - _MINUTE)
        while True:
            t = rng.randrange(s.start, latest)
            if _is_business_hours(t) or rng.random() < 0.2:
                return t

    def _simulate(self) -> None:
        """The state machine: untouched or unanswered cases stop early; others are worked until closed,
        until a final solved state, or until ``end``."""
        rng, v = self.rng, self.s.vocabulary
        roll = rng.random()
        if roll < 0.05:
            return  # never touched after opening
        if roll < 0.10:
            self._customer_chases()  # never answered: the customer asks again, maybe more than once
            return
        if not self._advance(self._first_reply_delay()):
            return
        self._comment("agent", True)
        if not (self._advance(rng.randint(1, 5 * _MINUTE)) and self._set_status(v.open[0])):
            return
        for _ in range(40):
            if not self._step():
                return

    def _step(self) -> bool:
        """One event chosen by the current status; False when the history ends."""
        v = self.s.vocabulary
        if self.status in v.open:
            return self._work()
        if self.status == v.pending:
            return self._awaiting_customer()
        if self.status == v.hold:
            return self._advance(
                max(1, (self.hold_until or self.t) - self.t) + self.rng.randint(0, _HOUR)
            ) and self._set_status(v.open[0])
        if self.status == v.solved:
            return self._after_solved()
        return self._after_closed()

    # ------------------------------------------------------------------------------------- states

    def _work(self) -> bool:
        rng, v = self.rng, self.s.vocabulary
        roll = rng.random()
        if not self._advance(self._gap()):
            return False
        if roll < 0.30:
            return self._comment("agent", True)
        if roll < 0.40:
            return self._comment("customer", True)
        if roll < 0.45:
            return self._comment("agent", False)
        if roll < 0.60 and v.pending:
            return (
                self._comment("agent", True)
                and self._advance(rng.randint(1, 120))
                and self._set_status(v.pending)
            )
        if roll < 0.65 and v.hold:
            return self._hold(v.hold)
        if roll < 0.71:
            return self._change_level()
        if roll < 0.78 and self.next_milestone < len(self.s.milestones):
            self.milestones.append((self.t, self.s.milestones[self.next_milestone]))
            self.next_milestone += 1
            return True
        if roll < 0.80 and len(v.open) > 1:
            return self._set_status(rng.choice([name for name in v.open if name != self.status]))
        if roll < 0.82 and self.etr is None:
            self.etr = self.t + rng.randint(1, 14) * _DAY
            return self._comment("agent", True)
        if v.solved:
            return (
                self._comment("agent", True)
                and self._advance(rng.randint(1, 120))
                and self._set_status(v.solved)
            )
        return self._comment("agent", True)

    def _awaiting_customer(self) -> bool:
        rng, v = self.rng, self.s.vocabulary
        if rng.random() < 0.75:
            return (
                self._advance(self._lognormal(6 * _HOUR))
                and self._comment("customer", True)
                and self._advance(rng.randint(1, 30 * _MINUTE))
                and self._set_status(v.open[0])
            )
        final = v.solved or v.closed  # no answer: solved "as agreed", later closed
        return final is not None and self._advance(rng.randint(3, 10) * _DAY) and self._set_status(final)

    def _hold(self, hold: str) -> bool:
        until = self.t + self.rng.randint(4 * _HOUR, 7 * _DAY)
        if not self._set_status(hold):
            return False
        self.hold_until = until
        return True

    def _after_solved(self) -> bool:
        rng, v = self.rng, self.s.vocabulary
        roll = rng.random()
        if roll < 0.10:
            return (
                self._advance(self._lognormal(_DAY))
                and self._comment("customer", True)
                and self._advance(rng.randint(1, 30 * _MINUTE))
                and self._set_status(v.open[0])
            )
        if roll < 0.80 and v.closed:
            return self._advance(rng.randint(1, 5) * _DAY) and self._set_status(v.closed)
        return False  # stays solved

    def _after_closed(self) -> bool:
        rng, v = self.rng, self.s.vocabulary
        roll = rng.random()
        if roll < 0.05:  # reopened by a customer reply
            return (
                self._advance(self._lognormal(3 * _DAY))
                and self._comment("customer", True)
                and self._advance(rng.randint(1, 30 * _MINUTE))
                and self._set_status(v.open[0])
            )
        if roll < 0.08 and self._advance(self._lognormal(20 * _DAY)):
            self._comment("customer", True)  # a reply on a closed case that nobody reopens
        return False

    def _customer_chases(self) -> None:
        for _ in range(self.rng.randint(0, 3)):
            if not (self._advance(self._lognormal(_DAY)) and self._comment("customer", True)):
                return

    # ---------------------------------------------------------------------------------- primitives

    def _advance(self, seconds: float) -> bool:
        """Move time forward (at least one second); False, leaving the clock alone, when past ``end``."""
        t = self.t + max(1, int(seconds))
        if t > self.s.end:
            return False
        self.t = t
        return True

    def _comment(self, author: str, public: bool) -> bool:
        text = _AGENT_TEXT if author == "agent" else _CUSTOMER_TEXT
        self.comments.append((self.t, author, public, text[self.t % len(text)]))
        return True

    def _set_status(self, status: str) -> bool:
        """Record a status change (a no-op if unchanged); leaving a hold clears its ``hold_until``."""
        if status != self.status:
            self.statuses.append((self.t, status))
            self.status = status
            self.hold_until = None
        return True

    def _change_level(self) -> bool:
        """Raise one step (40%) or step down one (60%), within the policy's levels."""
        raise_it = self.rng.random() < 0.4
        rank = self.rank - 1 if raise_it else self.rank + 1
        if not 0 <= rank < len(self.s.levels):
            return self._comment("agent", True)
        self.rank = rank
        self.levels.append((self.t, self.s.levels[rank]))
        return True

    def _severity(self) -> float:
        """0 for the most severe level, 1 for the least: scales every delay of the case."""
        return self.rank / max(1, len(self.s.levels) - 1)

    def _first_reply_delay(self) -> float:
        """Median 15 minutes for the most severe level up to 8 hours for the least, log-normal spread."""
        return self._lognormal(15 * _MINUTE * 32 ** self._severity())

    def _gap(self) -> float:
        """Time between work events: median 1 hour (most severe) to 2 days (least)."""
        return self._lognormal(_HOUR * 48 ** self._severity())

    def _lognormal(self, median: float) -> float:
        return self.rng.lognormvariate(math.log(median), 0.9)


def _dt(t: int) -> datetime:
    return datetime.fromtimestamp(t, UTC)


def policy_profile(policy: Policy) -> dict[str, Any]:
    """The :func:`generate` arguments a policy implies: its levels (most severe first, leaving out
    staff-only ones and those of other case types than the first), its status vocabulary, the milestones
    its targets wait for, its intake checklist and its regions."""
    spec = policy.spec
    first_type = spec.case_types[0].id if spec.case_types else None
    levels = [
        lv.id
        for lv in policy.levels_by_rank
        if not lv.spec.staff_only and lv.spec.case_type in (None, first_type)
    ]
    metrics = {t.metric.value for lv in policy.levels.values() for t in lv.targets}
    return {
        "levels": levels,
        "statuses": {s.name: s.category.value for s in policy.statuses.values()},
        "milestones": [m for m in ("restoration", "temporary_fix", "permanent_fix") if m in metrics],
        "intake_items": list(spec.intake.required_information),
        "regions": list(spec.regions),
    }
