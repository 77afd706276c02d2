"""Serve an emulator on a port with uvicorn: what every `byoc emulate <name>` command shares.

Two ways, as the emulators were built:

- `serve_listening` binds the socket first and prints the emulator's banner only once it
  listens, so a client (or a test) that reads the printed URL can connect at once, and
  `--port 0` names the port it got.
- `uvicorn_server` leaves binding to uvicorn (`--host`, `--port` as given) and
  `run_announced` prints one line to stderr before serving.

uvicorn comes with the `server` extra; it is imported only when a server is made.
"""

from __future__ import annotations

import argparse
import socket
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from ...asgi import ASGIApp

if TYPE_CHECKING:
    import uvicorn

__all__ = [
    "LOG_LEVELS",
    "add_address_arguments",
    "add_listen_arguments",
    "run_announced",
    "serve_listening",
    "url_host",
    "uvicorn_server",
]

LOG_LEVELS = ("critical", "error", "warning", "info", "debug")


def add_listen_arguments(parser: argparse.ArgumentParser, *, port: int) -> None:
    """`--host`, `--port`, `--public-url` and `--log-level`, as `serve_listening` takes them."""
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=port, help="port (0: any free port)")
    parser.add_argument(
        "--public-url", help="base URL clients reach the emulator at (default: from host/port)"
    )
    parser.add_argument("--log-level", default="info", help="uvicorn log level")


def add_address_arguments(parser: argparse.ArgumentParser, *, port: int) -> None:
    """`--host`, `--port` and `--log-level`, as `uvicorn_server` takes them."""
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on")
    parser.add_argument("--port", type=int, default=port, help="port to listen on")
    parser.add_argument(
        "--log-level", default="info", choices=LOG_LEVELS, help="uvicorn's log level"
    )


def url_host(host: str) -> str:
    """The host to put in a URL for a server listening on `host` (a wildcard: loopback)."""
    shown = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "[::1]"}.get(host, host)
    return f"[{shown}]" if ":" in shown and not shown.startswith("[") else shown


def serve_listening(args: argparse.Namespace, start: Callable[[str], tuple[ASGIApp, str]]) -> int:
    """Listen on `args.host:args.port`, start the emulator, print its banner, serve it.

    `start` gets the public URL (`args.public_url`, or one naming the bound port) and returns
    the app and the banner to print; a `ValueError` from it is printed and exits with 2.
    The exit status: 0 after serving, 1 when the port cannot be had, 2 for bad input.
    """
    try:
        import uvicorn
    except ImportError:
        print("the emulator server needs uvicorn: pip install 'byoc[server]'", file=sys.stderr)
        return 2
    try:
        # Listening before the URL is printed: a client that reads it can connect at once.
        sock = socket.create_server(
            (args.host, args.port),
            family=socket.AF_INET6 if ":" in args.host else socket.AF_INET,
            backlog=128,
        )
    except OSError as exc:
        print(f"cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    port = sock.getsockname()[1]
    try:
        app, banner = start(args.public_url or f"http://{url_host(args.host)}:{port}")
    except ValueError as exc:
        sock.close()
        print(str(exc), file=sys.stderr)
        return 2
    print(banner, flush=True)
    config = uvicorn.Config(app, log_level=args.log_level, lifespan="on")
    uvicorn.Server(config).run(sockets=[sock])
    return 0


def uvicorn_server(app: ASGIApp, *, host: str, port: int, log_level: str) -> uvicorn.Server:
    """A uvicorn server for `app` on `host:port`, without websockets."""
    import uvicorn

    config = uvicorn.Config(
        app, host=host, port=port, lifespan="on", ws="none", log_level=log_level
    )
    return uvicorn.Server(config)


def run_announced(server: uvicorn.Server, announcement: str) -> int:
    """Print `announcement` to stderr, serve until interrupted; the exit status."""
    print(announcement, file=sys.stderr)
    server.run()
    return 0
