"""The process's file limit, and the connection cap that fits under it.

Every connection holds a descriptor, and so do the store, the upstream connection pools, the
log files and the listening sockets. A cap on connections below the limit keeps some for them:
then a flood of connections is turned away by the server (`byoc.cli.connections`) rather than
by `accept()` failing for every peer alike.
"""

from __future__ import annotations

import attrs

__all__ = ["FileLimit", "default_max_connections", "raise_file_limit"]

# Descriptors the process needs besides its connections and the store's pool: the SQLite file
# and its journal, the listening sockets, the event loop's own, logs, and each upstream pool
# (help desk, each channel) reusing a few connections between deliveries.
BASE_RESERVE = 64
UPSTREAM_RESERVE = 100
"""Outbound connections open at once (a client pool's `max_connections`)."""
# The most a soft limit is raised to when the hard limit is unlimited (Linux refuses more
# than `fs.nr_open`, 1,048,576 by default).
_MOST = 1 << 20


@attrs.frozen(kw_only=True)
class FileLimit:
    """The soft limit on open files (`ulimit -n`) before and after `raise_file_limit`."""

    before: int
    now: int

    @property
    def raised(self) -> bool:
        return self.now > self.before


def raise_file_limit() -> FileLimit | None:
    """Raise the soft file limit to the hard one, which needs no privilege; None where the
    platform has no such limit (Windows)."""
    try:
        import resource
    except ImportError:  # pragma: no cover - Windows
        return None
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = _MOST if hard == resource.RLIM_INFINITY else min(hard, _MOST)
    if soft != resource.RLIM_INFINITY and soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (ValueError, OSError):
            return FileLimit(before=soft, now=soft)
        return FileLimit(before=soft, now=target)
    now = _MOST if soft == resource.RLIM_INFINITY else soft
    return FileLimit(before=now, now=now)


def default_max_connections(file_limit: int, store_pool_size: int) -> int:
    """The connection cap for a soft file limit: the limit less what the rest of the process
    may hold open, and at least a quarter of the limit when that reserve is larger."""
    reserve = BASE_RESERVE + store_pool_size + UPSTREAM_RESERVE
    return max(file_limit - reserve, file_limit // 4, 1)
