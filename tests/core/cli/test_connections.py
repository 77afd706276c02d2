"""The guarded uvicorn protocols, on both parsers: what a slow or silent client sees.

Each test runs uvicorn in this process on a real socket, with timeouts of a fraction of a
second, and waits on the connection's own events (an answer, the server closing it).
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import uvicorn

from byoc.cli.connections import ConnectionGuard, ConnectionLimits, guarded_protocol
from byoc.cli.refusals import RefusalLog

HEADER_TIMEOUT = 0.3
BODY_TIMEOUT = 0.3
KEEP_ALIVE = 0.8

pytestmark = pytest.mark.parametrize("parser", ["httptools", "h11"])


class App:
    """Answers with the body it read, and remembers whether the client went away."""

    def __init__(self) -> None:
        self.disconnected = asyncio.Event()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        body = b""
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                self.disconnected.set()
                return
            body += message.get("body", b"")
            if not message.get("more_body", False):
                break
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"read " + body})


class Served:
    def __init__(self, port: int, app: App, guard: ConnectionGuard) -> None:
        self.port, self.app, self.guard = port, app, guard

    async def connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        return await asyncio.open_connection("127.0.0.1", self.port)


Serve = Callable[..., Any]


@pytest.fixture
async def serve(parser: str) -> AsyncIterator[Serve]:
    servers: list[tuple[uvicorn.Server, socket.socket]] = []

    async def start(max_connections: int = 100, header_timeout: float = HEADER_TIMEOUT) -> Served:
        limits = ConnectionLimits(
            header_timeout=header_timeout,
            body_timeout=BODY_TIMEOUT,
            max_connections=max_connections,
        )
        loop = asyncio.get_running_loop()
        guard = ConnectionGuard(limits, RefusalLog(logging.getLogger("test"), loop.call_later))
        app = App()
        config = uvicorn.Config(
            app,
            http=guarded_protocol(parser, guard),
            lifespan="off",
            log_config=None,
            timeout_keep_alive=KEEP_ALIVE,  # type: ignore[arg-type]
        )
        config.load()
        server = uvicorn.Server(config)
        # What `Server.serve` does before it starts listening (lifespan "off": nothing to run).
        server.lifespan = config.lifespan_class(config)
        sock = socket.socket()
        servers.append((server, sock))
        sock.bind(("127.0.0.1", 0))
        await server.startup(sockets=[sock])
        return Served(sock.getsockname()[1], app, guard)

    yield start
    for server, sock in servers:
        await server.shutdown(sockets=[sock])
        sock.close()


async def closed_after(reader: asyncio.StreamReader) -> tuple[bytes, float]:
    """What the server sent until it closed the connection, and how long that took."""
    started = time.monotonic()
    received = await asyncio.wait_for(reader.read(), timeout=5)
    return received, time.monotonic() - started


@pytest.mark.parametrize(
    ("sent", "answer", "timeout"),
    [
        (b"", b"", HEADER_TIMEOUT),
        (b"GET / HTTP/1.1\r\nhost: byoc\r\n", b"HTTP/1.1 408 Request Timeout\r\n", HEADER_TIMEOUT),
        (b"POST / HTTP/1.1\r\nhost: byoc\r\ncontent-length: 10\r\n\r\nabc", b"", BODY_TIMEOUT),
    ],
    ids=["silent", "head-stalls", "body-stalls"],
)
async def test_a_connection_that_stalls_is_closed_after_its_timeout(
    serve: Serve, sent: bytes, answer: bytes, timeout: float
) -> None:
    served = await serve()
    reader, writer = await served.connect()
    writer.write(sent)
    received, waited = await closed_after(reader)
    assert received.startswith(answer) and (answer or received == b"")
    assert waited >= timeout * 0.9
    if b"\r\n\r\n" in sent:
        # The app was reading the body: it sees the client go away.
        await asyncio.wait_for(served.app.disconnected.wait(), timeout=5)
    writer.close()


async def test_a_head_sent_a_byte_at_a_time_is_still_held_to_the_header_timeout(
    serve: Serve,
) -> None:
    served = await serve()
    reader, writer = await served.connect()
    started = time.monotonic()
    for byte in b"GET / HTTP/1.1\r\nhost: byoc\r\nx-slow: " + b"a" * 100:
        if reader.at_eof():
            break
        writer.write(bytes([byte]))
        try:
            # Each byte comes well within the timeout; only the whole head is late.
            await asyncio.wait_for(reader.read(1), timeout=HEADER_TIMEOUT / 3)
            break  # the server answered (408) or closed
        except asyncio.TimeoutError:
            continue
    assert HEADER_TIMEOUT * 0.9 <= time.monotonic() - started < HEADER_TIMEOUT * 4
    writer.close()


async def test_a_body_whose_chunks_come_within_the_timeout_is_read_whole(serve: Serve) -> None:
    served = await serve()
    reader, writer = await served.connect()
    writer.write(b"POST / HTTP/1.1\r\nhost: byoc\r\ncontent-length: 4\r\n\r\n")
    started = time.monotonic()
    for chunk in (b"a", b"b", b"c"):
        writer.write(chunk)
        # A pause of two thirds of the timeout between chunks: longer than it in total.
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(reader.read(1), timeout=BODY_TIMEOUT * 2 / 3)
    writer.write(b"d")
    answer = await asyncio.wait_for(reader.readuntil(b"read abcd"), timeout=5)
    assert answer.startswith(b"HTTP/1.1 200")
    assert time.monotonic() - started > BODY_TIMEOUT
    writer.close()


async def test_between_requests_the_keep_alive_timeout_applies(serve: Serve) -> None:
    served = await serve()
    reader, writer = await served.connect()
    writer.write(b"GET / HTTP/1.1\r\nhost: byoc\r\n\r\n")
    await asyncio.wait_for(reader.readuntil(b"read "), timeout=5)
    _, waited = await closed_after(reader)
    assert waited >= KEEP_ALIVE * 0.9  # not the shorter header timeout
    writer.close()


async def test_at_the_cap_the_longest_silent_connection_makes_room(serve: Serve) -> None:
    # A header timeout far away: the silent connection is closed to make room, not by it.
    served = await serve(max_connections=2, header_timeout=30.0)
    first_reader, first = await served.connect()
    _, second = await served.connect()
    reader, writer = await served.connect()
    writer.write(b"GET / HTTP/1.1\r\nhost: byoc\r\n\r\n")
    answer = await asyncio.wait_for(reader.readuntil(b"read "), timeout=5)
    assert answer.startswith(b"HTTP/1.1 200")
    assert await asyncio.wait_for(first_reader.read(), timeout=5) == b""
    for each in (first, second, writer):
        each.close()


async def test_at_the_cap_with_none_silent_a_newcomer_gets_503(serve: Serve) -> None:
    served = await serve(max_connections=2)
    held = []
    for _ in range(2):
        reader, writer = await served.connect()
        # Answered and kept alive: such a connection is not closed to make room.
        writer.write(b"GET / HTTP/1.1\r\nhost: byoc\r\n\r\n")
        await asyncio.wait_for(reader.readuntil(b"read "), timeout=5)
        held.append(writer)
    reader, writer = await served.connect()
    received, _ = await closed_after(reader)
    assert received.startswith(b"HTTP/1.1 503 Service Unavailable\r\n")
    assert b"retry-after: 1" in received
    for each in (*held, writer):
        each.close()
