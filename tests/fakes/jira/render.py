"""JSON payloads in the shapes the Jira platform and JSM APIs document, built from the fake's state.

A ``View`` is one request's point of view: the API version asked for (v2 answers plain strings for comment and
description bodies, v3 Atlassian Document Format), the user asking (timestamps are written in that user's time
zone, as Jira does; ``isWatching`` is about them) and the deployment (Cloud names users by ``accountId``, Data
Center by ``name``/``key``). Every ``self`` URL points at the fake's base URL, because the jira library PUTs
``Issue.update`` to the issue's ``self``.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from tests.fakes.jira.site import CUSTOM_TYPES, STATUS_CATEGORIES, CustomField, LinkType, Site, User
from tests.fakes.jira.state import RESOLUTION_DONE, Comment, History, Issue, JiraState
from tests.fakes.jira.timefmt import date_dto, jira_timestamp

ISSUE_EXPAND = "renderedFields,names,schema,operations,editmeta,changelog,versionedRepresentations"

# id, name, schema, clause names, navigable
SYSTEM_FIELDS: list[tuple[str, str, dict[str, str], list[str], bool]] = [
    ("issuekey", "Key", {}, ["id", "issue", "issuekey", "key"], True),
    ("summary", "Summary", {"type": "string", "system": "summary"}, ["summary"], True),
    ("description", "Description", {"type": "string", "system": "description"}, ["description"], True),
    ("issuetype", "Issue Type", {"type": "issuetype", "system": "issuetype"}, ["issuetype", "type"], True),
    ("project", "Project", {"type": "project", "system": "project"}, ["project"], True),
    ("status", "Status", {"type": "status", "system": "status"}, ["status"], True),
    ("priority", "Priority", {"type": "priority", "system": "priority"}, ["priority"], True),
    ("labels", "Labels", {"type": "array", "items": "string", "system": "labels"}, ["labels"], True),
    ("assignee", "Assignee", {"type": "user", "system": "assignee"}, ["assignee"], True),
    ("reporter", "Reporter", {"type": "user", "system": "reporter"}, ["reporter"], True),
    ("creator", "Creator", {"type": "user", "system": "creator"}, ["creator"], True),
    ("created", "Created", {"type": "datetime", "system": "created"}, ["created", "createdDate"], True),
    ("updated", "Updated", {"type": "datetime", "system": "updated"}, ["updated", "updatedDate"], True),
    ("resolution", "Resolution", {"type": "resolution", "system": "resolution"}, ["resolution"], True),
    ("resolutiondate", "Resolved", {"type": "datetime", "system": "resolutiondate"},
     ["resolutiondate", "resolved"], True),
    ("statuscategorychangedate", "Status Category Changed",
     {"type": "datetime", "system": "statuscategorychangedate"}, ["statusCategoryChangedDate"], True),
    ("issuelinks", "Linked Issues", {"type": "array", "items": "issuelinks", "system": "issuelinks"},
     ["issueLink"], True),
    ("comment", "Comment", {"type": "comments-page", "system": "comment"}, ["comment"], False),
    ("watches", "Watchers", {"type": "watches", "system": "watches"}, ["watchers"], True),
]  # fmt: skip
SYSTEM_FIELD_IDS = [row[0] for row in SYSTEM_FIELDS if row[0] != "issuekey"]


def adf(text: str | None) -> dict[str, Any] | None:
    """A plain text as an Atlassian Document Format document, one paragraph per line."""
    if text is None:
        return None
    paragraphs = [
        {"type": "paragraph", "content": [{"type": "text", "text": line}] if line else []}
        for line in text.split("\n")
    ]
    return {"type": "doc", "version": 1, "content": paragraphs}


def adf_text(document: Any) -> str:
    """The text of an ADF document (paragraphs joined by newlines); raises ValueError on a non-document."""
    if not isinstance(document, dict) or document.get("type") != "doc":
        raise ValueError("Operation value must be an Atlassian Document (see the Atlassian Document Format)")

    def text_of(node: dict[str, Any]) -> str:
        if node.get("type") == "text":
            return str(node.get("text", ""))
        if node.get("type") == "hardBreak":
            return "\n"
        return "".join(text_of(child) for child in node.get("content", []))

    return "\n".join(text_of(block) for block in document.get("content", []))


@dataclass
class View:
    state: JiraState
    version: str
    viewer: User

    @property
    def site(self) -> Site:
        return self.state.site

    @property
    def base(self) -> str:
        return self.site.base_url

    @property
    def cloud(self) -> bool:
        return self.site.mode == "cloud"

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.viewer.time_zone)

    def api(self, path: str) -> str:
        return f"{self.base}/rest/api/{self.version}/{path}"

    def ts(self, when: datetime | None) -> str | None:
        return jira_timestamp(when, self.tz) if when is not None else None

    def text(self, body: str | None) -> Any:
        return adf(body) if self.version == "3" else body

    # -- small beans -------------------------------------------------------------------------------
    def avatars(self, kind: str, ident: str) -> dict[str, str]:
        return {f"{n}x{n}": f"{self.base}/secure/{kind}avatar?size={n}&id={ident}" for n in (48, 24, 16, 32)}

    def user(self, user: User | str | None) -> dict[str, Any] | None:
        if user is None:
            return None
        if isinstance(user, str):
            user = self.site.user(user)
        bean: dict[str, Any]
        if self.cloud:
            bean = {
                "self": self.api(f"user?accountId={user.account_id}"),
                "accountId": user.account_id,
                "emailAddress": user.email,
                "avatarUrls": self.avatars("user", user.account_id),
                "displayName": user.display_name,
                "active": True,
                "timeZone": user.time_zone,
                "accountType": user.account_type,
            }
        else:
            bean = {
                "self": self.api(f"user?username={user.name}"),
                "name": user.name,
                "key": user.key,
                "emailAddress": user.email,
                "avatarUrls": self.avatars("user", user.key),
                "displayName": user.display_name,
                "active": True,
                "timeZone": user.time_zone,
            }
        return bean

    def status_category(self, status_id: str) -> dict[str, Any]:
        category = self.site.statuses[status_id].category
        category_id, name, colour = STATUS_CATEGORIES[category]
        return {
            "self": self.api(f"statuscategory/{category_id}"),
            "id": category_id,
            "key": category,
            "colorName": colour,
            "name": name,
        }

    def status(self, status_id: str) -> dict[str, Any]:
        status = self.site.statuses[status_id]
        return {
            "self": self.api(f"status/{status.id}"),
            "description": "",
            "iconUrl": f"{self.base}/images/icons/statuses/generic.png",
            "name": status.name,
            "id": status.id,
            "statusCategory": self.status_category(status.id),
        }

    def priority(self, priority_id: str | None) -> dict[str, Any] | None:
        if priority_id is None:
            return None
        priority = self.site.priorities[priority_id]
        return {
            "self": self.api(f"priority/{priority.id}"),
            "statusColor": priority.color,
            "description": "",
            "iconUrl": f"{self.base}/images/icons/priorities/{priority.name.lower()}.svg",
            "name": priority.name,
            "id": priority.id,
        }

    def issue_type(self, type_id: str) -> dict[str, Any]:
        issue_type = self.site.issue_types[type_id]
        return {
            "self": self.api(f"issuetype/{issue_type.id}"),
            "id": issue_type.id,
            "description": issue_type.description,
            "iconUrl": f"{self.base}/images/icons/issuetypes/{issue_type.id}.svg",
            "name": issue_type.name,
            "subtask": False,
        }

    def project(self, key: str, with_details: bool = False) -> dict[str, Any]:
        project = self.site.projects[key]
        bean: dict[str, Any] = {
            "self": self.api(f"project/{project.id}"),
            "id": project.id,
            "key": project.key,
            "name": project.name,
            "projectTypeKey": project.type_key,
            "simplified": False,
            "avatarUrls": self.avatars("project", project.id),
        }
        if with_details:
            bean["issueTypes"] = [self.issue_type(type_id) for type_id in project.issue_types]
            bean["description"] = ""
            bean["style"] = "classic"
        return bean

    def link_type(self, link_type: LinkType) -> dict[str, Any]:
        return {
            "id": link_type.id,
            "name": link_type.name,
            "inward": link_type.inward,
            "outward": link_type.outward,
            "self": self.api(f"issueLinkType/{link_type.id}"),
        }

    def linked_issue(self, issue: Issue) -> dict[str, Any]:
        return {
            "id": str(issue.id),
            "key": issue.key,
            "self": self.api(f"issue/{issue.id}"),
            "fields": {
                "summary": issue.summary,
                "status": self.status(issue.status),
                "priority": self.priority(issue.priority),
                "issuetype": self.issue_type(issue.issue_type),
            },
        }

    def issue_links(self, issue: Issue) -> list[dict[str, Any]]:
        """Each link as this issue sees it: the other end as ``outwardIssue`` when this issue is the source."""
        shown = []
        for link_id in issue.link_ids:
            link = self.state.links.get(link_id)
            if link is None:
                continue
            entry: dict[str, Any] = {
                "id": link.id,
                "self": self.api(f"issueLink/{link.id}"),
                "type": self.link_type(self.site.link_types[link.type_id]),
            }
            if link.source_id == issue.id:
                other = self.state.issues.get(link.destination_id)
                if other is not None:
                    entry["outwardIssue"] = self.linked_issue(other)
            else:
                other = self.state.issues.get(link.source_id)
                if other is not None:
                    entry["inwardIssue"] = self.linked_issue(other)
            shown.append(entry)
        return shown

    # -- comments and histories --------------------------------------------------------------------
    def comment(self, issue: Issue, comment: Comment, with_properties: bool = False) -> dict[str, Any]:
        bean: dict[str, Any] = {
            "self": self.api(f"issue/{issue.id}/comment/{comment.id}"),
            "id": comment.id,
            "author": self.user(comment.author),
            "body": self.text(comment.body),
            "updateAuthor": self.user(comment.author),
            "created": self.ts(comment.created),
            "updated": self.ts(comment.updated),
        }
        if self.cloud and self.state.project_of(issue).type_key == "service_desk":
            bean["jsdPublic"] = not comment.internal
        if comment.visibility is not None:
            bean["visibility"] = comment.visibility
        if with_properties:
            bean["properties"] = [{"key": key, "value": value} for key, value in comment.properties.items()]
        return bean

    def comment_page(
        self, issue: Issue, comments: list[Comment], with_properties: bool = False
    ) -> dict[str, Any]:
        return {
            "comments": [self.comment(issue, c, with_properties) for c in comments],
            "self": self.api(f"issue/{issue.id}/comment"),
            "maxResults": len(comments),
            "total": len(comments),
            "startAt": 0,
        }

    def history(self, history: History) -> dict[str, Any]:
        return {
            "id": history.id,
            "author": self.user(history.author),
            "created": self.ts(history.created),
            "items": [
                {
                    "field": item.field,
                    "fieldtype": item.fieldtype,
                    "fieldId": item.field_id,
                    "from": item.from_value,
                    "fromString": item.from_string,
                    "to": item.to_value,
                    "toString": item.to_string,
                }
                for item in history.items
            ],
        }

    def changelog(self, issue: Issue, limit: int | None, newest_first: bool) -> dict[str, Any]:
        """The ``changelog`` expansion: Cloud shows only the most recent ``limit`` histories, newest first."""
        histories = list(issue.histories)
        if newest_first:
            histories.reverse()
        shown = histories if limit is None else histories[:limit]
        return {
            "startAt": 0,
            "maxResults": len(shown),
            "total": len(histories),
            "histories": [self.history(h) for h in shown],
        }

    # -- fields ------------------------------------------------------------------------------------
    def field_details(self) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        for field_id, name, schema, clauses, navigable in SYSTEM_FIELDS:
            row: dict[str, Any] = {
                "id": field_id,
                "key": field_id,
                "name": name,
                "custom": False,
                "orderable": field_id not in ("issuekey", "created", "updated", "creator", "resolutiondate"),
                "navigable": navigable,
                "searchable": True,
                "clauseNames": clauses,
            }
            if schema:
                row["schema"] = schema
            rows.append(row)
        rows.extend(self.custom_field_details(custom) for custom in self.site.custom_fields.values())
        return rows

    def custom_field_details(self, custom: CustomField) -> dict[str, Any]:
        type_key, schema_type, items = CUSTOM_TYPES[custom.kind]
        schema: dict[str, Any] = {"type": schema_type, "custom": type_key, "customId": custom.numeric_id}
        if items:
            schema["items"] = items
        return {
            "id": custom.id,
            "key": custom.id,
            "name": custom.name,
            "custom": True,
            "orderable": True,
            "navigable": True,
            "searchable": True,
            "clauseNames": [f"cf[{custom.numeric_id}]", custom.name],
            "schema": schema,
        }

    def all_field_ids(self, navigable_only: bool = False) -> list[str]:
        ids = [row[0] for row in SYSTEM_FIELDS if row[0] != "issuekey" and (row[4] or not navigable_only)]
        return ids + list(self.site.custom_fields)

    def field_value(self, issue: Issue, field_id: str) -> Any:
        if field_id == "summary":
            return issue.summary
        if field_id == "description":
            return self.text(issue.description)
        if field_id == "issuetype":
            return self.issue_type(issue.issue_type)
        if field_id == "project":
            return self.project(issue.project_key)
        if field_id == "status":
            return self.status(issue.status)
        if field_id == "priority":
            return self.priority(issue.priority)
        if field_id == "labels":
            return list(issue.labels)
        if field_id in ("assignee", "reporter", "creator"):
            return self.user(getattr(issue, field_id))
        if field_id in ("created", "updated"):
            return self.ts(getattr(issue, field_id))
        if field_id == "resolution":
            if issue.resolution is None:
                return None
            return {"self": self.api(f"resolution/{issue.resolution}"), "id": issue.resolution,
                    "description": "Work has been completed on this issue.", "name": RESOLUTION_DONE[1]}  # fmt: skip
        if field_id == "resolutiondate":
            return self.ts(issue.resolution_date)
        if field_id == "statuscategorychangedate":
            return self.ts(issue.status_category_changed)
        if field_id == "issuelinks":
            return self.issue_links(issue)
        if field_id == "comment":
            return self.comment_page(issue, issue.comments)
        if field_id == "watches":
            return {
                "self": self.api(f"issue/{issue.key}/watchers"),
                "watchCount": len(issue.watchers),
                "isWatching": self.viewer.handle in issue.watchers,
            }
        return self.custom_value(issue, self.site.custom_fields[field_id])

    def custom_value(self, issue: Issue, custom: CustomField) -> Any:
        value = issue.custom.get(custom.id)
        if custom.kind == "request_type":
            return self.request_type_value(issue)
        if value is None:
            return [] if custom.kind == "labels" else None
        if custom.kind == "datetime":
            return self.ts(value)
        if custom.kind == "select":
            option = custom.option_by_id(value)
            return {"self": self.api(f"customFieldOption/{value}"), "value": option.value if option else None,
                    "id": str(value)}  # fmt: skip
        if custom.kind == "organizations":
            return [
                {"id": org_id, "name": self.site.organizations[org_id].name,
                 "_links": {"self": f"{self.base}/rest/servicedeskapi/organization/{org_id}"}}
                for org_id in value
            ]  # fmt: skip
        if custom.kind == "labels":
            return list(value)
        return value

    def status_date(self, issue: Issue) -> datetime:
        for history in reversed(issue.histories):
            if any(item.field_id == "status" for item in history.items):
                return history.created
        return issue.created

    def request_type_value(self, issue: Issue) -> dict[str, Any] | None:
        request_type_id = issue.custom.get("customfield_10010")
        if request_type_id is None:
            return None
        request_type = self.site.request_types[request_type_id]
        status = self.site.statuses[issue.status]
        return {
            "_links": {
                "jiraRest": self.api(f"issue/{issue.id}"),
                "web": f"{self.base}/servicedesk/customer/portal/{request_type.service_desk_id}/{issue.key}",
                "agent": f"{self.base}/browse/{issue.key}",
                "self": f"{self.base}/rest/servicedeskapi/request/{issue.id}",
            },
            "requestType": self.request_type(request_type.id),
            "currentStatus": {
                "status": status.name,
                "statusCategory": status.category.upper(),
                "statusDate": date_dto(self.status_date(issue), self.tz),
            },
        }

    def request_type(self, request_type_id: str) -> dict[str, Any]:
        request_type = self.site.request_types[request_type_id]
        return {
            "_links": {
                "self": f"{self.base}/rest/servicedeskapi/servicedesk/{request_type.service_desk_id}"
                f"/requesttype/{request_type.id}"
            },
            "id": request_type.id,
            "name": request_type.name,
            "description": request_type.description,
            "helpText": "",
            "issueTypeId": request_type.issue_type_id,
            "serviceDeskId": request_type.service_desk_id,
            "groupIds": [],
        }

    def rendered_fields(self, issue: Issue, field_ids: list[str]) -> dict[str, Any]:
        rendered: dict[str, Any] = {}
        for field_id in field_ids:
            if field_id == "description":
                rendered[field_id] = f"<p>{html.escape(issue.description)}</p>" if issue.description else None
            elif field_id == "comment":
                page = self.comment_page(issue, issue.comments)
                for shown, comment in zip(page["comments"], issue.comments, strict=True):
                    shown["body"] = f"<p>{html.escape(comment.body)}</p>"
                rendered[field_id] = page
            elif field_id in ("created", "updated", "resolutiondate", "statuscategorychangedate"):
                when = {"created": issue.created, "updated": issue.updated, "resolutiondate": issue.resolution_date,
                        "statuscategorychangedate": issue.status_category_changed}[field_id]  # fmt: skip
                rendered[field_id] = f"{when.astimezone(self.tz):%d/%b/%y %I:%M %p}" if when else None
            else:
                rendered[field_id] = None
        return rendered

    # -- the issue bean ----------------------------------------------------------------------------
    def issue(
        self,
        issue: Issue,
        field_ids: list[str] | None,
        expand: set[str],
        properties: list[str],
        changelog_limit: int | None,
    ) -> dict[str, Any]:
        """An issue bean; ``field_ids`` None means "ids only" (what ``search/jql`` returns by default)."""
        if field_ids is None:
            return {"id": str(issue.id)}
        bean: dict[str, Any] = {
            "expand": ISSUE_EXPAND,
            "id": str(issue.id),
            "self": self.api(f"issue/{issue.id}"),
            "key": issue.key,
            "fields": {field_id: self.field_value(issue, field_id) for field_id in field_ids},
        }
        if "renderedFields" in expand:
            bean["renderedFields"] = self.rendered_fields(issue, field_ids)
        if "names" in expand:
            names = {row[0]: row[1] for row in SYSTEM_FIELDS}
            names.update({c.id: c.name for c in self.site.custom_fields.values()})
            bean["names"] = {field_id: names[field_id] for field_id in field_ids}
        if "changelog" in expand:
            bean["changelog"] = self.changelog(issue, changelog_limit, newest_first=self.cloud)
        if "transitions" in expand:
            bean["transitions"] = self.transitions(issue)
        if properties:
            wanted = list(issue.properties) if "*all" in properties else properties
            bean["properties"] = {key: issue.properties[key] for key in wanted if key in issue.properties}
        return bean

    def transitions(self, issue: Issue) -> list[dict[str, Any]]:
        workflow = self.state.project_of(issue).workflow
        return [
            {
                "id": transition.id,
                "name": transition.name,
                "to": self.status(transition.to_status),
                "hasScreen": False,
                "isGlobal": not transition.sources,
                "isInitial": False,
                "isAvailable": True,
                "isConditional": False,
                "isLooped": False,
            }
            for transition in workflow.from_status(issue.status)
        ]
