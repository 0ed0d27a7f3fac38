"""The Zendesk Support connector: the policy enforced on an existing Zendesk instance, through zenpy.

Modules, one job each: :mod:`.settings` (the deployment's ``settings:``), :mod:`.client` (zenpy per
instance and the rate-limited session), :mod:`.catalogue` (fields, statuses, groups by name),
:mod:`.reading` (the two incremental exports and audits), :mod:`.timeline` (Zendesk events -> the
policy's case), :mod:`.writing` (bulk updates as jobs), :mod:`.markers` (where side effects are
recorded), :mod:`.bootstrap` (fields, options, custom statuses) and :mod:`.connector` (the class).
"""

from casewarden.connectors.zendesk.connector import ZendeskConnector
from casewarden.connectors.zendesk.settings import ZendeskSettings

__all__ = ["ZendeskConnector", "ZendeskSettings"]
