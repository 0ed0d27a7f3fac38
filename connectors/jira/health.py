"""``casewarden doctor`` for Jira: can this token, on this project, do what the deployment asks?

Why a module of its own: a Jira admin fixes what doctor reports, so each check names the permission,
the workflow transition or the screen to change, not the HTTP call that failed. The connector's
``health()`` returns :func:`checks`.

What is checked, in the order an admin fixes things:

* **token**: ``GET /myself`` answers (and in which time zone casewarden's JQL windows are read);
* **deployment**: Cloud or Data Center, from ``serverInfo``, and the version;
* **permissions**: ``GET /mypermissions`` on the project for every project permission a cycle uses;
  *Make bulk changes* only as a note (without it, identical label changes on many issues go as one
  edit per issue instead of one Cloud bulk edit);
* **statuses**: every mapped status is in the project's workflow (``GET /project/{key}/statuses``);
* **workflow**: Jira shows transitions only per issue, from its current status
  (``GET /issue/{id}/transitions``), so doctor asks one issue in each status of the workflow and builds
  the graph from what they answer; for every mapped status it says from which statuses it can be
  reached (in one step or several) and from which not. A status no transition leads to fails once every
  other status has been seen; a status no issue is in yet is named, because its way out is unknown (a
  fresh project passes: nothing seen is no fault);
* **levels**: every mapped level is a priority the project's edit screen offers (or an option of the
  level's select field);
* **fields**: every managed field is on the edit screen (``GET /issue/{id}/editmeta`` of one issue of
  the project) and has a type that holds what casewarden writes: a datetime for due instants, a number
  for the escalation level, text, a select or labels for the level and the breach and warning flags
  (any writable type for a field the deployment renamed). A field not created yet is doctor's bootstrap
  check's to report ("fields and statuses present"), not a second failure here.

Each check costs at most a few calls; the workflow check costs two per status of the workflow.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from casewarden.connectors.base import FieldType, HealthCheck
from casewarden.errors import ConnectorError

if TYPE_CHECKING:
    from casewarden.connectors.jira.connector import JiraConnector

#: Project permissions a cycle uses, with what needs them (for the admin reading doctor's answer).
PROJECT_PERMISSIONS: Mapping[str, str] = {
    "BROWSE_PROJECTS": "read issues",
    "EDIT_ISSUES": "write fields, labels and markers",
    "TRANSITION_ISSUES": "move statuses",
    "ADD_COMMENTS": "add internal notes",
    "LINK_ISSUES": "link duplicates, master and related cases",
    "MANAGE_WATCHERS": "add followers",
    "CREATE_ISSUES": "open a related case after the reopen window",
}
BULK_PERMISSION = "BULK_CHANGE"

#: Jira field schemas (``type`` or ``type:items``) that hold what casewarden writes, per field type.
USABLE_SCHEMAS: Mapping[FieldType, frozenset[str]] = {
    FieldType.DATETIME: frozenset({"datetime"}),
    FieldType.NUMBER: frozenset({"number"}),
    FieldType.SELECT: frozenset({"option"}),
    FieldType.LABEL: frozenset({"array:string"}),
    FieldType.TEXT: frozenset({"string", "array:string", "option"}),
}
#: Any field casewarden writes must be one of these (a user picker or a multi-select holds none of its values).
WRITABLE_SCHEMAS: frozenset[str] = frozenset().union(*USABLE_SCHEMAS.values())
#: Types the default field names of ``casewarden init`` (and the fields bootstrap creates) must have; a
#: field renamed in the deployment is checked only for being writable.
CONVENTIONAL_TYPES: Mapping[str, FieldType] = {
    "casewarden_next_due": FieldType.DATETIME,
    "casewarden_escalation_level": FieldType.NUMBER,
    "casewarden_level": FieldType.TEXT,
    "casewarden_breached": FieldType.TEXT,
    "casewarden_warning": FieldType.TEXT,
}
DUE_PREFIX = "casewarden_due_"
_SCHEMA_WORDS = {
    "datetime": "a Date Time Picker",
    "number": "a Number field",
    "option": "a Select List (single choice)",
    "array:string": "a Labels field",
    "string": "a Text Field (single line)",
}


@dataclass(frozen=True)
class Target:
    """What the deployment asks of one Jira project, in Jira's names.

    ``levels`` are the tracker values of the policy levels: priority names, or options of
    ``level_field`` when levels live in a select field; ``statuses`` are (policy, Jira) status names;
    ``fields`` the managed fields by name, with the type each must hold (None: any type)."""

    project: str
    levels: Sequence[str] = ()
    level_field: str | None = None
    statuses: Sequence[tuple[str, str]] = ()
    fields: Mapping[str, FieldType | None] = field(default_factory=dict)


class Api(Protocol):
    """What doctor needs of the connector's client (:class:`casewarden.connectors.jira.client.JiraClient`):
    one call with retries and Jira's errors mapped to the error tree, and whether the site is Cloud."""

    @property
    def cloud(self) -> bool: ...

    def call(
        self, method: str, path: str, *, params: Mapping[str, Any] | None = None, what: str = ""
    ) -> Any: ...


# -- token and deployment ----------------------------------------------------------------------------
def _token(api: Api) -> HealthCheck:
    try:
        me = api.call("GET", "myself", what="GET /myself") or {}
    except ConnectorError as exc:
        return HealthCheck("token", False, f"{exc}: check the token (and on Cloud the e-mail)")
    who = me.get("displayName") or me.get("name") or me.get("accountId") or "?"
    return HealthCheck("token", True, f"authenticated as {who}, time zone {me.get('timeZone', '?')}")


def _deployment(api: Api) -> HealthCheck:
    try:
        info = api.call("GET", "serverInfo", what="GET /serverInfo") or {}
    except ConnectorError as exc:
        return HealthCheck("deployment", False, str(exc))
    said_cloud = str(info.get("deploymentType", "")) == "Cloud"
    kind = "Jira Cloud" if api.cloud else "Jira Data Center"
    detail = f"{kind} {info.get('version', '')} at {info.get('baseUrl', '?')}"
    if said_cloud != api.cloud:
        return HealthCheck(
            "deployment",
            False,
            f"{detail}, but serverInfo says {info.get('deploymentType')}: fix 'deployment'",
        )
    return HealthCheck("deployment", True, detail)


# -- permissions ----------------------------------------------------------------------------------------
def _permissions(api: Api, project: str) -> list[HealthCheck]:
    wanted = [*PROJECT_PERMISSIONS, BULK_PERMISSION]
    try:
        answer = api.call(
            "GET",
            "mypermissions",
            params={"projectKey": project, "permissions": ",".join(wanted)},
            what=f"GET /mypermissions on {project}",
        )
    except ConnectorError as exc:
        return [HealthCheck(f"{project} permissions", False, str(exc))]
    held = {key for key, p in ((answer or {}).get("permissions") or {}).items() if p.get("havePermission")}
    missing = [key for key in PROJECT_PERMISSIONS if key not in held]
    name = f"{project} permissions"
    if missing:
        detail = "missing: {}; grant them in the project's permission scheme".format(
            "; ".join(f"{key} (to {PROJECT_PERMISSIONS[key]})" for key in missing)
        )
        out = [HealthCheck(name, False, detail)]
    else:
        out = [HealthCheck(name, True, f"all {len(PROJECT_PERMISSIONS)} project permissions")]
    if api.cloud and BULK_PERMISSION not in held:
        out.append(
            HealthCheck(
                "bulk edit",
                True,
                "no 'Make bulk changes' global permission: identical label and flag changes go as one edit "
                "per issue instead of one bulk edit",
            )
        )
    return out


# -- the workflow ---------------------------------------------------------------------------------------
@dataclass
class Workflow:
    """The project's statuses and the transitions doctor could see, by status id."""

    names: dict[str, str]  # status id -> name
    edges: dict[str, set[str]]  # status id -> status ids one transition away
    unknown: set[str]  # status ids no issue is in: their way out is not known

    def id_of(self, name: str) -> str | None:
        return next((sid for sid, n in self.names.items() if n.lower() == name.lower()), None)

    def reachable_from(self, target: str) -> set[str]:
        """Status ids from which some path of known transitions leads to ``target``."""
        back: dict[str, set[str]] = {}
        for source, tos in self.edges.items():
            for to in tos:
                back.setdefault(to, set()).add(source)
        seen: set[str] = set()
        queue = deque([target])
        while queue:
            for source in back.get(queue.popleft(), ()):
                if source not in seen and source != target:
                    seen.add(source)
                    queue.append(source)
        return seen


def _search_one(api: Api, jql: str, fields: str) -> dict[str, Any] | None:
    """The first issue a JQL query finds, as JSON (Cloud ``search/jql``, Data Center ``search``)."""
    params = {"jql": jql, "maxResults": 1, "fields": fields}
    page = api.call("GET", "search/jql" if api.cloud else "search", params=params, what="searching") or {}
    issues = page.get("issues") or []
    return issues[0] if issues else None


def read_workflow(api: Api, project: str) -> Workflow:
    """The statuses of the project's workflow and the transitions out of each status an issue is in."""
    names: dict[str, str] = {}
    for issue_type in (
        api.call("GET", f"project/{project}/statuses", what=f"reading {project}'s statuses") or []
    ):
        for status in issue_type.get("statuses") or []:
            names[str(status["id"])] = str(status["name"])
    edges: dict[str, set[str]] = {}
    unknown: set[str] = set()
    for status_id in names:
        sample = _search_one(api, f"project = {project} AND status = {status_id}", "status")
        if sample is None:
            unknown.add(status_id)
            continue
        answer = api.call("GET", f"issue/{sample['id']}/transitions", what="reading transitions") or {}
        edges[status_id] = {
            str(t["to"]["id"]) for t in answer.get("transitions") or [] if str(t["to"]["id"]) != status_id
        }
    return Workflow(names, edges, unknown)


def _status_checks(api: Api, target: Target) -> list[HealthCheck]:
    project = target.project
    try:
        flow = read_workflow(api, project)
    except ConnectorError as exc:
        return [HealthCheck(f"{project} workflow", False, str(exc))]
    out: list[HealthCheck] = []
    absent = [(policy, jira) for policy, jira in target.statuses if flow.id_of(jira) is None]
    if absent:
        listed = ", ".join(f"'{jira}' (for {policy})" for policy, jira in absent)
        out.append(
            HealthCheck(
                f"{project} statuses",
                False,
                f"not in the workflow: {listed}; add them to the workflow, or map the policy statuses to "
                "statuses it has",
            )
        )
    elif target.statuses:
        out.append(
            HealthCheck(
                f"{project} statuses", True, f"all {len(target.statuses)} mapped statuses in the workflow"
            )
        )
    for policy, jira in target.statuses:
        status_id = flow.id_of(jira)
        if status_id is not None:
            out.append(_reachability(project, flow, policy, jira, status_id))
    if flow.unknown:
        listed = ", ".join(sorted(flow.names[s] for s in flow.unknown))
        out.append(
            HealthCheck(
                f"{project} workflow",
                True,
                f"no issue is in {listed} yet, so the transitions out of it are not known",
            )
        )
    return out


def _reachability(project: str, flow: Workflow, policy: str, jira: str, status_id: str) -> HealthCheck:
    """From where a mapped status can be reached. No known way there fails only when every other status
    was seen (an issue in it showed its transitions); otherwise it is not known yet, which is no fault."""
    sources = flow.reachable_from(status_id)
    others = [s for s in flow.names if s != status_id and s not in flow.unknown]
    unseen = sorted(flow.names[s] for s in flow.unknown if s != status_id)
    name = f"{project} workflow: {jira}"
    if not sources and not unseen:
        return HealthCheck(
            name,
            False,
            f"no transition leads to '{jira}' (for {policy}): casewarden can never move a case there; add a "
            "transition to it in the project's workflow",
        )
    if not sources:
        return HealthCheck(
            name,
            True,
            f"no way there seen yet: it can only be reached from {', '.join(unseen)}, which no issue is in",
        )
    reached = sorted(flow.names[s] for s in sources)
    direct = sorted(flow.names[s] for s in sources if status_id in flow.edges.get(s, ()))
    detail = f"reached from {', '.join(reached)}"
    if direct != reached:
        detail += f" (directly from {', '.join(direct) or 'none'}, from the others in several steps)"
    blocked = sorted(flow.names[s] for s in others if s not in sources)
    if blocked:
        detail += f"; not from {', '.join(blocked)}"
    return HealthCheck(name, True, detail)


# -- levels and fields --------------------------------------------------------------------------------
def _schema_of(meta: Mapping[str, Any]) -> str:
    schema = meta.get("schema") or {}
    kind = str(schema.get("type", ""))
    return f"{kind}:{schema['items']}" if kind == "array" and schema.get("items") else kind


def _field_checks(api: Api, target: Target) -> list[HealthCheck]:
    project = target.project
    try:
        by_name = {str(f["name"]).lower(): f for f in api.call("GET", "field", what="reading fields") or []}
        sample = _search_one(api, f"project = {project} ORDER BY updated DESC", "summary")
        screen = None
        if sample is not None:
            meta = api.call("GET", f"issue/{sample['id']}/editmeta", what="reading the edit screen") or {}
            screen = meta.get("fields") or {}
    except ConnectorError as exc:
        return [HealthCheck(f"{project} fields", False, str(exc))]
    out = [_level_check(target, by_name, screen)]
    if screen is None:
        out.append(
            HealthCheck(
                f"{project} edit screen",
                True,
                "the project has no issue yet: the edit screen is checked once it has one",
            )
        )
    for name, wanted in target.fields.items():
        out.append(_field_check(project, name, wanted, by_name.get(name.lower()), screen))
    return out


def _field_check(
    project: str,
    name: str,
    wanted: FieldType | None,
    found: Mapping[str, Any] | None,
    screen: Mapping[str, Any] | None,
) -> HealthCheck:
    check = f"{project} field {name}"
    if found is None:  # doctor's bootstrap check lists it as missing; no second failure for it here
        return HealthCheck(check, True, "not created yet: 'casewarden bootstrap --apply' creates it")
    field_id = str(found["id"])
    schema = _schema_of(found)
    if wanted is None and schema not in WRITABLE_SCHEMAS:
        return HealthCheck(
            check,
            False,
            f"{field_id} is a {schema or 'untyped'} field, which cannot hold what casewarden writes: use a Date "
            "Time Picker for instants, a Number field for counts, else a Text Field, Select List or Labels",
        )
    if wanted is not None and schema not in USABLE_SCHEMAS[wanted]:
        usable = " or ".join(_SCHEMA_WORDS.get(s, s) for s in sorted(USABLE_SCHEMAS[wanted]))
        return HealthCheck(
            check,
            False,
            f"{field_id} is {_SCHEMA_WORDS.get(schema, schema or 'untyped')}; it must be {usable}",
        )
    if screen is not None and field_id not in screen:
        return HealthCheck(
            check,
            False,
            f"{field_id} is not on the edit screen of {project}: add it to the project's edit screen",
        )
    return HealthCheck(check, True, f"{field_id}, {_SCHEMA_WORDS.get(schema, schema)}")


def _level_check(
    target: Target, by_name: Mapping[str, Mapping[str, Any]], screen: Mapping[str, Any] | None
) -> HealthCheck:
    name = f"{target.project} levels"
    if not target.levels:
        return HealthCheck(name, True, "no level mapping to check")
    if target.level_field is None:
        field_id, what = "priority", "priorities"
    else:
        found = by_name.get(target.level_field.lower())
        if found is None:
            return HealthCheck(name, True, f"the level field '{target.level_field}' is not created yet")
        field_id, what = str(found["id"]), f"options of {target.level_field}"
    meta = (screen or {}).get(field_id)
    if screen is not None and meta is None:
        return HealthCheck(name, False, f"{field_id} is not on the edit screen")
    allowed = {
        str(v.get("name") or v.get("value") or "").lower() for v in (meta or {}).get("allowedValues", [])
    }
    if meta is None:
        return HealthCheck(name, True, "no issue to read the allowed values from yet")
    missing = [lv for lv in target.levels if lv.lower() not in allowed]
    if missing:
        return HealthCheck(name, False, f"not among the {what}: {', '.join(missing)}")
    return HealthCheck(name, True, f"all {len(target.levels)} mapped levels are {what}")


# -- all together -------------------------------------------------------------------------------------
def run_checks(api: Api, targets: Sequence[Target]) -> list[HealthCheck]:
    """Every check, for every project; stops after the token check when the token does not work."""
    token = _token(api)
    if not token.ok:
        return [token]
    out = [token, _deployment(api)]
    for target in targets:
        out += _permissions(api, target.project)
        out += _status_checks(api, target)
        out += _field_checks(api, target)
    bulk = [c for c in out if c.name == "bulk edit"]
    return [c for c in out if c.name != "bulk edit"] + bulk[:1]


def expected_type(name: str) -> FieldType | None:
    """The type a managed field must have, when its name says what it holds (see CONVENTIONAL_TYPES)."""
    folded = name.casefold()
    if folded.startswith(DUE_PREFIX):
        return FieldType.DATETIME
    return CONVENTIONAL_TYPES.get(folded)


def targets_of(conn: JiraConnector) -> list[Target]:
    """What the connector's deployment asks of each governed project."""
    names = conn.names
    levels = tuple(names.tracker_levels())
    statuses = tuple(names.tracker_statuses())
    fields = {name: expected_type(name) for name in conn.context.fields}
    return [
        Target(key, levels, conn.settings.level_field, statuses, fields) for key in conn.settings.projects
    ]


def checks(conn: JiraConnector) -> list[HealthCheck]:
    """Every check for the connector's site and projects, in the order an admin would fix them."""
    return run_checks(conn.api, targets_of(conn))


__all__ = [
    "PROJECT_PERMISSIONS",
    "USABLE_SCHEMAS",
    "Api",
    "Target",
    "Workflow",
    "checks",
    "expected_type",
    "read_workflow",
    "run_checks",
    "targets_of",
]
