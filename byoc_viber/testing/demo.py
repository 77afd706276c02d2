"""The Viber part of the demo (`byoc demo`, `byoc serve` without credentials).

The Viber emulator joins the demo's virtual network as `viber.test`; the channel is configured
against it, and `connect` registers the bridge's webhook with `set_webhook`, which the emulator
verifies by calling the bridge back, as Viber does.
"""

from __future__ import annotations

from byoc.demo.kit import DemoKit
from byoc.testing.emulation.demo_users import EmulatedDemo
from byoc.testing.network import VirtualNetwork

from ..channel import ViberChannel
from .emulator import ViberEmulator
from .users import SimulatedUser

__all__ = ["ViberDemo"]


class ViberDemo(EmulatedDemo[ViberEmulator, SimulatedUser], DemoKit):
    """A Viber bot on the emulator, and Viber users to play."""

    name = "viber"
    host = "viber.test"
    user_label = "Viber user"
    title = "Viber"

    def __init__(self, network: VirtualNetwork) -> None:
        clients = [network.client(timeout=30.0), network.client(timeout=30.0)]
        emulator = ViberEmulator(
            callback_client=clients[0],
            public_url=f"http://{self.host}",
            account_name="byoc demo",
        )
        network.add(self.host, emulator.app)
        channel = ViberChannel(
            auth_token=emulator.token,
            sender_name="Support (demo)",
            api_url=emulator.api_url,
            http=clients[1],
        )
        super().__init__(emulator, channel, clients)

    def _new_user(self, name: str) -> SimulatedUser:
        return self.emulator.user(name=name)

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

    def control_hints(self, base_url: str) -> list[str]:
        here = f"{base_url}/emulators/{self.name}/_emulator"
        return [
            f"""curl -s -X POST {here}/users -d '{{"name": "Alice"}}'   # answers its "id\"""",
            f"""curl -s -X POST {here}/send -d '{{"user_id": "<id>", """
            """"message": {"type": "text", "text": "Hi!"}}'""",
            f"curl -s {here}/sent",
        ]
