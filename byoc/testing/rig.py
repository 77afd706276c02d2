"""`BridgeRig`: a bridge wired to the Freshchat emulator over a `VirtualNetwork`, in one process.

Tests, the demo and the benchmarks use the same wiring. Channel emulators join the network,
then the bridge is built with the channels:

```python
async with BridgeRig() as rig:
    viber = ViberEmulator(callback_client=rig.network.client(), ...)
    rig.network.add("viber.test", viber)
    rig.attach([ViberChannel(..., api_url="http://viber.test/pa", http=rig.network.client())])
    ...
    await rig.settle()   # every queued delivery and webhook done
```

Hosts: the bridge is `http://bridge.test`, Freshchat `http://freshchat.test/v2`.
"""

from __future__ import annotations

from collections.abc import Sequence
from types import TracebackType
from typing import Any

import httpx
from typing_extensions import Self

from ..bridge import Bridge
from ..channel import Channel
from ..clock import Clock
from ..freshchat import FreshchatMessaging
from .freshchat import FreshchatEmulator
from .network import VirtualNetwork

__all__ = ["BRIDGE_URL", "BridgeRig"]

BRIDGE_URL = "http://bridge.test"


class BridgeRig:
    """The Freshchat emulator, its `FreshchatMessaging`, and (after `attach`) a bridge.

    `timeout` is the HTTP timeout of every client on the rig's network (real seconds).
    """

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        freshchat: FreshchatEmulator | None = None,
        network: VirtualNetwork | None = None,
        timeout: float = 30.0,
    ) -> None:
        self.network = network or VirtualNetwork()
        self.timeout = timeout
        self._clients: list[httpx.AsyncClient] = []
        self.freshchat = freshchat or FreshchatEmulator(
            webhook_url=f"{BRIDGE_URL}/messaging/webhook",
            webhook_http=self.client(),
            clock=clock,
        )
        self.network.add("freshchat.test", self.freshchat.app)
        self.messaging = FreshchatMessaging(
            api_url=self.freshchat.api_url,
            token=self.freshchat.token,
            webhook_public_key=self.freshchat.public_key_text,
            http=self.client(),
            timeout=timeout,
        )
        self.http = self.client()
        self._bridge: Bridge | None = None

    def client(self) -> httpx.AsyncClient:
        """A client on the rig's network, closed with the rig."""
        made = self.network.client(timeout=self.timeout)
        self._clients.append(made)
        return made

    def attach(self, channels: Sequence[Channel], **bridge_options: Any) -> Bridge:
        """Build the bridge with these channels (keyword options go to `Bridge`)."""
        bridge_options.setdefault("public_url", BRIDGE_URL)
        self._bridge = Bridge(messaging=self.messaging, channels=channels, **bridge_options)
        self.network.add("bridge.test", self._bridge)
        return self._bridge

    @property
    def bridge(self) -> Bridge:
        if self._bridge is None:
            raise RuntimeError("call BridgeRig.attach(channels) first")
        return self._bridge

    async def settle(self, rounds: int = 20) -> None:
        """Wait until the bridge's queue and the emulator's webhooks are both quiet."""
        for _ in range(rounds):
            await self.bridge.wait_idle()
            await self.freshchat.drain()
            await self.bridge.wait_idle()
            if self.freshchat.webhooks.pending == 0 and self.bridge.dispatcher.in_flight == 0:
                return
        raise TimeoutError("the rig did not settle")

    async def aclose(self) -> None:
        if self._bridge is not None:
            await self._bridge.aclose()
        await self.freshchat.aclose()
        for made in self._clients:
            await made.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
