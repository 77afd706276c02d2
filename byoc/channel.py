"""The channel plugin contract: what a messenger must do to be bridged.

A channel is found through the entry-point group `byoc.channels` under its `name`, which is
also the namespace of its users' help-desk `reference_id` (`viber:<user id>`). Four methods
matter; the rest have safe defaults:

```python
class MyChannel(Channel):
    name = "mychat"
    capabilities = Capabilities(send=frozenset({Text}), receive=frozenset({Text}))

    async def parse(self, request: WebhookRequest) -> list[ChannelEvent]:
        verify_signature(request.body, request.header("x-my-signature"))  # or SignatureError
        ...  # the events; MalformedPayload when the body makes no sense

    async def send(self, user_id: str, message: OutboundMessage) -> SendResult:
        ...  # RetryableError / PermanentError / ConfigurationError on failure

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Self:
        return cls(token=require(env, "BYOC_MYCHAT_TOKEN", "the token from the MyChat console"))
```

`byoc.testing.FakeChannel` is the smallest complete example.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence

import attrs
from typing_extensions import Self

from .errors import ConfigurationError
from .models import ChannelEvent, OutboundMessage, Part, SendResult
from .store.base import Store
from .webhook import WebhookRequest, WebhookResponse

__all__ = ["Capabilities", "Channel", "InstallResult", "require_setting"]


@attrs.frozen(kw_only=True)
class Capabilities:
    """What a channel can carry.

    `send` / `receive` hold part classes (`Text`, `Image`, ...). `media_urls_expire` tells the
    bridge to re-host inbound media in the help desk at once (Viber URLs live for an hour).
    `answer_deadline` is how many seconds the channel's sender waits for the webhook's answer
    when that is short (an Open Builder skill: 5 s); the bridge then refuses inline delivery.
    """

    send: frozenset[type[Part]]
    receive: frozenset[type[Part]]
    max_text_length: int | None = None
    media_urls_expire: bool = False
    answer_deadline: float | None = None


@attrs.frozen(kw_only=True)
class InstallResult:
    """The outcome of `Channel.install`.

    `registered` is True when the channel's API now points at `target_url`; when False, an
    operator must paste `target_url` by hand and `instructions` says where.
    """

    target_url: str
    registered: bool
    instructions: str = ""


class Channel(ABC):
    """Base class of every channel plugin. Subclasses set `name` and `capabilities`."""

    # Set at class level by plugins; an instance may override them (a second account of a channel).
    name: str
    capabilities: Capabilities
    store: Store | None = None

    def bind(self, store: Store) -> None:
        """Called by the bridge before any other method: the store the channel may keep state in
        (Kakao callback URLs, queued replies). Overriders call `super().bind(store)`."""
        self.store = store

    @abstractmethod
    async def parse(self, request: WebhookRequest) -> Sequence[ChannelEvent]:
        """Verify `request` on its raw bytes, then turn it into events.

        Raise `SignatureError` when it does not verify and `MalformedPayload` when it cannot be
        understood; never anything else for bad input. Events the bridge has no use for (a
        webhook verification ping) are simply not returned.
        """

    async def ack(self, request: WebhookRequest, events: Sequence[ChannelEvent]) -> WebhookResponse:
        """The HTTP answer the channel expects once `events` are accepted (default: 200 JSON)."""
        return WebhookResponse()

    @abstractmethod
    async def send(self, user_id: str, message: OutboundMessage) -> SendResult:
        """Deliver an agent's reply to `user_id`.

        Split or degrade what the channel cannot show (and say so in `SendResult.notes`); raise
        `RetryableError`, `PermanentError` or `ConfigurationError` when it fails.
        """

    async def conversation_resolved(self, user_id: str) -> None:
        """The help desk resolved this user's conversation (a dealer may end its chat session).

        Best effort: the bridge logs a failure and goes on.
        """

    async def install(self, target_url: str) -> InstallResult:
        """Point the channel's webhook at `target_url`; by default it is pasted by hand."""
        return InstallResult(
            target_url=target_url,
            registered=False,
            instructions=f"Paste this URL as the webhook of your {self.name} account.",
        )

    async def uninstall(self) -> None:
        """Stop the channel from calling the bridge (nothing to do for manual registration)."""

    async def aclose(self) -> None:
        """Release connections; called once when the bridge shuts down."""

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Self:
        """Build the channel from environment settings (the bundled server uses this)."""
        raise ConfigurationError(
            f"channel {getattr(cls, 'name', cls.__name__)!r} cannot be configured from the "
            "environment; construct it in Python and pass it to Bridge(channels=[...])"
        )


def require_setting(env: Mapping[str, str], key: str, where: str) -> str:
    """Read a required setting or raise a `ConfigurationError` saying where to find it."""
    value = env.get(key, "").strip()
    if not value:
        raise ConfigurationError(f"{key} is not set; {where}")
    return value
