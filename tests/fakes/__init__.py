"""In-memory fakes of the trackers' HTTP APIs, served at the wire with ``responses``."""
