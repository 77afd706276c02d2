"""Fixtures: the Telegram emulator and a `TelegramChannel` on a virtual network, the channel's
webhook served by a `ChannelEndpoint` (no bridge), and a CDN for what agents attach."""

from __future__ import annotations

from collections.abc import AsyncIterator

import attrs
import httpx
import pytest

from byoc.store import MemoryStore
from byoc.testing.channel_endpoint import ChannelEndpoint
from byoc.testing.clock import FakeClock
from byoc.testing.media_host import MediaHost
from byoc.testing.network import VirtualNetwork
from byoc_telegram import TelegramChannel
from byoc_telegram.testing import TelegramEmulator
from tests.core.cli.support import ensure_declared_entry_points

SECRET = "test-secret-0123456789abcdef"
WEBHOOK_URL = "http://bridge.test/channels/telegram/webhook"


@attrs.define
class World:
    """An emulator, a channel calling it, the endpoint its updates reach, and a CDN."""

    emulator: TelegramEmulator
    channel: TelegramChannel
    endpoint: ChannelEndpoint
    network: VirtualNetwork
    store: MemoryStore
    cdn: MediaHost
    clock: FakeClock


@pytest.fixture(scope="session", autouse=True)
def declared_entry_points(tmp_path_factory: pytest.TempPathFactory) -> None:
    # The `telegram` entry points are new: an environment installed from an older checkout
    # lacks them, and `byoc serve` / `byoc emulate` in a subprocess would not find the plugin.
    ensure_declared_entry_points(tmp_path_factory.mktemp("entry-points"))


@pytest.fixture
async def world() -> AsyncIterator[World]:
    network = VirtualNetwork()
    clients = [network.client(timeout=10.0) for _ in range(3)]
    clock = FakeClock(autoadvance=True)
    emulator = TelegramEmulator(clock=clock, webhook_client=clients[0], fetch_client=clients[1])
    network.add("telegram.test", emulator)
    channel = TelegramChannel(
        bot_token=emulator.token,
        webhook_secret=SECRET,
        api_url=emulator.api_url,
        http=clients[2],
        clock=clock,
    )
    store = MemoryStore()
    channel.bind(store)
    endpoint = ChannelEndpoint(channel)
    network.add("bridge.test", endpoint)
    cdn = MediaHost("http://cdn.test")
    network.add("cdn.test", cdn)
    await channel.install(WEBHOOK_URL)
    yield World(
        emulator=emulator,
        channel=channel,
        endpoint=endpoint,
        network=network,
        store=store,
        cdn=cdn,
        clock=clock,
    )
    await emulator.aclose()
    await channel.aclose()
    for client in clients:
        await client.aclose()


@pytest.fixture
async def http(world: World) -> AsyncIterator[httpx.AsyncClient]:
    """A client on the world's network, for calls a test makes itself."""
    async with world.network.client(timeout=10.0) as client:
        yield client
