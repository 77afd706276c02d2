"""examples/server.py: uvicorn on a real local port, the emulator's webhooks over real HTTP."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from byoc.bridge import Bridge
from byoc.store import SQLiteStore
from byoc.testing.fake_channel import FakeChannel
from examples import server

from ..helpdesk import Helpdesk
from .support import async_round_trip, forgeries, replies


class World:
    def __init__(
        self,
        base_url: str,
        helpdesk: Helpdesk,
        channel: FakeChannel,
        bridge: Bridge,
        stripped: str,
    ) -> None:
        self.helpdesk, self.channel, self.bridge = helpdesk, channel, bridge
        self.base_url = base_url
        self.stripped = stripped
        self.client = httpx.AsyncClient(base_url=base_url)

    def url(self, path: str) -> str:
        """`path` (under /byoc) as it reaches the server: without the prefix a proxy strips."""
        return path.removeprefix(self.stripped)

    async def post(self, path: str, body: bytes, headers: dict[str, str]) -> int:
        response = await self.client.post(self.url(path), content=body, headers=headers)
        return response.status_code


def listening_socket() -> socket.socket:
    # Bound and listening before uvicorn starts, so the port is known and no connection is
    # refused while the server is still starting up.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    return sock


@pytest.fixture(params=["", "/byoc"], ids=["prefix-forwarded", "prefix-stripped"])
async def world(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[World]:
    """The server behind a proxy that forwards the /byoc prefix, or strips it (`--root-path`)."""
    helpdesk, channel = Helpdesk(), FakeChannel()
    bridge = helpdesk.bridge([channel], tmp_path / "byoc.sqlite3")
    sock = listening_socket()
    port = sock.getsockname()[1]
    root_path: str = request.param
    uvicorn_server = server.build_server(bridge, root_path=root_path)
    serving = asyncio.create_task(uvicorn_server.serve(sockets=[sock]))
    world = World(f"http://127.0.0.1:{port}", helpdesk, channel, bridge, root_path)
    try:
        yield world
    finally:
        uvicorn_server.should_exit = True
        await serving
        sock.close()
        await world.client.aclose()
        await helpdesk.aclose()


async def test_a_message_goes_round_trip_under_the_prefix(world: World) -> None:
    await async_round_trip(world.post, world.helpdesk, world.channel, world.bridge)


async def test_the_emulators_own_webhooks_reach_the_server(world: World) -> None:
    """The reply leg as Freshchat does it: the emulator posts (and retries) over HTTP itself."""
    body, headers = world.channel.user_message("minjun", "hello")
    assert await world.post("/byoc/channels/fake/webhook", body, headers) == 200
    await world.bridge.wait_idle()
    conversation = world.helpdesk.conversation_of("fake:minjun")
    world.helpdesk.emulator.webhook_url = world.base_url + world.url("/byoc/messaging/webhook")
    await world.helpdesk.emulator.agent_reply(conversation, "hi there")
    await world.helpdesk.emulator.drain()
    await world.bridge.wait_idle()
    assert replies(world.channel) == ["hi there"]


async def test_forged_or_reencoded_webhooks_are_refused(world: World) -> None:
    for path, body, headers in forgeries(world.channel):
        assert await world.post(path, body, headers) == 401


async def test_shutdown_finishes_deliveries_and_closes_the_store(tmp_path: Path) -> None:
    helpdesk, channel = Helpdesk(), FakeChannel()
    store = tmp_path / "byoc.sqlite3"
    bridge = helpdesk.bridge([channel], store)
    sock = listening_socket()
    uvicorn_server = server.build_server(bridge)
    serving = asyncio.create_task(uvicorn_server.serve(sockets=[sock]))
    body, headers = channel.user_message("minjun", "just before shutdown")
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{sock.getsockname()[1]}") as client:
        accepted = await client.post("/channels/fake/webhook", content=body, headers=headers)
    assert accepted.status_code == 200
    uvicorn_server.should_exit = True
    await serving
    sock.close()
    assert not bridge.started
    with pytest.raises(RuntimeError, match="closed"):
        bridge.store.lock("x")
    # Delivered before the store closed, or left queued for the next start: never lost.
    delivered = helpdesk.emulator.users_by_reference("fake:minjun") != []
    reopened = SQLiteStore(store)
    try:
        assert await reopened.depth() == (0 if delivered else 1)
    finally:
        await reopened.aclose()
    await helpdesk.aclose()


async def test_the_server_does_not_start_without_a_usable_store(tmp_path: Path) -> None:
    """A store that fails at start-up stops the server instead of serving without one."""
    helpdesk = Helpdesk()
    bridge = helpdesk.bridge([FakeChannel()], tmp_path / "byoc.sqlite3")
    await bridge.store.aclose()  # as if the file had become unusable
    sock = listening_socket()
    uvicorn_server = server.build_server(bridge)
    try:
        with pytest.raises(SystemExit):
            await uvicorn_server.serve(sockets=[sock])
    finally:
        sock.close()
    assert not uvicorn_server.started
    await helpdesk.aclose()
