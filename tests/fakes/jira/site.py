"""The configuration of one fake Jira site: projects, workflows, fields, users, link types, JSM setup.

These are the things an administrator sets up and a connector only reads (or, for custom fields and their
options, creates once). Issues and their history live in ``state.py``. ``default_site`` builds a small site
that exercises what a support-policy connector meets: a JSM service desk project whose workflow has a status
reachable only in two steps and one that no transition reaches, a plain software project, custom fields of
each schema type a connector writes (datetime, text, select, labels, number) and users in several zones.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Literal

Mode = Literal["cloud", "datacenter"]
CategoryKey = Literal["new", "indeterminate", "done"]
FieldKind = Literal["datetime", "text", "select", "labels", "number", "request_type", "organizations"]

# Jira's status categories: the ids and colours are Jira's own.
STATUS_CATEGORIES: dict[CategoryKey, tuple[int, str, str]] = {
    "new": (2, "To Do", "blue-gray"),
    "indeterminate": (4, "In Progress", "yellow"),
    "done": (3, "Done", "green"),
}

# The custom field type keys Jira reports in a field's schema, and the searcher each is created with.
CUSTOM_TYPES: dict[FieldKind, tuple[str, str, str | None]] = {
    # kind: (type key, schema type, schema items)
    "datetime": ("com.atlassian.jira.plugin.system.customfieldtypes:datetime", "datetime", None),
    "text": ("com.atlassian.jira.plugin.system.customfieldtypes:textfield", "string", None),
    "select": ("com.atlassian.jira.plugin.system.customfieldtypes:select", "option", None),
    "labels": ("com.atlassian.jira.plugin.system.customfieldtypes:labels", "array", "string"),
    "number": ("com.atlassian.jira.plugin.system.customfieldtypes:float", "number", None),
    "request_type": ("com.atlassian.servicedesk:vp-origin", "sd-customerrequesttype", None),
    "organizations": (
        "com.atlassian.servicedesk:sd-customer-organizations",
        "array",
        "sd-customerorganization",
    ),
}
KIND_BY_TYPE_KEY: dict[str, FieldKind] = {type_key: kind for kind, (type_key, _, _) in CUSTOM_TYPES.items()}


@dataclass(frozen=True)
class Status:
    id: str
    name: str
    category: CategoryKey


@dataclass(frozen=True)
class Transition:
    """A workflow transition; ``sources`` empty means global (available from every status)."""

    id: str
    name: str
    to_status: str
    sources: tuple[str, ...] = ()

    def available_from(self, status_id: str) -> bool:
        return not self.sources or status_id in self.sources


@dataclass(frozen=True)
class Workflow:
    name: str
    initial_status: str
    statuses: tuple[str, ...]
    transitions: tuple[Transition, ...]

    def from_status(self, status_id: str) -> list[Transition]:
        return [t for t in self.transitions if t.available_from(status_id) and t.to_status != status_id]

    def path(self, from_status: str, to_status: str) -> list[Transition] | None:
        """Shortest list of transitions leading from one status to another; None when unreachable."""
        if from_status == to_status:
            return []
        seen = {from_status}
        queue: deque[tuple[str, list[Transition]]] = deque([(from_status, [])])
        while queue:
            status, steps = queue.popleft()
            for transition in self.from_status(status):
                if transition.to_status in seen:
                    continue
                route = [*steps, transition]
                if transition.to_status == to_status:
                    return route
                seen.add(transition.to_status)
                queue.append((transition.to_status, route))
        return None


@dataclass(frozen=True)
class IssueType:
    id: str
    name: str
    description: str = ""


@dataclass(frozen=True)
class Priority:
    id: str
    name: str
    color: str


@dataclass
class Project:
    id: str
    key: str
    name: str
    type_key: Literal["service_desk", "software"]
    workflow: Workflow
    issue_types: tuple[str, ...]
    service_desk_id: str | None = None
    next_number: int = 1


@dataclass
class Option:
    id: str
    value: str
    disabled: bool = False


@dataclass
class FieldContext:
    id: str
    name: str
    options: list[Option] = field(default_factory=list)


@dataclass
class CustomField:
    id: str
    name: str
    kind: FieldKind
    description: str = ""
    contexts: list[FieldContext] = field(default_factory=list)

    @property
    def numeric_id(self) -> int:
        return int(self.id.removeprefix("customfield_"))

    def options(self) -> list[Option]:
        return [option for context in self.contexts for option in context.options]

    def option_by_value(self, value: str) -> Option | None:
        return next((o for o in self.options() if o.value == value and not o.disabled), None)

    def option_by_id(self, option_id: str) -> Option | None:
        return next((o for o in self.options() if o.id == str(option_id)), None)


@dataclass(frozen=True)
class User:
    """One account. Cloud identifies users by ``account_id``; Data Center by ``name`` (and a stable ``key``)."""

    handle: str
    account_id: str
    name: str
    key: str
    display_name: str
    email: str
    time_zone: str
    account_type: Literal["atlassian", "customer", "app"] = "atlassian"


@dataclass(frozen=True)
class LinkType:
    id: str
    name: str
    inward: str
    outward: str


@dataclass(frozen=True)
class Organization:
    id: str
    name: str


@dataclass(frozen=True)
class RequestType:
    id: str
    name: str
    service_desk_id: str
    issue_type_id: str
    description: str = ""


# Permission key -> (id, name, type). The keys a support connector checks before it writes.
PERMISSIONS: dict[str, tuple[str, str, Literal["GLOBAL", "PROJECT"]]] = {
    "ADMINISTER": ("0", "Administer Jira", "GLOBAL"),
    "BULK_CHANGE": ("33", "Make bulk changes", "GLOBAL"),
    "BROWSE_PROJECTS": ("10", "Browse Projects", "PROJECT"),
    "CREATE_ISSUES": ("11", "Create Issues", "PROJECT"),
    "EDIT_ISSUES": ("12", "Edit Issues", "PROJECT"),
    "TRANSITION_ISSUES": ("46", "Transition Issues", "PROJECT"),
    "ADD_COMMENTS": ("15", "Add Comments", "PROJECT"),
    "LINK_ISSUES": ("21", "Link Issues", "PROJECT"),
    "MANAGE_WATCHERS": ("32", "Manage Watchers", "PROJECT"),
    "ASSIGN_ISSUES": ("13", "Assign Issues", "PROJECT"),
    "DELETE_ISSUES": ("16", "Delete Issues", "PROJECT"),
    "MOVE_ISSUES": ("25", "Move Issues", "PROJECT"),
}


@dataclass
class Site:
    """Everything configured on the site; lookups raise KeyError so a typo in a test fails loudly."""

    mode: Mode
    base_url: str
    statuses: dict[str, Status]
    projects: dict[str, Project]  # by key
    issue_types: dict[str, IssueType]
    priorities: dict[str, Priority]
    default_priority: str
    custom_fields: dict[str, CustomField]
    users: dict[str, User]  # by handle
    link_types: dict[str, LinkType]
    organizations: dict[str, Organization]
    request_types: dict[str, RequestType]
    next_custom_field_number: int = 10100
    next_option_id: int = 10400
    next_context_id: int = 10300

    # -- lookups ------------------------------------------------------------------------------------
    def project(self, key_or_id: str) -> Project:
        for project in self.projects.values():
            if key_or_id in (project.key, project.id):
                return project
        raise KeyError(f"no project {key_or_id!r}")

    def status(self, id_or_name: str) -> Status:
        for status in self.statuses.values():
            if id_or_name in (status.id, status.name):
                return status
        raise KeyError(f"no status {id_or_name!r}")

    def priority(self, id_or_name: str) -> Priority:
        for priority in self.priorities.values():
            if id_or_name in (priority.id, priority.name):
                return priority
        raise KeyError(f"no priority {id_or_name!r}")

    def issue_type(self, id_or_name: str) -> IssueType:
        for issue_type in self.issue_types.values():
            if id_or_name in (issue_type.id, issue_type.name):
                return issue_type
        raise KeyError(f"no issue type {id_or_name!r}")

    def custom_field(self, id_or_name: str) -> CustomField:
        for custom in self.custom_fields.values():
            if id_or_name in (custom.id, custom.name):
                return custom
        raise KeyError(f"no custom field {id_or_name!r}")

    def user(self, ref: str) -> User:
        """A user by handle, account id, name, key or email."""
        for user in self.users.values():
            if ref in (user.handle, user.account_id, user.name, user.key, user.email):
                return user
        raise KeyError(f"no user {ref!r}")

    def link_type(self, id_or_name: str) -> LinkType:
        for link_type in self.link_types.values():
            if id_or_name in (link_type.id, link_type.name):
                return link_type
        raise KeyError(f"no link type {id_or_name!r}")

    def request_type(self, id_or_name: str) -> RequestType:
        for request_type in self.request_types.values():
            if id_or_name in (request_type.id, request_type.name):
                return request_type
        raise KeyError(f"no request type {id_or_name!r}")

    def organization(self, id_or_name: str) -> Organization:
        for organization in self.organizations.values():
            if id_or_name in (organization.id, organization.name):
                return organization
        raise KeyError(f"no organization {id_or_name!r}")

    def user_ref(self, user: User) -> str:
        """How this deployment names a user in requests and changelogs: accountId on Cloud, name on DC."""
        return user.account_id if self.mode == "cloud" else user.name

    # -- administration -----------------------------------------------------------------------------
    def add_custom_field(
        self, name: str, kind: FieldKind, options: tuple[str, ...] = (), description: str = ""
    ) -> CustomField:
        """Create a custom field the way ``POST /field`` does: next id, one global context for options."""
        field_id = f"customfield_{self.next_custom_field_number}"
        self.next_custom_field_number += 1
        custom = CustomField(id=field_id, name=name, kind=kind, description=description)
        custom.contexts.append(
            FieldContext(id=str(self.next_context_id), name=f"Default Configuration Scheme for {name}")
        )
        self.next_context_id += 1
        for value in options:
            self.add_option(custom, custom.contexts[0], value)
        self.custom_fields[field_id] = custom
        return custom

    def add_option(
        self, custom: CustomField, context: FieldContext, value: str, disabled: bool = False
    ) -> Option:
        option = Option(id=str(self.next_option_id), value=value, disabled=disabled)
        self.next_option_id += 1
        context.options.append(option)
        return option


def _default_users(user_time_zone: str) -> dict[str, User]:
    rows = [
        # handle, account id, DC name, DC key, display name, email, zone, account type
        ("agent", "712020:5f1c0b7e-agent", "casewarden", "JIRAUSER10100", "Casewarden Bot",
         "casewarden-bot@acme.example", user_time_zone, "atlassian"),
        ("alice", "712020:9a0e7d41-alice", "alice", "JIRAUSER10101", "Alice Agent",
         "alice@acme.example", "America/New_York", "atlassian"),
        ("bob", "712020:3be4c2a9-bob", "bob", "JIRAUSER10102", "Bob Engineer",
         "bob@acme.example", "UTC", "atlassian"),
        ("carol", "qm:7c1d6e52-carol", "carol", "JIRAUSER10103", "Carol Customer",
         "carol@customer.example", "Europe/London", "customer"),
    ]  # fmt: skip
    return {
        handle: User(handle, account_id, name, key, display, email, zone, account_type)  # type: ignore[arg-type]
        for handle, account_id, name, key, display, email, zone, account_type in rows
    }


def default_site(mode: Mode, base_url: str, user_time_zone: str = "Europe/Berlin") -> Site:
    """The site every test starts from (see the module docstring for what it is meant to exercise)."""
    statuses = {
        s.id: s
        for s in [
            Status("10001", "Waiting for support", "new"),
            Status("10002", "In Progress", "indeterminate"),
            Status("10003", "Waiting for customer", "indeterminate"),
            Status("10004", "Escalated", "indeterminate"),  # only via In Progress: a two-step path
            Status("10005", "Resolved", "done"),
            Status("10006", "Closed", "done"),
            Status("10007", "Canceled", "done"),  # in the workflow, but no transition leads to it
            Status("10008", "To Do", "new"),
            Status("10009", "Done", "done"),
        ]
    }
    support_flow = Workflow(
        name="Service desk workflow",
        initial_status="10001",
        statuses=("10001", "10002", "10003", "10004", "10005", "10006", "10007"),
        transitions=(
            Transition("11", "Start progress", "10002", ("10001",)),
            Transition("21", "Wait for customer", "10003", ("10002",)),
            Transition("31", "Respond to support", "10001", ("10003",)),
            Transition("41", "Escalate", "10004", ("10002",)),
            Transition("51", "Resolve", "10005", ("10002", "10003", "10004")),
            Transition("61", "Close", "10006", ("10005",)),
            Transition("71", "Reopen", "10001", ("10005", "10006")),
            Transition("81", "De-escalate", "10002", ("10004",)),
        ),
    )
    software_flow = Workflow(
        name="Software simplified workflow",
        initial_status="10008",
        statuses=("10008", "10002", "10009"),
        transitions=(
            Transition("11", "Start", "10002", ("10008",)),
            Transition("21", "Finish", "10009", ("10002",)),
            Transition("31", "Stop progress", "10008", ("10002",)),
            Transition("41", "Reopen", "10008", ("10009",)),
        ),
    )
    issue_types = {
        t.id: t
        for t in [
            IssueType("10010", "Service Request", "A request from a customer."),
            IssueType("10011", "Incident", "A service outage."),
            IssueType("10001", "Task", "A task that needs to be done."),
            IssueType("10002", "Bug", "A problem which impairs a product."),
        ]
    }
    projects = {
        "SUP": Project(
            "10000", "SUP", "Customer Support", "service_desk", support_flow, ("10010", "10011"), "1"
        ),
        "ENG": Project("10001", "ENG", "Engineering", "software", software_flow, ("10001", "10002")),
    }
    priorities = {
        p.id: p
        for p in [
            Priority("1", "Highest", "#d04437"),
            Priority("2", "High", "#f15c75"),
            Priority("3", "Medium", "#f79232"),
            Priority("4", "Low", "#707070"),
            Priority("5", "Lowest", "#999999"),
        ]
    }
    site = Site(
        mode=mode,
        base_url=base_url,
        statuses=statuses,
        projects=projects,
        issue_types=issue_types,
        priorities=priorities,
        default_priority="3",
        custom_fields={
            "customfield_10010": CustomField("customfield_10010", "Request Type", "request_type"),
            "customfield_10002": CustomField("customfield_10002", "Organizations", "organizations"),
        },
        users=_default_users(user_time_zone),
        link_types={
            t.id: t
            for t in [
                LinkType("10000", "Blocks", "is blocked by", "blocks"),
                LinkType("10001", "Cloners", "is cloned by", "clones"),
                LinkType("10002", "Duplicate", "is duplicated by", "duplicates"),
                LinkType("10003", "Relates", "relates to", "relates to"),
            ]
        },
        organizations={o.id: o for o in [Organization("1", "Acme Corp"), Organization("2", "Globex")]},
        request_types={
            r.id: r
            for r in [
                RequestType("1", "Get IT help", "1", "10010"),
                RequestType("2", "Report a system problem", "1", "10011"),
            ]
        },
        next_custom_field_number=10050,
    )
    site.add_custom_field("Response due", "datetime", description="When the next response is due.")
    site.add_custom_field("Support level", "select", options=("L1", "L2", "L3"))
    site.add_custom_field("Escalation note", "text")
    site.add_custom_field("Case flags", "labels")
    site.add_custom_field("Breach count", "number")
    return site
