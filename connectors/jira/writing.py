"""Applying a batch: per issue one edit, the transitions a status needs, comments, links, watchers.

One search first reads every issue of the batch (status and its transitions, labels, links, markers),
so each issue's changes are checked before they are made: an issue that is not there refuses all of
them; a keyed side effect whose marker is already on the issue is not repeated. Then, per issue:

* **one edit** ``PUT /issue/{id}`` carries the field values, the level (priority or select), the group
  field and the label adds and removes, with the marker property of its keyed changes in the same
  request (no re-GET: the library's ``Issue.update`` would cost one);
* **status** through transitions: the shortest path over the workflow graph learned from the issues'
  transitions; a status no known path reaches is refused with the reason, and nothing else of it is
  attempted; the marker property travels with the last transition;
* **notes**: JSM internal comments (the ``sd.public.comment`` property), plain comments elsewhere, each
  ending with its marker line;
* **links** in the configured type and direction (``inwardIssue`` is the end the outward description
  speaks of), **watchers** (the assignee untouched), and **related issues**, opened once: the new issue
  carries ``casewarden.origin``, the source's marker records the key, and a lost answer is settled by
  finding the issue by its origin (``markers.settle``).

On Cloud, unkeyed label adds and removes identical on at least ``bulk_min`` issues of the batch go first,
as one bulk edit each (``bulk``: its module says how a task's outcome is judged); a refused bulk edit
sends its changes back to their issues' own edits.

A write's failure decides its outcome: a 4xx is ``refused`` with Jira's reason; a 5xx, a timeout or a
dropped connection is ``unknown`` (it may have landed) and is settled from markers before anything is
repeated; the issue's other requests are still made, each with its own outcome (every keyed one checked
against the markers read first, so none is made twice).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from casewarden.connectors.base import (
    CaseChanges,
    Change,
    ChangeKind,
    ChangeResult,
    Outcome,
    marker_text,
)
from casewarden.connectors.jira import bulk
from casewarden.connectors.jira.client import LostAnswer, Refused
from casewarden.connectors.jira.markers import marker_value, markers_of_bean, own_account
from casewarden.connectors.jira.reading import RECONCILE_MAX, scope_jql, search_beans
from casewarden.connectors.jira.site import FieldInfo
from casewarden.connectors.jira.timeline import INTERNAL_PROPERTY, ORIGIN_PROPERTY
from casewarden.errors import ConnectorError, FatalConnectorError

if TYPE_CHECKING:
    from casewarden.connectors.jira.connector import JiraConnector

__all__ = ["apply", "finish_related", "jira_datetime"]

EDIT_KINDS = frozenset(
    {
        ChangeKind.SET_FIELD,
        ChangeKind.SET_LEVEL,
        ChangeKind.ADD_TAG,
        ChangeKind.REMOVE_TAG,
        ChangeKind.ASSIGN_GROUP,
    }
)
#: how far back an open_related looks for an issue an earlier, interrupted attempt opened
RELATED_LOOKBACK = timedelta(days=2)
PREREAD_FIELDS = ["status", "labels", "issuelinks", "comment", "project", "issuetype", "priority", "reporter"]


class _Unknown(Exception):
    def __init__(self, why: str) -> None:
        super().__init__(why)
        self.why = why


def jira_datetime(text: str) -> str:
    """An ISO 8601 instant as Jira's datetime field format (``2025-01-31T10:00:00.000+0000``)."""
    at = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    at = at.astimezone(UTC)
    return at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}+0000"


def _field_value(info: FieldInfo, value: str | None) -> Any:
    if value is None or value == "":
        return None
    kind = info.kind
    if kind == "datetime":
        return jira_datetime(value)
    if kind == "number":
        return float(value)
    if kind == "select":
        return {"value": value}
    if kind == "labels":
        return [v.strip().replace(" ", "_") for v in value.split(",") if v.strip()]
    return value


@dataclass
class _Issue:
    """What the pre-read knows of one issue, kept current as this batch changes it."""

    bean: Mapping[str, Any]
    markers: set[str]
    status: str
    results: dict[int, ChangeResult] = field(default_factory=dict)


def apply(conn: JiraConnector, batch: Sequence[CaseChanges]) -> list[ChangeResult]:
    order: list[Change] = [c for group in batch for c in group.changes]
    if not order:
        return []
    caps = conn.capabilities()
    issues = _preread(conn, [g.case_id for g in batch])
    results: dict[int, ChangeResult] = {}
    position = {id(c): n for n, c in enumerate(order)}
    in_bulk = _bulk(conn, batch, issues, caps.refusal, results, position)
    for group in batch:
        issue = issues.get(group.case_id)
        changes = [c for c in group.changes if id(c) not in in_bulk]
        if issue is None:
            for c in changes:
                results[position[id(c)]] = ChangeResult(
                    c, Outcome.REFUSED, f"issue {group.case_id} does not exist"
                )
            continue
        done = _apply_issue(conn, issue, changes, caps.refusal)
        for c, r in zip(changes, done, strict=True):
            results[position[id(c)]] = r
        conn.recently_written.append(group.case_id)
    return [results[n] for n in range(len(order))]


def _bulk(
    conn: JiraConnector,
    batch: Sequence[CaseChanges],
    issues: Mapping[str, _Issue],
    refusal: Any,
    results: dict[int, ChangeResult],
    position: Mapping[int, int],
) -> set[int]:
    """Cloud: label changes identical on many issues as bulk edits (``bulk``); their results go into
    ``results``, and the ``id``s of the changes they settled are returned (the rest, and any whose bulk
    submit was refused, stay in their issues' own edits)."""
    if not conn.api.cloud or conn.settings.bulk_min <= 0:
        return set()
    candidates = [
        c
        for g in batch
        if g.case_id in issues and str(g.case_id).isdigit() and _only_plain_labels(g)
        for c in g.changes
        if c.case_id == g.case_id and refusal(c) is None  # all labels: _only_plain_labels
    ]
    groups = bulk.plan_groups(conn, candidates)
    if not groups or not bulk.bulk_allowed(conn):
        return set()
    done, _back = bulk.run_groups(conn, groups)
    for key, result in done.items():
        results[position[key]] = result
    return set(done)


def _only_plain_labels(group: CaseChanges) -> bool:
    """An issue whose changes are all unkeyed label changes: one that needs no edit of its own. An issue
    that gets its own edit anyway carries its labels in it: a bulk task would save it no request and could
    only add an unknown outcome."""
    return all(c.kind in bulk.LABEL_KINDS and c.key is None for c in group.changes)


def _preread(conn: JiraConnector, ids: Sequence[str]) -> dict[str, _Issue]:
    wanted = [i for i in dict.fromkeys(ids) if str(i).isdigit()]
    me = own_account(conn)
    out: dict[str, _Issue] = {}
    for start in range(0, len(wanted), RECONCILE_MAX):
        chunk = wanted[start : start + RECONCILE_MAX]
        jql = f"{scope_jql(conn)} AND id in ({', '.join(chunk)})"
        for beans in search_beans(conn, jql, fields=PREREAD_FIELDS, expand=["transitions"], reconcile=chunk):
            for bean in beans:
                status = str(((bean.get("fields") or {}).get("status") or {}).get("id", ""))
                if bean.get("transitions") is not None and status:
                    conn.site.workflow.learn(status, bean["transitions"])
                out[str(bean["id"])] = _Issue(bean, markers_of_bean(conn, bean, me), status)
    return out


def _apply_issue(
    conn: JiraConnector, issue: _Issue, changes: list[Change], refusal: Any
) -> list[ChangeResult]:
    out: dict[int, ChangeResult] = {}
    todo: list[tuple[int, Change]] = []
    for n, c in enumerate(changes):
        why = refusal(c)
        if why:
            out[n] = ChangeResult(c, Outcome.REFUSED, why)
        else:
            todo.append((n, c))
    edits = [(n, c) for n, c in todo if c.kind in EDIT_KINDS]
    rest = [(n, c) for n, c in todo if c.kind not in EDIT_KINDS]
    steps: list[list[tuple[int, Change]]] = ([edits] if edits else []) + [[x] for x in rest]
    for step in steps:
        token = conn.api.now().isoformat()
        try:
            if step is edits:
                out.update(_edit(conn, issue, step))
            else:
                n, c = step[0]
                out[n] = _one(conn, issue, c)
        except _Unknown as exc:
            for n, c in step:
                out[n] = ChangeResult(c, Outcome.UNKNOWN, exc.why, token=token)
        except Refused as exc:
            for n, c in step:
                out[n] = ChangeResult(c, Outcome.REFUSED, str(exc))
    return [out[n] for n in range(len(changes))]


def _call(conn: JiraConnector, method: str, path: str, **kwargs: Any) -> Any:
    try:
        return conn.api.call(method, path, write=True, **kwargs)
    except LostAnswer as exc:
        raise _Unknown(str(exc)) from None
    except FatalConnectorError:
        raise
    except Refused:
        raise
    except ConnectorError as exc:  # a 429 that outlived its retries: nothing was done
        raise Refused(kwargs.get("what", path), 429, str(exc)) from None


def _marker_props(conn: JiraConnector, issue: _Issue, keys: set[str]) -> list[dict[str, Any]]:
    merged = issue.markers | keys
    return [{"key": conn.settings.marker_property, "value": marker_value(merged)}]


# -- one edit ------------------------------------------------------------------------------------------
def _edit(conn: JiraConnector, issue: _Issue, group: list[tuple[int, Change]]) -> dict[int, ChangeResult]:
    from casewarden.connectors.jira.reading import translator

    t = translator(conn)
    out: dict[int, ChangeResult] = {}
    fields: dict[str, Any] = {}
    labels: list[dict[str, str]] = []
    sent: list[tuple[int, Change]] = []
    for n, c in group:
        if c.key and c.key in issue.markers:
            out[n] = ChangeResult(c, Outcome.APPLIED)
            continue
        if c.kind is ChangeKind.SET_FIELD:
            info = conn.site.field_named(c.field or "")
            if info is None or not info.custom:
                out[n] = ChangeResult(
                    c, Outcome.REFUSED, f"no custom field '{c.field}': run casewarden bootstrap"
                )
                continue
            try:
                fields[info.id] = _field_value(info, c.value)
            except ValueError:
                out[n] = ChangeResult(c, Outcome.REFUSED, f"'{c.value}' does not fit field '{c.field}'")
                continue
        elif c.kind is ChangeKind.SET_LEVEL:
            value = conn.names.level_to_tracker(c.value or "")
            if not value:
                out[n] = ChangeResult(c, Outcome.REFUSED, f"level '{c.value}' is not mapped to a Jira value")
                continue
            if t.level_field is not None:
                fields[t.level_field.id] = {"value": value}
            else:
                fields["priority"] = {"name": value}
        elif c.kind is ChangeKind.ASSIGN_GROUP:
            info = t.group_field
            if info is None:
                out[n] = ChangeResult(c, Outcome.REFUSED, "no group field on this site")
                continue
            fields[info.id] = _field_value(info, c.value)
        elif c.kind in (ChangeKind.ADD_TAG, ChangeKind.REMOVE_TAG):
            tag = (c.value or "").strip()
            if not tag or " " in tag:
                out[n] = ChangeResult(c, Outcome.REFUSED, f"'{c.value}' is not a Jira label (no spaces)")
                continue
            labels.append({"add" if c.kind is ChangeKind.ADD_TAG else "remove": tag})
        sent.append((n, c))
    if not sent:
        return out
    body: dict[str, Any] = {}
    if fields:
        body["fields"] = fields
    if labels:
        body["update"] = {"labels": labels}
    keys = {c.key for _n, c in sent if c.key}
    if keys:
        body["properties"] = _marker_props(conn, issue, keys)
    _call(conn, "PUT", f"issue/{issue.bean['id']}", body=body, what=f"editing issue {issue.bean['id']}")
    issue.markers |= keys
    for n, c in sent:
        out[n] = ChangeResult(c, Outcome.APPLIED)
    return out


# -- one side effect -------------------------------------------------------------------------------------
def _one(conn: JiraConnector, issue: _Issue, c: Change) -> ChangeResult:
    if c.key and c.key in issue.markers:
        return ChangeResult(c, Outcome.APPLIED)
    handler = _HANDLERS[c.kind]
    why = handler(conn, issue, c)
    if why:
        return ChangeResult(c, Outcome.REFUSED, why)
    return ChangeResult(c, Outcome.APPLIED)


def _record(conn: JiraConnector, issue: _Issue, key: str | None) -> None:
    """The marker of a side effect whose own request cannot carry a property (links, watchers)."""
    if not key:
        return
    merged = issue.markers | {key}
    _call(
        conn,
        "PUT",
        f"issue/{issue.bean['id']}/properties/{conn.settings.marker_property}",
        body=marker_value(merged),
        what=f"recording a marker on {issue.bean['id']}",
    )
    issue.markers = merged


def _status(conn: JiraConnector, issue: _Issue, c: Change) -> str | None:
    name = conn.names.status_to_tracker(c.value or "")
    if not name:
        return f"status '{c.value}' is not mapped to a Jira status"
    target = conn.site.status_id(name)
    if target is None:
        return f"Jira has no status '{name}'"
    case_id = str(issue.bean["id"])
    wf = conn.site.workflow
    path = wf.path(issue.status, target)
    if path is None and wf.unexplored(issue.status):
        _discover(conn, issue)
        path = wf.path(issue.status, target)
    if path is None:
        here = wf.names.get(issue.status, issue.status)
        unknown = sorted(wf.names.get(s, s) for s in wf.unexplored(issue.status))
        if unknown:
            return (
                f"no known workflow path leads from '{here}' to '{name}': the transitions out of "
                f"{', '.join(unknown)} are not known yet (Jira shows them only on an issue in that status)"
            )
        return f"no workflow transition path leads from '{here}' to '{name}'"
    keys = {c.key} if c.key else set()
    if not path:
        if keys:
            _record(conn, issue, c.key)
        return None
    for step, (tid, to) in enumerate(path):
        body: dict[str, Any] = {"transition": {"id": tid}}
        if step == len(path) - 1 and keys:
            body["properties"] = _marker_props(conn, issue, keys)
        _call(conn, "POST", f"issue/{case_id}/transitions", body=body, what=f"moving issue {case_id}")
        issue.status = to
    issue.markers |= keys
    return None


def _discover(conn: JiraConnector, issue: _Issue) -> None:
    """Learn the transitions of the statuses reachable from the issue's that no issue read so far was
    in: one search for one issue in each (Jira shows transitions only on an issue), each status asked
    about once per connector, repeated while it reveals more statuses."""
    tried: set[str] = conn.__dict__.setdefault("_discovered", set())
    project = str(((issue.bean.get("fields") or {}).get("project") or {}).get("key") or conn.project)
    wf = conn.site.workflow
    while todo := sorted(wf.unexplored(issue.status) - tried):
        for sid in todo:
            tried.add(sid)
            jql = f'project = "{project}" AND status = {sid}'
            beans = next(
                search_beans(
                    conn, jql, fields=["status"], expand=["transitions"], page_size=1, with_properties=False
                ),
                None,
            )
            if beans:
                wf.learn(sid, beans[0].get("transitions") or [])


def _note(conn: JiraConnector, issue: _Issue, c: Change) -> str | None:
    text = (c.value or "").strip()
    if not text:
        return "a note needs text"
    if c.key:
        text = f"{text}\n{marker_text(c.key)}"
    body: dict[str, Any] = {"body": text}
    if conn.jsm():
        body["properties"] = [{"key": INTERNAL_PROPERTY, "value": {"internal": True}}]
    case_id = str(issue.bean["id"])
    _call(conn, "POST", f"issue/{case_id}/comment", body=body, what=f"commenting on issue {case_id}")
    if c.key:
        issue.markers.add(c.key)
    return None


def _link_body(conn: JiraConnector, kind: str, this: str, other: str) -> dict[str, Any] | None:
    spec = conn.settings.link_types.get(kind)
    if spec is None:
        return None
    source, destination = (this, other) if spec.direction != "inward" else (other, this)
    return {"type": {"name": spec.type}, "inwardIssue": {"id": source}, "outwardIssue": {"id": destination}}


def _link(conn: JiraConnector, issue: _Issue, c: Change) -> str | None:
    kind, other = c.field or "", (c.value or "").strip()
    case_id = str(issue.bean["id"])
    body = _link_body(conn, kind, case_id, other)
    if body is None:
        return f"no Jira link type for '{kind}'"
    if not other.isdigit():
        return f"'{other}' is not a Jira issue id"
    spec = conn.settings.link_types[kind]
    for entry in (issue.bean.get("fields") or {}).get("issuelinks") or []:
        if str((entry.get("type") or {}).get("name", "")).casefold() != spec.type.casefold():
            continue
        end = entry.get("outwardIssue") if spec.direction != "inward" else entry.get("inwardIssue")
        if spec.direction == "both":
            end = entry.get("outwardIssue") or entry.get("inwardIssue")
        if end and str(end.get("id")) == other:
            _record(conn, issue, c.key)
            return None
    _call(conn, "POST", "issueLink", body=body, what=f"linking issue {case_id}")
    _record(conn, issue, c.key)
    return None


def _user_ref(conn: JiraConnector, who: str) -> str | None:
    """The accountId (Cloud) or user name (DC) of a user given by e-mail or name."""
    cache: dict[str, str | None] = conn.__dict__.setdefault("_users", {})
    if who in cache:
        return cache[who]
    params = {"query": who} if conn.api.cloud else {"username": who}
    found = conn.api.call("GET", "user/search", params=params, what="finding a user") or []
    ref = None
    for user in found:
        if who.casefold() in (str(user.get("emailAddress", "")).casefold(), str(user.get("name", "")).casefold(),
                              str(user.get("accountId", "")).casefold()):  # fmt: skip
            ref = str(user.get("accountId") if conn.api.cloud else user.get("name"))
            break
    cache[who] = ref
    return ref


def _follower(conn: JiraConnector, issue: _Issue, c: Change) -> str | None:
    who = (c.value or "").strip()
    ref = _user_ref(conn, who) if who else None
    if ref is None:
        return f"no Jira user '{who}'"
    case_id = str(issue.bean["id"])
    _call(conn, "POST", f"issue/{case_id}/watchers", body=ref, what=f"adding a watcher to {case_id}")
    _record(conn, issue, c.key)
    return None


def _related(conn: JiraConnector, issue: _Issue, c: Change) -> str | None:
    from casewarden.connectors.jira.reading import translator

    subject = (c.value or "").strip()
    if not subject:
        return "a related issue needs a subject"
    f = issue.bean.get("fields") or {}
    source = str(issue.bean["id"])
    fields: dict[str, Any] = {
        "project": {"key": (f.get("project") or {}).get("key") or conn.project},
        "summary": subject[:250],
        "issuetype": {"name": conn.settings.related_issue_type}
        if conn.settings.related_issue_type
        else {"id": (f.get("issuetype") or {}).get("id")},
    }
    if c.key:
        # an earlier attempt may have opened it and died before the marker (a lost answer, a kill):
        # find it by its origin among the issues created lately instead of opening a second one
        from casewarden.connectors.jira.markers import find_origin

        found = find_origin(conn, c.key, conn.api.now() - RELATED_LOOKBACK)
        if found is not None:
            finish_related(conn, source, str(found["id"]), c.key, issue)
            return None
    t = translator(conn)
    if t.level_field is None and f.get("priority"):
        fields["priority"] = {"id": f["priority"].get("id")}
    body = {
        "fields": fields,
        "properties": [{"key": ORIGIN_PROPERTY, "value": {"key": c.key or "", "source": source}}],
    }
    answer = _call(conn, "POST", "issue", body=body, what=f"opening an issue related to {source}") or {}
    new_id = str(answer.get("id", ""))
    if not new_id:
        raise _Unknown(f"opening an issue related to {source}: no id in the answer")
    finish_related(conn, source, new_id, c.key, issue)
    return None


def finish_related(
    conn: JiraConnector, source: str, new_id: str, key: str | None, issue: _Issue | None = None
) -> None:
    """Link the new issue to its source ("related") and record the key on the source."""
    body = _link_body(conn, "related", new_id, source)
    if body is not None:
        _call(conn, "POST", "issueLink", body=body, what=f"linking issue {new_id}")
    if key:
        if issue is None:
            pre = _preread(conn, [source]).get(source)
            if pre is None:
                return
            issue = pre
        _record(conn, issue, key)


_HANDLERS = {
    ChangeKind.SET_STATUS: _status,
    ChangeKind.ADD_NOTE: _note,
    ChangeKind.LINK: _link,
    ChangeKind.ADD_FOLLOWER: _follower,
    ChangeKind.OPEN_RELATED: _related,
}
