"""byoc's lean HTTP/1.1 transport: what it does beyond the behaviour every transport shares
(tests/core/test_transport.py runs that suite on it too), against real sockets."""

from __future__ import annotations

import asyncio
import datetime
import gzip
import ipaddress
import json
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from byoc.testing.live_server import LiveServer
from byoc.transport import Endpoint, default_http_client, transport_name

from .test_transport import _app

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@pytest.fixture(scope="module")
def server() -> AsyncIterator[LiveServer]:
    with LiveServer(_app) as live:
        yield live  # type: ignore[misc]


@pytest.fixture
async def lean(server: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    async with default_http_client(
        base_url=server.url, headers={"Authorization": "Bearer t-1"}, transport="lean"
    ) as http:
        assert transport_name(http) == "lean"
        yield http


class Peer:
    """A raw HTTP/1.1 server scripted per test: counts connections and requests."""

    def __init__(self, answer: Callable[[int, int, bytes], bytes | None]) -> None:
        # answer(connection number, request number on it, request head) → bytes to write, or
        # None to hang up without answering.
        self.answer = answer
        self.connections = 0
        self.requests: list[bytes] = []
        self.heads: list[bytes] = []
        self.writers: list[asyncio.StreamWriter] = []
        self.server: asyncio.Server | None = None

    async def __aenter__(self) -> str:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        return f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()
        for writer in self.writers:
            writer.close()
        await asyncio.gather(*(w.wait_closed() for w in self.writers), return_exceptions=True)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.writers.append(writer)
        number = self.connections
        on_this = 0
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                body = await reader.readexactly(length)
                self.heads.append(head)
                self.requests.append(head.split(b"\r\n")[0] + b" " + body)
                on_this += 1
                answer = self.answer(number, on_this, head)
                if answer is None:
                    break
                writer.write(answer)
                await writer.drain()
                if b"connection: close" in answer.lower():
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        writer.close()


def ok(body: bytes = b'{"ok":true}', *extra: bytes) -> bytes:
    headers = b"".join(h + b"\r\n" for h in extra)
    return b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n%s\r\n%s" % (len(body), headers, body)


# ---- Endpoint's path: prepared bytes in, a whole httpx.Response out --------------------------


async def test_an_endpoint_answer_is_the_same_response_client_send_gives(
    lean: httpx.AsyncClient, server: LiveServer
) -> None:
    api = Endpoint(lean, server.url, headers={"Accept": "application/json"})
    fast = await api.send("POST", "/echo", json={"text": "안녕 🙏"})
    slow = await lean.send(api.request("POST", "/echo", json={"text": "안녕 🙏"}))

    assert fast.status_code == slow.status_code == 200
    assert fast.content == slow.content == '{"text":"안녕 🙏"}'.encode()
    assert fast.json() == slow.json() == {"text": "안녕 🙏"}
    assert fast.text == slow.text
    assert fast.headers["content-type"] == slow.headers["content-type"]
    assert fast.http_version == "HTTP/1.1"
    assert fast.request.method == "POST"
    assert fast.request.url == slow.request.url == f"{server.url}/echo"
    assert fast.request.headers["authorization"] == "Bearer t-1"
    assert fast.is_closed and fast.elapsed.total_seconds() >= 0


async def test_an_endpoint_call_sends_what_httpx_would(lean: httpx.AsyncClient) -> None:
    peer = Peer(lambda *_: ok())
    async with peer as url:
        api = Endpoint(lean, url, headers={"X-Api": "k"})
        await api.send("POST", "/v2/conversations/c-1/messages", json={"a": "é"})
        await api.send("POST", "/empty")
        await api.send("GET", "/users/u-1")

    host = url.removeprefix("http://")
    posted, empty, got = (head.lower().split(b"\r\n") for head in peer.heads)
    assert posted[0] == b"post /v2/conversations/c-1/messages http/1.1"
    assert f"host: {host}".encode() in posted
    assert b"authorization: bearer t-1" in posted and b"x-api: k" in posted
    assert b"content-type: application/json" in posted
    assert b"content-length: %d" % len('{"a":"é"}'.encode()) in posted
    assert peer.requests[0].endswith('{"a":"é"}'.encode())
    assert empty[0] == b"post /empty http/1.1" and b"content-length: 0" in empty
    assert got[0] == b"get /users/u-1 http/1.1"
    assert not any(line.startswith(b"content-") for line in got)


async def test_a_compressed_answer_is_decoded(lean: httpx.AsyncClient) -> None:
    packed = gzip.compress(b'{"id":"m-1"}')
    async with Peer(lambda *_: ok(packed, b"Content-Encoding: gzip")) as url:
        answer = await Endpoint(lean, url).send("GET", "/m")

    assert answer.json() == {"id": "m-1"}


async def test_a_cookie_set_on_the_lean_path_is_sent_back(
    lean: httpx.AsyncClient, server: LiveServer
) -> None:
    api = Endpoint(lean, server.url)
    await api.send("GET", "/cookie?value=s-7")
    echoed = (await api.send("GET", "/headers")).json()["headers"]

    assert dict(echoed)["cookie"] == "session=s-7"


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=st.binary(max_size=200_000), text=st.text(max_size=300))
async def test_any_body_and_any_text_round_trip_through_an_endpoint(
    server: LiveServer, body: bytes, text: str
) -> None:
    async with default_http_client(transport="lean") as http:
        api = Endpoint(http, server.url)
        assert (await api.send("POST", "/echo", content=body)).content == body
        echoed = await api.send("POST", "/echo", json={"t": text})
        assert echoed.json() == {"t": text}


# ---- connections: reuse, and what a closing server means ---------------------------------------


async def test_one_connection_carries_many_calls(lean: httpx.AsyncClient) -> None:
    peer = Peer(lambda *_: ok())
    async with peer as url:
        api = Endpoint(lean, url)
        for _ in range(5):
            await api.send("POST", "/m", json={})

    assert peer.connections == 1
    assert len(peer.requests) == 5


async def test_a_connection_the_server_closed_while_idle_is_not_reused(
    lean: httpx.AsyncClient,
) -> None:
    peer = Peer(lambda *_: ok(b"{}", b"Connection: close"))
    async with peer as url:
        api = Endpoint(lean, url)
        await api.send("POST", "/m", json={})
        await asyncio.sleep(0.05)  # the server's FIN arrives
        await api.send("POST", "/m", json={})

    assert peer.connections == 2
    assert len(peer.requests) == 2


@pytest.mark.parametrize("method", ["GET", "PUT"])
async def test_an_idempotent_call_on_a_reused_connection_that_dies_unanswered_is_sent_again(
    lean: httpx.AsyncClient, method: str
) -> None:
    # The second request on the first connection gets no answer: the server hangs up.
    peer = Peer(lambda connection, n, head: None if (connection, n) == (1, 2) else ok())
    async with peer as url:
        api = Endpoint(lean, url)
        await api.send(method, "/m")
        answer = await api.send(method, "/m")

    assert answer.status_code == 200
    assert peer.connections == 2
    assert len(peer.requests) == 3


async def test_a_post_on_a_reused_connection_that_dies_unanswered_is_not_sent_again(
    lean: httpx.AsyncClient,
) -> None:
    peer = Peer(lambda connection, n, head: None if (connection, n) == (1, 2) else ok())
    async with peer as url:
        api = Endpoint(lean, url)
        await api.send("POST", "/m", json={"n": 1})
        with pytest.raises(httpx.RemoteProtocolError):
            await api.send("POST", "/m", json={"n": 2})

    # The server may have acted on it: sending it again is the caller's decision.
    assert [r.endswith(b'{"n":2}') for r in peer.requests] == [False, True]


async def test_an_answer_without_a_length_ends_where_the_connection_does(
    lean: httpx.AsyncClient,
) -> None:
    answer = b'HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n{"whole":"body"}'
    async with Peer(lambda *_: answer) as url:
        got = await Endpoint(lean, url).send("GET", "/m")
        streamed = await lean.get(f"{url}/m")

    assert got.json() == streamed.json() == {"whole": "body"}


async def test_a_chunked_answer_is_read_whole(lean: httpx.AsyncClient) -> None:
    answer = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        b'5\r\n{"a":\r\n3\r\n"b"\r\n1\r\n}\r\n0\r\n\r\n'
    )
    async with Peer(lambda *_: answer) as url:
        got = await Endpoint(lean, url).send("GET", "/m")
        again = await lean.get(f"{url}/m")

    assert got.json() == again.json() == {"a": "b"}


async def test_a_head_answer_ends_at_its_headers_and_its_connection_is_not_reused(
    lean: httpx.AsyncClient,
) -> None:
    peer = Peer(lambda *_: b"HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n")
    async with peer as url:
        first = await lean.head(f"{url}/m")
        second = await lean.head(f"{url}/m")

    assert first.status_code == second.status_code == 200
    assert peer.connections == 2


async def test_bytes_after_a_complete_answer_drop_the_connection(lean: httpx.AsyncClient) -> None:
    peer = Peer(lambda *_: ok() + b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
    async with peer as url:
        api = Endpoint(lean, url)
        first = await api.send("GET", "/m")
        await asyncio.sleep(0.05)
        second = await api.send("GET", "/m")

    assert first.json() == second.json() == {"ok": True}
    assert peer.connections == 2


async def test_an_answer_that_is_not_http_raises_remote_protocol_error(
    lean: httpx.AsyncClient,
) -> None:
    async with Peer(lambda *_: b"SSH-2.0-OpenSSH_9.6\r\n\r\n") as url:
        with pytest.raises(httpx.RemoteProtocolError, match="broke HTTP"):
            await Endpoint(lean, url).send("GET", "/m")


async def test_a_url_that_is_not_http_is_refused_before_connecting() -> None:
    async with default_http_client(transport="lean") as http:
        with pytest.raises(httpx.UnsupportedProtocol):
            await http.get("ftp://example.com/file")


async def test_a_json_answer_from_the_lean_path_parses_as_httpx_would(
    lean: httpx.AsyncClient,
) -> None:
    body = json.dumps({"users": [{"id": "u-1", "name": "김민준"}]}, ensure_ascii=False).encode()
    async with Peer(lambda *_: ok(body, b"Content-Type: application/json; charset=utf-8")) as url:
        answer = await Endpoint(lean, url).send("GET", "/users")

    assert answer.json()["users"][0]["name"] == "김민준"
    assert answer.encoding == "utf-8"


def test_the_lean_transport_runs_on_uvloop_as_byoc_serve_does(server: LiveServer) -> None:
    # uvloop's transports are not asyncio's, and it calls `connection_made` a turn later.
    uvloop = pytest.importorskip("uvloop")

    async def calls() -> list[object]:
        async with default_http_client(transport="lean") as http:
            api = Endpoint(http, server.url)
            answers = await asyncio.gather(
                *(api.send("POST", "/echo", json={"n": n}) for n in range(20))
            )
            streamed = await http.get(f"{server.url}/download", params={"size": 300_000})
            return [a.json()["n"] for a in answers] + [len(streamed.content)]

    assert uvloop.run(calls()) == [*range(20), 300_000]


# ---- TLS: the bridge's real upstreams are all https:// ----------------------------------------


def _certificates(folder: Path) -> tuple[Path, Path, Path]:
    """A CA, and a server certificate it signed for localhost and 127.0.0.1: (ca, cert, key)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.timezone.utc)

    def name(common: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(name("byoc test CA"))
        .issuer_name(name("byoc test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(name("localhost"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    paths = folder / "ca.pem", folder / "cert.pem", folder / "key.pem"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return paths


@pytest.fixture
async def tls_peer(tmp_path: Path) -> AsyncIterator[tuple[str, Path]]:
    """An HTTPS server answering every request with its own body; its CA's file."""
    ca, cert, key = _certificates(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    peer = Peer(lambda *_: ok())
    peer_server = await asyncio.start_server(peer._handle, "127.0.0.1", 0, ssl=context)
    port = peer_server.sockets[0].getsockname()[1]
    try:
        yield f"https://localhost:{port}", ca
    finally:
        peer_server.close()
        for writer in peer.writers:
            writer.close()


async def test_https_calls_verify_the_certificate_and_reuse_the_connection(
    tls_peer: tuple[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, ca = tls_peer
    monkeypatch.setenv("SSL_CERT_FILE", str(ca))  # as httpx reads it: the CA to trust
    async with default_http_client(transport="lean") as http:
        api = Endpoint(http, url)
        answers = [await api.send("POST", "/v2/m", json={"n": n}) for n in range(3)]
        streamed = await http.get(f"{url}/other")

    assert [a.json() for a in answers] == [{"ok": True}] * 3
    assert streamed.json() == {"ok": True}


async def test_an_https_server_whose_certificate_is_not_trusted_is_refused(
    tls_peer: tuple[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, _ = tls_peer
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    async with default_http_client(transport="lean") as http:
        with pytest.raises(httpx.ConnectError, match="(?i)certificate"):
            await Endpoint(http, url).send("GET", "/m")


async def test_an_answer_with_endless_headers_is_refused_not_buffered(
    lean: httpx.AsyncClient,
) -> None:
    flood = b"".join(b"X-Filler-%d: %s\r\n" % (n, b"x" * 1000) for n in range(80))
    async with Peer(
        lambda *_: b"HTTP/1.1 200 OK\r\n" + flood + b"Content-Length: 0\r\n\r\n"
    ) as url:
        with pytest.raises(httpx.RemoteProtocolError, match="headers are over"):
            await Endpoint(lean, url).send("GET", "/m")


async def test_a_header_with_a_line_break_is_refused_before_anything_is_sent(
    lean: httpx.AsyncClient,
) -> None:
    peer = Peer(lambda *_: ok())
    async with peer as url:
        api = Endpoint(lean, url, headers={"Authorization": "Bearer t-1\r\nX-Injected: 1"})
        with pytest.raises(httpx.LocalProtocolError, match="line break"):
            await api.send("POST", "/m", json={})
        with pytest.raises(httpx.LocalProtocolError, match="line break"):
            await lean.get(f"{url}/m", headers={"X-Token": "a\nb"})

    assert peer.requests == []


async def test_a_connection_whose_answer_ended_while_reading_was_paused_serves_the_next(
    lean: httpx.AsyncClient,
) -> None:
    # Past the read-ahead (256 KiB) the socket stops being read; an answer a little longer
    # than that can end in the very read that fills it.
    big = b"x" * (300 * 1024)
    peer = Peer(lambda connection, n, head: ok(big) if n == 1 else ok())
    async with peer as url:
        async with lean.stream("GET", f"{url}/big") as response:
            await asyncio.sleep(0.1)  # all of it arrives; the reader stops there (a size cap)
            assert response.status_code == 200
        answer = await asyncio.wait_for(Endpoint(lean, url).send("GET", "/next"), 5)

    assert answer.json() == {"ok": True}
    assert peer.connections == 1


async def test_an_endpoint_on_a_closed_client_refuses_as_httpx_does(server: LiveServer) -> None:
    http = default_http_client(transport="lean")
    api = Endpoint(http, server.url)
    await api.send("GET", "/json")
    await http.aclose()

    with pytest.raises(RuntimeError, match="closed"):
        await api.send("GET", "/json")
