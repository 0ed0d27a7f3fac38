"""Every request the fake answered, so tests and benchmarks can count API calls per endpoint."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class LoggedRequest:
    method: str
    #: the path below the base URL, as sent (``/api/v2/tickets/7.json``)
    path: str
    #: the endpoint key (``"GET /api/v2/tickets/{ticket_id}"``), or ``"METHOD <unknown>"``
    endpoint: str
    query: dict[str, str]
    body: Any
    status: int
    at: datetime
    url: str
    response: Any
    response_headers: dict[str, str]


class RequestLog:
    def __init__(self) -> None:
        self.entries: list[LoggedRequest] = []

    def record(self, entry: LoggedRequest) -> None:
        self.entries.append(entry)

    def __iter__(self) -> Iterator[LoggedRequest]:
        return iter(self.entries)

    def __len__(self) -> int:
        return len(self.entries)

    def counts(self) -> Counter[str]:
        """Calls per endpoint key, whatever their outcome."""
        return Counter(e.endpoint for e in self.entries)

    def count(self, endpoint: str | None = None, *, status: int | None = None) -> int:
        return sum(
            1
            for e in self.entries
            if (endpoint is None or e.endpoint == endpoint) and (status is None or e.status == status)
        )

    def writes(self) -> list[LoggedRequest]:
        return [e for e in self.entries if e.method in ("POST", "PUT", "PATCH", "DELETE")]

    def of(self, endpoint: str) -> list[LoggedRequest]:
        return [e for e in self.entries if e.endpoint == endpoint]

    def clear(self) -> None:
        self.entries.clear()
