"""PostgreSQL for the tests: one server per test session, a fresh schema for each test.

The server is `BYOC_TEST_POSTGRES_DSN` when set (`.ci/run` starts one and sets it). Otherwise
the first test that needs one starts a `TemporaryPostgres` (the machine's binaries; as root,
run as the `postgres` user), stopped when the session ends. Where neither is possible, the
tests skip with one line saying how to get a server, except under CI (`CI=true`), where a
missing server is a failure: CI must never pass by skipping them.

Conftests import the fixtures: `from tests.postgres import postgres_url  # noqa: F401`.
"""

from __future__ import annotations

import atexit
import os
import uuid
from collections.abc import Iterator
from urllib.parse import quote

import pytest

from byoc.testing.postgres import TemporaryPostgres, unavailable_reason

ENV = "BYOC_TEST_POSTGRES_DSN"
HOW = (
    f"set {ENV}=postgresql://user@host:port/db, or install PostgreSQL (Debian: apt-get install "
    "postgresql) so the tests start one, or run .ci/run"
)


class SharedDatabase:
    """Where the tests' schemas live; `server` is set when this session started it."""

    def __init__(self, url: str, server: TemporaryPostgres | None) -> None:
        self.url = url
        self.server = server

    def schema_url(self, schema: str) -> str:
        """The database URL with `schema` first on the search path: byoc's tables go there."""
        joiner = "&" if "?" in self.url else "?"
        return f"{self.url}{joiner}options={quote(f'-c search_path={schema}')}"

    def execute(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as connection:
            connection.execute(sql.encode())


_database: SharedDatabase | None = None


def database() -> SharedDatabase:
    """The session's server, started on first use; skips (or fails under CI) without one."""
    global _database
    if _database is not None:
        return _database
    url = os.environ.get(ENV, "").strip()
    if url:
        _database = SharedDatabase(url, None)
        return _database
    reason = "CI=true and no server was given" if _under_ci() else unavailable_reason()
    if reason is not None:
        _no_server(f"PostgreSQL tests need a server ({reason}): {HOW}")
    server = TemporaryPostgres.start()
    atexit.register(server.stop)
    _database = SharedDatabase(server.url, server)
    return _database


def _no_server(message: str) -> None:
    """Skip, except under CI, where a test that cannot run fails."""
    if _under_ci():
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def _under_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A URL whose byoc tables live in a schema of this test's own, dropped afterwards."""
    db = database()
    schema = f"t_{uuid.uuid4().hex[:16]}"
    db.execute(f"CREATE SCHEMA {schema}")
    try:
        yield db.schema_url(schema)
    finally:
        db.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture
def postgres_server() -> Iterator[TemporaryPostgres]:
    """A server of this test's own, to stop and restart (an outage); needs the binaries."""
    reason = unavailable_reason()
    if reason is not None:
        _no_server(f"this test restarts its own PostgreSQL server ({reason}): {HOW}")
    server = TemporaryPostgres.start()
    try:
        yield server
    finally:
        server.stop()
