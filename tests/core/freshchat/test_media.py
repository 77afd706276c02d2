from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import httpx
import pytest

from byoc.errors import PermanentError, RetryableError
from byoc.freshchat.media import Download, download, filename_from_url

URL = "https://dl-media.viber.com/5/media/2/short/any/sig/image/0x0/b1c2.jpg?token=s3cr3t"


def _client(handler: Callable[[httpx.Request], httpx.Response]) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.MockTransport(handler))


async def test_download_returns_bytes_and_media_type() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=b"jpeg", headers={"Content-Type": "Image/JPEG; q=1"})

    async with _client(handler) as http:
        got = await download(http, URL, max_bytes=100, timeout=5)
    assert got == Download(content=b"jpeg", content_type="image/jpeg")


async def test_download_follows_redirects() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/short":
            return httpx.Response(302, headers={"Location": "https://cdn.example/real.png"})
        return httpx.Response(200, content=b"png")

    async with _client(handler) as http:
        got = await download(http, "https://t.example/short", max_bytes=100, timeout=5)
    assert got.content == b"png" and got.content_type is None


async def test_a_declared_size_over_the_limit_is_refused_before_reading() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=b"x" * 101)

    async with _client(handler) as http:
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

    async with _client(handler) as http:
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

    async with _client(handler) as http:
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

    async with _client(handler) as http:
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

    async with _client(handler) as http:
        with pytest.raises(RetryableError) as caught:
            await download(http, URL, max_bytes=100, timeout=5)
    assert "s3cr3t" not in str(caught.value)


@pytest.mark.parametrize("url", ["ftp://x/a.jpg", "file:///etc/passwd", "a.jpg", "https://[::1"])
async def test_urls_that_cannot_be_downloaded_are_permanent(url: str) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise AssertionError("no request expected")

    async with _client(handler) as http:
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
