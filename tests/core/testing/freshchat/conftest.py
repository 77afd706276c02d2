"""Fixtures for the Freshchat emulator's tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from freshchat_doubles import HOOK_URL, Receiver, Steps

from byoc.testing.clock import FakeClock
from byoc.testing.freshchat import FreshchatEmulator, WebhookKey


@pytest.fixture(scope="session")
def webhook_key() -> WebhookKey:
    return WebhookKey.generate()


@pytest.fixture
def clock() -> FakeClock:
    # Time moves only as the emulator sleeps (its webhook retries), from a fixed start.
    return FakeClock(start=1_629_187_582.803, autoadvance=True)


@pytest.fixture
def receiver() -> Receiver:
    return Receiver()


@pytest.fixture
async def emulator(
    webhook_key: WebhookKey, receiver: Receiver, clock: FakeClock
) -> AsyncIterator[FreshchatEmulator]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=receiver.app)) as to_bridge:
        async with FreshchatEmulator(
            webhook_url=HOOK_URL,
            webhook_http=to_bridge,
            key=webhook_key,
            retry_delays=(1.0, 5.0, 30.0),
            clock=clock,
        ) as fc:
            yield fc


@pytest.fixture
async def api(emulator: FreshchatEmulator) -> AsyncIterator[httpx.AsyncClient]:
    async with emulator.client(authenticated=True) as client:
        yield client


@pytest.fixture
async def control(emulator: FreshchatEmulator) -> AsyncIterator[httpx.AsyncClient]:
    """A client for the control endpoints (no API token)."""
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=emulator.app), base_url=emulator.public_url
    ) as client:
        yield client


@pytest.fixture
def steps(emulator: FreshchatEmulator, api: httpx.AsyncClient) -> Steps:
    return Steps(emulator, api)
