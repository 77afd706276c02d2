"""WAL checkpoints of a SQLite file, on a thread of their own.

By default SQLite checkpoints inside the commit that makes the WAL pass 1000 pages: that
commit copies pages into the database file (and, with `synchronous=FULL`, fsyncs it), so one
write in a few hundred waits tens of milliseconds. With the writer's automatic checkpoints off,
a `Checkpointer` runs a PASSIVE checkpoint every `interval` seconds from a connection of its
own: in WAL mode it proceeds beside the writer without blocking it, and the writes never pay
for it.
"""

from __future__ import annotations

import logging
import sqlite3
import threading

__all__ = ["Checkpointer"]

log = logging.getLogger("byoc.store")


class Checkpointer:
    """`PRAGMA wal_checkpoint(PASSIVE)` on `path` every `interval` seconds until `stop()`."""

    def __init__(self, path: str, *, interval: float = 1.0, busy_timeout: float = 5.0) -> None:
        self._path = path
        self._interval = interval
        self._busy_timeout = busy_timeout
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="byoc-wal-checkpoints", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        connection = sqlite3.connect(
            self._path, timeout=self._busy_timeout, isolation_level=None, check_same_thread=False
        )
        try:
            while not self._stopping.wait(self._interval):
                try:
                    connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                except sqlite3.Error as exc:  # the next round tries again
                    log.warning("checkpointing %s failed: %s", self._path, exc)
        finally:
            connection.close()

    def stop(self) -> None:
        """Stop and wait for the thread (a checkpoint in progress finishes first)."""
        self._stopping.set()
        self._thread.join()
