"""``settings:`` of a ``type: zendesk`` tracker, validated like every connector's (strict, with file and line).

Secrets are never settings: ``token_env`` / ``oauth_token_env`` name the environment variables that hold
them. Either ``subdomain`` (``acme`` for ``https://acme.zendesk.com``) or ``base_url`` (a sandbox, a proxy,
a local test server; a path prefix is allowed) says where the instance is.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator

from casewarden.connectors.base import ConnectorSettings

__all__ = ["SETTINGS_EXAMPLE", "ZendeskSettings"]


class ZendeskSettings(ConnectorSettings):
    """Where the instance is, how to authenticate, how the policy maps onto it, and how hard to push."""

    subdomain: str | None = Field(
        None, pattern=r"^[a-z0-9][a-z0-9-]*$", description="acme for acme.zendesk.com"
    )
    base_url: str | None = Field(None, description="a full base URL instead of a subdomain")
    email: str | None = Field(None, description="the agent's e-mail, for API-token authentication")
    token_env: str | None = Field(None, description="environment variable holding the API token")
    oauth_token_env: str | None = Field(None, description="environment variable holding an OAuth token")
    level_field: str | None = Field(
        None, description="a drop-down field (by title) holding the level; none: Zendesk's priority"
    )
    custom_statuses: bool = Field(
        True, description="map statuses to custom ticket statuses (by agent label); else built-in statuses"
    )
    public_notes: bool = Field(
        False, description="notes as public replies (never, unless the policy says so)"
    )
    requests_per_minute: int = Field(
        200, ge=1, le=2500, description="casewarden's own share of the account's rate limit"
    )
    backfill_from: datetime | None = Field(None, description="the first run reads changes from here on")
    page_size: int = Field(1000, ge=1, le=1000, description="tickets per page of the export")
    events_page_size: int = Field(1000, ge=1, le=1000, description="audits per page of the events export")
    job_deadline: float = Field(30.0, gt=0, le=3600, description="seconds to wait for a bulk job")
    job_poll_interval: float = Field(1.0, gt=0, le=60, description="seconds between job polls")
    timeout: float = Field(30.0, gt=0, le=600, description="seconds per HTTP request")
    max_wait: float = Field(60.0, ge=0, le=3600, description="longest single wait a Retry-After may ask for")
    audit_scan_limit: int = Field(
        20,
        ge=0,
        description="markers of up to this many tickets are read from audits; more: the events export",
    )

    @field_validator("base_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        split = urlsplit(value)
        if split.scheme not in ("http", "https") or not split.netloc:
            raise ValueError(f"'{value}' is not an http(s) URL")
        if split.query or split.fragment or "@" in split.netloc:
            raise ValueError("the base URL takes no query, fragment or credentials")
        return value.rstrip("/")

    @field_validator("backfill_from")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value

    @model_validator(mode="after")
    def _where_and_who(self) -> ZendeskSettings:
        if (self.subdomain is None) == (self.base_url is None):
            raise ValueError("give exactly one of subdomain and base_url")
        if (self.token_env is None) == (self.oauth_token_env is None):
            raise ValueError("give exactly one of token_env (with email) and oauth_token_env")
        if self.token_env is not None and not self.email:
            raise ValueError("token_env needs email: Zendesk API tokens authenticate as <email>/token")
        return self

    @property
    def url(self) -> str:
        """The instance's base URL, without a trailing slash."""
        return self.base_url or f"https://{self.subdomain}.zendesk.com"


SETTINGS_EXAMPLE = (
    "subdomain: acme                 # https://acme.zendesk.com (or base_url: https://host/prefix)\n"
    "email: casewarden@acme.example  # the agent (an admin: the events export and bootstrap need one)\n"
    "token_env: ZENDESK_API_TOKEN    # the variable holding its API token (or oauth_token_env)\n"
    "custom_statuses: true           # statuses map to custom statuses by agent label\n"
    "# level_field: Severity         # a drop-down for levels instead of Zendesk's priority\n"
    "requests_per_minute: 200        # casewarden's share of the plan's limit\n"
    "# backfill_from: 2025-01-01T00:00:00Z\n"
)

#: Zendesk's built-in priorities, most urgent first: the default levels mapping
PRIORITIES = ("urgent", "high", "normal", "low")
#: built-in status per policy category (custom statuses fall back to these names when not activated)
BUILTIN_STATUS: dict[str, str] = {
    "new": "new",
    "open": "open",
    "pending": "pending",
    "hold": "hold",
    "solved": "solved",
    "closed": "closed",
}
StatusMode = Literal["custom", "builtin"]
