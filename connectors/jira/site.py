"""What the connector knows of the site's configuration, read once per connector and cached.

Custom fields by name (``GET /field``), the querying user (``GET /myself``: the time zone JQL dates are
read in, the account to name in writes), each governed project (type: service desk or not; its issue
types), link types and the workflow graph learned from ``expand=transitions``. These change rarely; a
fresh connector (every run) reads them again.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from casewarden.connectors.jira.client import JiraClient

__all__ = ["FieldInfo", "ProjectInfo", "SiteInfo", "Workflow"]


@dataclass(frozen=True)
class FieldInfo:
    id: str
    name: str
    custom: bool
    schema_type: str  # datetime, string, option, array, number, ...
    custom_type: str = ""  # the custom type key

    @property
    def kind(self) -> str:
        """datetime / text / select / labels / number / other."""
        if self.schema_type == "datetime":
            return "datetime"
        if self.schema_type == "string":
            return "text"
        if self.schema_type == "option":
            return "select"
        if self.schema_type == "number":
            return "number"
        if self.schema_type == "array" and self.custom_type.endswith(":labels"):
            return "labels"
        return "other"


@dataclass(frozen=True)
class ProjectInfo:
    id: str
    key: str
    service_desk: bool
    issue_types: tuple[tuple[str, str], ...]  # (id, name)


@dataclass
class Workflow:
    """Transitions seen from each status (by status id): ``{status: {transition id: to status}}``.

    Jira shows an issue's transitions only from its current status, so the graph is learned from the
    issues read with ``expand=transitions``; a path is found over what is known."""

    edges: dict[str, dict[str, str]] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)  # status id -> name

    def learn(self, status_id: str, transitions: list[dict[str, Any]]) -> None:
        out: dict[str, str] = {}
        for t in transitions:
            to = t.get("to") or {}
            if t.get("id") is None or to.get("id") is None:
                continue
            out[str(t["id"])] = str(to["id"])
            if to.get("name"):
                self.names[str(to["id"])] = str(to["name"])
        self.edges[status_id] = out

    def path(self, start: str, goal: str) -> list[tuple[str, str]] | None:
        """Shortest [(transition id, to status)] over the known graph; [] when already there."""
        if start == goal:
            return []
        queue: deque[tuple[str, list[tuple[str, str]]]] = deque([(start, [])])
        seen = {start}
        while queue:
            status, steps = queue.popleft()
            for tid, to in sorted(self.edges.get(status, {}).items()):
                if to in seen:
                    continue
                route = [*steps, (tid, to)]
                if to == goal:
                    return route
                seen.add(to)
                queue.append((to, route))
        return None

    def unexplored(self, start: str) -> set[str]:
        """Statuses reachable from ``start`` whose own transitions are not known yet."""
        seen, todo = {start}, [start]
        while todo:
            status = todo.pop()
            for to in self.edges.get(status, {}).values():
                if to not in seen:
                    seen.add(to)
                    todo.append(to)
        return {s for s in seen if s not in self.edges}


class SiteInfo:
    """Lazily read site configuration (see the module docstring)."""

    def __init__(self, client: JiraClient, project_keys: tuple[str, ...]) -> None:
        self.client = client
        self.project_keys = project_keys
        self._fields: dict[str, FieldInfo] | None = None
        self._myself: dict[str, Any] | None = None
        self._projects: dict[str, ProjectInfo] = {}
        self._link_types: dict[str, dict[str, Any]] | None = None
        self._statuses: dict[str, dict[str, Any]] | None = None
        self.workflow = Workflow()

    # -- fields --------------------------------------------------------------------------------------
    def fields(self, refresh: bool = False) -> dict[str, FieldInfo]:
        """Every field by id."""
        if self._fields is None or refresh:
            rows = self.client.call("GET", "field", what="listing fields") or []
            found: dict[str, FieldInfo] = {}
            for row in rows:
                schema = row.get("schema") or {}
                found[str(row["id"])] = FieldInfo(
                    str(row["id"]),
                    str(row.get("name", "")),
                    bool(row.get("custom")),
                    str(schema.get("type", "")),
                    str(schema.get("custom", "")),
                )
            self._fields = found
        return self._fields

    def field_named(self, name: str) -> FieldInfo | None:
        """A field by its name (custom fields first, then system ids), case-insensitively."""
        fields = self.fields()
        wanted = name.casefold()
        custom = [f for f in fields.values() if f.custom and f.name.casefold() == wanted]
        if custom:
            return sorted(custom, key=lambda f: f.id)[0]
        return fields.get(name)

    def forget_fields(self) -> None:
        self._fields = None

    # -- the querying user ---------------------------------------------------------------------------
    def myself(self) -> dict[str, Any]:
        if self._myself is None:
            self._myself = self.client.call("GET", "myself", what="reading the signed-in user") or {}
        return self._myself

    def zone(self) -> ZoneInfo:
        """The time zone Jira reads JQL dates in: the querying user's."""
        name = self.myself().get("timeZone") or "UTC"
        try:
            return ZoneInfo(str(name))
        except (KeyError, ValueError):
            return ZoneInfo("UTC")

    # -- projects ------------------------------------------------------------------------------------
    def project(self, key: str) -> ProjectInfo:
        if key not in self._projects:
            row = self.client.call("GET", f"project/{key}", what=f"reading project {key}") or {}
            self._projects[key] = ProjectInfo(
                str(row.get("id", "")),
                str(row.get("key", key)),
                row.get("projectTypeKey") == "service_desk",
                tuple((str(t["id"]), str(t["name"])) for t in row.get("issueTypes") or []),
            )
        return self._projects[key]

    def link_types(self) -> dict[str, dict[str, Any]]:
        """Link types by name (case-folded)."""
        if self._link_types is None:
            answer = self.client.call("GET", "issueLinkType", what="listing link types") or {}
            self._link_types = {str(t["name"]).casefold(): t for t in answer.get("issueLinkTypes") or []}
        return self._link_types

    def statuses(self) -> dict[str, dict[str, Any]]:
        """Every status by id."""
        if self._statuses is None:
            rows = self.client.call("GET", "status", what="listing statuses") or []
            self._statuses = {str(r["id"]): r for r in rows}
            for sid, row in self._statuses.items():
                self.workflow.names.setdefault(sid, str(row.get("name", "")))
        return self._statuses

    def status_id(self, name: str) -> str | None:
        wanted = name.casefold()
        for sid, row in self.statuses().items():
            if str(row.get("name", "")).casefold() == wanted:
                return sid
        return None
