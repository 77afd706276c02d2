"""The world of the Chatwoot tests: the emulator, a CDN and a webhook receiver on one network.

The emulator and `ChatwootMessaging` share one `FakeClock`, so the timestamps the emulator signs
are "now" for the bridge, and a test moves time to make them stale.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from byoc.chatwoot import ChatwootMessaging
from byoc.testing.chatwoot import ChatwootEmulator
from byoc.testing.clock import FakeClock
from byoc.testing.media_host import MediaHost
from byoc.testing.network import VirtualNetwork
from byoc.testing.routing import Request, Response, Router, json_response
from byoc.webhook import WebhookRequest

CHATWOOT_URL = "http://chatwoot.test"
HOOK_URL = "http://bridge.test/messaging/webhook"


class Inbox:
    """What reached the bridge's webhook URL, as the `WebhookRequest`s the bridge would parse."""

    def __init__(self) -> None:
        self.requests: list[WebhookRequest] = []
        self.app = Router()
        self.app.route("POST", "/messaging/webhook")(self._hook)

    async def _hook(self, request: Request) -> Response:
        self.requests.append(WebhookRequest(body=request.body, headers=request.headers))
        return json_response({"ok": True})

    def take(self) -> list[WebhookRequest]:
        taken, self.requests = self.requests, []
        return taken


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(autoadvance=True)


@pytest.fixture
def network() -> VirtualNetwork:
    return VirtualNetwork()


@pytest.fixture
def inbox(network: VirtualNetwork) -> Inbox:
    received = Inbox()
    network.add("bridge.test", received.app)
    return received


@pytest.fixture
def cdn(network: VirtualNetwork) -> MediaHost:
    host = MediaHost("http://cdn.test")
    network.add("cdn.test", host)
    return host


@pytest.fixture
async def http(network: VirtualNetwork) -> AsyncIterator[httpx.AsyncClient]:
    async with network.client(timeout=5.0) as client:
        yield client


@pytest.fixture
async def chatwoot(
    network: VirtualNetwork, inbox: Inbox, http: httpx.AsyncClient, clock: FakeClock
) -> AsyncIterator[ChatwootEmulator]:
    async with ChatwootEmulator(
        webhook_url=HOOK_URL, webhook_http=http, clock=clock, retry_delays=(1.0,)
    ) as emulator:
        network.add("chatwoot.test", emulator.app)
        yield emulator


@pytest.fixture
async def messaging(
    chatwoot: ChatwootEmulator, http: httpx.AsyncClient, clock: FakeClock
) -> AsyncIterator[ChatwootMessaging]:
    m = ChatwootMessaging(
        url=CHATWOOT_URL,
        account_id=chatwoot.account_id,
        inbox_id=chatwoot.inbox_id,
        token=chatwoot.token,
        hmac_token=chatwoot.inbox.secret,
        clock=clock,
        http=http,
    )
    yield m
    await m.aclose()
