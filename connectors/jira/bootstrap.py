"""Bootstrap: the custom fields (and select options) a deployment needs, created once, never twice.

Fields are adopted by name when they exist (``GET /field``) and created with ``POST /rest/api/2/field``
otherwise (no wrapper in jira); select options go to the field's first context on Cloud
(``/field/{id}/context/{contextId}/option``). What the REST API cannot do is a ``manual`` step that says
what an admin must do: workflow statuses (a workflow is edited in Jira's administration), select options
on Data Center, a priority that does not exist, a field that exists with a type that cannot hold what
casewarden writes.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from casewarden.connectors.base import BootstrapNeeds, BootstrapStep, FieldType, NeededField
from casewarden.connectors.jira.site import FieldInfo

if TYPE_CHECKING:
    from casewarden.connectors.jira.connector import JiraConnector

__all__ = ["CUSTOM_TYPES", "apply_steps", "plan"]

_PLUGIN = "com.atlassian.jira.plugin.system.customfieldtypes:"
#: field type -> (Jira kind, custom type key, searcher key)
CUSTOM_TYPES: dict[FieldType, tuple[str, str, str]] = {
    FieldType.DATETIME: ("datetime", _PLUGIN + "datetime", _PLUGIN + "datetimerange"),
    FieldType.TEXT: ("text", _PLUGIN + "textfield", _PLUGIN + "textsearcher"),
    FieldType.SELECT: ("select", _PLUGIN + "select", _PLUGIN + "multiselectsearcher"),
    FieldType.NUMBER: ("number", _PLUGIN + "float", _PLUGIN + "exactnumber"),
    FieldType.LABEL: ("labels", _PLUGIN + "labels", _PLUGIN + "labelsearcher"),
}
DC_SELECT_AS_TEXT = (
    "text custom field (Data Center cannot create a select field's options over REST: casewarden uses text)"
)
_OPTION_OF = re.compile(r"option of '(.+)'$")


def _needed_fields(conn: JiraConnector, needs: BootstrapNeeds) -> list[NeededField]:
    fields = list(needs.fields)
    names = {f.name for f in fields}
    if conn.settings.group_field and conn.settings.group_field not in names:
        fields.append(NeededField(conn.settings.group_field, FieldType.TEXT, purpose="the assigned group"))
    if conn.settings.level_field and conn.settings.level_field not in names:
        fields.append(
            NeededField(conn.settings.level_field, FieldType.SELECT, tuple(needs.levels), "the level")
        )
    return fields


def _options(conn: JiraConnector, info: FieldInfo) -> tuple[str | None, set[str]] | None:
    """(first context id, option values) on Cloud; None where options cannot be listed (Data Center)."""
    if not conn.api.cloud:
        return None
    contexts = conn.api.call("GET", f"field/{info.id}/context", what=f"reading contexts of {info.name}") or {}
    values = contexts.get("values") or []
    if not values:
        return None, set()
    context = str(values[0]["id"])
    found: set[str] = set()
    start = 0
    while True:
        page = (
            conn.api.call(
                "GET",
                f"field/{info.id}/context/{context}/option",
                params={"startAt": start, "maxResults": 100},
                what=f"reading options of {info.name}",
            )
            or {}
        )
        options = page.get("values") or []
        found |= {str(o["value"]) for o in options if not o.get("disabled")}
        start += len(options)
        if page.get("isLast", True) or not options:
            return context, found


def plan(conn: JiraConnector, needs: BootstrapNeeds) -> list[BootstrapStep]:
    site = conn.site
    site.forget_fields()
    steps: list[BootstrapStep] = []
    for need in _needed_fields(conn, needs):
        kind, _type_key, _searcher = CUSTOM_TYPES[need.type]
        info = site.field_named(need.name)
        detail = f"{need.type.value} custom field" + (f" ({need.purpose})" if need.purpose else "")
        dc_select = need.type is FieldType.SELECT and not conn.api.cloud
        if info is None:
            if dc_select:  # options cannot be added over Data Center's REST API: a text field holds the value
                steps.append(BootstrapStep("field", need.name, DC_SELECT_AS_TEXT))
                continue
            steps.append(BootstrapStep("field", need.name, detail))
            if need.type is FieldType.SELECT:
                steps += _option_steps(conn, need, None)
            continue
        if dc_select and info.custom and info.kind == "text":
            steps.append(BootstrapStep("field", need.name, "text custom field", exists=True))
            continue
        if not info.custom or info.kind != kind:
            steps.append(
                BootstrapStep(
                    "field", need.name, detail, exists=False,
                    manual=f"the field '{need.name}' exists as a {info.kind or info.schema_type} field; casewarden "
                    f"needs a {kind} field: rename that field or map another one in the deployment's fields",
                )
            )  # fmt: skip
            continue
        steps.append(BootstrapStep("field", need.name, detail, exists=True))
        if need.type is FieldType.SELECT:
            steps += _option_steps(conn, need, info)
    steps += _status_steps(conn, needs)
    steps += _level_steps(conn, needs)
    return steps


def _option_steps(conn: JiraConnector, need: NeededField, info: FieldInfo | None) -> list[BootstrapStep]:
    existing: set[str] = set()
    if info is not None:
        found = _options(conn, info)
        if found is None:
            return [
                BootstrapStep(
                    "option", option, f"option of '{need.name}'",
                    manual=f"add the option '{option}' to the field '{need.name}' (Administration > Issues > "
                    "Custom fields > Contexts and default value): Data Center has no REST API for options",
                )
                for option in need.options
            ]  # fmt: skip
        existing = found[1]
    if not conn.api.cloud:
        return [
            BootstrapStep(
                "option", option, f"option of '{need.name}'",
                manual=f"add the option '{option}' to the field '{need.name}' once it exists",
            )
            for option in need.options
        ]  # fmt: skip
    return [
        BootstrapStep("option", option, f"option of '{need.name}'", exists=option in existing)
        for option in need.options
    ]


def _status_steps(conn: JiraConnector, needs: BootstrapNeeds) -> list[BootstrapStep]:
    in_workflow: set[str] = set()
    for key in conn.settings.projects:
        rows = conn.api.call("GET", f"project/{key}/statuses", what=f"reading the statuses of {key}") or []
        for row in rows:
            in_workflow |= {str(s.get("name", "")).casefold() for s in row.get("statuses") or []}
    steps = []
    for st in needs.statuses:
        exists = st.name.casefold() in in_workflow
        steps.append(
            BootstrapStep(
                "status", st.name, _status_detail(st.category, st.policy_name),
                exists=exists,
                manual="" if exists else (
                    f"add the status '{st.name}' (category {_jira_category(st.category)}) to the workflow of "
                    f"{', '.join(conn.settings.projects)} with transitions into and out of it: Jira's REST "
                    "API cannot change a workflow"
                ),
            )
        )  # fmt: skip
    return steps


def _status_detail(category: str, policy_name: str) -> str:
    return f"category {category}" + (f" (policy status {policy_name})" if policy_name else "")


def _jira_category(category: str) -> str:
    return {"new": "To Do", "solved": "Done", "closed": "Done"}.get(category, "In Progress")


def _level_steps(conn: JiraConnector, needs: BootstrapNeeds) -> list[BootstrapStep]:
    if conn.settings.level_field:
        return []  # the level field's options are planned with the field
    rows = conn.api.call("GET", "priority", what="listing priorities") or []
    names = {str(r.get("name", "")).casefold() for r in rows}
    return [
        BootstrapStep(
            "priority", level, "Jira priority",
            exists=level.casefold() in names,
            manual="" if level.casefold() in names else f"create the priority '{level}' (Administration > Issues)",
        )
        for level in needs.levels
    ]  # fmt: skip


def apply_steps(conn: JiraConnector, steps: Sequence[BootstrapStep]) -> None:
    site = conn.site
    site.forget_fields()
    conn.__dict__.pop("_translator", None)
    for step in steps:
        if step.exists or step.manual or step.kind != "field":
            continue
        if site.field_named(step.name) is not None:
            continue  # adopted: someone (or an earlier run) created it meanwhile
        field_type = FieldType(step.detail.split(" ", 1)[0])
        _kind, type_key, searcher = CUSTOM_TYPES[field_type]
        body: dict[str, Any] = {"name": step.name, "type": type_key, "searcherKey": searcher,
                                "description": "Managed by casewarden"}  # fmt: skip
        conn.api.call("POST", "field", body=body, write=True, what=f"creating the field {step.name}")
        site.forget_fields()
    wanted: dict[str, list[str]] = {}
    for step in steps:
        if step.kind == "option" and not step.exists and not step.manual:
            match = _OPTION_OF.search(step.detail)
            if match:
                wanted.setdefault(match.group(1), []).append(step.name)
    for field_name, options in wanted.items():
        info = site.field_named(field_name)
        if info is None or not conn.api.cloud:
            continue
        found = _options(conn, info)
        if found is None or found[0] is None:
            continue
        context, existing = found
        missing = [o for o in options if o not in existing]
        if missing:
            conn.api.call(
                "POST", f"field/{info.id}/context/{context}/option",
                body={"options": [{"value": o} for o in missing]}, write=True,
                what=f"adding options to {field_name}",
            )  # fmt: skip
    site.forget_fields()
