"""The help desks as tests, benchmarks and the demo drive them: an emulator, and its messaging.

`HelpdeskDouble` puts one help desk's emulator on a `VirtualNetwork` with the `Messaging` that
talks to it over HTTP, and speaks of it in the words every help desk shares (users by reference
id, conversations, the user's texts, an agent's reply or note, a resolution), so that one test
runs unchanged against Freshchat and Chatwoot:

```python
wiring = Wiring(network=network, webhook_http=to_bridge, api_http=to_desk, webhook_url=hook)
desk = helpdesk_double("chatwoot", wiring)
...                                           # the bridge posts a user's message
[conversation] = desk.conversations("fake:alice")
await desk.agent_reply(conversation, "Hello!")
await desk.drain()                            # every webhook delivered
```

`emulator` is the help desk's own emulator, for what only it can do.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, Literal, Protocol

import attrs
import httpx

from ..asgi import ASGIApp
from ..chatwoot import ChatwootMessaging
from ..clock import Clock
from ..freshchat import FreshchatMessaging
from ..messaging import Messaging
from .chatwoot import ChatwootEmulator
from .freshchat import FreshchatEmulator
from .freshchat.payloads import ConversationDraft
from .network import VirtualNetwork

__all__ = [
    "HELPDESK_NAMES",
    "ChatwootDouble",
    "FreshchatDouble",
    "HelpdeskDouble",
    "Wiring",
    "freshchat_user_texts",
    "helpdesk_double",
]

HelpdeskName = Literal["freshchat", "chatwoot"]
HELPDESK_NAMES: tuple[HelpdeskName, ...] = ("freshchat", "chatwoot")


@attrs.frozen(kw_only=True)
class Wiring:
    """Where a double lives: its `network`, the clients it posts webhooks (`webhook_http`) and
    its messaging calls (`api_http`) with, where webhooks go, the clock and the HTTP timeout."""

    network: VirtualNetwork
    webhook_http: httpx.AsyncClient
    api_http: httpx.AsyncClient
    webhook_url: str | None = None
    clock: Clock | None = None
    timeout: float = 30.0


class _Webhooks(Protocol):
    @property
    def pending(self) -> int: ...


class _Faults(Protocol):
    webhook_copies: int


class _Emulator(Protocol):
    """What both emulators have alike (Freshchat's conversation ids are strings, Chatwoot's
    integers)."""

    webhook_url: str | None

    @property
    def app(self) -> ASGIApp: ...

    @property
    def webhooks(self) -> _Webhooks: ...

    @property
    def faults(self) -> _Faults: ...

    async def drain(self) -> None: ...

    def total_calls(self) -> int: ...

    def reset_calls(self) -> None: ...

    async def aclose(self) -> None: ...

    async def agent_reply(self, conversation_id: Any, text: str | None = None) -> Any: ...

    async def private_note(self, conversation_id: Any, text: str) -> Any: ...

    async def resolve(self, conversation_id: Any) -> Any: ...


class HelpdeskDouble(ABC):
    """One help desk's emulator at `http://<host>/` on a network, and its `messaging`.

    Conversation and user ids are the help desk's, as strings.
    """

    name: HelpdeskName
    title: str
    host: str
    messaging: Messaging

    @property
    @abstractmethod
    def _emulator(self) -> _Emulator: ...

    @abstractmethod
    def _conversation(self, conversation_id: str) -> str | int:
        """The emulator's conversation id for the help desk's."""

    @property
    def app(self) -> ASGIApp:
        """The emulator's ASGI app (its API and its `/_emulator` control endpoints)."""
        return self._emulator.app

    @property
    def webhook_url(self) -> str | None:
        """Where the help desk posts its webhooks."""
        return self._emulator.webhook_url

    @webhook_url.setter
    def webhook_url(self, url: str | None) -> None:
        self._emulator.webhook_url = url

    @property
    def pending(self) -> int:
        """Webhooks sent and not yet answered or given up."""
        return self._emulator.webhooks.pending

    async def drain(self) -> None:
        """Wait until every webhook, retries included, has been delivered or given up."""
        await self._emulator.drain()

    def total_calls(self) -> int:
        """API calls received since the start or the last `reset_calls()`."""
        return self._emulator.total_calls()

    def reset_calls(self) -> None:
        self._emulator.reset_calls()

    async def aclose(self) -> None:
        await self._emulator.aclose()

    # -- an agent's actions ----------------------------------------------------------------------

    async def agent_reply(self, conversation_id: str, text: str) -> None:
        """An agent answers in the conversation (its webhook goes to the bridge)."""
        await self._emulator.agent_reply(self._conversation(conversation_id), text)

    async def private_note(self, conversation_id: str, text: str) -> None:
        """An agent writes a note only agents see."""
        await self._emulator.private_note(self._conversation(conversation_id), text)

    async def resolve(self, conversation_id: str) -> None:
        """An agent resolves the conversation."""
        await self._emulator.resolve(self._conversation(conversation_id))

    def duplicate_webhooks(self, copies: int) -> None:
        """Deliver every webhook `copies` times from now on (1 turns duplicates off)."""
        if copies < 1:
            raise ValueError("copies must be at least 1")
        self._emulator.faults.webhook_copies = copies

    @abstractmethod
    async def make_stale(self, conversation_id: str) -> None:
        """The conversation stops taking the user's messages, as the help desk does it
        (Freshchat: the user has a newer one; Chatwoot: it was deleted)."""

    # -- what the help desk holds ----------------------------------------------------------------

    @abstractmethod
    def users(self, reference_id: str) -> list[str]:
        """The ids of the help-desk users carrying this reference id, oldest first."""

    @abstractmethod
    def conversations(self, reference_id: str) -> list[str]:
        """The conversations of the users carrying this reference id, the most recent first."""

    @abstractmethod
    def user_texts(self, conversation_id: str) -> list[str]:
        """The texts the end user wrote in the conversation, oldest first."""

    @abstractmethod
    def is_resolved(self, conversation_id: str) -> bool: ...

    @abstractmethod
    def control_hints(self, base_url: str) -> list[str]:
        """Shell commands to play the agent when the emulator is mounted at `base_url`."""


class FreshchatDouble(HelpdeskDouble):
    """The Freshchat emulator at `http://freshchat.test/v2`, with its `FreshchatMessaging`."""

    name = "freshchat"
    title = "Freshchat"
    host = "freshchat.test"

    def __init__(self, wiring: Wiring, *, emulator: FreshchatEmulator | None = None) -> None:
        self.emulator = emulator or FreshchatEmulator(
            webhook_url=wiring.webhook_url, webhook_http=wiring.webhook_http, clock=wiring.clock
        )
        wiring.network.add(self.host, self.emulator.app)
        self.messaging = FreshchatMessaging(
            api_url=self.emulator.api_url,
            token=self.emulator.token,
            webhook_public_key=self.emulator.public_key_text,
            http=wiring.api_http,
            timeout=wiring.timeout,
            # Its webhooks are dated by the emulator's clock: judged by the same one.
            clock=self.emulator.clock,
        )

    @property
    def _emulator(self) -> _Emulator:
        return self.emulator

    def _conversation(self, conversation_id: str) -> str:
        return conversation_id

    async def make_stale(self, conversation_id: str) -> None:
        # An agent starts a newer conversation with the user: Freshchat then refuses the
        # user's messages in the older one ("not the latest conversation").
        state = self.emulator.state
        users = list(state.conversations[conversation_id].user_ids)
        draft = ConversationDraft(
            channel_id=state.default_channel.id,
            user_ids=users,
            status="new",
            assigned_agent_id=None,
            assigned_group_id=None,
            properties={},
            messages=[],
        )
        self.emulator.desk.create_conversation(draft, source="web")

    def users(self, reference_id: str) -> list[str]:
        return [str(u["id"]) for u in self.emulator.users_by_reference(reference_id)]

    def conversations(self, reference_id: str) -> list[str]:
        found = [
            c for user in self.users(reference_id) for c in self.emulator.conversations_of(user)
        ]
        return [str(c["conversation_id"]) for c in found]

    def user_texts(self, conversation_id: str) -> list[str]:
        return freshchat_user_texts(self.emulator, conversation_id)

    def is_resolved(self, conversation_id: str) -> bool:
        return bool(self.emulator.state.conversations[conversation_id].status == "resolved")

    def control_hints(self, base_url: str) -> list[str]:
        here = f"{base_url}/_emulator"
        return [
            f"curl -s {here}/conversations",
            f"""curl -s -X POST {here}/conversations/<conversation_id>/reply """
            """-d '{"text": "Hello from support"}'""",
        ]


class ChatwootDouble(HelpdeskDouble):
    """The Chatwoot emulator at `http://chatwoot.test`, with its `ChatwootMessaging`."""

    name = "chatwoot"
    title = "Chatwoot"
    host = "chatwoot.test"

    def __init__(self, wiring: Wiring) -> None:
        self.emulator = ChatwootEmulator(
            webhook_url=wiring.webhook_url,
            webhook_http=wiring.webhook_http,
            clock=wiring.clock,
            public_url=f"http://{self.host}",
        )
        wiring.network.add(self.host, self.emulator.app)
        self.messaging = ChatwootMessaging(
            url=self.emulator.public_url,
            account_id=self.emulator.account_id,
            inbox_id=self.emulator.inbox_id,
            token=self.emulator.token,
            hmac_token=self.emulator.inbox.secret,
            clock=self.emulator.clock,
            http=wiring.api_http,
            timeout=wiring.timeout,
        )

    @property
    def _emulator(self) -> _Emulator:
        return self.emulator

    def _conversation(self, conversation_id: str) -> int:
        return int(conversation_id)

    async def make_stale(self, conversation_id: str) -> None:
        await self.emulator.delete_conversation(int(conversation_id))

    def users(self, reference_id: str) -> list[str]:
        return [str(c["id"]) for c in self.emulator.contacts(reference_id)]

    def conversations(self, reference_id: str) -> list[str]:
        found: list[dict[str, Any]] = []
        for contact in self.emulator.contacts(reference_id):
            found += self.emulator.conversations(contact["id"])
        return [str(c["id"]) for c in found]

    def user_texts(self, conversation_id: str) -> list[str]:
        return [
            str(message["content"])
            for message in self.emulator.conversation_messages(int(conversation_id))
            if message["message_type"] == 0 and message["content"]
        ]

    def is_resolved(self, conversation_id: str) -> bool:
        return self.emulator.desk.conversation(int(conversation_id)).status == "resolved"

    def control_hints(self, base_url: str) -> list[str]:
        here = f"{base_url}/_emulator"
        return [
            f"curl -s {here}/conversations",
            f"""curl -s -X POST {here}/conversations/<conversation id>/reply """
            """-d '{"text": "Hello from support"}'""",
            f"""curl -s -X POST {here}/conversations/<conversation id>/note """
            """-d '{"text": "a note the user never sees"}'""",
        ]


def freshchat_user_texts(emulator: FreshchatEmulator, conversation_id: str) -> list[str]:
    """The texts the end user wrote in a Freshchat conversation, oldest first."""
    return [
        part["text"]["content"]
        for message in emulator.conversation_messages(conversation_id)
        if message["actor_type"] == "user"
        for part in message["message_parts"]
        if "text" in part
    ]


def helpdesk_double(name: str, wiring: Wiring) -> HelpdeskDouble:
    """The double of the help desk called `name` (`freshchat` or `chatwoot`)."""
    if name == "freshchat":
        return FreshchatDouble(wiring)
    if name == "chatwoot":
        return ChatwootDouble(wiring)
    raise ValueError(f"no help desk called {name!r}; known: {', '.join(HELPDESK_NAMES)}")
