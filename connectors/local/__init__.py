"""The embedded tracker: a real case tracker in one SQLite file, and a generator of case histories for it.

It lets casewarden run with nothing else installed (``casewarden demo``) and is what the tests and the
benchmarks run against.
"""

from casewarden.connectors.local.generator import Vocabulary, default_level_weights, generate, mutate
from casewarden.connectors.local.tracker import (
    CaseRecord,
    Comment,
    FaultHook,
    LocalSettings,
    LocalTracker,
    UnknownOutcome,
)

__all__ = [
    "CaseRecord",
    "Comment",
    "FaultHook",
    "LocalSettings",
    "LocalTracker",
    "UnknownOutcome",
    "Vocabulary",
    "default_level_weights",
    "generate",
    "mutate",
]
