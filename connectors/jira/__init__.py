"""The Jira connector (Cloud and Data Center, with Jira Service Management); see ``connector.py``.

The package is ``casewarden.connectors.jira``; every import of the ``jira`` library inside it is absolute
(``from jira import JIRA``), so this package never shadows the library.
"""

from casewarden.connectors.jira.connector import JiraConnector
from casewarden.connectors.jira.settings import JiraSettings

__all__ = ["JiraConnector", "JiraSettings"]
