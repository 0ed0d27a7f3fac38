"""Loading cases into the embedded tracker from the command line: ``casewarden tracker import FILE``
(CSV or JSON) and ``casewarden tracker generate --cases N``.

A file is checked whole before anything is written: every mistake is a located problem (file, row or
item, field) and nothing is imported unless all rows are right, so a half-imported file never has to be
cleaned up. Levels and statuses are the policy's names, written to the tracker through the deployment's
maps, as a person using the tracker would see them.

CSV: one case a row, with a header; columns ``subject``, ``opened_at``, ``level``, ``status`` (required)
and ``id``, ``channel``, ``region``, ``case_type``, ``requester`` (optional). JSON: a list of objects with
the same keys, and optionally ``replies`` (``[{at, author: agent|customer, public, body}]``), ``statuses``
and ``levels`` (later changes: ``[{at, status}]``, ``[{at, level}]``) and ``milestones`` (``[{at, name}]``).
"""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from casewarden.connectors.local import LocalTracker
from casewarden.connectors.local.generator import generate, policy_profile
from casewarden.connectors.local.tracker import CaseRecord
from casewarden.errors import ConfigError, Problem
from casewarden.policy.compiled import Policy
from casewarden.policy.located import unknown_name
from casewarden.sync.deployment import Deployment, TrackerSpec

REQUIRED = ("subject", "opened_at", "level", "status")
OPTIONAL = (
    "id",
    "channel",
    "region",
    "case_type",
    "requester",
    "replies",
    "statuses",
    "levels",
    "milestones",
)
MAX_ROWS = 1_000_000


def local_tracker(deployment: Deployment, name: str | None) -> tuple[TrackerSpec, Path]:
    """The embedded tracker a command loads cases into, and its file."""
    spec = (
        deployment.tracker(name)
        if name
        else next((t for t in deployment.spec.trackers if t.type == "local"), deployment.spec.trackers[0])
    )
    if spec.type != "local":
        raise ConfigError(
            f"tracker '{spec.name}' is a {spec.type} tracker: cases load into the embedded (local) tracker only"
        )
    return spec, deployment.path(str(spec.settings["path"]))


class _Reader:
    def __init__(self, file: str, policy: Policy, spec: TrackerSpec):
        self.file = file
        self.policy = policy
        self.spec = spec
        self.problems: list[Problem] = []

    def problem(self, where: int | None, field: str, message: str) -> None:
        self.problems.append(Problem(self.file, where, None, field, message))

    def instant(self, value: Any, where: int | None, field: str) -> datetime | None:
        try:
            t = datetime.fromisoformat(str(value))
        except ValueError:
            self.problem(where, field, f"'{value}' is not an ISO-8601 instant, e.g. 2026-11-20T09:30:00Z")
            return None
        if t.tzinfo is None:
            self.problem(where, field, f"'{value}' has no UTC offset; add one, e.g. Z or -07:00")
            return None
        return t.astimezone(UTC)

    def level(self, value: Any, where: int | None, field: str) -> str | None:
        name = self.policy.levels.get(str(value))
        if name is None:
            self.problem(where, field, unknown_name("level", str(value), self.policy.levels))
            return None
        return self.spec.levels.get(name.id, name.id)

    def status(self, value: Any, where: int | None, field: str) -> str | None:
        if str(value) not in self.policy.statuses:
            self.problem(where, field, unknown_name("status", str(value), self.policy.statuses))
            return None
        return self.spec.statuses.get(str(value), str(value))

    def record(self, row: dict[str, Any], where: int | None, prefix: str) -> CaseRecord | None:
        before = len(self.problems)
        for key in row:
            if key not in REQUIRED and key not in OPTIONAL:
                self.problem(
                    where, f"{prefix}{key}", unknown_name("column", str(key), (*REQUIRED, *OPTIONAL))
                )
        for key in REQUIRED:
            if row.get(key) in (None, ""):
                self.problem(where, f"{prefix}{key}", f"'{key}' is required")
        if len(self.problems) > before:
            return None
        opened = self.instant(row["opened_at"], where, f"{prefix}opened_at")
        level = self.level(row["level"], where, f"{prefix}level")
        status = self.status(row["status"], where, f"{prefix}status")
        if opened is None or level is None or status is None:
            return None
        rec = CaseRecord(
            subject=str(row["subject"]),
            opened_at=opened,
            level_history=[(opened, level)],
            status_history=[(opened, status)],
            id=str(row["id"]) if row.get("id") not in (None, "") else None,
            channel=row.get("channel") or None,
            region=row.get("region") or None,
            case_type=row.get("case_type") or None,
            requester=row.get("requester") or None,
        )
        for i, item in enumerate(self._list(row, "replies", where, prefix)):
            at = self.instant(item.get("at"), where, f"{prefix}replies[{i}].at")
            author = item.get("author", "agent")
            if author not in ("agent", "customer"):
                self.problem(where, f"{prefix}replies[{i}].author", f"'{author}' is not agent or customer")
            elif at is not None:
                rec.comments.append((at, author, bool(item.get("public", True)), str(item.get("body", ""))))
        for i, item in enumerate(self._list(row, "statuses", where, prefix)):
            at = self.instant(item.get("at"), where, f"{prefix}statuses[{i}].at")
            st = self.status(item.get("status"), where, f"{prefix}statuses[{i}].status")
            if at is not None and st is not None:
                rec.status_history.append((at, st))
        for i, item in enumerate(self._list(row, "levels", where, prefix)):
            at = self.instant(item.get("at"), where, f"{prefix}levels[{i}].at")
            lv = self.level(item.get("level"), where, f"{prefix}levels[{i}].level")
            if at is not None and lv is not None:
                rec.level_history.append((at, lv))
        for i, item in enumerate(self._list(row, "milestones", where, prefix)):
            at = self.instant(item.get("at"), where, f"{prefix}milestones[{i}].at")
            if at is not None:
                rec.milestones.append((at, str(item.get("name", ""))))
        rec.status_history.sort(key=lambda e: e[0])
        rec.level_history.sort(key=lambda e: e[0])
        return rec if len(self.problems) == before else None

    def _list(self, row: dict[str, Any], key: str, where: int | None, prefix: str) -> list[dict[str, Any]]:
        value = row.get(key)
        if value is None:
            return []
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            self.problem(where, f"{prefix}{key}", f"'{key}' is a list of objects")
            return []
        return value


def read_cases_file(path: Path, policy: Policy, spec: TrackerSpec) -> list[CaseRecord]:
    """The cases in a CSV or JSON file; ConfigError with every problem, located, if any row is wrong."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte {exc.start}); save it as UTF-8") from None
    reader = _Reader(str(path), policy, spec)
    records: list[CaseRecord | None] = []
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{path}:{exc.lineno}:{exc.colno}: not valid JSON: {exc.msg}") from None
        if not isinstance(data, list) or not all(isinstance(d, dict) for d in data):
            raise ConfigError(f"{path}: a JSON import is a list of cases (objects)")
        records = [reader.record(d, None, f"[{i}].") for i, d in enumerate(data[: MAX_ROWS + 1])]
    elif path.suffix.lower() == ".csv":
        rows = csv.DictReader(io.StringIO(text))
        known = (*REQUIRED, *OPTIONAL)
        for column in rows.fieldnames or []:  # a mistyped column is told once, at the header
            if column not in known:
                reader.problem(1, column, unknown_name("column", column, known))
        for row in rows:
            extra = row.pop(None, None)
            if extra:
                reader.problem(rows.line_num, "-", f"{len(extra)} value(s) more than the header has columns")
            values = {k: v for k, v in row.items() if k in known}
            records.append(reader.record(values, rows.line_num, ""))
            if len(records) > MAX_ROWS:
                break
    else:
        raise ConfigError(f"{path}: import a .csv or a .json file")
    if len(records) > MAX_ROWS:
        raise ConfigError(f"{path}: more than {MAX_ROWS:,} cases; split the file")
    if reader.problems:
        raise ConfigError(reader.problems)
    return [r for r in records if r is not None]


def import_cases(
    path: Path, policy: Policy, deployment: Deployment, tracker: str | None
) -> tuple[str, Path, list[str]]:
    spec, file = local_tracker(deployment, tracker)
    records = read_cases_file(path, policy, spec)
    lt = LocalTracker(file)
    try:
        ids = lt.bulk_insert(records)
    finally:
        lt.close()
    return spec.name, file, ids


def generate_cases(
    policy: Policy,
    deployment: Deployment,
    tracker: str | None,
    *,
    cases: int,
    days: int,
    seed: int,
    now: datetime,
) -> tuple[str, Path, list[str]]:
    spec, file = local_tracker(deployment, tracker)
    profile = policy_profile(policy)
    profile["levels"] = [spec.levels.get(lv, lv) for lv in profile["levels"]]
    profile["statuses"] = {spec.statuses.get(st, st): cat for st, cat in profile["statuses"].items()}
    lt = LocalTracker(file)
    try:
        ids = generate(lt, count=cases, start=now - timedelta(days=days), end=now, seed=seed, **profile)
    finally:
        lt.close()
    return spec.name, file, ids
