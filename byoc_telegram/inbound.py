"""Telegram `Update`s → byoc events. Pure: bytes in, events out, `MalformedPayload` for bad input.

The secret header is checked by the caller (`TelegramChannel.parse`) first. What becomes what:

| update | events |
|---|---|
| `message` in a private chat | one `InboundMessage` (its `message_id` is the `update_id`) |
| `edited_message` | an `InboundMessage` opening with a note that says it is an edit |
| `callback_query` with `data` | an `InboundMessage`: the tapped button's text and payload |
| `my_chat_member` `kicked` / `member` | `Unsubscribed` (blocked) / `Subscribed` (unblocked) |
| anything else, and group chats | nothing (answered 200, so Telegram does not retry it) |

Media parts carry `tg-file:<file_id>/<name>`, never a download URL: that URL holds the bot
token.

Every field is bounded here, at Telegram's own limits or above (`limits.py`), and one over its
bound is refused with a `MalformedPayload` (400) naming the field: ids (update, chat, user) are
64-bit integers, texts and captions at most 4,096 characters, `callback_data` at most 64 UTF-8
bytes, file ids at most 512 characters. Names longer than `MAX_NAME` are cut, and a cosmetic
field of the wrong type is dropped rather than refused (a 400 would make Telegram retry, then
lose the message).

`update_time` is when an update was made, for the channel's freshness window: a message's
`date`, an edit's `edit_date`, a membership change's `date`. A `callback_query` carries no time
of its own (its `message.date` is when the message under the button was sent, maybe long ago),
so a tap is not dated.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from typing import Any, TypeGuard
from urllib.parse import quote

from byoc import bounded
from byoc.errors import MalformedPayload
from byoc.models import (
    ChannelEvent,
    Contact,
    File,
    Image,
    InboundMessage,
    Location,
    Part,
    Profile,
    Subscribed,
    Text,
    Unsubscribed,
    Video,
)
from byoc.webhook import parse_json_object

from .limits import (
    FILE_SCHEME,
    MAX_CALLBACK_DATA,
    MAX_FILE_ID,
    MAX_ID,
    MAX_INBOUND_CAPTION,
    MAX_INBOUND_TEXT,
    MAX_NAME,
    MAX_PHONE,
    MAX_QUERY_ID,
)

__all__ = [
    "callback_query_id",
    "load_update",
    "message_parts",
    "parse_update",
    "update_events",
    "update_time",
]

logger = logging.getLogger("byoc.telegram")

Object = Mapping[str, Any]
_FILE_ID = re.compile(rf"[A-Za-z0-9_-]{{1,{MAX_FILE_ID}}}")
_REF_NAME = 100
"""The characters of a name a `tg-file:` reference keeps (percent-encoded, so up to 12 bytes
each): enough to name a copy, short enough for a URL."""
# Message kinds the bridge does not carry, named in the notice the agent reads instead.
_OTHER_KINDS = (
    "poll",
    "dice",
    "game",
    "story",
    "invoice",
    "giveaway",
    "paid_media",
    "web_app_data",
)


def parse_update(body: bytes, *, channel: str) -> list[ChannelEvent]:
    """The events of one (already verified) update, for the channel instance `channel`."""
    return update_events(load_update(body), channel=channel)


def load_update(body: bytes) -> Object:
    """The JSON object of an update, its `update_id` checked; `MalformedPayload` otherwise."""
    update = parse_json_object(body, what="Telegram update")
    _integer(update, "update_id", "update")
    return update


def update_events(update: Object, *, channel: str) -> list[ChannelEvent]:
    """The events of an update `load_update` read."""
    update_id = str(_integer(update, "update_id", "update"))
    for branch, handler in _BRANCHES.items():
        value = update.get(branch)
        if value is not None:
            return handler(_as_object(value, branch), update_id, channel)
    logger.info("ignoring a Telegram update with none of %s", ", ".join(_BRANCHES))
    return []


def update_time(update: Object) -> int | None:
    """When `update` was made (Unix seconds), or None for one that carries no time of its own
    (a `callback_query`, a kind the bridge ignores). A dated kind without its time is refused:
    Telegram always sends it, and a body without it would pass any freshness window."""
    for branch, key in _DATED.items():
        value = update.get(branch)
        if value is None:
            continue
        dated = _as_object(value, branch)
        # An edit is made at `edit_date`; its `date` is the original's, maybe weeks before.
        field = key if key in dated else "date"
        when = dated.get(field)
        if not _is_int(when) or not 0 <= when <= MAX_ID:
            raise MalformedPayload(f"Telegram {branch}: '{field}' must be Unix seconds")
        return int(when)
    return None


def callback_query_id(body: bytes) -> str | None:
    """The id of the `callback_query` in an update, to answer it; None when there is none."""
    try:
        query = parse_json_object(body, what="Telegram update").get("callback_query")
    except MalformedPayload:
        return None
    found = query.get("id") if isinstance(query, dict) else None
    return found if isinstance(found, str) and 0 < len(found) <= MAX_NAME else None


def message_parts(message: Object) -> list[Part]:
    """What a `Message` says, as byoc parts; a notice naming its kind when the bridge cannot
    carry it, so the agent knows the user sent something."""
    parts: list[Part] = []
    text = _content(message, "text")
    if text:
        parts.append(Text(text=text))
    caption = _content(message, "caption")
    for kind, read in _MEDIA.items():
        value = message.get(kind)
        if value is not None:
            parts.extend(read(value, caption))
            caption = ""  # one media kind per message takes the caption
            break
    if caption:
        parts.append(Text(text=caption))
    if "venue" in message:
        parts.append(_venue(_as_object(message["venue"], "venue")))
    elif "location" in message:
        parts.append(_location(_as_object(message["location"], "location")))
    if "contact" in message:
        parts.append(_contact(_as_object(message["contact"], "contact")))
    if not parts:
        kind = next((k for k in _OTHER_KINDS if k in message), "unsupported")
        parts.append(
            Text(text=f"[The user sent a Telegram {kind} message; it cannot be shown here]")
        )
    return parts


# -- update branches -----------------------------------------------------------------------------


def _message(
    message: Object, update_id: str, channel: str, *, edited: bool = False
) -> list[ChannelEvent]:
    chat_id = _private_chat(message)
    if chat_id is None:
        return []
    parts = message_parts(message)
    if edited:
        sent = _time(message.get("date"))
        when = sent.strftime("%Y-%m-%d %H:%M UTC") if sent else "earlier"
        parts.insert(0, Text(text=f"[The user edited their message of {when}; it now reads:]"))
    return [
        InboundMessage(
            channel=channel,
            user_id=chat_id,
            message_id=update_id,
            parts=parts,
            profile=_profile(message.get("from")),
            timestamp=_time(message.get("edit_date" if edited else "date")) or _now(),
        )
    ]


def _edited(message: Object, update_id: str, channel: str) -> list[ChannelEvent]:
    return _message(message, update_id, channel, edited=True)


def _callback(query: Object, update_id: str, channel: str) -> list[ChannelEvent]:
    _bounded(query.get("id"), "callback_query.id", MAX_QUERY_ID)
    data = _bounded(query.get("data"), "callback_query.data", MAX_CALLBACK_DATA)
    if _utf8_bytes(data) > MAX_CALLBACK_DATA:  # Telegram's limit is in bytes
        raise MalformedPayload(
            f"Telegram callback_query.data is {_utf8_bytes(data):,} bytes of UTF-8, over the "
            f"{MAX_CALLBACK_DATA} accepted"
        )
    if not data:
        return []  # a game's button: nothing the user said
    message = query.get("message")
    if isinstance(message, dict):
        chat_id = _private_chat(message)
        if chat_id is None:
            return []
    else:
        # A button under a message sent in inline mode comes without it: the user's own id is
        # their private chat with the bot.
        chat_id = str(_integer(_as_object(query.get("from"), "from"), "id", "callback_query.from"))
    label = _button_text(message, data) if isinstance(message, dict) else None
    text = label or data
    return [
        InboundMessage(
            channel=channel,
            user_id=chat_id,
            message_id=update_id,
            parts=[Text(text=text, reply_payload=data if data != text else None)],
            profile=_profile(query.get("from")),
        )
    ]


def _membership(change: Object, update_id: str, channel: str) -> list[ChannelEvent]:
    # In a private chat this update means the user blocked (kicked) or unblocked the bot.
    chat_id = _private_chat(change)
    member = change.get("new_chat_member")
    status = member.get("status") if isinstance(member, dict) else None
    if chat_id is None:
        return []
    if status == "kicked":
        return [Unsubscribed(channel=channel, user_id=chat_id)]
    if status == "member":
        return [Subscribed(channel=channel, user_id=chat_id, profile=_profile(change.get("from")))]
    return []


_BRANCHES: Mapping[str, Callable[[Object, str, str], list[ChannelEvent]]] = {
    "message": _message,
    "edited_message": _edited,
    "callback_query": _callback,
    "my_chat_member": _membership,
}
_DATED: Mapping[str, str] = {
    "message": "date",
    "edited_message": "edit_date",
    "my_chat_member": "date",
}
"""The branches that carry their own time, and the field that holds it."""


# -- media ---------------------------------------------------------------------------------------


def _photo(value: Any, caption: str) -> list[Part]:
    # An array of sizes, smallest first: the last is the original.
    sizes = [s for s in value if isinstance(s, dict)] if isinstance(value, list) else []
    if not sizes:
        raise MalformedPayload("Telegram message: 'photo' must be a non-empty array of sizes")
    return [_image(sizes[-1], "photo", caption, "image/jpeg", "photo.jpg")]


def _image(file: Object, where: str, caption: str, mime_type: str | None, name: str) -> Image:
    return Image(
        url=_file_ref(file, where, name),
        caption=caption,
        mime_type=mime_type,
        size=_size(file),
        name=name,
    )


def _document(value: Any, caption: str) -> list[Part]:
    document = _as_object(value, "document")
    name = _name(document.get("file_name")) or "document"
    return [
        File(
            url=_file_ref(document, "document", name),
            name=name,
            mime_type=_mime(document),
            size=_size(document),
        ),
        *_caption(caption),
    ]


def _video(value: Any, caption: str) -> list[Part]:
    video = _as_object(value, "video")
    duration = video.get("duration")
    name = _name(video.get("file_name")) or "video.mp4"
    return [
        Video(
            url=_file_ref(video, "video", name),
            caption=caption,
            mime_type=_mime(video) or "video/mp4",
            size=_size(video),
            duration=duration if _is_int(duration) and 0 <= duration <= MAX_ID else None,
        )
    ]


def _voice(value: Any, caption: str) -> list[Part]:
    voice = _as_object(value, "voice")
    mime = _mime(voice) or "audio/ogg"
    return [
        File(
            url=_file_ref(voice, "voice", "voice.ogg"),
            name="voice.ogg",
            mime_type=mime,
            size=_size(voice),
        ),
        *_caption(caption),
    ]


def _audio(value: Any, caption: str) -> list[Part]:
    audio = _as_object(value, "audio")
    name = _name(audio.get("file_name")) or f"{_name(audio.get('title')) or 'audio'}.mp3"
    return [
        File(
            url=_file_ref(audio, "audio", name),
            name=name,
            mime_type=_mime(audio) or "audio/mpeg",
            size=_size(audio),
        ),
        *_caption(caption),
    ]


def _sticker(value: Any, caption: str) -> list[Part]:
    sticker = _as_object(value, "sticker")
    emoji = _name(sticker.get("emoji"))
    label = f"Sticker {emoji}" if emoji else "Sticker"
    if sticker.get("is_animated") is not True and sticker.get("is_video") is not True:
        # A static sticker is a WEBP picture itself.
        return [_image(sticker, "sticker", label, "image/webp", "sticker.webp")]
    thumbnail = sticker.get("thumbnail", sticker.get("thumb"))  # `thumb` before Bot API 6.6
    if isinstance(thumbnail, dict):
        return [_image(thumbnail, "sticker.thumbnail", label, None, "sticker.webp")]
    return [Text(text=f"[{label}: an animated sticker Telegram gives no picture of]")]


_MEDIA: Mapping[str, Callable[[Any, str], list[Part]]] = {
    "photo": _photo,
    "document": _document,
    "video": _video,
    "animation": _video,
    "video_note": _video,
    "voice": _voice,
    "audio": _audio,
    "sticker": _sticker,
}


def _location(location: Object) -> Location:
    lat, lon = location.get("latitude"), location.get("longitude")
    if not (_is_coordinate(lat, 90) and _is_coordinate(lon, 180)):
        raise MalformedPayload("Telegram location: latitude and longitude must be on the map")
    return Location(lat=float(lat), lon=float(lon))


def _venue(venue: Object) -> Location:
    place = _location(_as_object(venue.get("location"), "venue.location"))
    label = ", ".join(x for x in (_name(venue.get("title")), _name(venue.get("address"))) if x)
    return Location(lat=place.lat, lon=place.lon, label=label or None)


def _contact(contact: Object) -> Contact:
    phone = _bounded(contact.get("phone_number"), "contact.phone_number", MAX_PHONE)
    if not phone:
        raise MalformedPayload("Telegram contact: 'phone_number' must be a non-empty string")
    names = (_name(contact.get("first_name")), _name(contact.get("last_name")))
    return Contact(name=" ".join(n for n in names if n), phone=phone)


# -- field readers -------------------------------------------------------------------------------


def _as_object(value: Any, where: str) -> Object:
    if not isinstance(value, dict):
        raise MalformedPayload(f"Telegram update: '{where}' must be an object")
    return value


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _integer(obj: Object, key: str, where: str) -> int:
    value = obj.get(key)
    if not _is_int(value) or not -MAX_ID <= value <= MAX_ID:
        raise MalformedPayload(f"Telegram {where}: '{key}' must be a 64-bit integer")
    return int(value)


def _private_chat(message: Object) -> str | None:
    """The chat's id when it is a private chat (a user talking to the bot), else None: a bot
    added to a group is not a support conversation."""
    chat = _as_object(message.get("chat"), "chat")
    chat_id = _integer(chat, "id", "chat")
    return str(chat_id) if chat.get("type") == "private" else None


def _bounded(value: Any, where: str, limit: int) -> str:
    """A content string: absent is empty; another type, or longer than `limit` characters, is
    refused naming `where`."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise MalformedPayload(f"Telegram {where} must be a string, not {type(value).__name__}")
    return bounded(value, limit, f"Telegram {where}")


def _utf8_bytes(value: str) -> int:
    return len(value.encode("utf-8", "surrogatepass"))


def _content(message: Object, key: str) -> str:
    limit = MAX_INBOUND_CAPTION if key == "caption" else MAX_INBOUND_TEXT
    return _bounded(message.get(key), f"message.{key}", limit)


def _caption(caption: str) -> list[Part]:
    return [Text(text=caption)] if caption else []


def _name(value: Any) -> str | None:
    """A cosmetic string (a name, a title): dropped when not a string, cut when too long."""
    return value[:MAX_NAME] if isinstance(value, str) and value.strip() else None


def _file_ref(file: Object, where: str, name: str) -> str:
    """`tg-file:<file_id>/<name>`: the id finds the file again; the name is what the help desk
    calls its copy when the part has no name of its own (a video)."""
    file_id = _bounded(file.get("file_id"), f"{where}.file_id", MAX_FILE_ID)
    if not _FILE_ID.fullmatch(file_id):
        raise MalformedPayload(f"Telegram {where}: 'file_id' is missing or not a file id")
    return f"{FILE_SCHEME}{file_id}/{quote(name[:_REF_NAME], safe='')}"


def _size(file: Object) -> int | None:
    size = file.get("file_size")
    return size if _is_int(size) and 0 <= size <= MAX_ID else None


def _mime(file: Object) -> str | None:
    mime = file.get("mime_type")
    return mime if isinstance(mime, str) and 0 < len(mime) <= 100 and "/" in mime else None


def _is_coordinate(value: object, bound: float) -> TypeGuard[float]:
    # Compared before any conversion: a 400-digit integer must not reach float().
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return -bound <= value <= bound


def _profile(user: Any) -> Profile | None:
    if not isinstance(user, dict):
        return None
    # Telegram always sends the user's id: one that is not a 64-bit integer is no user of its.
    _integer(user, "id", "from")
    names = [_name(user.get(k)) for k in ("first_name", "last_name")]
    name = " ".join(n for n in names if n) or _name(user.get("username"))
    language = user.get("language_code")
    language = language if isinstance(language, str) and 0 < len(language) <= 35 else None
    return Profile(name=name, language=language) if name or language else None


def _button_text(message: Object, data: str) -> str | None:
    """The text of the inline button whose `callback_data` is `data`, on the message the user
    tapped it under: what the user saw, which the agent should read."""
    markup = message.get("reply_markup")
    rows = markup.get("inline_keyboard") if isinstance(markup, dict) else None
    for row in rows if isinstance(rows, list) else ():
        for button in row if isinstance(row, list) else ():
            if isinstance(button, dict) and button.get("callback_data") == data:
                return _name(button.get("text"))
    return None


def _time(value: Any) -> datetime | None:
    if not _is_int(value):
        return None
    try:
        return datetime.fromtimestamp(value, timezone.utc)
    except (OverflowError, OSError, ValueError):
        return None


def _now() -> datetime:
    return datetime.now(timezone.utc)
