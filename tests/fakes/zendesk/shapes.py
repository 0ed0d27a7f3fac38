"""The JSON shapes the real API answers with, built from the records.

Kept apart from the model so the payloads can be checked against the published spec in one place.
Nulls are returned where the real API returns them (the spec often forgets ``nullable``).
"""

from __future__ import annotations

from typing import Any

from tests.fakes.zendesk.records import (
    Audit,
    CustomStatus,
    FieldOption,
    Group,
    Organization,
    SlaPolicy,
    Ticket,
    TicketField,
    User,
    iso,
    rails_zone,
)
from tests.fakes.zendesk.sla import ticket_slas
from tests.fakes.zendesk.state import ZendeskState

BRAND_ID = 360_000_001

# how the ticket events export names a channel (it uses a string where audits use an object)
VIA_NAMES = {
    "api": "Web service",
    "web": "Web form",
    "email": "Mail",
    "merge": "Web service",
    "rule": "Rule",
    "system": "System",
}


def via(channel: str, source: dict[str, Any]) -> dict[str, Any]:
    return {"channel": channel, "source": source}


def incident_parents(state: ZendeskState) -> set[int]:
    """The problem tickets that have incidents, found once for a whole page of tickets (per ticket, a
    page of N tickets on an instance of N would cost N x N)."""
    return {
        t.problem_id
        for t in state.tickets.values()
        if t.type == "incident" and t.problem_id is not None and not t.deleted
    }


def ticket_json(
    state: ZendeskState, ticket: Ticket, *, include_slas: bool = False, parents: set[int] | None = None
) -> dict[str, Any]:
    """``parents``: :func:`incident_parents`, when the caller renders many tickets at once."""
    custom_fields = [
        {"id": f.id, "value": ticket.custom_fields.get(f.id, False if f.type == "checkbox" else None)}
        for f in state.custom_fields()
    ]
    has_incidents = ticket.id in (incident_parents(state) if parents is None else parents)
    body: dict[str, Any] = {
        "url": f"{state.base_url}/api/v2/tickets/{ticket.id}.json",
        "id": ticket.id,
        "external_id": ticket.external_id,
        "via": via(ticket.channel, ticket.via_source),
        "created_at": iso(ticket.created_at),
        "updated_at": iso(ticket.updated_at),
        "generated_timestamp": ticket.generated_timestamp,
        "type": ticket.type,
        "subject": ticket.subject,
        "raw_subject": ticket.subject,
        "description": ticket.description,
        "priority": ticket.priority,
        "status": ticket.export_status,
        "recipient": None,
        "requester_id": ticket.requester_id,
        "submitter_id": ticket.submitter_id,
        "assignee_id": ticket.assignee_id,
        "organization_id": ticket.organization_id,
        "group_id": ticket.group_id,
        "collaborator_ids": list(ticket.collaborator_ids),
        "follower_ids": list(ticket.follower_ids),
        "email_cc_ids": list(ticket.email_cc_ids),
        "forum_topic_id": None,
        "problem_id": ticket.problem_id,
        "has_incidents": has_incidents,
        "is_public": ticket.is_public,
        "due_at": iso(ticket.due_at),
        "tags": list(ticket.tags),
        "custom_fields": custom_fields,
        "fields": [dict(f) for f in custom_fields],
        "satisfaction_rating": None,
        "sharing_agreement_ids": [],
        "followup_ids": list(ticket.followup_ids),
        "ticket_form_id": None,
        "brand_id": BRAND_ID,
        "allow_channelback": False,
        "allow_attachments": True,
        "from_messaging_channel": False,
    }
    if ticket.via_followup_source_id is not None:
        body["via_followup_source_id"] = ticket.via_followup_source_id
    if state.account.custom_statuses_enabled:
        body["custom_status_id"] = ticket.custom_status_id
    if include_slas:
        body["slas"] = {"policy_metrics": ticket_slas(state, ticket)}
    return body


def audit_json(state: ZendeskState, audit: Audit) -> dict[str, Any]:
    system = {
        "client": audit.client,
        "ip_address": "127.0.0.1",
        "location": "Amsterdam, NH, Netherlands",
        "latitude": 52.37,
        "longitude": 4.89,
    }
    return {
        "id": audit.id,
        "ticket_id": audit.ticket_id,
        "created_at": iso(audit.created_at),
        "author_id": audit.author_id,
        "metadata": {"system": system, "custom": dict(audit.metadata_custom)},
        "via": via(audit.channel, audit.via_source),
        "events": [dict(e) for e in audit.events],
    }


def ticket_event_json(state: ZendeskState, audit: Audit, *, comment_events: bool) -> dict[str, Any]:
    """An audit as the incremental ticket events export shows it (flatter, ``via`` as a string)."""
    via_name = VIA_NAMES.get(audit.channel, audit.channel.title())
    children: list[dict[str, Any]] = []
    for event in audit.events:
        common = {"id": event["id"], "via": via_name, "via_reference_id": None}
        kind = event["type"]
        if kind == "Comment":
            if comment_events:
                comment = {k: v for k, v in event.items() if k != "type"}
                children.append(
                    {
                        **comment,
                        "via": via(audit.channel, audit.via_source),
                        "via_reference_id": None,
                        "type": "Comment",
                        "event_type": "Comment",
                    }
                )
            else:
                children.append(
                    {
                        **common,
                        "comment_present": True,
                        "comment_public": event["public"],
                        "event_type": "Comment",
                    }
                )
        elif kind in ("Create", "Change"):
            name = event["field_name"]
            child: dict[str, Any] = dict(common)
            if name.isdigit():
                child["custom_ticket_fields"] = {name: event["value"]}
            elif name == "tags":
                before = event.get("previous_value") or []
                child["tags"] = event["value"]
                child["added_tags"] = [t for t in event["value"] if t not in before]
                child["removed_tags"] = [t for t in before if t not in event["value"]]
            else:
                child[name] = event["value"]
            if kind == "Change":
                child["previous_value"] = event["previous_value"]
            child["event_type"] = kind
            children.append(child)
        else:
            children.append(
                {**common, **{k: v for k, v in event.items() if k not in ("id", "type")}, "event_type": kind}
            )
    body: dict[str, Any] = {
        "id": audit.id,
        "ticket_id": audit.ticket_id,
        "timestamp": int(audit.created_at.timestamp()),
        "created_at": iso(audit.created_at),
        "updater_id": audit.author_id,
        "via": via_name,
        "system": audit_json(state, audit)["metadata"]["system"],
        "event_type": "Audit",
        "child_events": children,
    }
    if audit.via_source.get("rel") == "merge":
        body["merged_ticket_ids"] = list(audit.via_source["from"].get("ticket_ids", []))
    return body


def user_json(state: ZendeskState, user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        "url": f"{state.base_url}/api/v2/users/{user.id}.json",
        "name": user.name,
        "email": user.email,
        "created_at": iso(user.created_at),
        "updated_at": iso(user.updated_at),
        "time_zone": rails_zone(user.iana_time_zone),
        "iana_time_zone": user.iana_time_zone,
        "phone": None,
        "shared_phone_number": None,
        "photo": None,
        "locale_id": 1,
        "locale": "en-US",
        "organization_id": user.organization_id,
        "role": user.role,
        "verified": True,
        "external_id": user.external_id,
        "tags": list(user.tags),
        "alias": "",
        "active": user.active,
        "shared": False,
        "shared_agent": False,
        "last_login_at": None,
        "two_factor_auth_enabled": None,
        "signature": None,
        "details": "",
        "notes": "",
        "role_type": None,
        "custom_role_id": None,
        "moderator": user.is_agent,
        "ticket_restriction": None if user.is_agent else "requested",
        "only_private_comments": False,
        "restricted_agent": False,
        "suspended": False,
        "default_group_id": user.default_group_id,
        "report_csv": user.role == "admin",
        "user_fields": {},
    }


def group_json(state: ZendeskState, group: Group) -> dict[str, Any]:
    return {
        "url": f"{state.base_url}/api/v2/groups/{group.id}.json",
        "id": group.id,
        "is_public": group.is_public,
        "name": group.name,
        "description": group.description,
        "default": group.default,
        "deleted": group.deleted,
        "created_at": iso(group.created_at),
        "updated_at": iso(group.updated_at),
    }


def organization_json(state: ZendeskState, org: Organization) -> dict[str, Any]:
    return {
        "url": f"{state.base_url}/api/v2/organizations/{org.id}.json",
        "id": org.id,
        "name": org.name,
        "shared_tickets": False,
        "shared_comments": False,
        "external_id": org.external_id,
        "created_at": iso(org.created_at),
        "updated_at": iso(org.updated_at),
        "domain_names": list(org.domain_names),
        "details": org.details,
        "notes": org.notes,
        "group_id": org.group_id,
        "tags": list(org.tags),
        "organization_fields": dict(org.organization_fields),
    }


def option_json(state: ZendeskState, ticket_field: TicketField, option: FieldOption) -> dict[str, Any]:
    return {
        "id": option.id,
        "url": f"{state.base_url}/api/v2/ticket_fields/{ticket_field.id}/options/{option.id}.json",
        "name": option.name,
        "raw_name": option.name,
        "value": option.value,
        "position": option.position,
        "default": option.default,
    }


def ticket_field_json(state: ZendeskState, ticket_field: TicketField) -> dict[str, Any]:
    body: dict[str, Any] = {
        "url": f"{state.base_url}/api/v2/ticket_fields/{ticket_field.id}.json",
        "id": ticket_field.id,
        "type": ticket_field.type,
        "title": ticket_field.title,
        "raw_title": ticket_field.title,
        "description": ticket_field.description,
        "raw_description": ticket_field.description,
        "position": ticket_field.position,
        "active": ticket_field.active,
        "required": ticket_field.required,
        "collapsed_for_agents": False,
        "regexp_for_validation": ticket_field.regexp_for_validation,
        "title_in_portal": ticket_field.title,
        "raw_title_in_portal": ticket_field.title,
        "visible_in_portal": ticket_field.system,
        "editable_in_portal": ticket_field.system,
        "required_in_portal": False,
        "agent_can_edit": True,
        "tag": ticket_field.tag,
        "created_at": iso(ticket_field.created_at),
        "updated_at": iso(ticket_field.updated_at),
        "removable": not ticket_field.system,
        "key": None,
        "agent_description": None,
    }
    if ticket_field.type in ("tagger", "multiselect"):
        body["custom_field_options"] = [option_json(state, ticket_field, o) for o in ticket_field.options]
    if ticket_field.type == "lookup":
        body["relationship_target_type"] = ticket_field.relationship_target_type or "zen:user"
        body["relationship_filter"] = {}
    if ticket_field.type in ("status", "custom_status") and state.account.custom_statuses_enabled:
        body["custom_statuses"] = [custom_status_json(s) for s in state.custom_statuses.values()]
    return body


def custom_status_json(status: CustomStatus) -> dict[str, Any]:
    return {
        "id": status.id,
        "status_category": status.status_category,
        "agent_label": status.agent_label,
        "raw_agent_label": status.agent_label,
        "end_user_label": status.end_user_label,
        "raw_end_user_label": status.end_user_label,
        "description": status.description,
        "raw_description": status.description,
        "end_user_description": status.end_user_description,
        "raw_end_user_description": status.end_user_description,
        "active": status.active,
        "default": status.default,
        "created_at": iso(status.created_at),
        "updated_at": iso(status.updated_at),
    }


def sla_policy_json(state: ZendeskState, policy: SlaPolicy) -> dict[str, Any]:
    return {
        "url": f"{state.base_url}/api/v2/slas/policies/{policy.id}.json",
        "id": policy.id,
        "title": policy.title,
        "description": policy.description,
        "position": policy.position,
        "filter": {
            "all": [dict(c) for c in policy.filter["all"]],
            "any": [dict(c) for c in policy.filter["any"]],
        },
        "policy_metrics": [dict(m) for m in policy.policy_metrics],
        "created_at": iso(policy.created_at),
        "updated_at": iso(policy.updated_at),
    }


def account_settings_json(state: ZendeskState) -> dict[str, Any]:
    account = state.account
    return {
        "settings": {
            "tickets": {
                "custom_statuses_enabled": account.custom_statuses_enabled,
                "status_hold": account.status_hold,
                "tagging": True,
                "collaboration": True,
                "follower_and_email_cc_collaborations": True,
                "comments_public_by_default": True,
                "agent_ticket_deletion": True,
                "list_newest_comments_first": True,
                "markdown_ticket_comments": False,
                "rich_text_comments": True,
                "assign_tickets_upon_solve": True,
            },
            "active_features": {
                "business_hours": account.sla_available,
                "on_hold_status": account.status_hold,
                "ticket_tagging": True,
                "ticket_forms": account.plan in ("professional", "enterprise"),
                "user_org_fields": True,
                "customer_satisfaction": True,
            },
            "lotus": {"prefer_lotus": True, "reporting": True},
            "api": {"accepted_api_agreement": True},
        }
    }
