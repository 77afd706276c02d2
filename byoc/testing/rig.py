"""`BridgeRig`: a bridge wired to the Freshchat emulator over a `VirtualNetwork`, in one process.

Tests, the demo and the benchmarks use the same wiring. Channel emulators join the network,
then the bridge is built with the channels:

```python
async with BridgeRig() as rig:
    viber = ViberEmulator(callback_client=rig.client(), public_url="http://viber.test", ...)
    rig.add_emulator("viber.test", viber)
    rig.attach([ViberChannel(..., api_url=viber.api_url, http=rig.client())])
    ...
    await rig.settle()   # every queued delivery, webhook and channel callback done
```

Hosts: the bridge is `http://bridge.test`, Freshchat `http://freshchat.test/v2`.
"""

from __future__ import annotations

from collections.abc import Sequence
from types import TracebackType
from typing import Any, Protocol

import httpx
from typing_extensions import Self

from ..asgi import Receive, Scope, Send
from ..bridge import Bridge
from ..channel import Channel
from ..clock import Clock
from ..errors import ByocError
from ..freshchat import FreshchatMessaging
from ..store.queue import DeadLetter
from .freshchat import FreshchatEmulator
from .network import VirtualNetwork

__all__ = ["BRIDGE_URL", "BridgeRig", "ChannelEmulator"]

BRIDGE_URL = "http://bridge.test"


class ChannelEmulator(Protocol):
    """What `BridgeRig.add_emulator` needs of a channel's emulator: an ASGI app that calls the
    bridge back on its own (webhooks, retries), and can say when it is done."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None: ...

    @property
    def pending(self) -> int:
        """Calls to the bridge started and not yet answered or given up."""
        ...

    async def drain(self) -> None:
        """Wait until `pending` is 0."""
        ...

    async def aclose(self) -> None: ...


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
            clock=clock,
        )
        self.http = self.client()
        self._bridge: Bridge | None = None
        self._emulators: list[ChannelEmulator] = []

    def client(self) -> httpx.AsyncClient:
        """A client on the rig's network, closed with the rig."""
        made = self.network.client(timeout=self.timeout)
        self._clients.append(made)
        return made

    def add_emulator(self, host: str, emulator: ChannelEmulator) -> None:
        """Serve a channel's emulator at `http://<host>/`; `settle` waits for its calls too."""
        self.network.add(host, emulator)
        self._emulators.append(emulator)

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
        """Wait until the bridge's queue, the Freshchat emulator's webhooks and the channel
        emulators' callbacks are all quiet."""
        for _ in range(rounds):
            await self.bridge.wait_idle()
            for emulator in self._emulators:
                await emulator.drain()
            await self.freshchat.drain()
            await self.bridge.wait_idle()
            if (
                self.freshchat.webhooks.pending == 0
                and self.bridge.delivery.in_flight == 0
                and all(emulator.pending == 0 for emulator in self._emulators)
            ):
                return
        raise TimeoutError("the rig did not settle")

    async def unexpected_dead_letters(self) -> list[DeadLetter]:
        """Dead letters that died of an exception byoc does not raise on purpose: bugs.

        A `ByocError` (a refusal, a retry budget used up) is the bridge working as designed;
        anything else (`KeyError`, `UnicodeEncodeError`, ...) is a crash of the delivery.
        """
        expected = _names_of_subclasses(ByocError)
        return [
            dead
            for dead in await self.bridge.dead_letters(limit=10_000)
            if not dead.job.attempts or dead.job.attempts[-1].error.split(":", 1)[0] not in expected
        ]

    async def aclose(self) -> None:
        if self._bridge is not None:
            await self._bridge.aclose()
        for emulator in self._emulators:
            await emulator.aclose()
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


def _names_of_subclasses(root: type) -> set[str]:
    # Dead letters keep the error as "<class name>: <message>" (byoc.delivery).
    names: set[str] = set()
    todo = [root]
    while todo:
        cls = todo.pop()
        names.add(cls.__name__)
        todo.extend(cls.__subclasses__())
    return names
