"""``casewarden doctor`` for Zendesk: what an admin must fix before the policy can be enforced.

Why a module of its own: the connector's ``health()`` must say, in words an admin acts on, whether the
token works, whether its user may do what casewarden needs (the ticket-events export and bootstrap need
an admin), whether the plan has the features the deployment relies on (custom ticket statuses activated,
SLA policies for the cross-check), whether every level and status mapping points at something that
exists, and whether each mapped field has a type that can hold what casewarden writes. Each check is one
``HealthCheck``; a failing one never stops the others, and the instance is read once (users/me, account
settings, ticket fields, custom statuses, SLA policies: five calls whatever its size).

The checks are pure functions of an :class:`Instance` (what was read) and a :class:`Wanted` (what the
deployment maps), so they are tested without a connector; :func:`checks` joins them for the connector.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from casewarden.connectors.base import FieldType, HealthCheck
from casewarden.errors import CasewardenError

#: Zendesk's built-in priorities, lowest first
PRIORITIES = ("low", "normal", "high", "urgent")
#: Zendesk's built-in statuses and the policy category each one is
BUILTIN_STATUSES = {
    "new": "new",
    "open": "open",
    "pending": "pending",
    "hold": "hold",
    "on-hold": "hold",
    "solved": "solved",
    "closed": "closed",
}
#: which Zendesk field types can hold each kind of managed field, and why the others cannot
USABLE_TYPES: Mapping[FieldType, tuple[str, ...]] = {
    FieldType.DATETIME: ("text", "regexp"),  # ISO-8601 UTC text: Zendesk has no datetime field
    FieldType.TEXT: ("text", "textarea"),
    FieldType.SELECT: ("tagger", "text"),
    FieldType.NUMBER: ("integer", "decimal", "text"),
    FieldType.LABEL: ("tagger", "multiselect", "text"),
}
#: the types that can hold some value casewarden writes, for a field whose kind is not known
ANY_VALUE_TYPES = ("text", "textarea", "regexp", "tagger", "integer", "decimal")
_WHY_NOT = {
    "date": "a date field holds a day, not an instant; use a text (or regexp) field for ISO-8601 UTC",
    "checkbox": "a checkbox holds only yes/no",
    "lookup": "a lookup field holds a link to a record",
}


@dataclass(frozen=True)
class ZendeskField:
    """A ticket field as the instance has it: title, type, active, and a drop-down's options."""

    id: int
    title: str
    type: str
    active: bool = True
    #: (name, value) of a drop-down's options; the value is the tag Zendesk sets
    options: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class ZendeskStatus:
    id: int
    agent_label: str
    category: str
    active: bool = True


@dataclass
class Instance:
    """What doctor read of the instance. ``errors`` holds, per part that could not be read, why."""

    me: Mapping[str, Any] | None = None
    custom_statuses_enabled: bool | None = None
    fields: list[ZendeskField] = field(default_factory=list)
    statuses: list[ZendeskStatus] = field(default_factory=list)
    #: None: the plan has no SLA policies (403); else their titles
    sla_policies: list[str] | None = None
    errors: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Wanted:
    """What the deployment maps onto the instance.

    ``level_field`` is None when levels are Zendesk priorities, else the title of the drop-down field
    that holds them; ``levels`` are the tracker values of the policy levels; ``statuses`` are (policy
    status, Zendesk status name, policy category or "" when unknown); ``fields`` are the managed fields
    with their kind (None: any value casewarden writes);
    ``uses_custom_statuses`` says the mapping needs custom statuses (a name that is not built in);
    ``native_sla`` says the deployment wants the SLA cross-check."""

    levels: Sequence[str] = ()
    level_field: str | None = None
    statuses: Sequence[tuple[str, str, str]] = ()
    fields: Sequence[tuple[str, FieldType | None]] = ()
    native_sla: bool = True
    #: the deployment maps statuses to custom statuses (``custom_statuses: true``), else built-in ones
    custom_statuses: bool = True


# ------------------------------------------------------------------------------------------------
# Reading the instance


class _Connected(Protocol):
    """What the checks need of the connector: its zenpy client."""

    @property
    def client(self) -> Any: ...


def _describe(exc: BaseException) -> str:
    """A failure in words, without the response body (it may hold customer data) or any secret."""
    if isinstance(exc, CasewardenError):
        return str(exc)  # casewarden's own errors are written to be shown
    response = getattr(exc, "response", None)
    status = getattr(response, "status_code", None)
    if status is not None:
        return f"HTTP {status}"
    retried = re.search(r"too many (\d{3}) error responses", str(exc))
    if retried:
        return f"HTTP {retried.group(1)} (after retries)"
    return type(exc).__name__


def _status_of(exc: BaseException) -> int | None:
    return getattr(getattr(exc, "response", None), "status_code", None)


def read_instance(client: Any, base_url: str | None = None) -> Instance:
    """Read what the checks need, each part on its own so one failure does not hide the others.

    ``base_url`` (``https://acme.zendesk.com``) is where the account settings are read; zenpy has no
    accessor for them, so they go through its session (which carries the credentials)."""
    inst = Instance()

    def attempt(part: str, read: Callable[[], None]) -> None:
        try:
            read()
        except Exception as exc:  # any failure of one read is that check's failure, reported in words
            inst.errors[part] = _describe(exc)
            if part == "sla_policies" and _status_of(exc) == 403:
                inst.errors.pop(part)
                inst.sla_policies = None

    def me() -> None:
        user = client.users.me()
        inst.me = {"email": getattr(user, "email", None), "role": getattr(user, "role", None)}

    def settings() -> None:
        base = base_url or f"{os.environ.get('ZENPY_FORCE_SCHEME', 'https')}://{client.users.base_url}"
        answer = client.users.session.get(f"{base}/api/v2/account/settings.json", timeout=30)
        answer.raise_for_status()
        tickets = answer.json().get("settings", {}).get("tickets", {})
        inst.custom_statuses_enabled = bool(tickets.get("custom_statuses_enabled"))

    def fields() -> None:
        for f in client.ticket_fields():
            options = tuple(
                (str(getattr(o, "name", "")), str(getattr(o, "value", "")))
                for o in (getattr(f, "custom_field_options", None) or [])
            )
            inst.fields.append(
                ZendeskField(int(f.id), str(f.title), str(f.type), bool(getattr(f, "active", True)), options)
            )

    def statuses() -> None:
        for s in client.custom_statuses():
            inst.statuses.append(
                ZendeskStatus(
                    int(s.id), str(s.agent_label), str(s.status_category), bool(getattr(s, "active", True))
                )
            )

    def sla_policies() -> None:
        inst.sla_policies = [str(p.title) for p in client.sla_policies()]

    attempt("token", me)
    if "token" in inst.errors:
        return inst
    for part, read in (
        ("account settings", settings),
        ("ticket fields", fields),
        ("custom statuses", statuses),
        ("sla_policies", sla_policies),
    ):
        attempt(part, read)
    return inst


# ------------------------------------------------------------------------------------------------
# The checks


def token_checks(inst: Instance) -> list[HealthCheck]:
    if inst.me is None:
        why = inst.errors.get("token", "no answer")
        hint = " (check the e-mail and token, or the OAuth token, and the base URL)" if "401" in why else ""
        return [HealthCheck("token", False, f"GET users/me failed: {why}{hint}")]
    out = [HealthCheck("token", True, f"authenticated as {inst.me.get('email')}")]
    role = inst.me.get("role")
    out.append(
        HealthCheck(
            "role",
            role == "admin",
            "admin"
            if role == "admin"
            else f"the token's user is '{role}': the ticket-events export (status and reply history) and "
            "bootstrap need an admin; use an admin's token",
        )
    )
    return out


def plan_checks(inst: Instance, wanted: Wanted) -> list[HealthCheck]:
    out: list[HealthCheck] = []
    custom = [name for _p, name, _c in wanted.statuses if name.lower() not in BUILTIN_STATUSES]
    if "account settings" in inst.errors:
        out.append(
            HealthCheck(
                "custom statuses activated", False, f"account settings: {inst.errors['account settings']}"
            )
        )
    elif custom or inst.custom_statuses_enabled is False:
        ok = bool(inst.custom_statuses_enabled) or not custom
        out.append(
            HealthCheck(
                "custom statuses activated",
                ok,
                "activated"
                if inst.custom_statuses_enabled
                else "not activated, and the status mapping names custom statuses ("
                + ", ".join(custom[:5])
                + "): activate them in Admin Center > Objects and rules > Tickets > Ticket statuses"
                if not ok
                else "not activated; the mapping uses only built-in statuses",
            )
        )
    if wanted.native_sla:
        if "sla_policies" in inst.errors:
            out.append(HealthCheck("SLA policies", False, f"cannot read them: {inst.errors['sla_policies']}"))
        elif inst.sla_policies is None:
            out.append(
                HealthCheck(
                    "SLA policies",
                    True,
                    "not on this plan (Professional/Growth and up): the cross-check with Zendesk's own SLA "
                    "figures is not available; enforcement does not need it",
                )
            )
        else:
            out.append(
                HealthCheck(
                    "SLA policies",
                    True,
                    f"{len(inst.sla_policies)} policies; 'report' can cross-check casewarden's due times "
                    "with Zendesk's"
                    if inst.sla_policies
                    else "none defined: nothing to cross-check casewarden's due times with",
                )
            )
    return out


def _find_field(inst: Instance, title: str) -> ZendeskField | None:
    exact = [f for f in inst.fields if f.title == title]
    loose = [f for f in inst.fields if f.title.strip().lower() == title.strip().lower()]
    found = exact or loose
    return min(found, key=lambda f: (not f.active, f.id)) if found else None


def level_checks(inst: Instance, wanted: Wanted) -> list[HealthCheck]:
    if not wanted.levels:
        return []
    if wanted.level_field is None:
        allowed = {p: p for p in PRIORITIES}
        where = "Zendesk priorities (low, normal, high, urgent)"
    else:
        if "ticket fields" in inst.errors:
            return [HealthCheck("levels resolve", False, f"ticket fields: {inst.errors['ticket fields']}")]
        dropdown = _find_field(inst, wanted.level_field)
        if dropdown is None or dropdown.type != "tagger":
            what = "does not exist" if dropdown is None else f"is a {dropdown.type} field, not a drop-down"
            return [
                HealthCheck(
                    "levels resolve",
                    False,
                    f"the level field '{wanted.level_field}' {what}: run 'casewarden bootstrap --apply'",
                )
            ]
        allowed = {}
        for name, value in dropdown.options:
            allowed[name.lower()] = name
            allowed[value.lower()] = name
        where = f"options of '{wanted.level_field}'"
    missing = [lv for lv in wanted.levels if lv.lower() not in allowed]
    return [
        HealthCheck(
            "levels resolve",
            not missing,
            f"every level is one of the {where}"
            if not missing
            else f"not among the {where}: " + ", ".join(missing),
        )
    ]


def status_checks(inst: Instance, wanted: Wanted) -> list[HealthCheck]:
    if not wanted.statuses:
        return []
    if "custom statuses" in inst.errors and inst.custom_statuses_enabled:
        return [HealthCheck("statuses resolve", False, f"custom statuses: {inst.errors['custom statuses']}")]
    problems: list[str] = []
    for policy_name, name, category in wanted.statuses:
        if not wanted.custom_statuses and name.strip().lower() not in BUILTIN_STATUSES:
            problems.append(
                f"{policy_name} -> '{name}' is not a built-in status (new, open, pending, hold, solved, "
                "closed), and the settings say custom_statuses: false"
            )
            continue
        matches = [
            s for s in inst.statuses if s.agent_label.strip().lower() == name.strip().lower() and s.active
        ]
        if matches:
            cats = {s.category for s in matches}
            wanted_cat = "solved" if category == "closed" else category
            if category and wanted_cat not in cats:
                problems.append(
                    f"{policy_name} -> '{name}' is in the {'/'.join(sorted(cats))} category, the policy's is {category}"
                )
            continue
        builtin = BUILTIN_STATUSES.get(name.strip().lower())
        if builtin is not None:
            if category and builtin != category and not (category == "closed" and builtin == "solved"):
                problems.append(
                    f"{policy_name} -> '{name}' is Zendesk's {builtin} status, the policy says {category}"
                )
            continue
        problems.append(f"{policy_name} -> '{name}' does not exist (bootstrap creates it)")
    return [
        HealthCheck(
            "statuses resolve",
            not problems,
            "every status is a Zendesk status of its category" if not problems else "; ".join(problems),
        )
    ]


def field_checks(inst: Instance, wanted: Wanted) -> list[HealthCheck]:
    if not wanted.fields:
        return []
    if "ticket fields" in inst.errors:
        return [HealthCheck("fields usable", False, f"ticket fields: {inst.errors['ticket fields']}")]
    out: list[HealthCheck] = []
    for title, kind in wanted.fields:
        found = _find_field(inst, title)
        usable = ANY_VALUE_TYPES if kind is None else USABLE_TYPES.get(kind, ())
        if found is None:
            out.append(
                HealthCheck(f"field {title}", False, "does not exist: run 'casewarden bootstrap --apply'")
            )
        elif not found.active:
            out.append(HealthCheck(f"field {title}", False, "is inactive: activate it in Admin Center"))
        elif found.type not in usable:
            what = "what casewarden writes" if kind is None else f"a {kind.value} value"
            why = _WHY_NOT.get(found.type, f"a {found.type} field cannot hold {what}")
            out.append(
                HealthCheck(
                    f"field {title}",
                    False,
                    f"{why} (usable: {', '.join(usable)}); delete or rename it and run bootstrap again",
                )
            )
        else:
            out.append(HealthCheck(f"field {title}", True, f"{found.type} field #{found.id}"))
    return out


def all_checks(inst: Instance, wanted: Wanted) -> list[HealthCheck]:
    out = token_checks(inst)
    if inst.me is None:
        return out
    return [
        *out,
        *plan_checks(inst, wanted),
        *level_checks(inst, wanted),
        *status_checks(inst, wanted),
        *field_checks(inst, wanted),
    ]


def wanted_of(conn: Any) -> Wanted:
    """What a connector's deployment maps: its level and status maps, the level drop-down and the
    managed fields with what each holds (``context.field_types``; labels are tags, no field), and the
    policy category of each mapped status (``context.status_categories``)."""
    names = getattr(conn, "names", None)
    settings = getattr(conn, "settings", None)
    context = getattr(conn, "context", None)
    level_field = getattr(settings, "level_field", None)
    levels = tuple(names.tracker_levels()) if names is not None else ()
    categories: Mapping[str, str] = getattr(context, "status_categories", None) or {}
    statuses = (
        tuple((p, t, categories.get(p, "")) for p, t in names.tracker_statuses()) if names is not None else ()
    )
    types: Mapping[str, FieldType] = getattr(context, "field_types", None) or {}
    fields: list[tuple[str, FieldType | None]] = [
        (f, types.get(f)) for f in getattr(conn, "managed_fields", ()) if types.get(f) is not FieldType.LABEL
    ]
    return Wanted(
        levels,
        level_field,
        statuses,
        fields,
        native_sla=bool(getattr(conn, "NATIVE_SLA", True)),
        custom_statuses=bool(getattr(settings, "custom_statuses", True)),
    )


def checks(conn: _Connected, wanted: Wanted | None = None) -> list[HealthCheck]:
    """Every check, in the order an admin fixes them: token, role, plan features, mappings, fields."""
    settings = getattr(conn, "settings", None)
    base_url = getattr(settings, "url", None)
    return all_checks(read_instance(conn.client, base_url), wanted or wanted_of(conn))


__all__ = [
    "BUILTIN_STATUSES",
    "PRIORITIES",
    "USABLE_TYPES",
    "Instance",
    "Wanted",
    "ZendeskField",
    "ZendeskStatus",
    "all_checks",
    "checks",
    "read_instance",
    "wanted_of",
]
