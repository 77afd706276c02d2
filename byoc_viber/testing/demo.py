"""The Viber part of the demo (`byoc demo`, `byoc serve` without credentials).

The Viber emulator joins the demo's virtual network as `viber.test`; the channel is configured
against it, and `connect` registers the bridge's webhook with `set_webhook`, which the emulator
verifies by calling the bridge back, as Viber does.
"""

from __future__ import annotations

from byoc.asgi import ASGIApp
from byoc.channel import Channel
from byoc.demo.kit import DemoKit
from byoc.testing.network import VirtualNetwork

from ..channel import ViberChannel
from .emulator import ViberEmulator
from .users import SimulatedUser

__all__ = ["ViberDemo"]


class ViberDemo(DemoKit):
    """A Viber bot on the emulator, and Viber users to play."""

    name = "viber"
    host = "viber.test"
    user_label = "Viber user"
    title = "Viber"

    def __init__(self, network: VirtualNetwork) -> None:
        self._clients = [network.client(timeout=30.0), network.client(timeout=30.0)]
        self.emulator = ViberEmulator(
            callback_client=self._clients[0],
            public_url=f"http://{self.host}",
            account_name="byoc demo",
        )
        network.add(self.host, self.emulator.app)
        self._channel = ViberChannel(
            auth_token=self.emulator.token,
            sender_name="Support (demo)",
            api_url=self.emulator.api_url,
            http=self._clients[1],
        )
        self._users: dict[str, SimulatedUser] = {}

    @property
    def channel(self) -> Channel:
        return self._channel

    @property
    def app(self) -> ASGIApp:
        return self.emulator.app

    def _user(self, name: str) -> SimulatedUser:
        user = self._users.get(name)
        if user is None:
            user = self._users[name] = self.emulator.user(name=name)
        return user

    async def user_says(self, user: str, text: str) -> None:
        await self._user(user).send_text(text)

    def user_id(self, user: str) -> str:
        return self._user(user).id

    def received(self, user: str) -> list[str]:
        return [
            m.text if m.text is not None else f"({m.type})"
            for m in self.emulator.sent_to(self._user(user).id)
            if not m.welcome
        ]

    async def settle(self) -> None:
        await self.emulator.drain()

    def control_hints(self, base_url: str) -> list[str]:
        here = f"{base_url}/emulators/{self.name}/_emulator"
        return [
            f"""curl -s -X POST {here}/users -d '{{"name": "Alice"}}'   # answers its "id\"""",
            f"""curl -s -X POST {here}/send -d '{{"user_id": "<id>", """
            """"message": {"type": "text", "text": "Hi!"}}'""",
            f"curl -s {here}/sent",
        ]

    async def aclose(self) -> None:
        await self.emulator.aclose()
        for client in self._clients:
            await client.aclose()
