"""The small subset of JQL a sync connector needs, parsed strictly.

Supported: ``project = X`` / ``project in (X, Y)``, ``updated``/``created`` compared with ``>=``, ``<=``, ``>``,
``<`` to a date literal, ``id = n`` / ``id in (...)``, ``key``/``issue``/``issuekey`` ``=``/``in``, ``status``
``=``/``!=``/``in``, joined by ``AND``, then ``ORDER BY`` updated/created/id/key ``ASC``/``DESC``. Anything else is
refused with a 400 carrying Jira's error shape, so a connector that relies on more JQL than it was tested with
fails here rather than in production.

Date literals have minute precision (``"yyyy/MM/dd HH:mm"``, ``yyyy-MM-dd HH:mm``, or a date alone meaning
midnight) and are read in the time zone of the user who searches, as Jira does. ``zoneinfo`` resolves local
times in a DST gap or overlap like Java's ``ZonedDateTime`` (a gap moves forward, an overlap takes the earlier
offset), so a window that spans a clock change lands on the same instants as on a real site.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from tests.fakes.jira.site import Site
from tests.fakes.jira.state import Issue

DATE_FIELDS = ("updated", "created")
KEY_FIELDS = ("key", "issue", "issuekey")
ORDER_FIELDS = ("updated", "created", "id", "key", "issuekey")
# Direction Jira uses when ORDER BY names a field without ASC/DESC.
DEFAULT_DIRECTION = {"updated": False, "created": False, "id": True, "key": True, "issuekey": True}
SUPPORTED_OPERATORS = {
    "project": ("=", "in"),
    "updated": (">=", "<=", ">", "<"),
    "created": (">=", "<=", ">", "<"),
    "id": ("=", "in"),
    "key": ("=", "in"),
    "issue": ("=", "in"),
    "issuekey": ("=", "in"),
    "status": ("=", "!=", "in"),
}
_DATE_FORMATS = ("%Y/%m/%d %H:%M", "%Y-%m-%d %H:%M", "%Y/%m/%d", "%Y-%m-%d")
_TOKEN = re.compile(
    r"""\s*(?:(?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')|(?P<op>>=|<=|!=|=|>|<|!~|~)|(?P<punct>[(),])"""
    r"""|(?P<word>[A-Za-z0-9_.\-\[\]]+))"""
)


class JqlError(ValueError):
    """The query is not valid JQL (or not in the subset); the message is Jira's wording."""


@dataclass(frozen=True)
class Token:
    kind: str
    text: str

    @property
    def upper(self) -> str:
        return self.text.upper() if self.kind == "word" else ""

    @property
    def value(self) -> str:
        if self.kind == "string":
            return re.sub(r"\\(.)", r"\1", self.text[1:-1])
        return self.text


@dataclass(frozen=True)
class Clause:
    field: str
    operator: str
    values: tuple[str, ...]


@dataclass(frozen=True)
class Query:
    text: str
    clauses: tuple[Clause, ...]
    order: tuple[tuple[str, bool], ...]  # (field, ascending)

    @property
    def bounded(self) -> bool:
        return bool(self.clauses)


def _tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    position = 0
    while position < len(text):
        if text[position:].strip() == "":
            break
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise JqlError(
                f"Error in the JQL Query: The character '{text[position:].strip()[0]}' is a reserved JQL character. "
                f"You must enclose it in a string or use the escape '\\u{ord(text[position:].strip()[0]):04x}' "
                f"instead. (line 1, character {position + 1})"
            )
        kind = match.lastgroup or "word"
        tokens.append(Token(kind, match.group(kind)))
        position = match.end()
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokenize(text)
        self.position = 0

    def peek(self) -> Token | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def take(self) -> Token:
        token = self.peek()
        if token is None:
            raise JqlError(
                f"Error in the JQL Query: Expecting more input at the end of the query: {self.text!r}"
            )
        self.position += 1
        return token

    def unexpected(self, token: Token, expecting: str) -> JqlError:
        return JqlError(
            f"Error in the JQL Query: Expecting {expecting} but got '{token.text}'. The query is: {self.text}"
        )

    def parse(self) -> Query:
        clauses: list[Clause] = []
        order: list[tuple[str, bool]] = []
        while self.peek() is not None:
            token = self.peek()
            assert token is not None
            if token.upper == "ORDER":
                order = self.order_by()
                break
            if clauses:
                joiner = self.take()
                if joiner.upper in ("OR", "NOT"):
                    raise JqlError(
                        f"Error in the JQL Query: the fake supports only AND, got '{joiner.text}'."
                    )
                if joiner.upper != "AND":
                    raise self.unexpected(joiner, "either 'OR' or 'AND'")
            clauses.append(self.clause())
        return Query(self.text, tuple(clauses), tuple(order))

    def clause(self) -> Clause:
        token = self.take()
        if token.kind not in ("word", "string"):
            raise self.unexpected(token, "a field name")
        field = token.value.lower()
        if field not in SUPPORTED_OPERATORS:
            raise JqlError(f"Field '{token.value}' does not exist or you do not have permission to view it.")
        operator_token = self.take()
        operator = operator_token.text.lower() if operator_token.kind in ("op", "word") else ""
        if operator == "not" and (nxt := self.peek()) is not None and nxt.upper == "IN":
            self.take()
            operator = "not in"
        if operator not in ("=", "!=", ">=", "<=", ">", "<", "in", "not in", "is", "~"):
            raise self.unexpected(operator_token, "operator")
        if operator not in SUPPORTED_OPERATORS[field]:
            raise JqlError(f"The operator '{operator}' is not supported by the '{token.value}' field.")
        if operator == "in":
            values = self.value_list()
        else:
            values = (self.single_value(),)
        if field in DATE_FIELDS:
            for value in values:
                _parse_date_literal(value, field)
        if field == "id":
            for value in values:
                if not value.isdigit():
                    raise JqlError(f"The value '{value}' for field 'id' is invalid.")
        return Clause(field, operator, values)

    def single_value(self) -> str:
        token = self.take()
        if token.kind not in ("word", "string"):
            raise self.unexpected(token, "either a value, list or function")
        if token.upper in ("AND", "OR", "ORDER", "EMPTY", "NULL"):
            raise self.unexpected(token, "either a value, list or function")
        return token.value

    def value_list(self) -> tuple[str, ...]:
        opening = self.take()
        if opening.text != "(":
            raise self.unexpected(opening, "'('")
        values = [self.single_value()]
        while (token := self.take()).text == ",":
            values.append(self.single_value())
        if token.text != ")":
            raise self.unexpected(token, "')'")
        return tuple(values)

    def order_by(self) -> list[tuple[str, bool]]:
        self.take()
        by = self.take()
        if by.upper != "BY":
            raise self.unexpected(by, "'by'")
        order: list[tuple[str, bool]] = []
        while True:
            token = self.take()
            field = token.value.lower()
            if field not in ORDER_FIELDS:
                raise JqlError(
                    f"Field '{token.value}' does not exist or you do not have permission to view it."
                )
            ascending = DEFAULT_DIRECTION[field]
            nxt = self.peek()
            if nxt is not None and nxt.upper in ("ASC", "DESC"):
                ascending = self.take().upper == "ASC"
            order.append((field, ascending))
            nxt = self.peek()
            if nxt is None:
                return order
            if nxt.text != ",":
                raise self.unexpected(nxt, "',' or the end of the query")
            self.take()


def parse(text: str) -> Query:
    """Parse a query of the supported subset; raise JqlError with Jira's message otherwise."""
    return _Parser(text).parse()


def _parse_date_literal(value: str, field: str) -> datetime:
    for date_format in _DATE_FORMATS:
        try:
            return datetime.strptime(value.strip(), date_format)
        except ValueError:
            continue
    raise JqlError(
        f"Date value '{value}' for field '{field}' is invalid. Valid formats include: 'yyyy/MM/dd HH:mm', "
        "'yyyy-MM-dd HH:mm', 'yyyy/MM/dd', 'yyyy-MM-dd', or a period format e.g. '-5d', '4w 2d'."
    )


def local_minute_to_utc(value: str, time_zone: str, field: str = "updated") -> datetime:
    """A JQL date literal read in ``time_zone`` (DST-correct, see the module docstring), as a UTC instant."""
    naive = _parse_date_literal(value, field)
    return naive.replace(tzinfo=ZoneInfo(time_zone)).astimezone(UTC)


def _compare(operator: str) -> Callable[[datetime, datetime], bool]:
    return {
        ">=": lambda a, b: a >= b,
        "<=": lambda a, b: a <= b,
        ">": lambda a, b: a > b,
        "<": lambda a, b: a < b,
    }[operator]


def matches(query: Query, issue: Issue, site: Site, time_zone: str) -> bool:
    return all(_clause_matches(clause, issue, site, time_zone) for clause in query.clauses)


def _clause_matches(clause: Clause, issue: Issue, site: Site, time_zone: str) -> bool:
    if clause.field == "project":
        project = site.projects[issue.project_key]
        return any(
            value.upper() in (project.key, project.id) or value == project.name for value in clause.values
        )
    if clause.field in DATE_FIELDS:
        stamp: datetime = getattr(issue, clause.field)
        bound = local_minute_to_utc(clause.values[0], time_zone, clause.field)
        return _compare(clause.operator)(stamp, bound)
    if clause.field == "id":
        return str(issue.id) in clause.values
    if clause.field in KEY_FIELDS:
        keys = {issue.key, *issue.previous_keys}
        return any(value.upper() in keys for value in clause.values)
    if clause.field == "status":
        status = site.statuses[issue.status]
        hit = any(
            value in (status.id, status.name) or value.lower() == status.name.lower()
            for value in clause.values
        )
        return not hit if clause.operator == "!=" else hit
    raise AssertionError(f"unhandled field {clause.field}")


def sort(query: Query, issues: list[Issue]) -> list[Issue]:
    """Apply ORDER BY; with none Jira orders by key descending. Ties fall back to ascending id."""
    ordered = sorted(issues, key=lambda issue: issue.id)
    order = query.order or (("key", False),)
    for field, ascending in reversed(order):
        ordered.sort(key=_sort_key(field), reverse=not ascending)
    return ordered


def _sort_key(field: str) -> Callable[[Issue], Any]:
    if field in DATE_FIELDS:
        return lambda issue: getattr(issue, field)
    if field == "id":
        return lambda issue: issue.id
    return lambda issue: (issue.project_key, int(issue.key.rsplit("-", 1)[1]))
