"""Stateful fakes of tracker APIs, served at the wire with ``responses`` so the real clients run."""
