"""The checks every example passes, through whatever test client its framework has.

Each example mounts the bridge under `/byoc`. A check posts a signed webhook from a
`FakeChannel` and sees it reach the Freshchat emulator, then has an agent answer and posts the
emulator's signed webhook back, and sees the answer reach the channel. Between steps the
bridge's durable queue is settled with `bridge.wait_idle()`, run on the loop the bridge lives
on (`run`), which differs from framework to framework.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
from starlette.applications import Starlette

from byoc.bridge import Bridge
from byoc.models import Text
from byoc.testing.fake_channel import FakeChannel

from ..helpdesk import Helpdesk

PREFIX = "/byoc"
CHANNEL_WEBHOOK = f"{PREFIX}/channels/fake/webhook"
MESSAGING_WEBHOOK = f"{PREFIX}/messaging/webhook"
# Non-ASCII on purpose: a framework that decoded and re-encoded the body would break signatures.
GREETING = "안녕하세요, 주문 확인 부탁드려요 👋"
REPLY = "네, 바로 확인해 드릴게요 😊"

Post = Callable[[str, bytes, dict[str, str]], int]
"""POST `body` with `headers` to a path through the framework's test client; the status."""
AsyncPost = Callable[[str, bytes, dict[str, str]], Awaitable[int]]
Run = Callable[[Callable[[], Awaitable[Any]]], Any]
"""Run a coroutine function on the bridge's event loop and wait for it."""


def replies(channel: FakeChannel, user: str = "minjun") -> list[str]:
    return [
        part.text
        for message in channel.outbox[user]
        for part in message.parts
        if isinstance(part, Text)
    ]


def round_trip(
    post: Post, run: Run, helpdesk: Helpdesk, channel: FakeChannel, bridge: Bridge
) -> None:
    """A user message reaches Freshchat; the agent's answer reaches the user."""
    body, headers = channel.user_message("minjun", GREETING)
    assert post(CHANNEL_WEBHOOK, body, headers) == 200
    run(bridge.wait_idle)
    conversation = helpdesk.conversation_of("fake:minjun")
    assert helpdesk.user_texts(conversation) == [GREETING]

    run(lambda: helpdesk.emulator.agent_reply(conversation, REPLY))
    webhooks = helpdesk.webhooks()
    assert webhooks
    for body, headers in webhooks:
        assert post(MESSAGING_WEBHOOK, body, headers) == 200
    run(bridge.wait_idle)
    assert replies(channel) == [REPLY]


async def async_round_trip(
    post: AsyncPost, helpdesk: Helpdesk, channel: FakeChannel, bridge: Bridge
) -> None:
    """`round_trip` for a framework whose test client runs on the test's own event loop."""
    body, headers = channel.user_message("minjun", GREETING)
    assert await post(CHANNEL_WEBHOOK, body, headers) == 200
    await bridge.wait_idle()
    conversation = helpdesk.conversation_of("fake:minjun")
    assert helpdesk.user_texts(conversation) == [GREETING]

    await helpdesk.emulator.agent_reply(conversation, REPLY)
    webhooks = helpdesk.webhooks()
    assert webhooks
    for body, headers in webhooks:
        assert await post(MESSAGING_WEBHOOK, body, headers) == 200
    await bridge.wait_idle()
    assert replies(channel) == [REPLY]


def forgeries(channel: FakeChannel) -> list[tuple[str, bytes, dict[str, str]]]:
    """Requests the bridge must refuse with 401, whatever framework is in front of it."""
    body, headers = channel.user_message("minjun", GREETING)
    reencoded = json.dumps(json.loads(body)).encode()  # \\uXXXX escapes: same JSON, other bytes
    assert reencoded != body
    return [
        (CHANNEL_WEBHOOK, body, {**headers, "x-fake-signature": "0" * 64}),
        (CHANNEL_WEBHOOK, reencoded, headers),
        (MESSAGING_WEBHOOK, b'{"action":"message_create","data":{}}', {}),
    ]


class AsgiWorld:
    """An example's ASGI app with the bridge mounted, and an httpx client on it."""

    def __init__(
        self, client: httpx.AsyncClient, helpdesk: Helpdesk, channel: FakeChannel, bridge: Bridge
    ) -> None:
        self.client, self.helpdesk, self.channel, self.bridge = client, helpdesk, channel, bridge

    async def post(self, path: str, body: bytes, headers: dict[str, str]) -> int:
        return (await self.client.post(path, content=body, headers=headers)).status_code


@asynccontextmanager
async def serving_starlette(
    create_app: Callable[[Bridge], Starlette], store: Path
) -> AsyncIterator[AsgiWorld]:
    """A Starlette or FastAPI example inside its lifespan, reached over `ASGITransport`.

    Starlette's TestClient now wants the `httpx2` package; the frameworks' documented way to
    test asynchronously is an httpx client on `ASGITransport`, with the lifespan entered here.
    """
    helpdesk, channel = Helpdesk(), FakeChannel()
    bridge = helpdesk.bridge([channel], store)
    app = create_app(bridge)
    transport = httpx.ASGITransport(app=app)
    try:
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=transport, base_url="http://shop.test") as client,
        ):
            yield AsgiWorld(client, helpdesk, channel, bridge)
    finally:
        await helpdesk.aclose()
