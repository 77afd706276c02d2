"""Downloading a channel's media before it is re-hosted in Freshchat.

Channel media URLs expire (Viber's after about an hour), so media is copied into Freshchat's
storage while the link still works. The download (`byoc.media.open_media`) is bounded in size
and in total time: a slow or huge file must not hold a delivery worker.
"""

from __future__ import annotations

import asyncio
import posixpath
from urllib.parse import unquote, urlsplit

import attrs
import httpx

from ..errors import RetryableError
from ..media import open_media, url_for_humans

__all__ = ["Download", "download", "filename_from_url"]


@attrs.frozen(kw_only=True)
class Download:
    """Downloaded bytes and the media type the server declared (without parameters)."""

    content: bytes
    content_type: str | None = None


async def download(
    http: httpx.AsyncClient, url: str, *, max_bytes: int, timeout: float
) -> Download:
    """GET `url` (following redirects) within `max_bytes` and `timeout` seconds overall.

    Raises `RetryableError` for timeouts, connection errors, 408, 429 and 5xx, and
    `PermanentError` for other refusals (an expired link: 403/404/410) and oversized files
    (`byoc.media.open_media`). Error texts show the URL without its query string, which often
    holds a signed token.
    """
    try:
        return await asyncio.wait_for(_fetch(http, url, max_bytes), timeout)
    except asyncio.TimeoutError:
        shown = url_for_humans(url)
        raise RetryableError(f"downloading {shown} took longer than {timeout:g} s") from None


async def _fetch(http: httpx.AsyncClient, url: str, max_bytes: int) -> Download:
    async with await open_media(http, url, max_bytes=max_bytes) as media:
        return Download(content=await media.read(), content_type=media.content_type)


def filename_from_url(url: str, fallback: str) -> str:
    """The last path segment of `url` (percent-decoded), or `fallback` when there is none."""
    try:
        path = urlsplit(url).path
    except ValueError:
        return fallback
    return posixpath.basename(unquote(path)) or fallback
