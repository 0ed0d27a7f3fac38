"""Policy names <-> tracker values for levels and statuses: the one piece every connector shares.

A deployment maps each policy level to a tracker priority (or select option) and each policy status to a
tracker status. Reading, the connector turns the tracker's values back into policy names through
:class:`NameMap`; a value the map does not know becomes a *problem* on that case (the engine reports and
skips it) instead of a crash or, worse, a silent guess. Writing, it turns policy names into tracker
values. Tracker values are matched without regard to case, because trackers are inconsistent about it
(Zendesk's API says ``urgent`` where its UI says ``Urgent``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

__all__ = ["NameMap"]


class _Direction:
    """One vocabulary (levels or statuses) in both directions."""

    def __init__(self, what: str, mapping: Mapping[str, str], policy_names: Sequence[str], identity: bool):
        self.what = what
        self.policy_names = tuple(policy_names)
        out = dict(mapping)
        if identity:
            for name in self.policy_names:
                out.setdefault(name, name)
        self.out = out
        self.back: dict[str, str] = {}
        for policy_name, tracker_value in out.items():
            self.back.setdefault(tracker_value.casefold(), policy_name)
        self.open = identity and not self.policy_names  # no policy names given: accept any value as is

    def to_tracker(self, name: str) -> str | None:
        return self.out.get(name)

    def from_tracker(self, value: str, problems: list[str]) -> str:
        found = self.back.get(value.casefold())
        if found is not None:
            return found
        if self.open:
            return value
        mapped = ", ".join(f"{v} ({k})" for k, v in self.out.items()) or "nothing is mapped"
        problems.append(
            f"tracker {self.what} '{value}' is not mapped to a policy {self.what} (mapped: {mapped})"
        )
        return value

    def unmapped(self) -> list[str]:
        return [n for n in self.policy_names if n not in self.out]


class NameMap:
    """Levels and statuses between the policy's names and the tracker's values.

    ``identity`` (the embedded tracker) maps every policy name that the deployment does not map to
    itself. With ``policy_levels``/``policy_statuses`` given, a tracker value outside the map is a
    problem; with none given and ``identity``, any value passes as it is (a tracker opened without a
    policy, as the generator and benchmarks do)."""

    def __init__(
        self,
        levels: Mapping[str, str] | None = None,
        statuses: Mapping[str, str] | None = None,
        *,
        policy_levels: Sequence[str] = (),
        policy_statuses: Sequence[str] = (),
        identity: bool = False,
    ) -> None:
        self.levels = _Direction("level", levels or {}, policy_levels, identity)
        self.statuses = _Direction("status", statuses or {}, policy_statuses, identity)

    @classmethod
    def identity(cls) -> NameMap:
        """Names pass as they are (the embedded tracker without a policy)."""
        return cls(identity=True)

    def level_to_tracker(self, level: str) -> str | None:
        return self.levels.to_tracker(level)

    def status_to_tracker(self, status: str) -> str | None:
        return self.statuses.to_tracker(status)

    def level_from_tracker(self, value: str, problems: list[str]) -> str:
        """The policy level for a tracker value; an unmapped one is recorded in ``problems``."""
        return self.levels.from_tracker(value, problems)

    def status_from_tracker(self, value: str, problems: list[str]) -> str:
        return self.statuses.from_tracker(value, problems)

    def unmapped_levels(self) -> list[str]:
        """Policy levels with no tracker value: the deployment must map them (doctor, load)."""
        return self.levels.unmapped()

    def unmapped_statuses(self) -> list[str]:
        return self.statuses.unmapped()

    def tracker_levels(self) -> list[str]:
        return list(dict.fromkeys(self.levels.out.values()))

    def tracker_statuses(self) -> Iterable[tuple[str, str]]:
        """(policy status, tracker status) pairs."""
        return list(self.statuses.out.items())
