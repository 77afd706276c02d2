"""A store in one SQLite file: the embedded default; everything survives a restart."""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager, suppress
from typing import Any, Literal, TypeVar

from typing_extensions import TypeVarTuple, Unpack

from ..clock import Clock, SystemClock
from ..errors import ConfigurationError
from .base import UserLink
from .locks import KeyedLock
from .queue import Attempt, DeadLetter, Job
from .sqlite_schema import migrate
from .worker_thread import WorkerThread

__all__ = ["SQLiteStore"]

_Ts = TypeVarTuple("_Ts")
_R = TypeVar("_R")

Synchronous = Literal["FULL", "NORMAL"]

# One string per statement: sqlite3 caches prepared statements by their SQL text.
_LINK_COLUMNS = "channel, channel_user_id, helpdesk_user_id, conversation_id, resolved"
_GET_LINK = f"SELECT {_LINK_COLUMNS} FROM links WHERE channel = ? AND channel_user_id = ?"
_GET_LINK_BY_HELPDESK_USER = f"SELECT {_LINK_COLUMNS} FROM links WHERE helpdesk_user_id = ?"
# Several links may name one conversation; the one saved last wins, as in MemoryStore. Saving a
# link moves it to the end of rowid order (see _SAVE_LINK), and the conversation index holds
# rowids in order, so this is one index probe.
_GET_LINK_BY_CONVERSATION = (
    f"SELECT {_LINK_COLUMNS} FROM links WHERE conversation_id = ? ORDER BY rowid DESC LIMIT 1"
)
_SAVE_LINK = f"""
    INSERT INTO links ({_LINK_COLUMNS}) VALUES (?, ?, ?, ?, ?)
    ON CONFLICT (channel, channel_user_id) DO UPDATE SET
        helpdesk_user_id = excluded.helpdesk_user_id,
        conversation_id = excluded.conversation_id,
        resolved = excluded.resolved,
        rowid = (SELECT max(rowid) + 1 FROM links)
"""
# The update happens only when the existing claim expired; changes() (rowcount) tells which.
_CLAIM = """
    INSERT INTO claims (key, expires_at) VALUES (?, ?)
    ON CONFLICT (key) DO UPDATE SET expires_at = excluded.expires_at
    WHERE claims.expires_at <= ?
"""
_RELEASE = "DELETE FROM claims WHERE key = ?"
_PURGE_CLAIMS = "DELETE FROM claims WHERE expires_at <= ?"
_GET_SETTING = "SELECT value FROM settings WHERE key = ?"
# -- the delivery queue: a lane's head is its lowest id; an in-flight job is always a head.
_JOB_COLUMNS = "id, lane, kind, payload, accepted_at, not_before, attempts, recovering"
_ENQUEUE = "INSERT INTO jobs (lane, kind, payload, accepted_at) VALUES (?, ?, ?, ?)"
_HEADS = "SELECT min(id) FROM jobs GROUP BY lane"
_TAKE_DUE = f"""
    SELECT {_JOB_COLUMNS} FROM jobs
    WHERE id IN ({_HEADS}) AND in_flight = 0 AND not_before <= ?
    ORDER BY id LIMIT ?
"""
_LEASE = "UPDATE jobs SET in_flight = 1 WHERE id = ?"
_NEXT_DUE = f"SELECT min(not_before) FROM jobs WHERE id IN ({_HEADS}) AND in_flight = 0"
_FINISH = "DELETE FROM jobs WHERE id = ?"
_GET_JOB = f"SELECT {_JOB_COLUMNS} FROM jobs WHERE id = ?"
_RETRY = "UPDATE jobs SET not_before = ?, attempts = ?, in_flight = 0 WHERE id = ?"
_BURY = """
    INSERT INTO dead_letters (job_id, lane, kind, payload, accepted_at, attempts, reason, died_at)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
"""
_COUNT_IN_FLIGHT = "SELECT count(*) FROM jobs WHERE in_flight = 1"
_RELEASE_ALL = "UPDATE jobs SET in_flight = 0, recovering = max(recovering, ?) WHERE in_flight = 1"
_DEPTH = "SELECT count(*) FROM jobs"
_DEAD_COLUMNS = "id, job_id, lane, kind, payload, accepted_at, attempts, reason, died_at"
_DEAD_LETTERS = f"SELECT {_DEAD_COLUMNS} FROM dead_letters ORDER BY id LIMIT ?"
_DEAD_LETTER = f"SELECT {_DEAD_COLUMNS} FROM dead_letters WHERE id = ?"
_DROP = "DELETE FROM dead_letters WHERE id = ?"
_COUNT_DEAD = "SELECT count(*) FROM dead_letters"
_DELETE_SETTING = "DELETE FROM settings WHERE key = ?"
_SET_SETTING = """
    INSERT INTO settings (key, value) VALUES (?, ?)
    ON CONFLICT (key) DO UPDATE SET value = excluded.value
"""


class SQLiteStore:
    """`Store` in one SQLite file (WAL journal): the embedded default.

    ```python
    store = SQLiteStore("/var/lib/byoc/byoc.db")
    try:
        ...  # hand it to the bridge
    finally:
        await store.aclose()
    ```

    A new `SQLiteStore` on the same path sees everything an earlier one wrote; the schema is
    created or upgraded on open (`byoc.store.sqlite_schema`).

    **Durability.** Every write is committed before its call returns. `synchronous` says what
    survives after that:

    - `"FULL"` (default): each commit is fsynced. A webhook acknowledged after a write keeps that
      write through a power loss or an OS crash.
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

    **Several processes.** They may share one file: every statement is atomic across
    connections (`claim` included) and a busy file is waited for up to `busy_timeout` seconds.
    But `lock()` is a per-process FIFO lock: two processes on one file do **not** exclude each
    other per user. Run one bridge process per file; several replicas need a shared store
    (Redis).

    **Group commit.** Calls queued while the thread is busy run together in one transaction,
    and each learns its outcome only once that transaction committed: under load, many writes
    share one fsync, so `FULL` costs little more than `NORMAL`.

    **Cancellation.** A call cancelled before its statement starts does nothing; one cancelled
    while it runs still takes effect (a saved link stays saved). `claim` is the exception that
    matters: a cancelled claim that took is released by an undo queued right behind it, so
    the retry of that event is not taken for a duplicate.

    **Text.** Keys and values are stored as UTF-8; a string with a lone surrogate (possible
    from a JSON `"\\ud800"` escape) raises `UnicodeEncodeError`, a `ValueError`.

    Raises `ConfigurationError` (naming `BYOC_STORE` and the path) when the file cannot be
    opened for writing, is not a SQLite database, or was written by a newer byoc.
    """

    purge_every = 1024
    """Expired claims are deleted once every this many successful claims."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        clock: Clock | None = None,
        synchronous: Synchronous = "FULL",
        busy_timeout: float = 5.0,
    ) -> None:
        if synchronous not in ("FULL", "NORMAL"):
            raise ConfigurationError(
                f"SQLiteStore synchronous must be 'FULL' or 'NORMAL', not {synchronous!r}"
            )
        self._path = os.fspath(path)
        self._clock = clock or SystemClock()
        self._locks = KeyedLock()
        self._closed = False
        # Touched only on the worker thread.
        self._claims_since_purge = 0
        self._worker = WorkerThread("byoc-sqlite", transaction=_Transaction(self))
        try:
            self._connection = self._worker.call(self._open, synchronous, busy_timeout)
        except BaseException:
            self._worker.stop()
            raise

    @property
    def path(self) -> str:
        """The database file."""
        return self._path

    async def get_link(self, channel: str, channel_user_id: str) -> UserLink | None:
        return await self._run(self._fetch_link, _GET_LINK, (channel, channel_user_id))

    async def get_link_by_helpdesk_user(self, helpdesk_user_id: str) -> UserLink | None:
        return await self._run(self._fetch_link, _GET_LINK_BY_HELPDESK_USER, (helpdesk_user_id,))

    async def get_link_by_conversation(self, conversation_id: str) -> UserLink | None:
        return await self._run(self._fetch_link, _GET_LINK_BY_CONVERSATION, (conversation_id,))

    async def save_link(self, link: UserLink) -> None:
        """Insert or replace the link of `(link.channel, link.channel_user_id)`.

        Raises `ValueError` when `link.helpdesk_user_id` is already linked to another channel
        user: a help-desk user stands for one channel user (its `reference_id`), so this is a
        bug in the caller, and overwriting the other link would route its replies astray.
        """
        await self._run(self._save_link, link)

    async def claim(self, key: str, ttl: float) -> bool:
        now = self._clock.time()
        outcome: list[bool] = []
        try:
            return await self._run(self._claim, key, now, now + ttl, outcome)
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

    # -- the delivery queue ----------------------------------------------------------------

    async def enqueue(
        self, *, lane: str, kind: str, payload: str, dedupe_key: str, ttl: float
    ) -> int | None:
        now = self._clock.time()
        return await self._run(self._enqueue, lane, kind, payload, dedupe_key, now, now + ttl)

    async def take_due(self, *, now: float, limit: int) -> list[Job]:
        return await self._run(self._take_due, now, limit)

    async def next_due(self) -> float | None:
        return await self._run(self._scalar, _NEXT_DUE, ())

    async def finish(self, job_id: int) -> None:
        await self._run(self._execute, _FINISH, (job_id,))

    async def retry(self, job_id: int, *, not_before: float, error: str, at: float) -> None:
        await self._run(self._retry, job_id, not_before, Attempt(at=at, error=error))

    async def bury(self, job_id: int, *, reason: str, error: str, at: float) -> None:
        await self._run(self._bury, job_id, reason, Attempt(at=at, error=error))

    async def release_all(self, *, recovering: bool) -> int:
        return await self._run(self._release_all, recovering)

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

    def lock(self, key: str) -> AbstractAsyncContextManager[None]:
        """Per-key FIFO mutual exclusion **within this process** (see the class docstring)."""
        self._check_open()
        return self._locks(key)

    async def aclose(self) -> None:
        """Close the connection and stop the worker thread; calls made before finish first.

        Idempotent. Any later call raises `RuntimeError`.
        """
        if self._closed:
            return
        self._closed = True
        try:
            await self._worker.run(self._close, alone=True)
        finally:
            self._worker.stop()

    # -- the event-loop side -------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError(f"SQLiteStore({self._path!r}) is closed")

    async def _run(self, fn: Callable[[Unpack[_Ts]], _R], *args: Unpack[_Ts]) -> _R:
        self._check_open()
        return await self._worker.run(fn, *args)

    # -- the worker-thread side: only these touch the connection -------------------------------

    def _open(self, synchronous: Synchronous, busy_timeout: float) -> sqlite3.Connection:
        try:
            return self._connect(synchronous, busy_timeout)
        except sqlite3.Error as exc:
            raise ConfigurationError(
                f"BYOC_STORE={self._path!r}: cannot use it as the SQLite store ({exc}); point"
                " BYOC_STORE at a writable file (it is created if missing) in an existing"
                " directory"
            ) from exc
        except ConfigurationError as exc:
            raise ConfigurationError(f"BYOC_STORE={self._path!r}: {exc}") from exc

    def _connect(self, synchronous: Synchronous, busy_timeout: float) -> sqlite3.Connection:
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
        row = self._connection.execute(sql, params).fetchone()
        if row is None:
            return None
        return UserLink(
            channel=row[0],
            channel_user_id=row[1],
            helpdesk_user_id=row[2],
            conversation_id=row[3],
            resolved=bool(row[4]),
        )

    def _save_link(self, link: UserLink) -> None:
        try:
            self._connection.execute(
                _SAVE_LINK,
                (
                    link.channel,
                    link.channel_user_id,
                    link.helpdesk_user_id,
                    link.conversation_id,
                    int(link.resolved),
                ),
            )
        except sqlite3.IntegrityError as exc:
            if "helpdesk_user_id" not in str(exc):
                raise
            raise ValueError(
                f"help-desk user {link.helpdesk_user_id!r} is already linked to another channel"
                f" user; cannot link it to {link.channel}:{link.channel_user_id}"
            ) from exc

    def _claim(self, key: str, now: float, expires_at: float, outcome: list[bool]) -> bool:
        # Purge first: if it fails, the claim fails with it, rather than being recorded behind
        # the caller's back.
        if self._claims_since_purge >= self.purge_every:
            self._connection.execute(_PURGE_CLAIMS, (now,))
            self._claims_since_purge = 0
        claimed = self._connection.execute(_CLAIM, (key, expires_at, now)).rowcount == 1
        outcome.append(claimed)
        self._claims_since_purge += claimed
        return claimed

    def _undo_claim(self, key: str, outcome: list[bool]) -> None:
        # `outcome` is empty when the claim job was skipped (cancelled before it started).
        if outcome == [True]:
            self._release(key)

    def _release(self, key: str) -> None:
        self._connection.execute(_RELEASE, (key,))

    def _get_setting(self, key: str) -> str | None:
        row = self._connection.execute(_GET_SETTING, (key,)).fetchone()
        if row is None:
            return None
        value: str = row[0]
        return value

    def _set_setting(self, key: str, value: str) -> None:
        self._connection.execute(_SET_SETTING, (key, value))

    def _execute(self, sql: str, params: tuple[object, ...]) -> int:
        return self._connection.execute(sql, params).rowcount

    def _scalar(self, sql: str, params: tuple[object, ...]) -> Any:
        row = self._connection.execute(sql, params).fetchone()
        return None if row is None else row[0]

    def _enqueue(
        self, lane: str, kind: str, payload: str, dedupe_key: str, now: float, expires_at: float
    ) -> int | None:
        # One transaction (the batch's) holds the claim and the job: both or neither.
        if not self._claim(dedupe_key, now, expires_at, []):
            return None
        return self._connection.execute(_ENQUEUE, (lane, kind, payload, now)).lastrowid

    def _take_due(self, now: float, limit: int) -> list[Job]:
        jobs = [_job(row) for row in self._connection.execute(_TAKE_DUE, (now, limit))]
        self._connection.executemany(_LEASE, [(job.id,) for job in jobs])
        return jobs

    def _retry(self, job_id: int, not_before: float, attempt: Attempt) -> None:
        row = self._connection.execute(_GET_JOB, (job_id,)).fetchone()
        if row is None:
            return
        attempts = (*_job(row).attempts, attempt)
        self._connection.execute(_RETRY, (not_before, _encode_attempts(attempts), job_id))

    def _bury(self, job_id: int, reason: str, attempt: Attempt) -> None:
        row = self._connection.execute(_GET_JOB, (job_id,)).fetchone()
        if row is None:
            return
        job = _job(row)
        attempts = _encode_attempts((*job.attempts, attempt))
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
        self._connection.execute(_FINISH, (job_id,))

    def _release_all(self, recovering: bool) -> int:
        count: int = self._connection.execute(_COUNT_IN_FLIGHT).fetchone()[0]
        self._connection.execute(_RELEASE_ALL, (int(recovering),))
        return count

    def _dead_letters(self, sql: str, params: tuple[int, ...]) -> list[DeadLetter]:
        return [_dead_letter(row) for row in self._connection.execute(sql, params)]

    def _replay(self, dead_id: int, now: float) -> int | None:
        found = self._dead_letters(_DEAD_LETTER, (dead_id,))
        if not found:
            return None
        job = found[0].job
        self._connection.execute(_DROP, (dead_id,))
        return self._connection.execute(_ENQUEUE, (job.lane, job.kind, job.payload, now)).lastrowid


class _Transaction:
    """The transaction a batch of store calls shares (see `WorkerThread`)."""

    def __init__(self, store: SQLiteStore) -> None:
        self._store = store

    def begin(self) -> None:
        # IMMEDIATE: take the write lock up front, so a batch never fails half-way with
        # "database is locked" when another process writes.
        self._store._connection.execute("BEGIN IMMEDIATE")

    def commit(self) -> None:
        self._store._connection.execute("COMMIT")

    def rollback(self) -> None:
        self._store._connection.execute("ROLLBACK")


def _encode_attempts(attempts: tuple[Attempt, ...]) -> str:
    return json.dumps([[a.at, a.error] for a in attempts], ensure_ascii=False)


def _decode_attempts(text: str) -> tuple[Attempt, ...]:
    return tuple(Attempt(at=at, error=error) for at, error in json.loads(text))


def _job(row: tuple[Any, ...]) -> Job:
    return Job(
        id=row[0],
        lane=row[1],
        kind=row[2],
        payload=row[3],
        accepted_at=row[4],
        not_before=row[5],
        attempts=_decode_attempts(row[6]),
        recovering=bool(row[7]),
    )


def _dead_letter(row: tuple[Any, ...]) -> DeadLetter:
    job = Job(
        id=row[1],
        lane=row[2],
        kind=row[3],
        payload=row[4],
        accepted_at=row[5],
        attempts=_decode_attempts(row[6]),
    )
    return DeadLetter(id=row[0], job=job, reason=row[7], died_at=row[8])
