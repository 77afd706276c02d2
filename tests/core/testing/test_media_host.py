"""`MediaHost` on the virtual network: what a channel probing or downloading media sees."""

import httpx

from byoc.testing.media_host import MediaHost
from byoc.testing.network import VirtualNetwork


async def test_files_are_served_with_their_type_and_size_and_head_tells_both() -> None:
    host = MediaHost("http://cdn.test")
    network = VirtualNetwork()
    network.add("cdn.test", host)
    url = host.put("/clips/첫 영상.mp4", b"\x00" * 1000)
    assert url == "http://cdn.test/clips/%EC%B2%AB%20%EC%98%81%EC%83%81.mp4"
    async with network.client() as http:
        got = await http.get(url)
        assert got.content == b"\x00" * 1000 and got.headers["content-type"] == "video/mp4"
        head = await http.head(url)
        assert head.status_code == 200 and head.content == b""
        assert head.headers["content-length"] == "1000"
        assert head.headers["content-type"] == "video/mp4"
        assert (await http.post(url)).status_code == 405
        host.remove("clips/첫 영상.mp4")
        assert (await http.get(url)).status_code == 404
    assert host.requests[:2] == [("GET", "/clips/첫 영상.mp4"), ("HEAD", "/clips/첫 영상.mp4")]


async def test_an_unknown_type_is_served_as_bytes() -> None:
    host = MediaHost()
    url = host.put("blob", b"?")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=host)) as http:
        response = await http.get(url)
    assert response.headers["content-type"] == "application/octet-stream"
