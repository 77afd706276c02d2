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
import sys
from collections.abc import Sequence

from ...asgi import ASGIApp
from ..emulation.served import add_listen_arguments, serve_listening
from .emulator import FreshchatEmulator
from .events import PAYLOAD_MODES
from .webhooks import WebhookKey

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="byoc emulate freshchat",
        description="Serve a local Freshchat emulator (REST API v2 and signed webhooks).",
    )
    add_listen_arguments(parser, port=8765)
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
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse `argv`, serve until interrupted, and return the exit status."""
    args = _parser().parse_args(argv)
    try:
        key = WebhookKey.load_or_create(args.key_file) if args.key_file else WebhookKey.generate()
    except (OSError, ValueError) as exc:
        print(f"cannot use the key file {args.key_file}: {exc}", file=sys.stderr)
        return 2

    def start(public_url: str) -> tuple[ASGIApp, str]:
        emulator = FreshchatEmulator(
            args.token, args.webhook_url, key=key, payload=args.payload, public_url=public_url
        )
        return emulator.app, (
            "Freshchat emulator\n"
            f"  API URL:     {emulator.api_url}\n"
            f"  API token:   {emulator.token}\n"
            f"  Webhook URL: {emulator.webhook_url or '(none: PUT /_emulator/webhook to set it)'}\n"
            f"  Payload:     {emulator.payload}\n"
            f"  Control:     {emulator.public_url}/_emulator/...\n"
            "  Public key (paste it into the bridge's Freshchat settings):\n"
            f"{emulator.public_key_text}"
        )

    return serve_listening(args, start)


if __name__ == "__main__":
    raise SystemExit(main())
