"""Site and configuration endpoints: server info, the caller, permissions, fields, projects, users, JSM setup."""

from __future__ import annotations

from datetime import UTC
from typing import Any

from tests.fakes.jira.router import CLOUD, ROUTES, ApiError, Ctx, Reply
from tests.fakes.jira.site import KIND_BY_TYPE_KEY, PERMISSIONS, CustomField, FieldContext
from tests.fakes.jira.timefmt import jira_timestamp


def require(ctx: Ctx, permission: str) -> None:
    """403 unless the fake grants the permission (tests revoke with ``fake.permissions.discard``)."""
    if permission not in ctx.fake.permissions:
        name = PERMISSIONS[permission][1]
        raise ApiError.jira(403, f"You do not have the '{name}' permission needed for this operation.")


@ROUTES.route("GET", "/rest/api/{v}/serverInfo")
def server_info(ctx: Ctx) -> Reply:
    site = ctx.fake.site
    if site.mode == "cloud":
        version, numbers, deployment, build = "1001.0.0-SNAPSHOT", [1001, 0, 0], "Cloud", 100283
    else:
        version, numbers, deployment, build = "9.12.15", [9, 12, 15], "Server", 9120015
    return Reply(
        200,
        {
            "baseUrl": site.base_url,
            "version": version,
            "versionNumbers": numbers,
            "deploymentType": deployment,
            "buildNumber": build,
            "buildDate": "2025-11-20T00:00:00.000+0000",
            "serverTime": jira_timestamp(ctx.fake.now, UTC),
            "scmInfo": "0f6d2a8e5b1c4e7d9a3f6b2c8d1e4f7a9b0c3d5e",
            "serverTitle": "Jira",
        },
    )


@ROUTES.route("GET", "/rest/api/{v}/myself")
def myself(ctx: Ctx) -> Reply:
    bean = ctx.view.user(ctx.user)
    assert bean is not None
    bean.update(
        {
            "locale": "en_US",
            "groups": {"size": 1, "items": []},
            "applicationRoles": {"size": 1, "items": []},
            "expand": "groups,applicationRoles",
        }
    )
    return Reply(200, bean)


@ROUTES.route("GET", "/rest/api/{v}/mypermissions")
def my_permissions(ctx: Ctx) -> Reply:
    wanted = ctx.params("permissions")
    if ctx.fake.site.mode == "cloud" and not wanted:
        raise ApiError.jira(400, "The 'permissions' query parameter is required.")
    project_key = ctx.param("projectKey")
    if project_key is not None:
        try:
            ctx.fake.site.project(project_key)
        except KeyError:
            raise ApiError.jira(404, f"No project could be found with key '{project_key}'.") from None
    keys = wanted or list(PERMISSIONS)
    unknown = [key for key in keys if key not in PERMISSIONS]
    if unknown:
        raise ApiError.jira(400, f"Unrecognized permission keys: {', '.join(unknown)}")
    permissions = {
        key: {
            "id": PERMISSIONS[key][0],
            "key": key,
            "name": PERMISSIONS[key][1],
            "type": PERMISSIONS[key][2],
            "description": f"Ability to {PERMISSIONS[key][1].lower()}.",
            "havePermission": key in ctx.fake.permissions,
        }
        for key in keys
    }
    return Reply(200, {"permissions": permissions})


# -- fields ----------------------------------------------------------------------------------------
@ROUTES.route("GET", "/rest/api/{v}/field")
def fields(ctx: Ctx) -> Reply:
    return Reply(200, ctx.view.field_details())


@ROUTES.route("POST", "/rest/api/{v}/field")
def create_field(ctx: Ctx) -> Reply:
    require(ctx, "ADMINISTER")
    body = ctx.json_object()
    name, type_key = body.get("name"), body.get("type")
    if not isinstance(name, str) or not name.strip():
        raise ApiError.jira(400, errors={"name": "The custom field name must not be empty."})
    kind = KIND_BY_TYPE_KEY.get(str(type_key))
    if kind is None or kind in ("request_type", "organizations"):
        raise ApiError.jira(400, errors={"type": f"The custom field type '{type_key}' is not valid."})
    custom = ctx.fake.site.add_custom_field(name, kind, description=str(body.get("description") or ""))
    return Reply(201, ctx.view.custom_field_details(custom))


def _option_field(ctx: Ctx) -> tuple[CustomField, FieldContext | None]:
    try:
        custom = ctx.fake.site.custom_field(ctx.match["fieldId"])
    except KeyError:
        raise ApiError.jira(404, "The custom field was not found.") from None
    context_id = ctx.match.get("contextId")
    context = next((c for c in custom.contexts if c.id == context_id), None)
    if context_id is not None and context is None:
        raise ApiError.jira(404, "The context was not found.")
    return custom, context


def _page(values: list[Any], start_at: int, max_results: int) -> dict[str, Any]:
    shown = values[start_at : start_at + max_results]
    return {
        "maxResults": max_results,
        "startAt": start_at,
        "total": len(values),
        "isLast": start_at + len(shown) >= len(values),
        "values": shown,
    }


@ROUTES.route("GET", "/rest/api/{v}/field/{fieldId}/context", CLOUD)
def field_contexts(ctx: Ctx) -> Reply:
    custom, _ = _option_field(ctx)
    values = [
        {"id": c.id, "name": c.name, "description": "", "isGlobalContext": True, "isAnyIssueType": True}
        for c in custom.contexts
    ]
    return Reply(200, _page(values, ctx.int_param("startAt", 0), ctx.int_param("maxResults", 50)))


@ROUTES.route("GET", "/rest/api/{v}/field/{fieldId}/context/{contextId}/option", CLOUD)
def context_options(ctx: Ctx) -> Reply:
    custom, context = _option_field(ctx)
    if custom.kind != "select":
        raise ApiError.jira(400, "The custom field doesn't support options.")
    assert context is not None
    values = [{"id": o.id, "value": o.value, "disabled": o.disabled} for o in context.options]
    return Reply(200, _page(values, ctx.int_param("startAt", 0), ctx.int_param("maxResults", 100)))


@ROUTES.route("POST", "/rest/api/{v}/field/{fieldId}/context/{contextId}/option", CLOUD)
def create_context_options(ctx: Ctx) -> Reply:
    require(ctx, "ADMINISTER")
    custom, context = _option_field(ctx)
    if custom.kind != "select":
        raise ApiError.jira(400, "The custom field doesn't support options.")
    assert context is not None
    requested = ctx.json_object().get("options")
    if not isinstance(requested, list) or not requested:
        raise ApiError.jira(400, "Provide at least one option.")
    created = []
    for entry in requested:
        value = entry.get("value") if isinstance(entry, dict) else None
        if not isinstance(value, str) or not value:
            raise ApiError.jira(400, "The option value must not be empty.")
        if any(o.value == value for o in context.options):
            raise ApiError.jira(400, f"The option '{value}' already exists.")
        option = ctx.fake.site.add_option(custom, context, value, bool(entry.get("disabled", False)))
        created.append({"id": option.id, "value": option.value, "disabled": option.disabled})
    return Reply(200, {"options": created})


# -- projects, statuses, priorities, issue types, link types ------------------------------------------
@ROUTES.route("GET", "/rest/api/{v}/project")
def projects(ctx: Ctx) -> Reply:
    return Reply(200, [ctx.view.project(key, with_details=True) for key in ctx.fake.site.projects])


def _project_key(ctx: Ctx) -> str:
    try:
        return ctx.fake.site.project(ctx.match["projectIdOrKey"].upper()).key
    except KeyError:
        raise ApiError.jira(
            404, f"No project could be found with key '{ctx.match['projectIdOrKey']}'."
        ) from None


@ROUTES.route("GET", "/rest/api/{v}/project/{projectIdOrKey}")
def project(ctx: Ctx) -> Reply:
    return Reply(200, ctx.view.project(_project_key(ctx), with_details=True))


@ROUTES.route("GET", "/rest/api/{v}/project/{projectIdOrKey}/statuses")
def project_statuses(ctx: Ctx) -> Reply:
    view = ctx.view
    project = ctx.fake.site.projects[_project_key(ctx)]
    return Reply(
        200,
        [
            {
                "self": view.api(f"issuetype/{type_id}"),
                "id": type_id,
                "name": ctx.fake.site.issue_types[type_id].name,
                "subtask": False,
                "statuses": [view.status(status_id) for status_id in project.workflow.statuses],
            }
            for type_id in project.issue_types
        ],
    )


@ROUTES.route("GET", "/rest/api/{v}/status")
def statuses(ctx: Ctx) -> Reply:
    return Reply(200, [ctx.view.status(status_id) for status_id in ctx.fake.site.statuses])


@ROUTES.route("GET", "/rest/api/{v}/priority")
def priorities(ctx: Ctx) -> Reply:
    return Reply(200, [ctx.view.priority(priority_id) for priority_id in ctx.fake.site.priorities])


@ROUTES.route("GET", "/rest/api/{v}/issuetype")
def issue_types(ctx: Ctx) -> Reply:
    return Reply(200, [ctx.view.issue_type(type_id) for type_id in ctx.fake.site.issue_types])


@ROUTES.route("GET", "/rest/api/{v}/issueLinkType")
def issue_link_types(ctx: Ctx) -> Reply:
    return Reply(200, {"issueLinkTypes": [ctx.view.link_type(t) for t in ctx.fake.site.link_types.values()]})


# -- users ---------------------------------------------------------------------------------------------
@ROUTES.route("GET", "/rest/api/{v}/user/search")
def user_search(ctx: Ctx) -> Reply:
    """Cloud matches ``query`` against display name and email; DC matches ``username`` against name too."""
    site = ctx.fake.site
    if site.mode == "cloud":
        term = ctx.param("query") or ctx.param("accountId")
        if not term:
            raise ApiError.jira(400, "The query parameter 'query' is required.")
    else:
        term = ctx.param("username")
        if not term:
            raise ApiError.jira(400, "The username query parameter was not provided")
    needle = term.lower()
    found = []
    for user in site.users.values():
        haystack = [user.display_name.lower(), user.email.lower()]
        haystack += [user.account_id.lower()] if site.mode == "cloud" else [user.name.lower()]
        if any(value.startswith(needle) or value == needle for value in haystack) or any(
            word.startswith(needle) for word in user.display_name.lower().split()
        ):
            found.append(ctx.view.user(user))
    start, limit = ctx.int_param("startAt", 0), ctx.int_param("maxResults", 50)
    return Reply(200, found[start : start + limit])


@ROUTES.route("GET", "/rest/api/{v}/user")
def user(ctx: Ctx) -> Reply:
    ref = (
        ctx.param("accountId")
        if ctx.fake.site.mode == "cloud"
        else (ctx.param("username") or ctx.param("key"))
    )
    try:
        found = ctx.fake.site.user(ref or "")
    except KeyError:
        raise ApiError.jira(404, f"The user with the identifier {ref!r} does not exist.") from None
    return Reply(200, ctx.view.user(found))


# -- JSM setup -----------------------------------------------------------------------------------------
def _jsm_links(ctx: Ctx) -> dict[str, str]:
    base = ctx.fake.site.base_url
    return {"base": f"{base}/rest/servicedeskapi", "context": ""}


@ROUTES.route("GET", "/rest/servicedeskapi/info")
def service_desk_info(ctx: Ctx) -> Reply:
    return Reply(
        200,
        {
            "version": "10.3.2" if ctx.fake.site.mode == "datacenter" else "5.0.0",
            "platformVersion": "10.3.2" if ctx.fake.site.mode == "datacenter" else "1001.0.0",
            "isLicensedForUse": True,
            "_links": {"self": f"{ctx.fake.site.base_url}/rest/servicedeskapi/info"},
        },
    )


def jsm_page(ctx: Ctx, values: list[Any]) -> dict[str, Any]:
    start, limit = ctx.int_param("start", 0), ctx.int_param("limit", 50)
    shown = values[start : start + limit]
    return {
        "_expands": [],
        "size": len(shown),
        "start": start,
        "limit": limit,
        "isLastPage": start + len(shown) >= len(values),
        "_links": _jsm_links(ctx),
        "values": shown,
    }


@ROUTES.route("GET", "/rest/servicedeskapi/servicedesk")
def service_desks(ctx: Ctx) -> Reply:
    base = ctx.fake.site.base_url
    desks = [
        {
            "id": p.service_desk_id,
            "projectId": p.id,
            "projectName": p.name,
            "projectKey": p.key,
            "_links": {"self": f"{base}/rest/servicedeskapi/servicedesk/{p.service_desk_id}"},
        }
        for p in ctx.fake.site.projects.values()
        if p.service_desk_id
    ]
    return Reply(200, jsm_page(ctx, desks))


@ROUTES.route("GET", "/rest/servicedeskapi/servicedesk/{serviceDeskId}/requesttype")
def request_types(ctx: Ctx) -> Reply:
    desk = ctx.match["serviceDeskId"]
    view = ctx.view
    found = [
        view.request_type(r.id) for r in ctx.fake.site.request_types.values() if r.service_desk_id == desk
    ]
    return Reply(200, jsm_page(ctx, found))


@ROUTES.route("GET", "/rest/servicedeskapi/organization")
def organizations(ctx: Ctx) -> Reply:
    base = ctx.fake.site.base_url
    found = [
        {"id": o.id, "name": o.name, "_links": {"self": f"{base}/rest/servicedeskapi/organization/{o.id}"}}
        for o in ctx.fake.site.organizations.values()
    ]
    return Reply(200, jsm_page(ctx, found))
