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
import socket
import sys
from collections.abc import Sequence

from .emulator import ChatwootEmulator
from .webhooks import SIGNING_MODES

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="byoc emulate chatwoot",
        description="Serve a local Chatwoot emulator (application API and an API inbox).",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=3000, help="port (0: any free port)")
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
    parser.add_argument(
        "--public-url", help="base URL clients reach the emulator at (default: from host/port)"
    )
    parser.add_argument("--log-level", default="info", help="uvicorn log level")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse `argv`, serve until interrupted, and return the exit status."""
    args = _parser().parse_args(argv)
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
    shown = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "[::1]"}.get(args.host, args.host)
    shown = f"[{shown}]" if ":" in shown and not shown.startswith("[") else shown
    try:
        emulator = ChatwootEmulator(
            args.token,
            args.webhook_url,
            signing=args.signing,
            public_url=args.public_url or f"http://{shown}:{port}",
            account_id=args.account_id,
            inbox_id=args.inbox_id,
        )
    except ValueError as exc:
        sock.close()
        print(str(exc), file=sys.stderr)
        return 2
    if args.secret:
        emulator.inbox.secret = args.secret
    print(
        "Chatwoot emulator\n"
        f"  BYOC_CHATWOOT_URL={emulator.public_url}\n"
        f"  BYOC_CHATWOOT_ACCOUNT_ID={emulator.account_id}\n"
        f"  BYOC_CHATWOOT_INBOX_ID={emulator.inbox_id}\n"
        f"  BYOC_CHATWOOT_API_TOKEN={emulator.token}\n"
        f"  BYOC_CHATWOOT_HMAC_TOKEN={emulator.inbox.secret}\n"
        f"  Webhook URL: {emulator.webhook_url or '(none: PUT /_emulator/inbox to set it)'}\n"
        f"  Signing:     {emulator.signing}\n"
        f"  Control:     {emulator.public_url}/_emulator/...",
        flush=True,
    )
    config = uvicorn.Config(emulator.app, log_level=args.log_level, lifespan="on")
    uvicorn.Server(config).run(sockets=[sock])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
