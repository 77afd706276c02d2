"""`byoc.media`: media streams are bounded in size, and fetched with the headers given; whole
downloads are bounded in time too."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import attrs
import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from byoc.errors import MediaTooLarge, PermanentError, RateLimited, RetryableError
from byoc.media import (
    Download,
    MediaStream,
    download,
    filename_from_url,
    held,
    hold,
    open_media,
    url_for_humans,
)
from byoc.models import File, Image, Video
from byoc.testing.network import VirtualNetwork
from byoc.testing.routing import Request, Response, Router

DATA = bytes(range(256)) * 40  # 10 KiB


def files_app() -> Router:
    """A file server that wants `Authorization: Bearer t0ken` for /private."""
    app = Router()

    @app.route("GET", "/public/pic.png")
    async def public(request: Request) -> Response:
        return Response(body=DATA, content_type="image/png")

    @app.route("GET", "/private/doc")
    async def private(request: Request) -> Response:
        if request.headers.get("authorization") != "Bearer t0ken":
            return Response(status=401, body=b"who are you?", content_type="text/plain")
        return Response(body=DATA, content_type="application/pdf; charset=binary")

    @app.route("GET", "/throttled")
    async def throttled(request: Request) -> Response:
        return Response(status=429, body=b"", headers={"Retry-After": "9"})

    @app.route("GET", "/gone")
    async def gone(request: Request) -> Response:
        return Response(status=410, body=b"")

    return app


@pytest.fixture
async def http() -> httpx.AsyncClient:
    network = VirtualNetwork()
    network.add("files.test", files_app())
    return network.client(timeout=5.0)


async def test_the_bytes_come_with_what_the_server_said(http: httpx.AsyncClient) -> None:
    async with await open_media(http, "http://files.test/public/pic.png", max_bytes=len(DATA)) as m:
        assert (m.content_type, m.size) == ("image/png", len(DATA))
        assert await m.read() == DATA


async def test_credentials_go_in_the_headers_given(http: httpx.AsyncClient) -> None:
    url = "http://files.test/private/doc"
    with pytest.raises(PermanentError, match="answered 401"):
        await open_media(http, url, max_bytes=len(DATA))
    headers = {"Authorization": "Bearer t0ken"}
    async with await open_media(http, url, max_bytes=len(DATA), headers=headers) as media:
        assert media.content_type == "application/pdf" and await media.read() == DATA


async def test_a_declared_size_over_the_limit_is_refused_before_reading(
    http: httpx.AsyncClient,
) -> None:
    with pytest.raises(MediaTooLarge, match="limit") as caught:
        await open_media(http, "http://files.test/public/pic.png", max_bytes=100)
    assert (caught.value.size, caught.value.limit) == (len(DATA), 100)


async def test_a_stream_stops_as_soon_as_it_is_over_the_limit() -> None:
    pulled: list[int] = []

    async def endless() -> object:
        for n in range(1000):
            pulled.append(n)
            yield b"x" * 100

    media = MediaStream(endless(), max_bytes=1000)  # type: ignore[arg-type]
    with pytest.raises(MediaTooLarge):
        await media.read()
    assert len(pulled) == 11


async def test_bytes_in_memory_are_a_stream_too() -> None:
    media = MediaStream.from_bytes(b"abc", max_bytes=3, content_type="text/plain", name="a.txt")
    assert (await media.read(), media.size, media.name) == (b"abc", 3, "a.txt")
    with pytest.raises(MediaTooLarge):
        MediaStream.from_bytes(b"abcd", max_bytes=3)


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("http://files.test/throttled", RateLimited),
        ("http://files.test/gone", PermanentError),
        ("http://nowhere.test/x", RetryableError),
        ("ftp://files.test/x", PermanentError),
    ],
)
async def test_failures_are_byoc_errors(
    http: httpx.AsyncClient, url: str, kind: type[Exception]
) -> None:
    with pytest.raises(kind):
        await open_media(http, url, max_bytes=10)


async def test_error_texts_never_quote_a_query_string_or_a_url_described_otherwise(
    http: httpx.AsyncClient,
) -> None:
    with pytest.raises(PermanentError) as caught:
        await open_media(http, "http://files.test/gone?sig=s3cr3t", max_bytes=10)
    assert "s3cr3t" not in str(caught.value) and "files.test/gone" in str(caught.value)
    with pytest.raises(PermanentError) as described:
        await open_media(http, "http://files.test/gone", max_bytes=10, what="a Telegram file")
    assert str(described.value).startswith("downloading a Telegram file answered 410")
    assert url_for_humans("https://a.test/p/q?token=x#f") == "https://a.test/p/q"


# -- download: a whole file within a size and a time bound ----------------------------------

URL = "https://dl-media.viber.com/5/media/2/short/any/sig/image/0x0/b1c2.jpg?token=s3cr3t"


def _mock_client(handler: Callable[[httpx.Request], httpx.Response]) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.MockTransport(handler))


async def test_download_returns_bytes_and_media_type() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=b"jpeg", headers={"Content-Type": "Image/JPEG; q=1"})

    async with _mock_client(handler) as http:
        got = await download(http, URL, max_bytes=100, timeout=5)
    assert got == Download(content=b"jpeg", content_type="image/jpeg")


async def test_download_follows_redirects() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/short":
            return httpx.Response(302, headers={"Location": "https://cdn.example/real.png"})
        return httpx.Response(200, content=b"png")

    async with _mock_client(handler) as http:
        got = await download(http, "https://t.example/short", max_bytes=100, timeout=5)
    assert got.content == b"png" and got.content_type is None


async def test_a_download_over_the_declared_limit_is_refused_before_reading() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=b"x" * 101)

    async with _mock_client(handler) as http:
        with pytest.raises(PermanentError, match="limit"):
            await download(http, URL, max_bytes=100, timeout=5)


async def test_a_streamed_body_over_the_limit_is_cut_off() -> None:
    sent: list[int] = []

    async def chunks() -> AsyncIterator[bytes]:
        for i in range(1000):
            sent.append(i)
            yield b"x" * 10

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=chunks())  # no Content-Length: chunked

    async with _mock_client(handler) as http:
        with pytest.raises(PermanentError, match="limit"):
            await download(http, URL, max_bytes=25, timeout=5)
    assert len(sent) < 10


async def test_a_download_that_never_ends_times_out() -> None:
    async def forever() -> AsyncIterator[bytes]:
        yield b"x"
        await asyncio.Event().wait()
        yield b"never"

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=forever())

    async with _mock_client(handler) as http:
        with pytest.raises(RetryableError, match="took longer than"):
            await download(http, URL, max_bytes=100, timeout=0.01)


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (500, RetryableError),
        (503, RetryableError),
        (429, RetryableError),
        (408, RetryableError),
        (403, PermanentError),
        (404, PermanentError),
        (410, PermanentError),
    ],
)
async def test_download_status_mapping(status: int, error: type[Exception]) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, content=b"nope")

    async with _mock_client(handler) as http:
        with pytest.raises(error) as caught:
            await download(http, URL, max_bytes=100, timeout=5)
    assert str(status) in str(caught.value)
    assert "s3cr3t" not in str(caught.value)  # signed media URLs are not logged whole
    if error is PermanentError:
        assert not isinstance(caught.value, RetryableError)


@pytest.mark.parametrize(
    "exc", [httpx.ConnectError("refused"), httpx.ReadTimeout("slow"), httpx.ReadError("reset")]
)
async def test_download_transport_failures_are_retryable(exc: Exception) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise exc

    async with _mock_client(handler) as http:
        with pytest.raises(RetryableError) as caught:
            await download(http, URL, max_bytes=100, timeout=5)
    assert "s3cr3t" not in str(caught.value)


@pytest.mark.parametrize("url", ["ftp://x/a.jpg", "file:///etc/passwd", "a.jpg", "https://[::1"])
async def test_urls_that_cannot_be_downloaded_are_permanent(url: str) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise AssertionError("no request expected")

    async with _mock_client(handler) as http:
        with pytest.raises(PermanentError):
            await download(http, url, max_bytes=100, timeout=5)


@pytest.mark.parametrize(
    ("url", "name"),
    [
        (URL, "b1c2.jpg"),
        ("https://cdn/files/%EA%B2%AC%EC%A0%81%EC%84%9C.pdf", "견적서.pdf"),
        ("https://cdn/", "fallback"),
        ("https://cdn", "fallback"),
        ("https://[::1", "fallback"),
    ],
)
def test_filename_from_url(url: str, name: str) -> None:
    assert filename_from_url(url, "fallback") == name


# -- media held for one delivery ------------------------------------------------------------------

media_parts = st.one_of(
    st.builds(Image, url=st.just("https://x/a.png"), caption=st.text(max_size=5)),
    st.builds(Video, url=st.just("https://x/v.mp4"), duration=st.none() | st.integers(0, 99)),
    st.builds(File, url=st.just("https://x/f.pdf"), name=st.text(min_size=1, max_size=5)),
)


@given(media_parts, st.binary(max_size=64), st.none() | st.just("image/png"))
def test_a_held_part_is_the_part_with_its_bytes(
    part: Image | Video | File, content: bytes, content_type: str | None
) -> None:
    holding = hold(part, content, content_type)
    assert held(holding) is holding and held(part) is None
    assert isinstance(holding, type(part))
    assert (holding.content, holding.content_type, holding.size) == (
        content,
        content_type,
        len(content),
    )
    # Every field of the part is kept, but its size, which is now known.
    kept = [f.name for f in attrs.fields(type(part)) if f.name != "size"]
    assert [getattr(holding, n) for n in kept] == [getattr(part, n) for n in kept]
    again = hold(holding, b"other")
    assert (again.content, again.content_type, again.size) == (b"other", None, 5)
