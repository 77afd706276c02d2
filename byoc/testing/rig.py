"""`BridgeRig`: a bridge wired to a help desk's emulator over a `VirtualNetwork`, in one process.

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

With the core's `FakeChannel` as the messenger, `say` posts a user's message and `texts_of`
reads what the help desk got:

```python
async with BridgeRig() as rig:
    channel = FakeChannel()
    rig.attach([channel])
    await rig.say(channel, "alice", "Hello")
    await rig.settle()
    assert rig.texts_of("fake:alice") == ["Hello"]
```

Hosts: the bridge is `http://bridge.test`, Freshchat `http://freshchat.test/v2`, Chatwoot
`http://chatwoot.test` (`BridgeRig(helpdesk="chatwoot")`; `rig.helpdesk` speaks of either).
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
from ..messaging import Messaging
from ..models import Part, Profile
from ..store.queue import DeadLetter
from .chatwoot import ChatwootEmulator
from .clock import FakeClock
from .fake_channel import FakeChannel
from .freshchat import FreshchatEmulator, WebhookKey
from .helpdesk import ChatwootDouble, FreshchatDouble, HelpdeskDouble, Wiring, helpdesk_double
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
    """A help desk's emulator (Freshchat unless `helpdesk="chatwoot"`), its messaging, and
    (after `attach`) a bridge.

    `timeout` is the HTTP timeout of every client on the rig's network (real seconds).
    `clock` is the help desk emulator's; a `FakeClock` there also lets `run_for` move time.
    The Freshchat emulator signs its webhooks with `webhook_key`, by default one key made once
    per process: making an RSA-2048 key takes longer than a whole test on the rig.
    """

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        freshchat: FreshchatEmulator | None = None,
        network: VirtualNetwork | None = None,
        timeout: float = 30.0,
        helpdesk: str = "freshchat",
        webhook_key: WebhookKey | None = None,
    ) -> None:
        self.network = network or VirtualNetwork()
        self.clock = clock
        self.timeout = timeout
        self._clients: list[httpx.AsyncClient] = []
        wiring = Wiring(
            network=self.network,
            webhook_http=self.client(),
            api_http=self.client(),
            webhook_url=f"{BRIDGE_URL}/messaging/webhook",
            clock=clock,
            timeout=timeout,
        )
        if freshchat is None and helpdesk == "freshchat":
            freshchat = FreshchatEmulator(
                webhook_url=wiring.webhook_url,
                webhook_http=wiring.webhook_http,
                clock=clock,
                key=webhook_key or _process_webhook_key(),
            )
        self.helpdesk: HelpdeskDouble = (
            helpdesk_double(helpdesk, wiring)
            if freshchat is None
            else FreshchatDouble(wiring, emulator=freshchat)
        )
        self.messaging: Messaging = self.helpdesk.messaging
        self.http = self.client()
        self._bridge: Bridge | None = None
        self._emulators: list[ChannelEmulator] = []

    @property
    def freshchat(self) -> FreshchatEmulator:
        """The Freshchat emulator (a rig on Freshchat only)."""
        if not isinstance(self.helpdesk, FreshchatDouble):
            raise AttributeError(f"this rig runs on {self.helpdesk.title}, not Freshchat")
        return self.helpdesk.emulator

    @property
    def chatwoot(self) -> ChatwootEmulator:
        """The Chatwoot emulator (a rig on Chatwoot only)."""
        if not isinstance(self.helpdesk, ChatwootDouble):
            raise AttributeError(f"this rig runs on {self.helpdesk.title}, not Chatwoot")
        return self.helpdesk.emulator

    def client(self) -> httpx.AsyncClient:
        """A client on the rig's network, closed with the rig."""
        made = self.network.client(timeout=self.timeout)
        self._clients.append(made)
        return made

    def add_emulator(self, host: str, emulator: ChannelEmulator) -> None:
        """Serve a channel's emulator at `http://<host>/`; `settle` waits for its calls too."""
        self.network.add(host, emulator)
        self._emulators.append(emulator)

    def attach(
        self,
        channels: Sequence[Channel],
        *,
        messaging: Messaging | None = None,
        **bridge_options: Any,
    ) -> Bridge:
        """Build the bridge with these channels (keyword options go to `Bridge`).

        `messaging` replaces the emulator's: a double of the help-desk contract, for a test of
        the bridge's own behaviour that scripts the help desk's answers call by call.
        """
        bridge_options.setdefault("public_url", BRIDGE_URL)
        self._bridge = Bridge(
            messaging=messaging or self.messaging, channels=channels, **bridge_options
        )
        self.network.add("bridge.test", self._bridge)
        return self._bridge

    @property
    def bridge(self) -> Bridge:
        if self._bridge is None:
            raise RuntimeError("call BridgeRig.attach(channels) first")
        return self._bridge

    async def say(
        self,
        channel: FakeChannel,
        user: str,
        text_or_parts: str | Sequence[Part],
        *,
        message_id: str | None = None,
        profile: Profile | None = None,
        copies: int = 1,
        expect: int | None = 200,
    ) -> httpx.Response:
        """`user` writes on `channel`: its signed webhook is posted to the bridge `copies` times
        (a messenger retrying), and the last answer returned.

        Every answer must have the status `expect` (`None`: any status, for a test that looks
        at the answer itself); another one raises `AssertionError` with the bridge's reason.
        """
        body, headers = channel.user_message(
            user, text_or_parts, message_id=message_id, profile=profile
        )
        url = f"{BRIDGE_URL}/channels/{channel.name}/webhook"
        answer: httpx.Response | None = None
        for _ in range(copies):
            answer = await self.http.post(url, content=body, headers=headers)
            if expect is not None and answer.status_code != expect:
                raise AssertionError(
                    f"the bridge answered {answer.status_code}, not {expect}: {answer.text}"
                )
        if answer is None:
            raise ValueError(f"copies must be 1 or more, not {copies}")
        return answer

    async def say_and_settle(
        self, channel: FakeChannel, user: str, text_or_parts: str | Sequence[Part], **say: Any
    ) -> str:
        """`say` (keyword options go to it), `settle`, then the conversation of the user, who
        must have exactly one: how most scenarios begin."""
        await self.say(channel, user, text_or_parts, **say)
        await self.settle()
        return self.conversation_of(f"{channel.name}:{user}")

    def conversation_of(self, reference_id: str) -> str:
        """The conversation of the user with this reference id, who must have exactly one."""
        found = self.helpdesk.conversations(reference_id)
        if len(found) != 1:
            raise AssertionError(f"{reference_id} has {len(found)} conversations, not 1: {found}")
        return found[0]

    def texts_of(self, reference_id: str) -> list[str]:
        """What the user with this reference id wrote, as the help desk holds it: the user's
        texts, oldest conversation first (a stale one is followed by its replacement)."""
        return [
            text
            for conversation in reversed(self.helpdesk.conversations(reference_id))
            for text in self.helpdesk.user_texts(conversation)
        ]

    def user_parts(self, conversation_id: str) -> list[list[dict[str, Any]]]:
        """The Freshchat message parts of each message the user wrote in a conversation, oldest
        first (a rig on Freshchat)."""
        return [
            message["message_parts"]
            for message in self.freshchat.conversation_messages(conversation_id)
            if message["actor_type"] == "user"
        ]

    async def settle(self, rounds: int = 20) -> None:
        """Wait until the bridge's queue, the help desk's webhooks and the channel emulators'
        callbacks are all quiet."""
        for _ in range(rounds):
            await self.bridge.wait_idle()
            for emulator in self._emulators:
                await emulator.drain()
            await self.helpdesk.drain()
            await self.bridge.wait_idle()
            if (
                self.helpdesk.pending == 0
                and self.bridge.delivery.in_flight == 0
                and all(emulator.pending == 0 for emulator in self._emulators)
            ):
                return
        raise TimeoutError("the rig did not settle")

    async def run_for(self, seconds: float, step: float = 1.0) -> None:
        """Let `seconds` of the rig's `FakeClock` pass in steps of `step`, settling before the
        first step and after each one: retries and Retry-After waits come due on the way."""
        if not isinstance(self.clock, FakeClock):
            raise TypeError("run_for needs BridgeRig(clock=FakeClock(...))")
        elapsed = 0.0
        await self.settle()
        while elapsed < seconds:
            await self.clock.advance(step)
            elapsed += step
            await self.settle()

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
        await self.helpdesk.aclose()
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


_PROCESS_WEBHOOK_KEY: list[WebhookKey] = []


def _process_webhook_key() -> WebhookKey:
    if not _PROCESS_WEBHOOK_KEY:
        _PROCESS_WEBHOOK_KEY.append(WebhookKey.generate())
    return _PROCESS_WEBHOOK_KEY[0]


def _names_of_subclasses(root: type) -> set[str]:
    # Dead letters keep the error as "<class name>: <message>" (byoc.delivery).
    names: set[str] = set()
    todo = [root]
    while todo:
        cls = todo.pop()
        names.add(cls.__name__)
        todo.extend(cls.__subclasses__())
    return names
