"""Search and bulk changelog reads.

Cloud: ``/search/jql`` (GET and POST) pages with ``nextPageToken``, has no ``total``, returns only ids unless
fields are listed, caps a page at ``search_page_max`` issues when fields are asked for (more for ids only),
reads the eventually consistent index (``JiraState.searchable``) and honours ``reconcileIssues``; the legacy
``/search`` answers 410 Gone. Data Center: ``/rest/api/2/search`` with ``startAt``/``maxResults``/``total``.
``changelog/bulkfetch`` (Cloud) reads every history of up to 1000 issues, oldest first, in pages.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from tests.fakes.jira import jql
from tests.fakes.jira.api_issues import changelog_limit, select_fields
from tests.fakes.jira.router import CLOUD, DATACENTER, ROUTES, ApiError, Ctx, Reply
from tests.fakes.jira.state import History, Issue, IssueRefError

SEARCH_GONE = (
    "The requested API has been removed. Please migrate to the /rest/api/3/search/jql API. "
    "A full migration guideline is available at https://developer.atlassian.com/changelog/#CHANGE-2046"
)


def encode_token(scope: str, offset: int) -> str:
    raw = json.dumps({"scope": hashlib.sha256(scope.encode()).hexdigest()[:16], "offset": offset})
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_token(token: str | None, scope: str) -> int:
    """The offset a page token stands for; 400 when it was issued for another query."""
    if not token:
        return 0
    try:
        padded = token + "=" * (-len(token) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if data["scope"] != hashlib.sha256(scope.encode()).hexdigest()[:16]:
            raise ValueError("token issued for another request")
        return int(data["offset"])
    except (ValueError, KeyError, TypeError):
        raise ApiError.jira(400, "The provided next page token is invalid or expired.") from None


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return [str(item).strip() for item in value if str(item).strip()]


def _search_request(ctx: Ctx) -> dict[str, Any]:
    """One shape for GET query strings and POST bodies."""
    if ctx.method == "POST":
        body = ctx.json_object()
        reconcile = body.get("reconcileIssues") or []
        return {
            "jql": body.get("jql") or "",
            "fields": _as_list(body.get("fields")),
            "expand": set(_as_list(body.get("expand"))),
            "properties": _as_list(body.get("properties")),
            "reconcile": reconcile,
            "maxResults": body.get("maxResults", 50),
            "startAt": body.get("startAt", 0),
            "nextPageToken": body.get("nextPageToken"),
        }
    return {
        "jql": ctx.param("jql") or "",
        "fields": ctx.params("fields"),
        "expand": set(ctx.params("expand")),
        "properties": ctx.params("properties"),
        "reconcile": ctx.params("reconcileIssues"),
        "maxResults": ctx.int_param("maxResults", 50),
        "startAt": ctx.int_param("startAt", 0),
        "nextPageToken": ctx.param("nextPageToken"),
    }


def _matching(ctx: Ctx, query_text: str, reconcile: set[int], bounded_only: bool) -> list[Issue]:
    try:
        query = jql.parse(query_text)
    except jql.JqlError as error:
        raise ApiError.jira(400, str(error)) from None
    if bounded_only and not query.bounded:
        raise ApiError.jira(
            400, "Unbounded JQL queries are not allowed here. Please add a search restriction to your query."
        )
    site, zone = ctx.fake.site, ctx.user.time_zone
    found = [issue for issue in ctx.fake.state.searchable(reconcile) if jql.matches(query, issue, site, zone)]
    return jql.sort(query, found)


@ROUTES.route("GET", "/rest/api/{v}/search/jql", CLOUD)
@ROUTES.route("POST", "/rest/api/{v}/search/jql", CLOUD)
def search_jql(ctx: Ctx) -> Reply:
    request = _search_request(ctx)
    if len(request["properties"]) > 5:
        raise ApiError.jira(400, "A maximum of 5 issue property keys can be specified.")
    try:
        reconcile = {int(issue_id) for issue_id in request["reconcile"]}
    except (TypeError, ValueError):
        raise ApiError.jira(400, "reconcileIssues takes numeric issue ids.") from None
    if len(reconcile) > 50:
        raise ApiError.jira(400, "A maximum of 50 issue ids can be reconciled.")
    view = ctx.view
    field_ids = select_fields(view, request["fields"] or ["id"], ids_only_default=True)
    ids_only = field_ids is None or not field_ids
    cap = ctx.fake.search_id_page_max if ids_only else ctx.fake.search_page_max
    page_size = max(1, min(int(request["maxResults"] or 50), cap))
    scope = json.dumps([request["jql"], sorted(reconcile)])
    offset = decode_token(request["nextPageToken"], scope)
    found = _matching(ctx, request["jql"], reconcile, bounded_only=True)
    shown = found[offset : offset + page_size]
    limit = changelog_limit(ctx, in_search=True)
    body: dict[str, Any] = {
        "issues": [view.issue(i, field_ids, request["expand"], request["properties"], limit) for i in shown]
    }
    is_last = offset + len(shown) >= len(found)
    if not is_last:
        body["nextPageToken"] = encode_token(scope, offset + len(shown))
    body["isLast"] = is_last
    return Reply(200, body)


@ROUTES.route("GET", "/rest/api/{v}/search", CLOUD)
@ROUTES.route("POST", "/rest/api/{v}/search", CLOUD)
def search_gone(ctx: Ctx) -> Reply:
    raise ApiError.jira(410, SEARCH_GONE)


@ROUTES.route("GET", "/rest/api/{v}/search", DATACENTER)
@ROUTES.route("POST", "/rest/api/{v}/search", DATACENTER)
def search_legacy(ctx: Ctx) -> Reply:
    request = _search_request(ctx)
    view = ctx.view
    field_ids = select_fields(view, request["fields"] or ["*navigable"])
    start = max(0, int(request["startAt"] or 0))
    page_size = max(0, min(int(request["maxResults"] if request["maxResults"] is not None else 50),
                           ctx.fake.dc_search_page_max))  # fmt: skip
    found = _matching(ctx, request["jql"], set(), bounded_only=False)
    shown = found[start : start + page_size]
    limit = changelog_limit(ctx, in_search=True)
    return Reply(
        200,
        {
            "expand": "schema,names",
            "startAt": start,
            "maxResults": page_size,
            "total": len(found),
            "issues": [
                view.issue(i, field_ids, request["expand"], request["properties"], limit) for i in shown
            ],
        },
    )


@ROUTES.route("POST", "/rest/api/{v}/changelog/bulkfetch", CLOUD)
def bulk_changelog(ctx: Ctx) -> Reply:
    body = ctx.json_object()
    refs = body.get("issueIdsOrKeys")
    if not isinstance(refs, list) or not refs:
        raise ApiError.jira(400, "At least one issue id or key must be provided.")
    if len(refs) > 1000:
        raise ApiError.jira(400, "Up to 1000 issue ids or keys can be requested.")
    field_ids = body.get("fieldIds") or []
    if len(field_ids) > 10:
        raise ApiError.jira(400, "Up to 10 field ids can be provided.")
    max_results = int(body.get("maxResults") or 1000)
    if not 1 <= max_results <= 10000:
        raise ApiError.jira(400, "maxResults must be between 1 and 10000.")
    entries: list[tuple[Issue, History]] = []
    seen: set[int] = set()
    for ref in refs:
        try:
            issue = ctx.fake.state.find(str(ref))
        except IssueRefError:
            continue
        if issue.id in seen:
            continue
        seen.add(issue.id)
        for history in issue.histories:
            if field_ids:
                items = [item for item in history.items if item.field_id in field_ids]
                if not items:
                    continue
                history = History(history.id, history.created, history.author, items)
            entries.append((issue, history))
    entries.sort(key=lambda entry: (entry[1].created, entry[0].id, int(entry[1].id)))
    scope = json.dumps([sorted(seen), sorted(field_ids), max_results])
    offset = decode_token(body.get("nextPageToken"), scope)
    page = entries[offset : offset + max_results]
    view = ctx.view
    grouped: dict[int, list[dict[str, Any]]] = {}
    for issue, history in page:
        grouped.setdefault(issue.id, []).append(view.history(history))
    answer: dict[str, Any] = {
        "issueChangeLogs": [
            {"issueId": str(issue_id), "changeHistories": h} for issue_id, h in grouped.items()
        ]
    }
    if offset + len(page) < len(entries):
        answer["nextPageToken"] = encode_token(scope, offset + len(page))
    return Reply(200, answer)
