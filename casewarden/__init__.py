"""casewarden: support case handling policy as code, enforced on the trackers a team already uses."""
