"""Media on its way from a channel to the help desk: a size-bounded stream, and its fetch.

A channel hands the bridge media bytes through `Channel.fetch_media(part, max_bytes=...)`,
fetched with the channel's own credentials, as a `MediaStream`; the help desk stores them
(`Messaging.rehost_media`). The URL in the part is only what the channel needs to find the
file again: a credential never goes in it, so it can be queued, logged and shown.

```python
async def fetch_media(self, part: Image | Video | File, *, max_bytes: int) -> MediaStream:
    return await open_media(
        self._http.client,
        f"{self.api_url}/files/{part.url.removeprefix('mychat-file:')}",
        headers={"Authorization": f"Bearer {self.token}"},
        max_bytes=max_bytes,
        what=f"MyChat file of {part.name or 'a message'}",
    )
```

Whoever reads the stream closes it (`async with media:`); reading past `max_bytes` raises
`MediaTooLarge` and stops the download. `download` reads a whole file within a size and a time
bound (a help desk copying a link that needs no credential, a plugin fetching a file it relays).

A help desk that takes files inside the message call (Chatwoot) has nowhere to upload them
first: its `rehost_media` returns the part with its bytes (`hold`), and gets it back in the
`post_message` of the same delivery (`held`). Such parts live in memory only, for that one
delivery; a retry fetches the file again.
"""

from __future__ import annotations

import asyncio
import posixpath
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Mapping
from types import TracebackType
from urllib.parse import unquote, urlsplit

import attrs
import httpx
from typing_extensions import Self

from .errors import MediaTooLarge, PermanentError, RetryableError
from .models import File, Image, Part, Video
from .upstream import error_for_status, retry_after_of, transport_errors

__all__ = [
    "Download",
    "HeldFile",
    "HeldImage",
    "HeldMedia",
    "HeldVideo",
    "MediaPart",
    "MediaStream",
    "download",
    "filename_from_url",
    "held",
    "hold",
    "open_media",
    "read_within",
    "url_for_humans",
]

MediaPart = Image | Video | File
"""The parts that carry a file: what `fetch_media` and `rehost_media` deal with."""


class MediaStream:
    """Media bytes, read once, at most `max_bytes` of them.

    `content_type`, `size` (bytes) and `name` are what the source said, when it said it.
    Iterate for chunks (`async for chunk in media`) or `await media.read()` for all of it;
    either raises `MediaTooLarge` as soon as more than `max_bytes` arrive.
    """

    def __init__(
        self,
        chunks: AsyncIterable[bytes],
        *,
        max_bytes: int,
        content_type: str | None = None,
        size: int | None = None,
        name: str | None = None,
        close: Callable[[], Awaitable[None]] | None = None,
        what: str = "the media",
    ) -> None:
        self.max_bytes = max_bytes
        self.content_type = content_type
        self.size = size
        self.name = name
        self.what = what
        self._chunks = chunks
        self._close = close
        if size is not None and size > max_bytes:
            raise MediaTooLarge(what, size=size, limit=max_bytes)

    @classmethod
    def from_bytes(
        cls,
        data: bytes,
        *,
        max_bytes: int,
        content_type: str | None = None,
        name: str | None = None,
    ) -> Self:
        """A stream of bytes already in memory (a channel that receives media inline)."""

        async def one() -> AsyncIterator[bytes]:
            yield data

        return cls(one(), max_bytes=max_bytes, content_type=content_type, size=len(data), name=name)

    async def __aiter__(self) -> AsyncIterator[bytes]:
        received = 0
        async for chunk in self._chunks:
            received += len(chunk)
            if received > self.max_bytes:
                raise MediaTooLarge(self.what, size=received, limit=self.max_bytes)
            yield chunk

    async def read(self) -> bytes:
        """Everything, within `max_bytes`."""
        return b"".join([chunk async for chunk in self])

    async def aclose(self) -> None:
        """Stop the download (whatever was not read is dropped)."""
        if self._close is not None:
            close, self._close = self._close, None
            await close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


async def open_media(
    http: httpx.AsyncClient,
    url: str,
    *,
    max_bytes: int,
    headers: Mapping[str, str] | None = None,
    what: str | None = None,
    name: str | None = None,
) -> MediaStream:
    """Start a GET of `url` (redirects followed) and hand its body over as a `MediaStream`.

    `headers` carry the channel's credentials. `what` names the file in error texts (default:
    the URL without its query string; pass a description when the URL itself holds a token).
    A declared `Content-Length` over `max_bytes` is refused before any byte is read. Errors:
    `RetryableError` for timeouts, connection errors, 408, 429 and 5xx; `PermanentError` for
    other refusals (an expired link: 403/404/410) and `MediaTooLarge`.
    """
    shown = what or url_for_humans(url)
    if not url.lower().startswith(("http://", "https://")):
        raise PermanentError(f"cannot download {shown}: not an http(s) URL")
    with transport_errors(f"downloading {shown}"):
        try:
            request = http.build_request("GET", url, headers=headers)
            response = await http.send(request, stream=True, follow_redirects=True)
        except (httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
            # A link that can never be fetched (here or after a redirect) is the file's problem,
            # not the bridge's settings.
            raise PermanentError(f"cannot download {shown}: {exc}") from None
    try:
        error = error_for_status(
            response.status_code,
            f"downloading {shown} answered {response.status_code}"
            + (" (expired link?)" if response.status_code in (403, 404, 410) else ""),
            retry_after=retry_after_of(response),
        )
        if error is not None:
            raise error
        declared = response.headers.get("content-length", "")
        content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
        return MediaStream(
            _body(response, shown),
            max_bytes=max_bytes,
            content_type=content_type or None,
            size=int(declared) if declared.isdigit() else None,
            name=name,
            close=response.aclose,
            what=shown,
        )
    except BaseException:
        await response.aclose()
        raise


async def _body(response: httpx.Response, shown: str) -> AsyncIterator[bytes]:
    with transport_errors(f"downloading {shown}"):
        async for chunk in response.aiter_bytes():
            yield chunk


def url_for_humans(url: str) -> str:
    """`url` without its query string and fragment, where signed links keep their token."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url.split("?")[0][:100]
    return f"{parts.scheme}://{parts.netloc}{parts.path}" if parts.scheme else url[:100]


@attrs.frozen(kw_only=True)
class Download:
    """Downloaded bytes and the media type the server declared (without parameters)."""

    content: bytes = attrs.field(repr=lambda b: f"<{len(b)} bytes>")
    content_type: str | None = None


async def read_within(media: MediaStream, timeout: float) -> bytes:
    """All of `media` within `timeout` seconds; `RetryableError` past it (a stalled source)."""
    try:
        return await asyncio.wait_for(media.read(), timeout)
    except asyncio.TimeoutError:
        raise RetryableError(f"reading {media.what} took longer than {timeout:g} s") from None


async def download(
    http: httpx.AsyncClient, url: str, *, max_bytes: int, timeout: float
) -> Download:
    """GET `url` (following redirects) within `max_bytes` and `timeout` seconds overall.

    A slow or huge file must not hold a delivery worker, so both the bytes and the whole
    exchange are bounded. Raises what `open_media` raises, and `RetryableError` past `timeout`.
    Error texts show the URL without its query string, which often holds a signed token.
    """
    try:
        return await asyncio.wait_for(_read_all(http, url, max_bytes), timeout)
    except asyncio.TimeoutError:
        shown = url_for_humans(url)
        raise RetryableError(f"downloading {shown} took longer than {timeout:g} s") from None


async def _read_all(http: httpx.AsyncClient, url: str, max_bytes: int) -> Download:
    async with await open_media(http, url, max_bytes=max_bytes) as media:
        return Download(content=await media.read(), content_type=media.content_type)


def filename_from_url(url: str, fallback: str) -> str:
    """The last path segment of `url` (percent-decoded), or `fallback` when there is none."""
    try:
        path = urlsplit(url).path
    except ValueError:
        return fallback
    return posixpath.basename(unquote(path)) or fallback


def _byte_count(content: bytes) -> str:
    return f"<{len(content)} bytes>"


@attrs.frozen(kw_only=True)
class HeldImage(Image):
    """An `Image` with its bytes and the type its source declared (see `hold`)."""

    content: bytes = attrs.field(default=b"", repr=_byte_count)
    content_type: str | None = None


@attrs.frozen(kw_only=True)
class HeldVideo(Video):
    """A `Video` with its bytes and the type its source declared (see `hold`)."""

    content: bytes = attrs.field(default=b"", repr=_byte_count)
    content_type: str | None = None


@attrs.frozen(kw_only=True)
class HeldFile(File):
    """A `File` with its bytes and the type its source declared (see `hold`)."""

    content: bytes = attrs.field(default=b"", repr=_byte_count)
    content_type: str | None = None


HeldMedia = HeldImage | HeldVideo | HeldFile
"""A media part that carries its bytes, for one delivery."""

_HELD: dict[type[MediaPart], type[HeldMedia]] = {
    Image: HeldImage,
    Video: HeldVideo,
    File: HeldFile,
}


def hold(part: MediaPart, content: bytes, content_type: str | None = None) -> HeldMedia:
    """`part` holding `content` (its `size` becomes the byte count).

    ```python
    async def rehost_media(self, part: MediaPart, media: MediaStream) -> Part:
        return hold(part, await read_within(media, 60.0), media.content_type)
    ```
    """
    kind = next(base for base in _HELD if isinstance(part, base))
    fields = {
        field.name: getattr(part, field.name)
        for field in attrs.fields(kind)  # the plain part's fields: a held part is held anew
    }
    fields["size"] = len(content)
    return _HELD[kind](**fields, content=content, content_type=content_type)


def held(part: Part) -> HeldMedia | None:
    """`part` when it holds its bytes, else None."""
    return part if isinstance(part, HeldImage | HeldVideo | HeldFile) else None
