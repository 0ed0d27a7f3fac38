"""Check HTTP traffic against the published Zendesk and Jira OpenAPI specs.

Why: the fake servers and the connectors are written by us, so a fake that answers in a shape the real
API never uses, or a connector that sends a field the real API rejects, would pass every test and fail in
production. This module is the referee both sides answer to: every request a connector sends (and, on
request, every answer a fake gives) is checked against the spec the vendor publishes.

The specs are reference data outside the repository: ``<repo root>/../shared/api-specs`` or the folder in
``$CASEWARDEN_API_SPECS``. Without them, :func:`require_specs` (and so every ``ApiSpec`` constructor)
skips the calling test with a reason saying where it looked.

Schema checks use ``openapi-schema-validator`` (OpenAPI 3.0 semantics on ``jsonschema``: ``nullable``,
``readOnly`` fields not required in requests, ``writeOnly`` ones forbidden in answers). ``$ref``s are
resolved lazily through a ``referencing`` registry over the whole document, so only the schemas a call
touches are ever visited; validators are built once per (schema location, direction) and cached.

The published specs are not exact. Every place where this module departs from the letter of a spec is
a named entry in :data:`QUIRKS` (tests/fakes/openapi_quirks.py: which published quirk it covers, what is
accepted instead, what still fails); a schema edit is that entry's patch, and code that departs asks for
its entry by name, so table and code cannot drift apart. There is no blanket "ignore": anything outside
those entries is reported.

Parsing choices that are not quirks: query arrays may be repeated (``a=1&a=2``) or comma-separated
(``a=1,2``), as both vendors accept; query booleans are ``true``/``false`` in any case (both servers
parse them so, and the ``jira`` client sends ``True``); header parameters are not checked; bodies other
than JSON (multipart uploads) are checked for their content type only.

Use in a fake's or a connector's test::

    recorder = SpecRecorder(ApiSpec.zendesk(), responses_too=True)   # skips the test without specs
    with responses.RequestsMock() as rsps:
        fake.install(rsps)                      # the fake's callbacks
        connector.read_changed(since)           # the real zenpy/jira code runs against them
        recorder.assert_clean(rsps.calls)       # lists each violation: method, path, what
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import tempfile
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Final
from urllib.parse import parse_qsl, unquote, urlsplit

import pytest
import requests
import yaml
from jsonschema import FormatChecker
from jsonschema.exceptions import ValidationError, best_match
from jsonschema.validators import extend
from openapi_schema_validator import OAS30ReadValidator, OAS30WriteValidator, oas30_format_checker
from referencing import Registry
from referencing.jsonschema import DRAFT4

from tests.fakes.openapi_quirks import (
    JIRA_EMPTY_SUCCESS_BODIES,
    JIRA_OFFSET_TIMESTAMPS,
    JIRA_V2_PATHS,
    JIRA_V2_PLAIN_TEXT,
    JIRA_VERSION_PATH,
    JSM_BASIC_AUTH,
    QUIRK_NAMES,
    QUIRKS,
    RICH_TEXT_KEYWORD,
    SCHEMA_PATCHES,
    UNDECLARED_ERROR_ANSWERS,
    ZD_CURSOR_WITHOUT_START_TIME,
    ZD_JSON_SUFFIX,
    ZD_NULL_OPTIONAL_FIELDS,
    ZD_UNDECLARED_REQUEST_BODIES,
    ZENDESK_BODY_NOT_DECLARED,
    ZENDESK_CURSOR_EXPORTS,
    Quirk,
)

__all__ = [
    "QUIRKS",
    "SPECS_ENV",
    "ApiSpec",
    "Operation",
    "Parameter",
    "Quirk",
    "SpecRecorder",
    "require_specs",
    "specs_dir",
]

SPECS_ENV: Final = "CASEWARDEN_API_SPECS"

JsonObject = dict[str, Any]


# --------------------------------------------------------------------------------------------------
# Where the specs are
# --------------------------------------------------------------------------------------------------


def _default_specs_dir() -> Path:
    # tests/fakes/openapi.py -> the repository root is two folders up; shared/ sits beside it.
    return Path(__file__).resolve().parents[2].parent / "shared" / "api-specs"


def specs_dir() -> Path | None:
    """The folder holding the published specs, or None when it is absent."""
    configured = os.environ.get(SPECS_ENV)
    candidate = Path(configured).expanduser() if configured else _default_specs_dir()
    return candidate if candidate.is_dir() else None


def _absent_reason() -> str:
    configured = os.environ.get(SPECS_ENV)
    where = f"{configured} (from ${SPECS_ENV})" if configured else f"{_default_specs_dir()} (the default)"
    return (
        f"published OpenAPI specs not found: looked in {where}; set ${SPECS_ENV} to the folder holding "
        f"{', '.join(kind.filename for kind in _KINDS.values())}"
    )


def require_specs() -> Path:
    """The specs folder; skips the calling test, saying where it looked, when the folder is absent."""
    found = specs_dir()
    if found is None:
        pytest.skip(_absent_reason())
    return found


@dataclass(frozen=True)
class _SpecKind:
    key: str
    title: str
    filename: str
    # Path prefixes this spec's operations live under; whatever precedes one in a URL is the base URL
    # (scheme, host, a Data Center context path) and is ignored.
    mounts: tuple[str, ...]


_KINDS: Final = {
    kind.key: kind
    for kind in (
        _SpecKind("zendesk", "Zendesk Support", "zendesk-support-openapi.yaml", ("/api/v2/", "/api/lotus/")),
        _SpecKind(
            "jira_platform",
            "Jira Cloud platform",
            "jira-platform-openapi-v3.json",
            ("/rest/api/", "/rest/atlassian-connect/", "/rest/forge/", "/rest/internal/"),
        ),
        _SpecKind(
            "jira_service_management",
            "Jira Service Management",
            "jira-service-management-openapi.json",
            ("/rest/servicedeskapi/",),
        ),
    )
}


# --------------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------------

_BaseLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml: ~1 s instead of ~15 s


class _SpecLoader(_BaseLoader):
    """Safe YAML loader that reads the Zendesk spec's `=` values and unquoted dates as strings
    (ZD_YAML_TAGS): safe_load rejects the first and turns the second into datetimes, which JSON lacks."""


def _plain_scalar(loader: Any, node: Any) -> str:
    return str(loader.construct_scalar(node))


_SpecLoader.add_constructor("tag:yaml.org,2002:value", _plain_scalar)
_SpecLoader.add_constructor("tag:yaml.org,2002:timestamp", _plain_scalar)

# Bump when the loader's output changes, so that older cached copies are not read.
_CACHE_FORMAT: Final = 1


def _cache_dir() -> Path:
    owner = getattr(os, "getuid", lambda: "user")()
    return Path(tempfile.gettempdir()) / f"casewarden-openapi-cache-{owner}"


def _cache_file(path: Path) -> Path:
    stat = path.stat()
    where = hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:12]
    return _cache_dir() / f"{path.stem}-{where}-{stat.st_size}-{stat.st_mtime_ns}-v{_CACHE_FORMAT}.json"


def _read_document(path: Path) -> tuple[JsonObject, bool]:
    """The parsed spec, and whether it came from the on-disk cache.

    Parsing the 1.2 MB Zendesk YAML costs about a second even with libyaml; its JSON rendering loads in
    a few hundredths, so it is kept in the temp folder keyed by path, size and mtime. JSON rather than
    pickle: a cache file is data and can never run code.
    """
    if path.suffix == ".json":
        return json.loads(path.read_bytes()), False
    cache = _cache_file(path)
    try:
        return json.loads(cache.read_bytes()), True
    except (OSError, ValueError):
        pass
    with path.open("rb") as handle:
        parsed = yaml.load(handle, Loader=_SpecLoader)  # a SafeLoader subclass: no arbitrary objects
    text = json.dumps(parsed)
    document = json.loads(text)  # the same normalisation as a cached copy (e.g. integer status keys)
    try:
        cache.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        partial = cache.with_suffix(f".{os.getpid()}.tmp")
        partial.write_text(text, encoding="utf-8")
        os.replace(partial, cache)
    except OSError:
        pass  # a read-only temp folder only costs the next run the parse
    return document, False


@functools.cache
def _load_spec(key: str, path: Path) -> ApiSpec:
    started = time.perf_counter()
    document, from_cache = _read_document(path)
    return ApiSpec(_KINDS[key], document, path, started=started, from_cache=from_cache)


def _load(key: str) -> ApiSpec:
    path = require_specs() / _KINDS[key].filename
    if not path.is_file():
        pytest.skip(
            f"{path.name} is missing from the specs folder {path.parent}; set ${SPECS_ENV} to a complete one"
        )
    return _load_spec(key, path)


# --------------------------------------------------------------------------------------------------
# Validators
# --------------------------------------------------------------------------------------------------


def _properties_allowing_null_when_optional(
    validator: Any, properties: Mapping[str, Any], instance: Any, schema: Mapping[str, Any]
) -> Iterator[ValidationError]:
    """`properties`, except that null passes for a property the object does not require
    (ZD_NULL_OPTIONAL_FIELDS; used for Zendesk answers only)."""
    if not validator.is_type(instance, "object"):
        return
    required = schema.get("required", ())
    for name, subschema in properties.items():
        if name not in instance:
            continue
        if instance[name] is None and name not in required:
            continue
        yield from validator.descend(instance[name], subschema, path=name, schema_path=name)


def _plain_text_only(
    validator: Any, enabled: Any, instance: Any, schema: Mapping[str, Any]
) -> Iterator[ValidationError]:
    if enabled and not isinstance(instance, str):
        yield ValidationError(
            f"{_short(repr(instance), 80)} is not a plain string (/rest/api/2 takes text here)"
        )


def _adf_only(
    validator: Any, enabled: Any, instance: Any, schema: Mapping[str, Any]
) -> Iterator[ValidationError]:
    if not enabled:
        return
    if not (
        isinstance(instance, dict)
        and instance.get("type") == "doc"
        and instance.get("version") == 1
        and isinstance(instance.get("content"), list)
    ):
        yield ValidationError(
            f"{_short(repr(instance), 80)} is not an ADF document (/rest/api/3 takes "
            '{"type": "doc", "version": 1, "content": [...]} here)'
        )


@functools.cache
def _validator_class(direction: str, null_when_optional: bool, rich_text: str | None) -> Any:
    base = OAS30WriteValidator if direction == "request" else OAS30ReadValidator
    keywords: dict[str, Any] = {}
    if null_when_optional:
        keywords["properties"] = _properties_allowing_null_when_optional
    if rich_text == "plain":
        keywords[RICH_TEXT_KEYWORD] = _plain_text_only
    elif rich_text == "adf":
        keywords[RICH_TEXT_KEYWORD] = _adf_only
    return extend(base, keywords) if keywords else base


_JIRA_TIMESTAMP: Final = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?[+-]\d{4}")


def _format_checker(offsets_without_colon: bool) -> FormatChecker:
    checker = FormatChecker(formats=())
    checker.checkers = dict(oas30_format_checker.checkers)
    if offsets_without_colon:  # JIRA_OFFSET_TIMESTAMPS
        rfc3339, raises = oas30_format_checker.checkers["date-time"]

        def date_time(instance: object) -> bool:
            if isinstance(instance, str) and _JIRA_TIMESTAMP.fullmatch(instance):
                try:
                    datetime.fromisoformat(instance)
                except ValueError:
                    return False
                return True
            return bool(rfc3339(instance))

        checker.checkers["date-time"] = (date_time, raises)
    return checker


# --------------------------------------------------------------------------------------------------
# Operations
# --------------------------------------------------------------------------------------------------


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def _deref(document: JsonObject, node: Any) -> Any:
    return _deref_with_pointer(document, node, "")[0]


def _deref_with_pointer(document: JsonObject, node: Any, pointer: str) -> tuple[Any, str]:
    """Follow local `$ref`s (parameters, request bodies, responses may be references)."""
    seen = 0
    while isinstance(node, dict) and isinstance(node.get("$ref"), str) and node["$ref"].startswith("#/"):
        pointer = node["$ref"][1:]
        node = document
        for token in pointer[1:].split("/"):
            node = node[token.replace("~1", "/").replace("~0", "~")]
        seen += 1
        if seen > 20:
            raise ValueError(f"reference loop at {pointer}")
    return node, pointer


@dataclass(frozen=True)
class Parameter:
    name: str
    location: str
    required: bool
    schema: Mapping[str, Any]
    schema_pointer: str
    style: str | None


@dataclass(frozen=True, eq=False)
class Operation:
    """One operation of a spec, with its parameters and body resolved (schemas stay references)."""

    spec: str
    method: str
    path_template: str
    operation_id: str | None
    pointer: str
    parameters: tuple[Parameter, ...]
    request_body: Mapping[str, Any] | None
    request_body_pointer: str
    responses: Mapping[str, Any]
    security: tuple[Mapping[str, Any], ...] | None


@dataclass(frozen=True)
class _Match:
    operation: Operation
    path_params: Mapping[str, str]
    query: str
    # "2", "3" or "latest" for the Jira platform API (JIRA_V2_PLAIN_TEXT), else None.
    api_version: str | None


_METHODS: Final = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
_INTEGER: Final = re.compile(r"[+-]?\d+")
_NUMBER: Final = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


class ApiSpec:
    """One published spec, loaded once per process (see the module docstring)."""

    def __init__(
        self, kind: _SpecKind, document: JsonObject, source: Path, *, started: float, from_cache: bool
    ) -> None:
        self.name = kind.key
        self.title = kind.title
        self.source = source
        self.mounts = kind.mounts
        self._document = document
        self._quirks = frozenset(quirk.name for quirk in QUIRKS if kind.key in quirk.specs)
        for name in sorted(self._quirks & set(SCHEMA_PATCHES)):
            SCHEMA_PATCHES[name](document)
        self._uri = f"urn:casewarden:openapi:{kind.key}"
        self._registry: Registry[Any] = Registry().with_resource(self._uri, DRAFT4.create_resource(document))
        self._format_checker = _format_checker(self._has(JIRA_OFFSET_TIMESTAMPS))
        self._templates: dict[int, list[tuple[tuple[str, ...], str]]] = {}
        for template in document["paths"]:
            segments = tuple(template[1:].split("/"))
            self._templates.setdefault(len(segments), []).append((segments, template))
        self._operations: dict[tuple[str, str], Operation] = {}
        self._matches: dict[tuple[str, str], _Match | str] = {}
        self._validators: dict[tuple[str, str, str | None], Any] = {}
        self.loaded_from_cache = from_cache
        # Reading, parsing and indexing; validators are built later, on first use.
        self.load_seconds = time.perf_counter() - started

    def __repr__(self) -> str:
        return f"ApiSpec({self.name!r}, {len(self._document['paths'])} paths from {self.source})"

    @classmethod
    def zendesk(cls) -> ApiSpec:
        return _load("zendesk")

    @classmethod
    def jira_platform(cls) -> ApiSpec:
        return _load("jira_platform")

    @classmethod
    def jira_service_management(cls) -> ApiSpec:
        return _load("jira_service_management")

    def _has(self, quirk: str) -> bool:
        assert quirk in QUIRK_NAMES, quirk
        return quirk in self._quirks

    # -- routing ------------------------------------------------------------------------------------

    def mount_index(self, url: str) -> int | None:
        """Where this spec's part of the URL's path starts, or None when the URL is not for this spec."""
        path = urlsplit(url).path
        found = [index for index in (path.find(mount) for mount in self.mounts) if index >= 0]
        return min(found) if found else None

    def operation(self, method: str, url: str) -> Operation | None:
        """The operation a request goes to, or None when the spec has none for that method and path."""
        found = self._find(method, url)
        return found.operation if isinstance(found, _Match) else None

    def _find(self, method: str, url: str) -> _Match | str:
        """The matched operation, or why there is none."""
        method = method.upper()
        split = urlsplit(url)
        key = (method, split.path)
        cached = self._matches.get(key)
        if cached is None:
            cached = self._match(method, split.path)
            self._matches[key] = cached
        if isinstance(cached, str):
            return cached
        return _Match(cached.operation, cached.path_params, split.query, cached.api_version)

    def _match(self, method: str, raw_path: str) -> _Match | str:
        start = self.mount_index(raw_path)
        if start is None:
            return f"not a {self.title} API path (none of {', '.join(self.mounts)})"
        path = raw_path[start:]
        api_version = None
        if self._has(ZD_JSON_SUFFIX) and path.endswith(".json"):
            path = path[: -len(".json")]
        if self._has(JIRA_V2_PATHS):
            versioned = JIRA_VERSION_PATH.fullmatch(path)
            if versioned:
                api_version = versioned.group(1)
                path = "/rest/api/3" + (versioned.group(2) or "")
        segments = path[1:].split("/")
        best: tuple[tuple[int, ...], str, dict[str, str]] | None = None
        for template_segments, template in self._templates.get(len(segments), ()):
            rank: list[int] = []
            params: dict[str, str] = {}
            for expected, given in zip(template_segments, segments, strict=True):
                if expected.startswith("{") and expected.endswith("}"):
                    if not given:
                        break
                    params[expected[1:-1]] = unquote(given)
                    rank.append(1)
                elif expected == given:
                    rank.append(0)
                else:
                    break
            else:
                # A literal segment beats a template one at the first place they differ
                # (tickets/update_many before tickets/{ticket_id}).
                if best is None or tuple(rank) < best[0]:
                    best = (tuple(rank), template, params)
        if best is None:
            return f"no operation in the {self.title} spec matches the path {path}"
        _, template, params = best
        operation = self._operation(template, method)
        if operation is None:
            declared = [m.upper() for m in _METHODS if m in self._document["paths"][template]]
            return f"{method} is not declared for {template} (declared: {', '.join(declared)})"
        return _Match(operation, params, "", api_version)

    def _operation(self, template: str, method: str) -> Operation | None:
        key = (template, method)
        if key in self._operations:
            return self._operations[key]
        path_item = self._document["paths"][template]
        raw = path_item.get(method.lower())
        if raw is None:
            return None
        pointer = f"/paths/{_escape(template)}/{method.lower()}"
        parameters: dict[tuple[str, str], Parameter] = {}
        for owner_pointer, listed in (
            (f"/paths/{_escape(template)}/parameters", path_item.get("parameters", ())),
            (f"{pointer}/parameters", raw.get("parameters", ())),
        ):
            for index, entry in enumerate(listed):
                parameter, parameter_pointer = _deref_with_pointer(
                    self._document, entry, f"{owner_pointer}/{index}"
                )
                if "schema" not in parameter:
                    continue  # `content`-style: none in these specs (one would show up as undeclared)
                schema, schema_pointer = _deref_with_pointer(
                    self._document, parameter["schema"], f"{parameter_pointer}/schema"
                )
                # An operation's own parameter replaces the path item's one of the same name and place.
                parameters[(parameter["name"], parameter["in"])] = Parameter(
                    name=parameter["name"],
                    location=parameter["in"],
                    required=bool(parameter.get("required")) or parameter["in"] == "path",
                    schema=schema,
                    schema_pointer=schema_pointer,
                    style=parameter.get("style"),
                )
        body, body_pointer = (None, "")
        if "requestBody" in raw:
            body, body_pointer = _deref_with_pointer(
                self._document, raw["requestBody"], f"{pointer}/requestBody"
            )
        security = raw.get("security", self._document.get("security"))
        operation = Operation(
            spec=self.name,
            method=method,
            path_template=template,
            operation_id=raw.get("operationId"),
            pointer=pointer,
            parameters=tuple(parameters.values()),
            request_body=body,
            request_body_pointer=body_pointer,
            responses={str(status): answer for status, answer in raw.get("responses", {}).items()},
            security=tuple(security) if security is not None else None,
        )
        self._operations[key] = operation
        return operation

    # -- checks -------------------------------------------------------------------------------------

    def check_request(
        self,
        method: str,
        url: str,
        body: bytes | str | None,
        content_type: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> list[str]:
        """What is wrong with a request, by the spec: no such operation, undeclared or invalid path and
        query parameters, missing required ones, a body that breaks the schema; with ``headers``, also
        credentials of a kind the operation does not accept. Empty when it conforms."""
        found = self._find(method, url)
        if isinstance(found, str):
            return [found]
        problems = self._check_path_params(found)
        problems += self._check_query(found)
        problems += self._check_request_body(found, body, content_type)
        if headers is not None:
            problems += self._check_auth(found.operation, headers)
        return problems

    def check_response(
        self, method: str, url: str, status: int, body: bytes | str | None, content_type: str | None = None
    ) -> list[str]:
        """What is wrong with an answer, by the schema declared for its status (or `default`)."""
        found = self._find(method, url)
        if isinstance(found, str):
            return [found]
        operation = found.operation
        declared = _declared_answer(operation.responses, status)
        if declared is None:
            if status >= 400 and self._has(UNDECLARED_ERROR_ANSWERS):
                return []
            declared_statuses = ", ".join(operation.responses) or "none"
            return [f"answer status {status} is not declared (declared: {declared_statuses})"]
        status_key, raw_answer = declared
        answer, answer_pointer = _deref_with_pointer(
            self._document, raw_answer, f"{operation.pointer}/responses/{_escape(status_key)}"
        )
        text = _as_text(body)
        content = answer.get("content") or {}
        if not content:
            if text is None or status >= 400:
                return []
            return [f"answer has a body, but the spec declares none for status {status}"]
        if text is None:
            empty_schema = all(not media.get("schema") for media in content.values())
            if self._has(JIRA_EMPTY_SUCCESS_BODIES) and 200 <= status < 300 and empty_schema:
                return []
            return [f"answer {status} has an empty body; the spec declares {', '.join(content)}"]
        media_type = _select_media_type(content, content_type)
        if media_type is None:
            return [f"answer content type {content_type!r} is not declared (declared: {', '.join(content)})"]
        if not _is_json(media_type) or "schema" not in content[media_type]:
            return []
        try:
            instance = json.loads(text)
        except ValueError:
            return [f"answer is not valid JSON: {_short(text, 60)!r}"]
        pointer = f"{answer_pointer}/content/{_escape(media_type)}/schema"
        return _errors(self._validator(pointer, "response", found.api_version), instance, "answer")

    def _check_path_params(self, found: _Match) -> list[str]:
        problems: list[str] = []
        for parameter in found.operation.parameters:
            if parameter.location != "path" or parameter.name not in found.path_params:
                continue
            value = _coerce(found.path_params[parameter.name], self._types(parameter.schema))
            validator = self._validator(parameter.schema_pointer, "request", None)
            problems += _errors(validator, value, f"path parameter {parameter.name!r}", with_location=False)
        return problems

    def _check_query(self, found: _Match) -> list[str]:
        operation = found.operation
        given: dict[str, list[str]] = {}
        for name, value in parse_qsl(found.query, keep_blank_values=True):
            given.setdefault(name, []).append(value)
        consumed: set[str] = set()
        problems: list[str] = []
        for parameter in operation.parameters:
            if parameter.location != "query":
                continue
            validator = self._validator(parameter.schema_pointer, "request", None)
            label = f"query parameter {parameter.name!r}"
            if parameter.style == "deepObject":
                members = {
                    name[len(parameter.name) + 1 : -1]: values
                    for name, values in given.items()
                    if name.startswith(parameter.name + "[") and name.endswith("]")
                }
                consumed |= {f"{parameter.name}[{member}]" for member in members}
                if members:
                    instance = {
                        member: _coerce(
                            values[-1], self._types(parameter.schema.get("properties", {}).get(member, {}))
                        )
                        for member, values in members.items()
                    }
                    problems += _errors(validator, instance, label, with_location=False)
                elif parameter.required:
                    problems.append(f"{label} is required")
                continue
            values = given.get(parameter.name)
            if values is None:
                if parameter.required and not self._requirement_waived(operation, parameter, given):
                    problems.append(f"{label} is required")
                continue
            consumed.add(parameter.name)
            if self._types(parameter.schema) == {"array"}:
                items = _deref(self._document, parameter.schema.get("items", {}))
                item_types = self._types(items)
                value_given: Any = [
                    _coerce(part, item_types) for value in values for part in value.split(",")
                ]
            elif len(values) > 1:
                problems.append(f"{label} is given {len(values)} times; it takes one value")
                continue
            else:
                value_given = _coerce(values[0], self._types(parameter.schema))
            problems += _errors(validator, value_given, label, with_location=False)
        for name in given:
            if name not in consumed:
                problems.append(
                    f"query parameter {name!r} is not declared for {operation.method} {operation.path_template}"
                )
        return problems

    def _requirement_waived(
        self, operation: Operation, parameter: Parameter, given: Mapping[str, Any]
    ) -> bool:
        return (
            self._has(ZD_CURSOR_WITHOUT_START_TIME)
            and operation.path_template in ZENDESK_CURSOR_EXPORTS
            and parameter.name == "start_time"
            and "cursor" in given
        )

    def _check_request_body(
        self, found: _Match, body: bytes | str | None, content_type: str | None
    ) -> list[str]:
        operation = found.operation
        try:
            text = _as_text(body)
        except TypeError as unreadable:
            return [str(unreadable)]
        declared = operation.request_body
        if declared is None:
            if text is None:
                return []
            if self._has(ZD_UNDECLARED_REQUEST_BODIES) and (operation.method, operation.path_template) in (
                ZENDESK_BODY_NOT_DECLARED
            ):
                return (
                    [] if _parses_as_json(text) else [f"request body is not valid JSON: {_short(text, 60)!r}"]
                )
            return [f"sends a body, but {operation.method} {operation.path_template} declares none"]
        if text is None:
            return ["request body is required"] if declared.get("required") else []
        content = declared.get("content") or {}
        media_type = _select_media_type(content, content_type)
        if media_type is None:
            return [f"request content type {content_type!r} is not declared (declared: {', '.join(content)})"]
        if not _is_json(media_type) or "schema" not in content[media_type]:
            return []
        try:
            instance = json.loads(text)
        except ValueError:
            return [f"request body is not valid JSON: {_short(text, 60)!r}"]
        pointer = f"{operation.request_body_pointer}/content/{_escape(media_type)}/schema"
        return _errors(self._validator(pointer, "request", found.api_version), instance, "request body")

    def _check_auth(self, operation: Operation, headers: Mapping[str, str]) -> list[str]:
        requirements = operation.security
        if not requirements or any(len(requirement) == 0 for requirement in requirements):
            return []  # nothing declared, or anonymous access allowed
        schemes = self._document.get("components", {}).get("securitySchemes", {})
        authorization = next(
            (value for name, value in headers.items() if name.lower() == "authorization"), None
        )
        offered = authorization.split(" ", 1)[0].lower() if authorization else None
        accepted: set[str] = set()
        for requirement in requirements:
            for scheme_name in requirement:
                scheme = schemes.get(scheme_name, {})
                if scheme.get("type") == "http":
                    accepted.add(str(scheme.get("scheme", "")).lower())
                elif scheme.get("type") in ("oauth2", "openIdConnect"):
                    accepted.add("bearer")
                elif scheme.get("type") == "apiKey" and scheme.get("in") == "header":
                    wanted = str(scheme.get("name", "")).lower()
                    if any(name.lower() == wanted for name in headers):
                        return []
        if self._has(JSM_BASIC_AUTH) and "bearer" in accepted:
            accepted.add("basic")
        if offered in accepted:
            return []
        shown = f"{offered!r} credentials" if offered else "no credentials"
        return [f"sends {shown}; the operation accepts {', '.join(sorted(accepted)) or 'none it can name'}"]

    # -- helpers ------------------------------------------------------------------------------------

    def _types(self, schema: Mapping[str, Any]) -> set[str]:
        schema = _deref(self._document, schema)
        if not isinstance(schema, Mapping):
            return set()
        found = {schema["type"]} if isinstance(schema.get("type"), str) else set()
        for combinator in ("oneOf", "anyOf", "allOf"):
            for branch in schema.get(combinator, ()):
                found |= self._types(branch)
        return found

    def _validator(self, pointer: str, direction: str, api_version: str | None) -> Any:
        rich_text = None
        if self._has(JIRA_V2_PLAIN_TEXT):
            rich_text = "adf" if api_version == "3" else "plain"
        key = (pointer, direction, rich_text)
        validator = self._validators.get(key)
        if validator is None:
            cls = _validator_class(
                direction, direction == "response" and self._has(ZD_NULL_OPTIONAL_FIELDS), rich_text
            )
            validator = cls(
                {"$ref": f"{self._uri}#{pointer}"},
                registry=self._registry,
                format_checker=self._format_checker,
            )
            self._validators[key] = validator
        return validator


def _declared_answer(responses: Mapping[str, Any], status: int) -> tuple[str, Any] | None:
    for key in (str(status), f"{status // 100}XX", f"{status // 100}xx", "default"):
        if key in responses:
            return key, responses[key]
    return None


def _essence(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


def _is_json(media_type: str) -> bool:
    essence = _essence(media_type)
    return essence == "application/json" or essence.endswith("+json") or essence == "*/*"


def _select_media_type(content: Mapping[str, Any], content_type: str | None) -> str | None:
    if not content_type:
        return next((key for key in content if _is_json(key)), next(iter(content), None))
    wanted = _essence(content_type)
    for key in content:
        if _essence(key) == wanted:
            return key
    for key in content:
        essence = _essence(key)
        if essence == "*/*" or (essence.endswith("/*") and wanted.startswith(essence[:-1])):
            return key
    return None


def _as_text(body: object) -> str | None:
    if body is None:
        return None
    if isinstance(body, bytes):
        text = body.decode("utf-8", errors="replace")
    elif isinstance(body, str):
        text = body
    else:
        raise TypeError(f"request body of type {type(body).__name__} cannot be read back to check it")
    return text if text.strip() else None


def _parses_as_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def _coerce(raw: str, types: set[str]) -> Any:
    """A query or path value as the type its schema asks for, when it reads as one; else the string,
    which the validator then reports."""
    if "integer" in types and _INTEGER.fullmatch(raw):
        return int(raw)
    if "number" in types and _NUMBER.fullmatch(raw):
        number = float(raw)
        return int(number) if number.is_integer() and _INTEGER.fullmatch(raw) else number
    if "boolean" in types and raw.lower() in ("true", "false"):
        return raw.lower() == "true"
    return raw


def _short(text: str, limit: int = 240) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _errors(validator: Any, instance: Any, label: str, *, with_location: bool = True) -> list[str]:
    problems = []
    for error in sorted(validator.iter_errors(instance), key=lambda e: [str(p) for p in e.absolute_path]):
        message = _short(error.message)
        if error.context:
            closest = best_match(error.context)
            message += f" (closest: {closest.json_path}: {_short(closest.message, 160)})"
        where = f" {error.json_path}" if with_location else ""
        problems.append(f"{label}{where}: {message}")
    return problems


# --------------------------------------------------------------------------------------------------
# Checking what went through a responses.RequestsMock
# --------------------------------------------------------------------------------------------------


class SpecRecorder:
    """Validates every call made through a ``responses.RequestsMock`` (requests always, answers too
    with ``responses_too=True``). A URL goes to the spec whose mount (``/api/v2/`` Zendesk,
    ``/rest/api/`` platform, ``/rest/servicedeskapi/`` JSM) appears first in its path; a URL no given
    spec covers is itself a violation."""

    def __init__(self, *specs: ApiSpec, responses_too: bool = False) -> None:
        if not specs:
            raise ValueError("SpecRecorder needs at least one ApiSpec")
        self.specs = specs
        self.responses_too = responses_too

    def spec_for(self, url: str) -> ApiSpec | None:
        placed = [(index, spec) for spec in self.specs if (index := spec.mount_index(url)) is not None]
        return min(placed, key=lambda pair: pair[0])[1] if placed else None

    def check_call(self, call: Any) -> list[str]:
        """Violations of one ``responses`` call (``call.request``, ``call.response``), each prefixed
        with the method and path."""
        request = call.request
        method = str(request.method).upper()
        url = str(request.url)
        label = f"{method} {urlsplit(url).path}"
        spec = self.spec_for(url)
        if spec is None:
            return [f"{label}: no spec among {', '.join(s.name for s in self.specs)} covers this URL"]
        headers = dict(request.headers)
        problems = spec.check_request(method, url, request.body, headers.get("Content-Type"), headers=headers)
        answer = call.response
        if (
            self.responses_too
            and isinstance(answer, requests.Response)
            and spec.operation(method, url) is not None
        ):
            problems += spec.check_response(
                method, url, answer.status_code, answer.content, answer.headers.get("Content-Type")
            )
        return [f"{label}: {problem}" for problem in problems]

    def check_calls(self, calls: Iterable[Any]) -> list[str]:
        """Violations of every call, in call order, each numbered by its call."""
        return [
            f"call {number}, {problem}"
            for number, call in enumerate(calls, 1)
            for problem in self.check_call(call)
        ]

    def assert_clean(self, calls: Iterable[Any]) -> None:
        """Fails the test with every violation listed, or passes when every call conforms."""
        calls = list(calls)
        problems = self.check_calls(calls)
        if problems:
            listed = "\n".join(f"  - {problem}" for problem in problems)
            raise AssertionError(f"{len(problems)} spec violation(s) in {len(calls)} call(s):\n{listed}")
