"""A test rig for the KakaoTalk channels: each channel behind `ChannelEndpoint` (its webhook
route without a bridge), driven over HTTP by its emulator."""

from __future__ import annotations

from typing import Any

import attrs
import httpx

from byoc.store import MemoryStore
from byoc.testing.channel_endpoint import ChannelEndpoint
from byoc.testing.clock import FakeClock
from byoc.testing.media_host import MediaHost
from byoc_kakao import KakaoChatbotChannel, KakaoDealerChannel
from byoc_kakao.testing import HappyTalkEmulator, OpenBuilderEmulator

WEBHOOK_SECRET = "s3cret-path-segment-0123456789abcdef"
SKILL_SECRET = "skill-secret-0123456789abcdefghij"


def client_for(app: Any, base_url: str = "http://testserver") -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=base_url)


@attrs.define
class DealerRig:
    emulator: HappyTalkEmulator
    channel: KakaoDealerChannel
    endpoint: ChannelEndpoint
    store: MemoryStore
    clock: FakeClock
    cdn: MediaHost

    @property
    def webhook_url(self) -> str:
        return f"http://bridge.test/channels/kakao/webhook/{WEBHOOK_SECRET}"


@attrs.define
class ChatbotRig:
    emulator: OpenBuilderEmulator
    channel: KakaoChatbotChannel
    endpoint: ChannelEndpoint
    store: MemoryStore
    clock: FakeClock


def make_chatbot_rig(
    store: MemoryStore, clock: FakeClock, **emulator_options: Any
) -> tuple[ChatbotRig, list[httpx.AsyncClient]]:
    emulator = OpenBuilderEmulator(
        clock=clock,
        skill_url=f"http://bridge.test/channels/kakao-chatbot/webhook/{SKILL_SECRET}",
        **emulator_options,
    )
    kakao_http = client_for(emulator.app, emulator.base_url)
    channel = KakaoChatbotChannel(
        bot_id=emulator.bot_id,
        rest_api_key=emulator.rest_api_key,
        skill_secret=SKILL_SECRET,
        event_api_url=emulator.base_url,
        callback_origins=emulator.base_url,
        media_origins=emulator.base_url,
        clock=clock,
        http=kakao_http,
    )
    channel.bind(store)
    endpoint = ChannelEndpoint(channel)
    bridge_http = client_for(endpoint, "http://bridge.test")
    emulator.http = bridge_http
    rig = ChatbotRig(
        emulator=emulator, channel=channel, endpoint=endpoint, store=store, clock=clock
    )
    return rig, [kakao_http, bridge_http]
