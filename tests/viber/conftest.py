"""Fixtures: a Viber emulator whose callbacks reach a `ViberChannel` over in-process HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator

import attrs
import httpx
import pytest

from byoc.testing.clock import FakeClock
from byoc_viber import ViberChannel
from byoc_viber.testing import ViberEmulator

from .support import TOKEN, WEBHOOK_URL, ChannelApp, make_channel


@attrs.define
class World:
    """An emulator, a channel talking to it, and the webhook app its callbacks reach."""

    emulator: ViberEmulator
    channel: ViberChannel
    app: ChannelApp
    clock: FakeClock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(autoadvance=True)


@pytest.fixture
async def world(clock: FakeClock) -> AsyncIterator[World]:
    app = ChannelApp()
    callbacks = httpx.AsyncClient(transport=httpx.ASGITransport(app=app))
    emulator = ViberEmulator(
        token=TOKEN, clock=clock, callback_client=callbacks, retry_schedule=(1, 5, 30, 120, 600)
    )
    http = emulator.client()
    channel = make_channel(emulator, http)
    app.channel = channel
    yield World(emulator=emulator, channel=channel, app=app, clock=clock)
    await emulator.aclose()
    await http.aclose()
    await callbacks.aclose()


@pytest.fixture
async def installed(world: World) -> World:
    """The world with the webhook registered (and verified) through `install`."""
    await world.channel.install(WEBHOOK_URL)
    return world
