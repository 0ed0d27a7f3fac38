"""The named departures from the published specs that tests/fakes/openapi.py makes, and why.

Each :class:`Quirk` covers one entry of api-notes' "Quirks of the published specs" (or a gap found while
driving the real clients, marked so): what the published spec gets wrong, what is accepted instead, and
what still fails. Quirks that amount to editing the spec are the functions in :data:`SCHEMA_PATCHES`,
applied to the loaded document; the others are checked by name where they apply (``ApiSpec._has``), and
the YAML tags one is the loader itself. Each is narrow on purpose: a patch touches the schema the quirk
is about, and a test in tests/test_openapi_validator.py shows the relaxed thing passing and a near miss
failing.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final

JsonObject = dict[str, Any]


@dataclass(frozen=True)
class Quirk:
    """One named departure from the letter of a published spec (see api-notes, "Quirks of the published
    specs"): which quirk it covers, what is accepted instead, and what still fails."""

    name: str
    specs: tuple[str, ...]
    covers: str
    handling: str


ZD_YAML_TAGS: Final = "zendesk-yaml-tags"
ZD_JSON_SUFFIX: Final = "zendesk-json-suffix"
ZD_CURSOR_WITHOUT_START_TIME: Final = "zendesk-cursor-without-start-time"
ZD_UNDECLARED_REQUEST_BODIES: Final = "zendesk-undeclared-request-bodies"
ZD_UPDATE_MANY_BODY: Final = "zendesk-update-many-body"
ZD_CUSTOM_FIELD_VALUES: Final = "zendesk-ticket-custom-field-values"
ZD_PAGING_AND_INCLUDE: Final = "zendesk-undeclared-paging-and-include"
ZD_NULL_OPTIONAL_FIELDS: Final = "zendesk-null-optional-response-fields"
ZD_SCHEDULES: Final = "zendesk-business-hours-schedules"
ZD_EXPORT_PER_PAGE: Final = "zendesk-export-per-page"
JIRA_V2_PATHS: Final = "jira-v2-paths"
JIRA_V2_PLAIN_TEXT: Final = "jira-v2-plain-text"
JIRA_TRANSITION_ID_NUMBER: Final = "jira-transition-id-number"
JIRA_LINK_NULL_COMMENT: Final = "jira-link-null-comment"
JIRA_OFFSET_TIMESTAMPS: Final = "jira-offset-timestamps"
JIRA_EMPTY_SUCCESS_BODIES: Final = "jira-empty-success-bodies"
JIRA_USER_SEARCH_FLAGS: Final = "jira-client-user-search-flags"
JIRA_NULL_CHANGE_ITEMS: Final = "jira-null-change-items"
JSM_BASIC_AUTH: Final = "jsm-basic-auth"
UNDECLARED_ERROR_ANSWERS: Final = "undeclared-error-answers"

_ZD: Final = ("zendesk",)
_JP: Final = ("jira_platform",)
_JIRA_BOTH: Final = ("jira_platform", "jira_service_management")

QUIRKS: Final[tuple[Quirk, ...]] = (
    Quirk(
        ZD_YAML_TAGS,
        _ZD,
        "yaml.safe_load fails on an unquoted `=` (tag yaml.org,2002:value); unquoted dates become datetimes",
        "the loader reads both tags as plain strings; nothing else about YAML changes",
    ),
    Quirk(
        ZD_JSON_SUFFIX,
        _ZD,
        "paths are declared without `.json`; zenpy (and the API) use it",
        "one trailing `.json` on the last segment is dropped before matching; `.xml` or `.json` "
        "mid-path still fail, and Jira paths never get this",
    ),
    Quirk(
        ZD_CURSOR_WITHOUT_START_TIME,
        _ZD,
        "the cursor exports mark `start_time` required, though follow-up pages send only `cursor`",
        "on /incremental/{tickets,users}/cursor `start_time` may be left out when `cursor` is given; "
        "a request with neither still fails",
    ),
    Quirk(
        ZD_UNDECLARED_REQUEST_BODIES,
        _ZD,
        "no request body is declared for the ticket tags methods, ticket field create/update or field "
        "options",
        "those operations (listed in ZENDESK_BODY_NOT_DECLARED) accept any JSON body; the path and "
        "method must still exist, the body must be JSON, and other operations without a declared body "
        "still reject one",
    ),
    Quirk(
        ZD_UPDATE_MANY_BODY,
        _ZD,
        "no request body is declared for `PUT tickets/update_many` (zenpy's bulk update)",
        "a body is supplied from the spec's own TicketUpdateInput, as Zendesk documents it: "
        '{"tickets": [{"id": ..., ...}]} or {"ticket": {...}} with ?ids=; so bulk updates are '
        "checked instead of waved through",
    ),
    Quirk(
        ZD_CUSTOM_FIELD_VALUES,
        _ZD,
        "ticket `custom_fields` reuse the field-definition schema (requires key/type/title, has no value)",
        "ticket custom_fields items (TicketUpdateInput, TicketObject) are {id: integer (required), "
        "value: string|number|boolean|string array|null}; a missing id or an object value still fails",
    ),
    Quirk(
        ZD_PAGING_AND_INCLUDE,
        _ZD,
        "`page[size]` (and the cursor links' `page[after]`/`page[before]`) and `include` are used but not "
        "declared",
        "GET operations that do not declare them accept page[size] (integer >= 1), page[after], "
        "page[before] and include (strings); other undeclared parameters, a non-integer page[size], and "
        "these on writes still fail",
    ),
    Quirk(
        ZD_NULL_OPTIONAL_FIELDS,
        _ZD,
        "many response fields that the API returns as null are not marked nullable",
        "in answers only, null is accepted for a property its object does not list as required; null "
        "for a required property, null in requests, and wrong non-null types still fail",
    ),
    Quirk(
        ZD_SCHEDULES,
        _ZD,
        "`business_hours/schedules` is missing",
        "the schedule, workweek and holiday operations are supplied from Zendesk's reference page "
        "(intervals in minutes since Sunday 00:00, 0..10080); creates may answer 200 or 201",
    ),
    Quirk(
        ZD_EXPORT_PER_PAGE,
        _ZD,
        "`per_page` (the spec's own IncrementalPage parameter) is not declared for the ticket cursor export "
        "and the ticket events export, though both take it (zenpy sends it, the docs list it, the "
        "export's next-page links keep it)",
        "those two exports (ZENDESK_PER_PAGE_EXPORTS) accept per_page as an integer from 1 to 1000; a "
        "larger or non-integer one, and per_page on other undeclaring operations, still fail",
    ),
    Quirk(
        JIRA_V2_PATHS,
        _JP,
        "the jira client talks /rest/api/2 (and `latest`); the spec describes /rest/api/3 (same operations)",
        "/rest/api/2/... and /rest/api/latest/... are matched against /rest/api/3/...; other versions "
        "still fail",
    ),
    Quirk(
        JIRA_V2_PLAIN_TEXT,
        _JP,
        "v2 takes plain strings where v3 takes ADF documents for comments and descriptions",
        "the spec leaves those bodies unconstrained, so this tightens rather than relaxes: a comment "
        "body (Comment.body, Worklog.comment) must be a string under /rest/api/2 and latest, and an ADF "
        'document {"type": "doc", "version": 1, "content": [...]} under /rest/api/3',
    ),
    Quirk(
        JIRA_TRANSITION_ID_NUMBER,
        _JP,
        "the client sends `transition.id` as a number (IssueTransition.id is a string)",
        "an integer id is accepted in requests; answers must still carry a string, and other types fail",
    ),
    Quirk(
        JIRA_LINK_NULL_COMMENT,
        _JP,
        "the client sends `comment: null` when creating an issue link",
        "LinkIssueRequestJsonBean.comment may be null; a non-object comment still fails",
    ),
    Quirk(
        JIRA_OFFSET_TIMESTAMPS,
        _JIRA_BOTH,
        "Jira's `+0000` timestamps are not RFC 3339",
        "date-time also accepts ISO 8601 offsets without a colon (2025-01-31T10:00:00.000+0000); "
        "anything else that is not RFC 3339 still fails",
    ),
    Quirk(
        JIRA_EMPTY_SUCCESS_BODIES,
        _JIRA_BOTH,
        "edit, transition and link answer 204/201 with no body though the spec declares one",
        "an empty 2xx body is accepted where the declared schema is the empty schema `{}`; an empty "
        "body where a real schema is declared, or a non-JSON body, still fails",
    ),
    Quirk(
        JIRA_USER_SEARCH_FLAGS,
        _JP,
        "(found driving the client) jira's user search sends the Server-era includeActive/"
        "includeInactive, which the Cloud spec does not declare",
        "/user/search accepts those two as booleans; other undeclared parameters still fail",
    ),
    Quirk(
        JIRA_NULL_CHANGE_ITEMS,
        _JP,
        "(found driving the connector) changelog items carry `from`/`fromString`/`to`/`toString` null when "
        "a field had no value before or has none after (every first assignment, every clearing); the spec "
        "declares them non-nullable strings",
        "ChangeDetails' four value properties may be null; a value of another type (a number, an object) "
        "still fails",
    ),
    Quirk(
        JSM_BASIC_AUTH,
        ("jira_service_management",),
        "JSM operations declare OAuth2 only; basic auth (email + API token) works",
        "Basic credentials are accepted wherever OAuth2 is declared; no or other credentials still fail",
    ),
    Quirk(
        UNDECLARED_ERROR_ANSWERS,
        ("zendesk", "jira_platform", "jira_service_management"),
        "(spec gap) most operations declare only their success answers, yet the APIs answer 4xx/5xx "
        "(429, 404, 503...), which fakes must reproduce",
        "a 4xx/5xx status an operation does not declare is accepted with any body; an undeclared 2xx/3xx "
        "status still fails, and a declared error answer is checked against its schema",
    ),
)

QUIRK_NAMES: Final = frozenset(quirk.name for quirk in QUIRKS)

# Operations whose published entry declares no request body although the API takes one
# (ZD_UNDECLARED_REQUEST_BODIES).
ZENDESK_BODY_NOT_DECLARED: Final = frozenset(
    {
        ("POST", "/api/v2/tickets/{ticket_id}/tags"),
        ("PUT", "/api/v2/tickets/{ticket_id}/tags"),
        ("DELETE", "/api/v2/tickets/{ticket_id}/tags"),
        ("POST", "/api/v2/ticket_fields"),
        ("PUT", "/api/v2/ticket_fields/{ticket_field_id}"),
        ("POST", "/api/v2/ticket_fields/{ticket_field_id}/options"),
    }
)
# ZD_CURSOR_WITHOUT_START_TIME
ZENDESK_CURSOR_EXPORTS: Final = frozenset(
    {"/api/v2/incremental/tickets/cursor", "/api/v2/incremental/users/cursor"}
)
# ZD_EXPORT_PER_PAGE
ZENDESK_PER_PAGE_EXPORTS: Final = ("/api/v2/incremental/tickets/cursor", "/api/v2/incremental/ticket_events")
# JIRA_V2_PATHS
JIRA_VERSION_PATH: Final = re.compile(r"/rest/api/(2|3|latest)(/.*)?")
# JIRA_V2_PLAIN_TEXT: the keyword the patch puts on the unconstrained rich-text schemas.
RICH_TEXT_KEYWORD: Final = "x-casewarden-rich-text"

_SCHEMAS: Final = "#/components/schemas/"


def _patch_zendesk_custom_field_values(document: JsonObject) -> None:
    schemas = document["components"]["schemas"]
    schemas["CasewardenTicketCustomFieldValue"] = {
        "type": "object",
        "required": ["id"],
        "properties": {
            "id": {"type": "integer"},
            "value": {
                "anyOf": [
                    {"type": "string", "nullable": True},
                    {"type": "number"},
                    {"type": "boolean"},
                    {"type": "array", "items": {"type": "string"}},
                ]
            },
        },
    }
    value_ref = {"$ref": _SCHEMAS + "CasewardenTicketCustomFieldValue"}
    schemas["TicketUpdateInput"]["properties"]["custom_fields"]["items"] = value_ref
    schemas["TicketObject"]["properties"]["custom_fields"]["items"] = value_ref


def _patch_zendesk_update_many_body(document: JsonObject) -> None:
    operation = document["paths"]["/api/v2/tickets/update_many"]["put"]
    if "requestBody" in operation:  # the spec has caught up: its own declaration wins
        return
    update = {"$ref": _SCHEMAS + "TicketUpdateInput"}
    document["components"]["schemas"]["CasewardenTicketsUpdateManyRequest"] = {
        "type": "object",
        "properties": {
            "ticket": update,
            "tickets": {
                "type": "array",
                "items": {
                    "allOf": [
                        update,
                        {"type": "object", "required": ["id"], "properties": {"id": {"type": "integer"}}},
                    ]
                },
            },
        },
        "anyOf": [{"required": ["tickets"]}, {"required": ["ticket"]}],
    }
    operation["requestBody"] = {
        "required": True,
        "content": {
            "application/json": {"schema": {"$ref": _SCHEMAS + "CasewardenTicketsUpdateManyRequest"}}
        },
    }


_ZENDESK_PAGING_PARAMETERS: Final = {
    "CasewardenPageSize": {"name": "page[size]", "in": "query", "schema": {"type": "integer", "minimum": 1}},
    "CasewardenPageAfter": {"name": "page[after]", "in": "query", "schema": {"type": "string"}},
    "CasewardenPageBefore": {"name": "page[before]", "in": "query", "schema": {"type": "string"}},
    "CasewardenInclude": {"name": "include", "in": "query", "schema": {"type": "string"}},
}


def _parameter_name(document: JsonObject, parameter: JsonObject) -> str:
    reference = parameter.get("$ref")
    if isinstance(reference, str):  # this spec's parameter references all point into components
        parameter = document["components"]["parameters"][reference.rsplit("/", 1)[-1]]
    return str(parameter["name"])


def _patch_zendesk_paging_and_include(document: JsonObject) -> None:
    components = document["components"].setdefault("parameters", {})
    components.update(_ZENDESK_PAGING_PARAMETERS)
    for path_item in document["paths"].values():
        operation = path_item.get("get")
        if operation is None:
            continue
        declared = {
            _parameter_name(document, parameter)
            for parameter in [*path_item.get("parameters", ()), *operation.get("parameters", ())]
        }
        if "page" in declared:  # declared as a deepObject: page[size] etc. are covered already
            declared |= {"page[size]", "page[after]", "page[before]"}
        extra = [
            {"$ref": f"#/components/parameters/{key}"}
            for key, parameter in _ZENDESK_PAGING_PARAMETERS.items()
            if parameter["name"] not in declared
        ]
        if extra:
            operation["parameters"] = [*operation.get("parameters", ()), *extra]


def _patch_zendesk_export_per_page(document: JsonObject) -> None:
    parameter = {
        "name": "per_page",
        "in": "query",
        "schema": {"type": "integer", "minimum": 1, "maximum": 1000},
    }
    document["components"].setdefault("parameters", {})["CasewardenExportPerPage"] = parameter
    for path in ZENDESK_PER_PAGE_EXPORTS:
        operation = document["paths"].get(path, {}).get("get")
        if operation is None:
            continue
        declared = {
            _parameter_name(document, p)
            for p in [*document["paths"][path].get("parameters", ()), *operation.get("parameters", ())]
        }
        if "per_page" not in declared:  # the spec has not caught up
            operation["parameters"] = [
                *operation.get("parameters", ()),
                {"$ref": "#/components/parameters/CasewardenExportPerPage"},
            ]


def _patch_zendesk_schedules(document: JsonObject) -> None:
    paths = document["paths"]
    if "/api/v2/business_hours/schedules" in paths:  # the spec has caught up
        return
    schemas = document["components"]["schemas"]
    minute_of_week = {"type": "integer", "minimum": 0, "maximum": 7 * 24 * 60}
    timestamp = {"type": "string", "format": "date-time", "readOnly": True}
    schemas["CasewardenScheduleInterval"] = {
        "type": "object",
        "required": ["start_time", "end_time"],
        "properties": {"start_time": minute_of_week, "end_time": minute_of_week},
    }
    intervals = {"type": "array", "items": {"$ref": _SCHEMAS + "CasewardenScheduleInterval"}}
    schemas["CasewardenSchedule"] = {
        "type": "object",
        "properties": {
            "id": {"type": "integer", "readOnly": True},
            "name": {"type": "string"},
            "time_zone": {"type": "string"},
            "intervals": intervals,
            "created_at": timestamp,
            "updated_at": timestamp,
        },
    }
    schemas["CasewardenWorkweek"] = {
        "type": "object",
        "required": ["intervals"],
        "properties": {"intervals": intervals},
    }
    schemas["CasewardenHoliday"] = {
        "type": "object",
        "properties": {
            "id": {"type": "integer", "readOnly": True},
            "name": {"type": "string"},
            "start_date": {"type": "string", "format": "date"},
            "end_date": {"type": "string", "format": "date"},
        },
    }

    def wrapped(
        wrapper: str, schema_name: str, *, many: bool = False, required: Sequence[str] = ()
    ) -> JsonObject:
        inner: JsonObject = {"$ref": _SCHEMAS + schema_name}
        if required:
            inner = {"allOf": [inner, {"type": "object", "required": list(required)}]}
        if many:
            inner = {"type": "array", "items": inner}
        return {"type": "object", "required": [wrapper], "properties": {wrapper: inner}}

    def body(wrapper: str, schema_name: str, required: Sequence[str] = ()) -> JsonObject:
        schema = wrapped(wrapper, schema_name, required=required)
        return {"required": True, "content": {"application/json": {"schema": schema}}}

    def answer(wrapper: str, schema_name: str, *, many: bool = False) -> JsonObject:
        schema = wrapped(wrapper, schema_name, many=many)
        return {"description": "Success", "content": {"application/json": {"schema": schema}}}

    def created(wrapper: str, schema_name: str) -> JsonObject:
        return {"200": answer(wrapper, schema_name), "201": answer(wrapper, schema_name)}

    deleted = {"200": {"description": "Deleted"}, "204": {"description": "Deleted"}}
    schedule_id = {"name": "schedule_id", "in": "path", "required": True, "schema": {"type": "integer"}}
    holiday_id = {"name": "holiday_id", "in": "path", "required": True, "schema": {"type": "integer"}}
    base = "/api/v2/business_hours/schedules"
    paths[base] = {
        "get": {"responses": {"200": answer("schedules", "CasewardenSchedule", many=True)}},
        "post": {
            "requestBody": body("schedule", "CasewardenSchedule", required=("name", "time_zone")),
            "responses": created("schedule", "CasewardenSchedule"),
        },
    }
    paths[base + "/{schedule_id}"] = {
        "parameters": [schedule_id],
        "get": {"responses": {"200": answer("schedule", "CasewardenSchedule")}},
        "put": {
            "requestBody": body("schedule", "CasewardenSchedule"),
            "responses": {"200": answer("schedule", "CasewardenSchedule")},
        },
        "delete": {"responses": deleted},
    }
    paths[base + "/{schedule_id}/workweek"] = {
        "parameters": [schedule_id],
        "put": {
            "requestBody": body("workweek", "CasewardenWorkweek"),
            "responses": {"200": answer("workweek", "CasewardenWorkweek")},
        },
    }
    paths[base + "/{schedule_id}/holidays"] = {
        "parameters": [schedule_id],
        "get": {"responses": {"200": answer("holidays", "CasewardenHoliday", many=True)}},
        "post": {
            "requestBody": body("holiday", "CasewardenHoliday", required=("name", "start_date", "end_date")),
            "responses": created("holiday", "CasewardenHoliday"),
        },
    }
    paths[base + "/{schedule_id}/holidays/{holiday_id}"] = {
        "parameters": [schedule_id, holiday_id],
        "get": {"responses": {"200": answer("holiday", "CasewardenHoliday")}},
        "put": {
            "requestBody": body("holiday", "CasewardenHoliday"),
            "responses": {"200": answer("holiday", "CasewardenHoliday")},
        },
        "delete": {"responses": deleted},
    }


def _patch_jira_plain_text(document: JsonObject) -> None:
    schemas = document["components"]["schemas"]
    for schema_name, prop in (("Comment", "body"), ("Worklog", "comment")):
        target = schemas[schema_name]["properties"][prop]
        if set(target) - {"description"}:  # the spec now constrains it: leave its declaration alone
            continue
        target[RICH_TEXT_KEYWORD] = True


def _patch_jira_transition_id_number(document: JsonObject) -> None:
    transition_id = document["components"]["schemas"]["IssueTransition"]["properties"]["id"]
    description = transition_id.get("description", "")
    # writeOnly on the integer branch: a request may carry a number, an answer must carry the string.
    document["components"]["schemas"]["IssueTransition"]["properties"]["id"] = {
        "description": description,
        "anyOf": [{"type": "string"}, {"type": "integer", "writeOnly": True}],
    }


def _patch_jira_link_null_comment(document: JsonObject) -> None:
    properties = document["components"]["schemas"]["LinkIssueRequestJsonBean"]["properties"]
    properties["comment"] = {
        "anyOf": [properties["comment"], {"type": "object", "nullable": True, "enum": [None]}]
    }


def _patch_jira_null_change_items(document: JsonObject) -> None:
    properties = document["components"]["schemas"]["ChangeDetails"]["properties"]
    for name in ("from", "fromString", "to", "toString"):
        properties[name] = {**properties[name], "nullable": True}


def _patch_jira_user_search_flags(document: JsonObject) -> None:
    operation = document["paths"]["/rest/api/3/user/search"]["get"]
    declared = {parameter.get("name") for parameter in operation.get("parameters", ())}
    for name in ("includeActive", "includeInactive"):
        if name not in declared:
            operation.setdefault("parameters", []).append(
                {"name": name, "in": "query", "schema": {"type": "boolean"}}
            )


# The quirks that are handled by editing the loaded document (the rest are handled where they apply,
# by checking ApiSpec._has(NAME)).
SCHEMA_PATCHES: Final[dict[str, Callable[[JsonObject], None]]] = {
    ZD_CUSTOM_FIELD_VALUES: _patch_zendesk_custom_field_values,
    ZD_UPDATE_MANY_BODY: _patch_zendesk_update_many_body,
    ZD_PAGING_AND_INCLUDE: _patch_zendesk_paging_and_include,
    ZD_SCHEDULES: _patch_zendesk_schedules,
    ZD_EXPORT_PER_PAGE: _patch_zendesk_export_per_page,
    JIRA_V2_PLAIN_TEXT: _patch_jira_plain_text,
    JIRA_TRANSITION_ID_NUMBER: _patch_jira_transition_id_number,
    JIRA_LINK_NULL_COMMENT: _patch_jira_link_null_comment,
    JIRA_USER_SEARCH_FLAGS: _patch_jira_user_search_flags,
    JIRA_NULL_CHANGE_ITEMS: _patch_jira_null_change_items,
}
assert set(SCHEMA_PATCHES) <= QUIRK_NAMES
