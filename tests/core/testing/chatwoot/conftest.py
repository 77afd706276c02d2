"""Fixtures for the Chatwoot emulator's tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from chatwoot_doubles import HOOK_URL, Receiver, Steps

from byoc.testing.chatwoot import ChatwootEmulator
from byoc.testing.clock import FakeClock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(autoadvance=True)


@pytest.fixture
def receiver() -> Receiver:
    return Receiver()


@pytest.fixture
async def emulator(receiver: Receiver, clock: FakeClock) -> AsyncIterator[ChatwootEmulator]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=receiver.app)) as to_bridge:
        async with ChatwootEmulator(
            webhook_url=HOOK_URL,
            webhook_http=to_bridge,
            retry_delays=(1.0, 5.0, 30.0),
            clock=clock,
        ) as chatwoot:
            yield chatwoot


@pytest.fixture
async def api(emulator: ChatwootEmulator) -> AsyncIterator[httpx.AsyncClient]:
    async with emulator.client(authenticated=True) as client:
        yield client


@pytest.fixture
async def control(emulator: ChatwootEmulator) -> AsyncIterator[httpx.AsyncClient]:
    """A client for the control endpoints (no API token)."""
    async with emulator.client() as client:
        yield client


@pytest.fixture
def steps(emulator: ChatwootEmulator, api: httpx.AsyncClient) -> Steps:
    return Steps(emulator, api)
