"""The tables of `SQLiteStore` and how a file is brought up to date.

A file records its schema version in `PRAGMA user_version`. `MIGRATIONS[n]` takes a file from
version `n` to `n + 1`; `migrate()` applies the missing steps in one transaction. To add tables
(the durable delivery queue, say), **append** a step: never edit one that has shipped, since files
in the field already ran it.

```python
MIGRATIONS = (
    _V1_LINKS_CLAIMS_SETTINGS,
    (
        "CREATE TABLE deliveries (...)",
        "CREATE INDEX deliveries_by_due ON deliveries (due_at)",
    ),
)
```
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from ..errors import ConfigurationError

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "Migration", "migrate", "schema_version"]

Migration = tuple[str, ...]
"""The statements of one step, run in order inside the migration's transaction."""

_V1_LINKS_CLAIMS_SETTINGS: Migration = (
    # A rowid table on purpose: `SQLiteStore` orders links by rowid to know which link was
    # routed to a conversation last.
    """
    CREATE TABLE links (
        channel TEXT NOT NULL,
        channel_user_id TEXT NOT NULL,
        helpdesk_user_id TEXT NOT NULL,
        conversation_id TEXT,
        resolved INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (channel, channel_user_id)
    )
    """,
    "CREATE UNIQUE INDEX links_by_helpdesk_user ON links (helpdesk_user_id)",
    """
    CREATE INDEX links_by_conversation ON links (conversation_id)
    WHERE conversation_id IS NOT NULL
    """,
    # No index on expires_at: expired rows are purged once every many claims, and a scan then
    # costs less than keeping an index up to date on every claim.
    """
    CREATE TABLE claims (
        key TEXT PRIMARY KEY,
        expires_at REAL NOT NULL
    ) WITHOUT ROWID
    """,
    """
    CREATE TABLE settings (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    ) WITHOUT ROWID
    """,
)

_V2_DELIVERY_QUEUE: Migration = (
    # Jobs run strictly in id order within a lane; the rowid alias grows with every insert.
    """
    CREATE TABLE jobs (
        id INTEGER PRIMARY KEY,
        lane TEXT NOT NULL,
        kind TEXT NOT NULL,
        payload TEXT NOT NULL,
        accepted_at REAL NOT NULL,
        not_before REAL NOT NULL DEFAULT 0,
        attempts TEXT NOT NULL DEFAULT '[]',
        in_flight INTEGER NOT NULL DEFAULT 0,
        recovering INTEGER NOT NULL DEFAULT 0
    )
    """,
    "CREATE INDEX jobs_by_lane ON jobs (lane, id)",
    """
    CREATE TABLE dead_letters (
        id INTEGER PRIMARY KEY,
        job_id INTEGER NOT NULL,
        lane TEXT NOT NULL,
        kind TEXT NOT NULL,
        payload TEXT NOT NULL,
        accepted_at REAL NOT NULL,
        attempts TEXT NOT NULL,
        reason TEXT NOT NULL,
        died_at REAL NOT NULL
    )
    """,
)

_V3_LEASES_AND_INDEXES: Migration = (
    # Leases replace the in-flight flag (`owner`, `lease_until`). `ready_at` is set on lane
    # heads only: when the head may be taken (its retry time, or when its lease runs out), so
    # due jobs are found by one index range, never by grouping the table. Jobs that were in
    # flight under version 2 are recovering: they may have reached the peer. The table is
    # rebuilt to drop `in_flight` (ALTER TABLE DROP COLUMN needs SQLite 3.35), and its ids
    # are never reused (AUTOINCREMENT): an id names one job in logs and dead letters.
    """
    CREATE TABLE jobs_v3 (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        lane TEXT NOT NULL,
        kind TEXT NOT NULL,
        payload TEXT NOT NULL,
        accepted_at REAL NOT NULL,
        not_before REAL NOT NULL,
        attempts TEXT NOT NULL DEFAULT '[]',
        recovering INTEGER NOT NULL DEFAULT 0,
        owner TEXT,
        lease_until REAL,
        ready_at REAL
    )
    """,
    """
    INSERT INTO jobs_v3
        (id, lane, kind, payload, accepted_at, not_before, attempts, recovering, ready_at)
    SELECT id, lane, kind, payload, accepted_at, max(not_before, accepted_at), attempts,
           max(recovering, in_flight),
           CASE WHEN id IN (SELECT min(id) FROM jobs GROUP BY lane)
                THEN max(not_before, accepted_at) END
    FROM jobs
    """,
    "DROP TABLE jobs",
    "ALTER TABLE jobs_v3 RENAME TO jobs",
    "CREATE INDEX jobs_by_lane ON jobs (lane, id)",
    # At most one head per lane: a bug that would run two jobs of one user at once fails here.
    "CREATE UNIQUE INDEX jobs_one_head_per_lane ON jobs (lane) WHERE ready_at IS NOT NULL",
    "CREATE INDEX jobs_by_ready ON jobs (ready_at, id) WHERE ready_at IS NOT NULL",
    "CREATE INDEX jobs_by_owner ON jobs (owner) WHERE owner IS NOT NULL",
    # Purging expired claims and old dead letters walks these, not the tables.
    "CREATE INDEX claims_by_expiry ON claims (expires_at)",
    "CREATE INDEX dead_letters_by_death ON dead_letters (died_at)",
)

_V4_COUNTS_AND_UNREACHABLE_USERS: Migration = (
    # Totals since the file was created (the bridge adds its deltas every few seconds); one row
    # per metric series, keyed as `byoc.counts.series_key` spells it.
    """
    CREATE TABLE counts (
        key TEXT PRIMARY KEY,
        value INTEGER NOT NULL
    ) WITHOUT ROWID
    """,
    # When the channel said the user unsubscribed or blocked the bot (NULL: reachable).
    "ALTER TABLE links ADD COLUMN unreachable_since REAL",
)

MIGRATIONS: tuple[Migration, ...] = (
    _V1_LINKS_CLAIMS_SETTINGS,
    _V2_DELIVERY_QUEUE,
    _V3_LEASES_AND_INDEXES,
    _V4_COUNTS_AND_UNREACHABLE_USERS,
)
"""Every step so far; `MIGRATIONS[n]` takes a file from version `n` to `n + 1`."""

SCHEMA_VERSION = len(MIGRATIONS)
"""The version a file has once `migrate()` ran."""


def schema_version(connection: sqlite3.Connection) -> int:
    """The schema version recorded in the file (0 for a new file)."""
    version: int = connection.execute("PRAGMA user_version").fetchone()[0]
    return version


def migrate(connection: sqlite3.Connection, migrations: Sequence[Migration] = MIGRATIONS) -> int:
    """Apply the steps the file lacks and return its version, now `len(migrations)`.

    Idempotent: an up-to-date file costs one read and takes no write lock. Safe when several
    processes open one file at once: the version is read again under the write lock, so each
    step runs once. The connection must be in autocommit mode (`isolation_level=None`), since
    this function manages its own transaction.

    Raises `ConfigurationError` when the file is newer than `migrations` (written by a newer
    byoc): running on it could corrupt tables this version does not know.
    """
    target = len(migrations)
    if schema_version(connection) == target:
        return target
    connection.execute("BEGIN IMMEDIATE")
    try:
        version = schema_version(connection)
        if version > target:
            raise ConfigurationError(
                f"the file has schema version {version} but this byoc knows only up to {target};"
                " upgrade byoc, or use another file"
            )
        for step in migrations[version:]:
            for statement in step:
                connection.execute(statement)
        # PRAGMA takes no bound parameters; `target` is an int we computed.
        connection.execute(f"PRAGMA user_version = {target:d}")
        connection.execute("COMMIT")
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    return target
