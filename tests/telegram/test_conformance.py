"""`TelegramChannel` passes the channel conformance kit against the Telegram emulator."""

from __future__ import annotations

import json

import attrs
import httpx
import pytest

from byoc.testing.clock import FakeClock
from byoc.testing.conformance import (
    ChannelConformance,
    ConformanceHarness,
    ConformanceWorld,
    Signing,
)
from byoc.webhook import WebhookRequest
from byoc_telegram import SECRET_HEADER, TelegramChannel
from byoc_telegram.testing import TelegramEmulator, TelegramUser

SECRET = "kit-secret-0123456789abcdef"
JPEG = bytes.fromhex("ffd8ffe000104a464946000101000001000100000000ffd9")


class TelegramHarness(ConformanceHarness):
    """Telegram's side: updates as the emulator builds them, with the webhook's secret."""

    def __init__(self, world: ConformanceWorld) -> None:
        super().__init__(world)
        clock = FakeClock(autoadvance=True)
        self.emulator = TelegramEmulator(
            clock=clock,
            webhook_client=world.client(),
            fetch_client=world.client(),
            public_url="http://telegram.test",
        )
        world.network.add("telegram.test", self.emulator)
        self.channel = TelegramChannel(
            bot_token=self.emulator.token,
            webhook_secret=SECRET,
            api_url=self.emulator.api_url,
            http=world.http,
            clock=clock,
        ).named(world.name)
        self.secrets = (self.emulator.token, SECRET)
        self.recipient = str(self._user("kit-user").id)

    def _user(self, name: str) -> TelegramUser:
        found = [u for u in self.emulator.users.values() if u.first_name == name]
        return found[0] if found else self.emulator.user(name)

    def _request(self, user_name: str, content: dict[str, object]) -> WebhookRequest:
        update = self.emulator.message_update(self._user(user_name), content)
        return self.sign(WebhookRequest(body=json.dumps(update).encode()))

    def message(self, user_id: str, text: str) -> WebhookRequest:
        return self._request(user_id, {"text": text})

    def sign(self, request: WebhookRequest, how: Signing = "valid") -> WebhookRequest:
        headers = {"content-type": "application/json"}
        if how != "missing":
            headers[SECRET_HEADER] = SECRET if how == "valid" else "forged-0123456789abcdef"
        return attrs.evolve(request, headers=headers)

    async def received(self, user_id: str) -> list[str]:
        return [m.text or m.media or "" for m in self.emulator.sent_to(int(user_id))]

    def media_message(self, user_id: str) -> tuple[WebhookRequest, bytes]:
        return self._request(user_id, self.emulator.media_content("photo", JPEG)), JPEG

    async def block(self, user_id: str) -> bool:
        await self.emulator.block(self.emulator.users[int(user_id)])
        return True

    def throttled(self, retry_after: str) -> httpx.Response:
        # Telegram says how long to wait in the body; an HTTP date only fits the header.
        if retry_after.isdigit():
            parameters = {"retry_after": int(retry_after)}
            said = f"Too Many Requests: retry after {retry_after}"
            body = {"ok": False, "error_code": 429, "description": said, "parameters": parameters}
            return httpx.Response(429, json=body)
        body = {"ok": False, "error_code": 429, "description": "Too Many Requests"}
        return httpx.Response(429, headers={"Retry-After": retry_after}, json=body)

    async def aclose(self) -> None:
        await self.emulator.aclose()


class TestTelegramConformance(ChannelConformance):
    @pytest.fixture
    def harness(self, world: ConformanceWorld) -> TelegramHarness:
        return TelegramHarness(world)
