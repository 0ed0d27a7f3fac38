"""A stateful fake of Jira Cloud / Data Center with Jira Service Management, for the real ``jira`` client.

``FakeJira`` (fake.py) is the entry point; ``state.py`` holds issues and histories, ``site.py`` the site's
configuration, ``jql.py`` the JQL subset, ``render.py`` the payload shapes, ``api_*.py`` the endpoints,
``router.py`` the routing and ``faults.py`` the misbehaviour a test can switch on.
"""

from tests.fakes.jira.fake import FAKE_API_TOKEN, FAKE_PAT, FakeJira, LoggedCall, RequestLog
from tests.fakes.jira.faults import Fault, Faults
from tests.fakes.jira.state import Comment, History, Issue

__all__ = [
    "FAKE_API_TOKEN",
    "FAKE_PAT",
    "Comment",
    "FakeJira",
    "Fault",
    "Faults",
    "History",
    "Issue",
    "LoggedCall",
    "RequestLog",
]
