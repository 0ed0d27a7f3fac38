"""Jira Service Management customer-request endpoints: the request, its comments (public or internal), SLAs.

A JSM comment is an ordinary issue comment; "internal" is the comment property ``sd.public.comment`` =
``{"internal": true}``, which the servicedeskapi sets from ``"public": false`` and the platform API takes in a
comment's ``properties``. Both routes therefore see the same comments. SLA cycles are set by tests
(``FakeJira.start_sla`` ...) and reported with JSM's ``ongoingCycle``/``completedCycles`` shapes.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from tests.fakes.jira.api_meta import jsm_page, require
from tests.fakes.jira.router import ROUTES, ApiError, Ctx, Reply
from tests.fakes.jira.site import User
from tests.fakes.jira.state import INTERNAL_COMMENT_PROPERTY, Comment, Issue, IssueRefError, SlaCycle
from tests.fakes.jira.timefmt import date_dto, duration_dto


def request_issue(ctx: Ctx) -> Issue:
    try:
        issue = ctx.fake.state.find(ctx.match["issueIdOrKey"])
    except IssueRefError:
        raise ApiError.jsm(
            404, "The request could not be found or you do not have permission to view it."
        ) from None
    if ctx.fake.state.project_of(issue).type_key != "service_desk":
        raise ApiError.jsm(404, "This issue is not a customer request: its project is not a service project.")
    return issue


def user_dto(ctx: Ctx, user: User | str | None) -> dict[str, Any] | None:
    if user is None:
        return None
    site = ctx.fake.site
    if isinstance(user, str):
        user = site.user(user)
    base = site.base_url
    dto: dict[str, Any] = {
        "emailAddress": user.email,
        "displayName": user.display_name,
        "active": True,
        "timeZone": user.time_zone,
    }
    if site.mode == "cloud":
        dto["accountId"] = user.account_id
        rest = f"{base}/rest/api/2/user?accountId={user.account_id}"
    else:
        dto["name"], dto["key"] = user.name, user.key
        rest = f"{base}/rest/api/2/user?username={user.name}"
    dto["_links"] = {"jiraRest": rest, "avatarUrls": ctx.view.avatars("user", user.key), "self": rest}
    return dto


def comment_dto(ctx: Ctx, issue: Issue, comment: Comment) -> dict[str, Any]:
    base = ctx.fake.site.base_url
    return {
        "_expands": ["attachment", "renderedBody"],
        "id": comment.id,
        "body": comment.body,
        "public": not comment.internal,
        "author": user_dto(ctx, comment.author),
        "created": date_dto(comment.created, ctx.view.tz),
        "_links": {"self": f"{base}/rest/servicedeskapi/request/{issue.id}/comment/{comment.id}"},
    }


@ROUTES.route("GET", "/rest/servicedeskapi/request/{issueIdOrKey}")
def get_request(ctx: Ctx) -> Reply:
    issue = request_issue(ctx)
    view = ctx.view
    project = ctx.fake.state.project_of(issue)
    status = ctx.fake.site.statuses[issue.status]
    base = ctx.fake.site.base_url
    request_type_id = issue.custom.get("customfield_10010")
    dto: dict[str, Any] = {
        "_expands": [
            "participant",
            "status",
            "sla",
            "requestType",
            "serviceDesk",
            "attachment",
            "action",
            "comment",
        ],
        "issueId": str(issue.id),
        "issueKey": issue.key,
        "requestTypeId": request_type_id or "",
        "serviceDeskId": project.service_desk_id,
        "createdDate": date_dto(issue.created, view.tz),
        "reporter": user_dto(ctx, issue.reporter),
        "requestFieldValues": [
            {"fieldId": "summary", "label": "Summary", "value": issue.summary},
            {"fieldId": "description", "label": "Description", "value": issue.description},
        ],
        "currentStatus": {
            "status": status.name,
            "statusCategory": status.category.upper(),
            "statusDate": date_dto(view.status_date(issue), view.tz),
        },
        "_links": {
            "jiraRest": view.api(f"issue/{issue.id}"),
            "web": f"{base}/servicedesk/customer/portal/{project.service_desk_id}/{issue.key}",
            "agent": f"{base}/browse/{issue.key}",
            "self": f"{base}/rest/servicedeskapi/request/{issue.id}",
        },
    }
    expand = set(ctx.params("expand"))
    if "requestType" in expand and request_type_id:
        dto["requestType"] = view.request_type(request_type_id)
    if "sla" in expand:
        dto["sla"] = jsm_page(ctx, [sla_dto(ctx, issue, name) for name in issue.slas])
    return Reply(200, dto)


@ROUTES.route("GET", "/rest/servicedeskapi/request/{issueIdOrKey}/comment")
def get_request_comments(ctx: Ctx) -> Reply:
    """``public``/``internal`` (both default true) filter which comments are listed."""
    issue = request_issue(ctx)
    want_public, want_internal = ctx.bool_param("public", True), ctx.bool_param("internal", True)
    shown = [
        comment_dto(ctx, issue, c) for c in issue.comments if (want_internal if c.internal else want_public)
    ]
    return Reply(200, jsm_page(ctx, shown))


@ROUTES.route("POST", "/rest/servicedeskapi/request/{issueIdOrKey}/comment")
def add_request_comment(ctx: Ctx) -> Reply:
    require(ctx, "ADD_COMMENTS")
    issue = request_issue(ctx)
    body = ctx.json_object()
    text = body.get("body")
    if not isinstance(text, str) or not text.strip():
        raise ApiError.jsm(400, "The comment body must not be empty.")
    public = body.get("public", True)
    if not isinstance(public, bool):
        raise ApiError.jsm(400, "'public' must be true or false.")
    properties = {} if public else {INTERNAL_COMMENT_PROPERTY: {"internal": True}}
    comment = ctx.fake.state.add_comment(issue, ctx.fake.now, ctx.user.handle, text, properties)
    return Reply(201, comment_dto(ctx, issue, comment))


def _cycle(ctx: Ctx, cycle: SlaCycle, ongoing: bool) -> dict[str, Any]:
    tz, now = ctx.view.tz, ctx.fake.now
    elapsed = cycle.elapsed(now)
    remaining = cycle.goal - elapsed
    dto: dict[str, Any] = {
        "startTime": date_dto(cycle.start, tz),
        "breached": remaining < timedelta(0),
        "goalDuration": duration_dto(cycle.goal),
        "elapsedTime": duration_dto(elapsed),
        "remainingTime": duration_dto(remaining),
    }
    if ongoing:
        dto["paused"] = cycle.paused_since is not None
        dto["withinCalendarHours"] = True
        if cycle.paused_since is None:
            dto["breachTime"] = date_dto(cycle.breach_time(), tz)
    else:
        assert cycle.stop is not None
        dto["stopTime"] = date_dto(cycle.stop, tz)
        dto["breachTime"] = date_dto(cycle.breach_time(), tz)
    return dto


def sla_dto(ctx: Ctx, issue: Issue, name: str) -> dict[str, Any]:
    metric = issue.slas[name]
    base = ctx.fake.site.base_url
    dto: dict[str, Any] = {
        "id": metric.id,
        "name": metric.name,
        "_links": {"self": f"{base}/rest/servicedeskapi/request/{issue.id}/sla/{metric.id}"},
        "completedCycles": [_cycle(ctx, c, ongoing=False) for c in metric.cycles if c.stop is not None],
        "slaDisplayFormat": "NEW_SLA_FORMAT",
    }
    if metric.ongoing is not None:
        dto["ongoingCycle"] = _cycle(ctx, metric.ongoing, ongoing=True)
    return dto


@ROUTES.route("GET", "/rest/servicedeskapi/request/{issueIdOrKey}/sla")
def get_request_sla(ctx: Ctx) -> Reply:
    issue = request_issue(ctx)
    return Reply(200, jsm_page(ctx, [sla_dto(ctx, issue, name) for name in issue.slas]))
