"""The KakaoTalk parts of the demo (`byoc demo --channel kakao`, `byoc serve` without credentials).

- `KakaoDealerDemo`: the HappyTalk 상담톡 emulator as `happytalk.test`. Dealers have no API to
  register a webhook: `connect` does what a person does with the URL `byoc install` prints,
  and gives it to the emulator.
- `KakaoChatbotDemo`: the Open Builder emulator as `openbuilder.test`; the skill URL is given
  to it the same way. Agent replies reach the user through the AI callback.
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING

from byoc.asgi import ASGIApp
from byoc.channel import Channel
from byoc.demo.kit import DemoKit
from byoc.testing.network import VirtualNetwork

from ..chatbot import KakaoChatbotChannel
from ..consultation import KakaoDealerChannel
from ..dealers.happytalk import HappyTalkDealer
from .happytalk import DealerUser, HappyTalkEmulator
from .openbuilder import KakaoUser, OpenBuilderEmulator

if TYPE_CHECKING:
    from byoc.bridge import Bridge

__all__ = ["KakaoChatbotDemo", "KakaoDealerDemo"]

# A botUserKey of the documented shape (66 hex digits) for the curl hints.
_SAMPLE_KEY = "d0" * 33


class KakaoDealerDemo(DemoKit):
    """KakaoTalk 상담톡 through the HappyTalk emulator."""

    name = "kakao"
    host = "happytalk.test"
    user_label = "KakaoTalk user"
    title = "KakaoTalk"

    def __init__(self, network: VirtualNetwork) -> None:
        self._clients = [network.client(timeout=30.0), network.client(timeout=30.0)]
        base = f"http://{self.host}"
        self.emulator = HappyTalkEmulator(base_url=base, http=self._clients[0])
        network.add(self.host, self.emulator.app)
        dealer = HappyTalkDealer(
            client_id=self.emulator.client_id,
            client_secret=self.emulator.client_secret,
            sender_key=self.emulator.sender_key,
            api_url=base,
            http=self._clients[1],
            clock=self.emulator.clock,
        )
        self._channel = KakaoDealerChannel(dealer=dealer, webhook_secret=secrets.token_urlsafe(32))
        self._users: dict[str, DealerUser] = {}

    @property
    def channel(self) -> Channel:
        return self._channel

    @property
    def app(self) -> ASGIApp:
        return self.emulator.app

    async def connect(self, bridge: Bridge) -> None:
        result = (await bridge.install([self.name]))[self.name]
        # What an operator does by hand in the dealer's console.
        self.emulator.webhook_url = result.target_url

    def _user(self, name: str) -> DealerUser:
        user = self._users.get(name)
        if user is None:
            user = self._users[name] = self.emulator.user()
        return user

    async def user_says(self, user: str, text: str) -> None:
        self._user(user).send_text(text)

    def user_id(self, user: str) -> str:
        return self._user(user).user_key

    def received(self, user: str) -> list[str]:
        key = self._user(user).user_key
        return [
            m.message or m.image_url or m.file_url or f"({m.message_type})"
            for m in self.emulator.sent
            if m.user_key == key
        ]

    async def settle(self) -> None:
        await self.emulator.drain()

    def control_hints(self, base_url: str) -> list[str]:
        here = f"{base_url}/emulators/{self.name}/_emulator"
        return [
            f"""curl -s -X POST {here}/users/alice0000001/messages -d '{{"text": "안녕하세요"}}'""",
            f"curl -s {here}/sent",
        ]

    async def aclose(self) -> None:
        await self.emulator.aclose()
        for client in self._clients:
            await client.aclose()


class KakaoChatbotDemo(DemoKit):
    """A KakaoTalk chatbot skill through the Open Builder emulator."""

    name = "kakao-chatbot"
    host = "openbuilder.test"
    user_label = "KakaoTalk chatbot user"
    title = "KakaoTalk"

    def __init__(self, network: VirtualNetwork) -> None:
        self._clients = [network.client(timeout=30.0), network.client(timeout=30.0)]
        base = f"http://{self.host}"
        self.emulator = OpenBuilderEmulator(base_url=base, http=self._clients[0])
        network.add(self.host, self.emulator.app)
        self._channel = KakaoChatbotChannel(
            bot_id=self.emulator.bot_id,
            rest_api_key=self.emulator.rest_api_key,
            skill_secret=secrets.token_urlsafe(32),
            event_api_url=base,
            callback_origins=base,
            media_origins=base,
            http=self._clients[1],
        )
        self._users: dict[str, KakaoUser] = {}

    @property
    def channel(self) -> Channel:
        return self._channel

    @property
    def app(self) -> ASGIApp:
        return self.emulator.app

    async def connect(self, bridge: Bridge) -> None:
        result = (await bridge.install([self.name]))[self.name]
        # What an operator does by hand in the chatbot admin center.
        self.emulator.skill_url = result.target_url

    def _user(self, name: str) -> KakaoUser:
        user = self._users.get(name)
        if user is None:
            user = self._users[name] = self.emulator.user()
        return user

    async def user_says(self, user: str, text: str) -> None:
        await self._user(user).say(text)

    def user_id(self, user: str) -> str:
        return self._user(user).bot_user_key

    def received(self, user: str) -> list[str]:
        return [
            bubble.text
            for bubble in self._user(user).bubbles
            if bubble.via in ("callback", "event") and bubble.text
        ]

    async def settle(self) -> None:
        await self.emulator.drain()

    def control_hints(self, base_url: str) -> list[str]:
        here = f"{base_url}/emulators/{self.name}/_emulator"
        return [
            f"""curl -s -X POST {here}/users/{_SAMPLE_KEY}/say -d '{{"text": "안녕하세요"}}'""",
            f"curl -s {here}/users/{_SAMPLE_KEY}/bubbles",
        ]

    async def aclose(self) -> None:
        await self.emulator.aclose()
        for client in self._clients:
            await client.aclose()
