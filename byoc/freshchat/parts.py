"""Mapping between byoc parts and Freshchat `message_parts` / `reply_parts`.

Two directions, both total: nothing is silently dropped.

- `to_freshchat(parts)` builds what a user message becomes in Freshchat. Freshchat shows text,
  images, files, videos and URL buttons; locations become a map link, contacts their name and
  number, stickers their picture (or a label saying there is none), and quick replies travel in
  a `reply_parts` collection. A tapped quick reply is its label, with its payload on a second
  line when the two differ.
- `from_freshchat(message_parts, reply_parts)` reads an agent's reply. Freshchat part objects hold
  exactly one key, but webhook payloads pad them with nulls (`{"text": {...}, "image": null}`);
  a part type byoc does not know becomes `Text("[unsupported Freshchat part: <key>]")`, so the
  user sees that something was sent. A URL over 8,192 characters is not forwarded (the part
  says so), a name over 256 is left out.

```python
message_parts, reply_parts = to_freshchat([Text(text="hi"), Image(url="https://x/a.jpg")])
parts = from_freshchat([{"text": {"content": "hello"}}], None)   # (Text(text="hello"),)
```
"""

from __future__ import annotations

import mimetypes
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from ..bounds import MAX_NAME, MAX_URL, fits
from ..errors import MalformedPayload
from ..media import filename_from_url
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
)

__all__ = ["EMPTY_MESSAGE", "from_freshchat", "to_freshchat"]

JsonObject = dict[str, Any]

EMPTY_MESSAGE = "(empty message)"
"""The text sent to Freshchat for a message with nothing to show (it rejects empty parts)."""

_MAX_DEPTH = 8
_OCTET_STREAM = "application/octet-stream"


# -- byoc → Freshchat ----------------------------------------------------------------------------


def to_freshchat(parts: Iterable[Part]) -> tuple[list[JsonObject], list[JsonObject]]:
    """`(message_parts, reply_parts)` for a user message; `message_parts` is never empty.

    Each part object carries exactly one key. Quick replies of every `QuickReplies` part are
    gathered into one `collection` of `quick_reply_button`s in `reply_parts`.
    """
    message_parts: list[JsonObject] = []
    quick_replies: list[JsonObject] = []
    for part in parts:
        message_parts.extend(_outbound(part, quick_replies))
    if not message_parts:
        message_parts.append(_text(EMPTY_MESSAGE)[0])
    reply_parts = [{"collection": {"sub_parts": quick_replies}}] if quick_replies else []
    return message_parts, reply_parts


def _outbound(part: Part, quick_replies: list[JsonObject]) -> list[JsonObject]:
    match part:
        case Text():
            return _text(_tapped(part))
        case Image():
            # After `rehost`, `url` is Freshchat's own copy: the image part is the same shape.
            return [{"image": {"url": part.url}}, *_text(part.caption)]
        case Video():
            return [*_video(part), *_text(part.caption)]
        case File():
            return [_file(part)]
        case Location():
            return _text(_location_text(part))
        case Contact():
            details = ", ".join(x for x in (part.name, part.phone) if x)
            return _text(f"Shared contact: {details}" if details else "Shared contact")
        case Sticker():
            if part.url:
                return [{"image": {"url": part.url}}]
            return _text(_sticker_text(part))
        case Link():
            return _text(f"{part.title}\n{part.url}" if part.title else part.url)
        case Buttons():
            return [*_text(part.text), *(_url_button(b) for b in part.buttons)]
        case QuickReplies():
            quick_replies.extend(
                _quick_reply(r)
                for r in part.replies
                if r.label.strip() or (r.payload or "").strip()
            )
            return _text(part.text)
    # The cases cover every Part: only a caller passing something else gets here.
    raise TypeError(f"not a byoc part: {part!r}")


def _text(content: str) -> list[JsonObject]:
    # Freshchat refuses empty text parts; whitespace-only text shows nothing either.
    return [{"text": {"content": content}}] if content.strip() else []


def _tapped(part: Text) -> str:
    payload = part.reply_payload
    if payload is None or not payload.strip() or payload == part.text:
        return part.text
    return f"{part.text}\n(quick reply payload: {payload})"


def _sticker_text(part: Sticker) -> str:
    if part.sticker_id.strip():
        return f"[Sticker {part.sticker_id}: the channel gives no picture of it]"
    return "[Sticker: the channel gives no picture of it]"


def _video(part: Video) -> list[JsonObject]:
    content_type = part.mime_type or _guess_type(part.url, prefix="video/") or "video/mp4"
    video = {"video": {"url": part.url, "content_type": content_type}}
    if part.helpdesk_ref:
        # Freshchat's video part takes a URL only, and the channel's link expires (Viber's in an
        # hour): the copy re-hosted through /files/upload follows as a file part that stays.
        name = filename_from_url(part.url, "video")
        return [video, _hosted_file(part.helpdesk_ref, name, content_type)]
    return [video]


def _file(part: File) -> JsonObject:
    name = part.name or filename_from_url(part.url, "file")
    content_type = part.mime_type or _guess_type(name) or _OCTET_STREAM
    if part.helpdesk_ref:
        return _hosted_file(part.helpdesk_ref, name, content_type)
    body: JsonObject = {"url": part.url, "name": name, "content_type": content_type}
    if part.size is not None:
        body["file_size_in_bytes"] = part.size
    return {"file": body}


def _hosted_file(file_hash: str, name: str, content_type: str) -> JsonObject:
    return {
        "file": {
            "fileHash": file_hash,
            "fileSource": "FRESHCHAT",
            "name": name,
            "contentType": content_type,
        }
    }


def _location_text(part: Location) -> str:
    point = f"{part.lat:.6f},{part.lon:.6f}"
    link = f"https://www.google.com/maps/search/?api=1&query={point}"
    label = f"Location: {part.label}" if part.label else f"Location: {point}"
    return f"{label}\n{link}"


def _url_button(button: UrlButton) -> JsonObject:
    label = button.label if button.label.strip() else button.url
    if not button.url.strip():
        return {"text": {"content": label if label.strip() else "[button without a link]"}}
    return {"url_button": {"url": button.url, "label": label, "target": "_blank"}}


def _quick_reply(reply: QuickReply) -> JsonObject:
    body: JsonObject = {"label": reply.label if reply.label.strip() else reply.payload}
    if reply.payload:
        body["payload"] = reply.payload
    return {"quick_reply_button": body}


def _guess_type(name: str, prefix: str = "") -> str | None:
    guessed, _ = mimetypes.guess_type(name, strict=False)
    return guessed if guessed and guessed.startswith(prefix) else None


# -- Freshchat → byoc ----------------------------------------------------------------------------

# Before grouping: url buttons and quick replies arrive one part each and are gathered into
# `Buttons` / `QuickReplies` afterwards.
_Atom = Part | UrlButton | QuickReply


def from_freshchat(message_parts: object, reply_parts: object = None) -> tuple[Part, ...]:
    """byoc parts for an agent's reply.

    `message_parts` and `reply_parts` are the decoded JSON (None or a list of part objects).
    Consecutive `url_button`s become one `Buttons`, quick replies and callbacks one
    `QuickReplies`, each taking over the text just before them as its introduction. Raises
    `MalformedPayload` only when the structure itself is wrong (not a list of objects); a
    non-empty input never yields an empty result.
    """
    items = _part_list(message_parts, "message_parts")
    replies = _part_list(reply_parts, "reply_parts")
    atoms: list[_Atom] = []
    for index, item in enumerate(items):
        atoms.extend(_inbound(item, f"message_parts[{index}]", 0))
    for index, item in enumerate(replies):
        atoms.extend(_inbound(item, f"reply_parts[{index}]", 0))
    parts = _group(atoms)
    if not parts and (items or replies):
        # Only null-padded or empty parts: say there was a message rather than nothing.
        parts.append(Text(text=""))
    return tuple(parts)


def _part_list(value: object, where: str) -> Sequence[object]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise MalformedPayload(f"{where} is a {type(value).__name__}, not a list of parts")
    return value


def _inbound(item: object, where: str, depth: int) -> Iterator[_Atom]:
    if not isinstance(item, dict):
        raise MalformedPayload(f"{where} is a {type(item).__name__}, not a part object")
    for key, value in item.items():
        if value is None:
            continue
        yield from _inbound_one(key, value, where, depth)


def _inbound_one(key: str, value: object, where: str, depth: int) -> Iterator[_Atom]:
    if isinstance(value, str) and key in ("text", "email", "reference"):
        yield Text(text=value)
        return
    if not isinstance(value, dict):
        yield _unsupported(key)
        return
    match key:
        case "text":
            yield Text(text=_string(value.get("content")) or "")
        case "email":
            content = _string(value.get("content")) or ""
            subject = _string(value.get("subject"))
            yield Text(text=f"{subject}\n\n{content}" if subject else content)
        case "image":
            yield _media(value, "image")
        case "video":
            yield _media(value, "video")
        case "file":
            yield _media(value, "file")
        case "url_button":
            yield _button(value)
        case "quick_reply_button" | "callback":
            reply = _reply(value)
            yield reply if reply is not None else _unsupported(key)
        case "reference":
            label = _string(value.get("label")) or _string(value.get("reference_id"))
            yield Text(text=label) if label else _unsupported(key)
        case "collection":
            yield from _nested(key, value.get("sub_parts"), where, depth)
        case "template_content":
            yield from _template(value, where, depth)
        case _:
            yield _unsupported(key)


def _nested(key: str, sub_parts: object, where: str, depth: int) -> Iterator[_Atom]:
    if depth >= _MAX_DEPTH or not isinstance(sub_parts, list):
        yield _unsupported(key)
        return
    for index, sub in enumerate(sub_parts):
        if isinstance(sub, dict):
            yield from _inbound(sub, f"{where}.{key}[{index}]", depth + 1)
        else:
            # Nested oddities degrade visibly; only a wrong top-level shape is malformed.
            yield _unsupported(key)


def _template(value: JsonObject, where: str, depth: int) -> Iterator[_Atom]:
    # Carousels and dropdowns have no byoc equivalent: keep their texts, pictures and buttons.
    found = False
    sections = value.get("sections")
    if depth < _MAX_DEPTH and isinstance(sections, list):
        for index, section in enumerate(sections):
            if not isinstance(section, dict) or section.get("parts") is None:
                continue
            for atom in _nested("template_content", section["parts"], f"{where}[{index}]", depth):
                found = True
                yield atom
    if not found:
        yield _unsupported("template_content")


def _media(value: JsonObject, kind: str) -> _Atom:
    url = _bounded(_string(value.get("url")), MAX_URL)
    mime_type = _bounded(
        _string(value.get("content_type")) or _string(value.get("contentType")), MAX_NAME
    )
    name = _bounded(
        _string(value.get("name"))
        or _string(value.get("file_name"))
        or _string(value.get("fileName")),
        MAX_NAME,
    )
    if not url:
        # A Freshchat-hosted file (`fileHash`) before its URL exists cannot reach the user:
        # say so instead of dropping it.
        label = f'[attachment "{name}" could not be forwarded]' if name else None
        return Text(text=label or f"[{kind} attachment could not be forwarded]")
    if kind == "image":
        return Image(url=url, mime_type=mime_type, name=name)
    if kind == "video":
        return Video(url=url, mime_type=mime_type)
    return File(
        url=url,
        name=name or filename_from_url(url, "file"),
        mime_type=mime_type,
        size=_integer(value.get("file_size_in_bytes")),
        helpdesk_ref=_bounded(
            _string(value.get("fileHash")) or _string(value.get("file_hash")), MAX_NAME
        ),
    )


def _button(value: JsonObject) -> _Atom:
    url = _bounded(_string(value.get("url")), MAX_URL)
    label = _string(value.get("label"))
    if not url:
        return Text(text=label) if label else _unsupported("url_button")
    return UrlButton(label=label or url, url=url)


def _reply(value: JsonObject) -> QuickReply | None:
    label = _string(value.get("label")) or _string(value.get("custom_reply_text"))
    payload = _string(value.get("payload"))
    if not label and not payload:
        return None
    return QuickReply(label=label or payload or "", payload=payload)


def _unsupported(key: str) -> Text:
    return Text(text=f"[unsupported Freshchat part: {key if fits(key, 64) else key[:63] + '…'}]")


def _bounded(value: str | None, limit: int) -> str | None:
    return value if value is not None and fits(value, limit) else None


def _string(value: object) -> str | None:
    if isinstance(value, str):
        return value or None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return None


def _integer(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _group(atoms: Iterable[_Atom]) -> list[Part]:
    parts: list[Part] = []
    for atom in atoms:
        last = parts[-1] if parts else None
        if isinstance(atom, UrlButton):
            if isinstance(last, Buttons):
                parts[-1] = Buttons(buttons=(*last.buttons, atom), text=last.text)
            elif isinstance(last, Text):
                parts[-1] = Buttons(buttons=(atom,), text=last.text)
            else:
                parts.append(Buttons(buttons=(atom,)))
        elif isinstance(atom, QuickReply):
            if isinstance(last, QuickReplies):
                parts[-1] = QuickReplies(replies=(*last.replies, atom), text=last.text)
            elif isinstance(last, Text):
                parts[-1] = QuickReplies(replies=(atom,), text=last.text)
            else:
                parts.append(QuickReplies(replies=(atom,)))
        else:
            parts.append(atom)
    return parts
