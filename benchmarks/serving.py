"""How the benchmark's helper processes serve: uvicorn on the fastest loop and parser installed.

A helper prints `ready http://127.0.0.1:<port>` on stdout once its socket listens; the
benchmark reads that line to learn the port (`--port 0` picks a free one).
"""

from __future__ import annotations

import importlib.util
import socket
import sys
from pathlib import Path
from typing import Any

# The helpers import byoc from this checkout, like the benchmark itself.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

__all__ = ["serve"]


def _installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def serve(app: Any, port: int = 0, host: str = "127.0.0.1") -> None:
    """Serve `app` until the process is stopped (SIGTERM or SIGINT)."""
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(1024)
    config = uvicorn.Config(
        app,
        loop="uvloop" if _installed("uvloop") else "asyncio",
        http="httptools" if _installed("httptools") else "h11",
        lifespan="on",
        access_log=False,
        log_level="warning",
        # Many connections in flight at 100 ms of latency; none of them should be refused.
        backlog=1024,
    )
    print(f"ready http://{host}:{sock.getsockname()[1]}", flush=True)
    uvicorn.Server(config).run(sockets=[sock])
