"""Fixtures wiring each KakaoTalk channel to its emulator in-process (see `rig.py`)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from byoc.store import MemoryStore
from byoc.testing.clock import FakeClock
from byoc.testing.media_host import MediaHost
from byoc.testing.network import VirtualNetwork
from byoc_kakao import HappyTalkDealer, KakaoDealerChannel
from byoc_kakao.testing import HappyTalkEmulator

from .rig import (
    WEBHOOK_SECRET,
    ChannelEndpoint,
    ChatbotRig,
    DealerRig,
    client_for,
    make_chatbot_rig,
)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(clock: FakeClock) -> MemoryStore:
    return MemoryStore(clock=clock)


@pytest.fixture
async def dealer(store: MemoryStore, clock: FakeClock) -> AsyncIterator[DealerRig]:
    """The `kakao` channel and a HappyTalk emulator wired to each other in-process, with a
    CDN (`cdn.example.com`) holding what agents attach."""
    emulator = HappyTalkEmulator(clock=clock)
    network = VirtualNetwork()
    network.add("happytalk.test", emulator.app)
    cdn = MediaHost("https://cdn.example.com")
    network.add("cdn.example.com", cdn)
    dealer_http = httpx.AsyncClient(transport=network)
    channel = KakaoDealerChannel(
        dealer=HappyTalkDealer(
            client_id=emulator.client_id,
            client_secret=emulator.client_secret,
            sender_key=emulator.sender_key,
            api_url="http://happytalk.test",
            http=dealer_http,
            clock=clock,
        ),
        webhook_secret=WEBHOOK_SECRET,
    )
    channel.bind(store)
    endpoint = ChannelEndpoint(channel)
    bridge_http = client_for(endpoint, "http://bridge.test")
    emulator.http = bridge_http
    rig = DealerRig(
        emulator=emulator, channel=channel, endpoint=endpoint, store=store, clock=clock, cdn=cdn
    )
    emulator.webhook_url = rig.webhook_url
    yield rig
    await emulator.aclose()
    await bridge_http.aclose()
    await dealer_http.aclose()


@pytest.fixture
async def chatbot(store: MemoryStore, clock: FakeClock) -> AsyncIterator[ChatbotRig]:
    """The `kakao-chatbot` channel and an Open Builder emulator wired to each other in-process."""
    rig, clients = make_chatbot_rig(store, clock)
    yield rig
    await rig.emulator.aclose()
    for client in clients:
        await client.aclose()
