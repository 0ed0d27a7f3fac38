"""One ticket update: read an API-shaped body, validate it against the ticket, emit the audit events.

Nothing is written until the whole body has validated, so a rejected update (422) leaves the ticket
as it was. The rules modelled are the real API's: closed tickets refuse updates, a status follows
its custom status and the other way round, a new ticket that gets an assignee opens, solving
assigns the solving agent, drop-down values and tagged checkboxes show up as tags, unknown custom
field ids are ignored, and values are checked against their field type.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from html import escape
from typing import TYPE_CHECKING, Any

from tests.fakes.zendesk.records import (
    PRIORITIES,
    STATUSES,
    TICKET_TYPES,
    Ticket,
    TicketField,
    User,
    invalid,
    iso,
    normalize_tags,
    to_second,
    unix,
)

if TYPE_CHECKING:
    from tests.fakes.zendesk.state import ZendeskState


class TicketUpdate:
    """The changes one update body asks for, validated before anything is written."""

    SCALARS = (
        "subject",
        "priority",
        "type",
        "problem_id",
        "group_id",
        "assignee_id",
        "requester_id",
        "organization_id",
        "external_id",
        "due_at",
        "status",
        "custom_status_id",
    )

    def __init__(self, state: ZendeskState, ticket: Ticket, author: User, creating: bool) -> None:
        self.state = state
        self.ticket = ticket
        self.author = author
        self.creating = creating
        self.old: dict[str, Any] = {k: getattr(ticket, k) for k in self.SCALARS}
        self.new: dict[str, Any] = dict(self.old)
        self.old_tags = list(ticket.tags)
        self.tags = list(ticket.tags)
        self.old_fields = dict(ticket.custom_fields)
        self.fields = dict(ticket.custom_fields)
        self.followers = list(ticket.follower_ids)
        self.ccs = list(ticket.email_cc_ids)
        self.collaborators = list(ticket.collaborator_ids)
        self.comment: dict[str, Any] | None = None

    # -- reading the body ----------------------------------------------------------------------

    def read(self, body: Mapping[str, Any]) -> None:
        state = self.state
        if "subject" in body:
            self.new["subject"] = str(body["subject"] or "")
        if "priority" in body:
            if body["priority"] not in (*PRIORITIES, None, ""):
                raise invalid("priority", f"Priority: {body['priority']} is not valid")
            self.new["priority"] = body["priority"] or None
        if "type" in body:
            if body["type"] not in (*TICKET_TYPES, None, ""):
                raise invalid("type", f"Type: {body['type']} is not valid")
            self.new["type"] = body["type"] or None
        if "problem_id" in body:
            self.new["problem_id"] = int(body["problem_id"]) if body["problem_id"] is not None else None
        if self.new["type"] != "incident":
            self.new["problem_id"] = None
        elif self.new["problem_id"] is not None:
            problem = state.tickets.get(self.new["problem_id"])
            if problem is None or problem.deleted or problem.type != "problem":
                raise invalid("problem_id", "Problem: must be a ticket of type problem")
        for key, table in (("group_id", state.groups), ("organization_id", state.organizations)):
            if key in body:
                value = body[key]
                if value is not None and int(value) not in table:
                    raise invalid(key, f"{key}: {value} not found")
                self.new[key] = int(value) if value is not None else None
        if "requester_id" in body:
            if body["requester_id"] is None or int(body["requester_id"]) not in state.users:
                raise invalid("requester_id", f"Requester: {body['requester_id']} not found")
            self.new["requester_id"] = int(body["requester_id"])
        if "assignee_id" in body:
            value = body["assignee_id"]
            if value is not None:
                assignee = state.users.get(int(value))
                if assignee is None or not assignee.is_agent:
                    raise invalid("assignee_id", "Assignee: is not an agent")
            self.new["assignee_id"] = int(value) if value is not None else None
        if "external_id" in body:
            self.new["external_id"] = None if body["external_id"] is None else str(body["external_id"])
        if "due_at" in body:
            self.new["due_at"] = _parse_instant(body["due_at"]) if body["due_at"] else None
        self._read_status(body)
        self._read_tags(body)
        self._read_custom_fields(body.get("custom_fields"))
        self._read_people(body)
        self._read_comment(body.get("comment"))
        # a new ticket with an assignee is open; a ticket is solved by someone
        if self.new["status"] == "new" and self.new["assignee_id"] is not None and "status" not in body:
            self._set_status("open")
        if self.new["status"] in ("solved", "closed") and self.new["assignee_id"] is None:
            if not self.author.is_agent:
                raise invalid("assignee_id", "Assignee: is required when solving a ticket")
            self.new["assignee_id"] = self.author.id
        if self.new["status"] == "hold" and not state.account.status_hold:
            raise invalid("status", "Status: hold is not enabled for this account")

    def _set_status(self, status: str) -> None:
        self.new["status"] = status
        changed = self.old["status"] != status or self.new["custom_status_id"] is None
        if self.state.account.custom_statuses_enabled and status != "closed" and changed:
            self.new["custom_status_id"] = self.state.default_status_for(status).id

    def _read_status(self, body: Mapping[str, Any]) -> None:
        state = self.state
        status_id = body.get("custom_status_id")
        if status_id is not None and state.account.custom_statuses_enabled:
            custom = state.custom_statuses.get(int(status_id))
            if custom is None or not custom.active:
                raise invalid(
                    "custom_status_id", f"Custom status: {status_id} is not an active custom status"
                )
            self.new["status"] = custom.status_category
            self.new["custom_status_id"] = custom.id
        elif body.get("status") is not None:
            status = str(body["status"])
            if status not in STATUSES:
                raise invalid("status", f"Status: {status} is not valid")
            self._set_status(status)
        elif self.creating:
            self._set_status("new")

    def _read_tags(self, body: Mapping[str, Any]) -> None:
        if body.get("tags") is not None:
            self.tags = normalize_tags(body["tags"])
        for tag in normalize_tags(body.get("additional_tags") or []):
            if tag not in self.tags:
                self.tags.append(tag)
        removed = set(normalize_tags(body.get("remove_tags") or []))
        self.tags = [t for t in self.tags if t not in removed]

    def _read_custom_fields(self, entries: Any) -> None:
        if not entries:
            if self.creating:
                for ticket_field in self.state.custom_fields():
                    self.fields.setdefault(
                        ticket_field.id, False if ticket_field.type == "checkbox" else None
                    )
            return
        if isinstance(entries, Mapping):  # {"123": value} is accepted too
            entries = [{"id": k, "value": v} for k, v in entries.items()]
        for entry in entries:
            try:
                field_id = int(entry["id"])
            except (KeyError, TypeError, ValueError):
                continue
            known = self.state.ticket_fields.get(field_id)
            if known is None or not known.is_custom:
                continue  # the real API silently ignores unknown field ids
            value = _coerce_field_value(known, entry.get("value"))
            self._retag(known, self.fields.get(field_id), value)
            self.fields[field_id] = value
        if self.creating:
            for ticket_field in self.state.custom_fields():
                self.fields.setdefault(ticket_field.id, False if ticket_field.type == "checkbox" else None)

    def _retag(self, ticket_field: TicketField, old: Any, new: Any) -> None:
        """Drop-down options and tagged checkboxes are tags on the ticket, as in Zendesk."""

        def tags_of(value: Any) -> list[str]:
            if ticket_field.type == "tagger":
                return [value] if value else []
            if ticket_field.type == "multiselect":
                return list(value or [])
            if ticket_field.type == "checkbox" and ticket_field.tag:
                return [ticket_field.tag] if value else []
            return []

        for tag in tags_of(old):
            if tag in self.tags:
                self.tags.remove(tag)
        for tag in tags_of(new):
            if tag not in self.tags:
                self.tags.append(tag)

    def _read_people(self, body: Mapping[str, Any]) -> None:
        state = self.state

        def user_id(ref: Any) -> int:
            if isinstance(ref, Mapping):
                if ref.get("user_id") is not None:
                    return state.user(int(ref["user_id"])).id
                ref = ref.get("user_email") or ref.get("email")
            if isinstance(ref, str) and "@" in ref:
                found = state.user_by_email(ref)
                if found is None:
                    found = state.create_user(ref.split("@")[0], ref, at=state._history_at)
                return found.id
            return state.user(int(ref)).id

        if body.get("collaborator_ids") is not None:
            self.collaborators = [user_id(u) for u in body["collaborator_ids"]]
        for ref in body.get("additional_collaborators") or []:
            uid = user_id(ref)
            if uid not in self.collaborators:
                self.collaborators.append(uid)
            target = self.followers if state.users[uid].is_agent else self.ccs
            if uid not in target:
                target.append(uid)
        if body.get("follower_ids") is not None:
            self.followers = [user_id(u) for u in body["follower_ids"]]
        if body.get("email_cc_ids") is not None:
            self.ccs = [user_id(u) for u in body["email_cc_ids"]]
        for key, target in (("followers", self.followers), ("email_ccs", self.ccs)):
            for entry in body.get(key) or []:
                uid = user_id(entry)
                action = entry.get("action", "put") if isinstance(entry, Mapping) else "put"
                if action == "delete" and uid in target:
                    target.remove(uid)
                elif action != "delete" and uid not in target:
                    target.append(uid)

    def _read_comment(self, comment: Any) -> None:
        if not isinstance(comment, Mapping):
            return
        body = comment.get("body")
        html_body = comment.get("html_body")
        if not body and not html_body:
            return
        author_id = comment.get("author_id")
        author = self.state.user(int(author_id)) if author_id is not None else self.author
        plain = str(body) if body else re.sub(r"<[^>]+>", "", str(html_body))
        html = (
            str(html_body)
            if html_body
            else (
                '<div class="zd-comment" dir="auto">'
                + "".join(f'<p dir="auto">{escape(line)}</p>' for line in plain.splitlines() or [""])
                + "</div>"
            )
        )
        public = bool(comment.get("public", True))
        if not author.is_agent:
            public = True  # end-users cannot write internal notes
        self.comment = {
            "author_id": author.id,
            "body": plain,
            "html_body": html,
            "plain_body": plain,
            "public": public,
            "attachments": [],
        }

    # -- events and commit -----------------------------------------------------------------------

    def events(self) -> list[dict[str, Any]]:
        state = self.state
        out: list[dict[str, Any]] = []
        if self.comment is not None:
            out.append(state._event("Comment", **self.comment))
        kind = "Create" if self.creating else "Change"

        def change(name: str, new: Any, old: Any) -> None:
            if self.creating:
                if new not in (None, [], ""):
                    out.append(state._event(kind, field_name=name, value=new))
            elif new != old:
                out.append(state._event(kind, field_name=name, value=new, previous_value=old))

        for key in self.SCALARS:
            if key == "custom_status_id" and not state.account.custom_statuses_enabled:
                continue
            new, old = self.new[key], self.old[key]
            if key == "due_at":
                new, old = iso(new), iso(old)
            change(key, new, old)
        change("tags", list(self.tags), list(self.old_tags))
        for field_id, value in self.fields.items():
            if self.creating and value is False:
                continue
            change(str(field_id), value, self.old_fields.get(field_id))
        if self.followers != self.ticket.follower_ids:
            out.append(
                state._event(
                    "FollowerChange",
                    previous_followers=list(self.ticket.follower_ids),
                    current_followers=list(self.followers),
                )
            )
        if self.ccs != self.ticket.email_cc_ids:
            out.append(
                state._event(
                    "EmailCcChange",
                    previous_email_ccs=list(self.ticket.email_cc_ids),
                    current_email_ccs=list(self.ccs),
                )
            )
        return out

    def commit(self, at: datetime) -> None:
        ticket = self.ticket
        for key in self.SCALARS:
            setattr(ticket, key, self.new[key])
        ticket.tags = self.tags
        ticket.custom_fields = self.fields
        ticket.follower_ids = self.followers
        ticket.email_cc_ids = self.ccs
        ticket.collaborator_ids = list(dict.fromkeys([*self.collaborators, *self.followers, *self.ccs]))
        if self.comment is not None:
            if self.creating:
                ticket.description = self.comment["body"]
                ticket.is_public = self.comment["public"]
            elif self.comment["public"]:
                ticket.is_public = True
        ticket.updated_at = at
        ticket.generated_timestamp = unix(at)


def _parse_instant(value: Any) -> datetime:
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise invalid("due_at", f"Due at: {value} is not a valid date") from None
    return to_second(parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC))


def _coerce_field_value(ticket_field: TicketField, value: Any) -> Any:
    """Validate a custom field value like Zendesk does and store it as Zendesk returns it."""
    name = f"{ticket_field.title}"
    if value is None or value == "":
        return False if ticket_field.type == "checkbox" else None
    kind = ticket_field.type
    if kind == "checkbox":
        if isinstance(value, bool):
            return value
        if str(value).lower() in ("true", "false", "1", "0"):
            return str(value).lower() in ("true", "1")
        raise invalid(name, f"{name}: {value!r} is not a checkbox value")
    if kind == "integer":
        if isinstance(value, bool) or not re.fullmatch(r"-?\d+", str(value).strip()):
            raise invalid(name, f"{name}: {value!r} is not an integer")
        return str(int(str(value).strip()))
    if kind == "decimal":
        try:
            Decimal(str(value))
        except InvalidOperation:
            raise invalid(name, f"{name}: {value!r} is not a number") from None
        return str(value)
    if kind == "date":
        text = str(value)
        try:
            if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
                return date.fromisoformat(text).isoformat()
        except ValueError:
            pass
        raise invalid(name, f"{name}: {value!r} is not a date (YYYY-MM-DD)")
    if kind == "regexp":
        pattern = ticket_field.regexp_for_validation or ".*"
        if not re.fullmatch(pattern, str(value)):
            raise invalid(name, f"{name}: {value!r} does not match {pattern}")
        return str(value)
    if kind == "tagger":
        if str(value) not in {o.value for o in ticket_field.options}:
            raise invalid(name, f"{name}: {value!r} is not one of the field's options")
        return str(value)
    if kind == "multiselect":
        values = [value] if isinstance(value, str) else list(value)
        allowed = {o.value for o in ticket_field.options}
        unknown = [v for v in values if v not in allowed]
        if unknown:
            raise invalid(name, f"{name}: {unknown!r} are not options of the field")
        return values
    if kind == "lookup":
        return str(value)
    return str(value)
