"""Where the case data a policy needs comes from on each tracker.

Policies need more than levels and statuses: the case's region (it picks the business-hours calendar),
its channel, whether the requester is a designated contact, milestones (restoration, fixes, a customer
escalation), intake checklist items, an On Hold set time and an estimated time of resolution. Every
tracker keeps these somewhere else (a custom field, a tag, an organization attribute, the requester's
time zone), so the deployment says where, per tracker, in the same words for every connector::

    case_data:
      region: {organization_field: support_region}
      channel: {native: true}                       # Zendesk via.channel, JSM request channel
      requester_authorized: {tag: designated_contact}
      milestones:
        restoration: {field: Restored at}
        customer_escalation: {tag: customer_escalated}
      checklist:
        logs: {field: Log bundle}

A missing entry means the connector's own default (the embedded tracker's columns). A connector lists the
source kinds it understands in ``SOURCE_KINDS``; a deployment asking for another is refused at load.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["SOURCE_KINDS", "CaseSources", "Source", "SourceView", "resolve_text"]

SOURCE_KINDS = ("field", "tag", "tag_prefix", "organization_field", "requester_timezone", "native")


class Source(BaseModel):
    """One place on the tracker; exactly one kind is set. ``map`` translates tracker values to policy
    values (for ``requester_timezone``, keys may be zone prefixes such as ``Europe/``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    field: str | None = Field(None, description="a ticket or issue field, by name")
    tag: str | None = Field(None, description="a tag or label; its presence means true / the milestone")
    tag_prefix: str | None = Field(
        None, description="tags like region-emea: the rest of the tag is the value"
    )
    organization_field: str | None = Field(None, description="a field of the requester's organization")
    requester_timezone: bool = Field(False, description="the requester's time zone (for the region)")
    native: bool = Field(False, description="the tracker's own notion (e.g. Zendesk via.channel)")
    map: dict[str, str] = Field(default_factory=dict, description="tracker value -> policy value")

    @model_validator(mode="after")
    def _exactly_one(self) -> Source:
        kinds = [k for k in SOURCE_KINDS if getattr(self, k) not in (None, False)]
        if len(kinds) != 1:
            raise ValueError(
                f"give exactly one of {', '.join(SOURCE_KINDS)} (got {', '.join(kinds) or 'none'})"
            )
        return self

    @property
    def kind(self) -> str:
        return next(k for k in SOURCE_KINDS if getattr(self, k) not in (None, False))

    def translate(self, value: str | None) -> str | None:
        """A tracker value through ``map`` (longest matching prefix for time zones); unmapped values
        pass as they are when there is no map, else become None (unknown)."""
        if value is None or value == "":
            return None
        if not self.map:
            return value
        if value in self.map:
            return self.map[value]
        if self.requester_timezone:
            prefixes = sorted((k for k in self.map if value.startswith(k)), key=len, reverse=True)
            return self.map[prefixes[0]] if prefixes else None
        return None


class CaseSources(BaseModel):
    """Per tracker: where each item of case data comes from (None: the connector's default)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    region: Source | None = None
    channel: Source | None = None
    case_type: Source | None = None
    requester_authorized: Source | None = None
    hold_until: Source | None = None
    etr: Source | None = None
    milestones: dict[str, Source] = Field(default_factory=dict, description="milestone name -> source")
    checklist: dict[str, Source] = Field(default_factory=dict, description="intake checklist item -> source")

    def all(self) -> list[tuple[str, Source]]:
        """Every configured source with the name a message should use for it."""
        out = [
            (n, s)
            for n in ("region", "channel", "case_type", "requester_authorized", "hold_until", "etr")
            if (s := getattr(self, n)) is not None
        ]
        out += [(f"milestones.{n}", s) for n, s in self.milestones.items()]
        out += [(f"checklist.{n}", s) for n, s in self.checklist.items()]
        return out


@dataclass(frozen=True)
class SourceView:
    """What a connector read of one case, in the shape :func:`resolve_text` looks things up in."""

    fields: Mapping[str, Any] = field(default_factory=dict)  # field name -> value as text (None: empty)
    tags: frozenset[str] = frozenset()
    organization_fields: Mapping[str, Any] = field(default_factory=dict)
    requester_timezone: str | None = None
    native: Mapping[str, Any] = field(default_factory=dict)  # item name -> the tracker's own value


def resolve_text(source: Source, view: SourceView, item: str) -> str | None:
    """The policy value of ``item`` (region, channel, ...) from ``source`` on one case, or None.

    Tag sources give ``"true"`` when the tag is present (for booleans and checklist items), tag-prefix
    sources the rest of the first matching tag."""
    kind = source.kind
    raw: Any
    if kind == "field":
        raw = view.fields.get(source.field or "")
    elif kind == "tag":
        raw = "true" if source.tag in view.tags else None
        return raw if not source.map else source.translate(raw)
    elif kind == "tag_prefix":
        prefix = source.tag_prefix or ""
        raw = next((t[len(prefix) :] for t in sorted(view.tags) if t.startswith(prefix)), None)
    elif kind == "organization_field":
        raw = view.organization_fields.get(source.organization_field or "")
    elif kind == "requester_timezone":
        raw = view.requester_timezone
    else:
        raw = view.native.get(item)
    if isinstance(raw, bool):
        raw = "true" if raw else None
    return source.translate(None if raw is None else str(raw))
