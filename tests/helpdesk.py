"""The Freshchat side of a test that serves the bridge through something other than the rig.

`BridgeRig` puts the bridge and the emulator on one virtual network and one event loop. A test
of a framework or a WSGI server instead serves the bridge through that framework, often on an
event loop of the framework's own, and posts webhooks with the framework's test client. So
here the emulator posts no webhooks itself: `webhooks()` hands them out as the signed requests
Freshchat would send, for the test's client to deliver.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import httpx

from byoc.bridge import Bridge
from byoc.channel import Channel
from byoc.freshchat import FreshchatMessaging
from byoc.store import SQLiteStore
from byoc.testing.freshchat import FreshchatEmulator, WebhookKey
from byoc.testing.helpdesk import freshchat_user_texts
from byoc.wsgi import WSGIBridge

Signed = tuple[bytes, dict[str, str]]

_KEYS: list[WebhookKey] = []


def _shared_key() -> WebhookKey:
    # Making an RSA-2048 key takes a while; the tests' emulators can all sign with one.
    if not _KEYS:
        _KEYS.append(WebhookKey.generate())
    return _KEYS[0]


class Helpdesk:
    """The Freshchat emulator, reached in-process by the bridge's `FreshchatMessaging`."""

    def __init__(self) -> None:
        self.emulator = FreshchatEmulator(key=_shared_key())
        # No connection pool behind ASGITransport: usable from whichever loop the bridge runs on.
        self.http = httpx.AsyncClient(transport=httpx.ASGITransport(app=self.emulator.app))

    def messaging(self) -> FreshchatMessaging:
        return FreshchatMessaging(
            api_url=self.emulator.api_url,
            token=self.emulator.token,
            webhook_public_key=self.emulator.public_key_text,
            http=self.http,
        )

    def bridge(self, channels: Sequence[Channel], store: Path, **options: Any) -> Bridge:
        """A bridge on a SQLite store, as in production, whose help desk is the emulator."""
        return Bridge(
            messaging=self.messaging(), channels=channels, store=SQLiteStore(store), **options
        )

    def env(self, store: Path) -> dict[str, str]:
        """The settings an operator would set to point a bridge at this help desk and Viber."""
        return {
            "BYOC_FRESHCHAT_API_URL": self.emulator.api_url,
            "BYOC_FRESHCHAT_API_TOKEN": self.emulator.token,
            "BYOC_FRESHCHAT_WEBHOOK_PUBLIC_KEY": self.emulator.public_key_text,
            "BYOC_STORE": str(store),
            "BYOC_PUBLIC_URL": "https://shop.example/byoc",
            "BYOC_VIBER_AUTH_TOKEN": "4453b6ac12345678-e02c5f12174805f9-daec9cbb5448c51f",
            "BYOC_VIBER_SENDER_NAME": "Acme Support",
        }

    def webhooks(self) -> list[Signed]:
        """Every webhook emitted since the last call, as `(body, headers)` signed by Freshchat."""
        signed = []
        while self.emulator.emitted:
            payload = self.emulator.emitted.popleft()
            body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
            headers = {
                "content-type": "application/json",
                "x-freshchat-signature": self.emulator.key.sign(body),
            }
            signed.append((body, headers))
        return signed

    def conversation_of(self, reference_id: str) -> str:
        """The one conversation of the one help-desk user with this `reference_id`."""
        (user,) = self.emulator.users_by_reference(reference_id)
        (conversation,) = self.emulator.conversations_of(str(user["id"]))
        return str(conversation["conversation_id"])

    def user_texts(self, conversation_id: str) -> list[str]:
        """The texts the end user wrote in a conversation, oldest first."""
        return freshchat_user_texts(self.emulator, conversation_id)

    async def aclose(self) -> None:
        await self.emulator.aclose()
        await self.http.aclose()


def run_on(served: WSGIBridge, make: Callable[[], Awaitable[Any]]) -> Any:
    """Await `make()` on the event loop of a bridge served over WSGI; its result."""

    async def call() -> Any:
        return await make()

    return served.run(call())
