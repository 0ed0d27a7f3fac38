"""``settings:`` of a ``type: jira`` tracker: where the site is, how to sign in, what to read and write.

Secrets are never settings: ``token_env`` (Cloud: e-mail + API token) and ``pat_env`` (Data Center:
personal access token) name environment variables. Everything a Jira admin configures (which custom field
holds what, which link type means "duplicate") is named here by its Jira name, so a deployment reads like
the site it governs.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from casewarden.connectors.base import ConnectorSettings

__all__ = ["DEFAULT_LINK_TYPES", "JiraSettings", "LinkTypeSpec"]


class LinkTypeSpec(BaseModel):
    """A Jira issue link type for one policy link kind, and from which end: ``outward`` means the case
    that has the link is the one the outward description speaks of ("this issue *duplicates* the
    other"); ``both`` means either end (symmetric types such as Relates)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: str
    direction: Literal["outward", "inward", "both"] = "outward"


DEFAULT_LINK_TYPES: dict[str, LinkTypeSpec] = {
    "duplicate_of": LinkTypeSpec(type="Duplicate", direction="outward"),
    "related": LinkTypeSpec(type="Relates", direction="both"),
}


class JiraSettings(ConnectorSettings):
    """See the module docstring; ``SETTINGS_EXAMPLE`` on the connector shows every key in use."""

    server: str = Field(description="the site's base URL, e.g. https://acme.atlassian.net")
    deployment: Literal["auto", "cloud", "datacenter"] = Field(
        "auto", description="auto: read serverInfo's deploymentType"
    )
    email: str | None = Field(None, description="Cloud: the account's e-mail (with token_env)")
    token_env: str | None = Field(None, description="Cloud: variable holding the API token")
    pat_env: str | None = Field(None, description="Data Center: variable holding a personal access token")
    projects: tuple[str, ...] = Field(min_length=1, description="project keys governed")
    jql: str | None = Field(None, description="extra JQL restriction, AND-ed to the project clause")
    timeout: float = Field(30.0, gt=0, le=600, description="seconds per HTTP request (always set)")
    max_attempts: int = Field(5, ge=1, le=20, description="tries per call on 429/5xx")
    page_size: int = Field(100, ge=1, le=100, description="issues per search page")
    overlap_minutes: int = Field(5, ge=1, le=120, description="how far each read re-reads behind")
    level_field: str | None = Field(
        None, description="a select custom field holding the level; none: Jira's priority"
    )
    group_field: str | None = Field(None, description="custom field assign_group writes (none: unsupported)")
    link_types: dict[str, LinkTypeSpec] = Field(default_factory=lambda: dict(DEFAULT_LINK_TYPES))
    jsm: bool | None = Field(None, description="internal JSM comments; none: from the project type")
    related_issue_type: str | None = Field(None, description="issue type of open_related issues")
    marker_property: str = Field("casewarden.markers", description="issue property holding markers")
    bulk_min: int = Field(
        10,
        ge=0,
        le=1000,
        description="Cloud: a label change identical on this many issues is one bulk edit; 0: never",
    )
    bulk_wait: float = Field(60.0, gt=0, le=600, description="Cloud: seconds to wait for a bulk edit task")
    changelog_page: int = Field(1000, ge=1, le=10000, description="histories per bulk changelog page")
    jsm_slas: dict[str, str] = Field(
        default_factory=lambda: {
            "Time to first response": "first_response",
            "Time to resolution": "resolution",
        },
        description="JSM SLA name -> policy metric, for the cross-check (report/doctor)",
    )

    @model_validator(mode="after")
    def _credentials(self) -> JiraSettings:
        if self.deployment == "cloud" and not (self.email and self.token_env):
            raise ValueError("Jira Cloud needs 'email' and 'token_env'")
        if self.deployment == "datacenter" and not self.pat_env:
            raise ValueError("Jira Data Center needs 'pat_env'")
        if not (self.pat_env or (self.email and self.token_env)):
            raise ValueError("give 'email' + 'token_env' (Cloud) or 'pat_env' (Data Center)")
        return self


SETTINGS_EXAMPLE = """\
server: https://acme.atlassian.net   # the site's base URL
email: casewarden-bot@acme.example   # Cloud: the account's e-mail ...
token_env: JIRA_API_TOKEN            # ... and the variable holding its API token
# pat_env: JIRA_PAT                  # Data Center: the variable holding a personal access token
projects: [SUP]                      # project keys casewarden governs
timeout: 30                          # seconds per request
# level_field: Support level         # a select field for levels (default: Jira priority)
# group_field: Support team          # a field assign_group writes (default: not supported)
# link_types: {duplicate_of: {type: Duplicate, direction: outward}, related: {type: Relates, direction: both}}
# jsm_slas: {Time to first response: first_response, Time to resolution: resolution}   # cross-check
"""
