"""Value types that cross the bridge: message parts, messages, channel events.

Every type is a frozen attrs class with keyword-only arguments, so values can be shared between
tasks, used as dict keys and compared in tests. Provider ids (a channel's message id, its user id)
are required: dedupe and routing depend on them.

```python
msg = InboundMessage(
    channel="viber",
    user_id="jc9HsWTZ2Yf2NkRZ8KcNug==",
    message_id="4912661846655238145",
    parts=(Text(text="hello"),),
)
```
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timezone
from typing import Any

import attrs

__all__ = [
    "Buttons",
    "ChannelEvent",
    "Contact",
    "ConversationStarted",
    "Delivered",
    "Failed",
    "File",
    "Image",
    "InboundMessage",
    "Link",
    "Location",
    "OutboundMessage",
    "Part",
    "Profile",
    "QuickReplies",
    "QuickReply",
    "Seen",
    "SendResult",
    "Sticker",
    "Subscribed",
    "Text",
    "Unsubscribed",
    "UrlButton",
    "Video",
    "utcnow",
]


def utcnow() -> datetime:
    """The current time as an aware UTC datetime (the default timestamp of every event)."""
    return datetime.now(timezone.utc)


def _nonempty(instance: object, attribute: attrs.Attribute[str], value: str) -> None:
    if not value:
        raise ValueError(f"{type(instance).__name__}.{attribute.name} must not be empty")


def _tuple(value: Iterable[Any]) -> tuple[Any, ...]:
    return tuple(value)


# -- message parts -----------------------------------------------------------------------------
# Media parts carry `helpdesk_ref` once `Messaging.rehost` copied them into the help desk's own
# storage (Freshchat's file hash): channel media URLs expire, the copy does not.


@attrs.frozen(kw_only=True)
class Text:
    """Plain text. Channels split it when it is over their limit.

    `reply_payload` is set on what a user sent by tapping a quick reply that carried a payload
    (see `QuickReply`): `text` is then the reply's label, as the user saw it.
    """

    text: str
    reply_payload: str | None = None


@attrs.frozen(kw_only=True)
class Image:
    """A picture at `url`, with an optional caption."""

    url: str = attrs.field(validator=_nonempty)
    caption: str = ""
    mime_type: str | None = None
    size: int | None = None
    name: str | None = None
    helpdesk_ref: str | None = None


@attrs.frozen(kw_only=True)
class Video:
    """A video at `url`; `size` in bytes and `duration` in seconds when known."""

    url: str = attrs.field(validator=_nonempty)
    caption: str = ""
    mime_type: str | None = None
    size: int | None = None
    duration: int | None = None
    thumbnail_url: str | None = None
    helpdesk_ref: str | None = None


@attrs.frozen(kw_only=True)
class File:
    """A document at `url` named `name`; `size` in bytes when known."""

    url: str = attrs.field(validator=_nonempty)
    name: str = "file"
    mime_type: str | None = None
    size: int | None = None
    helpdesk_ref: str | None = None


@attrs.frozen(kw_only=True)
class Location:
    """A point on the map, with an optional human label (address, place name)."""

    lat: float
    lon: float
    label: str | None = None


@attrs.frozen(kw_only=True)
class Contact:
    """A shared phone-book contact."""

    name: str
    phone: str


@attrs.frozen(kw_only=True)
class Sticker:
    """A channel sticker; `url` is a picture of it when the channel offers one."""

    sticker_id: str
    url: str | None = None


@attrs.frozen(kw_only=True)
class Link:
    """A URL shared as such (Viber `url` messages), with an optional title."""

    url: str = attrs.field(validator=_nonempty)
    title: str | None = None


@attrs.frozen(kw_only=True)
class UrlButton:
    """A button that opens `url`."""

    label: str
    url: str


@attrs.frozen(kw_only=True)
class QuickReply:
    """A suggested answer. Tapping it sends the label back as the user's message, with the
    `payload` alongside (`Text.reply_payload`) where the channel can carry it."""

    label: str
    payload: str | None = None


@attrs.frozen(kw_only=True)
class Buttons:
    """URL buttons, optionally introduced by `text`."""

    buttons: tuple[UrlButton, ...] = attrs.field(converter=_tuple)
    text: str = ""


@attrs.frozen(kw_only=True)
class QuickReplies:
    """Suggested answers, optionally introduced by `text`."""

    replies: tuple[QuickReply, ...] = attrs.field(converter=_tuple)
    text: str = ""


Part = Text | Image | Video | File | Location | Contact | Sticker | Link | Buttons | QuickReplies
"""Any message part. Channels map what they can and degrade the rest explicitly (text + link)."""


# -- users and messages ------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class Profile:
    """What a channel tells about its user; every field may be missing."""

    name: str | None = None
    avatar_url: str | None = None
    language: str | None = None
    country: str | None = None


@attrs.frozen(kw_only=True)
class InboundMessage:
    """A message a channel user wrote, normalised.

    `message_id` is the channel's own id for it (Viber `message_token`, Kakao `serial_number`):
    the bridge dedupes on `(channel, message_id)`, so it must stay the same across retries.
    """

    channel: str = attrs.field(validator=_nonempty)
    user_id: str = attrs.field(validator=_nonempty)
    message_id: str = attrs.field(validator=_nonempty)
    parts: tuple[Part, ...] = attrs.field(converter=_tuple)
    profile: Profile | None = None
    timestamp: datetime = attrs.field(factory=utcnow)


@attrs.frozen(kw_only=True)
class OutboundMessage:
    """An agent's reply on its way to a channel user.

    `message_id` is the help desk's id for it: the bridge dedupes on it so a reply is sent once.
    """

    message_id: str = attrs.field(validator=_nonempty)
    conversation_id: str
    parts: tuple[Part, ...] = attrs.field(converter=_tuple)
    author_name: str | None = None
    timestamp: datetime = attrs.field(factory=utcnow)


@attrs.frozen(kw_only=True)
class SendResult:
    """What a channel did with an outbound message.

    `message_ids` are the channel's ids of what it sent (a long text may become several
    messages); `notes` say what was split or degraded, in words an operator understands.
    """

    message_ids: tuple[str, ...] = attrs.field(converter=_tuple, factory=tuple)
    notes: tuple[str, ...] = attrs.field(converter=_tuple, factory=tuple)


# -- channel events other than messages --------------------------------------------------------


@attrs.frozen(kw_only=True)
class Delivered:
    """The channel delivered one of our messages (`message_id` is the channel's id)."""

    channel: str
    user_id: str
    message_id: str
    timestamp: datetime = attrs.field(factory=utcnow)


@attrs.frozen(kw_only=True)
class Seen:
    """The user read one of our messages."""

    channel: str
    user_id: str
    message_id: str
    timestamp: datetime = attrs.field(factory=utcnow)


@attrs.frozen(kw_only=True)
class Failed:
    """The channel accepted one of our messages but could not deliver it."""

    channel: str
    user_id: str
    message_id: str
    reason: str
    timestamp: datetime = attrs.field(factory=utcnow)


@attrs.frozen(kw_only=True)
class Subscribed:
    """The user subscribed to the business account."""

    channel: str
    user_id: str
    profile: Profile | None = None
    timestamp: datetime = attrs.field(factory=utcnow)


@attrs.frozen(kw_only=True)
class Unsubscribed:
    """The user unsubscribed or blocked the account: sends will fail until they return."""

    channel: str
    user_id: str
    timestamp: datetime = attrs.field(factory=utcnow)


@attrs.frozen(kw_only=True)
class ConversationStarted:
    """The user opened the chat without writing yet (Viber `conversation_started`)."""

    channel: str
    user_id: str
    profile: Profile | None = None
    context: str | None = None
    subscribed: bool = False
    timestamp: datetime = attrs.field(factory=utcnow)


ChannelEvent = (
    InboundMessage | Delivered | Seen | Failed | Subscribed | Unsubscribed | ConversationStarted
)
"""Anything `Channel.parse` returns."""
