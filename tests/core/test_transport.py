"""The outbound HTTP client behaves the same over every transport, against a real local server."""

from __future__ import annotations

import asyncio
import gc
import hashlib
import json
import re
import socket
import sys
import uuid
import warnings
from collections.abc import AsyncIterator, Iterator
from typing import Any

import aiohttp
import attrs
import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from byoc.aiohttp_transport import ByocAiohttpTransport, _WriteWatchdog, httpx_error_for
from byoc.asgi import Receive, Scope, Send, query_params, read_body, route_path, send_response
from byoc.errors import ConfigurationError
from byoc.lean_transport import LeanTransport
from byoc.testing.live_server import LiveServer
from byoc.transport import ENV_VAR, TRANSPORTS, Endpoint, default_http_client, transport_name

GREETING = {"text": "안녕하세요! 주문하신 상품이 출발했어요 🚚📦", "name": "김민준 👩🏻‍💻", "n": 1}
GREETING_BYTES = json.dumps(GREETING, ensure_ascii=False).encode()
PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy", "no_proxy", "ws_proxy", "wss_proxy")


# ---- the server -----------------------------------------------------------------------------


@attrs.define
class _Batch:
    size: int = 0
    full: asyncio.Event = attrs.field(factory=asyncio.Event)


@attrs.define
class _Group:
    """Requests of one test to `/gather`: held until `n` of them are at the server at once."""

    batch: _Batch = attrs.field(factory=_Batch)
    in_flight: int = 0
    peak: int = 0


_groups: dict[str, _Group] = {}


def _json(payload: Any) -> bytes:
    return json.dumps(payload, ensure_ascii=False).encode()


async def _gather(scope: Scope, receive: Receive, send: Send) -> None:
    """Answer each request (with its own body) only once `n` requests are waiting together."""
    params = query_params(scope)
    group = _groups.setdefault(params["group"], _Group())
    body = await read_body(receive)
    group.in_flight += 1
    group.peak = max(group.peak, group.in_flight)
    batch = group.batch
    batch.size += 1
    if batch.size == int(params["n"]):
        batch.full.set()
        group.batch = _Batch()
    await batch.full.wait()
    await send_response(send, 200, body, content_type="application/octet-stream")
    group.in_flight -= 1


def _multipart_parts(content_type: str, body: bytes) -> list[dict[str, Any]]:
    """Just enough multipart/form-data parsing to report what arrived."""
    boundary = re.search(r'boundary="?([^";]+)"?', content_type)
    assert boundary is not None
    parts = []
    for raw in body.split(b"--" + boundary.group(1).encode())[1:-1]:
        head, _, content = raw.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        content = content.removesuffix(b"\r\n")
        headers = dict(
            line.decode().split(": ", 1) for line in head.split(b"\r\n") if b": " in line
        )
        disposition = {
            k: v for k, v in re.findall(r'(\w+)="([^"]*)"', headers.get("Content-Disposition", ""))
        }
        parts.append(
            {
                "name": disposition.get("name"),
                "filename": disposition.get("filename"),
                "content_type": headers.get("Content-Type"),
                "size": len(content),
                "sha256": hashlib.sha256(content).hexdigest(),
                "text": content.decode() if "filename" not in disposition else None,
            }
        )
    return parts


async def _app(scope: Scope, receive: Receive, send: Send) -> None:
    path = route_path(scope)
    headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]]
    host = dict(headers).get("host", "")
    if path.startswith("http://") or host.endswith(".invalid"):
        # The client took this server for its HTTP proxy: an absolute-form target (h11 keeps
        # it in the path; httptools keeps only the path, and the Host header says where to).
        target = path if path.startswith("http://") else f"http://{host}{path}"
        await send_response(send, 200, _json({"proxied": target}))
    elif path == "/echo":
        body = await read_body(receive)
        content_type = dict(headers).get("content-type", "application/octet-stream")
        await send_response(send, 200, body, content_type=content_type)
    elif path == "/json":
        await send_response(send, 200, GREETING_BYTES, content_type="application/json")
    elif path == "/headers":
        await send_response(
            send,
            200,
            _json({"headers": headers, "query": query_params(scope)}),
            headers={"X-Request-Id": "req-42"},
        )
    elif path == "/cookie":
        cookie = f"session={query_params(scope)['value']}; Path=/"
        await send_response(send, 200, b"{}", headers={"Set-Cookie": cookie})
    elif path == "/upload":
        body = await read_body(receive)
        parts = _multipart_parts(dict(headers)["content-type"], body)
        await send_response(send, 200, _json(parts))
    elif path == "/download":
        size = int(query_params(scope)["size"])
        chunk = b"\xab" * 65536
        start = {"type": "http.response.start", "status": 200, "headers": []}
        await send(start)
        for sent in range(0, size, len(chunk)):
            piece = chunk[: size - sent]
            await send({"type": "http.response.body", "body": piece, "more_body": True})
        await send({"type": "http.response.body", "body": b""})
    elif path == "/slow":
        # Never answers: waits until the client gives up and hangs up.
        while (await receive())["type"] != "http.disconnect":
            pass
    elif path == "/limited":
        await send_response(
            send, 429, _json({"message": "Too many requests"}), headers={"Retry-After": "7"}
        )
    elif path == "/gather":
        await _gather(scope, receive, send)
    elif path == "/gather/peak":
        await send_response(send, 200, _json(_groups[query_params(scope)["group"]].peak))
    else:
        await send_response(send, 404, b"{}")


@pytest.fixture(scope="module")
def server() -> Iterator[LiveServer]:
    with LiveServer(_app) as live:
        yield live


@pytest.fixture(autouse=True)
def no_proxy_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    monkeypatch.delenv(ENV_VAR, raising=False)


@pytest.fixture(params=TRANSPORTS)
def transport(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


@pytest.fixture
async def client(server: LiveServer, transport: str) -> AsyncIterator[httpx.AsyncClient]:
    async with default_http_client(
        base_url=server.url,
        headers={"Authorization": "Bearer t-1", "X-Byoc-Channel": "viber"},
        timeout=5.0,
        transport=transport,
    ) as http:
        yield http


# ---- behaviour, the same for every transport ---------------------------------------------------


async def test_client_is_built_on_the_named_transport(
    client: httpx.AsyncClient, transport: str
) -> None:
    assert transport_name(client) == transport
    expected = {
        "aiohttp": ByocAiohttpTransport,
        "lean": LeanTransport,
        "httpx": httpx.AsyncHTTPTransport,
    }[transport]
    assert isinstance(client._transport, expected)


async def test_json_post_with_korean_and_emoji_arrives_and_returns_byte_exact(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post(
        "/echo", content=GREETING_BYTES, headers={"Content-Type": "application/json"}
    )

    assert response.status_code == 200
    assert response.content == GREETING_BYTES
    assert response.json() == GREETING


async def test_json_argument_is_sent_as_utf8_not_escaped(client: httpx.AsyncClient) -> None:
    response = await client.post("/echo", json=GREETING)

    assert "안녕하세요".encode() in response.content
    assert "🚚".encode() in response.content
    assert response.json() == GREETING


@settings(
    max_examples=30,
    deadline=None,
    # The only function-scoped fixture is the environment clean-up, the same for every example.
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(body=st.binary(max_size=200_000), text=st.text())
@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_any_body_and_any_text_round_trip_exactly(
    server: LiveServer, transport: str, body: bytes, text: str
) -> None:
    async with default_http_client(base_url=server.url, transport=transport) as http:
        raw = await http.post("/echo", content=body)
        document = await http.post("/echo", json={"text": text})

    assert raw.content == body
    assert document.json() == {"text": text}


async def test_json_get_decodes_non_ascii(client: httpx.AsyncClient) -> None:
    response = await client.get("/json")

    assert response.content == GREETING_BYTES
    assert response.json() == GREETING
    assert response.text == GREETING_BYTES.decode()


async def test_client_and_request_headers_are_sent_and_response_headers_read(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get(
        "/headers", params={"q": "배송 조회 ✅"}, headers={"X-Trace": "t-9"}
    )

    seen = {name.lower(): value for name, value in response.json()["headers"]}
    assert seen["authorization"] == "Bearer t-1"
    assert seen["x-byoc-channel"] == "viber"
    assert seen["x-trace"] == "t-9"
    assert response.json()["query"] == {"q": "배송 조회 ✅"}
    assert response.headers["x-request-id"] == "req-42"


async def test_multipart_upload_sends_file_and_fields_intact(client: httpx.AsyncClient) -> None:
    image = bytes(range(256)) * 1000

    response = await client.post(
        "/upload",
        files={"file": ("cat.jpg", image, "image/jpeg")},
        data={"caption": "고양이 🐱"},
    )

    assert response.status_code == 200
    caption, file = response.json()
    assert caption["name"] == "caption"
    assert caption["text"] == "고양이 🐱"
    assert file["name"] == "file"
    assert file["filename"] == "cat.jpg"
    assert file["content_type"] == "image/jpeg"
    assert file["size"] == len(image)
    assert file["sha256"] == hashlib.sha256(image).hexdigest()


async def test_streamed_download_can_stop_at_a_size_cap(client: httpx.AsyncClient) -> None:
    size, cap = 8 * 1024 * 1024, 256 * 1024
    received = 0

    async with client.stream("GET", "/download", params={"size": size}) as response:
        async for chunk in response.aiter_bytes():
            received += len(chunk)
            if received > cap:
                break

    assert cap < received < cap + 256 * 1024
    # The abandoned download did not poison the pool.
    assert (await client.get("/json")).json() == GREETING


async def test_streamed_download_reads_a_whole_body(client: httpx.AsyncClient) -> None:
    size = 1024 * 1024 + 17

    async with client.stream("GET", "/download", params={"size": size}) as response:
        body = b"".join([chunk async for chunk in response.aiter_bytes()])

    assert body == b"\xab" * size


@pytest.mark.parametrize("write_timeout", [None, 5.0], ids=["no-write-timeout", "write-timeout"])
async def test_a_streamed_upload_of_unknown_length_arrives_intact(
    server: LiveServer, transport: str, write_timeout: float | None
) -> None:
    pieces = [b"\x01" * 70_000, "안녕 🙂".encode(), b"\x02" * 10]

    async def body() -> AsyncIterator[bytes]:
        for piece in pieces:
            yield piece

    timeout = httpx.Timeout(5.0, write=write_timeout)
    async with default_http_client(base_url=server.url, transport=transport) as http:
        response = await http.post("/echo", content=body(), timeout=timeout)

    assert response.content == b"".join(pieces)
    assert response.request.headers["transfer-encoding"] == "chunked"


async def test_a_head_answer_with_a_content_length_ends_at_once(
    client: httpx.AsyncClient,
) -> None:
    response = await client.head("/json")

    assert response.status_code == 200
    assert int(response.headers["content-length"]) == len(GREETING_BYTES)
    assert response.content == b""


async def test_read_timeout_raises_httpx_read_timeout(server: LiveServer, transport: str) -> None:
    async with default_http_client(base_url=server.url, timeout=0.2, transport=transport) as http:
        with pytest.raises(httpx.ReadTimeout):
            await http.get("/slow")


async def test_connection_refused_raises_httpx_connect_error(transport: str) -> None:
    # Bound but not listening: the kernel refuses connections, and no one else can take the port.
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{closed.getsockname()[1]}/"
        async with default_http_client(transport=transport) as http:
            with pytest.raises(httpx.ConnectError):
                await http.get(url)


@pytest.mark.parametrize(
    "answer",
    [b"", b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly part of it"],
    ids=["hang-up-before-answering", "body-shorter-than-content-length"],
)
async def test_a_peer_breaking_http_raises_remote_protocol_error(
    transport: str, answer: bytes
) -> None:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(answer)
        writer.close()
        await writer.wait_closed()

    peer = await asyncio.start_server(handle, "127.0.0.1", 0)
    url = f"http://127.0.0.1:{peer.sockets[0].getsockname()[1]}/"
    async with peer, default_http_client(transport=transport) as http:
        with pytest.raises(httpx.RemoteProtocolError):
            await http.get(url)


async def test_large_body_arrives_intact(client: httpx.AsyncClient) -> None:
    body = hashlib.sha256(b"seed").digest() * (4 * 1024 * 1024 // 32 + 5)

    response = await client.post("/echo", content=body)

    assert response.content == body


async def test_peer_that_stops_reading_an_upload_raises_httpx_write_timeout(
    transport: str,
) -> None:
    release = asyncio.Event()

    async def take_headers_then_stall(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        await reader.readuntil(b"\r\n\r\n")
        await release.wait()
        writer.close()
        await writer.wait_closed()

    peer = await asyncio.start_server(take_headers_then_stall, "127.0.0.1", 0)
    url = f"http://127.0.0.1:{peer.sockets[0].getsockname()[1]}/upload"
    # Far more than loopback's socket buffers can hold.
    body = b"\0" * (48 * 1024 * 1024)
    async with peer:
        try:
            async with default_http_client(transport=transport, timeout=0.3) as http:
                with pytest.raises(httpx.WriteTimeout):
                    await http.post(url, content=body)
        finally:
            # Before the server closes: from Python 3.12 on it waits for its handlers.
            release.set()


async def test_write_watchdog_arms_nothing_once_its_request_has_returned() -> None:
    # aiohttp may still pull body pieces after an early answer; they must not cancel the caller.
    watchdog = _WriteWatchdog(0.01)
    watchdog.progress()
    assert watchdog.armed

    watchdog.close()
    watchdog.progress()

    assert not watchdog.armed


async def test_waiting_too_long_for_a_pooled_connection_raises_a_timeout_before_sending(
    server: LiveServer, transport: str
) -> None:
    timeout = httpx.Timeout(5.0, pool=0.2)
    async with default_http_client(
        base_url=server.url, max_connections=1, transport=transport
    ) as http:
        # Whichever gets the only connection waits at /slow; the other cannot get one.
        requests = [asyncio.ensure_future(http.get("/slow", timeout=timeout)) for _ in range(2)]
        done, pending = await asyncio.wait(requests, return_when=asyncio.FIRST_COMPLETED)
        (holder,) = pending
        holder.cancel()
        with pytest.raises(asyncio.CancelledError):
            await holder

    (starved,) = done
    # httpx says PoolTimeout; aiohttp counts the wait as part of connecting. Either way the
    # request was never sent.
    assert isinstance(starved.exception(), (httpx.PoolTimeout, httpx.ConnectTimeout))


async def test_429_answer_keeps_retry_after_readable(client: httpx.AsyncClient) -> None:
    response = await client.get("/limited")

    assert response.status_code == 429
    assert response.headers["Retry-After"] == "7"
    assert response.json() == {"message": "Too many requests"}


async def test_32_concurrent_requests_are_in_flight_together_and_each_gets_its_answer(
    client: httpx.AsyncClient,
) -> None:
    group = uuid.uuid4().hex
    bodies = [f"메시지 {i} 🚀".encode() for i in range(32)]

    responses = await asyncio.gather(
        *(client.post("/gather", params={"group": group, "n": 32}, content=b) for b in bodies)
    )

    assert [r.content for r in responses] == bodies
    assert (await client.get("/gather/peak", params={"group": group})).json() == 32


async def test_max_connections_caps_requests_in_flight(server: LiveServer, transport: str) -> None:
    group = uuid.uuid4().hex
    async with default_http_client(
        base_url=server.url, max_connections=4, timeout=5.0, transport=transport
    ) as http:
        responses = await asyncio.gather(
            *(http.post("/gather", params={"group": group, "n": 4}, content=b"x") for _ in range(8))
        )
        assert all(r.status_code == 200 for r in responses)
        assert (await http.get("/gather/peak", params={"group": group})).json() == 4


async def test_closing_the_client_leaves_no_resource_warning(
    server: LiveServer, transport: str
) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        http = default_http_client(base_url=server.url, transport=transport)
        await http.get("/json")
        async with http.stream("GET", "/download", params={"size": 1024 * 1024}) as response:
            async for _ in response.aiter_bytes():
                break
        await http.aclose()
        del http, response
        # Let closed transports run their connection_lost callbacks, then collect.
        await asyncio.sleep(0)
        gc.collect()

    assert [w for w in caught if issubclass(w.category, ResourceWarning)] == []


async def test_proxy_from_the_environment_is_honoured(
    server: LiveServer, transport: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", server.url)
    if transport == "lean":
        refusal = f"lean does not go through proxies.*{ENV_VAR}"
        with pytest.raises(ConfigurationError, match=refusal):
            default_http_client(transport=transport)
        return

    async with default_http_client(transport=transport, timeout=5.0) as http:
        response = await http.get("http://freshchat.invalid/v2/users")

    assert response.json() == {"proxied": "http://freshchat.invalid/v2/users"}


async def test_a_cookie_an_answer_sets_is_sent_back_and_replaced(
    client: httpx.AsyncClient,
) -> None:
    async def cookie_sent() -> str | None:
        echoed = (await client.get("/headers")).json()["headers"]
        return dict(echoed).get("cookie")

    assert await cookie_sent() is None
    await client.get("/cookie", params={"value": "s-1"})
    assert await cookie_sent() == "session=s-1"
    await client.get("/cookie", params={"value": "s-2"})
    assert await cookie_sent() == "session=s-2"
    assert dict(client.cookies) == {"session": "s-2"}


# ---- Endpoint: what does not change is built once ------------------------------------------


async def test_endpoint_sends_the_clients_headers_then_its_own_and_json_as_compact_utf8(
    client: httpx.AsyncClient, server: LiveServer
) -> None:
    api = Endpoint(client, server.url + "/", headers={"Accept": "application/json"})

    echoed = await api.send("POST", "/echo", json=GREETING)
    got = await api.send("GET", "/headers", params={"page": 2})

    assert (
        echoed.content == json.dumps(GREETING, ensure_ascii=False, separators=(",", ":")).encode()
    )
    assert echoed.request.headers["content-type"] == "application/json"
    headers = dict(got.json()["headers"])
    assert headers["authorization"] == "Bearer t-1"
    assert headers["x-byoc-channel"] == "viber"
    assert headers["accept"] == "application/json"
    assert "content-type" not in headers
    assert got.json()["query"] == {"page": "2"}
    assert api.url("/headers") is api.url("/headers")


async def test_endpoint_keeps_the_clients_auth_hooks_and_cookies(server: LiveServer) -> None:
    seen: list[str] = []

    async def hook(request: httpx.Request) -> None:
        seen.append(request.url.path)

    async with httpx.AsyncClient(auth=("ana", "pw"), event_hooks={"request": [hook]}) as http:
        api = Endpoint(http, server.url)
        await api.send("GET", "/cookie", params={"value": "s-9"})
        headers = dict((await api.send("GET", "/headers")).json()["headers"])

    assert headers["authorization"].startswith("Basic ")
    assert headers["cookie"] == "session=s-9"
    assert seen == ["/cookie", "/headers"]


async def test_endpoint_timeout_bounds_each_call(server: LiveServer, transport: str) -> None:
    async with default_http_client(transport=transport, timeout=30.0) as http:
        api = Endpoint(http, server.url, timeout=0.2)
        with pytest.raises(httpx.ReadTimeout):
            await api.send("GET", "/slow")


# ---- choosing the transport ------------------------------------------------------------------


async def test_default_is_lean_when_the_fast_extra_is_installed() -> None:
    async with default_http_client() as http:
        assert transport_name(http) == "lean"


async def test_default_is_aiohttp_when_a_proxy_is_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")

    async with default_http_client() as http:
        assert transport_name(http) == "aiohttp"


async def test_default_falls_back_to_httpx_without_the_fast_extra(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "httpx_aiohttp", None)
    monkeypatch.setitem(sys.modules, "httptools", None)

    async with default_http_client() as http:
        assert transport_name(http) == "httpx"


@pytest.mark.parametrize("value", ["httpx", "aiohttp", " AIOHTTP ", "lean"])
async def test_environment_variable_overrides_the_default(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv(ENV_VAR, value)

    async with default_http_client() as http:
        assert transport_name(http) == value.strip().lower()


def test_unknown_transport_in_the_environment_is_a_configuration_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(ENV_VAR, "curl")

    with pytest.raises(ConfigurationError) as raised:
        default_http_client()

    message = str(raised.value)
    assert ENV_VAR in message and "'curl'" in message
    assert "httpx" in message and "aiohttp" in message


def test_unknown_transport_argument_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="httpx, aiohttp, lean"):
        default_http_client(transport="requests")


async def test_transport_argument_wins_over_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(ENV_VAR, "aiohttp")

    async with default_http_client(transport="httpx") as http:
        assert transport_name(http) == "httpx"


def test_asking_for_aiohttp_without_the_fast_extra_names_the_extra(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "httpx_aiohttp", None)
    monkeypatch.setenv(ENV_VAR, "aiohttp")

    with pytest.raises(ConfigurationError, match=r"byoc\[fast\]"):
        default_http_client()


def test_asking_for_lean_without_the_fast_extra_names_the_extra(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "httptools", None)
    monkeypatch.setenv(ENV_VAR, "lean")

    with pytest.raises(ConfigurationError, match=r"byoc\[fast\]"):
        default_http_client()


async def test_a_client_made_elsewhere_is_reported_as_custom() -> None:
    async with httpx.AsyncClient(
        transport=httpx.MockTransport(lambda request: httpx.Response(204))
    ) as http:
        assert transport_name(http) == "custom"


# ---- the aiohttp error mapping, class by class ---------------------------------------------


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (aiohttp.ConnectionTimeoutError("connect"), httpx.ConnectTimeout),
        (aiohttp.SocketTimeoutError("read"), httpx.ReadTimeout),
        (aiohttp.ServerTimeoutError("read"), httpx.ReadTimeout),
        (aiohttp.ServerDisconnectedError(), httpx.RemoteProtocolError),
        (aiohttp.ClientPayloadError("short body"), httpx.RemoteProtocolError),
        (aiohttp.ServerFingerprintMismatch(b"a", b"b", "h", 443), httpx.ConnectError),
        (aiohttp.NonHttpUrlClientError("ftp://h/"), httpx.UnsupportedProtocol),
        (aiohttp.InvalidUrlClientError("http://[/"), httpx.UnsupportedProtocol),
        (aiohttp.ClientOSError(104, "reset"), httpx.NetworkError),
        (aiohttp.ClientConnectionResetError("reset"), httpx.NetworkError),
        (aiohttp.ClientError("other"), httpx.TransportError),
        (asyncio.TimeoutError(), httpx.TimeoutException),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, BaseException) else "",
)
def test_each_aiohttp_error_maps_to_the_class_httpx_raises_itself(
    error: BaseException, expected: type[httpx.TransportError]
) -> None:
    mapped = httpx_error_for(error)

    assert type(mapped) is expected
    assert str(mapped)


def test_an_error_that_is_not_aiohttps_is_not_mapped() -> None:
    assert httpx_error_for(ValueError("bug")) is None
