"""Cloud bulk edit: submit a task, poll its progress.

``POST /bulk/issues/fields`` answers 201 ``{taskId}`` and changes nothing yet; the task runs for
``FakeJira.bulk_duration`` of fake time and applies its edits (one changelog entry per issue, stamped when the
task completes) on the first request the fake serves after that. ``GET /bulk/queue/{taskId}`` reports
ENQUEUED/RUNNING/COMPLETE with ``processedAccessibleIssues`` and ``invalidOrInaccessibleIssueCount`` (a count,
no ids: the connector cannot tell which issues were skipped without reading them back). Both need the global
bulk-change permission.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from tests.fakes.jira.router import CLOUD, ROUTES, ApiError, Ctx, Reply
from tests.fakes.jira.state import IssueRefError, normalized_labels
from tests.fakes.jira.timefmt import jira_timestamp, parse_jira_timestamp
from tests.fakes.jira.values import is_multi

if TYPE_CHECKING:
    from tests.fakes.jira.fake import FakeJira

HANDLED_INPUTS = (
    "labelsFields",
    "singleSelectFields",
    "dateTimePickerFields",
    "singleLineTextFields",
    "clearableNumberFields",
    "priority",
)


@dataclass
class BulkTask:
    id: str
    submitted_by: str
    created: datetime
    finishes: datetime
    selected: list[str]
    # field id -> (operation, value): operation "set" or a labels option (ADD, REMOVE, REPLACE, REMOVE_ALL)
    edits: dict[str, tuple[str, Any]]
    done: bool = False
    processed: list[int] = field(default_factory=list)
    invalid: int = 0
    failed: dict[str, list[str]] = field(default_factory=dict)


def bulk_error(status: int, message: str) -> ApiError:
    return ApiError(status, {"errors": [{"message": message}]})


def _require_bulk(ctx: Ctx) -> None:
    if "BULK_CHANGE" not in ctx.fake.permissions:
        raise bulk_error(403, "You don't have the global 'Make bulk changes' permission.")


def _parse_edits(ctx: Ctx, body: dict[str, Any]) -> dict[str, tuple[str, Any]]:
    site = ctx.fake.site
    inputs = body.get("editedFieldsInput")
    actions = body.get("selectedActions")
    if not isinstance(inputs, dict) or not isinstance(actions, list) or not actions:
        raise bulk_error(400, "editedFieldsInput and selectedActions are required.")
    edits: dict[str, tuple[str, Any]] = {}
    for kind, entries in inputs.items():
        if kind not in HANDLED_INPUTS:
            raise bulk_error(400, f"The fake does not support the '{kind}' bulk edit input.")
        if kind == "priority":
            try:
                edits["priority"] = ("set", site.priority(str(entries["priorityId"])).id)
            except (KeyError, TypeError):
                raise bulk_error(400, "The priority id is not valid.") from None
            continue
        for entry in entries:
            field_id = entry.get("fieldId")
            if kind == "labelsFields":
                if not is_multi(site, field_id):
                    raise bulk_error(400, f"The field {field_id} is not a labels field.")
                option = entry.get("bulkEditMultiSelectFieldOption")
                labels = [label["name"] for label in entry.get("labels", [])]
                if any(" " in label for label in labels):
                    raise bulk_error(400, "Labels cannot contain spaces.")
                edits[field_id] = (option, labels)
                continue
            custom = site.custom_fields.get(field_id)
            if custom is None:
                raise bulk_error(400, f"The field {field_id} cannot be bulk edited.")
            if kind == "singleSelectFields":
                option_id = str((entry.get("option") or {}).get("optionId"))
                if option_id == "-1":
                    edits[field_id] = ("set", None)
                elif custom.kind != "select" or custom.option_by_id(option_id) is None:
                    raise bulk_error(400, f"Option {option_id} is not valid for {field_id}.")
                else:
                    edits[field_id] = ("set", option_id)
            elif kind == "dateTimePickerFields":
                text = (entry.get("dateTime") or {}).get("formattedDateTime", "")
                edits[field_id] = ("set", _bulk_datetime(text, ctx.user.time_zone) if text else None)
            elif kind == "singleLineTextFields":
                edits[field_id] = ("set", entry.get("text") or None)
            elif kind == "clearableNumberFields":
                value = entry.get("value")
                edits[field_id] = ("set", None if value is None else float(value))
    listed, given = set(actions), set(edits)
    if given - listed:
        unlisted = ", ".join(sorted(given - listed))
        raise bulk_error(
            400, f"The following editedFieldInput values are not listed as selectedActions : {unlisted}"
        )
    if listed - given:
        raise bulk_error(
            400, f"The selectedActions {', '.join(sorted(listed - given))} have no editedFieldsInput."
        )
    return edits


def _bulk_datetime(text: str, zone: str) -> datetime:
    try:
        return parse_jira_timestamp(text)
    except ValueError:
        try:
            return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(zone))
        except ValueError:
            raise bulk_error(400, f"The date time '{text}' is not in ISO format.") from None


@ROUTES.route("POST", "/rest/api/{v}/bulk/issues/fields", CLOUD)
def submit_bulk_edit(ctx: Ctx) -> Reply:
    _require_bulk(ctx)
    body = ctx.json_object()
    selected = body.get("selectedIssueIdsOrKeys")
    if not isinstance(selected, list) or not selected:
        raise bulk_error(400, "selectedIssueIdsOrKeys is required.")
    if len(selected) > 1000:
        raise bulk_error(400, "A maximum of 1000 issues can be edited in one request.")
    edits = _parse_edits(ctx, body)
    fake = ctx.fake
    task = BulkTask(
        id=str(10000 + len(fake.bulk_tasks)),
        submitted_by=ctx.user.handle,
        created=fake.now,
        finishes=fake.now + fake.bulk_duration,
        selected=[str(ref) for ref in selected],
        edits=edits,
    )
    fake.bulk_tasks[task.id] = task
    return Reply(201, {"taskId": task.id})


def run_due_tasks(fake: FakeJira) -> None:
    """Apply the edits of every task whose time has come (called before each request is served)."""
    for task in fake.bulk_tasks.values():
        if task.done or fake.now < task.finishes:
            continue
        task.done = True
        for ref in task.selected:
            try:
                issue = fake.state.find(ref)
            except IssueRefError:
                task.invalid += 1
                continue
            values: dict[str, Any] = {}
            for field_id, (operation, value) in task.edits.items():
                if operation == "set":
                    values[field_id] = value
                    continue
                labels = list(issue.value(field_id) or [])
                if operation == "ADD":
                    labels += value
                elif operation == "REMOVE":
                    labels = [label for label in labels if label not in value]
                elif operation == "REPLACE":
                    labels = list(value)
                elif operation == "REMOVE_ALL":
                    labels = []
                values[field_id] = normalized_labels(labels)
            fake.state.edit(issue, task.finishes, task.submitted_by, values)
            task.processed.append(issue.id)


@ROUTES.route("GET", "/rest/api/{v}/bulk/queue/{taskId}", CLOUD)
def bulk_progress(ctx: Ctx) -> Reply:
    _require_bulk(ctx)
    task = ctx.fake.bulk_tasks.get(ctx.match["taskId"])
    if task is None:
        raise bulk_error(404, f"Task {ctx.match['taskId']} was not found.")
    now = ctx.fake.now
    tz = ctx.view.tz
    submitted = ctx.fake.site.user(task.submitted_by)
    progress: dict[str, Any] = {
        "taskId": task.id,
        "submittedBy": {"accountId": submitted.account_id},
        "created": jira_timestamp(task.created, tz),
        "started": jira_timestamp(task.created, tz),
        "updated": jira_timestamp(min(now, task.finishes), tz),
        "totalIssueCount": len(task.selected),
    }
    if task.done:
        progress.update(
            {
                "status": "COMPLETE",
                "progressPercent": 100,
                "processedAccessibleIssues": task.processed,
                "invalidOrInaccessibleIssueCount": task.invalid,
                "failedAccessibleIssues": task.failed,
            }
        )
    else:
        span = (task.finishes - task.created).total_seconds()
        progress["status"] = "RUNNING"
        progress["progressPercent"] = int(100 * (now - task.created).total_seconds() / span) if span else 0
    return Reply(200, progress)
