"""Schema migrations: idempotent, all-or-nothing, and extended by appending a step."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from byoc.errors import ConfigurationError
from byoc.store import SQLiteStore, UserLink
from byoc.store.sqlite_schema import MIGRATIONS, SCHEMA_VERSION, migrate, schema_version


@pytest.fixture
def connection(tmp_path: Path) -> Iterator[sqlite3.Connection]:
    made = sqlite3.connect(tmp_path / "byoc.db", isolation_level=None)
    yield made
    made.close()


def tables(connection: sqlite3.Connection) -> set[str]:
    rows = connection.execute("SELECT name FROM sqlite_schema WHERE type = 'table'").fetchall()
    return {name for (name,) in rows}


def test_a_new_file_gets_every_table(connection: sqlite3.Connection) -> None:
    assert schema_version(connection) == 0
    assert migrate(connection) == SCHEMA_VERSION
    assert schema_version(connection) == SCHEMA_VERSION
    assert {"links", "claims", "settings"} <= tables(connection)


def test_migrate_is_idempotent(connection: sqlite3.Connection) -> None:
    migrate(connection)
    before = connection.execute("SELECT sql FROM sqlite_schema ORDER BY name").fetchall()

    assert migrate(connection) == SCHEMA_VERSION
    assert connection.execute("SELECT sql FROM sqlite_schema ORDER BY name").fetchall() == before


async def test_an_appended_step_upgrades_an_existing_file(tmp_path: Path) -> None:
    path = tmp_path / "byoc.db"
    store = SQLiteStore(path)
    link = UserLink(channel="viber", channel_user_id="u1", helpdesk_user_id="hd-1")
    await store.save_link(link)
    await store.aclose()

    later = (*MIGRATIONS, ("CREATE TABLE deliveries (id INTEGER PRIMARY KEY, body TEXT)",))
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        assert migrate(connection, later) == SCHEMA_VERSION + 1
        assert migrate(connection, later) == SCHEMA_VERSION + 1
        assert "deliveries" in tables(connection)
        assert connection.execute("SELECT channel_user_id FROM links").fetchall() == [("u1",)]
    finally:
        connection.close()


def test_a_failing_step_leaves_the_file_as_it_was(connection: sqlite3.Connection) -> None:
    migrate(connection)
    broken = (
        *MIGRATIONS,
        (
            "CREATE TABLE half_done (x)",
            "CREATE TABLE oops (",
        ),
    )

    with pytest.raises(sqlite3.OperationalError):
        migrate(connection, broken)

    assert schema_version(connection) == SCHEMA_VERSION
    assert "half_done" not in tables(connection)
    assert not connection.in_transaction


def test_a_file_newer_than_the_steps_is_refused(connection: sqlite3.Connection) -> None:
    migrate(connection)
    with pytest.raises(ConfigurationError, match="upgrade byoc"):
        migrate(connection, MIGRATIONS[:-1])
    assert schema_version(connection) == SCHEMA_VERSION


async def test_a_version_2_queue_is_carried_over_with_its_in_flight_jobs_recovering(
    tmp_path: Path,
) -> None:
    path = tmp_path / "byoc.db"
    connection = sqlite3.connect(path, isolation_level=None)
    migrate(connection, MIGRATIONS[:2])
    rows = [
        # lane, payload, not_before, in_flight: "a" was being delivered when the process died,
        # "b" waits for a retry, "c" waits behind "a".
        ("in:a", "a1", 0.0, 1),
        ("in:b", "b1", 500.0, 0),
        ("in:a", "a2", 0.0, 0),
    ]
    for lane, payload, not_before, in_flight in rows:
        connection.execute(
            "INSERT INTO jobs (lane, kind, payload, accepted_at, not_before, in_flight)"
            " VALUES (?, 'inbound', ?, 100.0, ?, ?)",
            (lane, payload, not_before, in_flight),
        )
    connection.close()

    store = SQLiteStore(path)
    try:
        assert await store.next_due() == 100.0
        (a1,) = await store.take_due(owner="me", now=200.0, limit=5, lease=1000)
        assert (a1.payload, a1.recovering, a1.not_before) == ("a1", True, 100.0)
        (b1,) = await store.take_due(owner="me", now=500.0, limit=5, lease=5)
        assert (b1.payload, b1.recovering) == ("b1", False)
        a2 = await store.finish(a1.id, owner="me", next_lease=1000)
        assert a2 is not None and a2.payload == "a2"
    finally:
        await store.aclose()
