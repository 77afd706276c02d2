"""Fixtures of the replica tests: PostgreSQL (see tests/postgres.py)."""

from tests.postgres import postgres_server, postgres_url  # noqa: F401
