"""Downloading media within a size and a time bound, over a virtual network."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest

from byoc.downloads import download, filename_from_url
from byoc.errors import PermanentError, RetryableError
from byoc.testing.media_host import MediaHost
from byoc.testing.network import VirtualNetwork
from byoc.testing.routing import Request, Response, Router


@pytest.fixture
def network() -> VirtualNetwork:
    return VirtualNetwork()


@pytest.fixture
def cdn(network: VirtualNetwork) -> MediaHost:
    host = MediaHost("http://cdn.test")
    network.add("cdn.test", host)
    return host


@pytest.fixture
async def http(network: VirtualNetwork) -> AsyncIterator[httpx.AsyncClient]:
    async with network.client() as client:
        yield client


async def test_the_bytes_and_their_type(cdn: MediaHost, http: httpx.AsyncClient) -> None:
    url = cdn.put("photo.png", b"\x89PNG", "image/png; charset=binary")
    got = await download(http, url, max_bytes=10, timeout=5)
    assert (got.content, got.content_type) == (b"\x89PNG", "image/png")


async def test_redirects_are_followed(
    network: VirtualNetwork, cdn: MediaHost, http: httpx.AsyncClient
) -> None:
    target = cdn.put("a.bin", b"data")
    moved = Router()

    @moved.route("GET", "/old")
    async def old(request: Request) -> Response:
        return Response(status=302, headers={"Location": target})

    network.add("old.test", moved)
    assert (await download(http, "http://old.test/old", max_bytes=10, timeout=5)).content == b"data"


@pytest.mark.parametrize(
    ("status", "error"),
    [(404, PermanentError), (410, PermanentError), (503, RetryableError), (429, RetryableError)],
)
async def test_a_refusal_is_permanent_and_a_failure_retryable(
    network: VirtualNetwork, http: httpx.AsyncClient, status: int, error: type[Exception]
) -> None:
    host = Router()

    @host.route("GET", "/f")
    async def refuse(request: Request) -> Response:
        return Response(status=status, body=b"no")

    network.add("refusing.test", host)
    with pytest.raises(error, match=str(status)) as caught:
        await download(http, "http://refusing.test/f?token=s3cret", max_bytes=10, timeout=5)
    assert "s3cret" not in str(caught.value)


async def test_a_file_over_the_limit_is_refused(cdn: MediaHost, http: httpx.AsyncClient) -> None:
    url = cdn.put("big.bin", bytes(2_000_000))
    with pytest.raises(PermanentError, match="over the 1 MB limit"):
        await download(http, url, max_bytes=1_048_576, timeout=5)


async def test_a_slow_download_times_out_retryably(
    network: VirtualNetwork, http: httpx.AsyncClient
) -> None:
    never = asyncio.Event()
    host = Router()

    @host.route("GET", "/slow")
    async def slow(request: Request) -> Response:
        await never.wait()
        return Response()

    network.add("slow.test", host)
    with pytest.raises(RetryableError, match="longer than 0.05 s"):
        await download(http, "http://slow.test/slow", max_bytes=10, timeout=0.05)
    never.set()


@pytest.mark.parametrize(
    ("url", "error"), [("ftp://x/a", PermanentError), ("http://nowhere.test/a", RetryableError)]
)
async def test_bad_or_unreachable_urls(
    http: httpx.AsyncClient, url: str, error: type[Exception]
) -> None:
    with pytest.raises(error):
        await download(http, url, max_bytes=10, timeout=5)


@pytest.mark.parametrize(
    ("url", "name"),
    [
        ("https://x/a/b/%ED%95%9C.pdf?sig=1", "한.pdf"),
        ("https://x/", "file"),
        ("https://[bad", "file"),
    ],
)
def test_a_file_name_from_the_url(url: str, name: str) -> None:
    assert filename_from_url(url, "file") == name
