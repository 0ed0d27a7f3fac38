"""Zendesk updates -> the policy's case: the one place that decides what a ticket's history means.

Given a ticket as the API shows it now and the updates (:class:`~.steps.Step`) that led there, either
its whole history or only the updates after what the engine already knows (``base``), it builds the
:class:`~casewarden.policy.case.Case` the policy evaluates:

* **status**: a custom status's agent label (or the built-in status when custom statuses are off; a
  closed ticket is ``closed``, which has no custom status), through the deployment's status map;
* **level**: the priority, or the option of the drop-down ``level_field``, through the level map;
* **replies**: public comments and internal notes, by an agent (agent or admin role) or an end user;
  comments casewarden added only to record markers are not replies;
* **milestones**: the first update that set a milestone's tag or field (``case_data.milestones``);
* **region, channel, type, requester authorization, checklist, hold-until, ETR**: from
  ``case_data`` (a field, a tag, the organization, the requester's time zone), by default the channel
  from ``via.channel`` and the type from the ticket type;
* **links**: an incident's problem (``child_of``), follow-ups both ways (``related``).

Anything it cannot translate goes into ``TrackerCase.problems``, never an exception.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from casewarden.connectors.base import TrackerCase
from casewarden.connectors.sources import Source, SourceView, resolve_text
from casewarden.connectors.zendesk.marker_text import is_record_only
from casewarden.connectors.zendesk.steps import Step, parse_instant
from casewarden.policy.case import Author, Case, LevelChange, Link, Milestone, Reply, StatusChange

if TYPE_CHECKING:
    from casewarden.connectors.zendesk.connector import ZendeskConnector

__all__ = ["People", "build_case", "followup_source"]

#: prefix of the external_id of a follow-up ticket casewarden opened: ``casewarden:<key>``
EXTERNAL_PREFIX = "casewarden:"
_AGENT_ROLES = frozenset({"agent", "admin"})


class People:
    """Users and organizations seen on export pages (sideloads), looked up by id."""

    def __init__(self) -> None:
        self.users: dict[int, dict[str, Any]] = {}
        self.organizations: dict[int, dict[str, Any]] = {}

    def add(self, body: Mapping[str, Any]) -> None:
        for user in body.get("users") or []:
            self.users[int(user["id"])] = user
        for org in body.get("organizations") or []:
            self.organizations[int(org["id"])] = org

    def missing(self, ids: Sequence[int | None]) -> list[int]:
        return sorted({i for i in ids if i is not None and i not in self.users})


def followup_source(external_id: Any) -> str | None:
    """The source case of a follow-up casewarden opened (its key starts with the source's id)."""
    if not isinstance(external_id, str) or not external_id.startswith(EXTERNAL_PREFIX):
        return None
    key = external_id[len(EXTERNAL_PREFIX) :]
    source = key.split(":", 1)[0]
    return source or None


def _text(value: Any) -> str | None:
    if value is None or value is False or value == "":
        return None
    if value is True:
        return "true"
    if isinstance(value, list):
        return ",".join(str(v) for v in value) or None
    return str(value)


class _Builder:
    def __init__(self, conn: ZendeskConnector, ticket: Mapping[str, Any], people: People) -> None:
        self.conn = conn
        self.ticket = ticket
        self.people = people
        self.problems: list[str] = []
        self.updated_at: datetime | None = None
        self.catalogue = conn.catalogue
        level_field = conn.settings.level_field
        self.level_field = self.catalogue.field(level_field) if level_field else None
        if level_field and self.level_field is None:
            self.problems.append(f"level field '{level_field}' does not exist: run casewarden bootstrap")
        self.option_names = {v: k for k, v in (self.level_field.options if self.level_field else {}).items()}

    def managed_text(self, title: str, raw: Any) -> str | None:
        """A managed field's value as casewarden wrote it: a drop-down's option name, not its tag."""
        info = self.catalogue.field(title)
        if raw is not None and info is not None and info.type in ("tagger", "multiselect"):
            names = {v: k for k, v in info.options.items()}
            raw = [names.get(str(v), v) for v in raw] if isinstance(raw, list) else names.get(str(raw), raw)
        return _text(raw)

    # -- values of one step ----------------------------------------------------------------------

    def level_value(self, changes: Mapping[str, Any]) -> tuple[bool, str | None]:
        if self.level_field is not None:
            key = f"cf:{self.level_field.id}"
            if key not in changes:
                return False, None
            raw = changes[key]
            return True, self.option_names.get(str(raw), str(raw)) if raw else None
        if "priority" not in changes:
            return False, None
        return True, changes["priority"] or None

    def status_value(self, changes: Mapping[str, Any], current_status: str | None) -> str | None:
        """The tracker status after a step that changed the status or the custom status, else None."""
        status = changes.get("status", current_status)
        if "status" not in changes and "custom_status_id" not in changes:
            return None
        if status in ("closed", "deleted"):
            return str(status)
        if self.conn.settings.custom_statuses and changes.get("custom_status_id") is not None:
            info = self.catalogue.status_labels().get(int(changes["custom_status_id"]))
            if info is not None:
                return info.label
            return f"custom status {changes['custom_status_id']}"
        return None if status is None else str(status)

    def author(self, user_id: int | None) -> Author:
        user = self.people.users.get(user_id) if user_id is not None else None
        if user is None:
            return Author.CUSTOMER if user_id == self.ticket.get("requester_id") else Author.AGENT
        return Author.AGENT if user.get("role") in _AGENT_ROLES else Author.CUSTOMER

    # -- the case --------------------------------------------------------------------------------

    def build(self, steps: Sequence[Step], base: TrackerCase | None) -> TrackerCase:
        t = self.ticket
        names = self.conn.names
        opened = parse_instant(t.get("created_at"))
        if opened is None:
            self.problems.append("the ticket has no creation time")
            opened = datetime.fromtimestamp(0).astimezone()
        levels: list[LevelChange] = list(base.case.level_history) if base else []
        statuses: list[StatusChange] = list(base.case.status_history) if base else []
        replies: list[Reply] = list(base.case.replies) if base else []
        milestones: list[Milestone] = list(base.case.milestones) if base else []
        tags: set[str] = set(base.tags) if base else set()
        current_status: str | None = None
        tag_sources = {n: s.tag for n, s in self.case_data.milestones.items() if s.tag}
        field_sources = {
            n: f.id
            for n, s in self.case_data.milestones.items()
            if s.field and (f := self.catalogue.field(s.field)) is not None
        }
        for step in sorted(steps, key=lambda s: (s.at, s.audit_id)):
            at = step.at
            changed, value = self.level_value(step.changes)
            if changed and value is not None:
                level = names.level_from_tracker(value, self.problems)
                if not levels or levels[-1].level != level:
                    levels.append(LevelChange(at, level))
            label = self.status_value(step.changes, current_status)
            if "status" in step.changes:
                current_status = step.changes["status"]
            if label is not None and label != "deleted":
                status = names.status_from_tracker(label, self.problems)
                if not statuses or statuses[-1].status != status:
                    statuses.append(StatusChange(at, status))
            comment = step.comment
            if comment is not None and not (not comment.public and is_record_only(comment.body)):
                replies.append(Reply(at, self.author(comment.author_id), comment.public))
            if "tags" in step.changes:
                now_tags = set(step.changes["tags"] or [])
                for name, tag in tag_sources.items():
                    if tag in now_tags and tag not in tags and all(m.name != name for m in milestones):
                        milestones.append(Milestone(at, name))
                tags = now_tags
            for name, fid in field_sources.items():
                if step.changes.get(f"cf:{fid}") not in (None, "", False) and all(
                    m.name != name for m in milestones
                ):
                    milestones.append(Milestone(at, name))
        if not levels:
            _changed, value = self.level_value(self._current())
            if value is not None:
                levels.append(LevelChange(opened, names.level_from_tracker(value, self.problems)))
            # no priority yet: an empty level history, so the policy's intake default applies (and
            # casewarden sets it, if the policy says so)
        if not statuses:
            label = self.status_value(self._current(), None) or str(t.get("status"))
            statuses.append(StatusChange(opened, names.status_from_tracker(label, self.problems)))
        # the case is up to date with the last update it was built from, not with the ticket's own
        # updated_at: an update the events export has not shown yet is then still newer next time
        last = max((s.at for s in steps), default=None)
        if base is not None and base.case.updated_at is not None:
            last = max(last or base.case.updated_at, base.case.updated_at)
        self.updated_at = last or parse_instant(t.get("updated_at"))
        return self._finish(opened, levels, statuses, replies, milestones)

    @property
    def case_data(self) -> Any:
        return self.conn.case_data

    def _current(self) -> dict[str, Any]:
        t = self.ticket
        out: dict[str, Any] = {"status": t.get("status"), "priority": t.get("priority")}
        if t.get("custom_status_id") is not None:
            out["custom_status_id"] = t.get("custom_status_id")
        for entry in t.get("custom_fields") or []:
            out[f"cf:{entry['id']}"] = entry.get("value")
        return out

    def _finish(
        self,
        opened: datetime,
        levels: list[LevelChange],
        statuses: list[StatusChange],
        replies: list[Reply],
        milestones: list[Milestone],
    ) -> TrackerCase:
        t = self.ticket
        titles = self.catalogue.field_titles()
        values = {
            titles[int(e["id"])]: e.get("value")
            for e in t.get("custom_fields") or []
            if int(e["id"]) in titles
        }
        requester = self.people.users.get(int(t["requester_id"])) if t.get("requester_id") else None
        org_id = t.get("organization_id")
        org = self.people.organizations.get(int(org_id)) if org_id is not None else None
        ticket_tags = frozenset(str(x) for x in t.get("tags") or [])
        native = {
            "channel": (t.get("via") or {}).get("channel"),
            "case_type": t.get("type"),
            "region": None,
            "requester_authorized": None,
        }
        view = SourceView(
            fields={k: _text(v) for k, v in values.items()},
            tags=ticket_tags,
            organization_fields=(org or {}).get("organization_fields") or {},
            requester_timezone=(requester or {}).get("iana_time_zone"),
            native=native,
        )
        data = self.case_data

        def item(name: str, source: Source | None, default: Any = None) -> str | None:
            if source is None:
                return _text(default)
            return resolve_text(source, view, name)

        authorized_text = item("requester_authorized", data.requester_authorized)
        provided = frozenset(
            name for name, source in data.checklist.items() if resolve_text(source, view, name)
        )

        def instant(name: str, source: Source | None) -> datetime | None:
            text = item(name, source)
            if text is None:
                return None
            at = parse_instant(text)
            if at is None:
                self.problems.append(f"{name} '{text}' is not an ISO-8601 instant")
            return at

        links: list[Link] = []
        if t.get("type") == "incident" and t.get("problem_id"):
            links.append(Link("child_of", str(t["problem_id"])))
        if t.get("via_followup_source_id"):
            links.append(Link("related", str(t["via_followup_source_id"])))
        source = followup_source(t.get("external_id"))
        if source is not None:
            links.append(Link("related", source))
        links += [Link("related", str(i)) for i in t.get("followup_ids") or []]
        managed = {name: self.managed_text(name, values.get(name)) for name in self.conn.managed_fields}
        case = Case(
            id=str(t["id"]),
            opened_at=opened,
            level_history=tuple(levels),
            status_history=tuple(statuses),
            replies=tuple(sorted(replies, key=lambda r: r.at)),
            milestones=tuple(sorted(milestones, key=lambda m: m.at)),
            links=tuple(dict.fromkeys(links)),
            case_type=item("case_type", data.case_type, native["case_type"]),
            channel=item("channel", data.channel, native["channel"]),
            region=item("region", data.region),
            requester=(requester or {}).get("email"),
            requester_authorized=None
            if authorized_text is None
            else authorized_text.lower() in ("true", "1", "yes"),
            provided=provided,
            hold_until=instant("hold_until", data.hold_until),
            etr=instant("etr", data.etr),
            updated_at=self.updated_at,
        )
        return TrackerCase(
            case=case,
            fields=managed,
            tags=ticket_tags,
            url=self.conn.ticket_url(t["id"]),
            problems=tuple(dict.fromkeys(self.problems)),
        )


def build_case(
    conn: ZendeskConnector,
    ticket: Mapping[str, Any],
    steps: Sequence[Step],
    people: People,
    base: TrackerCase | None = None,
) -> TrackerCase:
    """The case of ``ticket``: its whole history from ``steps`` (``base`` None), or ``base`` (what the
    engine knows) continued by ``steps`` (only the updates after it)."""
    return _Builder(conn, ticket, people).build(steps, base)
