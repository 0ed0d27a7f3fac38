"""Cloud bulk edit: one request for the same label change on many issues of a batch.

Why: a cycle that adds (or removes) the same flag label on hundreds of issues would otherwise cost one
``PUT /issue/{id}`` each. Jira Cloud's ``POST /rest/api/3/bulk/issues/fields`` sets the same value on up
to 1000 issues and answers with a task to poll (``GET /rest/api/3/bulk/queue/{taskId}``). It needs the
global *Make bulk changes* permission (``BULK_CHANGE``), asked once per connector.

Only unkeyed ``add_tag`` / ``remove_tag`` go this way: a keyed change must travel with the marker
property in its issue's own edit, and bulk edit cannot set properties. Repeating an unkeyed label change
is harmless, so an outcome the task does not prove is ``unknown`` and the engine simply plans it again.
An issue that needs an edit of its own anyway (a level, a field, a keyed change) keeps its labels in that
edit: bulk would save it no request and could only add an unknown outcome.

Outcomes:

* the task COMPLETE: the issues it lists as processed are ``applied``; any other (counted as invalid or
  inaccessible, which Jira reports without ids, or failed) is ``unknown``;
* the task still running when the poll's time is up (``bulk_wait``, bounded by the cycle's budget), or
  FAILED / CANCELLED / DEAD, or its answer lost: ``unknown`` for every change in it;
* the submit refused (4xx, e.g. the permission withdrawn since it was checked): nothing was done, and the
  changes go back to their issues' own edits.

Data Center has no such endpoint: never bulk there.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from casewarden.connectors.base import Change, ChangeKind, ChangeResult, Outcome
from casewarden.connectors.jira.client import LostAnswer, Refused
from casewarden.errors import ConnectorError, FatalConnectorError

if TYPE_CHECKING:
    from casewarden.connectors.jira.connector import JiraConnector

__all__ = ["BULK_MAX", "BulkGroup", "bulk_allowed", "plan_groups", "run_groups"]

#: issues per bulk edit request (Jira's limit)
BULK_MAX = 1000
BULK_PERMISSION = "BULK_CHANGE"
LABEL_KINDS = frozenset({ChangeKind.ADD_TAG, ChangeKind.REMOVE_TAG})
#: seconds between polls of a task: the first, and the most
POLL_FIRST, POLL_MAX = 1.0, 5.0
#: task statuses that mean "not finished yet"
_UNFINISHED = frozenset({"ENQUEUED", "RUNNING"})


@dataclass
class BulkGroup:
    """One label change (``ADD`` or ``REMOVE``) for many issues, and the changes it stands for."""

    label: str
    option: str  # "ADD" | "REMOVE"
    changes: list[Change] = field(default_factory=list)


def bulk_allowed(conn: JiraConnector) -> bool:
    """Cloud, ``bulk_min`` not 0, and the account holds BULK_CHANGE (asked once per connector)."""
    if not conn.api.cloud or conn.settings.bulk_min <= 0:
        return False
    cached: bool | None = conn.__dict__.get("_bulk_allowed")
    if cached is not None:
        return cached
    try:
        answer = conn.api.call(
            "GET",
            "mypermissions",
            params={"permissions": BULK_PERMISSION},
            what="reading the bulk permission",
        )
    except FatalConnectorError:
        raise
    except ConnectorError:
        answer = None  # cannot tell: edit each issue, which needs no more than Edit Issues
    held = bool((((answer or {}).get("permissions") or {}).get(BULK_PERMISSION) or {}).get("havePermission"))
    conn.__dict__["_bulk_allowed"] = held
    return held


def _label(c: Change) -> str | None:
    tag = (c.value or "").strip()
    return tag if tag and " " not in tag else None


def plan_groups(conn: JiraConnector, candidates: Sequence[Change]) -> list[BulkGroup]:
    """The label changes identical on at least ``bulk_min`` issues, one group per (label, add|remove).

    ``candidates`` are label changes the caller has checked (the issue exists, the tracker can make
    them), keyed ones included: an issue with more than one change of the same label in the batch
    (say a keyed add beside an unkeyed remove) keeps them all in its own edit, in their order."""
    per_issue_label: dict[tuple[str, str], int] = {}
    for c in candidates:
        if c.kind in LABEL_KINDS and (tag := _label(c)):
            per_issue_label[(c.case_id, tag)] = per_issue_label.get((c.case_id, tag), 0) + 1
    groups: dict[tuple[str, str], BulkGroup] = {}
    for c in candidates:
        tag = _label(c) if c.kind in LABEL_KINDS and not c.key else None
        if tag is None or per_issue_label[(c.case_id, tag)] != 1:
            continue
        option = "ADD" if c.kind is ChangeKind.ADD_TAG else "REMOVE"
        groups.setdefault((tag, option), BulkGroup(tag, option)).changes.append(c)
    return [g for g in groups.values() if len(g.changes) >= conn.settings.bulk_min]


def _body(group: BulkGroup, ids: Sequence[str]) -> dict[str, Any]:
    return {
        "selectedIssueIdsOrKeys": list(ids),
        "selectedActions": ["labels"],
        "editedFieldsInput": {
            "labelsFields": [
                {
                    "fieldId": "labels",
                    "bulkEditMultiSelectFieldOption": group.option,
                    "labels": [{"name": group.label}],
                }
            ]
        },
        "sendBulkNotification": False,
    }


@dataclass
class _Task:
    changes: list[Change]
    task_id: str
    what: str
    progress: dict[str, Any] | None = None


def run_groups(
    conn: JiraConnector, groups: Sequence[BulkGroup]
) -> tuple[dict[int, ChangeResult], list[Change]]:
    """Submit every group (in chunks of :data:`BULK_MAX`), then poll the tasks together.

    Returns the results by ``id(change)`` and the changes whose submit was refused (the caller sends
    them in their issues' own edits)."""
    results: dict[int, ChangeResult] = {}
    back: list[Change] = []
    tasks: list[_Task] = []
    for group in groups:
        for start in range(0, len(group.changes), BULK_MAX):
            chunk = group.changes[start : start + BULK_MAX]
            what = f"bulk {group.option.lower()} of label '{group.label}' on {len(chunk)} issues"
            try:
                answer = conn.api.call(
                    "POST",
                    "bulk/issues/fields",
                    body=_body(group, [c.case_id for c in chunk]),
                    version="3",
                    write=True,
                    what=what,
                )
            except LostAnswer as exc:
                results.update(_all(chunk, Outcome.UNKNOWN, str(exc)))
                continue
            except FatalConnectorError:
                raise
            except Refused as exc:
                if exc.status == 403:
                    conn.__dict__["_bulk_allowed"] = False
                back += chunk
                continue
            except ConnectorError:  # a 429 that outlived its retries: nothing was done
                back += chunk
                continue
            task_id = str((answer or {}).get("taskId") or "")
            if not task_id:
                results.update(_all(chunk, Outcome.UNKNOWN, f"{what}: no taskId in the answer"))
                continue
            tasks.append(_Task(chunk, task_id, what))
    _poll(conn, tasks)
    for task in tasks:
        results.update(_outcomes(task))
    return results, back


def _all(
    changes: Sequence[Change], outcome: Outcome, why: str | None, token: str | None = None
) -> dict[int, ChangeResult]:
    return {id(c): ChangeResult(c, outcome, why, token=token) for c in changes}


def _poll(conn: JiraConnector, tasks: Sequence[_Task]) -> None:
    """Ask after each unfinished task until all are finished or the time is up: ``bulk_wait`` seconds
    (counted both as time slept and on the monotonic clock) and never past the cycle's budget."""
    api = conn.api
    started = api.monotonic()
    slept = 0.0
    pause = POLL_FIRST
    while True:
        for task in tasks:
            if _finished(task):
                continue
            try:
                task.progress = (
                    api.call("GET", f"bulk/queue/{task.task_id}", version="3", what=f"polling {task.what}")
                    or {}
                )
            except ConnectorError as exc:
                # even a 403 (the permission withdrawn since the submit) only leaves this task unknown;
                # a credential that stopped working fails the next request anyway
                task.progress = {"status": "LOST", "why": str(exc)}
        if all(_finished(t) for t in tasks):
            return
        left = min(
            conn.settings.bulk_wait - slept,
            conn.settings.bulk_wait - (api.monotonic() - started),
            conn.context.budget.remaining(),
        )
        if left <= 0:
            return
        step = min(pause, left)
        api.sleep(step)
        slept += step
        pause = min(pause * 2, POLL_MAX)


def _finished(task: _Task) -> bool:
    return task.progress is not None and task.progress.get("status") not in _UNFINISHED


def _outcomes(task: _Task) -> dict[int, ChangeResult]:
    progress = task.progress or {}
    status = str(progress.get("status", ""))
    if status == "LOST":
        return _all(task.changes, Outcome.UNKNOWN, f"{task.what}: {progress.get('why')}", task.task_id)
    if status in _UNFINISHED:
        why = f"{task.what}: task {task.task_id} still {status.lower()} when the wait ended"
        return _all(task.changes, Outcome.UNKNOWN, why, task.task_id)
    if status != "COMPLETE":  # FAILED, CANCELLED, DEAD: some may have been edited
        why = f"{task.what}: task {task.task_id} ended {status or 'without a status'}"
        return _all(task.changes, Outcome.UNKNOWN, why, task.task_id)
    processed = {str(i) for i in progress.get("processedAccessibleIssues") or []}
    failed = progress.get("failedAccessibleIssues") or {}
    invalid = int(progress.get("invalidOrInaccessibleIssueCount") or 0)
    out: dict[int, ChangeResult] = {}
    for c in task.changes:
        if c.case_id in processed and c.case_id not in failed:
            out[id(c)] = ChangeResult(c, Outcome.APPLIED)
            continue
        reasons = "; ".join(str(r) for r in failed.get(c.case_id) or [])
        why = reasons or (
            f"{invalid} issue(s) invalid or inaccessible" if invalid else "not among the processed issues"
        )
        out[id(c)] = ChangeResult(c, Outcome.UNKNOWN, f"{task.what}: {why}", token=task.task_id)
    return out
