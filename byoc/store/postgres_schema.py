"""The tables and functions of `PostgresStore`, and how a database is brought up to date.

A database records its schema version in the one-row table `byoc_schema`. `MIGRATIONS[n]`
takes it from version `n` to `n + 1`; `migrate()` applies the missing steps in one transaction
under an advisory lock, so replicas that start together run each step exactly once. As with
`sqlite_schema`, **append** a step to change the schema; never edit one that has shipped.

Every name starts with `byoc_`, so the bridge can share a database (and its schema) with
other applications.

**The queue.** Jobs wait in lanes; `ready_at` is set on lane heads only and says when the head
may be taken (its retry time, or when its lease runs out), so due jobs are one index range.
A partial unique index allows one head per lane. Steps that change who is a lane's head
(enqueue, finish, bury, replay) run as functions under a transaction-scoped advisory lock on
the lane, statement by statement: a VOLATILE function's statements each see what committed
before them, so a job queued while its lane's head finishes is never left without a head.
Each is one round trip.
"""

from __future__ import annotations

from collections.abc import Sequence

import psycopg
from psycopg.rows import TupleRow

from ..errors import ConfigurationError

__all__ = [
    "LANE_LOCKS",
    "LEASE_LOST",
    "MIGRATIONS",
    "NOTIFY_CHANNEL",
    "SCHEMA_VERSION",
    "USER_LOCKS",
    "Migration",
    "migrate",
    "schema_version",
]

Migration = tuple[str, ...]
"""The statements of one step, run in order inside the migration's transaction."""

NOTIFY_CHANNEL = "byoc_jobs"
"""Where a job that any dispatcher may take now is announced (LISTEN/NOTIFY)."""

LEASE_LOST = "BY001"
"""The SQLSTATE the queue functions raise when the caller no longer holds the job's lease."""

# Advisory locks use the two-int form: (namespace, hash of the key). The single-bigint form,
# whose key space is separate, is the migration lock.
LANE_LOCKS = 0x62790001
USER_LOCKS = 0x62790002
_MIGRATION_LOCK = 0x6279_6F63_0000_0001

_V1: Migration = (
    # `routed` orders saves: the link saved last wins a conversation, as in MemoryStore.
    "CREATE SEQUENCE byoc_links_routed",
    """
    CREATE TABLE byoc_links (
        channel text NOT NULL,
        channel_user_id text NOT NULL,
        helpdesk_user_id text NOT NULL,
        conversation_id text,
        resolved boolean NOT NULL DEFAULT false,
        routed bigint NOT NULL DEFAULT nextval('byoc_links_routed'),
        PRIMARY KEY (channel, channel_user_id)
    )
    """,
    "CREATE UNIQUE INDEX byoc_links_by_helpdesk_user ON byoc_links (helpdesk_user_id)",
    """
    CREATE INDEX byoc_links_by_conversation ON byoc_links (conversation_id, routed)
    WHERE conversation_id IS NOT NULL
    """,
    "CREATE TABLE byoc_claims (key text PRIMARY KEY, expires_at double precision NOT NULL)",
    "CREATE INDEX byoc_claims_by_expiry ON byoc_claims (expires_at)",
    # bytea: install data may hold any text, NUL included, which PostgreSQL text cannot.
    "CREATE TABLE byoc_settings (key text PRIMARY KEY, value bytea NOT NULL)",
    """
    CREATE TABLE byoc_jobs (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        lane text NOT NULL,
        kind text NOT NULL,
        payload text NOT NULL,
        accepted_at double precision NOT NULL,
        not_before double precision NOT NULL,
        attempts jsonb NOT NULL DEFAULT '[]',
        recovering boolean NOT NULL DEFAULT false,
        owner text,
        lease_until double precision,
        ready_at double precision
    )
    """,
    "CREATE INDEX byoc_jobs_by_lane ON byoc_jobs (lane, id)",
    """
    CREATE UNIQUE INDEX byoc_jobs_one_head_per_lane ON byoc_jobs (lane)
    WHERE ready_at IS NOT NULL
    """,
    "CREATE INDEX byoc_jobs_by_ready ON byoc_jobs (ready_at, id) WHERE ready_at IS NOT NULL",
    "CREATE INDEX byoc_jobs_by_owner ON byoc_jobs (owner) WHERE owner IS NOT NULL",
    """
    CREATE TABLE byoc_dead_letters (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        job_id bigint NOT NULL,
        lane text NOT NULL,
        kind text NOT NULL,
        payload text NOT NULL,
        accepted_at double precision NOT NULL,
        attempts jsonb NOT NULL,
        reason text NOT NULL,
        died_at double precision NOT NULL
    )
    """,
    "CREATE INDEX byoc_dead_letters_by_death ON byoc_dead_letters (died_at)",
    # The lane's oldest job becomes its head: leased to p_owner until p_until and returned,
    # or (p_until NULL) made takeable by anyone, who hears of it.
    f"""
    CREATE FUNCTION byoc_promote(p_lane text, p_owner text, p_until double precision)
    RETURNS SETOF byoc_jobs LANGUAGE plpgsql AS $$
    DECLARE
        v_id bigint;
    BEGIN
        SELECT id INTO v_id FROM byoc_jobs WHERE lane = p_lane ORDER BY id LIMIT 1;
        IF NOT FOUND THEN
            RETURN;
        END IF;
        IF p_until IS NULL THEN
            UPDATE byoc_jobs SET ready_at = not_before WHERE id = v_id;
            PERFORM pg_notify('{NOTIFY_CHANNEL}', '');
            RETURN;
        END IF;
        RETURN QUERY UPDATE byoc_jobs
            SET owner = p_owner, lease_until = p_until, ready_at = p_until
            WHERE id = v_id RETURNING *;
    END $$
    """,
    # A new job at the end of its lane; its head at once when the lane was empty (leased to
    # p_owner when given). Returns nothing when the dedupe key was claimed already.
    f"""
    CREATE FUNCTION byoc_add_job(
        p_lane text, p_kind text, p_payload text, p_now double precision,
        p_owner text, p_until double precision
    ) RETURNS SETOF byoc_jobs LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM pg_advisory_xact_lock({LANE_LOCKS}, hashtext(p_lane));
        IF EXISTS (SELECT 1 FROM byoc_jobs WHERE lane = p_lane) THEN
            RETURN QUERY INSERT INTO byoc_jobs (lane, kind, payload, accepted_at, not_before)
                VALUES (p_lane, p_kind, p_payload, p_now, p_now) RETURNING *;
        ELSIF p_owner IS NULL THEN
            PERFORM pg_notify('{NOTIFY_CHANNEL}', '');
            RETURN QUERY INSERT INTO byoc_jobs
                    (lane, kind, payload, accepted_at, not_before, ready_at)
                VALUES (p_lane, p_kind, p_payload, p_now, p_now, p_now) RETURNING *;
        ELSE
            RETURN QUERY INSERT INTO byoc_jobs
                    (lane, kind, payload, accepted_at, not_before, owner, lease_until, ready_at)
                VALUES (p_lane, p_kind, p_payload, p_now, p_now, p_owner, p_until, p_until)
                RETURNING *;
        END IF;
    END $$
    """,
    """
    CREATE FUNCTION byoc_enqueue(
        p_lane text, p_kind text, p_payload text, p_key text, p_now double precision,
        p_expires double precision, p_owner text, p_until double precision
    ) RETURNS SETOF byoc_jobs LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO byoc_claims (key, expires_at) VALUES (p_key, p_expires)
            ON CONFLICT (key) DO UPDATE SET expires_at = excluded.expires_at
            WHERE byoc_claims.expires_at <= p_now;
        IF NOT FOUND THEN
            RETURN;
        END IF;
        RETURN QUERY SELECT * FROM byoc_add_job(p_lane, p_kind, p_payload, p_now, p_owner, p_until);
    END $$
    """,
    # The lane of a job p_owner holds, with the lane locked; raises LEASE_LOST otherwise.
    f"""
    CREATE FUNCTION byoc_held_lane(p_id bigint, p_owner text)
    RETURNS text LANGUAGE plpgsql AS $$
    DECLARE
        v_lane text;
    BEGIN
        SELECT lane INTO v_lane FROM byoc_jobs WHERE id = p_id AND owner = p_owner;
        IF FOUND THEN
            PERFORM pg_advisory_xact_lock({LANE_LOCKS}, hashtext(v_lane));
            -- Taken over while we waited for the lock?
            PERFORM 1 FROM byoc_jobs WHERE id = p_id AND owner = p_owner FOR UPDATE;
        END IF;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'job % is not leased to %', p_id, p_owner
                USING ERRCODE = '{LEASE_LOST}';
        END IF;
        RETURN v_lane;
    END $$
    """,
    """
    CREATE FUNCTION byoc_finish(
        p_id bigint, p_owner text, p_claims text[], p_expires double precision,
        p_next_until double precision
    ) RETURNS SETOF byoc_jobs LANGUAGE plpgsql AS $$
    DECLARE
        v_lane text := byoc_held_lane(p_id, p_owner);
    BEGIN
        DELETE FROM byoc_jobs WHERE id = p_id;
        INSERT INTO byoc_claims (key, expires_at) SELECT unnest(p_claims), p_expires
            ON CONFLICT (key) DO UPDATE
            SET expires_at = greatest(byoc_claims.expires_at, excluded.expires_at);
        RETURN QUERY SELECT * FROM byoc_promote(v_lane, p_owner, p_next_until);
    END $$
    """,
    """
    CREATE FUNCTION byoc_bury(
        p_id bigint, p_owner text, p_reason text, p_attempt jsonb, p_at double precision,
        p_next_until double precision
    ) RETURNS SETOF byoc_jobs LANGUAGE plpgsql AS $$
    DECLARE
        v_lane text := byoc_held_lane(p_id, p_owner);
    BEGIN
        WITH gone AS (DELETE FROM byoc_jobs WHERE id = p_id RETURNING *)
        INSERT INTO byoc_dead_letters
            (job_id, lane, kind, payload, accepted_at, attempts, reason, died_at)
        SELECT id, lane, kind, payload, accepted_at, attempts || p_attempt, p_reason, p_at
        FROM gone;
        RETURN QUERY SELECT * FROM byoc_promote(v_lane, p_owner, p_next_until);
    END $$
    """,
    """
    CREATE FUNCTION byoc_replay(p_dead_id bigint, p_now double precision)
    RETURNS SETOF byoc_jobs LANGUAGE plpgsql AS $$
    DECLARE
        v_dead byoc_dead_letters;
    BEGIN
        DELETE FROM byoc_dead_letters WHERE id = p_dead_id RETURNING * INTO v_dead;
        IF NOT FOUND THEN
            RETURN;
        END IF;
        RETURN QUERY SELECT * FROM byoc_add_job(
            v_dead.lane, v_dead.kind, v_dead.payload, p_now, NULL, NULL);
    END $$
    """,
)

_V2_COUNTS_AND_UNREACHABLE_USERS: Migration = (
    # Totals since the database was created: every replica adds its deltas every few seconds,
    # so a row holds the sum over replicas. One row per metric series (`byoc.counts`).
    "CREATE TABLE byoc_counts (key text PRIMARY KEY, value bigint NOT NULL)",
    # When the channel said the user unsubscribed or blocked the bot (NULL: reachable).
    "ALTER TABLE byoc_links ADD COLUMN unreachable_since double precision",
)

MIGRATIONS: tuple[Migration, ...] = (_V1, _V2_COUNTS_AND_UNREACHABLE_USERS)
"""Every step so far; `MIGRATIONS[n]` takes a database from version `n` to `n + 1`."""

SCHEMA_VERSION = len(MIGRATIONS)
"""The version a database has once `migrate()` ran."""


async def schema_version(connection: psycopg.AsyncConnection[TupleRow]) -> int:
    """The schema version recorded in the database (0 for one byoc never used)."""
    cursor = await connection.execute("SELECT to_regclass('byoc_schema') IS NOT NULL")
    row = await cursor.fetchone()
    if row is None or not row[0]:
        return 0
    cursor = await connection.execute("SELECT version FROM byoc_schema")
    row = await cursor.fetchone()
    return 0 if row is None else int(row[0])


async def migrate(
    connection: psycopg.AsyncConnection[TupleRow], migrations: Sequence[Migration] = MIGRATIONS
) -> int:
    """Apply the steps the database lacks and return its version, now `len(migrations)`.

    Idempotent: an up-to-date database costs two reads and takes no lock. Safe when several
    replicas start at once: the version is read again under an advisory lock, so each step runs
    once, all of it or none of it (PostgreSQL's DDL is transactional). The connection must be
    in autocommit mode.

    Raises `ConfigurationError` when the database is newer than `migrations` (migrated by a
    newer byoc): running on it could corrupt tables this version does not know.
    """
    target = len(migrations)
    if await schema_version(connection) == target:
        return target
    async with connection.transaction():
        await connection.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
        await connection.execute("CREATE TABLE IF NOT EXISTS byoc_schema (version integer)")
        version = await schema_version(connection)
        if version > target:
            raise ConfigurationError(
                f"the database has schema version {version} but this byoc knows only up to "
                f"{target}; upgrade byoc on this machine (a newer replica migrated it)"
            )
        for step in migrations[version:]:
            for statement in step:
                await connection.execute(statement.encode())
        await connection.execute("DELETE FROM byoc_schema")
        await connection.execute("INSERT INTO byoc_schema (version) VALUES (%s)", (target,))
    return target
