"""A store on PostgreSQL: several bridge replicas share one database (`byoc[postgres]`)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Collection, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager, suppress
from typing import Any, TypeVar
from urllib.parse import urlsplit

import psycopg
import psycopg.errors
import psycopg_pool
from psycopg.rows import TupleRow

from ..clock import Clock, SystemClock
from ..errors import ConfigurationError
from .base import StoreUnavailable, UserLink
from .locks import KeyedLock
from .postgres_schema import (
    LEASE_LOST,
    NOTIFY_CHANNEL,
    USER_LOCKS,
    migrate,
    schema_version,
)
from .queue import DEFAULT_DEAD_LETTER_RETENTION, Attempt, DeadLetter, Job, LeaseLost
from .rows import (
    DEAD_COLUMNS,
    JOB_COLUMNS,
    LINK_COLUMNS,
    dead_letter_from_row,
    encode_attempts,
    job_from_row,
    link_from_row,
    link_params,
)

__all__ = ["DEFAULT_POOL_SIZE", "PostgresStore", "describe_url"]

log = logging.getLogger("byoc.store")

_T = TypeVar("_T")
Connection = psycopg.AsyncConnection[TupleRow]

DEFAULT_POOL_SIZE = 10
"""Connections per process. Each store call holds one for a single round trip, so ten serve
hundreds of calls in flight; the listener and the user-lock connection come on top."""

_GET_LINK = f"SELECT {LINK_COLUMNS} FROM byoc_links WHERE channel = %s AND channel_user_id = %s"
_GET_LINK_BY_HELPDESK_USER = f"SELECT {LINK_COLUMNS} FROM byoc_links WHERE helpdesk_user_id = %s"
_GET_LINK_BY_CONVERSATION = f"""
    SELECT {LINK_COLUMNS} FROM byoc_links WHERE conversation_id = %s
    ORDER BY routed DESC LIMIT 1
"""
_SAVE_LINK = f"""
    INSERT INTO byoc_links ({LINK_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s)
    ON CONFLICT (channel, channel_user_id) DO UPDATE SET
        helpdesk_user_id = excluded.helpdesk_user_id,
        conversation_id = excluded.conversation_id,
        resolved = excluded.resolved,
        unreachable_since = excluded.unreachable_since,
        routed = nextval('byoc_links_routed')
"""
_CLAIM = """
    INSERT INTO byoc_claims (key, expires_at) VALUES (%s, %s)
    ON CONFLICT (key) DO UPDATE SET expires_at = excluded.expires_at
    WHERE byoc_claims.expires_at <= %s
"""
_RELEASE = "DELETE FROM byoc_claims WHERE key = %s"
_GET_SETTING = "SELECT value FROM byoc_settings WHERE key = %s"
_SET_SETTING = """
    INSERT INTO byoc_settings (key, value) VALUES (%s, %s)
    ON CONFLICT (key) DO UPDATE SET value = excluded.value
"""
_DELETE_SETTING = "DELETE FROM byoc_settings WHERE key = %s"
# Every delta in one statement; keys in sorted order, so replicas adding at once lock the rows
# in one order and never deadlock.
_ADD_COUNTS = """
    INSERT INTO byoc_counts (key, value) SELECT * FROM unnest(%s::text[], %s::bigint[])
    ON CONFLICT (key) DO UPDATE SET value = byoc_counts.value + excluded.value
"""
_COUNTS = "SELECT key, value FROM byoc_counts"
_ENQUEUE = f"SELECT {JOB_COLUMNS} FROM byoc_enqueue(%s, %s, %s, %s, %s, %s, %s, %s)"
# SKIP LOCKED: replicas taking at once each get other jobs. A job with an owner had its lease
# run out: it is taken over, and recovering.
_TAKE_DUE = f"""
    WITH due AS (
        SELECT id, ready_at AS was FROM byoc_jobs WHERE ready_at <= %(now)s
        ORDER BY ready_at, id LIMIT %(limit)s FOR UPDATE SKIP LOCKED
    )
    UPDATE byoc_jobs AS j SET
        owner = %(owner)s, lease_until = %(until)s, ready_at = %(until)s,
        recovering = j.recovering OR j.owner IS NOT NULL
    FROM due WHERE j.id = due.id
    RETURNING due.was, {", ".join(f"j.{c.strip()}" for c in JOB_COLUMNS.split(","))}
"""
_RENEW = """
    UPDATE byoc_jobs SET lease_until = %s, ready_at = %s WHERE owner = %s AND id = ANY(%s)
    RETURNING id
"""
_NEXT_DUE = "SELECT min(ready_at) FROM byoc_jobs WHERE ready_at IS NOT NULL"
_FINISH = f"SELECT {JOB_COLUMNS} FROM byoc_finish(%s, %s, %s, %s, %s)"
_RETRY = """
    UPDATE byoc_jobs SET not_before = %s, ready_at = %s, attempts = attempts || %s::jsonb,
        owner = NULL, lease_until = NULL
    WHERE id = %s AND owner = %s
"""
_BURY = f"SELECT {JOB_COLUMNS} FROM byoc_bury(%s, %s, %s, %s::jsonb, %s, %s)"
_HAND_BACK = """
    UPDATE byoc_jobs SET owner = NULL, lease_until = NULL, ready_at = not_before, recovering = true
    WHERE owner = %s
"""
_NOTIFY = f"SELECT pg_notify('{NOTIFY_CHANNEL}', '')"
_DEPTH = "SELECT count(*) FROM byoc_jobs"
_DEAD_LETTERS = f"SELECT {DEAD_COLUMNS} FROM byoc_dead_letters ORDER BY id LIMIT %s"
_DEAD_LETTER = f"SELECT {DEAD_COLUMNS} FROM byoc_dead_letters WHERE id = %s"
_COUNT_DEAD = "SELECT count(*) FROM byoc_dead_letters"
_REPLAY = "SELECT id FROM byoc_replay(%s, %s)"
_DROP = "DELETE FROM byoc_dead_letters WHERE id = %s"
# Through the expiry indexes, a bounded batch at a time; SKIP LOCKED: replicas purging at
# once do not wait for each other.
_PURGE_CLAIMS = """
    DELETE FROM byoc_claims WHERE key = ANY(ARRAY(
        SELECT key FROM byoc_claims WHERE expires_at <= %s LIMIT %s FOR UPDATE SKIP LOCKED))
"""
_PURGE_DEAD = """
    DELETE FROM byoc_dead_letters WHERE id = ANY(ARRAY(
        SELECT id FROM byoc_dead_letters WHERE died_at < %s LIMIT %s FOR UPDATE SKIP LOCKED))
"""
_TRY_LOCK = f"SELECT pg_try_advisory_lock({USER_LOCKS}, hashtext(%s))"
_UNLOCK = f"SELECT pg_advisory_unlock({USER_LOCKS}, hashtext(%s))"


def describe_url(url: str) -> str:
    """The database a URL names, without its password: `postgresql://user@host:port/db`."""
    parts = urlsplit(url)
    user = f"{parts.username}@" if parts.username else ""
    host = parts.hostname or "localhost"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{user}{host}{port}{parts.path}"


class PostgresStore:
    """`Store` on PostgreSQL (psycopg 3, async, pooled): the store for several replicas.

    ```python
    store = PostgresStore("postgresql://byoc@db.internal/byoc")   # password: PGPASSWORD
    bridge = Bridge(..., store=store)
    ```

    Every replica of the bridge points at the same database; together they behave as one
    bridge (the `Store` docstring and docs/operations.md say how):

    - dedupe + enqueue, finish + the claims recovery needs, bury + the dead letter, and a
      link's upsert each commit in one transaction;
    - lanes are taken with `FOR UPDATE SKIP LOCKED`; a partial unique index allows one head
      per lane; a dead replica's leases run out and another replica takes its jobs over;
    - `lock(key)` excludes across replicas (a session advisory lock), so two replicas never
      both create a help-desk user for one channel user;
    - a job any replica may take now is announced with NOTIFY; `watch()` LISTENs.

    Nothing happens in the constructor: the pool opens, and the schema is migrated (under an
    advisory lock, once, whoever comes first), on first use. `migrate=False` leaves the schema
    alone, for a look that must change nothing (`byoc check` reads `schema_version()`).

    **Outage.** While the database cannot be reached, calls raise `StoreUnavailable` (a
    `RetryableError`: webhooks are answered 503 and their senders retry) after at most
    `acquire_timeout` seconds; nothing acknowledged is lost, and the pool, the listener and the
    lock connection reconnect by themselves when it returns.

    **Cancellation.** A write whose caller is cancelled still runs to its end (the answer is
    dropped); a `claim` that took then is released again, so the retry of that event is not
    taken for a duplicate.

    **Text.** PostgreSQL text cannot hold NUL: a key or id with one raises `ValueError`
    (install values may hold anything).

    Raises `ConfigurationError` for a database that refuses the credentials, does not exist,
    or has a schema newer than this byoc.
    """

    purge_interval = 60.0
    """Seconds between purges of expired claims and old dead letters (by every replica)."""

    purge_batch = 1000
    """Rows per purge statement; a purge repeats until a batch comes back short."""

    def __init__(
        self,
        url: str,
        *,
        clock: Clock | None = None,
        pool_size: int = DEFAULT_POOL_SIZE,
        dead_letter_retention: float = DEFAULT_DEAD_LETTER_RETENTION,
        acquire_timeout: float = 3.0,
        connect_timeout: float = 5.0,
        migrate: bool = True,
    ) -> None:
        if pool_size < 1:
            raise ConfigurationError("the PostgreSQL pool needs at least one connection")
        self._url = url
        self.name = describe_url(url)
        self._clock = clock or SystemClock()
        self._pool_size = pool_size
        self._retention = dead_letter_retention
        self._acquire_timeout = acquire_timeout
        self._connect_timeout = connect_timeout
        self._migrate = migrate
        self._pool: psycopg_pool.AsyncConnectionPool[Connection] | None = None
        self._opening: asyncio.Lock | None = None
        self._checking: asyncio.Task[None] | None = None
        self._locks = KeyedLock()
        self._lock_connection: Connection | None = None
        self._lock_connecting: asyncio.Lock | None = None
        self._watchers: list[Callable[[], None]] = []
        self._background: set[asyncio.Task[None]] = set()
        self._listening = False
        self._closed = False

    # -- connections -----------------------------------------------------------------------

    def _connect_kwargs(self) -> dict[str, Any]:
        return {"autocommit": True, "connect_timeout": max(1, round(self._connect_timeout))}

    async def _open(self) -> psycopg_pool.AsyncConnectionPool[Connection]:
        if self._closed:
            raise RuntimeError(f"PostgresStore({self.name}) is closed")
        if self._pool is not None:
            return self._pool
        if self._opening is None:
            self._opening = asyncio.Lock()
        async with self._opening:
            if self._pool is not None:
                return self._pool
            pool: psycopg_pool.AsyncConnectionPool[Connection] = psycopg_pool.AsyncConnectionPool(
                self._url,
                min_size=1,
                max_size=self._pool_size,
                kwargs=self._connect_kwargs(),
                timeout=self._acquire_timeout,
                open=False,
                name="byoc",
            )
            try:
                # One connection of our own first: its error says what is wrong (the pool's
                # would only say it timed out), and the schema is made ready on it.
                async with await psycopg.AsyncConnection.connect(
                    self._url, **self._connect_kwargs()
                ) as connection:
                    await self._check_schema(connection)
                await pool.open(wait=False)
            except BaseException as exc:
                await pool.close()
                translated = self._translate(exc)
                if translated is exc:
                    raise
                raise translated from exc
            self._pool = pool
            self._start(self._purge_now_and_then(), "byoc-pg-purge")
            return pool

    async def _check_schema(self, connection: Connection) -> None:
        if not self._migrate:
            return
        try:
            await migrate(connection)
        except ConfigurationError as exc:
            raise ConfigurationError(f"BYOC_STORE={self.name}: {exc}") from None

    def _translate(self, exc: BaseException) -> BaseException:
        """A clear error for what psycopg raised; anything else as it is."""
        errors = psycopg.errors
        if isinstance(exc, errors.InvalidPassword | errors.InvalidAuthorizationSpecification):
            return ConfigurationError(
                f"BYOC_STORE={self.name}: PostgreSQL refused the credentials ({exc}); check the "
                "user and password (in the URL or PGPASSWORD)"
            )
        if isinstance(exc, psycopg.errors.InvalidCatalogName):
            return ConfigurationError(
                f"BYOC_STORE={self.name}: the database does not exist; create it "
                "(createdb) or fix the URL"
            )
        if isinstance(exc, psycopg.OperationalError | psycopg_pool.PoolTimeout):
            text = str(exc)
            if "password authentication failed" in text or "does not exist" in text:
                return ConfigurationError(f"BYOC_STORE={self.name}: {text.strip()}")
            self._check_soon()
            why = text.strip() or type(exc).__name__
            return StoreUnavailable(f"the PostgreSQL database {self.name} is unavailable: {why}")
        if isinstance(exc, psycopg.DataError) and "0x00" in str(exc):
            return ValueError(f"PostgreSQL text cannot hold NUL characters ({exc})")
        return exc

    def _check_soon(self) -> None:
        """After a connection failed (a database restart), test the idle ones in the
        background so that the next calls get working connections."""
        pool = self._pool
        if pool is None or (self._checking is not None and not self._checking.done()):
            return
        with suppress(RuntimeError):  # no running loop: nothing to check from
            self._checking = asyncio.get_running_loop().create_task(pool.check())

    @asynccontextmanager
    async def _connection(self) -> AsyncIterator[Connection]:
        pool = await self._open()
        try:
            async with pool.connection() as connection:
                yield connection
        except (psycopg.Error, psycopg_pool.PoolTimeout) as exc:
            translated = self._translate(exc)
            if translated is exc:
                raise
            raise translated from exc

    async def _fetchone(self, sql: str, params: Any = None) -> tuple[Any, ...] | None:
        async with self._connection() as connection:
            cursor = await connection.execute(sql.encode(), params)
            return await cursor.fetchone()

    async def _fetchall(self, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
        async with self._connection() as connection:
            cursor = await connection.execute(sql.encode(), params)
            return await cursor.fetchall()

    async def _rowcount(self, sql: str, params: Any = None) -> int:
        async with self._connection() as connection:
            cursor = await connection.execute(sql.encode(), params)
            return cursor.rowcount

    async def _write(self, call: Callable[[], Any], undo: Callable[[_T], Any] | None = None) -> Any:
        """Run a write to its end even if the caller is cancelled (see the class docstring)."""
        task = asyncio.ensure_future(call())
        try:
            return await asyncio.shield(task)
        except asyncio.CancelledError:
            if undo is not None:
                task.add_done_callback(lambda done: self._undo_after(done, undo))
            raise

    def _undo_after(self, done: asyncio.Future[Any], undo: Callable[[Any], Any]) -> None:
        if done.cancelled() or done.exception() is not None:
            return
        self._start(undo(done.result()), "byoc-pg-undo")

    def _start(self, coroutine: Any, name: str) -> None:
        task = asyncio.get_running_loop().create_task(coroutine, name=name)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    # -- links, claims, settings -----------------------------------------------------------

    async def get_link(self, channel: str, channel_user_id: str) -> UserLink | None:
        return link_from_row(await self._fetchone(_GET_LINK, (channel, channel_user_id)))

    async def get_link_by_helpdesk_user(self, helpdesk_user_id: str) -> UserLink | None:
        return link_from_row(await self._fetchone(_GET_LINK_BY_HELPDESK_USER, (helpdesk_user_id,)))

    async def get_link_by_conversation(self, conversation_id: str) -> UserLink | None:
        return link_from_row(await self._fetchone(_GET_LINK_BY_CONVERSATION, (conversation_id,)))

    async def save_link(self, link: UserLink) -> None:
        """Insert or replace the link of `(link.channel, link.channel_user_id)`, in one
        statement. Raises `ValueError` when the help-desk user is linked to another channel
        user already (see `SQLiteStore.save_link`)."""
        params = link_params(link)
        try:
            await self._write(lambda: self._rowcount(_SAVE_LINK, params))
        except psycopg.errors.UniqueViolation as exc:
            raise ValueError(
                f"help-desk user {link.helpdesk_user_id!r} is already linked to another channel"
                f" user; cannot link it to {link.channel}:{link.channel_user_id}"
            ) from exc

    async def claim(self, key: str, ttl: float, *, synced: bool = True) -> bool:
        # Always synced: the claim is one autocommitted statement, and PostgreSQL's own group
        # commit already shares each flush among the replicas' writes.
        now = self._clock.time()
        claimed: bool = await self._write(
            lambda: self._claim(key, now, now + ttl), undo=self._undo_claim(key)
        )
        return claimed

    async def _claim(self, key: str, now: float, expires_at: float) -> bool:
        return await self._rowcount(_CLAIM, (key, expires_at, now)) == 1

    def _undo_claim(self, key: str) -> Callable[[bool], Any]:
        async def undo(claimed: bool) -> None:
            if claimed:
                await self.release(key)

        return undo

    async def release(self, key: str) -> None:
        await self._write(lambda: self._rowcount(_RELEASE, (key,)))

    async def get_setting(self, key: str) -> str | None:
        row = await self._fetchone(_GET_SETTING, (key,))
        return None if row is None else bytes(row[0]).decode("utf-8")

    async def set_setting(self, key: str, value: str) -> None:
        data = value.encode("utf-8")
        await self._write(lambda: self._rowcount(_SET_SETTING, (key, data)))

    async def delete_setting(self, key: str) -> None:
        await self._write(lambda: self._rowcount(_DELETE_SETTING, (key,)))

    async def add_counts(self, deltas: Mapping[str, int]) -> None:
        """Add to the totals every replica shares, in one statement."""
        if not deltas:
            return
        keys = sorted(deltas)
        params = (keys, [deltas[key] for key in keys])
        await self._write(lambda: self._rowcount(_ADD_COUNTS, params))

    async def counts(self) -> dict[str, int]:
        return {key: int(value) for key, value in await self._fetchall(_COUNTS)}

    def lock(self, key: str) -> AbstractAsyncContextManager[None]:
        """Mutual exclusion for `key` among every replica: FIFO within this process, then a
        session advisory lock in the database, held on one connection shared by every key."""
        if self._closed:
            raise RuntimeError(f"PostgresStore({self.name}) is closed")
        return self._locked(key)

    @asynccontextmanager
    async def _locked(self, key: str) -> AsyncIterator[None]:
        async with self._locks(key):
            connection = await self._acquire(key)
            try:
                yield
            finally:
                # If the connection broke, the database released the lock already.
                with suppress(psycopg.Error):
                    await connection.execute(_UNLOCK.encode(), (key,))

    async def _acquire(self, key: str) -> Connection:
        wait = 0.005
        while True:
            connection = await self._lock_conn()
            try:
                cursor = await connection.execute(_TRY_LOCK.encode(), (key,))
                row = await cursor.fetchone()
            except psycopg.Error as exc:
                self._lock_connection = None
                raise self._translate(exc) from exc
            if row is not None and row[0]:
                return connection
            # Another replica holds it, for the length of one delivery at most.
            await asyncio.sleep(wait)
            wait = min(0.2, wait * 2)

    async def _lock_conn(self) -> Connection:
        connection = self._lock_connection
        if connection is not None and not connection.closed:
            return connection
        if self._lock_connecting is None:
            self._lock_connecting = asyncio.Lock()
        async with self._lock_connecting:
            if self._lock_connection is None or self._lock_connection.closed:
                await self._open()
                try:
                    self._lock_connection = await psycopg.AsyncConnection.connect(
                        self._url, **self._connect_kwargs()
                    )
                except psycopg.Error as exc:
                    raise self._translate(exc) from exc
            return self._lock_connection

    # -- the delivery queue ----------------------------------------------------------------

    async def enqueue(
        self,
        *,
        lane: str,
        kind: str,
        payload: str,
        dedupe_key: str,
        ttl: float,
        owner: str | None = None,
        lease: float = 0.0,
    ) -> Job | None:
        now = self._clock.time()
        until = now + lease if owner is not None else None
        params = (lane, kind, payload, dedupe_key, now, now + ttl, owner, until)
        # A job committed but not heard of is delivered; its webhook's retry is a duplicate.
        row = await self._write(lambda: self._fetchone(_ENQUEUE, params))
        return None if row is None else job_from_row(row)

    async def take_due(self, *, owner: str, now: float, limit: int, lease: float) -> list[Job]:
        params = {"now": now, "limit": limit, "owner": owner, "until": now + lease}
        rows = await self._write(lambda: self._fetchall(_TAKE_DUE, params))
        rows.sort(key=lambda row: (row[0], row[1]))
        return [job_from_row(row[1:]) for row in rows]

    async def renew(self, *, owner: str, job_ids: Collection[int], until: float) -> set[int]:
        if not job_ids:
            return set()
        rows = await self._fetchall(_RENEW, (until, until, owner, list(job_ids)))
        return {int(row[0]) for row in rows}

    async def next_due(self) -> float | None:
        row = await self._fetchone(_NEXT_DUE)
        return None if row is None or row[0] is None else float(row[0])

    async def finish(
        self,
        job_id: int,
        *,
        owner: str,
        claims: Collection[str] = (),
        claim_ttl: float = 0.0,
        next_lease: float | None = None,
    ) -> Job | None:
        now = self._clock.time()
        until = None if next_lease is None else now + next_lease
        params = (job_id, owner, list(claims), now + claim_ttl, until)
        return await self._lane_step(job_id, owner, _FINISH, params)

    async def retry(
        self, job_id: int, *, owner: str, not_before: float, error: str, at: float
    ) -> None:
        attempt = encode_attempts([Attempt(at=at, error=error)])
        params = (not_before, not_before, attempt, job_id, owner)
        if await self._write(lambda: self._rowcount(_RETRY, params)) != 1:
            raise LeaseLost(job_id, owner)

    async def bury(
        self,
        job_id: int,
        *,
        owner: str,
        reason: str,
        error: str,
        at: float,
        next_lease: float | None = None,
    ) -> Job | None:
        until = None if next_lease is None else self._clock.time() + next_lease
        attempt = encode_attempts([Attempt(at=at, error=error)])
        params = (job_id, owner, reason, attempt, at, until)
        return await self._lane_step(job_id, owner, _BURY, params)

    async def _lane_step(self, job_id: int, owner: str, sql: str, params: Any) -> Job | None:
        try:
            row = await self._write(lambda: self._fetchone(sql, params))
        except psycopg.Error as exc:
            if exc.sqlstate == LEASE_LOST:
                raise LeaseLost(job_id, owner) from None
            raise
        return None if row is None else job_from_row(row)

    async def hand_back(self, *, owner: str) -> int:
        count: int = await self._write(lambda: self._rowcount(_HAND_BACK, (owner,)))
        if count:
            await self._fetchone(_NOTIFY)
        return count

    def watch(self, wake: Callable[[], None]) -> None:
        """Call `wake()` when any replica queues a job that may be taken now (LISTEN)."""
        if wake not in self._watchers:
            self._watchers.append(wake)
        if not self._listening:
            self._listening = True
            self._start(self._listen(), "byoc-pg-listen")

    async def _listen(self) -> None:
        """LISTEN on a connection of its own, reconnecting with backoff; after a reconnection
        everyone is woken, since notifications sent meanwhile are lost."""
        wait = 0.1
        while not self._closed:
            try:
                await self._open()
                connection = await psycopg.AsyncConnection.connect(
                    self._url, **self._connect_kwargs()
                )
                async with connection:
                    await connection.execute(f"LISTEN {NOTIFY_CHANNEL}".encode())
                    self._wake_all()
                    wait = 0.1
                    async for _ in connection.notifies():
                        self._wake_all()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if not self._closed:
                    log.warning("listening for queued jobs failed (%s); retrying", exc)
            await asyncio.sleep(wait)
            wait = min(5.0, wait * 2)

    def _wake_all(self) -> None:
        for wake in self._watchers:
            wake()

    async def depth(self) -> int:
        row = await self._fetchone(_DEPTH)
        return 0 if row is None else int(row[0])

    async def dead_letters(self, *, limit: int = 100) -> list[DeadLetter]:
        return [dead_letter_from_row(row) for row in await self._fetchall(_DEAD_LETTERS, (limit,))]

    async def count_dead_letters(self) -> int:
        row = await self._fetchone(_COUNT_DEAD)
        return 0 if row is None else int(row[0])

    async def dead_letter(self, dead_id: int) -> DeadLetter | None:
        row = await self._fetchone(_DEAD_LETTER, (dead_id,))
        return None if row is None else dead_letter_from_row(row)

    async def replay(self, dead_id: int, *, now: float) -> int | None:
        row = await self._write(lambda: self._fetchone(_REPLAY, (dead_id, now)))
        return None if row is None else int(row[0])

    async def drop(self, dead_id: int) -> bool:
        return bool(await self._write(lambda: self._rowcount(_DROP, (dead_id,))))

    # -- housekeeping ----------------------------------------------------------------------

    async def purge(self, *, now: float) -> int:
        claims = await self._rowcount(_PURGE_CLAIMS, (now, self.purge_batch))
        dead = await self._rowcount(_PURGE_DEAD, (now - self._retention, self.purge_batch))
        return claims + dead

    async def _purge_now_and_then(self) -> None:
        while not self._closed:
            # Real time: housekeeping keeps pace with the machine, whatever clock rules expiry.
            await asyncio.sleep(self.purge_interval)
            try:
                while await self.purge(now=self._clock.time()) >= self.purge_batch:
                    pass
            except Exception as exc:
                log.warning("purging expired claims failed (%s); trying again later", exc)

    async def ping(self) -> None:
        await self._fetchone("SELECT 1")

    async def schema_version(self) -> int:
        """The schema version the database records (0: byoc never used it)."""
        async with self._connection() as connection:
            return await schema_version(connection)

    async def aclose(self) -> None:
        """Stop listening, close the lock connection and the pool. Idempotent."""
        if self._closed:
            return
        self._closed = True
        tasks = [*self._background, *([self._checking] if self._checking else [])]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._lock_connection is not None:
            await self._lock_connection.close()
        if self._pool is not None:
            await self._pool.close()
