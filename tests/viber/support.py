"""Test support: signed requests, a channel on an emulator, and the events that reached it."""

from __future__ import annotations

import json
from typing import Any

import httpx

from byoc.testing.channel_endpoint import ChannelEndpoint
from byoc.webhook import WebhookRequest
from byoc_viber import ViberChannel, sign
from byoc_viber.testing import ViberEmulator

TOKEN = "44dafb7e0f40021e-61a47a1e6778d187-f2c5a676a07050b3"
WEBHOOK_URL = "https://bridge.test/channels/viber/webhook"


def signed(payload: bytes | dict[str, Any], token: str = TOKEN) -> WebhookRequest:
    """A callback request as Viber sends it: the body and its signature header."""
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return WebhookRequest(body=body, headers={"X-Viber-Content-Signature": sign(token, body)})


def events_of(endpoint: ChannelEndpoint, kind: type[Any]) -> list[Any]:
    """The events of one kind that reached the endpoint, in order."""
    return [e for e in endpoint.events if isinstance(e, kind)]


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
