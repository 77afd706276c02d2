"""Test support: signed requests, and a webhook app that hands callbacks to a `ViberChannel`."""

from __future__ import annotations

import json
from typing import Any

import httpx

from byoc.asgi import Receive, Scope, Send, read_body, request_headers, send_response
from byoc.errors import RequestError
from byoc.models import ChannelEvent
from byoc.webhook import WebhookRequest
from byoc_viber import ViberChannel, sign
from byoc_viber.testing import ViberEmulator

TOKEN = "44dafb7e0f40021e-61a47a1e6778d187-f2c5a676a07050b3"
WEBHOOK_URL = "https://bridge.test/channels/viber/webhook"


def signed(payload: bytes | dict[str, Any], token: str = TOKEN) -> WebhookRequest:
    """A callback request as Viber sends it: the body and its signature header."""
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return WebhookRequest(body=body, headers={"X-Viber-Content-Signature": sign(token, body)})


class ChannelApp:
    """The smallest webhook server around a channel: parse, then answer `ack` (or the error).

    `refuse` makes the next N calls answer 500, as a bridge that is down would.
    """

    def __init__(self) -> None:
        self.channel: ViberChannel | None = None
        self.events: list[ChannelEvent] = []
        self.statuses: list[int] = []
        self.refuse = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert scope["type"] == "http" and self.channel is not None
        request = WebhookRequest(
            body=await read_body(receive), headers=request_headers(scope), path=scope["path"]
        )
        if self.refuse:
            self.refuse -= 1
            await self._answer(send, 500, b'{"error":"down"}')
            return
        try:
            events = await self.channel.parse(request)
        except RequestError as exc:
            await self._answer(send, exc.status_code, json.dumps({"error": str(exc)}).encode())
            return
        self.events.extend(events)
        response = await self.channel.ack(request, events)
        await self._answer(send, response.status, response.body)

    async def _answer(self, send: Send, status: int, body: bytes) -> None:
        self.statuses.append(status)
        await send_response(send, status, body)

    def of(self, kind: type[Any]) -> list[Any]:
        return [e for e in self.events if isinstance(e, kind)]


def make_channel(emulator: ViberEmulator, http: httpx.AsyncClient, **settings: Any) -> ViberChannel:
    """A channel calling `emulator` through `http` (the caller closes it)."""
    defaults: dict[str, Any] = {
        "auth_token": emulator.token,
        "sender_name": "Acme Support",
        "api_url": emulator.api_url,
        "http": http,
        "clock": emulator.clock,
    }
    return ViberChannel(**{**defaults, **settings})
