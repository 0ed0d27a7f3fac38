"""Reading field values from requests (``fields`` and ``update`` operations) and from tests.

Jira validates every value against the field's type and answers 400 with ``errors: {fieldId: message}``; the
fake does the same, so a connector that sends a select option as a bare string, a datetime without an offset,
a label with a space, a v2 string where v3 wants an ADF document, or a Cloud user by ``name``, is told so here.
Internal values: datetimes are aware UTC instants, select values option ids, users handles, priorities ids.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from tests.fakes.jira.render import adf_text
from tests.fakes.jira.site import CustomField, Site
from tests.fakes.jira.state import PROPERTY_VALUE_LIMIT, SYSTEM_EDITABLE, normalized_labels
from tests.fakes.jira.timefmt import parse_jira_timestamp


class FieldError(ValueError):
    def __init__(self, field_id: str, message: str) -> None:
        super().__init__(message)
        self.field_id = field_id
        self.message = message


def cannot_set(field_id: str) -> FieldError:
    return FieldError(
        field_id, f"Field '{field_id}' cannot be set. It is not on the appropriate screen, or unknown."
    )


def editable(site: Site, field_id: str) -> bool:
    return field_id in SYSTEM_EDITABLE or (
        field_id in site.custom_fields and site.custom_fields[field_id].kind != "request_type"
    )


def parse_user(site: Site, field_id: str, raw: Any) -> str | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise FieldError(field_id, f"expected Object for '{field_id}'")
    if site.mode == "cloud":
        if "accountId" not in raw:
            # Cloud dropped user names (GDPR): a {"name": ...} reference is refused.
            raise FieldError(
                field_id, f"Specify a valid accountId for '{field_id}'; user names are not supported."
            )
        ref = raw["accountId"]
    else:
        ref = raw.get("name") or raw.get("key")
    if ref in (None, "-1"):
        return None
    for user in site.users.values():
        if ref == (user.account_id if site.mode == "cloud" else user.name) or (
            site.mode == "datacenter" and ref == user.key
        ):
            return user.handle
    raise FieldError(field_id, f"User '{ref}' does not exist.")


def parse_labels(field_id: str, raw: Any) -> list[str]:
    if not isinstance(raw, list) or not all(isinstance(label, str) for label in raw):
        raise FieldError(field_id, "Labels must be given as a list of strings.")
    for label in raw:
        if " " in label:
            raise FieldError(field_id, f"The label '{label}' contains spaces which is invalid.")
        if len(label) > 255:
            raise FieldError(field_id, "The label must not exceed 255 characters.")
    return normalized_labels(raw)


def parse_value(site: Site, field_id: str, raw: Any, version: str) -> Any:
    """A ``fields`` value from a request, as the internal value (see the module docstring)."""
    if field_id == "summary":
        if not isinstance(raw, str) or not raw.strip():
            raise FieldError("summary", "You must specify a summary of the issue.")
        if len(raw) > 255 or "\n" in raw:
            raise FieldError("summary", "Summary must be less than 255 characters and on one line.")
        return raw
    if field_id == "description":
        if raw is None:
            return None
        if version == "3":
            try:
                return adf_text(raw)
            except ValueError as error:
                raise FieldError("description", str(error)) from None
        if not isinstance(raw, str):
            raise FieldError("description", "Operation value must be a string")
        return raw
    if field_id == "priority":
        if raw is None:
            return None
        if not isinstance(raw, dict) or not ({"id", "name"} & raw.keys()):
            raise FieldError("priority", "Specify the priority by id or name")
        try:
            return site.priority(str(raw.get("id") or raw.get("name"))).id
        except KeyError:
            raise FieldError("priority", f"Specify a valid 'id' or 'name' for Priority: {raw}") from None
    if field_id == "labels":
        return parse_labels("labels", raw)
    if field_id in ("assignee", "reporter"):
        return parse_user(site, field_id, raw)
    if field_id not in site.custom_fields:
        raise cannot_set(field_id)
    return parse_custom(site, site.custom_fields[field_id], raw)


def parse_custom(site: Site, custom: CustomField, raw: Any) -> Any:
    if raw is None:
        return None
    kind = custom.kind
    if kind == "datetime":
        if not isinstance(raw, str):
            raise FieldError(
                custom.id,
                "Invalid date format. Please enter the date in the format \"yyyy-MM-dd'T'HH:mm:ss.SSSZ\".",
            )
        try:
            return parse_jira_timestamp(raw)
        except ValueError:
            raise FieldError(
                custom.id,
                "Invalid date format. Please enter the date in the format \"yyyy-MM-dd'T'HH:mm:ss.SSSZ\".",
            ) from None
    if kind == "text":
        if not isinstance(raw, str):
            raise FieldError(custom.id, "Operation value must be a string")
        if len(raw) > 255:
            raise FieldError(
                custom.id, "The entered text is too long. It exceeds the allowed limit of 255 characters."
            )
        return raw or None
    if kind == "select":
        if not isinstance(raw, dict) or not ({"id", "value"} & raw.keys()):
            raise FieldError(custom.id, "Could not find valid 'id' or 'value' in the Parent Option object.")
        option = (
            custom.option_by_id(str(raw["id"])) if "id" in raw else custom.option_by_value(str(raw["value"]))
        )
        if option is None:
            shown = raw.get("value", raw.get("id"))
            raise FieldError(custom.id, f"Option value '{shown}' is not valid")
        return option.id
    if kind == "labels":
        return parse_labels(custom.id, raw)
    if kind == "number":
        if isinstance(raw, bool) or not isinstance(raw, int | float):
            raise FieldError(custom.id, "Operation value must be a number")
        return float(raw)
    if kind == "organizations":
        if not isinstance(raw, list):
            raise FieldError(custom.id, "Organizations must be given as a list of ids.")
        ids = [str(item["id"] if isinstance(item, dict) else item) for item in raw]
        for org_id in ids:
            if org_id not in site.organizations:
                raise FieldError(custom.id, f"Organization '{org_id}' does not exist.")
        return ids
    raise cannot_set(custom.id)


def is_multi(site: Site, field_id: str) -> bool:
    return field_id == "labels" or (
        field_id in site.custom_fields and site.custom_fields[field_id].kind == "labels"
    )


def apply_operations(site: Site, field_id: str, current: Any, operations: Any, version: str) -> Any:
    """The value after an ``update`` list such as ``[{"add": "x"}, {"remove": "y"}]``."""
    if not isinstance(operations, list):
        raise FieldError(field_id, "Update operations must be given as a list.")
    value = current
    for operation in operations:
        if not isinstance(operation, dict) or len(operation) != 1:
            raise FieldError(field_id, "Each update operation must be an object with one verb.")
        ((verb, argument),) = operation.items()
        if verb == "set":
            value = parse_value(site, field_id, argument, version)
        elif verb in ("add", "remove") and is_multi(site, field_id):
            if not isinstance(argument, str):
                raise FieldError(field_id, "Label operations take one label as a string.")
            (label,) = parse_labels(field_id, [argument])
            labels = list(value or [])
            if verb == "add" and label not in labels:
                labels.append(label)
            if verb == "remove" and label in labels:
                labels.remove(label)
            value = normalized_labels(labels)
        else:
            raise FieldError(field_id, f"Field '{field_id}' does not support the '{verb}' operation.")
    return value


def comment_body(raw: Any, version: str) -> str:
    """A comment body from a request: a string on v2, an ADF document on v3."""
    if version == "3":
        try:
            return adf_text(raw)
        except ValueError as error:
            raise FieldError("comment", str(error)) from None
    if not isinstance(raw, str) or not raw.strip():
        raise FieldError("comment", "Comment body can not be empty!")
    return raw


def parse_properties(raw: Any) -> dict[str, Any]:
    """The ``properties`` array of an edit, create or transition request."""
    if raw is None:
        return {}
    if not isinstance(raw, list):
        raise FieldError("properties", "Properties must be given as a list of {key, value}.")
    parsed: dict[str, Any] = {}
    for entry in raw:
        if not isinstance(entry, dict) or "key" not in entry:
            raise FieldError("properties", "Each property needs a key.")
        key = entry["key"]
        check_property(key, entry.get("value"))
        parsed[key] = entry.get("value")
    return parsed


def check_property(key: Any, value: Any) -> None:
    if not isinstance(key, str) or not key or len(key) > 255:
        raise FieldError("properties", "The property key must be between 1 and 255 characters long.")
    if len(json.dumps(value)) > PROPERTY_VALUE_LIMIT:
        raise FieldError(
            "properties", f"The property value exceeds the maximum size of {PROPERTY_VALUE_LIMIT} bytes."
        )


def python_value(site: Site, field_id: str, value: Any) -> Any:
    """A value as a test writes it (option value, priority name, user handle, datetime) in internal form."""
    if value is None:
        return None
    if field_id == "priority":
        return site.priority(value).id
    if field_id in ("assignee", "reporter"):
        return site.user(value).handle
    if field_id == "labels":
        return normalized_labels(list(value))
    if field_id in ("summary", "description"):
        return value
    custom = site.custom_field(field_id)
    if custom.kind == "select":
        option = custom.option_by_value(value) or custom.option_by_id(str(value))
        if option is None:
            raise KeyError(f"{custom.name} has no option {value!r}")
        return option.id
    if custom.kind == "datetime":
        if not isinstance(value, datetime) or value.tzinfo is None:
            raise TypeError("datetime fields take timezone-aware datetimes")
        return value
    if custom.kind == "labels":
        return normalized_labels(list(value))
    if custom.kind == "number":
        return float(value)
    if custom.kind == "organizations":
        return [site.organization(item).id for item in value]
    if custom.kind == "request_type":
        return site.request_type(value).id
    return value


def field_id_for(site: Site, name_or_id: str) -> str:
    """A field id from a system field id, a custom field id or a custom field name."""
    if name_or_id in SYSTEM_EDITABLE:
        return name_or_id
    return site.custom_field(name_or_id).id
