"""The pure layer: policy models, loading, calendars, timers, escalation, lifecycle and presets.

Nothing here reads the clock, the network or the environment: every evaluation takes ``now``.
"""
