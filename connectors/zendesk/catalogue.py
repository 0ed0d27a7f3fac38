"""The instance's configuration by name: ticket fields, custom statuses, groups, users.

Zendesk identifies all of these by number; deployments name them (a field's title, a status's agent
label, a group's name, a user's e-mail). Read once per connector instance and again after bootstrap or
on a miss, never through zenpy's cache (a scheduled check must not act on a renamed field).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from casewarden.connectors.zendesk.connector import ZendeskConnector

__all__ = ["Catalogue", "FieldInfo", "StatusInfo"]


@dataclass(frozen=True)
class FieldInfo:
    id: int
    title: str
    type: str
    options: dict[str, str] = field(default_factory=dict)  # option name -> value (the tag)
    active: bool = True


@dataclass(frozen=True)
class StatusInfo:
    id: int
    label: str
    category: str
    active: bool


class Catalogue:
    def __init__(self, conn: ZendeskConnector) -> None:
        self.conn = conn
        self._fields: dict[str, FieldInfo] | None = None
        self._statuses: dict[str, StatusInfo] | None = None
        self._groups: dict[str, int] | None = None
        self._users: dict[str, dict[str, Any] | None] = {}

    def refresh(self) -> None:
        self._fields = self._statuses = self._groups = None

    # -- fields --------------------------------------------------------------------------------------

    def fields(self) -> dict[str, FieldInfo]:
        """Custom ticket fields by title (case-folded keys are not used: titles are exact in Zendesk)."""
        if self._fields is None:
            found: dict[str, FieldInfo] = {}
            for raw in self._all("ticket_fields.json", "ticket_fields"):
                if raw.get("removable") is False:
                    continue  # system fields (subject, status, priority...)
                options = {str(o["name"]): str(o["value"]) for o in raw.get("custom_field_options") or []}
                info = FieldInfo(
                    int(raw["id"]),
                    str(raw["title"]),
                    str(raw["type"]),
                    options,
                    bool(raw.get("active", True)),
                )
                found.setdefault(info.title, info)
            self._fields = found
        return self._fields

    def field(self, title: str) -> FieldInfo | None:
        return self.fields().get(title)

    def field_titles(self) -> dict[int, str]:
        return {f.id: f.title for f in self.fields().values()}

    # -- statuses -----------------------------------------------------------------------------------

    def statuses(self) -> dict[str, StatusInfo]:
        """Custom statuses by agent label, case-folded (Zendesk matches labels without regard to case)."""
        if self._statuses is None:
            body = self.conn.get_json(self.conn.api_url("custom_statuses.json"))
            found: dict[str, StatusInfo] = {}
            for raw in body.get("custom_statuses") or []:
                info = StatusInfo(
                    int(raw["id"]),
                    str(raw["agent_label"]),
                    str(raw["status_category"]),
                    bool(raw.get("active")),
                )
                found.setdefault(info.label.casefold(), info)
            self._statuses = found
        return self._statuses

    def status(self, label: str) -> StatusInfo | None:
        return self.statuses().get(label.casefold())

    def status_labels(self) -> dict[int, StatusInfo]:
        return {s.id: s for s in self.statuses().values()}

    # -- groups and users ----------------------------------------------------------------------------

    def groups(self) -> dict[str, int]:
        if self._groups is None:
            self._groups = {
                str(g["name"]): int(g["id"])
                for g in self._all("groups.json", "groups")
                if not g.get("deleted")
            }
        return self._groups

    def user_by_email(self, email: str) -> dict[str, Any] | None:
        key = email.casefold()
        if key not in self._users:
            body = self.conn.get_json(self.conn.api_url("users/search.json"), {"query": f"email:{email}"})
            users = [u for u in body.get("users") or [] if str(u.get("email", "")).casefold() == key]
            self._users[key] = users[0] if users else None
        return self._users[key]

    # -- paging --------------------------------------------------------------------------------------

    def _all(self, path: str, key: str) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        url: str | None = self.conn.api_url(path)
        params: dict[str, Any] | None = {"page[size]": 100}
        while url:
            body = self.conn.get_json(url, params)
            out += body.get(key) or []
            params = None
            links = body.get("links") or {}
            meta = body.get("meta") or {}
            url = links.get("next") if meta.get("has_more") else body.get("next_page")
        return out
