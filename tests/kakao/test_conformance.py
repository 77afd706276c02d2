"""Both KakaoTalk channels pass the channel conformance kit against their emulators:
`kakao` (a 상담톡 dealer, HappyTalk) and `kakao-chatbot` (an Open Builder skill)."""

from __future__ import annotations

import json
import uuid

import attrs
import pytest

from byoc.testing.conformance import (
    ChannelConformance,
    ConformanceHarness,
    ConformanceWorld,
    Signing,
)
from byoc.webhook import WebhookRequest
from byoc_kakao import HappyTalkDealer, KakaoChatbotChannel, KakaoDealerChannel
from byoc_kakao.testing import HappyTalkEmulator, KakaoUser, OpenBuilderEmulator, skill_payload

from .rig import SKILL_SECRET, WEBHOOK_SECRET

JPEG = bytes.fromhex("ffd8ffe000104a46494600010100000100010000ffd9")


def _with_secret(request: WebhookRequest, how: Signing, secret: str) -> WebhookRequest:
    """Kakao's senders authenticate with a secret last path segment, not a signature."""
    subpath = {"valid": secret, "missing": "", "forged": "x" * len(secret)}[how]
    return attrs.evolve(request, subpath=subpath)


class DealerHarness(ConformanceHarness):
    """HappyTalk's side: its webhook bodies, to the URL with the secret path segment."""

    def __init__(self, world: ConformanceWorld) -> None:
        super().__init__(world)
        self.emulator = HappyTalkEmulator(
            webhook_url=f"{world.webhook_url}/{WEBHOOK_SECRET}", http=world.client()
        )
        world.network.add("happytalk.test", self.emulator.app)
        dealer = HappyTalkDealer(
            client_id=self.emulator.client_id,
            client_secret=self.emulator.client_secret,
            sender_key=self.emulator.sender_key,
            api_url="http://happytalk.test",
            http=world.http,
            clock=self.emulator.clock,
        )
        self.channel = KakaoDealerChannel(dealer=dealer, webhook_secret=WEBHOOK_SECRET).named(
            world.name
        )
        self.secrets = (WEBHOOK_SECRET, self.emulator.client_secret)
        self.recipient = "kituser01"

    def _webhook(self, body: dict[str, object]) -> WebhookRequest:
        return self.sign(WebhookRequest(body=json.dumps(body).encode()))

    def message(self, user_id: str, text: str) -> WebhookRequest:
        return self._webhook(self.emulator.webhook_body(user_id[:20], "TX", text=text))

    def sign(self, request: WebhookRequest, how: Signing = "valid") -> WebhookRequest:
        return _with_secret(request, how, WEBHOOK_SECRET)

    async def received(self, user_id: str) -> list[str]:
        return [
            m.message or m.image_url or m.file_url or ""
            for m in self.emulator.user(user_id).received
        ]

    def media_message(self, user_id: str) -> tuple[WebhookRequest, bytes]:
        url = self.emulator.media.put(JPEG, name="photo.jpg", content_type="image/jpeg")
        return self._webhook(self.emulator.webhook_body(user_id[:20], "IM", url=url)), JPEG

    async def aclose(self) -> None:
        await self.emulator.aclose()


class ChatbotHarness(ConformanceHarness):
    """Open Builder's side: skill payloads (with a one-time callback URL, as the AI chatbot
    sends them), and the event block that fetches queued replies through the skill."""

    def __init__(self, world: ConformanceWorld) -> None:
        super().__init__(world)
        base = "http://openbuilder.test"
        self.emulator = OpenBuilderEmulator(
            skill_url=f"{world.webhook_url}/{SKILL_SECRET}", base_url=base, http=world.client()
        )
        world.network.add("openbuilder.test", self.emulator.app)
        self.channel = KakaoChatbotChannel(
            bot_id=self.emulator.bot_id,
            rest_api_key=self.emulator.rest_api_key,
            skill_secret=SKILL_SECRET,
            event_api_url=base,
            callback_origins=base,
            media_origins=base,
            http=world.http,
        ).named(world.name)
        self.secrets = (SKILL_SECRET, self.emulator.rest_api_key)
        self.recipient = self._user("kit-user").bot_user_key

    def _user(self, name: str) -> KakaoUser:
        # Kakao's ids are keys; a name stands for one user, made on first use.
        key = uuid.uuid5(uuid.NAMESPACE_OID, name).hex * 2
        return self.emulator.users.get(key[:66]) or self.emulator.user(key[:66])

    def message(self, user_id: str, text: str) -> WebhookRequest:
        payload = skill_payload(
            bot=self.emulator.bot,
            user=self._user(user_id),
            utterance=text,
            block=self.emulator.fallback_block,
            callback_url=f"{self.emulator.base_url}/callback/{uuid.uuid4()}",
        )
        return self.sign(WebhookRequest(body=json.dumps(payload).encode()))

    def sign(self, request: WebhookRequest, how: Signing = "valid") -> WebhookRequest:
        return _with_secret(request, how, SKILL_SECRET)

    async def received(self, user_id: str) -> list[str]:
        await self.emulator.drain()
        bubbles = self.emulator.users[user_id].bubbles
        return [b.text or json.dumps(b.output) for b in bubbles if b.via != "error"]

    def media_message(self, user_id: str) -> tuple[WebhookRequest, bytes]:
        url = self.emulator.media.put(JPEG, name="i_kit.jpg", content_type="image/jpeg")
        return self.message(user_id, url), JPEG

    async def aclose(self) -> None:
        await self.emulator.aclose()


class TestKakaoDealerConformance(ChannelConformance):
    @pytest.fixture
    def harness(self, world: ConformanceWorld) -> DealerHarness:
        return DealerHarness(world)


class TestKakaoChatbotConformance(ChannelConformance):
    @pytest.fixture
    def harness(self, world: ConformanceWorld) -> ChatbotHarness:
        return ChatbotHarness(world)
