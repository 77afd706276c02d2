"""Mapping between byoc parts and a Chatwoot message: `content`, attachments, content type.

A Chatwoot message is one text (`content`, Markdown), up to 15 attachments (files sent as
multipart in the same call) and, for agent messages, a `content_type` with structured
`content_attributes` (`input_select` options, `cards`, `article` links). Both directions are
total: nothing is silently dropped.

- `to_chatwoot(parts)` builds what a user's message becomes: texts, captions and whatever has
  no Chatwoot equivalent (locations, contacts, buttons) as lines of `content`; pictures, videos
  and files as attachments to download and send. Attachments past Chatwoot's limit stay links.
- `from_chatwoot(...)` reads an agent's message from a webhook; an attachment or content type
  byoc does not know becomes `Text("[unsupported Chatwoot ...]")`, so the user sees that
  something was sent.

```python
draft = to_chatwoot([Text(text="hi"), Image(url="https://x/a.jpg")])
# ChatwootDraft(content="hi", attachments=(Image(url="https://x/a.jpg"),))
from_chatwoot("hello", "text", {}, [])          # (Text(text="hello"),)
```
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import attrs

from ..errors import MalformedPayload
from ..models import (
    Buttons,
    Contact,
    File,
    Image,
    Link,
    Location,
    Part,
    QuickReplies,
    QuickReply,
    Sticker,
    Text,
    UrlButton,
    Video,
    _tuple,
)

__all__ = [
    "EMPTY_MESSAGE",
    "MAX_ATTACHMENTS",
    "MAX_CONTENT",
    "ChatwootDraft",
    "from_chatwoot",
    "to_chatwoot",
]

EMPTY_MESSAGE = "(empty message)"
"""The content sent for a message with nothing to show."""

MAX_ATTACHMENTS = 15
"""Chatwoot's limit of attachments on one message (`NUMBER_OF_PERMITTED_ATTACHMENTS`)."""

MAX_CONTENT = 150_000
"""Chatwoot's limit on `content`, in characters."""

_TRUNCATED = "\n[… message shortened to Chatwoot's limit]"

Media = Image | Video | File


@attrs.frozen(kw_only=True)
class ChatwootDraft:
    """A user message ready for Chatwoot: its `content` and the media to attach, in order."""

    content: str
    attachments: tuple[Media, ...] = attrs.field(converter=_tuple, factory=tuple)


# -- byoc → Chatwoot -----------------------------------------------------------------------------


def to_chatwoot(parts: Iterable[Part]) -> ChatwootDraft:
    """The draft of a user message; `content` is never empty when there is nothing to attach."""
    lines: list[str] = []
    media: list[Media] = []
    for part in parts:
        lines.extend(_lines(part, media))
    attached, overflow = media[:MAX_ATTACHMENTS], media[MAX_ATTACHMENTS:]
    # Past the limit, media stays a link the agent can open.
    lines.extend(f"(attachment: {m.url})" for m in overflow)
    content = "\n".join(lines)
    if len(content) > MAX_CONTENT:
        content = content[: MAX_CONTENT - len(_TRUNCATED)] + _TRUNCATED
    if not content.strip() and not attached:
        content = EMPTY_MESSAGE
    return ChatwootDraft(content=content, attachments=tuple(attached))


def _lines(part: Part, media: list[Media]) -> list[str]:
    match part:
        case Text():
            return _text(part.text)
        case Image() | Video():
            media.append(part)
            return _text(part.caption)
        case File():
            media.append(part)
            return []
        case Sticker():
            if part.url:
                media.append(Image(url=part.url, name=f"sticker-{part.sticker_id or 'image'}"))
                return []
            return [f"[sticker {part.sticker_id}]" if part.sticker_id else "[sticker]"]
        case Location():
            point = f"{part.lat:.6f},{part.lon:.6f}"
            label = part.label or point
            return [
                f"Location: {label}",
                f"https://www.google.com/maps/search/?api=1&query={point}",
            ]
        case Contact():
            details = ", ".join(x for x in (part.name, part.phone) if x)
            return [f"Shared contact: {details}" if details else "Shared contact"]
        case Link():
            return [part.title, part.url] if part.title else [part.url]
        case Buttons():
            return [*_text(part.text), *(_button_line(b) for b in part.buttons)]
        case QuickReplies():
            labels = [r.label or r.payload or "" for r in part.replies]
            options = " | ".join(label for label in labels if label.strip())
            return [*_text(part.text), *([f"Options: {options}"] if options else [])]
    # The cases cover every Part: only a caller passing something else gets here.
    raise TypeError(f"not a byoc part: {part!r}")


def _text(text: str) -> list[str]:
    return [text] if text.strip() else []


def _button_line(button: UrlButton) -> str:
    label = button.label.strip()
    if not button.url.strip():
        return label or "[button without a link]"
    return f"{label}: {button.url}" if label and label != button.url else button.url


# -- Chatwoot → byoc -----------------------------------------------------------------------------


def from_chatwoot(
    content: object,
    content_type: object = "text",
    content_attributes: object = None,
    attachments: object = None,
) -> tuple[Part, ...]:
    """byoc parts for an agent's message: its text (or structured content), then attachments.

    `input_select` becomes `QuickReplies`, `cards` pictures, texts, `Buttons` and
    `QuickReplies`, `article` links. Raises `MalformedPayload` only when the structure itself
    is wrong (content not text, attributes not an object, attachments not a list of objects).
    """
    if content is not None and not isinstance(content, str):
        raise MalformedPayload(f"content is a {type(content).__name__}, not text")
    if content_attributes is None:
        content_attributes = {}
    if not isinstance(content_attributes, dict):
        raise MalformedPayload("content_attributes is not an object")
    if attachments is None:
        attachments = []
    if not isinstance(attachments, list):
        raise MalformedPayload(f"attachments is a {type(attachments).__name__}, not a list")
    kind = content_type if isinstance(content_type, str) and content_type else "text"
    parts = _structured(content or "", kind, content_attributes)
    for index, attachment in enumerate(attachments):
        if not isinstance(attachment, dict):
            raise MalformedPayload(f"attachments[{index}] is not an object")
        parts.append(_attachment(attachment))
    return tuple(parts)


def _structured(content: str, kind: str, attributes: dict[str, Any]) -> list[Part]:
    items = attributes.get("items")
    items = [i for i in items if isinstance(i, dict)] if isinstance(items, list) else []
    if kind == "input_select" and items:
        replies = [r for r in (_option(i) for i in items) if r is not None]
        if replies:
            return [QuickReplies(replies=replies, text=content)]
    if kind == "cards" and items:
        parts: list[Part] = _text_part(content)
        for item in items:
            parts.extend(_card(item))
        return parts
    if kind == "article" and items:
        links = [_article(i) for i in items]
        return [*_text_part(content), *(link for link in links if link is not None)]
    if content.strip() or kind in ("text", "incoming_email"):
        return _text_part(content)
    # A form, an email input or a CSAT question without a text: say something was sent.
    return [Text(text=f"[unsupported Chatwoot content: {kind}]")]


def _text_part(content: str) -> list[Part]:
    return [Text(text=content)] if content.strip() else []


def _option(item: dict[str, Any]) -> QuickReply | None:
    label = _string(item.get("title"))
    value = _string(item.get("value"))
    if not label and not value:
        return None
    return QuickReply(label=label or value or "", payload=value)


def _card(item: dict[str, Any]) -> list[Part]:
    parts: list[Part] = []
    picture = _string(item.get("media_url"))
    if picture:
        parts.append(Image(url=picture))
    text = "\n".join(t for t in (_string(item.get("title")), _string(item.get("description"))) if t)
    buttons: list[UrlButton] = []
    replies: list[QuickReply] = []
    actions = item.get("actions")
    for action in actions if isinstance(actions, list) else []:
        if not isinstance(action, dict):
            continue
        label = _string(action.get("text")) or ""
        if action.get("type") == "link" and _string(action.get("uri")):
            buttons.append(UrlButton(label=label, url=_string(action.get("uri")) or ""))
        elif _string(action.get("payload")) or label:
            replies.append(QuickReply(label=label, payload=_string(action.get("payload"))))
    if buttons:
        parts.append(Buttons(buttons=buttons, text=text))
        text = ""
    if replies:
        parts.append(QuickReplies(replies=replies, text=text))
        text = ""
    parts.extend(_text_part(text))
    return parts


def _article(item: dict[str, Any]) -> Link | None:
    url = _string(item.get("link"))
    return Link(url=url, title=_string(item.get("title"))) if url else None


def _attachment(attachment: dict[str, Any]) -> Part:
    kind = _string(attachment.get("file_type")) or "file"
    url = _string(attachment.get("data_url"))
    if kind == "location":
        return _location(attachment)
    if kind == "fallback":
        link = _string(attachment.get("external_url")) or url
        title = _string(attachment.get("fallback_title"))
        if link:
            return Link(url=link, title=title)
        return Text(text=title or "[unsupported Chatwoot attachment: fallback]")
    if kind not in ("image", "video", "audio", "file"):
        return Text(text=f"[unsupported Chatwoot attachment: {kind}]")
    if not url:
        return Text(text=f"[{kind} attachment could not be forwarded]")
    size = attachment.get("file_size")
    size = size if isinstance(size, int) and not isinstance(size, bool) and size >= 0 else None
    if kind == "image":
        return Image(url=url, size=size)
    if kind == "video":
        return Video(url=url, size=size)
    return File(url=url, name=_file_name(url, attachment.get("extension"), kind), size=size)


def _location(attachment: dict[str, Any]) -> Part:
    lat, lon = attachment.get("coordinates_lat"), attachment.get("coordinates_long")
    label = _string(attachment.get("fallback_title"))
    if _number(lat) and _number(lon):
        assert isinstance(lat, int | float) and isinstance(lon, int | float)
        if -90 <= lat <= 90 and -180 <= lon <= 180:
            return Location(lat=float(lat), lon=float(lon), label=label)
    return Text(text=label or "[location attachment could not be forwarded]")


def _file_name(url: str, extension: object, kind: str) -> str:
    last = url.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]
    if last and "." in last:
        return last
    suffix = extension if isinstance(extension, str) and extension.isalnum() else ""
    return f"{kind}.{suffix}" if suffix else kind


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value == value


def _string(value: object) -> str | None:
    if isinstance(value, str):
        return value or None
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None
