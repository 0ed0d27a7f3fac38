"""Fake tracker servers for tests (Zendesk, Jira) and the validator that keeps them honest to the published specs."""
