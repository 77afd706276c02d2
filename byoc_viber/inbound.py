"""Viber callbacks → byoc events. Pure: bytes in, events out, `MalformedPayload` for bad input.

The signature is checked by the caller (`ViberChannel.parse`) before this runs. Every callback
Viber documents is understood; the ones the bridge has no use for (`webhook`, `client_status`,
`action`, anything new) give no events and are answered 200 so Viber does not retry them.

Required fields (ids, the message token, media URLs) must be there with the documented types,
or the payload is refused. Optional profile fields (name, avatar, country, language) of the
wrong type are dropped instead: a 400 would make Viber retry for an hour and then lose the
user's message over a cosmetic field.

Every field is length-bounded (see `byoc.bounds`), generously above what Viber itself allows:
ids at 256 characters, texts at twice Viber's 7,000, URLs at 8,192. A required field over its
bound refuses the callback; an optional one is dropped, as one of the wrong type is.

`callback_time` reads the callback's `timestamp` for the channel's freshness window.
"""

from __future__ import annotations

import logging
import math
import mimetypes
import re
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

from byoc.bounds import MAX_ID, MAX_NAME, MAX_URL, bounded, fits
from byoc.errors import MalformedPayload
from byoc.models import (
    ChannelEvent,
    Contact,
    ConversationStarted,
    Delivered,
    Failed,
    File,
    Image,
    InboundMessage,
    Link,
    Location,
    Part,
    Profile,
    Seen,
    Sticker,
    Subscribed,
    Text,
    Unsubscribed,
    Video,
)
from byoc.webhook import parse_json_object

from .limits import MAX_TEXT, extension, viber_length
from .tracking import decode_replies

__all__ = [
    "CHANNEL",
    "MAX_INBOUND_TEXT",
    "callback_time",
    "load_callback",
    "parse_callback",
    "parse_payload",
    "parse_profile",
]

CHANNEL = "viber"
"""The name of the first Viber bot; a second is another instance with its own name."""
logger = logging.getLogger("byoc.viber")

_DIGITS = re.compile(r"-?[0-9]{1,40}")
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)

MAX_INBOUND_TEXT = 2 * MAX_TEXT
"""The longest text (in UTF-16 units, as Viber counts) accepted from a user: twice what Viber
lets a message hold."""
# Event and message type names are short words; anything longer is not Viber's.
_MAX_KIND = 64
# Profile fields shorter than the help desk's: a language or country code is a few letters.
_MAX_CODE = 64
_MAX_PHONE = 64


def load_callback(body: bytes) -> dict[str, Any]:
    """Decode a callback body into a JSON object (`byoc.webhook.parse_json_object`).

    Integers stay Python ints of any size and fractions become `Decimal`s, so a 64-bit
    `message_token` never passes through a float, even if a proxy re-wrote it as `1.0e18`.
    Lone surrogates (text cut in the middle of an emoji) become U+FFFD.
    """
    return parse_json_object(body, what="Viber callback", parse_float=Decimal)


def parse_callback(body: bytes, *, channel: str = CHANNEL) -> list[ChannelEvent]:
    """Turn one (already verified) callback body into events of the channel named `channel`
    (the instance's name: `viber-eu` for a second bot)."""
    return parse_payload(load_callback(body), channel=channel)


def callback_time(payload: Mapping[str, Any]) -> float | None:
    """When Viber sent the callback (its `timestamp`), in Unix seconds; None when it has none.

    The `webhook` ping of `set_webhook` gives None: its timestamp is not a time (Viber's own
    example is `4977069964384421269`), and it carries nothing to replay.
    """
    if payload.get("event") == "webhook" or payload.get("timestamp") is None:
        return None
    millis = _integer(payload.get("timestamp"))
    if millis is None:
        raise MalformedPayload("Viber callback: 'timestamp' is not an integer")
    return millis / 1000


def parse_payload(payload: Mapping[str, Any], *, channel: str = CHANNEL) -> list[ChannelEvent]:
    """`parse_callback` for a callback already decoded with `load_callback`."""
    event = _kind(payload, "event", "callback")
    handler = _HANDLERS.get(event)
    if handler is None:
        logger.info("ignoring Viber %r callback: the bridge has no use for it", event)
        return []
    return handler(payload, channel)


# -- field readers -------------------------------------------------------------------------------


def _object(payload: Mapping[str, Any], key: str, where: str) -> Mapping[str, Any]:
    value = payload.get(key)
    if not isinstance(value, dict):
        raise MalformedPayload(f"Viber {where}: '{key}' is missing or not an object")
    return value


def _required_str(payload: Mapping[str, Any], key: str, where: str, limit: int) -> str:
    value = payload.get(key)
    if not isinstance(value, str) or not value:
        raise MalformedPayload(f"Viber {where}: '{key}' is missing or not a non-empty string")
    return bounded(value, limit, f"Viber {where}: '{key}'")


def _id(payload: Mapping[str, Any], key: str, where: str) -> str:
    return _required_str(payload, key, where, MAX_ID)


def _kind(payload: Mapping[str, Any], key: str, where: str) -> str:
    return _required_str(payload, key, where, _MAX_KIND)


def _optional_str(payload: Mapping[str, Any], key: str, where: str, limit: int) -> str | None:
    value = payload.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise MalformedPayload(f"Viber {where}: '{key}' is not a string")
    return bounded(value, limit, f"Viber {where}: '{key}'", viber_length)


def _lenient_str(payload: Mapping[str, Any], key: str, limit: int) -> str | None:
    """An optional, cosmetic field: None when missing, of another type, or over `limit`."""
    value = payload.get(key)
    return value if isinstance(value, str) and value and fits(value, limit) else None


def _integer(value: Any) -> int | None:
    """An integer from an int, an integral Decimal or a string of digits; None otherwise."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, Decimal):
        # The exponent bound keeps `1e999999999` from becoming a billion-digit int.
        if not value.is_finite() or value.adjusted() > 40:
            return None
        try:
            return int(value) if value == value.to_integral_value() else None
        except InvalidOperation:
            return None
    if isinstance(value, str) and _DIGITS.fullmatch(value.strip()):
        return int(value.strip())
    return None


def _token(payload: Mapping[str, Any], where: str) -> str:
    """`message_token` as its exact decimal string: the dedupe key, so it must be exact."""
    token = _integer(payload.get("message_token"))
    if token is None:
        raise MalformedPayload(f"Viber {where}: 'message_token' is missing or not an integer")
    return str(token)


def _timestamp(payload: Mapping[str, Any], where: str) -> datetime:
    """`timestamp` (epoch milliseconds) as an aware datetime; now when Viber left it out."""
    raw = payload.get("timestamp")
    if raw is None:
        return datetime.now(timezone.utc)
    millis = _integer(raw)
    if millis is None:
        raise MalformedPayload(f"Viber {where}: 'timestamp' is not an integer")
    try:
        return _EPOCH + timedelta(milliseconds=millis)
    except OverflowError:
        raise MalformedPayload(f"Viber {where}: 'timestamp' {millis} is out of range") from None


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool):
        raise MalformedPayload(f"Viber location: '{what}' is not a number")
    try:
        # Decimal parses numbers from JSON and the strings the legacy docs show ("50.76891").
        number = float(Decimal(value.strip()) if isinstance(value, str) else value)
    except (TypeError, ValueError, ArithmeticError):
        raise MalformedPayload(f"Viber location: '{what}' is not a number") from None
    if not math.isfinite(number):
        raise MalformedPayload(f"Viber location: '{what}' is not a finite number")
    return number


def _size(message: Mapping[str, Any]) -> int | None:
    # Inbound files carry `file_size`, videos `size`; accept either on any media message.
    for key in ("file_size", "size"):
        size = _integer(message.get(key))
        if size is not None and size >= 0:
            return size
    return None


def _media_name(message: Mapping[str, Any], url: str) -> str | None:
    name = _lenient_str(message, "file_name", MAX_NAME)
    if name:
        return name
    last = url.split("?", 1)[0].split("#", 1)[0].rstrip("/").rsplit("/", 1)[-1]
    return last if extension(last) and fits(last, MAX_NAME) else None


def _mime(name: str | None, url: str) -> str | None:
    for candidate in (name, url.split("?", 1)[0]):
        if candidate:
            guessed, _ = mimetypes.guess_type(candidate, strict=False)
            if guessed:
                return guessed
    return None


def parse_profile(user: Mapping[str, Any]) -> Profile:
    """A Viber user object (`sender`, `user`, get_user_details' `user`) as a `Profile`."""
    return Profile(
        name=_lenient_str(user, "name", MAX_NAME),
        avatar_url=_lenient_str(user, "avatar", MAX_URL),
        language=_lenient_str(user, "language", _MAX_CODE),
        country=_lenient_str(user, "country", _MAX_CODE),
    )


# -- message parts -------------------------------------------------------------------------------


def _parts(message: Mapping[str, Any]) -> tuple[Part, ...]:
    kind = _kind(message, "type", "message")
    where = f"{kind} message"
    text = _optional_str(message, "text", where, MAX_INBOUND_TEXT) or ""
    if kind == "text":
        # A tap on a reply button: its ActionBody comes back as the text, and the payload it
        # stands for in the tracking data of the message that showed the keyboard.
        payload = decode_replies(message.get("tracking_data")).get(text)
        return (Text(text=text, reply_payload=payload),)
    if kind in ("picture", "video", "file"):
        url = _required_str(message, "media", where, MAX_URL)
        name = _media_name(message, url)
        mime = _mime(name, url)
        if kind == "picture":
            return (Image(url=url, caption=text, mime_type=mime, size=_size(message), name=name),)
        if kind == "video":
            duration = _integer(message.get("duration"))
            video = Video(
                url=url,
                caption=text,
                mime_type=mime,
                size=_size(message),
                duration=duration if duration is not None and duration >= 0 else None,
                thumbnail_url=_lenient_str(message, "thumbnail", MAX_URL),
            )
            return (video,)
        file = File(url=url, name=name or "file", mime_type=mime, size=_size(message))
        return (file, Text(text=text)) if text else (file,)
    if kind == "sticker":
        sticker_id = _integer(message.get("sticker_id"))
        if sticker_id is None:
            raise MalformedPayload("Viber sticker message: 'sticker_id' is missing or not a number")
        # The documented callback names only the sticker; a picture URL is used when present.
        media = _lenient_str(message, "media", MAX_URL)
        if media is not None and media.lower().startswith(("https://", "http://")):
            name = _media_name(message, media) or f"sticker-{sticker_id}.png"
            return (Image(url=media, name=name, mime_type=_mime(name, media)),)
        return (Sticker(sticker_id=str(sticker_id)),)
    if kind == "contact":
        contact = _object(message, "contact", where)
        return (
            Contact(
                name=_optional_str(contact, "name", where, MAX_NAME) or "",
                phone=_optional_str(contact, "phone_number", where, _MAX_PHONE) or "",
            ),
        )
    if kind == "url":
        return (Link(url=_required_str(message, "media", where, MAX_URL)),)
    if kind == "location":
        location = _object(message, "location", where)
        return (
            Location(
                lat=_number(location.get("lat"), "lat"),
                lon=_number(location.get("lon"), "lon"),
                label=text or _lenient_str(location, "address", MAX_NAME),
            ),
        )
    # A type Viber added after this was written: say visibly that something arrived.
    notice = f'[The user sent a Viber "{kind}" message, which the bridge cannot show.]'
    return (Text(text=f"{notice}\n{text}" if text else notice),)


# -- events --------------------------------------------------------------------------------------


def _message(payload: Mapping[str, Any], channel: str) -> list[ChannelEvent]:
    sender = _object(payload, "sender", "message callback")
    return [
        InboundMessage(
            channel=channel,
            user_id=_id(sender, "id", "message callback sender"),
            message_id=_token(payload, "message callback"),
            parts=_parts(_object(payload, "message", "message callback")),
            profile=parse_profile(sender),
            timestamp=_timestamp(payload, "message callback"),
        )
    ]


def _subscribed(payload: Mapping[str, Any], channel: str) -> list[ChannelEvent]:
    user = _object(payload, "user", "subscribed callback")
    return [
        Subscribed(
            channel=channel,
            user_id=_id(user, "id", "subscribed callback user"),
            profile=parse_profile(user),
            timestamp=_timestamp(payload, "subscribed callback"),
        )
    ]


def _unsubscribed(payload: Mapping[str, Any], channel: str) -> list[ChannelEvent]:
    return [
        Unsubscribed(
            channel=channel,
            user_id=_id(payload, "user_id", "unsubscribed callback"),
            timestamp=_timestamp(payload, "unsubscribed callback"),
        )
    ]


def _conversation_started(payload: Mapping[str, Any], channel: str) -> list[ChannelEvent]:
    user = _object(payload, "user", "conversation_started callback")
    subscribed = payload.get("subscribed")
    return [
        ConversationStarted(
            channel=channel,
            user_id=_id(user, "id", "conversation_started callback user"),
            profile=parse_profile(user),
            context=_lenient_str(payload, "context", MAX_NAME),
            subscribed=subscribed if isinstance(subscribed, bool) else False,
            timestamp=_timestamp(payload, "conversation_started callback"),
        )
    ]


def _delivered(payload: Mapping[str, Any], channel: str) -> list[ChannelEvent]:
    return [
        Delivered(
            channel=channel,
            user_id=_id(payload, "user_id", "delivered callback"),
            message_id=_token(payload, "delivered callback"),
            timestamp=_timestamp(payload, "delivered callback"),
        )
    ]


def _seen(payload: Mapping[str, Any], channel: str) -> list[ChannelEvent]:
    return [
        Seen(
            channel=channel,
            user_id=_id(payload, "user_id", "seen callback"),
            message_id=_token(payload, "seen callback"),
            timestamp=_timestamp(payload, "seen callback"),
        )
    ]


def _failed(payload: Mapping[str, Any], channel: str) -> list[ChannelEvent]:
    return [
        Failed(
            channel=channel,
            user_id=_id(payload, "user_id", "failed callback"),
            message_id=_token(payload, "failed callback"),
            reason=_lenient_str(payload, "desc", MAX_NAME) or "Viber could not deliver the message",
            timestamp=_timestamp(payload, "failed callback"),
        )
    ]


def _webhook(payload: Mapping[str, Any], channel: str) -> list[ChannelEvent]:
    # The verification ping of set_webhook: nothing to do but answer 200.
    return []


_HANDLERS: dict[str, Callable[[Mapping[str, Any], str], list[ChannelEvent]]] = {
    "message": _message,
    "subscribed": _subscribed,
    "unsubscribed": _unsubscribed,
    "conversation_started": _conversation_started,
    "delivered": _delivered,
    "seen": _seen,
    "failed": _failed,
    "webhook": _webhook,
}
