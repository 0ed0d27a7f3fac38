"""A small router in the spirit of dlt's test ``APIRouter``: routes as (method, path template, handler).

Handlers take a ``Ctx`` (the parsed request, the authenticated user, the fake) and return a ``Reply`` or raise
``ApiError``; they never see HTTP plumbing. Templates use the spec's names, with ``{v}`` standing for the
platform API version (``2``, ``3`` or ``latest``), so ``"GET /rest/api/{v}/issue/{issueIdOrKey}"`` is both the
route and the name under which the request log counts its calls and faults find it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tests.fakes.jira.render import View
from tests.fakes.jira.site import Mode, User

if TYPE_CHECKING:
    from tests.fakes.jira.fake import FakeJira

BOTH: frozenset[Mode] = frozenset(("cloud", "datacenter"))
CLOUD: frozenset[Mode] = frozenset(("cloud",))
DATACENTER: frozenset[Mode] = frozenset(("datacenter",))


@dataclass
class Reply:
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


class ApiError(Exception):
    """An error answer in one of Jira's error shapes."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(f"{status}: {body}")
        self.status = status
        self.body = body

    @classmethod
    def jira(cls, status: int, *messages: str, errors: dict[str, str] | None = None) -> ApiError:
        """The platform API's ``ErrorCollection``: ``{"errorMessages": [...], "errors": {field: message}}``."""
        return cls(status, {"errorMessages": list(messages), "errors": dict(errors or {})})

    @classmethod
    def jsm(cls, status: int, message: str) -> ApiError:
        """JSM's ``ErrorResponse``."""
        return cls(
            status, {"errorMessage": message, "i18nErrorMessage": {"i18nKey": "sd.error", "parameters": []}}
        )


Handler = Callable[["Ctx"], Reply]


@dataclass(frozen=True)
class Route:
    method: str
    template: str
    pattern: re.Pattern[str]
    handler: Handler
    modes: frozenset[Mode]

    @property
    def endpoint(self) -> str:
        return f"{self.method} {self.template}"


def _compile(template: str) -> re.Pattern[str]:
    regex = ""
    for part in re.split(r"(\{[^}]+\})", template):
        if part == "{v}":
            regex += r"(?P<v>2|3|latest)"
        elif part.startswith("{"):
            regex += rf"(?P<{part[1:-1]}>[^/]+)"
        else:
            regex += re.escape(part)
    return re.compile(regex + r"/?$")


class Router:
    def __init__(self) -> None:
        self.routes: list[Route] = []

    def route(
        self, method: str, template: str, modes: frozenset[Mode] = BOTH
    ) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self.routes.append(Route(method, template, _compile(template), handler, modes))
            return handler

        return register

    def resolve(self, method: str, path: str, mode: Mode) -> tuple[Route, dict[str, str]] | None:
        for route in self.routes:
            if route.method != method or mode not in route.modes:
                continue
            match = route.pattern.match(path)
            if match:
                return route, match.groupdict()
        return None

    def endpoint_for(self, method: str, path: str) -> str | None:
        """The template a path belongs to, in any mode (so the log can name calls the mode refuses)."""
        for route in self.routes:
            if route.method == method and route.pattern.match(path):
                return route.endpoint
        return None


ROUTES = Router()


@dataclass
class Ctx:
    fake: FakeJira
    method: str
    url: str
    path: str
    query: dict[str, list[str]]
    body: Any
    match: dict[str, str]
    user: User

    @property
    def version(self) -> str:
        version = self.match.get("v", "2")
        return "2" if version == "latest" else version

    @property
    def view(self) -> View:
        return View(self.fake.state, self.version, self.user)

    def param(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else default

    def params(self, name: str) -> list[str]:
        """A list parameter: repeated (``fields=a&fields=b``) or comma-separated (``fields=a,b``), or both."""
        return [
            item.strip() for value in self.query.get(name, []) for item in value.split(",") if item.strip()
        ]

    def int_param(self, name: str, default: int) -> int:
        value = self.param(name)
        if value is None or value == "":
            return default
        try:
            return int(value)
        except ValueError:
            raise ApiError.jira(
                400, f"The value '{value}' is not valid for the '{name}' parameter."
            ) from None

    def bool_param(self, name: str, default: bool) -> bool:
        value = self.param(name)
        return default if value is None else value.lower() == "true"

    def json_object(self) -> dict[str, Any]:
        if not isinstance(self.body, dict):
            raise ApiError.jira(400, "Can not deserialize instance of bean out of non-object token")
        return self.body


def decode_body(raw: bytes | str | None) -> Any:
    if raw in (None, b"", ""):
        return None
    text = raw.decode() if isinstance(raw, bytes) else raw
    try:
        return json.loads(text)
    except ValueError:
        raise ApiError.jira(400, "Unexpected character in the request body: it is not JSON.") from None
