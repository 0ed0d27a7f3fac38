"""``casewarden bootstrap`` on Zendesk: show, then create, the ticket fields, drop-down options and custom
statuses a deployment needs; adopt one that exists with the same name (a field's title, a status's
agent label, case-insensitively) and never create a second.

Field types: Zendesk has no datetime field, so due instants go to **text** fields holding ISO-8601 UTC
(``2025-03-04T09:00:00Z``: text order is time order, and views can sort on it); numbers to **integer**
fields; selects to **drop-downs** (``tagger``, whose option values are also tags); labels need no field
(they are tags). Zendesk's priorities and its ``closed`` status are built in; a level mapped to anything
else than a priority, or a status Zendesk cannot create, is a *manual* step saying what to do.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from zenpy.lib.api_objects import CustomFieldOption, CustomStatus, TicketField

from casewarden.connectors.base import BootstrapNeeds, BootstrapStep, FieldType, NeededField
from casewarden.connectors.zendesk.settings import PRIORITIES

if TYPE_CHECKING:
    from casewarden.connectors.zendesk.connector import ZendeskConnector

__all__ = ["FIELD_TYPES", "apply_steps", "option_value", "plan"]

FIELD_TYPES: dict[FieldType, str] = {
    FieldType.DATETIME: "text",
    FieldType.TEXT: "text",
    FieldType.NUMBER: "integer",
    FieldType.SELECT: "tagger",
}
_CATEGORIES = ("new", "open", "pending", "hold", "solved")


def option_value(field_title: str, option: str) -> str:
    """A drop-down option's value (Zendesk also uses it as a tag, so it must be unique account-wide)."""
    return "_".join(re.sub(r"[^a-z0-9]+", "_", part.lower()).strip("_") for part in (field_title, option))


def _field_detail(kind: str, options: Sequence[str]) -> str:
    return f"{kind} field" + (f"; options: {', '.join(options)}" if options else "")


def plan(conn: ZendeskConnector, needs: BootstrapNeeds) -> list[BootstrapStep]:
    conn.catalogue.refresh()
    steps: list[BootstrapStep] = []
    wanted = list(needs.fields)
    level_field = conn.settings.level_field
    if level_field:
        levels = tuple(dict.fromkeys(conn.names.level_to_tracker(v) or v for v in needs.levels))
        wanted.append(
            NeededField(level_field, FieldType.SELECT, levels, "the level (instead of the priority)")
        )
    for need in wanted:
        steps += _field_steps(conn, need)
    for status in needs.statuses:
        steps.append(_status_step(conn, status.name, status.category))
    if not level_field:
        for value in needs.levels:
            tracker = value if value in PRIORITIES else conn.names.level_to_tracker(value)
            if tracker in PRIORITIES:
                steps.append(BootstrapStep("priority", value, f"Zendesk priority {tracker}", exists=True))
            else:
                steps.append(
                    BootstrapStep(
                        "priority",
                        value,
                        "not a Zendesk priority",
                        manual=f"map level '{value}' to one of {', '.join(PRIORITIES)} (or set level_field)",
                    )
                )
    return steps


def _field_steps(conn: ZendeskConnector, need: NeededField) -> list[BootstrapStep]:
    if need.type is FieldType.LABEL:
        return [BootstrapStep("tag", need.name, "kept as tags: no field needed", exists=True)]
    kind = FIELD_TYPES[need.type]
    found = conn.catalogue.field(need.name)
    if found is None:
        return [BootstrapStep("field", need.name, _field_detail(kind, need.options))]
    detail = f"{found.type} field #{found.id} (adopted by title)"
    if found.type != kind and not (kind == "text" and found.type in ("textarea", "regexp")):
        detail += f"; casewarden wants a {kind} field: doctor checks it can hold what is written"
    steps = [BootstrapStep("field", need.name, detail, exists=True)]
    steps += [
        BootstrapStep("option", option, f"option of {need.name}")
        for option in need.options
        if option not in found.options
    ]
    return steps


def _status_step(conn: ZendeskConnector, name: str, category: str) -> BootstrapStep:
    tracker = conn.names.status_to_tracker(name) or name
    if category == "closed" or tracker.casefold() == "closed":
        return BootstrapStep("status", name, "Zendesk's built-in closed status", exists=True)
    if not conn.settings.custom_statuses:
        if tracker in _CATEGORIES:
            return BootstrapStep("status", name, f"built-in status {tracker}", exists=True)
        return BootstrapStep(
            "status",
            name,
            "not a built-in status",
            manual="map it to new, open, pending, hold, solved or closed",
        )
    found = conn.catalogue.status(tracker)
    if category not in _CATEGORIES:
        return BootstrapStep(
            "status", tracker, f"category {category}", manual="Zendesk has no such status category"
        )
    if found is None:
        return BootstrapStep("status", tracker, f"category {category}")
    detail = f"custom status #{found.id}, category {found.category}"
    if found.category != category:
        detail += f" (the policy's category is {category})"
    if not found.active:
        return BootstrapStep("status", tracker, detail, exists=True, manual="activate this custom status")
    return BootstrapStep("status", tracker, detail, exists=True)


def apply_steps(conn: ZendeskConnector, steps: Sequence[BootstrapStep]) -> None:
    """Create what is missing; each is looked up again first, so running twice creates nothing twice."""
    catalogue = conn.catalogue
    catalogue.refresh()
    for step in steps:
        if step.exists or step.manual:
            continue
        if step.kind == "field" and catalogue.field(step.name) is None:
            kind, _, rest = step.detail.partition(" field")
            options = rest.partition("options: ")[2].split(", ") if "options: " in rest else []
            conn.client.ticket_fields.create(
                TicketField(
                    type=kind,
                    title=step.name,
                    description="managed by casewarden",
                    custom_field_options=[
                        CustomFieldOption(name=o, value=option_value(step.name, o)) for o in options
                    ]
                    or None,
                )
            )
            catalogue.refresh()
        elif step.kind == "option":
            title = step.detail.removeprefix("option of ")
            found = catalogue.field(title)
            if found is not None and step.name not in found.options:
                conn.client.ticket_fields.options.create_or_update(
                    found.id, CustomFieldOption(name=step.name, value=option_value(title, step.name))
                )
                catalogue.refresh()
        elif step.kind == "status" and catalogue.status(step.name) is None:
            category = step.detail.removeprefix("category ").split()[0]
            conn.client.custom_statuses.create(
                CustomStatus(status_category=category, agent_label=step.name, end_user_label=step.name)
            )
            catalogue.refresh()
