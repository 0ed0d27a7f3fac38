"""A small stateful fake of Zendesk Support, served at the wire with ``responses``.

    fake = FakeZendesk(now=datetime(2025, 3, 3, 9, 0, tzinfo=UTC))
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        fake.mount(rsps)
        zenpy = Zenpy(**fake.zenpy_kwargs())

Modules: ``state`` (records, the update engine, the tracker-side API), ``exports`` (incremental
exports and their last-minute exclusion), ``sla``, ``shapes`` (JSON payloads), ``jobs``,
``faults``, ``requestlog``, ``router`` (dispatch, auth, rate limits) and ``endpoints`` (handlers).
"""

from tests.fakes.zendesk.fake import DEFAULT_API_TOKEN, DEFAULT_BASE_URL, FakeZendesk
from tests.fakes.zendesk.faults import Faults
from tests.fakes.zendesk.records import Account, ApiError, Audit, Ticket, User
from tests.fakes.zendesk.requestlog import LoggedRequest, RequestLog

__all__ = [
    "DEFAULT_API_TOKEN",
    "DEFAULT_BASE_URL",
    "Account",
    "ApiError",
    "Audit",
    "FakeZendesk",
    "Faults",
    "LoggedRequest",
    "RequestLog",
    "Ticket",
    "User",
]
