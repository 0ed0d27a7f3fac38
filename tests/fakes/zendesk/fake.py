"""``FakeZendesk``: the in-memory instance plus its HTTP face (router, faults, jobs, request log)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import responses

from tests.fakes.zendesk.endpoints import Endpoints
from tests.fakes.zendesk.faults import Faults
from tests.fakes.zendesk.jobs import Jobs
from tests.fakes.zendesk.records import Account, User
from tests.fakes.zendesk.requestlog import RequestLog
from tests.fakes.zendesk.router import Router, known_endpoints
from tests.fakes.zendesk.state import ZendeskState

DEFAULT_BASE_URL = "https://acme.zendesk.com"
#: a placeholder, not a secret: the fake only checks that the client sends the same string
DEFAULT_API_TOKEN = "fake-zendesk-token"


class FakeZendesk(ZendeskState):
    """A Zendesk Support account for tests.

    The tracker-side API (``create_ticket``, ``add_comment``, ``set_status``...) is inherited from
    ``ZendeskState``; ``mount`` serves the account on a ``responses.RequestsMock`` at ``base_url``.
    """

    def __init__(
        self,
        base_url: str = DEFAULT_BASE_URL,
        *,
        now: datetime,
        account: Account | None = None,
        api_token: str = DEFAULT_API_TOKEN,
    ) -> None:
        super().__init__(base_url, now, account)
        self.api_token = api_token
        self.faults = Faults(known_endpoints())
        self.log = RequestLog()
        self.jobs = Jobs(self, self.faults)
        self.router = Router(self, self.faults, self.log, Endpoints(self, self.jobs, self.faults), api_token)

    def mount(self, rsps: responses.RequestsMock) -> FakeZendesk:
        self.router.mount(rsps)
        return self

    @property
    def endpoints(self) -> list[str]:
        """The endpoint keys the fake serves (the names faults and the log use)."""
        return known_endpoints()

    def finish_jobs(self) -> None:
        self.jobs.finish_all()

    # -- connecting a client ---------------------------------------------------------------------

    def zenpy_env(self) -> dict[str, str]:
        """The environment zenpy needs to reach this base URL (empty for ``https://<x>.zendesk.com``)."""
        split = urlsplit(self.base_url)
        if split.scheme == "https" and split.netloc.endswith(".zendesk.com") and not split.path:
            return {}
        return {"ZENPY_FORCE_NETLOC": split.netloc + split.path, "ZENPY_FORCE_SCHEME": split.scheme}

    def zenpy_kwargs(self, user: User | None = None) -> dict[str, Any]:
        """``Zenpy(**fake.zenpy_kwargs())`` authenticates as ``user`` (default: the admin)."""
        split = urlsplit(self.base_url)
        subdomain = (
            split.netloc.split(".")[0] if split.netloc.endswith(".zendesk.com") else self.account.subdomain
        )
        return {
            "subdomain": subdomain,
            "email": (user or self.admin).email,
            "token": self.api_token,
            "disable_cache": True,
        }
