"""The smallest production-style server: the bridge alone, served by uvicorn.

    pip install -e '.[server]'
    export BYOC_FRESHCHAT_API_URL=https://<account>.freshchat.com/v2
    export BYOC_FRESHCHAT_API_TOKEN=... BYOC_FRESHCHAT_WEBHOOK_PUBLIC_KEY=...
    export BYOC_VIBER_AUTH_TOKEN=... BYOC_VIBER_SENDER_NAME="Acme Support"
    export BYOC_STORE=/var/lib/byoc/byoc.sqlite3 BYOC_PUBLIC_URL=https://byoc.example.com
    python examples/server.py --host 127.0.0.1 --port 8000

- **Settings** come from the environment (and `BYOC_CONFIG`), with the names the bundled
  server reads (docs/configuration.md), through `byoc.build_bridge()`.
- **State** lives in the SQLite file at `BYOC_STORE`: user mappings, the delivery queue and
  dead letters survive restarts. One server process per file (docs/operations.md).
- **Start-up** (the ASGI lifespan, `lifespan="on"`): the delivery workers start and resume
  what a previous run left queued; if the store cannot be opened, the server does not start.
- **Graceful shutdown** on SIGTERM or Ctrl-C: uvicorn stops accepting connections and lets
  requests in flight finish (`--graceful` seconds), then the lifespan shutdown closes the
  bridge: deliveries in flight get ten seconds to finish, the rest stays queued for the next
  start, and the store is closed.
- **Behind a reverse proxy** that terminates TLS: `--forwarded-allow-ips` names the proxy whose
  `X-Forwarded-*` headers are trusted. The bridge matches routes on the end of the path, so
  `https://shop.example/byoc/channels/viber/webhook` works whether the proxy forwards the
  `/byoc` prefix or strips it (then say so with `--root-path /byoc`, as for any ASGI app).
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence

import uvicorn

from byoc import Bridge, build_bridge


def build_server(
    bridge: Bridge,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    root_path: str = "",
    forwarded_allow_ips: str = "127.0.0.1",
    graceful: int = 15,
) -> uvicorn.Server:
    """A uvicorn server for `bridge`; `await server.serve()` runs it until a signal stops it."""
    config = uvicorn.Config(
        bridge,
        host=host,
        port=port,
        root_path=root_path,
        lifespan="on",
        proxy_headers=True,
        forwarded_allow_ips=forwarded_allow_ips,
        timeout_graceful_shutdown=graceful,
        # The bridge's log lines say what happened to each message; no access log needed.
        access_log=False,
        log_config=None,
        ws="none",
    )
    return uvicorn.Server(config)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Serve the byoc bridge with uvicorn.")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=8000, help="port to listen on")
    parser.add_argument("--root-path", default="", help="prefix a reverse proxy strips, e.g. /byoc")
    parser.add_argument(
        "--forwarded-allow-ips",
        default="127.0.0.1",
        help="addresses of proxies whose X-Forwarded-* headers are trusted",
    )
    parser.add_argument(
        "--graceful", type=int, default=15, help="seconds requests in flight get at shutdown"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # byoc logs one line per message; httpx would add one per upstream call.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    server = build_server(
        build_bridge(),
        host=args.host,
        port=args.port,
        root_path=args.root_path,
        forwarded_allow_ips=args.forwarded_allow_ips,
        graceful=args.graceful,
    )
    server.run()  # exits with status 3 when start-up fails
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
