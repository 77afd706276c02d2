"""MyChat passes the byoc channel conformance kit: this file is all its tests need."""

import pytest

from byoc.testing.conformance import ChannelConformance, ConformanceHarness, ConformanceWorld
from byoc.webhook import WebhookRequest

from .emulator import MyChatEmulator
from .mychat import MyChatChannel


class MyChatHarness(ConformanceHarness):
    def __init__(self, world: ConformanceWorld) -> None:
        super().__init__(world)
        self.mychat = mychat = MyChatEmulator(world.network)
        channel = MyChatChannel(token=mychat.token, api_url=mychat.api_url, http=world.http)
        self.channel, self.secrets = channel.named(world.name), (mychat.token,)

    def message(self, user_id: str, text: str) -> WebhookRequest:
        return self.mychat.webhook_request(user_id, text=text)

    def sign(self, request: WebhookRequest, how: str = "valid") -> WebhookRequest:
        return self.mychat.sign(request, how)

    async def received(self, user_id: str) -> list[str]:
        return self.mychat.inbox[user_id]

    def media_message(self, user_id: str) -> tuple[WebhookRequest, bytes]:
        png = b"\x89PNG\r\n\x1a\n" + bytes(100)
        return self.mychat.webhook_request(user_id, file=png), png

    async def block(self, user_id: str) -> bool:
        self.mychat.blocked.add(user_id)
        return True


class TestMyChat(ChannelConformance):
    @pytest.fixture
    def harness(self, world: ConformanceWorld) -> MyChatHarness:
        return MyChatHarness(world)
