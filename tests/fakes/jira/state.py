"""Issues and everything that happens to them, with the histories Jira would record.

One ``JiraState`` holds the site, the clock and the issues. Every change goes through a method here, whether a
test makes it on the tracker's side (``FakeJira.create_issue`` ...) or a client makes it over HTTP, so the two
produce the same changelog entries, the same ``updated`` stamps and the same search-index versions.

Search sees issues through ``versions``: each change appends a copy of the issue stamped with the change's
instant, and a search at ``now`` sees the newest copy stamped at or before ``now - search_lag``. That is Jira's
eventual consistency (an issue just changed is missing, or shows its previous version) in a form a test can
control exactly; ``reconcileIssues`` bypasses it for the ids it names.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.fakes.jira.site import STATUS_CATEGORIES, CustomField, LinkType, Project, Site, Transition, User
from tests.fakes.jira.timefmt import history_string, jira_timestamp

RESOLUTION_DONE = ("10000", "Done")
# The comment property JSM reads to tell internal notes from replies the customer sees.
INTERNAL_COMMENT_PROPERTY = "sd.public.comment"
# The issue property JSM sets to record where a request came from.
CHANNEL_PROPERTY = "request.channel.type"
CHANNELS = ("portal", "email", "api", "jira", "anonymousportal")
PROPERTY_VALUE_LIMIT = 32768
SYSTEM_EDITABLE = ("summary", "description", "priority", "labels", "assignee", "reporter")


@dataclass
class ChangeItem:
    field: str
    fieldtype: str
    field_id: str
    from_value: str | None
    from_string: str | None
    to_value: str | None
    to_string: str | None


@dataclass
class History:
    id: str
    created: datetime
    author: str  # user handle
    items: list[ChangeItem]


@dataclass
class Comment:
    id: str
    author: str
    body: str
    created: datetime
    updated: datetime
    properties: dict[str, Any] = field(default_factory=dict)
    visibility: dict[str, Any] | None = None

    @property
    def internal(self) -> bool:
        value = self.properties.get(INTERNAL_COMMENT_PROPERTY)
        return isinstance(value, dict) and value.get("internal") is True


@dataclass
class Link:
    """An issue link. ``source`` is what ``POST /issueLink`` calls ``inwardIssue`` (see ``link_issues``)."""

    id: str
    type_id: str
    source_id: int
    destination_id: int


@dataclass
class SlaCycle:
    start: datetime
    goal: timedelta
    stop: datetime | None = None
    paused_since: datetime | None = None
    paused_total: timedelta = timedelta(0)

    def elapsed(self, now: datetime) -> timedelta:
        end = self.stop or self.paused_since or now
        return end - self.start - self.paused_total

    def breach_time(self) -> datetime:
        return self.start + self.goal + self.paused_total


@dataclass
class SlaMetric:
    id: str
    name: str
    cycles: list[SlaCycle] = field(default_factory=list)

    @property
    def ongoing(self) -> SlaCycle | None:
        return self.cycles[-1] if self.cycles and self.cycles[-1].stop is None else None


@dataclass
class Issue:
    id: int
    key: str
    project_key: str
    issue_type: str
    summary: str
    status: str
    created: datetime
    updated: datetime
    reporter: str | None
    creator: str | None
    description: str | None = None
    priority: str | None = None
    labels: list[str] = field(default_factory=list)
    assignee: str | None = None
    resolution: str | None = None
    resolution_date: datetime | None = None
    status_category_changed: datetime | None = None
    custom: dict[str, Any] = field(default_factory=dict)
    comments: list[Comment] = field(default_factory=list)
    histories: list[History] = field(default_factory=list)
    properties: dict[str, Any] = field(default_factory=dict)
    watchers: list[str] = field(default_factory=list)
    link_ids: list[str] = field(default_factory=list)
    previous_keys: list[str] = field(default_factory=list)
    slas: dict[str, SlaMetric] = field(default_factory=dict)

    def value(self, field_id: str) -> Any:
        if field_id in SYSTEM_EDITABLE:
            return getattr(self, field_id)
        return self.custom.get(field_id)


class IssueRefError(LookupError):
    """A test or request named an issue that does not exist."""


def normalized_labels(labels: list[str] | tuple[str, ...]) -> list[str]:
    """Jira keeps labels unique and sorted."""
    return sorted(set(labels))


class JiraState:
    """The site, the clock and the issues; see the module docstring."""

    def __init__(self, site: Site, now: datetime) -> None:
        self.site = site
        self.now = now
        self.search_lag = timedelta(0)
        self.issues: dict[int, Issue] = {}
        self.links: dict[str, Link] = {}
        self.versions: dict[int, list[tuple[datetime, Issue | None]]] = {}
        self._next_issue_id = 10000
        self._next_comment_id = 10000
        self._next_history_id = 10000
        self._next_link_id = 10000
        self._next_sla_id = 1

    # -- clock -------------------------------------------------------------------------------------
    def at(self, when: datetime | None) -> datetime:
        """The instant of a change: ``now`` by default; a later instant moves the clock forward to it."""
        if when is None:
            return self.now
        if when.tzinfo is None:
            raise ValueError("instants given to the fake must be timezone-aware")
        if when > self.now:
            self.now = when
        return when

    # -- lookup ------------------------------------------------------------------------------------
    def find(self, ref: Issue | int | str) -> Issue:
        """An issue by model, numeric id, key or a key it had before a move (Jira follows moved keys)."""
        if isinstance(ref, Issue):
            ref = ref.id
        if isinstance(ref, int) or (isinstance(ref, str) and ref.isdigit()):
            issue = self.issues.get(int(ref))
            if issue is None:
                raise IssueRefError(f"Issue does not exist or you do not have permission to see it: {ref}")
            return issue
        wanted = ref.upper()
        for issue in self.issues.values():
            if issue.key == wanted or wanted in issue.previous_keys:
                return issue
        raise IssueRefError(f"Issue does not exist or you do not have permission to see it: {ref}")

    def project_of(self, issue: Issue) -> Project:
        return self.site.projects[issue.project_key]

    # -- search index ------------------------------------------------------------------------------
    def _index(self, issue: Issue | None, issue_id: int, at: datetime) -> None:
        self.versions.setdefault(issue_id, []).append((at, copy.deepcopy(issue)))

    def searchable(self, reconcile: set[int]) -> list[Issue]:
        """What the search index shows at ``now``: stale copies unless reconciled (module docstring)."""
        cutoff = self.now - self.search_lag
        shown: list[Issue] = []
        for issue_id, versions in self.versions.items():
            if issue_id in reconcile:
                current = self.issues.get(issue_id)
                if current is not None:
                    shown.append(current)
                continue
            visible_at = None
            for position in range(len(versions) - 1, -1, -1):
                if versions[position][0] <= cutoff:
                    visible_at = position
                    break
            if visible_at is None:
                continue
            del versions[:visible_at]  # older copies can never be shown again
            snapshot = versions[0][1]
            if snapshot is not None:
                shown.append(snapshot)
        return shown

    # -- histories ---------------------------------------------------------------------------------
    def _history(self, issue: Issue, at: datetime, author: str, items: list[ChangeItem]) -> History | None:
        if not items:
            return None
        history = History(str(self._next_history_id), at, author, items)
        self._next_history_id += 1
        issue.histories.append(history)
        return history

    def _touch(self, issue: Issue, at: datetime, bump: bool = True) -> None:
        if bump and at > issue.updated:
            issue.updated = at
        self._index(issue, issue.id, at)

    def change_item(self, field_id: str, old: Any, new: Any) -> ChangeItem:
        """One changelog item, written the way Jira writes it for that field's type."""
        site = self.site
        if field_id in ("assignee", "reporter"):
            old_user = site.user(old) if old else None
            new_user = site.user(new) if new else None
            return ChangeItem(
                field_id,
                "jira",
                field_id,
                site.user_ref(old_user) if old_user else None,
                old_user.display_name if old_user else None,
                site.user_ref(new_user) if new_user else None,
                new_user.display_name if new_user else None,
            )
        if field_id == "priority":
            return ChangeItem(
                "priority",
                "jira",
                "priority",
                old,
                site.priorities[old].name if old else None,
                new,
                site.priorities[new].name if new else None,
            )
        if field_id == "labels":
            return ChangeItem("labels", "jira", "labels", None, " ".join(old), None, " ".join(new))
        if field_id in ("summary", "description"):
            return ChangeItem(field_id, "jira", field_id, None, old, None, new)
        custom = site.custom_fields[field_id]
        return ChangeItem(
            custom.name,
            "custom",
            field_id,
            *_custom_item_values(custom, old),
            *_custom_item_values(custom, new),
        )

    # -- changes -----------------------------------------------------------------------------------
    def create_issue(
        self,
        project: Project,
        issue_type: str,
        summary: str,
        at: datetime,
        reporter: str | None,
        creator: str,
        values: dict[str, Any],
        properties: dict[str, Any],
    ) -> Issue:
        """A new issue in the project's initial status; Jira records no changelog entry for creation."""
        issue_id = self._next_issue_id
        self._next_issue_id += 1
        key = f"{project.key}-{project.next_number}"
        project.next_number += 1
        issue = Issue(
            id=issue_id,
            key=key,
            project_key=project.key,
            issue_type=issue_type,
            summary=summary,
            status=project.workflow.initial_status,
            created=at,
            updated=at,
            reporter=reporter,
            creator=creator,
            priority=self.site.default_priority,
            status_category_changed=at,
        )
        for field_id, value in values.items():
            self._set(issue, field_id, value)
        issue.properties.update(properties)
        # Jira makes the reporter (and the creator) watchers of a new issue.
        for handle in (reporter, creator):
            if handle and handle not in issue.watchers:
                issue.watchers.append(handle)
        self.issues[issue_id] = issue
        self._touch(issue, at)
        return issue

    def _set(self, issue: Issue, field_id: str, value: Any) -> None:
        if field_id == "labels":
            value = normalized_labels(value)
        elif field_id in self.site.custom_fields and self.site.custom_fields[field_id].kind == "labels":
            value = normalized_labels(value or [])
        if field_id in SYSTEM_EDITABLE:
            setattr(issue, field_id, value)
        elif value is None or value == []:
            issue.custom.pop(field_id, None)
        else:
            issue.custom[field_id] = value

    def edit(
        self,
        issue: Issue,
        at: datetime,
        author: str,
        values: dict[str, Any],
        transition: Transition | None = None,
        properties: dict[str, Any] | None = None,
    ) -> History | None:
        """Apply field values (and a transition) as one change, the way one edit or transition request does."""
        items: list[ChangeItem] = []
        if transition is not None:
            items.extend(self._status_items(issue, at, transition.to_status))
        for field_id, new in values.items():
            old = issue.value(field_id)
            self._set(issue, field_id, new)
            new = issue.value(field_id)
            if _normalized(old) != _normalized(new):
                items.append(self.change_item(field_id, old, new))
        if properties:
            issue.properties.update(properties)
        history = self._history(issue, at, author, items)
        self._touch(issue, at, bump=bool(items))
        return history

    def _status_items(self, issue: Issue, at: datetime, to_status: str) -> list[ChangeItem]:
        site = self.site
        old, new = site.statuses[issue.status], site.statuses[to_status]
        items = [ChangeItem("status", "jira", "status", old.id, old.name, new.id, new.name)]
        issue.status = new.id
        if old.category != new.category:
            issue.status_category_changed = at
        if new.category == "done" and issue.resolution is None:
            issue.resolution, issue.resolution_date = RESOLUTION_DONE[0], at
            items.append(ChangeItem("resolution", "jira", "resolution", None, None, *RESOLUTION_DONE))
        elif new.category != "done" and issue.resolution is not None:
            issue.resolution, issue.resolution_date = None, None
            items.append(ChangeItem("resolution", "jira", "resolution", *RESOLUTION_DONE, None, None))
        return items

    def add_comment(
        self,
        issue: Issue,
        at: datetime,
        author: str,
        body: str,
        properties: dict[str, Any] | None = None,
        visibility: dict[str, Any] | None = None,
    ) -> Comment:
        """A comment; it bumps ``updated`` but, as in Jira, records no changelog entry."""
        comment = Comment(
            str(self._next_comment_id), author, body, at, at, dict(properties or {}), visibility
        )
        self._next_comment_id += 1
        issue.comments.append(comment)
        self._touch(issue, at)
        return comment

    def set_property(self, issue: Issue, key: str, value: Any, at: datetime) -> bool:
        """Set an issue property; True when it was new. Properties do not bump ``updated``."""
        created = key not in issue.properties
        issue.properties[key] = copy.deepcopy(value)
        self._touch(issue, at, bump=False)
        return created

    def delete_property(self, issue: Issue, key: str, at: datetime) -> bool:
        if key not in issue.properties:
            return False
        del issue.properties[key]
        self._touch(issue, at, bump=False)
        return True

    def link_issues(
        self, link_type: LinkType, source: Issue, destination: Issue, at: datetime, author: str
    ) -> Link:
        """Link two issues: ``source`` <outward> ``destination`` (``source`` blocks ``destination``).

        ``POST /issueLink`` names the source ``inwardIssue`` and the destination ``outwardIssue``; on the
        source the link then shows the destination as ``outwardIssue``, on the destination the source as
        ``inwardIssue``. Both issues get a "Link" changelog entry and a new ``updated``.
        """
        for link in self.links.values():
            if (link.type_id, link.source_id, link.destination_id) == (
                link_type.id,
                source.id,
                destination.id,
            ):
                return link  # Jira does not create the same link twice
        link = Link(str(self._next_link_id), link_type.id, source.id, destination.id)
        self._next_link_id += 1
        self.links[link.id] = link
        source.link_ids.append(link.id)
        destination.link_ids.append(link.id)
        self._history(
            source, at, author,
            [ChangeItem("Link", "jira", "issuelinks", None, None, destination.key,
                        f"This issue {link_type.outward} {destination.key}")],
        )  # fmt: skip
        self._history(
            destination, at, author,
            [ChangeItem("Link", "jira", "issuelinks", None, None, source.key,
                        f"This issue {link_type.inward} {source.key}")],
        )  # fmt: skip
        self._touch(source, at)
        self._touch(destination, at)
        return link

    def delete_link(self, link: Link, at: datetime) -> None:
        del self.links[link.id]
        for issue_id in (link.source_id, link.destination_id):
            issue = self.issues.get(issue_id)
            if issue is not None and link.id in issue.link_ids:
                issue.link_ids.remove(link.id)
                self._touch(issue, at)

    def add_watcher(self, issue: Issue, handle: str, at: datetime) -> None:
        """Watching changes neither ``updated`` nor the changelog (and never the assignee)."""
        if handle not in issue.watchers:
            issue.watchers.append(handle)
            self._touch(issue, at, bump=False)

    def remove_watcher(self, issue: Issue, handle: str, at: datetime) -> None:
        if handle in issue.watchers:
            issue.watchers.remove(handle)
            self._touch(issue, at, bump=False)

    def move(
        self, issue: Issue, target: Project, at: datetime, author: str, issue_type: str | None = None
    ) -> None:
        """Move to another project: a new key, the same id; the old key keeps resolving to the issue."""
        old_project = self.project_of(issue)
        old_key = issue.key
        issue.previous_keys.append(old_key)
        issue.key = f"{target.key}-{target.next_number}"
        target.next_number += 1
        issue.project_key = target.key
        items = [
            ChangeItem(
                "project", "jira", "project", old_project.id, old_project.name, target.id, target.name
            ),
            ChangeItem("Key", "jira", "issuekey", None, old_key, None, issue.key),
        ]
        new_type = issue_type or (
            issue.issue_type if issue.issue_type in target.issue_types else target.issue_types[0]
        )
        if new_type != issue.issue_type:
            old_type, target_type = self.site.issue_types[issue.issue_type], self.site.issue_types[new_type]
            items.append(ChangeItem("issuetype", "jira", "issuetype", old_type.id, old_type.name,
                                    target_type.id, target_type.name))  # fmt: skip
            issue.issue_type = new_type
        if issue.status not in target.workflow.statuses:
            items.extend(self._status_items(issue, at, target.workflow.initial_status))
        self._history(issue, at, author, items)
        self._touch(issue, at)

    def delete(self, issue: Issue, at: datetime) -> None:
        for link_id in list(issue.link_ids):
            if link_id in self.links:
                self.delete_link(self.links[link_id], at)
        del self.issues[issue.id]
        self._index(None, issue.id, at)

    def sla(self, issue: Issue, name: str) -> SlaMetric:
        metric = issue.slas.get(name)
        if metric is None:
            metric = SlaMetric(str(self._next_sla_id), name)
            self._next_sla_id += 1
            issue.slas[name] = metric
        return metric


def _normalized(value: Any) -> Any:
    return value if value not in ([], "") else None


def _custom_item_values(custom: CustomField, value: Any) -> tuple[str | None, str | None]:
    """(raw, display) for one side of a custom-field changelog item."""
    if value is None or value == []:
        return None, None
    if custom.kind == "datetime":
        return jira_timestamp(value, UTC), history_string(value)
    if custom.kind == "select":
        option = custom.option_by_id(value)
        return str(value), option.value if option else None
    if custom.kind == "labels":
        return None, " ".join(value)
    if custom.kind == "number":
        return None, _number_string(value)
    return None, str(value)


def _number_string(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def category_of(site: Site, status_id: str) -> tuple[int, str, str]:
    return STATUS_CATEGORIES[site.statuses[status_id].category]


def user_or_none(site: Site, handle: str | None) -> User | None:
    return site.user(handle) if handle else None
