"""``casewarden doctor`` for Jira: is this token, on this project, able to do what the deployment asks?

Why a module of its own: a Jira admin fixes what doctor reports, so each check names the permission, the
transition or the screen to change, not the HTTP call that failed. The connector's ``health()`` returns
:func:`checks`.
"""

from __future__ import annotations

from typing import Any, Protocol

import requests
from jira.exceptions import JIRAError

from casewarden.connectors.base import HealthCheck


class _Connected(Protocol):
    client: Any


def _token(conn: _Connected) -> HealthCheck:
    try:
        me = conn.client.myself()
    except JIRAError as exc:
        return HealthCheck("token", False, f"GET /myself answered {exc.status_code}: check the token")
    except requests.RequestException as exc:
        return HealthCheck("token", False, f"GET /myself failed: {type(exc).__name__}")
    who = me.get("displayName") or me.get("name") or me.get("accountId") or "?"
    return HealthCheck("token", True, f"authenticated as {who} (time zone {me.get('timeZone', '?')})")


def checks(conn: _Connected) -> list[HealthCheck]:
    """Every check, in the order an admin would fix them."""
    return [_token(conn)]
