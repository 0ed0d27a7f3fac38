"""Markers: where a side effect done by casewarden is found again, in bulk, by a fresh process.

Keys live in the issue property ``casewarden.markers`` (``{"keys": [...]}``), written in the same request
as the edit or transition they record (Jira applies the property and the change together), and read back
in the search (``properties=``, so one search call covers a page of issues). A keyed comment records its
key as its last line (``[casewarden:KEY]``): the comment is the side effect, so the marker cannot land
without it; lines are trusted only in comments by casewarden's own account (a customer typing a marker
into a reply suppresses nothing). An issue opened by ``open_related`` carries ``casewarden.origin``
(``{"key": ..., "source": ...}``); if the creation's answer was lost, :func:`settle` finds the issue
by that property among the issues created since the attempt and finishes the job instead of repeating it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from casewarden.connectors.base import Outcome, Pending
from casewarden.connectors.jira.reading import RECONCILE_MAX, scope_jql, search_beans
from casewarden.connectors.jira.timeline import ORIGIN_PROPERTY, marker_lines, parse_ts

if TYPE_CHECKING:
    from casewarden.connectors.jira.connector import JiraConnector

__all__ = ["find_markers", "keys_of", "marker_value", "settle"]


def keys_of(properties: Mapping[str, Any], name: str) -> set[str]:
    value = properties.get(name)
    if isinstance(value, dict) and isinstance(value.get("keys"), list):
        return {str(k) for k in value["keys"]}
    return set()


def marker_value(keys: set[str]) -> dict[str, Any]:
    return {"keys": sorted(keys)}


def own_account(conn: JiraConnector) -> str | None:
    me = conn.site.myself()
    return str(me.get("accountId") or me.get("name") or me.get("key") or "") or None


def markers_of_bean(conn: JiraConnector, bean: Mapping[str, Any], me: str | None) -> set[str]:
    found = keys_of(bean.get("properties") or {}, conn.settings.marker_property)
    for comment in ((bean.get("fields") or {}).get("comment") or {}).get("comments") or []:
        author = comment.get("author") or {}
        if me is not None and str(author.get("accountId") or author.get("name") or "") == me:
            found |= marker_lines(comment.get("body"))
    return found


def find_markers(conn: JiraConnector, case_ids: Sequence[str]) -> dict[str, set[str]]:
    """Keys on each issue, one search per 50 issues (reconciled, so a write just made is seen)."""
    ids = [i for i in dict.fromkeys(case_ids) if str(i).isdigit()]
    me = own_account(conn)
    out: dict[str, set[str]] = {}
    for start in range(0, len(ids), RECONCILE_MAX):
        chunk = ids[start : start + RECONCILE_MAX]
        jql = f"{scope_jql(conn)} AND id in ({', '.join(chunk)})"
        for beans in search_beans(conn, jql, fields=["comment"], reconcile=chunk):
            for bean in beans:
                keys = markers_of_bean(conn, bean, me)
                if keys:
                    out[str(bean["id"])] = keys
    return out


def find_origin(conn: JiraConnector, key: str, since: datetime) -> dict[str, Any] | None:
    """The issue opened for side effect ``key`` (its ``casewarden.origin``), created at or after ``since``."""
    zone = conn.site.zone()
    bound = (since - timedelta(minutes=1)).astimezone(zone)
    jql = f'{scope_jql(conn)} AND created >= "{bound:%Y/%m/%d %H:%M}" ORDER BY created ASC'
    for beans in search_beans(conn, jql, fields=["created"]):
        for bean in beans:
            origin = (bean.get("properties") or {}).get(ORIGIN_PROPERTY)
            if isinstance(origin, dict) and origin.get("key") == key:
                return bean
    return None


def settle(conn: JiraConnector, pending: Sequence[Pending]) -> dict[str, Outcome]:
    """APPLIED when the marker is there; an ``open_related`` whose issue exists is finished (link and
    marker) and APPLIED; otherwise REFUSED: Jira's writes are synchronous, so no marker means not done."""
    from casewarden.connectors.jira.writing import finish_related

    markers = find_markers(conn, sorted({p.case_id for p in pending}))
    verdicts: dict[str, Outcome] = {}
    for p in pending:
        if p.key in markers.get(p.case_id, set()):
            verdicts[p.key] = Outcome.APPLIED
            continue
        since = parse_ts(p.token) if p.token else None
        if p.action == "open_related" and since is not None:
            bean = find_origin(conn, p.key, since)
            if bean is not None:
                finish_related(conn, p.case_id, str(bean["id"]), p.key)
                verdicts[p.key] = Outcome.APPLIED
                continue
        verdicts[p.key] = Outcome.REFUSED
    return verdicts
