"""The channel plugin contract: what a messenger must do to be bridged.

A channel is found through the entry-point group `byoc.channels` under its *kind* (the class's
`name`). Each configured account of a messenger is one instance with its own `name` (`viber`,
`viber-eu`): its webhook route `/channels/<name>/webhook`, the namespace of its users'
help-desk `reference_id` (`viber-eu:<user id>`) and of its store keys. Two methods are
required; the rest have safe defaults:

```python
class MyChatChannel(Channel):
    name = "mychat"
    capabilities = Capabilities(send=frozenset({Text}), max_text_length=2000)

    async def parse(self, request: WebhookRequest) -> list[ChannelEvent]:
        verify_signature(request.body, request.header("x-my-signature"))  # or SignatureError
        ...  # events with channel=self.name; MalformedPayload when the body makes no sense

    async def send(self, user_id: str, message: OutboundMessage) -> SendResult:
        ...  # errors from byoc.upstream: RetryableError / PermanentError / ConfigurationError

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Self:
        return cls(token=require_setting(env, "BYOC_MYCHAT_TOKEN", "the MyChat console"))
```

`byoc.testing.conformance` checks a channel against this contract; docs/writing-a-channel.md
walks through a complete one (`examples/channel/`).
"""

from __future__ import annotations

import re
import warnings
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import ClassVar

import attrs
from typing_extensions import Self

from .errors import ConfigurationError
from .media import MediaPart, MediaStream
from .models import ChannelEvent, OutboundMessage, Part, SendResult
from .store.base import Store
from .webhook import WebhookRequest, WebhookResponse

__all__ = [
    "INSTANCE_NAME",
    "AccountCheck",
    "Capabilities",
    "Channel",
    "InstallResult",
    "require_setting",
    "settings_prefix_of",
]


INSTANCE_NAME = re.compile(r"[a-z][a-z0-9-]{0,39}")
"""A channel instance's name: a URL path segment, a reference-id prefix (before ":") and part
of setting names (`BYOC_VIBER_EU_*`); letters, digits and dashes are safe in all three."""


def _no_receive(
    instance: Capabilities, attribute: object, value: frozenset[type[Part]] | None
) -> None:
    if value is not None:
        warnings.warn(
            "Capabilities(receive=...) is deprecated and read by nothing; leave it out",
            DeprecationWarning,
            stacklevel=3,
        )


@attrs.frozen(kw_only=True)
class Capabilities:
    """What a channel can carry. Every field is read by the core:

    - `send`: the part classes `send` shows natively. The bridge turns any other part into
      text (with its link) before calling `send` (`byoc.degrade.fit_message`).
    - `max_text_length`: the longest text one message may hold (None: no limit). The bridge
      splits longer texts, on word boundaries, before calling `send`.
    - `media_urls_expire`: inbound media must be copied into the help desk at once, because
      the URL stops working (Viber's after an hour) or is only a reference that
      `Channel.fetch_media` understands. The bridge copies it before posting the message.
    - `answer_deadline`: seconds the channel's sender waits for the webhook's answer, when
      that is short (an Open Builder skill: 5 s); the bridge then refuses inline delivery.

    `receive` is deprecated: nothing read it.
    """

    send: frozenset[type[Part]]
    max_text_length: int | None = None
    media_urls_expire: bool = False
    answer_deadline: float | None = None
    receive: frozenset[type[Part]] | None = attrs.field(default=None, validator=_no_receive)


@attrs.frozen(kw_only=True)
class InstallResult:
    """The outcome of `Channel.install`.

    `registered` is True when the channel's API now points at `target_url`; when False, an
    operator must paste `target_url` by hand and `instructions` says where.
    """

    target_url: str
    registered: bool
    instructions: str = ""


@attrs.frozen(kw_only=True)
class AccountCheck:
    """What `Channel.check` learnt from the messenger: the credentials work.

    `account` is the account's name as the messenger shows it, when it says. A channel whose
    webhook is registered through an API sets `reports_webhook` and `webhook`, the URL the
    messenger calls now (None: none), so `byoc check` can tell a missing or stale registration.
    `webhook_error` is what the messenger says of its latest failed delivery to it, when it
    tells and the failure is recent ("503 Service Unavailable at ...; 12 updates waiting"):
    `byoc check` warns with it.
    """

    account: str | None = None
    webhook: str | None = None
    reports_webhook: bool = False
    webhook_error: str | None = None


class Channel(ABC):
    """Base class of every channel plugin. Subclasses set `name` and `capabilities`.

    `name` at class level is the plugin's kind, and must equal its entry-point name. The core
    sets an instance's `name` after building it (`viber-eu` for a second Viber bot), before
    `bind`: read `self.name` where it is needed (events, store keys), never a literal.
    """

    name: str
    capabilities: Capabilities
    store: Store | None = None
    settings_prefix: ClassVar[str | None] = None
    """The prefix of the settings `from_env` reads, when it is not `BYOC_<KIND>_` (the
    `kakao-chatbot` kind reads `BYOC_KAKAO_*`). A second instance's settings are then read
    from `BYOC_<INSTANCE>_*` under the same names."""

    def named(self, name: str) -> Self:
        """This channel as the instance called `name` (a second account of its messenger):

        ```python
        Bridge(channels=[ViberChannel(...), ViberChannel(...).named("viber-eu")], ...)
        ```

        A name is 1 to 40 lower-case letters, digits and dashes, starting with a letter: it
        goes in URLs, reference ids and setting names. Call it before the bridge is built.
        """
        if not INSTANCE_NAME.fullmatch(name):
            raise ConfigurationError(
                f"{name[:60]!r} is not a channel name; a name is 1 to 40 lower-case letters, "
                "digits and dashes, starting with a letter (viber-eu)"
            )
        self.name = name
        return self

    def bind(self, store: Store) -> None:
        """Called by the bridge before any other method: the store the channel may keep state in
        (Kakao callback URLs, queued replies). Overriders call `super().bind(store)`."""
        self.store = store

    @abstractmethod
    async def parse(self, request: WebhookRequest) -> Sequence[ChannelEvent]:
        """Verify `request` on its raw bytes, then turn it into events.

        Raise `SignatureError` when it does not verify and `MalformedPayload` when it cannot be
        understood; `RetryableError` only for a transient failure the sender should retry (the
        bridge answers 503). Never anything else, whatever the body. Every event carries
        `channel=self.name`, and a message's `message_id` is the same on every retry of the
        webhook (the bridge dedupes on it). Events the bridge has no use for (a verification
        ping) are simply not returned.
        """

    async def ack(self, request: WebhookRequest, events: Sequence[ChannelEvent]) -> WebhookResponse:
        """The HTTP answer the channel expects once `events` are accepted (default: 200 JSON)."""
        return WebhookResponse()

    @abstractmethod
    async def send(self, user_id: str, message: OutboundMessage) -> SendResult:
        """Deliver an agent's reply to `user_id`.

        The bridge already split texts over `capabilities.max_text_length` and turned parts
        outside `capabilities.send` into text. Split or degrade what the messenger still cannot
        show (and say so in `SendResult.notes`); never drop content silently. Failures:
        `RetryableError` (`RateLimited`) to retry, `UserUnreachable` when the user blocked the
        account or unsubscribed, `PermanentError` for other refusals, `ConfigurationError` for
        wrong credentials; `byoc.upstream` maps HTTP answers to them.
        """

    async def fetch_media(self, part: MediaPart, *, max_bytes: int) -> MediaStream | None:
        """The bytes of an inbound media part, fetched with the channel's own credentials.

        The bridge calls this to copy media into the help desk (`media_urls_expire`), and
        stores what it reads; at most `max_bytes` are wanted (`MediaTooLarge` beyond).
        `byoc.media.open_media` does the HTTP part. The default returns None: `part.url` needs
        no credential, and the help desk may fetch it itself. Never put a credential in
        `part.url`: it is queued, logged and may be shown to agents.
        """
        return None

    async def conversation_resolved(self, user_id: str) -> None:
        """The help desk resolved this user's conversation (a dealer may end its chat session).

        Best effort: the bridge logs a failure and goes on.
        """

    async def install(self, target_url: str) -> InstallResult:
        """Point the channel's webhook at `target_url`; by default it is pasted by hand.

        Called again with the same URL, it must succeed again (the bridge records the result).
        """
        return InstallResult(
            target_url=target_url,
            registered=False,
            instructions=f"Paste this URL as the webhook of your {self.name} account.",
        )

    async def uninstall(self) -> None:
        """Stop the channel from calling the bridge (nothing to do for manual registration).

        Called when nothing is installed, it does nothing and succeeds.
        """

    async def installed(self) -> InstallResult | None:
        """What the channel itself knows of its registration, for the admin page when the
        bridge has no record of its own (default: nothing)."""
        return None

    async def check(self) -> AccountCheck | None:
        """Prove the credentials work with the messenger's cheapest read-only call
        (`byoc check`). Raise `ConfigurationError` naming the setting when they do not. The
        default makes no call and returns None."""
        return None

    async def aclose(self) -> None:
        """Release connections; called once when the bridge shuts down."""

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Self:
        """Build the channel from environment settings (the bundled server uses this).

        Read `BYOC_<KIND>_*` (see `settings_prefix_of`); for a second instance the core passes
        that instance's own settings under the same names. Raise `ConfigurationError` naming
        the setting to fix.
        """
        raise ConfigurationError(
            f"channel {getattr(cls, 'name', cls.__name__)!r} cannot be configured from the "
            "environment; construct it in Python and pass it to Bridge(channels=[...])"
        )


def settings_prefix_of(channel_class: type[Channel]) -> str:
    """The prefix of the settings `channel_class.from_env` reads (`BYOC_VIBER_`)."""
    if channel_class.settings_prefix:
        return channel_class.settings_prefix
    kind = getattr(channel_class, "name", channel_class.__name__)
    return "BYOC_" + kind.upper().replace("-", "_") + "_"


def require_setting(env: Mapping[str, str], key: str, where: str) -> str:
    """Read a required setting or raise a `ConfigurationError` saying where to find it."""
    value = env.get(key, "").strip()
    if not value:
        raise ConfigurationError(f"{key} is not set; {where}")
    return value
