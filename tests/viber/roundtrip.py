"""The Viber round trip's world: Viber and Freshchat emulators and the bridge on one network.

The Viber emulator (`viber.test`), the bridge (`bridge.test`), the Freshchat emulator
(`freshchat.test`) and a CDN holding what agents link (`cdn.test`) share a virtual network;
every hop is HTTP in its real wire format.
"""

from __future__ import annotations

from typing import Any

import attrs

from byoc.store import MemoryStore, SQLiteStore
from byoc.testing.clock import FakeClock
from byoc.testing.media_host import MediaHost
from byoc.testing.rig import BRIDGE_URL, BridgeRig
from byoc_viber import ViberChannel
from byoc_viber.testing import SimulatedUser, ViberEmulator

TOKEN = "44dafb7e0f40021e-61a47a1e6778d187-f2c5a676a07050b3"
WEBHOOK = f"{BRIDGE_URL}/channels/viber/webhook"
WELCOME = "Hi! An agent will answer shortly."
FILES = "http://freshchat.test/_emulator/files/"
"""Where the Freshchat emulator serves uploads."""


@attrs.define
class Trip:
    """Everything on the network. The Viber emulator's clock runs as fast as it sleeps (an hour
    of callback retries takes no time); the bridge's moves only when a test advances it."""

    rig: BridgeRig
    viber: ViberEmulator
    viber_clock: FakeClock
    channel: ViberChannel
    cdn: MediaHost
    bridge_clock: FakeClock

    async def settle(self) -> None:
        await self.rig.settle()

    def user(self, **profile: Any) -> SimulatedUser:
        return self.viber.user(**profile)

    def helpdesk_user(self, user: SimulatedUser) -> dict[str, Any]:
        (found,) = self.rig.freshchat.users_by_reference(f"viber:{user.id}")
        return found

    def conversation(self, user: SimulatedUser) -> str:
        return self.rig.conversation_of(f"viber:{user.id}")

    def written(self, user: SimulatedUser) -> list[list[dict[str, Any]]]:
        """The message parts of what `user` wrote, as Freshchat holds them, oldest first."""
        return self.rig.user_parts(self.conversation(user))


async def build_trip(
    rig: BridgeRig, delivery: str, store: MemoryStore | SQLiteStore, *, install: bool = True
) -> Trip:
    """Put the Viber emulator and a CDN on the rig's network, attach a bridge with a Viber
    channel pointing at the emulator, and (unless told not to) install its webhook."""
    viber_clock = FakeClock(autoadvance=True)
    viber = ViberEmulator(
        token=TOKEN, clock=viber_clock, callback_client=rig.client(), public_url="http://viber.test"
    )
    rig.add_emulator("viber.test", viber)
    cdn = MediaHost("http://cdn.test")
    rig.network.add("cdn.test", cdn)
    channel = ViberChannel(
        auth_token=TOKEN,
        sender_name="Acme Support",
        api_url=viber.api_url,
        http=rig.client(),
        welcome_message=WELCOME,
        clock=viber_clock,
    )
    bridge_clock = FakeClock()
    rig.attach([channel], store=store, delivery=delivery, clock=bridge_clock)
    if install:
        await rig.bridge.install(["viber"])
    return Trip(
        rig=rig,
        viber=viber,
        viber_clock=viber_clock,
        channel=channel,
        cdn=cdn,
        bridge_clock=bridge_clock,
    )


def kinds(parts: list[dict[str, Any]]) -> list[str]:
    """The kind of each Freshchat message part (`text`, `image`, `file`, ...)."""
    return [next(key for key, value in part.items() if value is not None) for part in parts]


def texts(parts: list[dict[str, Any]]) -> str:
    """The text parts, one per line."""
    return "\n".join(part["text"]["content"] for part in parts if part.get("text"))
