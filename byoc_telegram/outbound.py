"""An agent's reply → the Bot API calls that show it. Pure: parts in, calls and notes out.

| part | call |
|---|---|
| `Text` | `sendMessage`, split on word boundaries over 4,096 characters |
| `Image` / `Video` | `sendPhoto` / `sendVideo` by URL (Telegram fetches it); the caption |
| `File` | `sendDocument`, uploaded (Telegram fetches only GIF, PDF and ZIP by URL) |
| `Location` | `sendLocation`, or `sendVenue` when it has a label |
| `Contact` | `sendContact` |
| `Buttons` | an inline keyboard of URL buttons on its text |
| `QuickReplies` | a one-time reply keyboard on its text (inline buttons: see below) |

A caption over 1,024 characters follows its picture as text. Quick replies whose payloads say
more than their labels become inline buttons, so a tap brings the payload back
(`callback_query`); a reply keyboard sends only the label. A keyboard without text of its own
goes on the reply's previous message, else on a text that lists its labels. Whatever cannot be
shown natively becomes text and is named in the notes. Media that Telegram cannot fetch is
replaced by its `fallback` text when the call is made.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from byoc.degrade import as_text, split_text
from byoc.models import (
    Buttons,
    Contact,
    File,
    Image,
    Location,
    Part,
    QuickReplies,
    QuickReply,
    Text,
    Video,
)

from .limits import MAX_BUTTON_TEXT, MAX_BUTTONS, MAX_CALLBACK_DATA, MAX_CAPTION, MAX_TEXT, MAX_URL

__all__ = ["Call", "Plan", "plan_reply"]


@attrs.frozen(kw_only=True)
class Call:
    """One Bot API call of a reply.

    `fallback` is the text sent instead when Telegram cannot take the media (a URL it cannot
    fetch); `upload` names the field whose URL the channel downloads and uploads as
    `upload_name` (`sendDocument`).
    """

    method: str
    body: Mapping[str, Any]
    fallback: str | None = None
    upload: str | None = None
    upload_name: str | None = None


@attrs.frozen(kw_only=True)
class Plan:
    """The calls that show a reply, in order, and what had to change on the way."""

    calls: tuple[Call, ...]
    notes: tuple[str, ...] = ()


def plan_reply(parts: Sequence[Part], chat_id: int) -> Plan:
    """The calls that show `parts` in the chat `chat_id`."""
    planner = _Planner(chat_id)
    for part in parts:
        planner.add(part)
    return Plan(calls=tuple(planner.calls), notes=tuple(planner.notes))


class _Planner:
    def __init__(self, chat_id: int) -> None:
        self.chat_id = chat_id
        self.calls: list[Call] = []
        self.notes: list[str] = []

    def add(self, part: Part) -> None:
        match part:
            case Text():
                self._text(part.text)
            case Image():
                self._media("sendPhoto", "photo", part.url, part.caption)
            case Video():
                self._media("sendVideo", "video", part.url, part.caption)
            case File():
                self._file(part)
            case Location():
                self._location(part)
            case Contact():
                self._contact(part)
            case Buttons():
                self._buttons(part)
            case QuickReplies():
                self._quick_replies(part)
            case _:  # the bridge fits replies first; a caller that did not gets text
                self.notes.append(f"a {type(part).__name__.lower()} was sent as text")
                self._text(as_text(part))

    def _call(self, method: str, body: Mapping[str, Any], **extra: Any) -> None:
        self.calls.append(Call(method=method, body={"chat_id": self.chat_id, **body}, **extra))

    def _text(self, text: str, markup: Mapping[str, Any] | None = None) -> None:
        # Telegram refuses a text that is empty once trimmed.
        pieces = [p for p in split_text(text, MAX_TEXT) if p.strip()] if text.strip() else []
        if len(pieces) > 1:
            self.notes.append(f"a text of {len(text)} characters was sent as {len(pieces)}")
        for index, piece in enumerate(pieces):
            last = markup is not None and index == len(pieces) - 1
            self._call("sendMessage", {"text": piece, **({"reply_markup": markup} if last else {})})

    def _media(self, method: str, field: str, url: str, caption: str) -> None:
        if not _is_http(url):
            self.notes.append(f"a {field} without an http(s) URL was sent as text")
            self._text("\n".join(x for x in (caption, url) if x))
            return
        fits = len(caption) <= MAX_CAPTION
        body = {field: url, **({"caption": caption} if caption.strip() and fits else {})}
        self._call(method, body, fallback="\n".join(x for x in (caption if fits else "", url) if x))
        if not fits:
            self.notes.append(
                f"a caption of {len(caption)} characters followed the {field} as text"
            )
            self._text(caption)

    def _file(self, part: File) -> None:
        link = f"{part.name}: {part.url}"
        if not _is_http(part.url):
            self.notes.append("a file without an http(s) URL was sent as text")
            self._text(link)
            return
        self._call(
            "sendDocument",
            {"document": part.url},
            fallback=link,
            upload="document",
            upload_name=part.name,
        )

    def _location(self, part: Location) -> None:
        if not (-90 <= part.lat <= 90 and -180 <= part.lon <= 180):
            self.notes.append("a location off the map was sent as text")
            self._text(as_text(part))
            return
        point = {"latitude": part.lat, "longitude": part.lon}
        label = (part.label or "").strip()
        if label:
            # A venue shows the label; its address line repeats the coordinates.
            venue = {"title": label[:MAX_BUTTON_TEXT], "address": f"{part.lat:.6f}, {part.lon:.6f}"}
            self._call("sendVenue", {**point, **venue})
        else:
            self._call("sendLocation", point)

    def _contact(self, part: Contact) -> None:
        if not part.phone.strip():
            self.notes.append("a contact without a phone number was sent as text")
            self._text(as_text(part))
            return
        name = part.name.strip()[:MAX_BUTTON_TEXT] or part.phone
        self._call("sendContact", {"phone_number": part.phone, "first_name": name})

    def _buttons(self, part: Buttons) -> None:
        rows: list[list[dict[str, str]]] = []
        lines: list[str] = []
        for button in part.buttons:
            label, url = button.label.strip() or button.url, button.url.strip()
            if _is_http(url) and len(rows) < MAX_BUTTONS:
                rows.append([{"text": label[:MAX_BUTTON_TEXT], "url": url}])
            else:
                self.notes.append(f"the button {label[:40]!r} was sent as text")
                lines.append(f"{label}: {url}")
        text = "\n".join(x for x in (part.text, *lines) if x.strip())
        markup = {"inline_keyboard": rows} if rows else None
        self._keyboard(text, markup, fallback="\n".join(row[0]["text"] for row in rows))

    def _quick_replies(self, part: QuickReplies) -> None:
        replies = [(_label(r), r.payload) for r in part.replies if _label(r)]
        if len(replies) < len(part.replies):
            self.notes.append("a quick reply without a label or payload was left out")
        shown, extra = replies[:MAX_BUTTONS], replies[MAX_BUTTONS:]
        if extra:
            self.notes.append(f"{len(extra)} quick replies over {MAX_BUTTONS} were sent as text")
        if _carries_payloads(shown):
            markup: dict[str, Any] | None = {
                "inline_keyboard": [
                    [{"text": label, "callback_data": payload or label}] for label, payload in shown
                ]
            }
        else:
            if any(payload and payload != label for label, payload in shown):
                self.notes.append("quick-reply payloads over 64 bytes were not carried")
            markup = (
                {
                    "keyboard": [[{"text": label}] for label, _ in shown],
                    "resize_keyboard": True,
                    "one_time_keyboard": True,
                }
                if shown
                else None
            )
        text = "\n".join([part.text, *(f"- {label}" for label, _ in extra)]).strip()
        self._keyboard(text, markup, fallback="\n".join(f"- {label}" for label, _ in shown))

    def _keyboard(self, text: str, markup: Mapping[str, Any] | None, *, fallback: str) -> None:
        if text.strip() or markup is None:
            self._text(text, markup)
            return
        last = self.calls[-1] if self.calls else None
        if last is not None and "reply_markup" not in last.body:
            self.calls[-1] = attrs.evolve(last, body={**last.body, "reply_markup": markup})
        else:
            self._text(fallback, markup)


def _label(reply: QuickReply) -> str:
    return (reply.label.strip() or (reply.payload or "").strip())[:MAX_BUTTON_TEXT]


def _carries_payloads(replies: Sequence[tuple[str, str | None]]) -> bool:
    """Inline buttons when a payload says more than the label and every one fits
    `callback_data`; a reply keyboard (which sends the label only) otherwise."""
    meaningful = any(payload and payload != label for label, payload in replies)
    return meaningful and all(
        0 < len((payload or label).encode()) <= MAX_CALLBACK_DATA for label, payload in replies
    )


def _is_http(url: str) -> bool:
    return url.lower().startswith(("https://", "http://")) and len(url) <= MAX_URL
