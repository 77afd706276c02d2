"""Copying a user's media into the help desk, with the channel's credentials, before posting.

For a channel whose `capabilities.media_urls_expire`, every picture, video and file of an
inbound message is copied: fetched through `Channel.fetch_media` (the channel's credentials)
and stored with `Messaging.rehost_media`, or, for a channel whose URLs need no credential,
fetched by the help desk itself (`Messaging.rehost`). A part that cannot be copied becomes a
placeholder the agent can read (kind, file name, size, why), never the URL: it may carry a
credential, and it expires anyway. A failure that may pass (the help desk's upload is down,
throttled) is raised instead: the message is retried while the channel's link still works, and
becomes a placeholder only once the file is gone or refused for good.

```python
parts, failures = await copy_media(message.parts, channel=channel, messaging=messaging)
for failure in failures:
    log.warning("media_copy_failed kind=%s error=%s", failure.kind, failure.error)
```
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from .channel import Channel
from .errors import MediaTooLarge, PermanentError
from .media import MediaPart
from .messaging import Messaging
from .models import File, Image, Part, Text, Video

__all__ = ["CopyFailure", "copy_media", "placeholder"]


@attrs.frozen(kw_only=True)
class CopyFailure:
    """A media part that could not be copied: its kind, and the error (for the log only)."""

    kind: str
    error: str
    too_large: bool = False


async def copy_media(
    parts: Sequence[Part], *, channel: Channel, messaging: Messaging
) -> tuple[tuple[Part, ...], tuple[CopyFailure, ...]]:
    """`parts` with each media part copied into the help desk, or replaced by a placeholder;
    and what failed. Parts of a channel whose media URLs last are returned as they are."""
    if not channel.capabilities.media_urls_expire:
        return tuple(parts), ()
    copied: list[Part] = []
    failures: list[CopyFailure] = []
    for part in parts:
        if not isinstance(part, Image | Video | File) or part.helpdesk_ref is not None:
            copied.append(part)
            continue
        try:
            copied.append(await _copy(part, channel, messaging))
        except PermanentError as exc:
            failure = CopyFailure(
                kind=_kind(part),
                error=f"{type(exc).__name__}: {exc}",
                too_large=isinstance(exc, MediaTooLarge),
            )
            failures.append(failure)
            size = exc.size if isinstance(exc, MediaTooLarge) else part.size
            limit = exc.limit if isinstance(exc, MediaTooLarge) else None
            shown = placeholder(
                part, size=size, too_large=failure.too_large, messaging=messaging, limit=limit
            )
            copied.append(shown)
    return tuple(copied), tuple(failures)


async def _copy(part: MediaPart, channel: Channel, messaging: Messaging) -> Part:
    media = await channel.fetch_media(part, max_bytes=messaging.max_media_bytes)
    if media is None:
        return await messaging.rehost(part)
    async with media:
        return await messaging.rehost_media(part, media)


def placeholder(
    part: MediaPart,
    *,
    size: int | None,
    too_large: bool,
    messaging: Messaging,
    limit: int | None = None,
) -> Text:
    """What the agent reads instead of a media part that could not be copied.

    `limit` is the size that was exceeded, whoever set it (the messenger's download cap, or
    the help desk's own); the help desk's by default.
    """
    about = [x for x in (_name(part), _size(size)) if x]
    described = f"{_kind(part)} ({', '.join(about)})" if about else _kind(part)
    if not too_large:
        why = "it could not be copied from the messenger"
    elif limit is None or limit >= messaging.max_media_bytes:
        why = f"it is over the {_size(messaging.max_media_bytes)} the help desk stores"
    else:
        why = f"it is over the {_size(limit)} the messenger lets the bridge download"

    caption = part.caption if isinstance(part, Image | Video) and part.caption else ""
    text = f"[The user sent a {described}, not shown here: {why}. Ask them to send it again.]"
    return Text(text=f"{text}\n{caption}" if caption else text)


def _kind(part: MediaPart) -> str:
    return {Image: "picture", Video: "video"}.get(type(part), "file")


def _name(part: MediaPart) -> str | None:
    name = part.name if isinstance(part, Image | File) else None
    return name if name and name != "file" else None


def _size(count: int | None) -> str | None:
    if count is None:
        return None
    if count < 1024:
        return f"{count} bytes"
    if count < 1024 * 1024:
        return f"{round(count / 1024)} KB"
    return f"{count / (1024 * 1024):.1f} MB"
