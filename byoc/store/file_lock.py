"""An exclusive OS lock on a file, held for as long as one process uses it.

`SQLiteStore` takes one per database file: two bridge processes on one file would run the same
deliveries twice. The lock lives in a sidecar file (`byoc.sqlite3.lock`), not on the database
itself, because SQLite's own POSIX locks on the database must not be disturbed (on NFS, `flock`
is emulated with them). The OS drops the lock when its holder dies, so a crash never leaves a
stale lock behind.
"""

from __future__ import annotations

import os
import sys

from ..errors import ConfigurationError

__all__ = ["FileLock", "create_private"]


def create_private(path: str) -> None:
    """Create `path` readable and writable by its owner only (0600), unless it exists.

    SQLite creates the `-wal` and `-shm` files with the database file's permissions, so this
    keeps all three private whatever the umask.
    """
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        return
    os.close(fd)


class FileLock:
    """`flock(LOCK_EX | LOCK_NB)` on `path`, with the holder's pid written in it.

    Raises `ConfigurationError` naming the holder when another process has it, and `OSError`
    when the file cannot be opened.
    """

    def __init__(self, path: str, *, what: str) -> None:
        self.path = path
        self._fd: int | None = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        if sys.platform == "win32":  # pragma: no cover - no flock there; one process by policy
            return
        import fcntl

        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(self._fd, 32, 0).decode("ascii", "replace").strip() or "unknown"
            self.release()
            who = (
                "this process has it open already"
                if holder == str(os.getpid())
                else f"another process (pid {holder}) is running a bridge on it"
            )
            raise ConfigurationError(
                f"{what}: {who}, and one SQLite file serves one bridge process. Stop the other "
                "one, point BYOC_STORE at another file, or use PostgreSQL "
                "(BYOC_STORE=postgresql://...) to run several replicas"
            ) from None
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, f"{os.getpid()}\n".encode(), 0)

    def release(self) -> None:
        """Let go of the lock (closing the file does); idempotent."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
