"""The one exception tree of casewarden.

Every layer raises from this tree so that the command line can turn any domain failure into a message
that says what to do next, and so that the sync engine can decide from the *class* alone whether a
failure stops the cycle, is retried, or skips one case::

    CasewardenError
    ├── ConfigError                 deployment file (casewarden.yaml) is wrong
    ├── PolicyError                 policy file is wrong; carries every problem found (PolicyProblem)
    ├── CaseError                   one case cannot be placed by the policy: reported and skipped
    ├── ConnectorError              talking to a tracker failed
    │   ├── FatalConnectorError     auth, permissions, bad request: stop the cycle, do not retry
    │   ├── RetriableConnectorError 429, 5xx, connection reset: retried with backoff
    │   └── SkippableConnectorError one item was refused (validation, gone): record and go on
    ├── NotifyError                 a notification channel failed after its retries
    └── StateError                  the state store is unusable
        └── LockedError             another runner holds the deployment's lease

It lives in ``policy/`` only because that is the bottom layer every other layer may import.
"""

from __future__ import annotations

from dataclasses import dataclass


class CasewardenError(Exception):
    """Root of every error casewarden raises on purpose."""


class ConfigError(CasewardenError):
    """The deployment file or the environment it names is wrong."""


@dataclass(frozen=True)
class PolicyProblem:
    """One mistake in a policy file, located so an editor can jump to it."""

    file: str
    line: int | None
    column: int | None
    path: str
    message: str

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        field = f" {self.path}:" if self.path else ""
        return f"{where}:{field} {self.message}"


class PolicyError(CasewardenError):
    """A policy file has one or more mistakes; all of them are reported at once."""

    def __init__(self, problems: list[PolicyProblem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class CaseError(CasewardenError):
    """The policy cannot place a case (unknown level or status, missing region, ...)."""

    def __init__(self, case_id: str, reason: str):
        self.case_id = case_id
        self.reason = reason
        super().__init__(f"case {case_id}: {reason}")


class ConnectorError(CasewardenError):
    """A tracker call failed."""


class FatalConnectorError(ConnectorError):
    """Retrying will not help (credentials, permissions, a request the tracker rejects as malformed)."""


class RetriableConnectorError(ConnectorError):
    """A passing fault: rate limit, server error, dropped connection."""

    def __init__(self, message: str, retry_after: float | None = None):
        self.retry_after = retry_after
        super().__init__(message)


class SkippableConnectorError(ConnectorError):
    """One item was refused; the rest of the batch and the cycle go on."""


class NotifyError(CasewardenError):
    """A notification could not be delivered after its retries."""


class StateError(CasewardenError):
    """The state store cannot be opened, migrated or written."""


class LockedError(StateError):
    """Another runner holds the lease on this deployment's state."""
