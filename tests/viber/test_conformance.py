"""`ViberChannel` passes the channel conformance kit against the Viber emulator."""

from __future__ import annotations

import json
import secrets
from typing import Any

import attrs
import pytest

from byoc.testing.clock import FakeClock
from byoc.testing.conformance import (
    ChannelConformance,
    ConformanceHarness,
    ConformanceWorld,
    Signing,
)
from byoc.webhook import WebhookRequest
from byoc_viber import SIGNATURE_HEADER, ViberChannel, sign
from byoc_viber.testing import SimulatedUser, ViberEmulator

JPEG = bytes.fromhex("ffd8ffe000104a46494600010100000100010000ffd9")


class ViberHarness(ConformanceHarness):
    """Viber's side: callbacks as Viber builds them, signed with the bot's token."""

    def __init__(self, world: ConformanceWorld) -> None:
        super().__init__(world)
        self.emulator = ViberEmulator(
            token="kit-" + secrets.token_hex(16),
            clock=FakeClock(autoadvance=True),
            callback_client=world.client(),
            public_url="http://viber.test",
            webhook_url=world.webhook_url,
        )
        world.network.add("viber.test", self.emulator)
        self.channel = ViberChannel(
            auth_token=self.emulator.token,
            sender_name="Acme",
            api_url=self.emulator.api_url,
            http=world.http,
            clock=self.emulator.clock,
        ).named(world.name)
        self.secrets = (self.emulator.token,)
        self.recipient = self._user("kit-user").id

    def _user(self, name: str) -> SimulatedUser:
        found = [u for u in self.emulator.users.values() if u.name == name]
        return found[0] if found else self.emulator.user(name=name, subscribed=True)

    def _callback(self, user_name: str, message: dict[str, Any]) -> WebhookRequest:
        payload = {
            "event": "message",
            "timestamp": int(self.emulator.clock.time() * 1000),
            "message_token": secrets.randbits(63) | 1,
            "sender": self._user(user_name).as_json(),
            "message": message,
            "silent": False,
        }
        return self.sign(WebhookRequest(body=json.dumps(payload).encode()))

    def message(self, user_id: str, text: str) -> WebhookRequest:
        return self._callback(user_id, {"type": "text", "text": text})

    def sign(self, request: WebhookRequest, how: Signing = "valid") -> WebhookRequest:
        headers = {"content-type": "application/json"}
        if how != "missing":
            key = self.emulator.token if how == "valid" else "not-the-token"
            headers[SIGNATURE_HEADER] = sign(key, request.body)
        return attrs.evolve(request, headers=headers)

    async def received(self, user_id: str) -> list[str]:
        return [m.text or str(m.body.get("media", "")) for m in self.emulator.sent_to(user_id)]

    def media_message(self, user_id: str) -> tuple[WebhookRequest, bytes]:
        url = self.emulator.host_media(JPEG, "photo.jpg")
        return self._callback(user_id, {"type": "picture", "media": url, "text": ""}), JPEG

    async def block(self, user_id: str) -> bool:
        await self.emulator.users[user_id].unsubscribe()
        await self.emulator.drain()
        return True

    async def aclose(self) -> None:
        await self.emulator.aclose()


class TestViberConformance(ChannelConformance):
    @pytest.fixture
    def harness(self, world: ConformanceWorld) -> ViberHarness:
        return ViberHarness(world)
