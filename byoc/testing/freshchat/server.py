"""Run the Freshchat emulator as a local HTTP server (the `byoc emulate freshchat` command).

```
python -m byoc.testing.freshchat.server --port 8765 --key-file freshchat-key.pem \\
    --webhook-url http://127.0.0.1:8000/messaging/webhook
```

It prints the API URL, the token and the public key text to paste into the bridge. With
`--key-file` the signing key is kept in that PEM file (created when missing), so the key the
bridge was given stays valid across restarts. `--port 0` picks a free port; the printed URL
names it, and the socket already accepts connections when the URL is printed.
"""

from __future__ import annotations

import argparse
import socket
import sys
from collections.abc import Sequence

from .emulator import FreshchatEmulator
from .events import PAYLOAD_MODES
from .webhooks import WebhookKey

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="byoc emulate freshchat",
        description="Serve a local Freshchat emulator (REST API v2 and signed webhooks).",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=8765, help="port (0: any free port)")
    parser.add_argument("--token", default="test-token", help="the API token clients must send")
    parser.add_argument("--webhook-url", help="where to post webhooks (the bridge's endpoint)")
    parser.add_argument(
        "--key-file", help="PEM file with the RSA signing key; created when missing"
    )
    parser.add_argument(
        "--payload",
        choices=PAYLOAD_MODES,
        default="webhook",
        help="webhook: Admin Conversation Webhooks; marketplace: onMessageCreate product events",
    )
    parser.add_argument(
        "--public-url", help="base URL clients reach the emulator at (default: from host/port)"
    )
    parser.add_argument("--log-level", default="info", help="uvicorn log level")
    return parser


def _listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        # Listening before the URL is printed: a client that reads the URL can connect at once.
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    return sock


def _url_host(host: str) -> str:
    if host in ("0.0.0.0", ""):
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host


def main(argv: Sequence[str] | None = None) -> int:
    """Parse `argv`, serve until interrupted, and return the exit status."""
    args = _parser().parse_args(argv)
    try:
        import uvicorn
    except ImportError:
        print("the emulator server needs uvicorn: pip install 'byoc[server]'", file=sys.stderr)
        return 2
    try:
        key = WebhookKey.load_or_create(args.key_file) if args.key_file else WebhookKey.generate()
    except (OSError, ValueError) as exc:
        print(f"cannot use the key file {args.key_file}: {exc}", file=sys.stderr)
        return 2
    try:
        sock = _listen(args.host, args.port)
    except OSError as exc:
        print(f"cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    port = sock.getsockname()[1]
    public_url = args.public_url or f"http://{_url_host(args.host)}:{port}"
    try:
        emulator = FreshchatEmulator(
            args.token,
            args.webhook_url,
            key=key,
            payload=args.payload,
            public_url=public_url,
        )
    except ValueError as exc:
        sock.close()
        print(str(exc), file=sys.stderr)
        return 2
    print(
        "Freshchat emulator\n"
        f"  API URL:     {emulator.api_url}\n"
        f"  API token:   {emulator.token}\n"
        f"  Webhook URL: {emulator.webhook_url or '(none: PUT /_emulator/webhook to set it)'}\n"
        f"  Payload:     {emulator.payload}\n"
        f"  Control:     {emulator.public_url}/_emulator/...\n"
        "  Public key (paste it into the bridge's Freshchat settings):\n"
        f"{emulator.public_key_text}",
        flush=True,
    )
    config = uvicorn.Config(emulator.app, log_level=args.log_level, lifespan="on")
    uvicorn.Server(config).run(sockets=[sock])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
