"""Fitting an agent's reply to what a channel can show, before `Channel.send` sees it.

`fit_message` applies a channel's `Capabilities`: a part outside `capabilities.send` becomes
text that keeps what it said (its link, its coordinates, its buttons' labels and URLs), and a
text over `capabilities.max_text_length` is split on word boundaries. Nothing is dropped; each
change is named in the notes, in words an operator understands.

```python
fitted, notes = fit_message(message, channel.capabilities)
result = await channel.send(user_id, fitted)
```
"""

from __future__ import annotations

import re

import attrs

from .channel import Capabilities
from .models import (
    Buttons,
    Contact,
    File,
    Image,
    Link,
    Location,
    OutboundMessage,
    Part,
    QuickReplies,
    Sticker,
    Text,
    Video,
)

__all__ = ["as_text", "fit_message", "split_text"]

_LAST_SPACE = re.compile(r".*\s", re.DOTALL)


def fit_message(
    message: OutboundMessage, capabilities: Capabilities, *, split: bool = True
) -> tuple[OutboundMessage, tuple[str, ...]]:
    """`message` with every part the channel can show, and what was changed to get there.

    `split=False` leaves long texts whole: the bridge degrades kinds the channel cannot show
    and lets the channel split text by its own measure (Viber counts UTF-16 units, Kakao
    chatbots group bubbles three to a response).
    """
    parts: list[Part] = []
    notes: list[str] = []
    for part in message.parts:
        if type(part) not in capabilities.send:
            notes.append(f"{_kind(part)} sent as text")
            part = Text(text=as_text(part))
        if split and isinstance(part, Text) and capabilities.max_text_length is not None:
            chunks = split_text(part.text, capabilities.max_text_length)
            if len(chunks) > 1:
                notes.append(f"a text of {len(part.text)} characters sent as {len(chunks)}")
            parts.extend(Text(text=chunk) for chunk in chunks)
            continue
        parts.append(part)
    if not notes:
        return message, ()
    return attrs.evolve(message, parts=tuple(parts)), tuple(notes)


def split_text(text: str, limit: int) -> list[str]:
    """`text` in pieces of at most `limit` characters, cut after the last whitespace of each
    piece when there is one (else mid-word), whitespace at the cuts kept with the piece before.

    Joined together the pieces are `text` again.
    """
    if limit < 1:
        raise ValueError("limit must be at least 1")
    pieces: list[str] = []
    rest = text
    while len(rest) > limit:
        head = rest[:limit]
        found = _LAST_SPACE.match(head)
        cut = found.end() if found else limit
        pieces.append(rest[:cut])
        rest = rest[cut:]
    pieces.append(rest)
    return pieces


def as_text(part: Part) -> str:
    """What `part` says, as plain text with its links (the fallback of every part)."""
    if isinstance(part, Text):
        return part.text
    if isinstance(part, Image | Video):
        return "\n".join(x for x in (part.caption, part.url) if x)
    if isinstance(part, File):
        return f"{part.name}: {part.url}"
    if isinstance(part, Link):
        return f"{part.title}\n{part.url}" if part.title else part.url
    if isinstance(part, Location):
        where = f"https://maps.google.com/?q={part.lat},{part.lon}"
        return f"{part.label}\n{where}" if part.label else where
    if isinstance(part, Contact):
        return f"{part.name}: {part.phone}" if part.name else part.phone
    if isinstance(part, Sticker):
        return part.url or "(a sticker)"
    if isinstance(part, Buttons):
        lines = [f"{button.label}: {button.url}" for button in part.buttons]
        return "\n".join([part.text, *lines] if part.text else lines)
    lines = [f"- {reply.label}" for reply in part.replies]
    return "\n".join([part.text, *lines] if part.text else lines)


def _kind(part: Part) -> str:
    if isinstance(part, QuickReplies):
        return "quick replies"
    if isinstance(part, Buttons):
        return "buttons"
    return f"a {type(part).__name__.lower()}"
