"""Run the Chatwoot emulator as a local HTTP server (the `byoc emulate chatwoot` command).

```
python -m byoc.testing.chatwoot.server --port 3000 \\
    --webhook-url http://127.0.0.1:8000/messaging/webhook
```

It prints what to paste into the bridge: the URL, account and inbox ids, the access token and
the inbox's webhook secret. `--port 0` picks a free port; the printed URL names it, and the
socket already accepts connections when the URL is printed. `--secret` keeps the webhook secret
the bridge was given valid across restarts.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from ...asgi import ASGIApp
from ..emulation.served import add_listen_arguments, serve_listening
from .emulator import ChatwootEmulator
from .webhooks import SIGNING_MODES

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="byoc emulate chatwoot",
        description="Serve a local Chatwoot emulator (application API and an API inbox).",
    )
    add_listen_arguments(parser, port=3000)
    parser.add_argument("--token", default="test-token", help="the access token clients send")
    parser.add_argument("--account-id", type=int, default=1, help="the account's id")
    parser.add_argument("--inbox-id", type=int, default=1, help="the API inbox's id")
    parser.add_argument("--webhook-url", help="the API inbox's webhook URL (the bridge's)")
    parser.add_argument("--secret", help="the inbox's webhook secret (default: a new one)")
    parser.add_argument(
        "--signing",
        choices=SIGNING_MODES,
        default="secret",
        help="secret: signed as Chatwoot 4.13+; hmac_token: issue #13809; unsigned: before 4.13",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse `argv`, serve until interrupted, and return the exit status."""
    args = _parser().parse_args(argv)

    def start(public_url: str) -> tuple[ASGIApp, str]:
        emulator = ChatwootEmulator(
            args.token,
            args.webhook_url,
            signing=args.signing,
            public_url=public_url,
            account_id=args.account_id,
            inbox_id=args.inbox_id,
        )
        if args.secret:
            emulator.inbox.secret = args.secret
        return emulator.app, (
            "Chatwoot emulator\n"
            f"  BYOC_CHATWOOT_URL={emulator.public_url}\n"
            f"  BYOC_CHATWOOT_ACCOUNT_ID={emulator.account_id}\n"
            f"  BYOC_CHATWOOT_INBOX_ID={emulator.inbox_id}\n"
            f"  BYOC_CHATWOOT_API_TOKEN={emulator.token}\n"
            f"  BYOC_CHATWOOT_HMAC_TOKEN={emulator.inbox.secret}\n"
            f"  Webhook URL: {emulator.webhook_url or '(none: PUT /_emulator/inbox to set it)'}\n"
            f"  Signing:     {emulator.signing}\n"
            f"  Control:     {emulator.public_url}/_emulator/..."
        )

    return serve_listening(args, start)


if __name__ == "__main__":
    raise SystemExit(main())
