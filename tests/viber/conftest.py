"""Fixtures: a Viber emulator whose callbacks reach a `ViberChannel` behind a `ChannelEndpoint`
(its webhook route without a bridge) on a virtual network."""

from __future__ import annotations

from collections.abc import AsyncIterator

import attrs
import pytest

from byoc.testing.channel_endpoint import ChannelEndpoint
from byoc.testing.clock import FakeClock
from byoc.testing.network import VirtualNetwork
from byoc_viber import ViberChannel
from byoc_viber.testing import ViberEmulator

from .support import TOKEN, WEBHOOK_URL, make_channel


@attrs.define
class World:
    """An emulator, a channel talking to it, and the endpoint its callbacks reach."""

    emulator: ViberEmulator
    channel: ViberChannel
    app: ChannelEndpoint
    clock: FakeClock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(autoadvance=True)


@pytest.fixture
async def world(clock: FakeClock) -> AsyncIterator[World]:
    network = VirtualNetwork()
    callbacks = network.client(timeout=10.0)
    emulator = ViberEmulator(
        token=TOKEN, clock=clock, callback_client=callbacks, retry_schedule=(1, 5, 30, 120, 600)
    )
    http = emulator.client()
    channel = make_channel(emulator, http)
    app = ChannelEndpoint(channel)
    network.add("bridge.test", app)
    yield World(emulator=emulator, channel=channel, app=app, clock=clock)
    await emulator.aclose()
    await http.aclose()
    await callbacks.aclose()


@pytest.fixture
async def installed(world: World) -> World:
    """The world with the webhook registered (and verified) through `install`."""
    await world.channel.install(WEBHOOK_URL)
    return world
