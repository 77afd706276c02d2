"""A store in one SQLite file: the embedded default; everything survives a restart."""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
from collections.abc import Callable, Collection, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, suppress
from typing import Any, Literal, TypeVar

import attrs
from typing_extensions import TypeVarTuple, Unpack

from ..clock import Clock, SystemClock
from ..errors import ConfigurationError
from .base import StoreUnavailable, UserLink
from .file_lock import FileLock, create_private
from .link_cache import LinkCache
from .locks import KeyedLock
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
from .sqlite_checkpoints import Checkpointer
from .sqlite_schema import migrate
from .worker_thread import WorkerThread

__all__ = ["SQLiteStore"]

_Ts = TypeVarTuple("_Ts")
_R = TypeVar("_R")

Synchronous = Literal["FULL", "NORMAL"]

log = logging.getLogger("byoc.store")

# One string per statement: sqlite3 caches prepared statements by their SQL text.
_GET_LINK = f"SELECT {LINK_COLUMNS} FROM links WHERE channel = ? AND channel_user_id = ?"
_GET_LINK_BY_HELPDESK_USER = f"SELECT {LINK_COLUMNS} FROM links WHERE helpdesk_user_id = ?"
# Several links may name one conversation; the one saved last wins, as in MemoryStore. Saving a
# link moves it to the end of rowid order (see _SAVE_LINK), and the conversation index holds
# rowids in order, so this is one index probe.
_GET_LINK_BY_CONVERSATION = (
    f"SELECT {LINK_COLUMNS} FROM links WHERE conversation_id = ? ORDER BY rowid DESC LIMIT 1"
)
_SAVE_LINK = f"""
    INSERT INTO links ({LINK_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)
    ON CONFLICT (channel, channel_user_id) DO UPDATE SET
        helpdesk_user_id = excluded.helpdesk_user_id,
        conversation_id = excluded.conversation_id,
        resolved = excluded.resolved,
        unreachable_since = excluded.unreachable_since,
        rowid = (SELECT max(rowid) + 1 FROM links)
"""
# The update happens only when the existing claim expired; changes() (rowcount) tells which.
_CLAIM = """
    INSERT INTO claims (key, expires_at) VALUES (?, ?)
    ON CONFLICT (key) DO UPDATE SET expires_at = excluded.expires_at
    WHERE claims.expires_at <= ?
"""
_RELEASE = "DELETE FROM claims WHERE key = ?"
# Through the expiry index, a bounded batch at a time: never a scan of the table.
_PURGE_CLAIMS = """
    DELETE FROM claims WHERE key IN (SELECT key FROM claims WHERE expires_at <= ? LIMIT ?)
"""
_GET_SETTING = "SELECT value FROM settings WHERE key = ?"
# -- the delivery queue. `ready_at` is set on lane heads only (see sqlite_schema, version 3).
_LANE_HEAD = f"SELECT {JOB_COLUMNS} FROM jobs WHERE lane = ? ORDER BY id LIMIT 1"
_ENQUEUE = """
    INSERT INTO jobs (lane, kind, payload, accepted_at, not_before, owner, lease_until, ready_at)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
"""
_TAKE_DUE = f"SELECT {JOB_COLUMNS} FROM jobs WHERE ready_at <= ? ORDER BY ready_at, id LIMIT ?"
# A leased head may be taken again when its lease runs out: `ready_at` is the lease's end.
_LEASE = "UPDATE jobs SET owner = ?, lease_until = ?, ready_at = ?, recovering = ? WHERE id = ?"
_MAKE_HEAD = "UPDATE jobs SET ready_at = not_before WHERE id = ?"
_NEXT_DUE = "SELECT min(ready_at) FROM jobs WHERE ready_at IS NOT NULL"
# Whether a lane has a job, through the index on (lane, id) alone: no row is read.
_LANE_BUSY = "SELECT 1 FROM jobs WHERE lane = ? LIMIT 1"
_LANE_AND_OWNER = "SELECT lane, owner FROM jobs WHERE id = ?"
_DELETE_JOB = "DELETE FROM jobs WHERE id = ?"
_GET_JOB = f"SELECT {JOB_COLUMNS} FROM jobs WHERE id = ?"
_RETRY = """
    UPDATE jobs SET not_before = ?, ready_at = ?, attempts = ?, owner = NULL, lease_until = NULL
    WHERE id = ?
"""
_BURY = """
    INSERT INTO dead_letters (job_id, lane, kind, payload, accepted_at, attempts, reason, died_at)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
"""
_HAND_BACK = """
    UPDATE jobs SET owner = NULL, lease_until = NULL, ready_at = not_before, recovering = 1
    WHERE owner = ?
"""
# With the file locked, every lease in it belongs to a process that is gone.
_RECOVER_ALL = """
    UPDATE jobs SET owner = NULL, lease_until = NULL, ready_at = not_before, recovering = 1
    WHERE owner IS NOT NULL
"""
_RECORD_CLAIM = """
    INSERT INTO claims (key, expires_at) VALUES (?, ?)
    ON CONFLICT (key) DO UPDATE SET expires_at = max(claims.expires_at, excluded.expires_at)
"""
_DEPTH = "SELECT count(*) FROM jobs"
_DEAD_LETTERS = f"SELECT {DEAD_COLUMNS} FROM dead_letters ORDER BY id LIMIT ?"
_DEAD_LETTER = f"SELECT {DEAD_COLUMNS} FROM dead_letters WHERE id = ?"
_DROP = "DELETE FROM dead_letters WHERE id = ?"
_COUNT_DEAD = "SELECT count(*) FROM dead_letters"
_PURGE_DEAD = """
    DELETE FROM dead_letters WHERE id IN (SELECT id FROM dead_letters WHERE died_at < ? LIMIT ?)
"""
_DELETE_SETTING = "DELETE FROM settings WHERE key = ?"
_ADD_COUNT = """
    INSERT INTO counts (key, value) VALUES (?, ?)
    ON CONFLICT (key) DO UPDATE SET value = counts.value + excluded.value
"""
_COUNTS = "SELECT key, value FROM counts"
_SET_SETTING = """
    INSERT INTO settings (key, value) VALUES (?, ?)
    ON CONFLICT (key) DO UPDATE SET value = excluded.value
"""
# SQLite's smallest limit on bound parameters is 999.
_IDS_PER_STATEMENT = 500


class SQLiteStore:
    """`Store` in one SQLite file (WAL journal): the embedded default, for one bridge process.

    ```python
    store = SQLiteStore("/var/lib/byoc/byoc.db")
    try:
        ...  # hand it to the bridge
    finally:
        await store.aclose()
    ```

    A new `SQLiteStore` on the same path sees everything an earlier one wrote; the schema is
    created or upgraded on open (`byoc.store.sqlite_schema`). A new file is created readable by
    its owner only (0600), and so are its `-wal` and `-shm` files.

    **Durability.** Every write is committed before its call returns. `synchronous` says what
    survives after that:

    - `"FULL"` (default): each commit that acknowledges something is fsynced. A webhook
      acknowledged after a write keeps that write through a power loss or an OS crash. The
      queue's own bookkeeping (a lease taken or renewed, a job finished, retried or buried)
      commits without a sync of its own: it survives a crash of the process at once, and a
      power loss once the next synced commit or the checkpointer (within a second) synced the
      log, which keeps commits in order. A power loss just after a delivery may so forget that
      it finished: the job comes back *recovering*, as after a crash in mid-delivery (see
      docs/operations.md), never lost. A claim made with `synced=False` (inline delivery's)
      is kept the same way.
    - `"NORMAL"`: commits reach the OS but the WAL is fsynced only at checkpoints. Writes survive
      a crash of the process, but the last ones may be lost on power loss, so a message already
      acknowledged to the channel could be forgotten (or a duplicate not recognised). Many
      times more writes per second where fsync is slow (`python benchmarks/store.py` shows
      both); pick it when the disk is the bottleneck and power loss is someone else's problem
      (a replicated volume, a battery-backed controller).

    **Threads.** sqlite3 blocks, so the connection lives on one worker thread of its own
    (`WorkerThread`) and every call is one hop to that thread and back: the event loop never
    waits on fsync. Calls run one at a time, in the order they were made. The constructor
    opens (and if need be creates and migrates) the file on that thread and waits for it,
    once, so a bad path fails at startup.

    **One bridge process per file.** `lock()` is a per-process lock, and the queue's leases are
    recovered at once when the file is opened. So the store holds an exclusive OS lock on the
    file (`<path>.lock`) for its whole life: a second bridge on the same file, even one started
    at the same instant, gets a `ConfigurationError` saying what to do. Tools that only look
    at the file beside a running bridge (`byoc dead-letters`, `byoc check`) open it with
    `exclusive=False`: they take no lock and leave the leases alone. Every statement is atomic
    across connections (`claim` included) and a busy file is waited for up to `busy_timeout`
    seconds. Several replicas need `PostgresStore`.

    **Link lookups** are answered from memory once read (`LinkCache`), while the store holds
    the file's lock: only this process can change a link then. `exclusive=False` always reads.

    **Crash recovery.** With the lock held, every lease found in the file belongs to a process
    that is gone: the exclusive open hands those jobs back, marked `recovering`, at once.

    **Checkpoints.** The WAL is copied into the database file by a thread of its own once a
    second (`byoc.store.sqlite_checkpoints`), not inside whichever write fills it: no write
    waits for a checkpoint.

    **Group commit.** Calls queued while the thread is busy run together in one transaction,
    and each learns its outcome only once that transaction committed: under load, many writes
    share one fsync, so `FULL` costs little more than `NORMAL`.

    **Cancellation.** A call cancelled before its statement starts does nothing; one cancelled
    while it runs still takes effect (a saved link stays saved). `claim` is the exception that
    matters: a cancelled claim that took is released by an undo queued right behind it, so
    the retry of that event is not taken for a duplicate.

    **Housekeeping.** Once every `purge_every` claims, a bounded batch of expired claims and of
    dead letters older than `dead_letter_retention` seconds is deleted, through indexes, as a
    job of its own on the worker thread (never inside a caller's claim).

    **Text.** Keys and values are stored as UTF-8; a string with a lone surrogate (possible
    from a JSON `"\\ud800"` escape) raises `UnicodeEncodeError`, a `ValueError`.

    Raises `ConfigurationError` (naming `BYOC_STORE` and the path) when the file cannot be
    opened for writing, is not a SQLite database, was written by a newer byoc, or is in use by
    another bridge process.
    """

    purge_every = 128
    """Expired claims are purged once every this many successful claims, twice as many at most
    each time: small batches keep the claims queued behind a purge fast."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        clock: Clock | None = None,
        synchronous: Synchronous = "FULL",
        busy_timeout: float = 5.0,
        exclusive: bool = True,
        dead_letter_retention: float = DEFAULT_DEAD_LETTER_RETENTION,
    ) -> None:
        if synchronous not in ("FULL", "NORMAL"):
            raise ConfigurationError(
                f"SQLiteStore synchronous must be 'FULL' or 'NORMAL', not {synchronous!r}"
            )
        self._path = os.fspath(path)
        self._clock = clock or SystemClock()
        self._retention = dead_letter_retention
        self._locks = KeyedLock()
        self._closed = False
        self._file_lock: FileLock | None = None
        # Touched only on the worker thread.
        self._claims_since_purge = 0
        # Only this process writes links to a file it holds locked: their reads may be
        # answered from memory. A tool beside a running bridge always reads the file.
        self._links = LinkCache() if exclusive else None
        self._worker = WorkerThread("byoc-sqlite", transaction=_Transaction(self, synchronous))
        try:
            self._connection = self._worker.call(self._open, synchronous, busy_timeout, exclusive)
        except BaseException:
            self._worker.stop()
            raise
        # The bridge's store checkpoints off the write path; a tool beside it leaves that alone.
        self._checkpointer = (
            Checkpointer(self._path, busy_timeout=busy_timeout)
            if exclusive and self._path != ":memory:"
            else None
        )

    @property
    def path(self) -> str:
        """The database file."""
        return self._path

    async def get_link(self, channel: str, channel_user_id: str) -> UserLink | None:
        return await self._link(_GET_LINK, (channel, channel_user_id))

    async def get_link_by_helpdesk_user(self, helpdesk_user_id: str) -> UserLink | None:
        return await self._link(_GET_LINK_BY_HELPDESK_USER, (helpdesk_user_id,))

    async def get_link_by_conversation(self, conversation_id: str) -> UserLink | None:
        return await self._link(_GET_LINK_BY_CONVERSATION, (conversation_id,))

    async def save_link(self, link: UserLink) -> None:
        """Insert or replace the link of `(link.channel, link.channel_user_id)`.

        Raises `ValueError` when `link.helpdesk_user_id` is already linked to another channel
        user: a help-desk user stands for one channel user (its `reference_id`), so this is a
        bug in the caller, and overwriting the other link would route its replies astray.
        """
        if self._links is None:
            await self._run(self._save_link, link)
            return
        # Before: no lookup is answered from memory while the save may be under way; after:
        # a lookup that read the file before the save landed is not kept (see LinkCache).
        self._links.invalidate()
        try:
            await self._run(self._save_link, link)
        finally:
            self._links.invalidate()

    async def claim(self, key: str, ttl: float, *, synced: bool = True) -> bool:
        now = self._clock.time()
        outcome: list[bool] = []
        run = self._run if synced else self._run_unsynced
        try:
            return await run(self._claim, key, now, now + ttl, outcome)
        except asyncio.CancelledError:
            # The job may have run (or run later) with nobody left to hear that it claimed the
            # key; then the retry of this event would be dropped as a duplicate. Undo it: the
            # undo runs after the claim job, since the worker keeps the order.
            if not self._closed:
                self._worker.post(self._undo_claim, key, outcome)
            raise

    async def release(self, key: str) -> None:
        await self._run(self._release, key)

    async def get_setting(self, key: str) -> str | None:
        return await self._run(self._get_setting, key)

    async def set_setting(self, key: str, value: str) -> None:
        await self._run(self._set_setting, key, value)

    async def delete_setting(self, key: str) -> None:
        await self._run(self._execute, _DELETE_SETTING, (key,))

    async def add_counts(self, deltas: Mapping[str, int]) -> None:
        if deltas:
            await self._run(self._add_counts, list(deltas.items()))

    async def counts(self) -> dict[str, int]:
        return await self._run(self._counts)

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
        return await self._run(
            self._enqueue, lane, kind, payload, dedupe_key, now, now + ttl, owner, lease
        )

    async def take_due(self, *, owner: str, now: float, limit: int, lease: float) -> list[Job]:
        return await self._run_unsynced(self._take_due, owner, now, limit, lease)

    async def renew(self, *, owner: str, job_ids: Collection[int], until: float) -> set[int]:
        if not job_ids:
            return set()
        return await self._run_unsynced(self._renew, owner, list(job_ids), until)

    async def next_due(self) -> float | None:
        due: float | None = await self._run(self._scalar, _NEXT_DUE, ())
        return due

    async def finish(
        self,
        job_id: int,
        *,
        owner: str,
        claims: Collection[str] = (),
        claim_ttl: float = 0.0,
        next_lease: float | None = None,
    ) -> Job | None:
        return await self._run_unsynced(
            self._finish, job_id, owner, tuple(claims), claim_ttl, next_lease, self._clock.time()
        )

    async def retry(
        self, job_id: int, *, owner: str, not_before: float, error: str, at: float
    ) -> None:
        await self._run_unsynced(
            self._retry, job_id, owner, not_before, Attempt(at=at, error=error)
        )

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
        return await self._run_unsynced(
            self._bury,
            job_id,
            owner,
            reason,
            Attempt(at=at, error=error),
            next_lease,
            self._clock.time(),
        )

    async def hand_back(self, *, owner: str) -> int:
        return await self._run(self._execute, _HAND_BACK, (owner,))

    def watch(self, wake: Callable[[], None]) -> None:
        """Nothing to hear: only this process uses the store."""

    async def depth(self) -> int:
        count = await self._run(self._scalar, _DEPTH, ())
        return int(count or 0)

    async def dead_letters(self, *, limit: int = 100) -> list[DeadLetter]:
        return await self._run(self._dead_letters, _DEAD_LETTERS, (limit,))

    async def count_dead_letters(self) -> int:
        return int(await self._run(self._scalar, _COUNT_DEAD, ()) or 0)

    async def dead_letter(self, dead_id: int) -> DeadLetter | None:
        found = await self._run(self._dead_letters, _DEAD_LETTER, (dead_id,))
        return found[0] if found else None

    async def replay(self, dead_id: int, *, now: float) -> int | None:
        return await self._run(self._replay, dead_id, now)

    async def drop(self, dead_id: int) -> bool:
        return await self._run(self._execute, _DROP, (dead_id,)) > 0

    # -- housekeeping ----------------------------------------------------------------------

    async def purge(self, *, now: float) -> int:
        return await self._run(self._purge, now, 2 * self.purge_every)

    async def ping(self) -> None:
        """One `SELECT 1` on the worker thread: the thread is alive and the file answers."""
        try:
            await self._run(self._scalar, "SELECT 1", ())
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"the SQLite store {self._path} does not answer: {exc}") from exc

    def lock(self, key: str) -> AbstractAsyncContextManager[None]:
        """Per-key FIFO mutual exclusion **within this process** (see the class docstring)."""
        self._check_open()
        return self._locks(key)

    async def aclose(self) -> None:
        """Close the connection and stop the worker thread; calls made before finish first.

        Idempotent. Any later call raises `RuntimeError`. The file lock goes last.
        """
        if self._closed:
            return
        self._closed = True
        if self._checkpointer is not None:
            self._checkpointer.stop()
        try:
            await self._worker.run(self._close, alone=True)
        finally:
            self._worker.stop()
            if self._file_lock is not None:
                self._file_lock.release()

    # -- the event-loop side -------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError(f"SQLiteStore({self._path!r}) is closed")

    async def _run(self, fn: Callable[[Unpack[_Ts]], _R], *args: Unpack[_Ts]) -> _R:
        self._check_open()
        return await self._worker.run(fn, *args)

    async def _run_unsynced(self, fn: Callable[[Unpack[_Ts]], _R], *args: Unpack[_Ts]) -> _R:
        """`_run` for the queue's own bookkeeping (leases, a finished, retried or buried
        job), which acknowledges nothing to a sender: its commit needs no fsync of its own
        (see the class docstring, Durability)."""
        self._check_open()
        return await self._worker.run(fn, *args, sync=False)

    async def _link(self, sql: str, params: tuple[str, ...]) -> UserLink | None:
        if self._links is None:
            return await self._run(self._fetch_link, sql, params)
        self._check_open()
        key = (sql, params)
        found, link = self._links.get(key)
        if found:
            return link
        generation = self._links.generation
        link = await self._worker.run(self._fetch_link, sql, params)
        # An unreachable mark is not remembered: `byoc dead-letters replay` clears it from
        # another process, and a replayed reply must not be refused on a stale copy. Such
        # links are rare, so reading them from the file costs nothing that matters.
        if link is None or link.unreachable_since is None:
            self._links.put(key, link, generation)
        return link

    # -- the worker-thread side: only these touch the connection -------------------------------

    def _open(
        self, synchronous: Synchronous, busy_timeout: float, exclusive: bool
    ) -> sqlite3.Connection:
        try:
            if exclusive:
                self._file_lock = FileLock(f"{self._path}.lock", what=f"BYOC_STORE={self._path!r}")
            return self._connect(synchronous, busy_timeout, exclusive)
        except BaseException as exc:
            if self._file_lock is not None:
                self._file_lock.release()
            if isinstance(exc, (sqlite3.Error, OSError)):
                raise ConfigurationError(
                    f"BYOC_STORE={self._path!r}: cannot use it as the SQLite store ({exc});"
                    " point BYOC_STORE at a writable file (it is created if missing) in an"
                    " existing directory"
                ) from exc
            if isinstance(exc, ConfigurationError) and "BYOC_STORE" not in str(exc):
                raise ConfigurationError(f"BYOC_STORE={self._path!r}: {exc}") from exc
            raise

    def _connect(
        self, synchronous: Synchronous, busy_timeout: float, exclusive: bool
    ) -> sqlite3.Connection:
        if self._path != ":memory:":
            create_private(self._path)
        # isolation_level=None: autocommit, so each statement is its own transaction and
        # migrate() can manage its own.
        connection = sqlite3.connect(self._path, timeout=busy_timeout, isolation_level=None)
        try:
            mode = connection.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if mode != "wal":
                raise ConfigurationError(
                    f"SQLite cannot use WAL journal mode there (got {mode!r}); point BYOC_STORE"
                    " at a file on a local filesystem"
                )
            connection.execute(f"PRAGMA synchronous = {synchronous}")
            migrate(connection)
            if exclusive:
                # `Checkpointer` does it on a thread of its own.
                connection.execute("PRAGMA wal_autocheckpoint = 0")
                recovered = connection.execute(_RECOVER_ALL).rowcount
                if recovered:
                    log.warning(
                        "%d job(s) were in flight when the bridge stopped; retrying them",
                        recovered,
                    )
        except BaseException:
            connection.close()
            raise
        return connection

    def _close(self) -> None:
        # Recommended before closing: refreshes the planner's statistics when useful. Only a
        # hint, so a failure must not keep the file open.
        with suppress(sqlite3.Error):
            self._connection.execute("PRAGMA optimize")
        self._connection.close()

    def _fetch_link(self, sql: str, params: tuple[str, ...]) -> UserLink | None:
        return link_from_row(self._connection.execute(sql, params).fetchone())

    def _save_link(self, link: UserLink) -> None:
        try:
            self._connection.execute(_SAVE_LINK, link_params(link))
        except sqlite3.IntegrityError as exc:
            if "helpdesk_user_id" not in str(exc):
                raise
            raise ValueError(
                f"help-desk user {link.helpdesk_user_id!r} is already linked to another channel"
                f" user; cannot link it to {link.channel}:{link.channel_user_id}"
            ) from exc

    def _claim(self, key: str, now: float, expires_at: float, outcome: list[bool]) -> bool:
        claimed = self._connection.execute(_CLAIM, (key, expires_at, now)).rowcount == 1
        outcome.append(claimed)
        if claimed:
            self._claims_since_purge += 1
            if self._claims_since_purge >= self.purge_every:
                self._claims_since_purge = 0
                # A job of its own, after this batch: the claim never waits for the purge.
                self._worker.post(self._purge_later, now, alone=True)
        return claimed

    def _undo_claim(self, key: str, outcome: list[bool]) -> None:
        # `outcome` is empty when the claim job was skipped (cancelled before it started).
        if outcome == [True]:
            self._release(key)

    def _release(self, key: str) -> None:
        self._connection.execute(_RELEASE, (key,))

    def _purge_later(self, now: float) -> None:
        # Posted by a claim; the store may have closed since.
        if self._closed:
            return
        self._connection.execute("BEGIN IMMEDIATE")
        try:
            self._purge(now, 2 * self.purge_every)
        except BaseException:
            self._connection.execute("ROLLBACK")
            raise
        self._connection.execute("COMMIT")

    def _purge(self, now: float, limit: int) -> int:
        purged: int = self._connection.execute(_PURGE_CLAIMS, (now, limit)).rowcount
        purged += self._connection.execute(_PURGE_DEAD, (now - self._retention, limit)).rowcount
        return purged

    def _get_setting(self, key: str) -> str | None:
        row = self._connection.execute(_GET_SETTING, (key,)).fetchone()
        if row is None:
            return None
        value: str = row[0]
        return value

    def _set_setting(self, key: str, value: str) -> None:
        self._connection.execute(_SET_SETTING, (key, value))

    def _add_counts(self, deltas: list[tuple[str, int]]) -> None:
        self._connection.executemany(_ADD_COUNT, deltas)

    def _counts(self) -> dict[str, int]:
        return {key: int(value) for key, value in self._connection.execute(_COUNTS)}

    def _execute(self, sql: str, params: tuple[object, ...]) -> int:
        return self._connection.execute(sql, params).rowcount

    def _scalar(self, sql: str, params: tuple[object, ...]) -> Any:
        row = self._connection.execute(sql, params).fetchone()
        return None if row is None else row[0]

    def _insert_job(
        self,
        lane: str,
        kind: str,
        payload: str,
        now: float,
        owner: str | None = None,
        lease: float = 0.0,
    ) -> Job:
        head = self._connection.execute(_LANE_BUSY, (lane,)).fetchone() is None
        # Only a lane's head is ready; it is leased to `owner` at once when one is given.
        ready_at = lease_until = held_by = None
        if head:
            ready_at = now
            if owner is not None:
                ready_at = lease_until = now + lease
                held_by = owner
        row_id = self._connection.execute(
            _ENQUEUE, (lane, kind, payload, now, now, held_by, lease_until, ready_at)
        ).lastrowid
        assert row_id is not None
        return Job(
            id=row_id,
            lane=lane,
            kind=kind,
            payload=payload,
            accepted_at=now,
            not_before=now,
            owner=held_by,
            lease_until=lease_until,
        )

    def _enqueue(
        self,
        lane: str,
        kind: str,
        payload: str,
        dedupe_key: str,
        now: float,
        expires_at: float,
        owner: str | None,
        lease: float,
    ) -> Job | None:
        # One transaction (the batch's) holds the claim and the job: both or neither.
        if not self._claim(dedupe_key, now, expires_at, []):
            return None
        return self._insert_job(lane, kind, payload, now, owner, lease)

    def _lease(self, job: Job, owner: str, until: float, recovering: bool) -> Job:
        self._connection.execute(_LEASE, (owner, until, until, int(recovering), job.id))
        return attrs.evolve(job, owner=owner, lease_until=until, recovering=recovering)

    def _take_due(self, owner: str, now: float, limit: int, lease: float) -> list[Job]:
        rows = self._connection.execute(_TAKE_DUE, (now, limit)).fetchall()
        # A job that has an owner had its lease run out: it is taken over.
        return [
            self._lease(job, owner, now + lease, job.recovering or job.owner is not None)
            for job in map(job_from_row, rows)
        ]

    def _renew(self, owner: str, job_ids: list[int], until: float) -> set[int]:
        held: set[int] = set()
        for start in range(0, len(job_ids), _IDS_PER_STATEMENT):
            chunk = job_ids[start : start + _IDS_PER_STATEMENT]
            marks = ", ".join("?" * len(chunk))
            where = f"owner = ? AND id IN ({marks})"
            self._connection.execute(
                f"UPDATE jobs SET lease_until = ?, ready_at = ? WHERE {where}",
                (until, until, owner, *chunk),
            )
            rows = self._connection.execute(f"SELECT id FROM jobs WHERE {where}", (owner, *chunk))
            held.update(row[0] for row in rows)
        return held

    def _held(self, job_id: int, owner: str) -> Job:
        row = self._connection.execute(_GET_JOB, (job_id,)).fetchone()
        if row is None or row[8] != owner:
            raise LeaseLost(job_id, owner)
        return job_from_row(row)

    def _remove(
        self, job_id: int, lane: str, owner: str, next_lease: float | None, now: float
    ) -> Job | None:
        """Delete the lane head `job_id`; the lane's next job becomes its head (returned leased
        to `owner` when `next_lease` is given)."""
        self._connection.execute(_DELETE_JOB, (job_id,))
        row = self._connection.execute(_LANE_HEAD, (lane,)).fetchone()
        if row is None:
            return None
        following = job_from_row(row)
        if next_lease is None:
            self._connection.execute(_MAKE_HEAD, (following.id,))
            return None
        return self._lease(following, owner, now + next_lease, following.recovering)

    def _finish(
        self,
        job_id: int,
        owner: str,
        claims: Sequence[str],
        claim_ttl: float,
        next_lease: float | None,
        now: float,
    ) -> Job | None:
        # Only the lane and the lease are needed here: the payload is not read back.
        row = self._connection.execute(_LANE_AND_OWNER, (job_id,)).fetchone()
        if row is None or row[1] != owner:
            raise LeaseLost(job_id, owner)
        self._connection.executemany(_RECORD_CLAIM, [(key, now + claim_ttl) for key in claims])
        return self._remove(job_id, row[0], owner, next_lease, now)

    def _retry(self, job_id: int, owner: str, not_before: float, attempt: Attempt) -> None:
        job = self._held(job_id, owner)
        attempts = encode_attempts((*job.attempts, attempt))
        self._connection.execute(_RETRY, (not_before, not_before, attempts, job_id))

    def _bury(
        self,
        job_id: int,
        owner: str,
        reason: str,
        attempt: Attempt,
        next_lease: float | None,
        now: float,
    ) -> Job | None:
        job = self._held(job_id, owner)
        attempts = encode_attempts((*job.attempts, attempt))
        self._connection.execute(
            _BURY,
            (
                job.id,
                job.lane,
                job.kind,
                job.payload,
                job.accepted_at,
                attempts,
                reason,
                attempt.at,
            ),
        )
        return self._remove(job.id, job.lane, owner, next_lease, now)

    def _dead_letters(self, sql: str, params: tuple[int, ...]) -> list[DeadLetter]:
        return [dead_letter_from_row(row) for row in self._connection.execute(sql, params)]

    def _replay(self, dead_id: int, now: float) -> int | None:
        found = self._dead_letters(_DEAD_LETTER, (dead_id,))
        if not found:
            return None
        job = found[0].job
        self._connection.execute(_DROP, (dead_id,))
        return self._insert_job(job.lane, job.kind, job.payload, now).id


class _Transaction:
    """The transaction a batch of store calls shares (see `WorkerThread`)."""

    def __init__(self, store: SQLiteStore, synchronous: Synchronous) -> None:
        self._store = store
        # Lowered to NORMAL for a batch that needs no sync, and raised again for the next batch
        # that does: the setting changes only when the kind of batch does, not twice a batch.
        self._lower = synchronous == "FULL"
        self._lowered = False

    def begin(self, *, sync: bool) -> None:
        connection = self._store._connection
        if sync and self._lowered:
            connection.execute("PRAGMA synchronous = FULL")
            self._lowered = False
        elif not sync and self._lower and not self._lowered:
            # In WAL mode the commit then skips its fsync. The WAL is one append-only file:
            # the next synced commit, or the checkpointer's sync, makes this one durable too,
            # so a power loss keeps a prefix of the commits that includes every synced one.
            connection.execute("PRAGMA synchronous = NORMAL")
            self._lowered = True
        # IMMEDIATE: take the write lock up front, so a batch never fails half-way with
        # "database is locked" when another process writes.
        connection.execute("BEGIN IMMEDIATE")

    def commit(self) -> None:
        self._store._connection.execute("COMMIT")

    def rollback(self) -> None:
        self._store._connection.execute("ROLLBACK")
