"""examples/aiohttp_app.py through aiohttp's TestClient and TestServer (start-up and clean-up)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from byoc.bridge import Bridge
from byoc.testing.fake_channel import FakeChannel
from examples import aiohttp_app

from ..helpdesk import Helpdesk
from .support import async_round_trip, forgeries


class World:
    def __init__(
        self,
        client: TestClient[web.Request, web.Application],
        helpdesk: Helpdesk,
        channel: FakeChannel,
        bridge: Bridge,
    ) -> None:
        self.client, self.helpdesk, self.channel, self.bridge = client, helpdesk, channel, bridge

    async def post(self, path: str, body: bytes, headers: dict[str, str]) -> int:
        async with self.client.post(path, data=body, headers=headers) as response:
            return response.status


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    helpdesk, channel = Helpdesk(), FakeChannel()
    bridge = helpdesk.bridge([channel], tmp_path / "byoc.sqlite3")
    async with TestClient(TestServer(aiohttp_app.create_app(bridge))) as client:
        yield World(client, helpdesk, channel, bridge)
    await helpdesk.aclose()


async def test_a_message_goes_round_trip_under_the_prefix(world: World) -> None:
    await async_round_trip(world.post, world.helpdesk, world.channel, world.bridge)


async def test_forged_or_reencoded_webhooks_are_refused(world: World) -> None:
    for path, body, headers in forgeries(world.channel):
        assert await world.post(path, body, headers) == 401


async def test_the_apps_own_routes_and_the_bridges_health(world: World) -> None:
    async with world.client.get("/") as index:
        assert await index.json() == {"shop": "open"}
    async with world.client.get("/byoc/healthz") as health:
        assert await health.json() == {"status": "ok"}
    async with world.client.get("/byocx/healthz") as elsewhere:
        assert elsewhere.status == 404  # not the bridge's: the prefix ends at its slash


async def test_start_up_and_clean_up_start_and_close_the_bridge(tmp_path: Path) -> None:
    helpdesk = Helpdesk()
    bridge = helpdesk.bridge([FakeChannel()], tmp_path / "byoc.sqlite3")
    async with TestClient(TestServer(aiohttp_app.create_app(bridge))):
        assert bridge.started
    assert not bridge.started
    with pytest.raises(RuntimeError, match="closed"):
        bridge.store.lock("x")
    await helpdesk.aclose()
