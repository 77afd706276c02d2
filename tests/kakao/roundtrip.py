"""KakaoTalk ↔ bridge ↔ Freshchat, all over HTTP on one `VirtualNetwork`.

`KakaoWorld` puts the HappyTalk and Open Builder emulators on a `BridgeRig`'s network, builds
both Kakao channels with clients on that network, and attaches them to the bridge through the
URLs `Bridge.install` hands out, the way an operator pastes them:

```
HappyTalk user ──webhook──► bridge.test ──REST──► freshchat.test ◄── agent
Open Builder user ──skill──►     │      ◄─webhook──     │
        ▲      ◄──chat/write / callback / Event API─────┘
```

The Kakao side (channels, emulators, store, the bridge's workers) runs on one `FakeClock`;
the Freshchat emulator keeps its own clock, so a test can slow Freshchat down without moving
the time Kakao's callbacks and media links expire by.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from byoc.bridge import Bridge, Delivery
from byoc.channel import Channel, InstallResult
from byoc.store import Store
from byoc.testing.clock import FakeClock
from byoc.testing.rig import BridgeRig
from byoc_kakao import HappyTalkDealer, KakaoChatbotChannel, KakaoDealerChannel
from byoc_kakao.testing import HappyTalkEmulator, OpenBuilderEmulator

from .rig import SKILL_SECRET, WEBHOOK_SECRET

HAPPYTALK_URL = "http://happytalk.test"
OPENBUILDER_URL = "http://openbuilder.test"

KOREAN = "환불 문의드려요 🙏 주문번호는 2024-001 입니다 😊 👩‍👩‍👧 🇰🇷"


class KakaoWorld:
    """Both Kakao routes wired to the bridge and Freshchat; see the module docstring."""

    def __init__(self, rig: BridgeRig, clock: FakeClock) -> None:
        self.rig = rig
        self.clock = clock
        self.freshchat = rig.freshchat
        self.happytalk = HappyTalkEmulator(clock=clock, http=rig.client(), base_url=HAPPYTALK_URL)
        self.openbuilder = OpenBuilderEmulator(
            clock=clock, http=rig.client(), base_url=OPENBUILDER_URL
        )
        rig.network.add("happytalk.test", self.happytalk.app)
        rig.network.add("openbuilder.test", self.openbuilder.app)
        self.dealer = KakaoDealerChannel(
            dealer=HappyTalkDealer(
                client_id=self.happytalk.client_id,
                client_secret=self.happytalk.client_secret,
                sender_key=self.happytalk.sender_key,
                api_url=HAPPYTALK_URL,
                http=rig.client(),
                clock=clock,
            ),
            webhook_secret=WEBHOOK_SECRET,
        )
        self.chatbot = KakaoChatbotChannel(
            bot_id=self.openbuilder.bot_id,
            rest_api_key=self.openbuilder.rest_api_key,
            skill_secret=SKILL_SECRET,
            event_api_url=OPENBUILDER_URL,
            callback_origins=OPENBUILDER_URL,
            media_origins=OPENBUILDER_URL,
            clock=clock,
            http=rig.client(),
        )
        self.installed: dict[str, InstallResult] = {}

    @property
    def bridge(self) -> Bridge:
        return self.rig.bridge

    async def attach(
        self, channels: Sequence[Channel], *, store: Store, delivery: Delivery = "durable"
    ) -> Bridge:
        """Build the bridge, install the channels, and point the emulators at the URLs."""
        bridge = self.rig.attach(channels, store=store, delivery=delivery, clock=self.clock)
        self.installed = await bridge.install([c.name for c in channels])
        if "kakao" in self.installed:
            self.happytalk.webhook_url = self.installed["kakao"].target_url
        if "kakao-chatbot" in self.installed:
            self.openbuilder.skill_url = self.installed["kakao-chatbot"].target_url
        return bridge

    async def settle(self) -> None:
        """Wait until every emulator and the bridge's queue are quiet."""
        for _ in range(20):
            before = self._activity()
            await self.happytalk.drain()
            await self.openbuilder.drain()
            await self.rig.settle()
            if self._activity() == before:
                return
        raise TimeoutError("the Kakao world did not settle")

    async def settle_through(self, slow: FakeClock, step: float) -> None:
        """`settle()` while work sleeps on `slow`: each time something sleeps, move `slow` on.

        For faults that delay Freshchat's answers by `step` seconds of `slow`'s time.
        """
        settling = asyncio.ensure_future(self.settle())
        while not settling.done():
            sleeping = asyncio.ensure_future(slow.wait_for_sleepers())
            await asyncio.wait({settling, sleeping}, return_when=asyncio.FIRST_COMPLETED)
            if sleeping.done():
                await slow.advance(step)
            else:
                sleeping.cancel()
        await settling

    def _activity(self) -> tuple[int, ...]:
        return (
            len(self.happytalk.deliveries),
            len(self.happytalk.timeline),
            len(self.openbuilder.event_calls),
            sum(len(u.bubbles) for u in self.openbuilder.users.values()),
            len(self.freshchat.emitted),
            self.freshchat.total_calls(),
        )

    # -- the help desk's side ------------------------------------------------------------------

    def conversation(self, channel: str, user_id: str) -> str:
        """The id of the channel user's one Freshchat conversation."""
        return self.rig.conversation_of(f"{channel}:{user_id}")

    async def fetch(self, url: str) -> bytes:
        """GET `url` on the network; the body of a 200 answer."""
        answer = await self.rig.http.get(url)
        assert answer.status_code == 200, (url, answer.status_code)
        return answer.content

    async def upload_file(self, name: str, data: bytes, content_type: str) -> str:
        """Upload a file as an agent would attach it; its `fileHash`."""
        answer = await self.rig.messaging.client.upload_file(name, data, content_type)
        return str(answer["file_hash"])
