"""The whole bridge over HTTP with Chatwoot: a channel's webhook in, Chatwoot's webhook out."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from byoc.bridge import Bridge
from byoc.chatwoot import ChatwootMessaging
from byoc.store import MemoryStore
from byoc.testing.chatwoot import ChatwootEmulator
from byoc.testing.clock import FakeClock
from byoc.testing.fake_channel import FakeChannel
from byoc.testing.network import VirtualNetwork

from .conftest import CHATWOOT_URL

BRIDGE = "http://bridge.test"


@pytest.fixture
async def world(
    network: VirtualNetwork, clock: FakeClock
) -> AsyncIterator[tuple[Bridge, ChatwootEmulator, FakeChannel, httpx.AsyncClient]]:
    async with network.client(timeout=5.0) as http:
        chatwoot = ChatwootEmulator(
            webhook_url=f"{BRIDGE}/messaging/webhook", webhook_http=http, clock=clock
        )
        network.add("chatwoot.test", chatwoot.app)
        channel = FakeChannel()
        messaging = ChatwootMessaging(
            url=CHATWOOT_URL,
            account_id=1,
            inbox_id=1,
            token=chatwoot.token,
            hmac_token=chatwoot.inbox.secret,
            clock=clock,
            http=http,
        )
        bridge = Bridge(
            messaging=messaging, channels=[channel], store=MemoryStore(), public_url=BRIDGE
        )
        network.add("bridge.test", bridge)
        yield bridge, chatwoot, channel, http
        await bridge.aclose()
        await chatwoot.aclose()


async def _settle(bridge: Bridge, chatwoot: ChatwootEmulator) -> None:
    for _ in range(3):
        await bridge.wait_idle()
        await chatwoot.drain()
    await bridge.wait_idle()


async def test_a_message_goes_round_trip_through_the_bridge(
    world: tuple[Bridge, ChatwootEmulator, FakeChannel, httpx.AsyncClient],
) -> None:
    bridge, chatwoot, channel, http = world
    body, headers = channel.user_message("alice", "안녕하세요, 주문 문의요")
    answer = await http.post(f"{BRIDGE}/channels/fake/webhook", content=body, headers=headers)
    assert answer.status_code == 200
    await _settle(bridge, chatwoot)
    [conversation] = chatwoot.conversations()
    [message] = chatwoot.conversation_messages(conversation["id"])
    assert (message["content"], message["message_type"]) == ("안녕하세요, 주문 문의요", 0)

    await chatwoot.private_note(conversation["id"], "check the order first")
    await chatwoot.agent_reply(conversation["id"], "네, 주문번호를 알려주세요")
    await _settle(bridge, chatwoot)
    [reply] = await channel.wait_for_replies("alice", 1)
    assert [p.text for p in reply.parts] == ["네, 주문번호를 알려주세요"]  # type: ignore[union-attr]
    assert len(channel.outbox["alice"]) == 1  # the echo and the note stayed in Chatwoot


async def test_a_forged_chatwoot_webhook_is_refused(
    world: tuple[Bridge, ChatwootEmulator, FakeChannel, httpx.AsyncClient],
) -> None:
    _, _, _, http = world
    forged = b'{"event":"message_created","id":1,"message_type":"outgoing","conversation":{"id":1}}'
    headers = {
        "content-type": "application/json",
        "x-chatwoot-timestamp": "1700000000",
        "x-chatwoot-signature": "sha256=" + "0" * 64,
    }
    answer = await http.post(f"{BRIDGE}/messaging/webhook", content=forged, headers=headers)
    assert answer.status_code == 401
