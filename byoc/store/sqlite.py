"""A store in one SQLite file: the embedded default; everything survives a restart."""

from __future__ import annotations

import asyncio
import os
import sqlite3
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager, suppress
from typing import Literal, TypeVar

from typing_extensions import TypeVarTuple, Unpack

from ..clock import Clock, SystemClock
from ..errors import ConfigurationError
from .base import UserLink
from .locks import KeyedLock
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
        self._worker = WorkerThread("byoc-sqlite")
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
            await self._worker.run(self._close)
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
