"""The in-memory Zendesk Support instance and the tracker-side API tests use to shape its history.

Every change to a ticket, whether it arrives over HTTP or from a test through the tracker-side
methods, goes through ``ZendeskState.apply_ticket_update`` (validated by ``updates.TicketUpdate``).
That keeps the audits, the incremental ticket events and ``generated_timestamp`` consistent: a test
that prepares history with ``add_comment``/``set_status`` sees exactly the audits an API write
would have left.

Time is never read from the machine: API writes are stamped with ``state.now`` (set by the test),
tracker-side writes with the instant the test passes. History only moves forward, as on the real
service, because the incremental exports rely on it (see ``exports.py``).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from tests.fakes.zendesk.records import (
    CUSTOM_FIELD_TYPES,
    MAX_CUSTOM_STATUSES,
    MAX_CUSTOM_STATUSES_PER_CATEGORY,
    MERGE_TAG,
    ROLES,
    STATUS_CATEGORIES,
    Account,
    ApiError,
    Audit,
    CustomStatus,
    FieldOption,
    Group,
    Organization,
    SlaPolicy,
    Ticket,
    TicketField,
    User,
    invalid,
    iso,
    not_found,
    to_second,
    unix,
)
from tests.fakes.zendesk.updates import TicketUpdate

# ------------------------------------------------------------------------------------------------
# The instance.


class ZendeskState:
    """One Zendesk account in memory, with the tracker-side API tests use to shape its history."""

    def __init__(self, base_url: str, now: datetime, account: Account | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self._now = to_second(now)
        self._history_at = self._now - timedelta(days=3650)
        self.account = account or Account()
        self.users: dict[int, User] = {}
        self.groups: dict[int, Group] = {}
        self.organizations: dict[int, Organization] = {}
        self.ticket_fields: dict[int, TicketField] = {}
        self.custom_statuses: dict[int, CustomStatus] = {}
        self.sla_policies: dict[int, SlaPolicy] = {}
        self.tickets: dict[int, Ticket] = {}
        # distinct id ranges per kind, so a test mixing up ids fails instead of passing by luck
        self._ticket_ids = itertools.count(1)
        self._user_ids = itertools.count(10_001)
        self._group_ids = itertools.count(20_001)
        self._org_ids = itertools.count(30_001)
        self._field_ids = itertools.count(40_001)
        self._option_ids = itertools.count(45_001)
        self._status_ids = itertools.count(50_001)
        self._sla_ids = itertools.count(60_001)
        self._audit_ids = itertools.count(1_000_001)
        self._event_ids = itertools.count(10_000_001)
        self._seed(self._now)

    # -- clock --------------------------------------------------------------------------------

    @property
    def now(self) -> datetime:
        return self._now

    @now.setter
    def now(self, value: datetime) -> None:
        value = to_second(value)
        if value < self._now:
            raise ValueError(f"the fake clock only moves forward ({iso(self._now)} -> {iso(value)})")
        self._now = value

    def advance(self, delta: timedelta) -> datetime:
        self.now = self._now + delta
        return self._now

    def _stamp(self, at: datetime | None) -> datetime:
        """The instant of a write: explicit (tracker side) or now (API); history never runs back."""
        stamped = self._now if at is None else to_second(at)
        if stamped < self._history_at:
            raise ValueError(
                f"write at {iso(stamped)} is before the last recorded change at {iso(self._history_at)}:"
                " Zendesk history only moves forward (the incremental exports rely on it)"
            )
        self._history_at = stamped
        return stamped

    # -- seed: what every new account has --------------------------------------------------------

    def _seed(self, at: datetime) -> None:
        self.admin = self.create_user("Admin", "admin@acme.example", role="admin", at=at)
        self.support_group = self.create_group("Support", at=at, default=True)
        for position, (kind, title) in enumerate(
            [
                ("subject", "Subject"),
                ("description", "Description"),
                ("status", "Status"),
                ("tickettype", "Type"),
                ("priority", "Priority"),
                ("group", "Group"),
                ("assignee", "Assignee"),
            ]
        ):
            fid = next(self._field_ids)
            self.ticket_fields[fid] = TicketField(
                fid, kind, title, at, at, position=position, system=True, required=kind == "subject"
            )
        labels = {"new": "New", "open": "Open", "pending": "Pending", "hold": "On-hold", "solved": "Solved"}
        for category, label in labels.items():
            sid = next(self._status_ids)
            self.custom_statuses[sid] = CustomStatus(
                sid, category, label, label, "", "", at, at, active=True, default=True
            )

    # -- lookups ------------------------------------------------------------------------------

    def ticket(self, ticket: int | Ticket, *, include_deleted: bool = False) -> Ticket:
        ticket_id = ticket.id if isinstance(ticket, Ticket) else int(ticket)
        found = self.tickets.get(ticket_id)
        if found is None or (found.deleted and not include_deleted):
            raise not_found()
        return found

    def user(self, user: int | User) -> User:
        user_id = user.id if isinstance(user, User) else int(user)
        if user_id not in self.users:
            raise not_found()
        return self.users[user_id]

    def user_by_email(self, email: str) -> User | None:
        email = email.lower()
        return next((u for u in self.users.values() if u.email.lower() == email), None)

    def custom_fields(self) -> list[TicketField]:
        return [f for f in self.ticket_fields.values() if f.is_custom]

    def default_status_for(self, category: str) -> CustomStatus:
        return next(s for s in self.custom_statuses.values() if s.status_category == category and s.default)

    def tickets_by_external_id(self, external_id: str) -> list[Ticket]:
        return [t for t in self.tickets.values() if t.external_id == external_id and not t.deleted]

    # -- tracker-side creation of configuration ----------------------------------------------------

    def create_user(
        self,
        name: str,
        email: str,
        *,
        role: str = "end-user",
        time_zone: str = "Europe/Amsterdam",
        organization_id: int | None = None,
        external_id: str | None = None,
        at: datetime | None = None,
    ) -> User:
        if role not in ROLES:
            raise invalid("role", f"role {role!r} is not one of {ROLES}")
        if self.user_by_email(email) is not None:
            raise invalid("email", f"Email: {email} is already being used by another user")
        stamped = self._stamp(at)
        user = User(next(self._user_ids), name, email, role, time_zone, organization_id, stamped, stamped)
        user.external_id = external_id
        self.users[user.id] = user
        return user

    def create_group(
        self, name: str, *, description: str = "", at: datetime | None = None, default: bool = False
    ) -> Group:
        stamped = self._stamp(at)
        group = Group(next(self._group_ids), name, description, stamped, stamped, default=default)
        self.groups[group.id] = group
        return group

    def create_organization(
        self,
        name: str,
        *,
        organization_fields: Mapping[str, Any] | None = None,
        external_id: str | None = None,
        at: datetime | None = None,
    ) -> Organization:
        stamped = self._stamp(at)
        org = Organization(
            next(self._org_ids), name, stamped, stamped, dict(organization_fields or {}), external_id
        )
        self.organizations[org.id] = org
        return org

    def create_ticket_field(
        self,
        type: str,
        title: str,
        *,
        options: Sequence[tuple[str, str]] | Sequence[Mapping[str, Any]] = (),
        tag: str | None = None,
        regexp_for_validation: str | None = None,
        description: str = "",
        active: bool = True,
        required: bool = False,
        relationship_target_type: str | None = None,
        at: datetime | None = None,
    ) -> TicketField:
        if type not in CUSTOM_FIELD_TYPES:
            raise invalid("type", f"Type: {type} is not a valid ticket field type")
        if not title:
            raise invalid("title", "Title: cannot be blank")
        if type == "regexp" and not regexp_for_validation:
            raise invalid("regexp_for_validation", "Regexp for validation: cannot be blank")
        parsed = [(o["name"], o["value"]) if isinstance(o, Mapping) else (o[0], o[1]) for o in options]
        if type in ("tagger", "multiselect") and not parsed:
            raise invalid("custom_field_options", "Field options: a drop-down needs at least one option")
        stamped = self._stamp(at)
        fid = next(self._field_ids)
        ticket_field = TicketField(
            fid,
            type,
            title,
            stamped,
            stamped,
            description=description,
            active=active,
            required=required,
            position=len(self.ticket_fields),
            tag=tag,
            regexp_for_validation=regexp_for_validation,
            relationship_target_type=relationship_target_type,
        )
        for name, value in parsed:
            self._add_option(ticket_field, name, value)
        self.ticket_fields[fid] = ticket_field
        return ticket_field

    def _add_option(self, ticket_field: TicketField, name: str, value: str) -> FieldOption:
        value = str(value).lower().replace(" ", "_")
        if any(o.value == value for o in ticket_field.options):
            raise invalid("custom_field_options", f"Value: {value} is already taken")
        option = FieldOption(next(self._option_ids), name, value, len(ticket_field.options))
        ticket_field.options.append(option)
        return option

    def upsert_field_option(
        self, ticket_field: TicketField, name: str, value: str, option_id: int | None = None
    ) -> tuple[FieldOption, bool]:
        """Create or update an option of a drop-down field; returns it and whether it was created."""
        if ticket_field.type not in ("tagger", "multiselect"):
            raise invalid("custom_field_options", "Only drop-down and multi-select fields have options")
        if option_id is not None:
            option = next((o for o in ticket_field.options if o.id == option_id), None)
            if option is None:
                raise not_found()
            option.name, option.value = name, str(value)
            return option, False
        return self._add_option(ticket_field, name, value), True

    def create_custom_status(
        self,
        status_category: str,
        agent_label: str,
        *,
        end_user_label: str | None = None,
        description: str = "",
        end_user_description: str = "",
        active: bool = True,
        at: datetime | None = None,
    ) -> CustomStatus:
        if not self.account.custom_statuses_enabled:
            raise invalid("base", "Custom ticket statuses are not activated for this account")
        if status_category not in STATUS_CATEGORIES:
            raise invalid("status_category", f"Status category: {status_category} is invalid")
        if not agent_label:
            raise invalid("agent_label", "Agent label: cannot be blank")
        if len(self.custom_statuses) >= MAX_CUSTOM_STATUSES:
            raise invalid("base", f"The account cannot have more than {MAX_CUSTOM_STATUSES} custom statuses")
        in_category = [s for s in self.custom_statuses.values() if s.status_category == status_category]
        if len(in_category) >= MAX_CUSTOM_STATUSES_PER_CATEGORY:
            raise invalid(
                "status_category",
                f"A status category cannot have more than {MAX_CUSTOM_STATUSES_PER_CATEGORY} custom statuses",
            )
        if any(s.agent_label.lower() == agent_label.lower() for s in in_category):
            raise invalid("agent_label", f"Agent label: {agent_label} is already taken")
        stamped = self._stamp(at)
        sid = next(self._status_ids)
        status = CustomStatus(
            sid,
            status_category,
            agent_label,
            end_user_label or agent_label,
            description,
            end_user_description,
            stamped,
            stamped,
            active=active,
        )
        self.custom_statuses[sid] = status
        return status

    def update_custom_status(
        self, status_id: int, changes: Mapping[str, Any], *, at: datetime | None = None
    ) -> CustomStatus:
        status = self.custom_statuses.get(int(status_id))
        if status is None:
            raise not_found()
        if "status_category" in changes and changes["status_category"] != status.status_category:
            raise invalid("status_category", "Status category: cannot be changed")
        if changes.get("active") is False and status.default:
            raise invalid("active", "A default status cannot be deactivated")
        for key in ("agent_label", "end_user_label", "description", "end_user_description", "active"):
            if key in changes:
                setattr(status, key, changes[key])
        status.updated_at = self._stamp(at)
        return status

    def create_sla_policy(
        self,
        title: str,
        *,
        policy_metrics: Sequence[Mapping[str, Any]],
        filter: Mapping[str, Sequence[Mapping[str, Any]]] | None = None,
        description: str = "",
        at: datetime | None = None,
    ) -> SlaPolicy:
        if not self.account.sla_available:
            raise ApiError(403, "Forbidden", "SLA policies are not available on this plan")
        if not title:
            raise invalid("title", "Title: cannot be blank")
        stamped = self._stamp(at)
        pid = next(self._sla_ids)
        conditions = dict(filter or {})
        policy = SlaPolicy(
            pid,
            title,
            description,
            len(self.sla_policies) + 1,
            {
                "all": [dict(c) for c in conditions.get("all", [])],
                "any": [dict(c) for c in conditions.get("any", [])],
            },
            [dict(m) for m in policy_metrics],
            stamped,
            stamped,
        )
        self.sla_policies[pid] = policy
        return policy

    # -- tracker-side ticket history ---------------------------------------------------------------

    def create_ticket(
        self,
        subject: str,
        description: str,
        *,
        requester: int | User,
        created_at: datetime | None = None,
        submitter: int | User | None = None,
        public: bool = True,
        channel: str = "web",
        **fields: Any,
    ) -> Ticket:
        """A ticket as someone created it in Zendesk; ``fields`` use the API's names."""
        requester_id = self.user(requester).id
        submitter_id = self.user(submitter).id if submitter is not None else requester_id
        body = {"subject": subject, "comment": {"body": description, "public": public}, **fields}
        body["requester_id"] = requester_id
        return self.create_ticket_from_api(body, author_id=submitter_id, at=created_at, channel=channel)

    def add_comment(
        self,
        ticket: int | Ticket,
        at: datetime | None,
        author: int | User,
        body: str,
        public: bool = True,
        *,
        channel: str = "web",
        html_body: str | None = None,
    ) -> Audit:
        comment: dict[str, Any] = {"body": body, "public": public}
        if html_body is not None:
            comment["html_body"] = html_body
        author_id = self.user(author).id
        return self.update(ticket, at, {"comment": comment}, author=author_id, channel=channel)

    def set_status(
        self,
        ticket: int | Ticket,
        at: datetime | None,
        status: str | int,
        *,
        author: int | User | None = None,
    ) -> Audit:
        """``status`` is a status name or a custom status id."""
        key = "custom_status_id" if isinstance(status, int) else "status"
        return self.update(ticket, at, {key: status}, author=author)

    def set_priority(
        self,
        ticket: int | Ticket,
        at: datetime | None,
        priority: str | None,
        *,
        author: int | User | None = None,
    ) -> Audit:
        return self.update(ticket, at, {"priority": priority}, author=author)

    def set_field(
        self,
        ticket: int | Ticket,
        at: datetime | None,
        field_id: int,
        value: Any,
        *,
        author: int | User | None = None,
    ) -> Audit:
        return self.update(ticket, at, {"custom_fields": [{"id": field_id, "value": value}]}, author=author)

    def add_tags(
        self,
        ticket: int | Ticket,
        at: datetime | None,
        tags: Iterable[str],
        *,
        author: int | User | None = None,
    ) -> Audit:
        return self.update(ticket, at, {"additional_tags": list(tags)}, author=author)

    def remove_tags(
        self,
        ticket: int | Ticket,
        at: datetime | None,
        tags: Iterable[str],
        *,
        author: int | User | None = None,
    ) -> Audit:
        return self.update(ticket, at, {"remove_tags": list(tags)}, author=author)

    def update(
        self,
        ticket: int | Ticket,
        at: datetime | None,
        changes: Mapping[str, Any],
        *,
        author: int | User | None = None,
        channel: str = "web",
        metadata: Mapping[str, Any] | None = None,
    ) -> Audit:
        """Any ticket update in the API's body shape (``{"status": ..., "comment": {...}}``)."""
        author_id = self.user(author).id if author is not None else self.admin.id
        body = dict(changes)
        if metadata is not None:
            body["metadata"] = dict(metadata)
        return self.apply_ticket_update(
            self.ticket(ticket), body, author_id=author_id, at=at, channel=channel
        )

    def system_update(self, ticket: int | Ticket, at: datetime | None) -> None:
        """An update without ticket events: only ``generated_timestamp`` moves (Zendesk documents this)."""
        found = self.ticket(ticket, include_deleted=True)
        found.generated_timestamp = unix(self._stamp(at))

    def set_sla(self, ticket: int | Ticket, policy_metrics: list[dict[str, Any]] | None) -> None:
        """Pin the ``slas.policy_metrics`` a ticket read returns (None: compute them again)."""
        self.ticket(ticket).sla_override = policy_metrics

    def delete_ticket(
        self,
        ticket: int | Ticket,
        at: datetime | None = None,
        *,
        author: int | User | None = None,
        channel: str = "web",
    ) -> None:
        """Soft-delete: the API answers 404 from now on; the exports show the ticket as ``deleted``."""
        found = self.ticket(ticket)
        author_id = self.user(author).id if author is not None else self.admin.id
        stamped = self._stamp(at)
        event = self._event("Change", field_name="status", value="deleted", previous_value=found.status)
        audit = Audit(
            next(self._audit_ids), found.id, stamped, author_id, channel, [event], {}, export_only=True
        )
        found.audits.append(audit)
        found.deleted = True
        found.updated_at = stamped
        found.generated_timestamp = unix(stamped)

    def merge_tickets(
        self,
        target: int | Ticket,
        sources: Iterable[int | Ticket],
        at: datetime | None = None,
        *,
        author: int | User | None = None,
        target_comment: str | None = None,
        source_comment: str | None = None,
        target_comment_is_public: bool = False,
        source_comment_is_public: bool = False,
    ) -> None:
        """Merge as Zendesk does: each source is closed with a note and the ``closed_by_merge`` tag."""
        target_ticket = self.ticket(target)
        source_tickets = [self.ticket(s) for s in sources]
        for ticket in [target_ticket, *source_tickets]:
            if ticket.status == "closed":
                raise invalid("base", f"Ticket #{ticket.id} is closed and cannot be merged")
        if any(s.id == target_ticket.id for s in source_tickets):
            raise invalid("base", "A ticket cannot be merged into itself")
        author_id = self.user(author).id if author is not None else self.admin.id
        stamped = self._stamp(at)
        for source in source_tickets:
            note = source_comment or (
                f'This request was closed and merged into request #{target_ticket.id} "{target_ticket.subject}".'
            )
            body = {
                "status": "closed",
                "additional_tags": [MERGE_TAG],
                "comment": {"body": note, "public": source_comment_is_public},
            }
            self.apply_ticket_update(
                source, body, author_id=author_id, at=stamped, channel="merge", merge_ids=[target_ticket.id]
            )
        ids = ", ".join(f"#{s.id}" for s in source_tickets)
        note = target_comment or f"Requests {ids} were closed and merged into this request."
        self.apply_ticket_update(
            target_ticket,
            {"comment": {"body": note, "public": target_comment_is_public}},
            author_id=author_id,
            at=stamped,
            channel="merge",
            merge_ids=[s.id for s in source_tickets],
        )

    # -- the update engine -------------------------------------------------------------------------

    def create_ticket_from_api(
        self, body: Mapping[str, Any], *, author_id: int, at: datetime | None = None, channel: str = "api"
    ) -> Ticket:
        """``POST /tickets``: the ticket gets its id only once the whole body has validated."""
        comment = body.get("comment")
        if not isinstance(comment, Mapping) or not (comment.get("body") or comment.get("html_body")):
            raise invalid("description", "Description: cannot be blank")
        requester_id = self._resolve_requester(body, author_id)
        followup_source: Ticket | None = None
        if body.get("via_followup_source_id") is not None:
            followup_source = self.tickets.get(int(body["via_followup_source_id"]))
            if followup_source is None or followup_source.deleted:
                raise invalid("via_followup_source_id", "Via followup source: ticket not found")
            if followup_source.status != "closed":
                raise invalid(
                    "via_followup_source_id", "Via followup source: only closed tickets can have follow-ups"
                )
        requester = self.users[requester_id]
        stamped_preview = self._now if at is None else to_second(at)
        ticket = Ticket(
            id=0,
            subject="",
            description="",
            status="new",
            requester_id=requester_id,
            submitter_id=int(body.get("submitter_id") or author_id),
            created_at=stamped_preview,
            updated_at=stamped_preview,
            generated_timestamp=unix(stamped_preview),
            channel=channel,
            organization_id=requester.organization_id,
        )
        if followup_source is not None:
            ticket.via_followup_source_id = followup_source.id
            ticket.via_source = {
                "from": {"ticket_id": followup_source.id, "subject": followup_source.subject},
                "to": {},
                "rel": "follow_up",
            }
        fields = {k: v for k, v in body.items() if k not in ("requester", "requester_id", "submitter_id")}
        fields["requester_id"] = requester_id
        self.apply_ticket_update(ticket, fields, author_id=author_id, at=at, channel=channel, creating=True)
        if followup_source is not None:
            followup_source.followup_ids.append(ticket.id)
        return ticket

    def _resolve_requester(self, body: Mapping[str, Any], author_id: int) -> int:
        if body.get("requester_id") is not None:
            return self.user(int(body["requester_id"])).id
        requester = body.get("requester")
        if isinstance(requester, Mapping) and requester.get("email"):
            existing = self.user_by_email(str(requester["email"]))
            if existing is not None:
                return existing.id
            name = str(requester.get("name") or requester["email"])
            return self.create_user(name, str(requester["email"]), at=self._history_at).id
        return author_id

    def apply_ticket_update(
        self,
        ticket: Ticket,
        body: Mapping[str, Any],
        *,
        author_id: int,
        at: datetime | None,
        channel: str,
        creating: bool = False,
        merge_ids: Sequence[int] = (),
    ) -> Audit:
        """Validate ``body`` against ``ticket``, then apply it as one audit; all or nothing."""
        if ticket.deleted:
            raise not_found()
        if not creating and ticket.status == "closed":
            raise invalid("status", "Status: closed prevents ticket update")
        stamp = body.get("updated_stamp")
        if body.get("safe_update") and stamp is not None and str(stamp) != iso(ticket.updated_at):
            raise ApiError(
                409,
                "UpdateConflict",
                "Safe Update prevented the update due to outdated ticket data."
                " Please fetch the latest ticket data and try again.",
            )
        author = self.user(author_id)
        plan = TicketUpdate(self, ticket, author, creating)
        plan.read(body)
        events = plan.events()
        metadata_custom = (
            dict(body.get("metadata", {}).get("custom", {}))
            if isinstance(body.get("metadata"), Mapping)
            else {}
        )
        if not events and not metadata_custom and not creating:
            # Zendesk answers an empty update with the ticket and an audit, but stores nothing
            return Audit(0, ticket.id, self._now, author.id, channel, [], {})
        stamped = self._stamp(at)
        if creating:
            ticket.id = next(self._ticket_ids)
            ticket.created_at = stamped
            self.tickets[ticket.id] = ticket
        audit = Audit(next(self._audit_ids), ticket.id, stamped, author.id, channel, events, metadata_custom)
        if merge_ids:
            audit.via_source = {"from": {"ticket_ids": list(merge_ids)}, "to": {}, "rel": "merge"}
        for event in events:
            if event["type"] == "Comment":
                event["audit_id"] = audit.id
                event["created_at"] = iso(stamped)
        plan.commit(stamped)
        ticket.audits.append(audit)
        return audit

    def _event(self, type: str, **attrs: Any) -> dict[str, Any]:
        return {"id": next(self._event_ids), "type": type, **attrs}
