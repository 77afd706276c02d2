"""The kit's world: a virtual network with the channel's webhook served, a CDN, a store, and
an HTTP client for the channel whose answers the kit can replace with failures."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import httpx

from ...store import MemoryStore
from ..channel_endpoint import ChannelEndpoint
from ..media_host import MediaHost
from ..network import VirtualNetwork

__all__ = ["BRIDGE_HOST", "ConformanceWorld", "Faults", "MEDIA_HOST"]

BRIDGE_HOST = "bridge.test"
MEDIA_HOST = "media.test"

Fault = Callable[[httpx.Request], httpx.Response]
"""What the upstream answers instead (it may raise `httpx.TransportError` subclasses too)."""


class Faults(httpx.AsyncBaseTransport):
    """A transport in front of the network: while a fault is set, every request the channel
    makes gets it instead of reaching its messenger (`requests` records them)."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self._inner = inner
        self._fault: Fault | None = None
        self.requests: list[httpx.Request] = []

    @contextmanager
    def answering(self, fault: Fault) -> Iterator[None]:
        """Inside the block, every request of the channel is answered by `fault`."""
        self._fault, self.requests = fault, []
        try:
            yield
        finally:
            self._fault = None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self._fault is None:
            return await self._inner.handle_async_request(request)
        self.requests.append(request)
        return self._fault(request)


class ConformanceWorld:
    """What a harness builds its channel and emulator in.

    - `name`: the instance name the channel must have (not its kind's: the kit checks that
      nothing assumes the kind's name).
    - `webhook_url`: where the channel's webhook is served (`http://bridge.test/channels/
      <name>/webhook`); the emulator posts there.
    - `http`: the client the channel must make every upstream call with (`http=world.http`).
    - `client()`: another client on the network, for the emulator's own calls.
    - `network`: put the emulator on it (`world.network.add("mychat.test", emulator)`).
    - `media`: a CDN at `http://media.test` holding what agents link in replies.
    - `store`: the store the channel is bound to.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self.network = VirtualNetwork()
        self.faults = Faults(self.network)
        self.http = httpx.AsyncClient(transport=self.faults, timeout=10.0)
        self.media = MediaHost(f"http://{MEDIA_HOST}")
        self.network.add(MEDIA_HOST, self.media)
        self.store = MemoryStore()
        self.endpoint: ChannelEndpoint | None = None
        self._clients: list[httpx.AsyncClient] = [self.http]

    @property
    def webhook_url(self) -> str:
        return f"http://{BRIDGE_HOST}/channels/{self.name}/webhook"

    def client(self) -> httpx.AsyncClient:
        """A client on the network (closed with the world), without the kit's faults."""
        made = self.network.client(timeout=10.0)
        self._clients.append(made)
        return made

    def serve(self, endpoint: ChannelEndpoint) -> None:
        self.endpoint = endpoint
        self.network.add(BRIDGE_HOST, endpoint)

    async def aclose(self) -> None:
        for made in self._clients:
            await made.aclose()
