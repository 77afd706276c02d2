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

from byoc.demo.kit import DemoKit
from byoc.testing.emulation.demo_users import EmulatedDemo
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


class KakaoDealerDemo(EmulatedDemo[HappyTalkEmulator, DealerUser], DemoKit):
    """KakaoTalk 상담톡 through the HappyTalk emulator."""

    name = "kakao"
    host = "happytalk.test"
    user_label = "KakaoTalk user"
    title = "KakaoTalk"

    def __init__(self, network: VirtualNetwork) -> None:
        clients = [network.client(timeout=30.0), network.client(timeout=30.0)]
        base = f"http://{self.host}"
        emulator = HappyTalkEmulator(base_url=base, http=clients[0])
        network.add(self.host, emulator.app)
        dealer = HappyTalkDealer(
            client_id=emulator.client_id,
            client_secret=emulator.client_secret,
            sender_key=emulator.sender_key,
            api_url=base,
            http=clients[1],
            clock=emulator.clock,
        )
        channel = KakaoDealerChannel(dealer=dealer, webhook_secret=secrets.token_urlsafe(32))
        super().__init__(emulator, channel, clients)

    async def connect(self, bridge: Bridge) -> None:
        result = (await bridge.install([self.name]))[self.name]
        # What an operator does by hand in the dealer's console.
        self.emulator.webhook_url = result.target_url

    def _new_user(self, name: str) -> DealerUser:
        return self.emulator.user()

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

    def control_hints(self, base_url: str) -> list[str]:
        here = f"{base_url}/emulators/{self.name}/_emulator"
        return [
            f"""curl -s -X POST {here}/users/alice0000001/messages -d '{{"text": "안녕하세요"}}'""",
            f"curl -s {here}/sent",
        ]


class KakaoChatbotDemo(EmulatedDemo[OpenBuilderEmulator, KakaoUser], DemoKit):
    """A KakaoTalk chatbot skill through the Open Builder emulator."""

    name = "kakao-chatbot"
    host = "openbuilder.test"
    user_label = "KakaoTalk chatbot user"
    title = "KakaoTalk"

    def __init__(self, network: VirtualNetwork) -> None:
        clients = [network.client(timeout=30.0), network.client(timeout=30.0)]
        base = f"http://{self.host}"
        emulator = OpenBuilderEmulator(base_url=base, http=clients[0])
        network.add(self.host, emulator.app)
        channel = KakaoChatbotChannel(
            bot_id=emulator.bot_id,
            rest_api_key=emulator.rest_api_key,
            skill_secret=secrets.token_urlsafe(32),
            event_api_url=base,
            callback_origins=base,
            media_origins=base,
            http=clients[1],
        )
        super().__init__(emulator, channel, clients)

    async def connect(self, bridge: Bridge) -> None:
        result = (await bridge.install([self.name]))[self.name]
        # What an operator does by hand in the chatbot admin center.
        self.emulator.skill_url = result.target_url

    def _new_user(self, name: str) -> KakaoUser:
        return self.emulator.user()

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

    def control_hints(self, base_url: str) -> list[str]:
        here = f"{base_url}/emulators/{self.name}/_emulator"
        return [
            f"""curl -s -X POST {here}/users/{_SAMPLE_KEY}/say -d '{{"text": "안녕하세요"}}'""",
            f"curl -s {here}/users/{_SAMPLE_KEY}/bubbles",
        ]
