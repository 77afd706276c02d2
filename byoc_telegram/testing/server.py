"""`byoc emulate telegram`: the Bot API emulator on a port, for demos and manual tests.

```
byoc emulate telegram --port 8082 --token 123456789:emulator-token-0123456789abcdefABCDEF
```

Point the bridge at it with `BYOC_TELEGRAM_API_URL=http://127.0.0.1:8082` and the same token,
register the webhook (`byoc install telegram`, or `byoc serve --install`), then play users
through the `/_emulator/...` control endpoints (`byoc_telegram.testing.control`).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import uvicorn

from byoc.testing.emulation.served import add_address_arguments, run_announced, uvicorn_server

from .emulator import DEFAULT_TOKEN, TelegramEmulator

__all__ = ["build_server", "main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="byoc emulate telegram", description="Run the Telegram Bot API emulator."
    )
    add_address_arguments(parser, port=8082)
    parser.add_argument("--token", default=DEFAULT_TOKEN, help="the bot's token")
    parser.add_argument("--webhook-url", default=None, help="a webhook set from the start")
    parser.add_argument(
        "--secret-token", default=None, help="the secret sent with updates to --webhook-url"
    )
    return parser


def build_server(argv: Sequence[str] | None = None) -> tuple[uvicorn.Server, TelegramEmulator]:
    """The uvicorn server and the emulator it serves, from command-line arguments."""
    args = _parser().parse_args(argv)
    emulator = TelegramEmulator(
        token=args.token,
        public_url=f"http://{args.host}:{args.port}",
        webhook_url=args.webhook_url,
        secret_token=args.secret_token,
    )
    server = uvicorn_server(emulator.app, host=args.host, port=args.port, log_level=args.log_level)
    return server, emulator


def main(argv: Sequence[str] | None = None) -> int:
    """Run until interrupted; the exit status."""
    server, emulator = build_server(argv)
    return run_announced(
        server,
        f"Telegram emulator: API {emulator.api_url} (token {emulator.token!r}); "
        f"control endpoints under {emulator.public_url}/_emulator",
    )


if __name__ == "__main__":
    sys.exit(main())
