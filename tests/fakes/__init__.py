"""Fake tracker servers for tests, and the spec validator that keeps them and our requests honest."""
