"""The Telegram round trip's world: the Telegram and Freshchat emulators and the bridge on one
virtual network, every hop HTTP in its real wire format (as `tests/viber/roundtrip.py`)."""

from __future__ import annotations

from typing import Any

import attrs

from byoc.store import MemoryStore, Store
from byoc.testing.clock import FakeClock
from byoc.testing.media_host import MediaHost
from byoc.testing.rig import BRIDGE_URL, BridgeRig
from byoc_telegram import TelegramChannel
from byoc_telegram.testing import SentMessage, TelegramEmulator, TelegramUser

SECRET = "roundtrip-secret-0123456789"
WEBHOOK = f"{BRIDGE_URL}/channels/telegram/webhook"
FILES = "http://freshchat.test/_emulator/files/"
"""Where the Freshchat emulator serves uploads."""


@attrs.define
class Trip:
    """Everything on the network; the bridge's clock moves only when a test advances it."""

    rig: BridgeRig
    telegram: TelegramEmulator
    channel: TelegramChannel
    cdn: MediaHost
    bridge_clock: FakeClock

    async def settle(self) -> None:
        await self.rig.settle()

    def helpdesk_user(self, user: TelegramUser) -> dict[str, Any]:
        (found,) = self.rig.freshchat.users_by_reference(f"telegram:{user.id}")
        return found

    def conversation(self, user: TelegramUser) -> str:
        return self.rig.conversation_of(f"telegram:{user.id}")

    def written(self, user: TelegramUser) -> list[list[dict[str, Any]]]:
        """The message parts of what `user` wrote, as Freshchat holds them, oldest first."""
        return self.rig.user_parts(self.conversation(user))

    async def started(self, name: str = "Minjun") -> tuple[TelegramUser, str]:
        """A user who wrote once, and their conversation (for the agent to answer in)."""
        user = self.telegram.user(name)
        await self.telegram.send_text(user, "hello")
        await self.settle()
        return user, self.conversation(user)

    async def replied(
        self, conversation: str, user: TelegramUser, **reply: Any
    ) -> list[SentMessage]:
        """What `user` receives for an agent's reply."""
        before = len(self.telegram.sent_to(user.id))
        await self.rig.freshchat.agent_reply(conversation, **reply)
        await self.settle()
        return self.telegram.sent_to(user.id)[before:]


async def build_trip(rig: BridgeRig, delivery: str = "inline", store: Store | None = None) -> Trip:
    """The Telegram emulator and a CDN on the rig's network, a bridge with a Telegram channel
    pointing at the emulator, its webhook installed."""
    telegram_clock = FakeClock(autoadvance=True)
    telegram = TelegramEmulator(
        clock=telegram_clock,
        webhook_client=rig.client(),
        fetch_client=rig.client(),
        public_url="http://telegram.test",
    )
    rig.add_emulator("telegram.test", telegram)
    cdn = MediaHost("http://cdn.test")
    rig.network.add("cdn.test", cdn)
    channel = TelegramChannel(
        bot_token=telegram.token,
        webhook_secret=SECRET,
        api_url=telegram.api_url,
        http=rig.client(),
        clock=telegram_clock,
    )
    bridge_clock = FakeClock()
    rig.attach([channel], store=store or MemoryStore(), delivery=delivery, clock=bridge_clock)
    await rig.bridge.install(["telegram"])
    return Trip(rig=rig, telegram=telegram, channel=channel, cdn=cdn, bridge_clock=bridge_clock)


def kinds(parts: list[dict[str, Any]]) -> list[str]:
    """The kind of each Freshchat message part (`text`, `image`, `file`, ...)."""
    return [next(key for key, value in part.items() if value is not None) for part in parts]


def texts(parts: list[dict[str, Any]]) -> str:
    """The text parts, one per line."""
    return "\n".join(part["text"]["content"] for part in parts if part.get("text"))
