"""The Telegram part of the demo (`byoc demo --channel telegram`, `byoc serve` without
credentials): the emulator joins the demo's network as `telegram.test`, and `connect`
registers the bridge's webhook with `setWebhook`, secret included."""

from __future__ import annotations

import secrets

from byoc.demo.kit import DemoKit
from byoc.testing.emulation.demo_users import EmulatedDemo
from byoc.testing.network import VirtualNetwork

from ..channel import TelegramChannel
from .emulator import TelegramEmulator
from .users import TelegramUser

__all__ = ["TelegramDemo"]


class TelegramDemo(EmulatedDemo[TelegramEmulator, TelegramUser], DemoKit):
    """A Telegram bot on the emulator, and Telegram users to play."""

    name = "telegram"
    host = "telegram.test"
    user_label = "Telegram user"
    title = "Telegram"

    def __init__(self, network: VirtualNetwork) -> None:
        clients = [network.client(timeout=30.0) for _ in range(3)]
        emulator = TelegramEmulator(
            webhook_client=clients[0],
            fetch_client=clients[1],
            public_url=f"http://{self.host}",
            bot_username="byoc_demo_bot",
        )
        network.add(self.host, emulator.app)
        channel = TelegramChannel(
            bot_token=emulator.token,
            webhook_secret=secrets.token_urlsafe(24),
            api_url=emulator.api_url,
            http=clients[2],
        )
        super().__init__(emulator, channel, clients)

    def _new_user(self, name: str) -> TelegramUser:
        return self.emulator.user(name)

    async def user_says(self, user: str, text: str) -> None:
        await self.emulator.send_text(self._user(user), text)

    def user_id(self, user: str) -> str:
        return str(self._user(user).id)

    def received(self, user: str) -> list[str]:
        return [
            m.text if m.text is not None else f"({m.method})"
            for m in self.emulator.sent_to(self._user(user).id)
        ]

    def control_hints(self, base_url: str) -> list[str]:
        here = f"{base_url}/emulators/{self.name}/_emulator"
        return [
            f"""curl -s -X POST {here}/users -d '{{"first_name": "Alice"}}'  # answers its "id\"""",
            f"""curl -s -X POST {here}/send -d '{{"user_id": <id>, "text": "Hi!"}}'""",
            f"curl -s {here}/sent",
        ]
