"""An upstream for the side-by-side benchmark: byoc's Freshchat or Viber emulator, made distant.

    python benchmarks/upstream.py freshchat|viber --token T [--latency 0.02] [--port 0]

Every API call waits `latency` seconds before the emulator handles it (the distance to the real
service); the control endpoints (`/_emulator/...`, `/_bench/...`) answer at once. Besides the
emulator's own control API:

- `GET /_bench/counts`: `{"calls": n, "delivered": n}`: API calls, and the 2xx answers to the
  calls that deliver a message (Freshchat: a message posted or a conversation created with its
  first message; Viber: `send_message`);
- `PUT /_bench/latency` `{"seconds": s}`: change the latency.

The Viber emulator here has a webhook set and sends no `delivered`/`seen` callbacks: the
benchmark measures what one reply costs, not the receipts that follow it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
from typing import Any

from serving import serve

from byoc.asgi import Receive, Scope, Send, read_body, send_response

__all__ = ["Distant"]

_DELIVERIES = {
    "freshchat": re.compile(r"^/v2/conversations(/[^/]+/messages)?$"),
    "viber": re.compile(r"^/pa/send_message$"),
}


class Distant:
    """ASGI middleware: delays API calls by `latency` seconds and counts them."""

    def __init__(self, app: Any, *, latency: float, deliveries: re.Pattern[str]) -> None:
        self.app = app
        self.latency = latency
        self.deliveries = deliveries
        self.calls = 0
        self.delivered = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if path.startswith("/_bench/"):
            await self._control(scope, receive, send)
            return
        if path.startswith("/_emulator/"):
            await self.app(scope, receive, send)
            return
        self.calls += 1
        if self.latency > 0:
            await asyncio.sleep(self.latency)
        delivery = scope["method"] == "POST" and self.deliveries.match(path) is not None
        if not delivery:
            await self.app(scope, receive, send)
            return

        async def counting(message: Any) -> None:
            if message["type"] == "http.response.start" and 200 <= message["status"] < 300:
                self.delivered += 1
            await send(message)

        await self.app(scope, receive, counting)

    async def _control(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["path"] == "/_bench/latency" and scope["method"] == "PUT":
            self.latency = float(json.loads(await read_body(receive))["seconds"])
        answer = {"calls": self.calls, "delivered": self.delivered, "latency": self.latency}
        await send_response(send, 200, json.dumps(answer).encode())


def _emulator(name: str, token: str, public_url: str) -> Any:
    if name == "freshchat":
        from byoc.testing.freshchat import FreshchatEmulator

        return FreshchatEmulator(token, None, public_url=public_url).app
    from byoc_viber.testing import ViberEmulator

    return ViberEmulator(
        token=token,
        public_url=public_url,
        # send_message needs a webhook set; nothing is ever posted to it here.
        webhook_url="http://127.0.0.1:9/not-called",
        send_delivered=False,
        send_seen=False,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("name", choices=sorted(_DELIVERIES))
    parser.add_argument("--token", required=True)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    # Media URLs are never followed in this benchmark; the address only has to be well formed.
    app = _emulator(args.name, args.token, "http://127.0.0.1")
    serve(Distant(app, latency=args.latency, deliveries=_DELIVERIES[args.name]), args.port)


if __name__ == "__main__":
    main()
