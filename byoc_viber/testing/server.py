"""`byoc emulate viber`: the Viber emulator on a port, for demos and manual tests.

```
python -m byoc_viber.testing.server --port 8081 --token t0ken \
    --webhook-url http://127.0.0.1:8000/channels/viber/webhook
```

Point the bridge at it with `BYOC_VIBER_API_URL=http://127.0.0.1:8081/pa` and the same
token, then drive users through the `/_emulator/...` control endpoints.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import uvicorn

from byoc.testing.emulation.served import add_address_arguments, run_announced, uvicorn_server

from .emulator import ViberEmulator

__all__ = ["build_server", "main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="byoc emulate viber", description="Run the Viber bot API emulator."
    )
    add_address_arguments(parser, port=8081)
    parser.add_argument(
        "--token", default="emulator-auth-token", help="the bot's auth token (signs callbacks)"
    )
    parser.add_argument(
        "--webhook-url",
        default=None,
        help="a webhook to call from the start, without the set_webhook verification",
    )
    return parser


def build_server(argv: Sequence[str] | None = None) -> tuple[uvicorn.Server, ViberEmulator]:
    """The uvicorn server and the emulator it serves, from command-line arguments."""
    args = _parser().parse_args(argv)
    emulator = ViberEmulator(
        token=args.token,
        public_url=f"http://{args.host}:{args.port}",
        webhook_url=args.webhook_url,
    )
    server = uvicorn_server(emulator.app, host=args.host, port=args.port, log_level=args.log_level)
    return server, emulator


def main(argv: Sequence[str] | None = None) -> int:
    """Run until interrupted; the exit status."""
    server, emulator = build_server(argv)
    return run_announced(
        server,
        f"Viber emulator: API {emulator.api_url} (token {emulator.token!r}); "
        f"control endpoints under {emulator.public_url}/_emulator",
    )


if __name__ == "__main__":
    sys.exit(main())
