"""The records of the fake Zendesk instance, the API errors it answers with, and time helpers.

Zendesk speaks whole seconds in UTC (``2025-01-31T10:00:00Z``); every instant the fake stores is
truncated to the second, so what a test compares is what the API would show.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

STATUSES = ("new", "open", "pending", "hold", "solved", "closed")
STATUS_CATEGORIES = ("new", "open", "pending", "hold", "solved")
PRIORITIES = ("low", "normal", "high", "urgent")
TICKET_TYPES = ("problem", "incident", "question", "task")
ROLES = ("end-user", "agent", "admin")
CUSTOM_FIELD_TYPES = (
    "text",
    "textarea",
    "checkbox",
    "date",
    "integer",
    "decimal",
    "regexp",
    "multiselect",
    "tagger",
    "lookup",
)
MAX_CUSTOM_STATUSES = 300
MAX_CUSTOM_STATUSES_PER_CATEGORY = 100
MERGE_TAG = "closed_by_merge"

# Zendesk names time zones by Rails' friendly names; a few common ones, the rest are derived.
_RAILS_ZONES = {
    "Europe/Amsterdam": "Amsterdam",
    "Europe/Berlin": "Berlin",
    "Europe/London": "London",
    "Europe/Paris": "Paris",
    "America/New_York": "Eastern Time (US & Canada)",
    "America/Chicago": "Central Time (US & Canada)",
    "America/Denver": "Mountain Time (US & Canada)",
    "America/Los_Angeles": "Pacific Time (US & Canada)",
    "Asia/Tokyo": "Tokyo",
    "Australia/Sydney": "Sydney",
    "UTC": "UTC",
    "Etc/UTC": "UTC",
}


# ------------------------------------------------------------------------------------------------
# Errors the API answers with (the router turns them into HTTP responses).


class ApiError(Exception):
    """An error the real API would answer with; ``status`` and the JSON body it would carry."""

    def __init__(
        self, status: int, error: str, description: str, details: Mapping[str, Any] | None = None
    ) -> None:
        super().__init__(f"{status} {error}: {description}")
        self.status = status
        self.error = error
        self.description = description
        self.details = dict(details) if details else None

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"error": self.error, "description": self.description}
        if self.details is not None:
            body["details"] = self.details
        return body

    def summary(self) -> str:
        """One line, as a job result's ``details`` carries it."""
        if not self.details:
            return self.description
        parts = [d["description"] for entries in self.details.values() for d in entries]
        return "; ".join(parts) or self.description


def not_found() -> ApiError:
    return ApiError(404, "RecordNotFound", "Not found")


def invalid(field_name: str, message: str) -> ApiError:
    return ApiError(
        422,
        "RecordInvalid",
        "Record validation errors",
        {field_name: [{"description": message, "error": "InvalidValue"}]},
    )


def bad_request(error: str, description: str) -> ApiError:
    return ApiError(400, error, description)


# ------------------------------------------------------------------------------------------------
# Time helpers.


def to_second(at: datetime) -> datetime:
    if at.tzinfo is None:
        raise ValueError(f"naive datetime {at!r}: the fake only takes timezone-aware instants")
    return at.astimezone(UTC).replace(microsecond=0)


def iso(at: datetime | None) -> str | None:
    return None if at is None else at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def unix(at: datetime) -> int:
    return int(at.timestamp())


def rails_zone(iana: str) -> str:
    return _RAILS_ZONES.get(iana, iana.rsplit("/", 1)[-1].replace("_", " "))


def normalize_tags(tags: Iterable[str]) -> list[str]:
    """Zendesk lowercases tags and splits a tag with spaces into several."""
    out: list[str] = []
    for tag in tags:
        for part in str(tag).lower().split():
            if part not in out:
                out.append(part)
    return out


# ------------------------------------------------------------------------------------------------
# Records.


@dataclass
class User:
    id: int
    name: str
    email: str
    role: str
    iana_time_zone: str
    organization_id: int | None
    created_at: datetime
    updated_at: datetime
    active: bool = True
    external_id: str | None = None
    default_group_id: int | None = None
    tags: list[str] = field(default_factory=list)

    @property
    def is_agent(self) -> bool:
        return self.role in ("agent", "admin")


@dataclass
class Group:
    id: int
    name: str
    description: str
    created_at: datetime
    updated_at: datetime
    default: bool = False
    deleted: bool = False
    is_public: bool = True


@dataclass
class Organization:
    id: int
    name: str
    created_at: datetime
    updated_at: datetime
    organization_fields: dict[str, Any] = field(default_factory=dict)
    external_id: str | None = None
    group_id: int | None = None
    domain_names: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    details: str | None = None
    notes: str | None = None


@dataclass
class FieldOption:
    id: int
    name: str
    value: str
    position: int
    default: bool = False


@dataclass
class TicketField:
    id: int
    type: str
    title: str
    created_at: datetime
    updated_at: datetime
    description: str = ""
    active: bool = True
    required: bool = False
    position: int = 0
    tag: str | None = None
    regexp_for_validation: str | None = None
    options: list[FieldOption] = field(default_factory=list)
    relationship_target_type: str | None = None
    system: bool = False

    @property
    def is_custom(self) -> bool:
        return not self.system


@dataclass
class CustomStatus:
    id: int
    status_category: str
    agent_label: str
    end_user_label: str
    description: str
    end_user_description: str
    created_at: datetime
    updated_at: datetime
    active: bool = True
    default: bool = False


@dataclass
class SlaPolicy:
    id: int
    title: str
    description: str
    position: int
    filter: dict[str, list[dict[str, Any]]]
    policy_metrics: list[dict[str, Any]]
    created_at: datetime
    updated_at: datetime


@dataclass
class Audit:
    """One update of one ticket; ``events`` are in the audit shape (Create/Change/Comment...)."""

    id: int
    ticket_id: int
    created_at: datetime
    author_id: int
    channel: str
    events: list[dict[str, Any]]
    metadata_custom: dict[str, Any]
    via_source: dict[str, Any] = field(default_factory=lambda: {"from": {}, "to": {}, "rel": None})
    client: str = "casewarden-fake"
    #: only in the incremental ticket events export, never in the audits API (deletions)
    export_only: bool = False


@dataclass
class Ticket:
    id: int
    subject: str
    description: str
    status: str
    requester_id: int
    submitter_id: int
    created_at: datetime
    updated_at: datetime
    generated_timestamp: int
    channel: str
    custom_status_id: int | None = None
    priority: str | None = None
    type: str | None = None
    problem_id: int | None = None
    group_id: int | None = None
    assignee_id: int | None = None
    organization_id: int | None = None
    external_id: str | None = None
    due_at: datetime | None = None
    tags: list[str] = field(default_factory=list)
    custom_fields: dict[int, Any] = field(default_factory=dict)
    collaborator_ids: list[int] = field(default_factory=list)
    follower_ids: list[int] = field(default_factory=list)
    email_cc_ids: list[int] = field(default_factory=list)
    via_source: dict[str, Any] = field(default_factory=lambda: {"from": {}, "to": {}, "rel": None})
    via_followup_source_id: int | None = None
    followup_ids: list[int] = field(default_factory=list)
    is_public: bool = True
    deleted: bool = False
    audits: list[Audit] = field(default_factory=list)
    #: SLA data a test set by hand; replaces the computed ``slas`` sideload when not None
    sla_override: list[dict[str, Any]] | None = None

    @property
    def export_status(self) -> str:
        return "deleted" if self.deleted else self.status

    def comments(self) -> Iterator[dict[str, Any]]:
        for audit in self.audits:
            for event in audit.events:
                if event["type"] == "Comment":
                    yield event


@dataclass
class Account:
    """What the account has switched on; the API's answers depend on it."""

    subdomain: str = "acme"
    plan: str = "enterprise"
    custom_statuses_enabled: bool = True
    sla_available: bool = True
    status_hold: bool = True
    rate_limit_per_minute: int = 700
