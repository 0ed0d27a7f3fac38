"""An issue bean (as search returns it) turned into a normalized case, with the changelog it needs.

Jira records no changelog entry when an issue is created, so the opening status and level are the
``from`` side of the first status and level changes (or the current values when nothing changed). A
transition path of several steps, taken in one go, leaves several entries at one instant: only where it
ended counts. Comments are replies: by a customer account (or the reporter) or by an agent; internal
when JSM says so (``jsdPublic`` on Cloud, the ``sd.public.comment`` property otherwise). Everything else
the policy needs (region, channel, milestones, checklist items, hold-until, ETR) comes from where the
deployment's ``case_data`` says; what cannot be mapped becomes a problem on the case.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from casewarden.connectors.base import MARKER_PREFIX, Gone, TrackerCase
from casewarden.connectors.jira.site import FieldInfo
from casewarden.connectors.sources import SourceView, resolve_text
from casewarden.policy.case import Author, Case, LevelChange, Link, Milestone, Reply, StatusChange

if TYPE_CHECKING:
    from casewarden.connectors.jira.connector import JiraConnector

__all__ = [
    "CHANNEL_PROPERTY",
    "INTERNAL_PROPERTY",
    "ORIGIN_PROPERTY",
    "Built",
    "field_text",
    "marker_lines",
    "parse_ts",
]

INTERNAL_PROPERTY = "sd.public.comment"
CHANNEL_PROPERTY = "request.channel.type"
ORIGIN_PROPERTY = "casewarden.origin"
_MARKER_LINE = re.compile(r"^[ \t]*\[" + re.escape(MARKER_PREFIX) + r"([^\]\r\n]+)\][ \t]*\r?$", re.MULTILINE)


def parse_ts(text: Any) -> datetime | None:
    """Jira's ``2025-01-31T11:00:00.000+0100`` (or ISO 8601) as an aware UTC instant."""
    if not text or not isinstance(text, str):
        return None
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return None
    return parsed.astimezone(UTC)


def iso_z(at: datetime) -> str:
    """How casewarden writes instants into fields (the planner's format), to compare like with like."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def field_text(info: FieldInfo | None, value: Any) -> str | None:
    """A field value as the text casewarden compares (datetimes as UTC ``...Z``, integers without ``.0``)."""
    if value is None or value == [] or value == "":
        return None
    if isinstance(value, dict):
        for key in ("value", "name", "displayName", "emailAddress", "accountId"):
            if value.get(key) is not None:
                return str(value[key])
        return None
    if isinstance(value, list):
        parts = [field_text(None, v) for v in value]
        return ",".join(p for p in parts if p) or None
    if info is not None and info.kind == "datetime":
        at = parse_ts(value)
        return iso_z(at) if at else str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value)


def marker_lines(body: Any) -> set[str]:
    return set(_MARKER_LINE.findall(body)) if isinstance(body, str) else set()


@dataclass
class Built:
    """One bean's case, or the reason it is gone, and what the connector itself reads off it."""

    case: TrackerCase | None
    gone: Gone | None = None
    markers: set[str] = field(default_factory=set)
    updated: str = ""


def _user_ref(user: Mapping[str, Any] | None) -> str | None:
    if not user:
        return None
    return str(user.get("accountId") or user.get("name") or user.get("key") or "") or None


def _items(histories: Sequence[Mapping[str, Any]], field_id: str) -> list[tuple[datetime, Mapping[str, Any]]]:
    out: list[tuple[datetime, int, Mapping[str, Any]]] = []
    for position, h in enumerate(histories):
        at = parse_ts(h.get("created"))
        if at is None:
            continue
        # Cloud lists the changelog newest first: within one instant, history ids give the order
        hid = str(h.get("id", ""))
        n = int(hid) if hid.isdigit() else position
        for item in h.get("items") or []:
            if (item.get("fieldId") or item.get("field")) == field_id:
                out.append((at, n, item))
    out.sort(key=lambda x: (x[0], x[1]))
    return [(at, item) for at, _n, item in out]


def _timeline(
    opened: datetime,
    current: str | None,
    items: list[tuple[datetime, Mapping[str, Any]]],
) -> list[tuple[datetime, str]]:
    """[(at, value)]: the opening value, then each change's ``to`` (display strings)."""
    first = items[0][1].get("fromString") if items else current
    out: list[tuple[datetime, str]] = [(opened, str(first if first is not None else current or ""))]
    for at, item in items:
        value = item.get("toString")
        out.append((at, str(value) if value is not None else ""))
    # a path of several transitions taken at one instant (or a change at the very instant of creation):
    # only where it ended counts
    collapsed: list[tuple[datetime, str]] = [out[0]]
    for at, value in out[1:]:
        if collapsed[-1][0] == at:
            collapsed[-1] = (at, value)
        else:
            collapsed.append((at, value))
    return collapsed


class Translator:
    """Per connector: how bean values map to the case (field ids resolved once)."""

    def __init__(self, conn: JiraConnector) -> None:
        self.conn = conn
        site = conn.site
        self.fields = site.fields()
        self.by_name: dict[str, FieldInfo] = {}
        for info in self.fields.values():
            self.by_name.setdefault(info.name, info)
        self.level_field = site.field_named(conn.settings.level_field) if conn.settings.level_field else None
        self.group_field = site.field_named(conn.settings.group_field) if conn.settings.group_field else None
        self.org_field = next(
            (f for f in self.fields.values() if f.custom_type.endswith(":sd-customer-organizations")), None
        )
        self.managed: dict[str, FieldInfo | None] = {
            name: site.field_named(name) for name in conn.context.fields
        }
        wanted = {
            "summary", "status", "priority", "labels", "created", "updated", "reporter", "issuetype",
            "project", "comment", "issuelinks", "resolution",
        }  # fmt: skip
        for managed in self.managed.values():
            if managed is not None:
                wanted.add(managed.id)
        for extra in (self.level_field, self.group_field, self.org_field):
            if extra is not None:
                wanted.add(extra.id)
        for _name, source in conn.context.case_data.all():
            if source.field:
                found = site.field_named(source.field)
                if found is not None:
                    wanted.add(found.id)
        self.search_fields = sorted(wanted)
        self.base = conn.api.base
        names = conn.names
        self.names = names

    def build(
        self,
        bean: Mapping[str, Any],
        histories: Sequence[Mapping[str, Any]],
        comments: Sequence[Mapping[str, Any]],
        known: TrackerCase | None = None,
        cut: datetime | None = None,
    ) -> Built:
        """The case of one bean. With ``known`` and ``cut``, status and level entries up to ``cut`` come
        from the known case and only later ones from ``histories`` (a truncated changelog)."""
        f: Mapping[str, Any] = bean.get("fields") or {}
        case_id = str(bean["id"])
        props: Mapping[str, Any] = bean.get("properties") or {}
        markers = set(_keys(props.get(self.conn.settings.marker_property)))
        problems: list[str] = []
        opened = parse_ts(f.get("created")) or datetime.now(UTC)
        updated_at = parse_ts(f.get("updated")) or opened
        status = f.get("status") or {}
        status_name = str(status.get("name", ""))
        status_id = str(status.get("id", ""))
        if status_id:
            self.conn.site.workflow.names.setdefault(status_id, status_name)
        if self.level_field is not None:
            level_value = field_text(self.level_field, f.get(self.level_field.id))
            level_items = _items(histories, self.level_field.id)
        else:
            level_value = (f.get("priority") or {}).get("name")
            level_items = _items(histories, "priority")
        status_items = _items(histories, "status")
        statuses = _timeline(opened, status_name, status_items)
        levels = _timeline(opened, level_value, level_items)
        if known is not None and cut is not None:
            statuses = [
                (x.at, _tracker_status(self, x.status)) for x in known.case.status_history if x.at <= cut
            ]
            statuses += [(at, str(i.get("toString") or "")) for at, i in status_items if at > cut]
            levels = [(x.at, _tracker_level(self, x.level)) for x in known.case.level_history if x.at <= cut]
            levels += [(at, str(i.get("toString") or "")) for at, i in level_items if at > cut]
            statuses, levels = _dedupe_instants(statuses), _dedupe_instants(levels)
        if level_value is None:
            problems.append("the issue has no level (no priority or level field value)")
        status_history = tuple(
            StatusChange(at, self.names.status_from_tracker(v, problems)) for at, v in statuses
        )
        level_history = tuple(LevelChange(at, self.names.level_from_tracker(v, problems)) for at, v in levels)
        reporter = f.get("reporter") or {}
        reporter_ref = _user_ref(reporter)
        replies: list[Reply] = []
        for c in comments:
            at = parse_ts(c.get("created"))
            if at is None:
                continue
            author = c.get("author") or {}
            customer = author.get("accountType") == "customer" or (
                reporter_ref is not None and _user_ref(author) == reporter_ref
            )
            public = _public(c)
            replies.append(Reply(at, Author.CUSTOMER if customer else Author.AGENT, public))
            if not public:
                markers |= marker_lines(c.get("body"))
        replies.sort(key=lambda r: r.at)
        links, merged_into = self._links(f.get("issuelinks") or [], status)
        if merged_into is not None:
            return Built(None, Gone(case_id, "merged", merged_into), markers, str(f.get("updated", "")))
        labels = frozenset(str(x) for x in f.get("labels") or [])
        text_fields: dict[str, Any] = {}
        for fid, value in f.items():
            info = self.fields.get(fid)
            if info is not None:
                text_fields.setdefault(info.name, field_text(info, value))
        managed = {
            name: (field_text(info, f.get(info.id)) if info is not None else None)
            for name, info in self.managed.items()
        }
        orgs = f.get(self.org_field.id) if self.org_field is not None else None
        org_fields: dict[str, Any] = {}
        if isinstance(orgs, list) and orgs:
            org_fields = {"name": orgs[0].get("name")}
        channel_prop = props.get(CHANNEL_PROPERTY)
        native = {
            "channel": channel_prop.get("value") if isinstance(channel_prop, dict) else None,
            "case_type": (f.get("issuetype") or {}).get("name"),
            "region": None,
            "requester_authorized": None,
        }
        view = SourceView(
            fields=text_fields,
            tags=labels,
            organization_fields=org_fields,
            requester_timezone=reporter.get("timeZone"),
            native=native,
        )
        data = self.conn.context.case_data
        channel = resolve_text(data.channel, view, "channel") if data.channel else native["channel"]
        case_type = resolve_text(data.case_type, view, "case_type") if data.case_type else None
        region = resolve_text(data.region, view, "region") if data.region else None
        if data.region is not None and region is None and data.region.map:
            problems.append("the region cannot be told from the issue")
        authorized: bool | None = None
        if data.requester_authorized is not None:
            value = resolve_text(data.requester_authorized, view, "requester_authorized")
            authorized = None if value is None else value.lower() in ("true", "1", "yes")
        provided = frozenset(
            item for item, source in data.checklist.items() if resolve_text(source, view, item)
        )
        milestones: list[Milestone] = []
        for name, source in data.milestones.items():
            at = self._instant(source, f, view, histories, name)
            if at is not None:
                milestones.append(Milestone(at, name))
        milestones.sort(key=lambda m: (m.at, m.name))
        hold_until = (
            self._instant(data.hold_until, f, view, histories, "hold_until") if data.hold_until else None
        )
        etr = self._instant(data.etr, f, view, histories, "etr") if data.etr else None
        requester = reporter.get("emailAddress") or reporter_ref
        case = Case(
            id=case_id,
            opened_at=opened,
            level_history=level_history,
            status_history=status_history,
            replies=tuple(replies),
            milestones=tuple(milestones),
            links=tuple(links),
            case_type=case_type,
            channel=channel,
            region=region,
            requester=requester,
            requester_authorized=authorized,
            provided=provided,
            hold_until=hold_until,
            etr=etr,
            updated_at=updated_at,
        )
        tc = TrackerCase(
            case=case,
            fields=managed,
            tags=labels,
            url=f"{self.base}/browse/{bean.get('key', case_id)}",
            problems=tuple(dict.fromkeys(problems)),
        )
        return Built(tc, None, markers, str(f.get("updated", "")))

    def _links(
        self, entries: Sequence[Mapping[str, Any]], status: Mapping[str, Any]
    ) -> tuple[list[Link], str | None]:
        """Links in policy kinds; a done issue that duplicates another was merged into it."""
        kinds = self.conn.settings.link_types
        out: list[Link] = []
        merged_into: str | None = None
        done = ((status.get("statusCategory") or {}).get("key")) == "done"
        for entry in entries:
            type_name = str((entry.get("type") or {}).get("name", "")).casefold()
            outward, inward = entry.get("outwardIssue"), entry.get("inwardIssue")
            other = outward or inward
            if not other:
                continue
            for kind, spec in kinds.items():
                if spec.type.casefold() != type_name:
                    continue
                if spec.direction == "both" or (spec.direction == "outward") == (outward is not None):
                    out.append(Link(kind, str(other["id"])))
                    if kind == "duplicate_of" and done and merged_into is None:
                        merged_into = str(other["id"])
        return sorted(set(out), key=lambda x: (x.kind, x.target)), merged_into

    def _instant(
        self,
        source: Any,
        f: Mapping[str, Any],
        view: SourceView,
        histories: Sequence[Mapping[str, Any]],
        item: str,
    ) -> datetime | None:
        if source is None:
            return None
        if source.field:
            info = self.conn.site.field_named(source.field)
            return parse_ts(f.get(info.id)) if info is not None else None
        if source.tag:
            if source.tag not in view.tags:
                return None
            added = None
            for at, it in _items(histories, "labels"):
                before = set(str(it.get("fromString") or "").split())
                after = set(str(it.get("toString") or "").split())
                if source.tag in after and source.tag not in before:
                    added = at
            return added or parse_ts(f.get("updated"))
        text = resolve_text(source, view, item)
        return parse_ts(text) if text else None


def _tracker_status(t: Translator, policy_name: str) -> str:
    return t.names.status_to_tracker(policy_name) or policy_name


def _tracker_level(t: Translator, policy_name: str) -> str:
    return t.names.level_to_tracker(policy_name) or policy_name


def _dedupe_instants(entries: list[tuple[datetime, str]]) -> list[tuple[datetime, str]]:
    out: list[tuple[datetime, str]] = []
    for at, v in entries:
        if out and out[-1][0] == at:
            out[-1] = (at, v)
        else:
            out.append((at, v))
    return out


def _public(comment: Mapping[str, Any]) -> bool:
    if "jsdPublic" in comment:
        return bool(comment["jsdPublic"])
    for prop in comment.get("properties") or []:
        if prop.get("key") == INTERNAL_PROPERTY:
            value = prop.get("value") or {}
            return not (isinstance(value, dict) and value.get("internal") is True)
    return True


def _keys(value: Any) -> list[str]:
    if isinstance(value, dict):
        keys = value.get("keys")
        if isinstance(keys, list):
            return [str(k) for k in keys]
    return []
