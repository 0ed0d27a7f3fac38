"""Incremental reads: the ``updated`` window, paging, the resume point, whole histories in bulk.

Cloud searches ``POST /search/jql`` paged by ``nextPageToken`` (no ``total``; the fields are always
listed, the marker and channel properties asked for); Data Center ``POST /search`` paged by ``startAt``.
The window is ``updated >= "yyyy/MM/dd HH:mm"`` written in the querying user's time zone (converting a UTC
instant to wall time never lands in a DST gap, and an ambiguous wall time is read as its earlier instant,
so a clock change only widens the window, and ``seen`` covers the widened part), moved back by
``overlap_minutes`` because search is eventually consistent, ``ORDER BY updated ASC, id ASC``.

The resume point is ``{"since": <the latest updated read, UTC>, "seen": {id: updated} for what was read
inside the next window's overlap, "roster": [[first id, last id], ...]}``: re-read issues whose (id,
updated) is in ``seen`` are dropped, so nothing is read twice and nothing changed is lost. ``roster`` holds
every issue id read so far as ranges (ids are mostly consecutive): Jira reports no deletions, so a read
that reaches the end lists the ids still in scope (one ids-only search per 5,000 on Cloud) and reports the
missing ones as deleted. A done issue that duplicates another is reported as merged into it.

Search shows only recent histories on Cloud; an issue whose changelog was cut is completed from the
engine's ``known`` copy when that copy reaches past the cut, and otherwise from the bulk changelog
(``POST /rest/api/3/changelog/bulkfetch``, up to 1000 issues a call). Data Center search returns whole
changelogs. Issues this connector just changed are named in ``reconcileIssues`` (Cloud).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta, tzinfo
from typing import TYPE_CHECKING, Any

from casewarden.connectors.base import Gone, KnownCases, Page, Resume, TrackerCase, nothing_known
from casewarden.connectors.jira.timeline import (
    CHANNEL_PROPERTY,
    ORIGIN_PROPERTY,
    Built,
    Translator,
    parse_ts,
)

if TYPE_CHECKING:
    from casewarden.connectors.jira.connector import JiraConnector

__all__ = ["read_cases", "read_changed", "search_beans", "translator"]

ID_CHUNK = 100
RECONCILE_MAX = 50


def translator(conn: JiraConnector) -> Translator:
    t = getattr(conn, "_translator", None)
    if t is None:
        t = Translator(conn)
        conn._translator = t  # type: ignore[attr-defined]
    return t


def scope_jql(conn: JiraConnector) -> str:
    keys = ", ".join(f'"{k}"' for k in conn.settings.projects)
    jql = f"project in ({keys})"
    if conn.settings.jql:
        jql += f" AND ({conn.settings.jql})"
    return jql


def properties(conn: JiraConnector) -> list[str]:
    return [conn.settings.marker_property, CHANNEL_PROPERTY, ORIGIN_PROPERTY]


class Beans(list[dict[str, Any]]):
    """One page of search results; ``last`` says the query has no page after it."""

    last: bool = False


def _page(issues: list[dict[str, Any]], last: bool) -> Beans:
    page = Beans(issues)
    page.last = last
    return page


def search_beans(
    conn: JiraConnector,
    jql: str,
    *,
    fields: Sequence[str],
    expand: Sequence[str] = (),
    page_size: int | None = None,
    reconcile: Sequence[str] = (),
    with_properties: bool = True,
) -> Iterator[Beans]:
    """Pages of issue beans for a query, in the mode's own paging."""
    api = conn.api
    size = page_size or conn.settings.page_size
    props = properties(conn) if with_properties else []
    if api.cloud:
        token: str | None = None
        while True:
            body: dict[str, Any] = {"jql": jql, "fields": list(fields), "maxResults": size}
            if expand:
                body["expand"] = ",".join(expand)
            if props:
                body["properties"] = props
            if reconcile:
                body["reconcileIssues"] = [int(i) for i in reconcile[:RECONCILE_MAX]]
            if token:
                body["nextPageToken"] = token
            answer = api.call("POST", "search/jql", body=body, what="searching issues") or {}
            issues = answer.get("issues") or []
            token = answer.get("nextPageToken")
            last = not token or bool(answer.get("isLast")) or not issues
            yield _page(issues, last)
            if last:
                return
    start = 0
    while True:
        body = {"jql": jql, "fields": list(fields), "startAt": start, "maxResults": size}
        if expand:
            body["expand"] = list(expand)
        if props:
            body["properties"] = props
        answer = api.call("POST", "search", body=body, what="searching issues") or {}
        issues = answer.get("issues") or []
        start += len(issues)
        last = not issues or start >= int(answer.get("total", 0))
        yield _page(issues, last)
        if last:
            return


# -- histories and comments ---------------------------------------------------------------------------
def _bulk_changelogs(conn: JiraConnector, ids: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
    """Every history of these issues (the fields timelines use only), in as few calls as the API allows."""
    t = translator(conn)
    field_ids = ["status", t.level_field.id if t.level_field is not None else "priority"]
    if any(s.tag for s in conn.context.case_data.milestones.values()):
        field_ids.append("labels")
    out: dict[str, list[dict[str, Any]]] = {i: [] for i in ids}
    for start in range(0, len(ids), 1000):
        chunk = list(ids[start : start + 1000])
        token: str | None = None
        while True:
            body: dict[str, Any] = {
                "issueIdsOrKeys": chunk,
                "fieldIds": field_ids,
                "maxResults": conn.settings.changelog_page,
            }
            if token:
                body["nextPageToken"] = token
            answer = (
                conn.api.call(
                    "POST", "changelog/bulkfetch", body=body, version="3", what="reading changelogs"
                )
                or {}
            )
            for entry in answer.get("issueChangeLogs") or []:
                out.setdefault(str(entry.get("issueId")), []).extend(entry.get("changeHistories") or [])
            token = answer.get("nextPageToken")
            if not token:
                break
    return out


def _issue_comments(conn: JiraConnector, case_id: str) -> list[dict[str, Any]]:
    """Every comment of one issue with its properties (JSM's internal flag), following the pages."""
    found: list[dict[str, Any]] = []
    start = 0
    while True:
        answer = (
            conn.api.call(
                "GET",
                f"issue/{case_id}/comment",
                params={"startAt": start, "maxResults": 100, "expand": "properties"},
                what=f"reading the comments of {case_id}",
            )
            or {}
        )
        page = answer.get("comments") or []
        found += page
        start += len(page)
        if not page or start >= int(answer.get("total", 0)):
            return found


def _comments_known(
    comments: Sequence[Mapping[str, Any]], known: TrackerCase | None, me: str | None
) -> list[bool] | None:
    """JSM's public flags without a call per issue (Data Center), in creation order: the known case's
    replies for the comments it already had, and "internal" for comments after them that casewarden's
    own account wrote (its notes are internal on JSM); None when anything else is new or different."""
    if known is None:
        return None
    ordered = sorted(comments, key=lambda c: parse_ts(c.get("created")) or datetime.min.replace(tzinfo=UTC))
    replies = known.case.replies
    if len(ordered) < len(replies):
        return None
    flags: list[bool] = []
    for n, c in enumerate(ordered):
        at = parse_ts(c.get("created"))
        if n < len(replies):
            if at != replies[n].at:
                return None
            flags.append(replies[n].public)
            continue
        author = c.get("author") or {}
        if me is None or str(author.get("accountId") or author.get("name") or "") != me:
            return None
        flags.append(False)
    return flags


def _own_account(conn: JiraConnector) -> str | None:
    me = conn.site.myself()
    return str(me.get("accountId") or me.get("name") or me.get("key") or "") or None


def build_all(conn: JiraConnector, beans: Sequence[Mapping[str, Any]], known: KnownCases) -> list[Built]:
    """The cases of a page of beans, with whole timelines, in the beans' order."""
    t = translator(conn)
    ids = [str(b["id"]) for b in beans]
    me = _own_account(conn) if beans and not conn.api.cloud else None
    truncated = []
    for b in beans:
        cl = b.get("changelog") or {}
        if int(cl.get("total", 0)) > len(cl.get("histories") or []):
            truncated.append(str(b["id"]))
    known_cases = dict(known(ids)) if ids else {}
    need_bulk: list[str] = []
    cuts: dict[str, datetime] = {}
    for b in beans:
        bid = str(b["id"])
        if bid not in truncated:
            continue
        shown = [parse_ts(h.get("created")) for h in (b.get("changelog") or {}).get("histories") or []]
        shown_at = [s for s in shown if s is not None]
        cut = min(shown_at) if shown_at else None
        k = known_cases.get(bid)
        if cut is not None and k is not None and k.case.updated_at is not None and k.case.updated_at > cut:
            cuts[bid] = cut
        else:
            need_bulk.append(bid)
    full = _bulk_changelogs(conn, need_bulk) if need_bulk else {}
    out: list[Built] = []
    for b in beans:
        bid = str(b["id"])
        f = b.get("fields") or {}
        page = f.get("comment") or {}
        comments = list(page.get("comments") or [])
        if int(page.get("total", len(comments))) > len(comments):
            comments = _issue_comments(conn, bid)
        if comments and not conn.api.cloud and conn.jsm():
            flags = _comments_known(comments, known_cases.get(bid), me)
            if flags is None:
                comments = _issue_comments(conn, bid)
            else:
                ordered = sorted(
                    comments, key=lambda c: parse_ts(c.get("created")) or datetime.min.replace(tzinfo=UTC)
                )
                comments = [{**c, "jsdPublic": flag} for c, flag in zip(ordered, flags, strict=True)]
        histories: list[dict[str, Any]] = (
            full[bid] if bid in full else list((b.get("changelog") or {}).get("histories") or [])
        )
        if bid in cuts:
            out.append(t.build(b, histories, comments, known_cases[bid], cuts[bid]))
        else:
            out.append(t.build(b, histories, comments))
    return out


# -- the resume point ---------------------------------------------------------------------------------
def _ranges(ids: Iterable[int]) -> list[list[int]]:
    out: list[list[int]] = []
    for i in sorted(set(ids)):
        if out and i == out[-1][1] + 1:
            out[-1][1] = i
        elif not out or i > out[-1][1]:
            out.append([i, i])
    return out


def _expand(ranges: Sequence[Sequence[int]]) -> set[int]:
    return {i for lo, hi in ranges for i in range(int(lo), int(hi) + 1)}


def _floor_minute(at: datetime) -> datetime:
    return at.replace(second=0, microsecond=0)


class Window:
    """The resume point as it advances over one read."""

    def __init__(self, resume: Resume | None, overlap: timedelta, zone: tzinfo = UTC) -> None:
        resume = resume or {}
        since = resume.get("since")
        self.since: datetime | None = datetime.fromisoformat(since) if since else None
        self.seen: dict[str, str] = dict(resume.get("seen") or {})
        self.roster: set[int] = _expand(resume.get("roster") or [])
        self.overlap = overlap
        self.zone = zone

    def bound(self) -> datetime | None:
        return None if self.since is None else _floor_minute(self.since - self.overlap)

    def literal(self) -> str | None:
        """The bound as the JQL date literal: wall time in the user's zone, to the minute."""
        bound = self.bound()
        return None if bound is None else f"{bound.astimezone(self.zone):%Y/%m/%d %H:%M}"

    def effective(self) -> datetime | None:
        """The instant Jira reads :meth:`literal` as: a wall time the clocks passed twice (DST ending)
        means its earlier instant, so the window Jira applies can start an hour before :meth:`bound`;
        ``seen`` must cover that much, or the issues in that hour would be read twice."""
        literal = self.literal()
        if literal is None:
            return None
        wall = datetime.strptime(literal, "%Y/%m/%d %H:%M").replace(tzinfo=self.zone, fold=0)
        return min(wall.astimezone(UTC), self.bound() or wall)

    def already_read(self, case_id: str, updated: str) -> bool:
        return self.seen.get(case_id) == updated

    def advance(self, case_id: str, updated_text: str, updated: datetime) -> None:
        self.seen[case_id] = updated_text
        if self.since is None or updated > self.since:
            self.since = updated
        if case_id.isdigit():
            self.roster.add(int(case_id))

    def resume(self) -> Resume:
        bound = self.effective()
        seen = {i: u for i, u in self.seen.items() if bound is None or (parse_ts(u) or bound) >= bound}
        self.seen = seen
        return {
            "since": None if self.since is None else self.since.isoformat(),
            "seen": dict(sorted(seen.items())),
            "roster": _ranges(self.roster),
        }


def read_changed(
    conn: JiraConnector, resume: Resume | None, until: datetime, known: KnownCases = nothing_known
) -> Iterator[Page]:
    """Pages of changed issues (see the module docstring). When this connector wrote to the tracker
    between two pages (the engine applies each page's changes before asking for the next), the search
    starts again from the advanced window instead of following its page token: the issues just written
    moved to the end of the ``updated`` order, so the token's offset would skip unread ones."""
    window = Window(resume, timedelta(minutes=conn.settings.overlap_minutes), conn.site.zone())
    t = translator(conn)
    reconcile = list(dict.fromkeys(conn.recently_written))[-RECONCILE_MAX:]
    written_before = set(conn.recently_written)
    indexed_at: datetime | None = None  # the server's clock on the read's first search answer
    searched = False
    restart = True
    while restart:
        restart = False
        jql = scope_jql(conn)
        literal = window.literal()
        if literal is not None:
            jql += f' AND updated >= "{literal}"'
        jql += " ORDER BY updated ASC, id ASC"
        written_during = set(conn.recently_written) - written_before
        for beans in search_beans(
            conn, jql, fields=t.search_fields, expand=["changelog"], reconcile=reconcile
        ):
            if not searched:
                searched = True
                indexed_at = getattr(conn.api, "server_time", None)
            fresh: list[dict[str, Any]] = []
            stop = False
            for bean in beans:
                f = bean.get("fields") or {}
                updated = parse_ts(f.get("updated"))
                if updated is None:
                    continue
                if updated > until:
                    stop = True
                    break
                if window.already_read(str(bean["id"]), str(f.get("updated"))):
                    continue
                if str(bean["id"]) in written_during:
                    # written by this connector during this read: the next read sees it (since stays
                    # behind it); reading it again now would only repeat what the engine just saw
                    continue
                fresh.append(bean)
            built = build_all(conn, fresh, known)
            cases: list[TrackerCase] = []
            gone: list[Gone] = []
            for bean, b in zip(fresh, built, strict=True):
                f = bean.get("fields") or {}
                window.advance(str(bean["id"]), str(f.get("updated")), parse_ts(f.get("updated")) or until)
                if b.case is not None:
                    cases.append(b.case)
                elif b.gone is not None:
                    gone.append(b.gone)
                    window.roster.discard(int(b.gone.case_id))
            writes = conn.writes
            if cases or gone:
                yield Page(cases, window.resume(), gone)
            if stop:  # the rest changed after `until`: the next read has it
                break
            if conn.writes != writes and not beans.last:
                restart = True
                break
    # every issue changed up to `until` was read, and every issue changed before the first search was
    # answered was in the index then, but for search lag (which the overlap covers): the next read can
    # start there, instead of at the latest update read, which may lie long before (casewarden's own
    # bulk writes, read in the next cycle, would otherwise be searched again cycle after cycle until
    # some newer change moved the window on). Both instants: `until` caps what this read took, the
    # server's clock (its Date header, not ours) what the index could hold.
    advanced = False
    if indexed_at is not None:
        reached = min(until, indexed_at)
        if window.since is None or reached > window.since:
            window.since = reached
            advanced = True
    # whatever the roster has and the scope lost was deleted (or moved out of scope). A read the
    # engine stops early never gets here, and sweeps (and advances) next time.
    if window.roster:
        present = set(_all_ids(conn))
        deleted = sorted(window.roster - present)
        window.roster &= present
        yield Page([], window.resume(), [Gone(str(i), "deleted") for i in deleted])
    elif advanced:
        yield Page([], window.resume(), [])
    conn.recently_written = [i for i in conn.recently_written if i not in reconcile]


def _all_ids(conn: JiraConnector) -> Iterator[int]:
    """Every issue id in scope, ids only (Cloud: 5,000 a page)."""
    size = 5000 if conn.api.cloud else 1000
    for beans in search_beans(
        conn, scope_jql(conn) + " ORDER BY id ASC", fields=["id"], page_size=size, with_properties=False
    ):
        for bean in beans:
            yield int(bean["id"])


def read_cases(conn: JiraConnector, ids: Sequence[str]) -> list[TrackerCase]:
    """The named issues again, whole (ids the search does not find are left out)."""
    wanted = [i for i in dict.fromkeys(ids) if str(i).isdigit()]
    if not wanted:
        return []
    t = translator(conn)
    out: list[TrackerCase] = []
    for start in range(0, len(wanted), RECONCILE_MAX):
        chunk = wanted[start : start + RECONCILE_MAX]
        jql = f"{scope_jql(conn)} AND id in ({', '.join(chunk)}) ORDER BY id ASC"
        for beans in search_beans(conn, jql, fields=t.search_fields, expand=["changelog"], reconcile=chunk):
            for b in build_all(conn, beans, nothing_known):
                if b.case is not None:
                    out.append(b.case)
    order = {cid: n for n, cid in enumerate(wanted)}
    return sorted(out, key=lambda tc: order.get(tc.case.id, len(order)))
