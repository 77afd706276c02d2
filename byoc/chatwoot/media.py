"""Channel media as the files of a Chatwoot message.

Chatwoot has no upload-then-reference step for an API inbox: attachments are the multipart
parts of the message call itself. So the media of a user's message is downloaded (bounded in
size and time, with a client that carries no credentials) right before that one call.

A download that fails for good (an expired link, a file over the limit) must not lose the
message: the attachment becomes a visible line of its text instead. One that may succeed later
raises `RetryableError`, and the whole message is tried again.
"""

from __future__ import annotations

import mimetypes
from collections.abc import Sequence

import attrs
import httpx

from ..errors import PermanentError
from ..media import download, filename_from_url
from ..models import File, Image, Video
from .client import Upload

__all__ = ["Fetched", "fetch_attachments", "missing_note"]

_DEFAULT_TYPES = {Image: "image/jpeg", Video: "video/mp4", File: "application/octet-stream"}
_KINDS = {Image: "image", Video: "video", File: "file"}


@attrs.frozen(kw_only=True)
class Fetched:
    """The files to attach, and a note for each medium that could not be fetched."""

    uploads: tuple[Upload, ...] = ()
    notes: tuple[str, ...] = ()


def missing_note(part: Image | Video | File) -> str:
    """The line that replaces an attachment whose download failed for good."""
    return f"(attachment could not be copied: {part.url})"


async def fetch_attachments(
    http: httpx.AsyncClient,
    media: Sequence[Image | Video | File],
    *,
    max_bytes: int,
    timeout: float,
) -> Fetched:
    """Download `media` in order; `RetryableError` when one may be fetched later."""
    uploads: list[Upload] = []
    notes: list[str] = []
    for part in media:
        try:
            got = await download(http, part.url, max_bytes=max_bytes, timeout=timeout)
        except PermanentError:
            notes.append(missing_note(part))
            continue
        name = _name(part)
        uploads.append(
            Upload(name=name, content=got.content, content_type=_type(part, got.content_type, name))
        )
    return Fetched(uploads=tuple(uploads), notes=tuple(notes))


def _name(part: Image | Video | File) -> str:
    given = part.name if isinstance(part, Image | File) else None
    if given and given != "file":
        return given
    return filename_from_url(part.url, _KINDS[type(part)])


def _type(part: Image | Video | File, served: str | None, name: str) -> str:
    """The channel's media type, else a specific served or guessed one, else the kind's default.

    Chatwoot files an attachment as image, video, audio or file by this type alone.
    """
    if part.mime_type:
        return part.mime_type
    guessed = mimetypes.guess_type(name, strict=False)[0]
    generic = ("application/octet-stream", "binary/octet-stream")
    specific = [t for t in (served, guessed) if t and t not in generic]
    return specific[0] if specific else _DEFAULT_TYPES[type(part)]
