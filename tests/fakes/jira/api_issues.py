"""Issue endpoints: read, create, edit, delete, assign, transitions, comments, properties, links, watchers,
per-issue changelog. Writes answer 204 (or 201 for creations) with no body, as Jira does."""

from __future__ import annotations

from typing import Any

from tests.fakes.jira.api_meta import require
from tests.fakes.jira.render import View
from tests.fakes.jira.router import CLOUD, ROUTES, ApiError, Ctx, Reply
from tests.fakes.jira.state import CHANNEL_PROPERTY, Comment, Issue, IssueRefError
from tests.fakes.jira.values import (
    FieldError,
    apply_operations,
    cannot_set,
    check_property,
    comment_body,
    editable,
    parse_properties,
    parse_user,
    parse_value,
)


def issue_from(ctx: Ctx, name: str = "issueIdOrKey") -> Issue:
    try:
        return ctx.fake.state.find(ctx.match[name])
    except IssueRefError:
        raise ApiError.jira(404, "Issue does not exist or you do not have permission to see it.") from None


def select_fields(view: View, tokens: list[str], ids_only_default: bool = False) -> list[str] | None:
    """Resolve a ``fields`` list: ``*all``, ``*navigable``, ids, ``-id`` exclusions; unknown ids are ignored.

    None means an ids-only bean (``search/jql``'s default, and what ``fields=id`` gives there).
    """
    if ids_only_default and all(token in ("id",) for token in tokens):
        return None
    chosen: list[str] = []
    every = view.all_field_ids()
    for token in tokens:
        if token == "*all":
            chosen.extend(f for f in every if f not in chosen)
        elif token == "*navigable":
            chosen.extend(f for f in view.all_field_ids(navigable_only=True) if f not in chosen)
        elif token in every and token not in chosen:
            chosen.append(token)
    excluded = {token[1:] for token in tokens if token.startswith("-")}
    return [f for f in chosen if f not in excluded]


def expansions(ctx: Ctx) -> set[str]:
    return set(ctx.params("expand"))


def changelog_limit(ctx: Ctx, in_search: bool) -> int | None:
    """Cloud truncates the ``changelog`` expansion to recent histories; Data Center returns all of them."""
    if ctx.fake.site.mode != "cloud":
        return None
    return ctx.fake.search_changelog_limit if in_search else ctx.fake.issue_changelog_limit


@ROUTES.route("GET", "/rest/api/{v}/issue/{issueIdOrKey}")
def get_issue(ctx: Ctx) -> Reply:
    issue = issue_from(ctx)
    view = ctx.view
    field_ids = select_fields(view, ctx.params("fields") or ["*all"])
    bean = view.issue(
        issue, field_ids, expansions(ctx), ctx.params("properties"), changelog_limit(ctx, False)
    )
    return Reply(200, bean)


def parse_edit(ctx: Ctx, issue: Issue | None, body: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """(field values, comment bodies) from ``fields`` and ``update``; 400 with every field error at once."""
    site = ctx.fake.site
    fields_in = body.get("fields") or {}
    update_in = body.get("update") or {}
    if not isinstance(fields_in, dict) or not isinstance(update_in, dict):
        raise ApiError.jira(400, "'fields' and 'update' must be objects.")
    values: dict[str, Any] = {}
    comments: list[str] = []
    errors: dict[str, str] = {}
    for field_id, raw in fields_in.items():
        if field_id in ("project", "issuetype") and issue is None:
            continue
        if field_id == "resolution" and isinstance(raw, dict):
            continue  # set by the workflow here; accepted and ignored
        try:
            if not editable(site, field_id):
                raise cannot_set(field_id)
            values[field_id] = parse_value(site, field_id, raw, ctx.version)
        except FieldError as error:
            errors[error.field_id] = error.message
    for field_id, operations in update_in.items():
        try:
            if field_id == "comment":
                for operation in operations:
                    comments.append(comment_body((operation.get("add") or {}).get("body"), ctx.version))
                continue
            if field_id in fields_in:
                raise FieldError(field_id, f"Field '{field_id}' cannot be set in both 'fields' and 'update'.")
            if not editable(site, field_id):
                raise cannot_set(field_id)
            current = values.get(field_id, issue.value(field_id) if issue else None)
            values[field_id] = apply_operations(site, field_id, current, operations, ctx.version)
        except FieldError as error:
            errors[error.field_id] = error.message
        except (AttributeError, TypeError):
            errors[field_id] = "Update operations must be a list of objects."
    if errors:
        raise ApiError.jira(400, errors=errors)
    return values, comments


def properties_from(body: dict[str, Any]) -> dict[str, Any]:
    try:
        return parse_properties(body.get("properties"))
    except FieldError as error:
        raise ApiError.jira(400, error.message) from None


@ROUTES.route("PUT", "/rest/api/{v}/issue/{issueIdOrKey}")
def edit_issue(ctx: Ctx) -> Reply:
    require(ctx, "EDIT_ISSUES")
    issue = issue_from(ctx)
    body = ctx.json_object()
    values, comments = parse_edit(ctx, issue, body)
    state, now = ctx.fake.state, ctx.fake.now
    state.edit(issue, now, ctx.user.handle, values, properties=properties_from(body))
    for text in comments:
        state.add_comment(issue, now, ctx.user.handle, text)
    if ctx.bool_param("returnIssue", False) and ctx.fake.site.mode == "cloud":
        view = ctx.view
        return Reply(200, view.issue(issue, select_fields(view, ["*all"]), expansions(ctx), [], None))
    return Reply(204)


@ROUTES.route("POST", "/rest/api/{v}/issue")
def create_issue(ctx: Ctx) -> Reply:
    require(ctx, "CREATE_ISSUES")
    site = ctx.fake.site
    body = ctx.json_object()
    fields_in = body.get("fields") or {}
    project_ref = fields_in.get("project") or {}
    try:
        project = site.project(str(project_ref.get("id") or project_ref.get("key") or ""))
    except (KeyError, AttributeError):
        raise ApiError.jira(400, errors={"project": "Specify a valid project ID or key"}) from None
    type_ref = fields_in.get("issuetype") or {}
    try:
        issue_type = site.issue_type(str(type_ref.get("id") or type_ref.get("name") or ""))
    except (KeyError, AttributeError):
        raise ApiError.jira(400, errors={"issuetype": "Specify an issue type"}) from None
    if issue_type.id not in project.issue_types:
        raise ApiError.jira(400, errors={"issuetype": "Specify a valid issue type for this project"})
    if "summary" not in fields_in:
        raise ApiError.jira(400, errors={"summary": "You must specify a summary of the issue."})
    values, comments = parse_edit(ctx, None, body)
    properties = properties_from(body)
    if project.type_key == "service_desk":
        properties.setdefault(CHANNEL_PROPERTY, {"value": "jira"})
    reporter = values.pop("reporter", ctx.user.handle) if "reporter" in values else ctx.user.handle
    summary = values.pop("summary")
    state, now = ctx.fake.state, ctx.fake.now
    issue = state.create_issue(
        project, issue_type.id, summary, now, reporter, ctx.user.handle, values, properties
    )
    for text in comments:
        state.add_comment(issue, now, ctx.user.handle, text)
    return Reply(201, {"id": str(issue.id), "key": issue.key, "self": ctx.view.api(f"issue/{issue.id}")})


@ROUTES.route("DELETE", "/rest/api/{v}/issue/{issueIdOrKey}")
def delete_issue(ctx: Ctx) -> Reply:
    require(ctx, "DELETE_ISSUES")
    issue = issue_from(ctx)
    ctx.fake.state.delete(issue, ctx.fake.now)
    return Reply(204)


@ROUTES.route("PUT", "/rest/api/{v}/issue/{issueIdOrKey}/assignee")
def assign(ctx: Ctx) -> Reply:
    require(ctx, "ASSIGN_ISSUES")
    issue = issue_from(ctx)
    try:
        assignee = parse_user(ctx.fake.site, "assignee", ctx.body)
    except FieldError as error:
        raise ApiError.jira(400, errors={"assignee": error.message}) from None
    ctx.fake.state.edit(issue, ctx.fake.now, ctx.user.handle, {"assignee": assignee})
    return Reply(204)


# -- transitions -----------------------------------------------------------------------------------
@ROUTES.route("GET", "/rest/api/{v}/issue/{issueIdOrKey}/transitions")
def get_transitions(ctx: Ctx) -> Reply:
    issue = issue_from(ctx)
    transitions = ctx.view.transitions(issue)
    wanted = ctx.param("transitionId")
    if wanted is not None:
        transitions = [t for t in transitions if t["id"] == wanted]
    for transition in transitions:
        transition["hasScreen"] = True
    return Reply(200, {"expand": "transitions", "transitions": transitions})


@ROUTES.route("POST", "/rest/api/{v}/issue/{issueIdOrKey}/transitions")
def do_transition(ctx: Ctx) -> Reply:
    """Only a transition available from the current status is accepted; ``transition.id`` may be a number."""
    require(ctx, "TRANSITION_ISSUES")
    issue = issue_from(ctx)
    body = ctx.json_object()
    requested = body.get("transition")
    if not isinstance(requested, dict) or requested.get("id") in (None, ""):
        raise ApiError.jira(400, "Missing 'transition' identifier")
    transition_id = str(requested["id"])
    workflow = ctx.fake.state.project_of(issue).workflow
    transition = next((t for t in workflow.from_status(issue.status) if t.id == transition_id), None)
    if transition is None:
        raise ApiError.jira(400, f"Transition id '{transition_id}' is not valid for this issue.")
    values, comments = parse_edit(ctx, issue, body)
    state, now = ctx.fake.state, ctx.fake.now
    state.edit(issue, now, ctx.user.handle, values, transition=transition, properties=properties_from(body))
    for text in comments:
        state.add_comment(issue, now, ctx.user.handle, text)
    return Reply(204)


# -- comments --------------------------------------------------------------------------------------
def comment_from(ctx: Ctx, issue: Issue) -> Comment:
    comment = next((c for c in issue.comments if c.id == ctx.match["commentId"]), None)
    if comment is None:
        raise ApiError.jira(404, "Can not find a comment for the id: " + ctx.match["commentId"])
    return comment


@ROUTES.route("GET", "/rest/api/{v}/issue/{issueIdOrKey}/comment")
def list_comments(ctx: Ctx) -> Reply:
    issue = issue_from(ctx)
    order = ctx.param("orderBy", "created")
    if order not in ("created", "+created", "-created"):
        raise ApiError.jira(400, "orderBy must be 'created', '+created' or '-created'.")
    comments = sorted(issue.comments, key=lambda c: (c.created, int(c.id)), reverse=order == "-created")
    start, limit = ctx.int_param("startAt", 0), ctx.int_param("maxResults", 100)
    shown = comments[start : start + limit]
    with_properties = "properties" in expansions(ctx)
    view = ctx.view
    return Reply(
        200,
        {
            "startAt": start,
            "maxResults": limit,
            "total": len(comments),
            "comments": [view.comment(issue, c, with_properties) for c in shown],
        },
    )


@ROUTES.route("POST", "/rest/api/{v}/issue/{issueIdOrKey}/comment")
def add_comment(ctx: Ctx) -> Reply:
    """A platform comment; ``properties: [{"key": "sd.public.comment", "value": {"internal": true}}]`` makes it
    an internal JSM note (that is what jira's ``add_comment(is_internal=True)`` sends)."""
    require(ctx, "ADD_COMMENTS")
    issue = issue_from(ctx)
    body = ctx.json_object()
    try:
        text = comment_body(body.get("body"), ctx.version)
    except FieldError as error:
        raise ApiError.jira(400, errors={"comment": error.message}) from None
    properties = properties_from(body)
    comment = ctx.fake.state.add_comment(
        issue, ctx.fake.now, ctx.user.handle, text, properties, body.get("visibility")
    )
    return Reply(201, ctx.view.comment(issue, comment, "properties" in expansions(ctx)))


@ROUTES.route("GET", "/rest/api/{v}/issue/{issueIdOrKey}/comment/{commentId}")
def get_comment(ctx: Ctx) -> Reply:
    issue = issue_from(ctx)
    return Reply(200, ctx.view.comment(issue, comment_from(ctx, issue), "properties" in expansions(ctx)))


@ROUTES.route("PUT", "/rest/api/{v}/issue/{issueIdOrKey}/comment/{commentId}")
def edit_comment(ctx: Ctx) -> Reply:
    require(ctx, "ADD_COMMENTS")
    issue = issue_from(ctx)
    comment = comment_from(ctx, issue)
    body = ctx.json_object()
    if "body" in body:
        try:
            comment.body = comment_body(body["body"], ctx.version)
        except FieldError as error:
            raise ApiError.jira(400, errors={"comment": error.message}) from None
    comment.properties.update(properties_from(body))
    comment.updated = ctx.fake.now
    ctx.fake.state._touch(issue, ctx.fake.now)
    return Reply(200, ctx.view.comment(issue, comment))


@ROUTES.route("DELETE", "/rest/api/{v}/issue/{issueIdOrKey}/comment/{commentId}")
def delete_comment(ctx: Ctx) -> Reply:
    issue = issue_from(ctx)
    issue.comments.remove(comment_from(ctx, issue))
    ctx.fake.state._touch(issue, ctx.fake.now)
    return Reply(204)


@ROUTES.route("GET", "/rest/api/{v}/comment/{commentId}/properties/{propertyKey}")
def get_comment_property(ctx: Ctx) -> Reply:
    for issue in ctx.fake.state.issues.values():
        for comment in issue.comments:
            if comment.id == ctx.match["commentId"]:
                key = ctx.match["propertyKey"]
                if key not in comment.properties:
                    raise ApiError.jira(404, f"The property with key '{key}' does not exist.")
                return Reply(200, {"key": key, "value": comment.properties[key]})
    raise ApiError.jira(404, "Can not find a comment for the id: " + ctx.match["commentId"])


@ROUTES.route("PUT", "/rest/api/{v}/comment/{commentId}/properties/{propertyKey}")
def set_comment_property(ctx: Ctx) -> Reply:
    for issue in ctx.fake.state.issues.values():
        for comment in issue.comments:
            if comment.id == ctx.match["commentId"]:
                key = ctx.match["propertyKey"]
                try:
                    check_property(key, ctx.body)
                except FieldError as error:
                    raise ApiError.jira(400, error.message) from None
                created = key not in comment.properties
                comment.properties[key] = ctx.body
                ctx.fake.state._touch(issue, ctx.fake.now, bump=False)
                return Reply(201 if created else 200)
    raise ApiError.jira(404, "Can not find a comment for the id: " + ctx.match["commentId"])


# -- issue properties ------------------------------------------------------------------------------
@ROUTES.route("GET", "/rest/api/{v}/issue/{issueIdOrKey}/properties")
def list_properties(ctx: Ctx) -> Reply:
    issue = issue_from(ctx)
    view = ctx.view
    keys = [{"self": view.api(f"issue/{issue.id}/properties/{key}"), "key": key} for key in issue.properties]
    return Reply(200, {"keys": keys})


@ROUTES.route("GET", "/rest/api/{v}/issue/{issueIdOrKey}/properties/{propertyKey}")
def get_property(ctx: Ctx) -> Reply:
    issue = issue_from(ctx)
    key = ctx.match["propertyKey"]
    if key not in issue.properties:
        raise ApiError.jira(404, f"The property with key '{key}' does not exist.")
    return Reply(200, {"key": key, "value": issue.properties[key]})


@ROUTES.route("PUT", "/rest/api/{v}/issue/{issueIdOrKey}/properties/{propertyKey}")
def set_property(ctx: Ctx) -> Reply:
    """201 when the property is new, 200 when it replaced a value; no body either way."""
    require(ctx, "EDIT_ISSUES")
    issue = issue_from(ctx)
    key = ctx.match["propertyKey"]
    try:
        check_property(key, ctx.body)
    except FieldError as error:
        raise ApiError.jira(400, error.message) from None
    created = ctx.fake.state.set_property(issue, key, ctx.body, ctx.fake.now)
    return Reply(201 if created else 200)


@ROUTES.route("DELETE", "/rest/api/{v}/issue/{issueIdOrKey}/properties/{propertyKey}")
def delete_property(ctx: Ctx) -> Reply:
    require(ctx, "EDIT_ISSUES")
    issue = issue_from(ctx)
    key = ctx.match["propertyKey"]
    if not ctx.fake.state.delete_property(issue, key, ctx.fake.now):
        raise ApiError.jira(404, f"The property with key '{key}' does not exist.")
    return Reply(204)


# -- links -----------------------------------------------------------------------------------------
def _linked(ctx: Ctx, ref: Any, side: str) -> Issue:
    if not isinstance(ref, dict) or not (ref.get("key") or ref.get("id")):
        raise ApiError.jira(400, f"The '{side}' issue must be given by key or id.")
    try:
        return ctx.fake.state.find(str(ref.get("id") or ref.get("key")))
    except IssueRefError:
        raise ApiError.jira(404, f"Issue '{ref.get('key') or ref.get('id')}' does not exist.") from None


@ROUTES.route("POST", "/rest/api/{v}/issueLink")
def create_link(ctx: Ctx) -> Reply:
    """``{type, inwardIssue, outwardIssue}``: the inwardIssue becomes the link's source (it "blocks")."""
    require(ctx, "LINK_ISSUES")
    body = ctx.json_object()
    type_ref = body.get("type") or {}
    try:
        link_type = ctx.fake.site.link_type(str(type_ref.get("id") or type_ref.get("name") or ""))
    except (KeyError, AttributeError):
        raise ApiError.jira(404, f"No issue link type with name '{type_ref.get('name')}' found.") from None
    source = _linked(ctx, body.get("inwardIssue"), "inwardIssue")
    destination = _linked(ctx, body.get("outwardIssue"), "outwardIssue")
    if source.id == destination.id:
        raise ApiError.jira(400, "You cannot link an issue to itself.")
    state, now = ctx.fake.state, ctx.fake.now
    link = state.link_issues(link_type, source, destination, now, ctx.user.handle)
    comment = body.get("comment")
    if isinstance(comment, dict) and comment.get("body"):
        try:
            text = comment_body(comment["body"], ctx.version)
        except FieldError as error:
            raise ApiError.jira(400, errors={"comment": error.message}) from None
        state.add_comment(source, now, ctx.user.handle, text, visibility=comment.get("visibility"))
    return Reply(201, None, {"Location": ctx.view.api(f"issueLink/{link.id}")})


@ROUTES.route("GET", "/rest/api/{v}/issueLink/{linkId}")
def get_link(ctx: Ctx) -> Reply:
    link = ctx.fake.state.links.get(ctx.match["linkId"])
    if link is None:
        raise ApiError.jira(404, f"No issue link with id '{ctx.match['linkId']}' exists.")
    view = ctx.view
    state = ctx.fake.state
    return Reply(
        200,
        {
            "id": link.id,
            "self": view.api(f"issueLink/{link.id}"),
            "type": view.link_type(ctx.fake.site.link_types[link.type_id]),
            "inwardIssue": view.linked_issue(state.issues[link.source_id]),
            "outwardIssue": view.linked_issue(state.issues[link.destination_id]),
        },
    )


@ROUTES.route("DELETE", "/rest/api/{v}/issueLink/{linkId}")
def delete_link(ctx: Ctx) -> Reply:
    require(ctx, "LINK_ISSUES")
    link = ctx.fake.state.links.get(ctx.match["linkId"])
    if link is None:
        raise ApiError.jira(404, f"No issue link with id '{ctx.match['linkId']}' exists.")
    ctx.fake.state.delete_link(link, ctx.fake.now)
    return Reply(204)


# -- watchers --------------------------------------------------------------------------------------
@ROUTES.route("GET", "/rest/api/{v}/issue/{issueIdOrKey}/watchers")
def get_watchers(ctx: Ctx) -> Reply:
    issue = issue_from(ctx)
    view = ctx.view
    return Reply(
        200,
        {
            "self": view.api(f"issue/{issue.key}/watchers"),
            "isWatching": ctx.user.handle in issue.watchers,
            "watchCount": len(issue.watchers),
            "watchers": [view.user(handle) for handle in issue.watchers],
        },
    )


def _watcher(ctx: Ctx, ref: Any) -> str:
    site = ctx.fake.site
    if ref is None:
        return ctx.user.handle  # an empty body means "me"
    if not isinstance(ref, str):
        raise ApiError.jira(400, "The request body must be a JSON string naming the user.")
    for user in site.users.values():
        if ref == site.user_ref(user):
            return user.handle
    raise ApiError.jira(404, f'The user "{ref}" does not exist.')


@ROUTES.route("POST", "/rest/api/{v}/issue/{issueIdOrKey}/watchers")
def add_watcher(ctx: Ctx) -> Reply:
    """Body: a JSON string, the accountId on Cloud, the username on Data Center. The assignee is untouched."""
    issue = issue_from(ctx)
    handle = _watcher(ctx, ctx.body)
    if handle != ctx.user.handle:
        require(ctx, "MANAGE_WATCHERS")
    ctx.fake.state.add_watcher(issue, handle, ctx.fake.now)
    return Reply(204)


@ROUTES.route("DELETE", "/rest/api/{v}/issue/{issueIdOrKey}/watchers")
def remove_watcher(ctx: Ctx) -> Reply:
    issue = issue_from(ctx)
    ref = ctx.param("accountId") if ctx.fake.site.mode == "cloud" else ctx.param("username")
    handle = _watcher(ctx, ref)
    if handle != ctx.user.handle:
        require(ctx, "MANAGE_WATCHERS")
    ctx.fake.state.remove_watcher(issue, handle, ctx.fake.now)
    return Reply(204)


# -- changelog -------------------------------------------------------------------------------------
@ROUTES.route("GET", "/rest/api/{v}/issue/{issueIdOrKey}/changelog", CLOUD)
def issue_changelog(ctx: Ctx) -> Reply:
    """Every history of one issue, oldest first, 100 a page at most."""
    issue = issue_from(ctx)
    start = max(0, ctx.int_param("startAt", 0))
    limit = min(max(1, ctx.int_param("maxResults", 100)), 100)
    shown = issue.histories[start : start + limit]
    view = ctx.view
    page: dict[str, Any] = {
        "self": view.api(f"issue/{issue.key}/changelog?startAt={start}&maxResults={limit}"),
        "maxResults": limit,
        "startAt": start,
        "total": len(issue.histories),
        "isLast": start + len(shown) >= len(issue.histories),
        "values": [view.history(h) for h in shown],
    }
    if not page["isLast"]:
        page["nextPage"] = view.api(f"issue/{issue.key}/changelog?startAt={start + limit}&maxResults={limit}")
    return Reply(200, page)
