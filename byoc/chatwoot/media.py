"""Media as the files of a Chatwoot message.

Chatwoot has no upload-then-reference step for an API inbox: attachments are the multipart
parts of the message call itself. So media travels to that call as bytes: fetched by the
channel with its own credentials (`rehost_media`), downloaded by the bridge while the link
works (`rehost`), or, for a channel whose links last, downloaded right before the call. Either
way a part holds its bytes (`byoc.media.hold`) until the message is posted.

A download that fails for good right before the call (an expired link, a file over the limit)
must not lose the message: the attachment becomes a visible line of its text instead. One that
may succeed later raises `RetryableError`, and the whole message is tried again.
"""

from __future__ import annotations

import mimetypes

import httpx

from ..media import HeldMedia, MediaPart, download, filename_from_url, hold
from ..models import File, Image, Video
from .client import Upload

__all__ = ["fetch", "missing_note", "upload_of"]

_DEFAULT_TYPES = {Image: "image/jpeg", Video: "video/mp4", File: "application/octet-stream"}
_KINDS = {Image: "image", Video: "video", File: "file"}


def missing_note(part: MediaPart) -> str:
    """The line that replaces an attachment whose download failed for good."""
    return f"(attachment could not be copied: {part.url})"


async def fetch(
    http: httpx.AsyncClient, part: MediaPart, *, max_bytes: int, timeout: float
) -> HeldMedia:
    """`part` holding the bytes at its URL (`byoc.media.download`'s bounds and errors)."""
    got = await download(http, part.url, max_bytes=max_bytes, timeout=timeout)
    return hold(part, got.content, got.content_type)


def upload_of(part: HeldMedia) -> Upload:
    """The multipart file of a part that holds its bytes."""
    name = _name(part)
    return Upload(name=name, content=part.content, content_type=_type(part, name))


def _kind(part: MediaPart) -> type[MediaPart]:
    return next(kind for kind in _KINDS if isinstance(part, kind))


def _name(part: HeldMedia) -> str:
    given = part.name if isinstance(part, Image | File) else None
    if given and given != "file":
        return given
    return filename_from_url(part.url, _KINDS[_kind(part)])


def _type(part: HeldMedia, name: str) -> str:
    """The channel's media type, else a specific served or guessed one, else the kind's default.

    Chatwoot files an attachment as image, video, audio or file by this type alone.
    """
    if part.mime_type:
        return part.mime_type
    guessed = mimetypes.guess_type(name, strict=False)[0]
    generic = ("application/octet-stream", "binary/octet-stream")
    specific = [t for t in (part.content_type, guessed) if t and t not in generic]
    return specific[0] if specific else _DEFAULT_TYPES[_kind(part)]
