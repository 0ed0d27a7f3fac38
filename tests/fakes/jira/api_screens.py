"""The edit screen of an issue: ``GET /issue/{issueIdOrKey}/editmeta`` (``IssueUpdateMetadata``).

Jira shows a field there only when it is on the issue's edit screen and the caller may edit the issue;
``casewarden doctor`` reads it to tell an admin which managed field is missing from the screen or has
the wrong type. Tests take a field off the screen with ``fake.edit_screen_hidden.add(field_id)``; without
*Edit Issues* the answer lists no fields, as Jira's does.
"""

from __future__ import annotations

from typing import Any

from tests.fakes.jira.render import SYSTEM_FIELDS
from tests.fakes.jira.router import ROUTES, Ctx, Reply
from tests.fakes.jira.site import CUSTOM_TYPES, CustomField
from tests.fakes.jira.state import SYSTEM_EDITABLE

_OPERATIONS: dict[str, list[str]] = {
    "labels": ["add", "set", "remove"],
    "organizations": ["add", "set", "remove"],
}


def _custom_meta(ctx: Ctx, custom: CustomField) -> dict[str, Any]:
    type_key, schema_type, items = CUSTOM_TYPES[custom.kind]
    schema: dict[str, Any] = {"type": schema_type, "custom": type_key, "customId": custom.numeric_id}
    if items:
        schema["items"] = items
    meta: dict[str, Any] = {
        "required": False,
        "schema": schema,
        "name": custom.name,
        "key": custom.id,
        "operations": _OPERATIONS.get(custom.kind, ["set"]),
    }
    if custom.kind == "select":
        base = ctx.fake.site.base_url
        meta["allowedValues"] = [
            {"self": f"{base}/rest/api/{ctx.version}/customFieldOption/{o.id}", "value": o.value, "id": o.id}
            for o in custom.options()
            if not o.disabled
        ]
    return meta


def _system_meta(ctx: Ctx, field_id: str) -> dict[str, Any]:
    name, schema = next((row[1], row[2]) for row in SYSTEM_FIELDS if row[0] == field_id)
    meta: dict[str, Any] = {
        "required": field_id == "summary",
        "schema": dict(schema),
        "name": name,
        "key": field_id,
        "operations": ["add", "set", "remove"] if field_id == "labels" else ["set"],
    }
    if field_id == "priority":
        meta["allowedValues"] = [ctx.view.priority(p) for p in ctx.fake.site.priorities]
    return meta


@ROUTES.route("GET", "/rest/api/{v}/issue/{issueIdOrKey}/editmeta")
def edit_meta(ctx: Ctx) -> Reply:
    from tests.fakes.jira.api_issues import issue_from

    issue_from(ctx)
    fake = ctx.fake
    if "EDIT_ISSUES" not in fake.permissions:
        return Reply(200, {"fields": {}})
    hidden = fake.edit_screen_hidden
    fields: dict[str, Any] = {f: _system_meta(ctx, f) for f in SYSTEM_EDITABLE if f not in hidden}
    for custom in fake.site.custom_fields.values():
        if custom.id not in hidden and custom.kind != "request_type":
            fields[custom.id] = _custom_meta(ctx, custom)
    return Reply(200, {"fields": fields})
