"""A free local port, for servers whose URL must be known before they start."""

from __future__ import annotations

import socket

__all__ = ["free_port"]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now.

    Another process may take it before the caller binds it; good enough for tests, benchmarks
    and emulators on one machine, where a server's URL goes into another's settings first.
    """
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
