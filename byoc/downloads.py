"""Downloading media from the web: bounded in size and in total time.

Channel media URLs expire (Viber's after about an hour), so a help desk that keeps its own copy
(Freshchat's uploads, Chatwoot's message attachments) downloads it while the link still works.
A slow or huge file must not hold a delivery worker, so both the bytes and the whole exchange
are bounded. Error texts show the URL without its query string, which often holds a signed
token.

```python
got = await download(http, part.url, max_bytes=25 * 1024 * 1024, timeout=60)
name = filename_from_url(part.url, "image")
```
"""

from __future__ import annotations

import asyncio
import posixpath
from urllib.parse import unquote, urlsplit

import attrs
import httpx

from .errors import PermanentError, RetryableError

__all__ = ["Download", "download", "filename_from_url"]


@attrs.frozen(kw_only=True)
class Download:
    """Downloaded bytes and the media type the server declared (without parameters)."""

    content: bytes = attrs.field(repr=lambda b: f"<{len(b)} bytes>")
    content_type: str | None = None


async def download(
    http: httpx.AsyncClient, url: str, *, max_bytes: int, timeout: float
) -> Download:
    """GET `url` (following redirects) within `max_bytes` and `timeout` seconds overall.

    Raises `RetryableError` for timeouts, connection errors, 408, 429 and 5xx, and
    `PermanentError` for other refusals (an expired link: 403/404/410) and oversized files.
    """
    shown = _without_query(url)
    if not url.lower().startswith(("http://", "https://")):
        raise PermanentError(f"cannot download {shown!r}: not an http(s) URL")
    try:
        return await asyncio.wait_for(_fetch(http, url, shown, max_bytes), timeout)
    except asyncio.TimeoutError:
        raise RetryableError(f"downloading {shown} took longer than {timeout:g} s") from None
    except (httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
        raise PermanentError(f"cannot download {shown}: {exc}") from exc
    except httpx.TransportError as exc:
        raise RetryableError(f"downloading {shown} failed: {type(exc).__name__}") from exc


async def _fetch(http: httpx.AsyncClient, url: str, shown: str, max_bytes: int) -> Download:
    async with http.stream("GET", url, follow_redirects=True) as response:
        status = response.status_code
        if status >= 500 or status in (408, 429):
            raise RetryableError(f"downloading {shown} answered {status}")
        if status >= 300:
            raise PermanentError(f"downloading {shown} answered {status} (expired link?)")
        limit = f"{shown} is over the {max_bytes / 1_048_576:g} MB limit for attachments"
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > max_bytes:
            raise PermanentError(limit)
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > max_bytes:
                raise PermanentError(limit)
            chunks.append(chunk)
        content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
        return Download(content=b"".join(chunks), content_type=content_type or None)


def _without_query(url: str) -> str:
    try:
        parts = urlsplit(url)
    except ValueError:
        return url.split("?")[0][:100]
    return f"{parts.scheme}://{parts.netloc}{parts.path}" if parts.scheme else url[:100]


def filename_from_url(url: str, fallback: str) -> str:
    """The last path segment of `url` (percent-decoded), or `fallback` when there is none."""
    try:
        path = urlsplit(url).path
    except ValueError:
        return fallback
    return posixpath.basename(unquote(path)) or fallback
