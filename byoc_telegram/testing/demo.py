"""The Telegram part of the demo (`byoc demo --channel telegram`, `byoc serve` without
credentials): the emulator joins the demo's network as `telegram.test`, and `connect`
registers the bridge's webhook with `setWebhook`, secret included."""

from __future__ import annotations

import secrets

from byoc.asgi import ASGIApp
from byoc.channel import Channel
from byoc.demo.kit import DemoKit
from byoc.testing.network import VirtualNetwork

from ..channel import TelegramChannel
from .emulator import TelegramEmulator
from .users import TelegramUser

__all__ = ["TelegramDemo"]


class TelegramDemo(DemoKit):
    """A Telegram bot on the emulator, and Telegram users to play."""

    name = "telegram"
    host = "telegram.test"
    user_label = "Telegram user"
    title = "Telegram"

    def __init__(self, network: VirtualNetwork) -> None:
        self._clients = [network.client(timeout=30.0) for _ in range(3)]
        self.emulator = TelegramEmulator(
            webhook_client=self._clients[0],
            fetch_client=self._clients[1],
            public_url=f"http://{self.host}",
            bot_username="byoc_demo_bot",
        )
        network.add(self.host, self.emulator.app)
        self._channel = TelegramChannel(
            bot_token=self.emulator.token,
            webhook_secret=secrets.token_urlsafe(24),
            api_url=self.emulator.api_url,
            http=self._clients[2],
        )
        self._users: dict[str, TelegramUser] = {}

    @property
    def channel(self) -> Channel:
        return self._channel

    @property
    def app(self) -> ASGIApp:
        return self.emulator.app

    def _user(self, name: str) -> TelegramUser:
        user = self._users.get(name)
        if user is None:
            user = self._users[name] = self.emulator.user(name)
        return user

    async def user_says(self, user: str, text: str) -> None:
        await self.emulator.send_text(self._user(user), text)

    def user_id(self, user: str) -> str:
        return str(self._user(user).id)

    def received(self, user: str) -> list[str]:
        return [
            m.text if m.text is not None else f"({m.method})"
            for m in self.emulator.sent_to(self._user(user).id)
        ]

    async def settle(self) -> None:
        await self.emulator.drain()

    def control_hints(self, base_url: str) -> list[str]:
        here = f"{base_url}/emulators/{self.name}/_emulator"
        return [
            f"""curl -s -X POST {here}/users -d '{{"first_name": "Alice"}}'  # answers its "id\"""",
            f"""curl -s -X POST {here}/send -d '{{"user_id": <id>, "text": "Hi!"}}'""",
            f"curl -s {here}/sent",
        ]

    async def aclose(self) -> None:
        await self.emulator.aclose()
        for client in self._clients:
            await client.aclose()
