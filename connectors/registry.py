"""Finding connectors: the ``casewarden.connectors`` entry-point group.

A package adds a tracker by declaring, in its own ``pyproject.toml``::

    [project.entry-points."casewarden.connectors"]
    mytracker = "my_package.connector:MyTrackerConnector"

and a deployment then says ``type: mytracker``. Nothing in casewarden's engine, ``init``, ``doctor``
or the command line names a connector: they all ask this registry. The bundled connectors are declared
the same way in casewarden's own metadata; they are also listed here so a source checkout that was
never installed still finds them.
"""

from __future__ import annotations

import importlib
from functools import cache
from importlib.metadata import entry_points

from casewarden.connectors.base import Connector
from casewarden.errors import ConfigError

__all__ = ["ENTRY_POINT_GROUP", "connector_class", "connector_types", "refresh"]

ENTRY_POINT_GROUP = "casewarden.connectors"

_BUNDLED = {
    "local": "casewarden.connectors.local:LocalTracker",
    "jira": "casewarden.connectors.jira:JiraConnector",
    "zendesk": "casewarden.connectors.zendesk:ZendeskConnector",
}


@cache
def _targets() -> dict[str, str]:
    found = {ep.name: ep.value for ep in entry_points(group=ENTRY_POINT_GROUP)}
    for name, target in _BUNDLED.items():
        found.setdefault(name, target)
    return dict(sorted(found.items()))


def refresh() -> None:
    """Forget what was found (after installing a plugin in the same process, e.g. in tests)."""
    _targets.cache_clear()
    _load.cache_clear()


def connector_types() -> list[str]:
    """Every connector type name that can be used in a deployment's ``type:``."""
    return list(_targets())


@cache
def _load(target: str) -> type[Connector]:
    module_name, _, attr = target.partition(":")
    try:
        obj: object = importlib.import_module(module_name)
        for part in attr.split(".") if attr else ():
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"connector plugin {target} cannot be loaded: {exc}") from None
    if not (isinstance(obj, type) and issubclass(obj, Connector)):
        raise ConfigError(f"connector plugin {target} is not a casewarden Connector class")
    return obj


def connector_class(type_name: str) -> type[Connector]:
    """The class registered as ``type_name``; ConfigError naming the installed types otherwise."""
    targets = _targets()
    if type_name not in targets:
        from casewarden.policy.located import unknown_name

        raise ConfigError(unknown_name("tracker type", type_name, targets))
    cls = _load(targets[type_name])
    if getattr(cls, "type", None) != type_name:
        raise ConfigError(
            f"connector plugin {targets[type_name]} is registered as '{type_name}' but its type is "
            f"'{getattr(cls, 'type', None)}'"
        )
    return cls
