"""A test rig for the KakaoTalk channels: a stand-in for the bridge webhook route.

`ChannelEndpoint` does what the bridge's HTTP surface will do with a channel webhook (build a
`WebhookRequest`, `parse`, `ack`, map `RequestError`s to their status), and records the events,
so the channels can be driven over HTTP by their emulators before the bridge exists.
"""

from __future__ import annotations

import asyncio
from typing import Any

import attrs
import httpx

from byoc.asgi import Receive, Scope, Send, query_params, read_body, request_headers, send_response
from byoc.channel import Channel
from byoc.errors import RequestError
from byoc.models import ChannelEvent
from byoc.store import MemoryStore
from byoc.testing.clock import FakeClock
from byoc.testing.media_host import MediaHost
from byoc.webhook import WebhookRequest
from byoc_kakao import KakaoChatbotChannel, KakaoDealerChannel
from byoc_kakao.testing import HappyTalkEmulator, OpenBuilderEmulator

WEBHOOK_SECRET = "s3cret-path-segment-0123456789abcdef"
SKILL_SECRET = "skill-secret-0123456789abcdefghij"


class ChannelEndpoint:
    """`POST /channels/<name>/webhook[/<subpath>]` → `channel.parse` then `channel.ack`."""

    def __init__(self, channel: Channel) -> None:
        self.channel = channel
        self.events: list[ChannelEvent] = []
        self.requests: list[WebhookRequest] = []
        self.fail_next: list[int] = []
        self._arrived = asyncio.Condition()

    async def wait_for_events(self, count: int) -> list[ChannelEvent]:
        """Wait until `count` events arrived (for callers that cannot `drain` the sender)."""
        async with self._arrived:
            await self._arrived.wait_for(lambda: len(self.events) >= count)
        return self.events

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert scope["type"] == "http"
        prefix = f"/channels/{self.channel.name}/webhook"
        path: str = scope["path"]
        if not path.startswith(prefix):
            await send_response(send, 404, b'{"error":"not found"}')
            return
        request = WebhookRequest(
            body=await read_body(receive),
            headers=request_headers(scope),
            method=scope["method"],
            path=path,
            query=query_params(scope),
            subpath=path[len(prefix) :].strip("/"),
        )
        self.requests.append(request)
        if self.fail_next:
            await send_response(send, self.fail_next.pop(0), b'{"error":"down"}')
            return
        try:
            events = await self.channel.parse(request)
        except RequestError as exc:
            body = f'{{"error":"{type(exc).__name__}"}}'.encode()
            await send_response(send, exc.status_code, body)
            return
        async with self._arrived:
            self.events.extend(events)
            self._arrived.notify_all()
        answer = await self.channel.ack(request, events)
        await send_response(
            send,
            answer.status,
            answer.body,
            content_type=answer.content_type,
            headers=answer.headers,
        )


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
