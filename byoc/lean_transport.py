"""byoc's own HTTP/1.1 transport under httpx: a keep-alive pool of asyncio connections.

Importing this module needs `httptools` (the `fast` extra); `byoc.transport` imports it only
when it is installed and chosen.

## Why a transport of its own

Every message the bridge moves is one small JSON call to an API it talks to all day. Measured
in `benchmarks/side_by_side.py`, httpx's client over the aiohttp transport spent about 560 µs
of CPU on each such call, a third of all the bridge spent on a message: aiohttp's session
machinery (timers, tracing, cookie and header merging) and httpx's models built twice over
(request and response). This transport does what one such call needs and no more: one
`asyncio.Protocol` per connection, the answer parsed by httptools (llhttp, the parser of
Node.js and of uvicorn), connections kept per origin and handed out without a lock.

`LeanTransport.exchange` is the path `byoc.transport.Endpoint` takes for the bridge's own
calls: it writes prepared bytes and returns the status, headers and body, with no
`httpx.Request` to build on the way out. `handle_async_request` serves every other request an
`httpx.AsyncClient` makes (streamed downloads, multipart uploads, plugins' own calls) with the
same connections.

## What it does and does not do

- HTTP/1.1 over TCP or TLS (`https://`, certificates checked as httpx checks them), keep-alive,
  `Content-Length`, chunked and close-delimited answers, streamed bodies both ways.
- httpx's timeouts with httpx's error classes: `connect` → `ConnectTimeout`, `read` (between
  two pieces of the answer) → `ReadTimeout`, `write` (the peer takes no more of the body) →
  `WriteTimeout`, `pool` (waiting for a connection under `max_connections`) → `PoolTimeout`; a
  refused or failed connection → `ConnectError`; a peer that hangs up mid-answer or breaks
  HTTP → `RemoteProtocolError`.
- A pooled connection the server closed while idle is noticed (its end of file) and never
  reused; one that fails before any byte of the answer is retried once on a new connection,
  for idempotent methods only: a POST may have been acted on.
- No proxies: `default_http_client` picks this transport only when no proxy variable is set,
  and refuses it, naming the alternatives, when one is. No HTTP/2, no `Expect: 100-continue`.
"""

from __future__ import annotations

import asyncio
import collections
import time
from collections.abc import AsyncIterator, Mapping
from typing import Any, Final, cast

import httptools
import httpx
from typing_extensions import override

__all__ = ["Answer", "LeanTransport"]

Answer = tuple[int, list[tuple[bytes, bytes]], bytes]
"""What `LeanTransport.exchange` returns: status, raw headers, the whole body."""

_Origin = tuple[str, str, int]

# Past this much of an answer read ahead of a streaming reader, the socket stops being read.
_READ_AHEAD: Final = 256 * 1024
# An answer's status line and headers may take this much; more is refused, not buffered.
_MAX_HEAD: Final = 64 * 1024
# A body up to this size is written at once: asyncio's transports take 64 KiB before a writer
# has to wait, so writing it cannot stall.
_PIECE: Final = 64 * 1024
_IDEMPOTENT: Final = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS", "TRACE"})
_DEFAULT_PORTS: Final = {"http": 80, "https": 443}


class _Exchange:
    """One request's answer as it arrives: status and headers, then body pieces."""

    def __init__(self, loop: asyncio.AbstractEventLoop, *, head_only: bool) -> None:
        self.loop = loop
        self.head_only = head_only
        self.status = 0
        self.headers: list[tuple[bytes, bytes]] = []
        self.head_bytes = 0
        self.pieces: list[bytes] = []
        self.buffered = 0
        self.received = False  # any byte of the answer
        self.headers_done = False
        self.complete = False
        self.keep_alive = False
        self.error: BaseException | None = None
        self._waiter: asyncio.Future[None] | None = None

    def wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def fail(self, error: BaseException) -> None:
        if self.error is None and not self.complete:
            self.error = error
            self.wake()

    async def wait(self) -> None:
        """Until something happens: headers, a piece, the end, or an error."""
        self._waiter = self.loop.create_future()
        try:
            await self._waiter
        finally:
            self._waiter = None


class _Connection(asyncio.Protocol):
    """One HTTP/1.1 connection; one request at a time."""

    def __init__(self, pool: _Pool, origin: _Origin) -> None:
        self.pool = pool
        self.origin = origin
        self.loop = pool.loop
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.reused = False
        self.idle_since = 0.0
        self._parser = httptools.HttpResponseParser(self)
        self._exchange: _Exchange | None = None
        self._read_timeout: float | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._length_known = False
        self._paused = False
        self._drain: asyncio.Future[None] | None = None
        self._write_paused = False

    # -- asyncio.Protocol --------------------------------------------------------------------

    @override
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not subclasses of asyncio's, only alike.
        self.transport = cast(asyncio.Transport, transport)

    @override
    def data_received(self, data: bytes) -> None:
        exchange = self._exchange
        if exchange is None or exchange.complete:
            # Bytes nobody asked for: the framing is lost, the connection unusable.
            if exchange is not None:
                exchange.keep_alive = False
            self.abort()
            return
        exchange.received = True
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as exc:
            exchange.fail(httpx.RemoteProtocolError(f"the server broke HTTP/1.1: {exc}"))
            self.abort()
            return
        if not exchange.complete and self._timer is not None:
            self._arm_read_timer()

    @override
    def eof_received(self) -> bool:
        self.closed = True
        return False  # let the transport close

    @override
    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._stop_timer()
        if self._drain is not None and not self._drain.done():
            self._drain.set_exception(httpx.WriteError("the connection closed during the upload"))
        exchange = self._exchange
        if exchange is not None and not exchange.complete:
            if exchange.headers_done and not self._length_known:
                # An answer without a length ends where the connection does.
                self.on_message_complete()
            else:
                exchange.fail(
                    httpx.RemoteProtocolError(
                        "the server closed the connection without a complete answer"
                    )
                )
        self.pool.forget(self)

    @override
    def pause_writing(self) -> None:
        self._write_paused = True

    @override
    def resume_writing(self) -> None:
        self._write_paused = False
        if self._drain is not None and not self._drain.done():
            self._drain.set_result(None)

    # -- httptools callbacks -----------------------------------------------------------------

    def on_message_begin(self) -> None:
        exchange = self._exchange
        if exchange is not None and exchange.complete:
            # A second answer to one request (in the same read): the framing is lost.
            exchange.keep_alive = False
            self._exchange = None

    def on_header(self, name: bytes, value: bytes) -> None:
        exchange = self._exchange
        if exchange is not None:
            exchange.headers.append((name, value))
            exchange.head_bytes += len(name) + len(value) + 4
            if exchange.head_bytes > _MAX_HEAD:
                exchange.fail(
                    httpx.RemoteProtocolError(f"the answer's headers are over {_MAX_HEAD} bytes")
                )
                raise ValueError("headers too long")  # stops the parser; data_received aborts

    def on_headers_complete(self) -> None:
        exchange = self._exchange
        if exchange is None:
            return
        status = self._parser.get_status_code()
        if 100 <= status < 200:
            # An interim answer (103 Early Hints, say): the real one follows.
            exchange.headers = []
            return
        exchange.status = status
        exchange.keep_alive = self._parser.should_keep_alive()
        names = {name.lower() for name, _ in exchange.headers}
        self._length_known = (
            b"content-length" in names
            or b"transfer-encoding" in names
            or status in (204, 304)
            or exchange.head_only
        )
        exchange.headers_done = True
        if exchange.head_only:
            # llhttp cannot be told the request was HEAD and would wait for the body the
            # headers announce; the answer ends here and the connection is not reused.
            exchange.keep_alive = False
            self._finish(exchange)
            return
        exchange.wake()

    def on_body(self, body: bytes) -> None:
        exchange = self._exchange
        if exchange is None:
            return
        exchange.pieces.append(body)
        exchange.buffered += len(body)
        if exchange.buffered > _READ_AHEAD and not self._paused and self.transport is not None:
            self._paused = True
            self.transport.pause_reading()
            self._stop_timer()  # the reader is behind, not the server
        exchange.wake()

    def on_message_complete(self) -> None:
        exchange = self._exchange
        if exchange is None or exchange.complete or not exchange.headers_done:
            return  # the end of an interim answer, or of one already finished
        self._finish(exchange)

    # -- requests ----------------------------------------------------------------------------

    def _finish(self, exchange: _Exchange) -> None:
        exchange.complete = True
        self._stop_timer()
        exchange.wake()

    async def send(
        self,
        head: bytes,
        body: bytes | AsyncIterator[bytes],
        *,
        chunked: bool,
        timeouts: Mapping[str, float | None],
        head_only: bool,
    ) -> _Exchange:
        """Write the request and wait for the answer's headers."""
        assert self.transport is not None
        exchange = self._exchange = _Exchange(self.loop, head_only=head_only)
        self._read_timeout = timeouts.get("read")
        if isinstance(body, bytes) and len(body) <= _PIECE:
            self.transport.write(head + body if body else head)
        else:
            self.transport.write(head)
            await self._write_body(body, chunked=chunked, timeout=timeouts.get("write"))
        if self._read_timeout is not None:
            self._arm_read_timer()
        while not exchange.headers_done and exchange.error is None:
            await exchange.wait()
        if exchange.error is not None:
            raise exchange.error
        return exchange

    async def read_all(self, exchange: _Exchange) -> bytes:
        """The rest of the answer, whole."""
        while not exchange.complete and exchange.error is None:
            await exchange.wait()
        if exchange.error is not None:
            raise exchange.error
        return b"".join(exchange.pieces)

    async def pieces(self, exchange: _Exchange) -> AsyncIterator[bytes]:
        """The rest of the answer as it arrives."""
        while True:
            if exchange.pieces:
                taken, exchange.pieces, exchange.buffered = exchange.pieces, [], 0
                if self._paused and self.transport is not None:
                    self._paused = False
                    self.transport.resume_reading()
                    if self._read_timeout is not None and not exchange.complete:
                        self._arm_read_timer()
                for piece in taken:
                    yield piece
                continue
            if exchange.error is not None:
                raise exchange.error
            if exchange.complete:
                return
            await exchange.wait()

    @property
    def current(self) -> _Exchange | None:
        return self._exchange

    def done(self) -> None:
        """The caller is finished with the current exchange: pool the connection, or close it."""
        exchange, self._exchange = self._exchange, None
        self._stop_timer()
        reusable = (
            exchange is not None
            and exchange.complete
            and exchange.keep_alive
            and exchange.error is None
        )
        if reusable and not self.closed:
            if self._paused and self.transport is not None:
                # The answer ended in the read that filled the read-ahead: read again, or the
                # next request on this connection would never hear its answer.
                self._paused = False
                self.transport.resume_reading()
            self.pool.release(self)
        else:
            self.abort()

    async def _write_body(
        self, body: bytes | AsyncIterator[bytes], *, chunked: bool, timeout: float | None
    ) -> None:
        assert self.transport is not None
        if isinstance(body, bytes):
            # Views, not copies: a body of many megabytes is not held twice.
            view = memoryview(body)
            for start in range(0, len(view), _PIECE):
                await self._write(view[start : start + _PIECE], chunked=chunked, timeout=timeout)
        else:
            async for piece in body:
                await self._write(piece, chunked=chunked, timeout=timeout)
        if chunked:
            self.transport.write(b"0\r\n\r\n")

    async def _write(
        self, piece: bytes | memoryview, *, chunked: bool, timeout: float | None
    ) -> None:
        assert self.transport is not None
        if not piece:
            return
        if self.closed:
            raise httpx.WriteError("the connection closed during the upload")
        if chunked:
            self.transport.write(b"%x\r\n%s\r\n" % (len(piece), piece))
        else:
            self.transport.write(piece)
        if self._write_paused:
            self._drain = self.loop.create_future()
            try:
                await asyncio.wait_for(asyncio.shield(self._drain), timeout)
            except asyncio.TimeoutError:
                raise httpx.WriteTimeout(
                    f"the peer took no more of the request body for {timeout} s"
                ) from None
            finally:
                self._drain = None

    def _arm_read_timer(self) -> None:
        self._stop_timer()
        assert self._read_timeout is not None
        self._timer = self.loop.call_later(self._read_timeout, self._read_timed_out)

    def _stop_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _read_timed_out(self) -> None:
        self._timer = None
        if self._exchange is not None:
            self._exchange.fail(
                httpx.ReadTimeout(f"no answer from the server for {self._read_timeout} s")
            )
        self.abort()

    def abort(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.abort()


class _Pool:
    """Open connections per origin, at most `limit` in all, idle ones kept `expiry` seconds."""

    def __init__(self, loop: asyncio.AbstractEventLoop, limit: int | None, expiry: float) -> None:
        self.loop = loop
        self.limit = limit
        self.expiry = expiry
        self.members: set[_Connection] = set()  # open, idle or not
        self.connecting = 0
        self.idle: dict[_Origin, list[_Connection]] = {}
        self.waiters: collections.deque[asyncio.Future[None]] = collections.deque()

    async def acquire(
        self,
        origin: _Origin,
        timeouts: Mapping[str, float | None],
        ssl: Any,
        sni: str | None,
        *,
        fresh: bool = False,
    ) -> _Connection:
        while True:
            if not fresh:
                connection = self._take_idle(origin)
                if connection is not None:
                    return connection
            if self._has_room() or self._close_an_idle_one():
                return await self._connect(origin, timeouts, ssl, sni)
            await self._wait_for_room(timeouts.get("pool"))

    def _has_room(self) -> bool:
        return self.limit is None or len(self.members) + self.connecting < self.limit

    def _take_idle(self, origin: _Origin) -> _Connection | None:
        idle = self.idle.get(origin)
        now = time.monotonic()
        while idle:
            connection = idle.pop()
            if not connection.closed and now - connection.idle_since < self.expiry:
                connection.reused = True
                return connection
            self.members.discard(connection)
            connection.abort()
        return None

    def _close_an_idle_one(self) -> bool:
        for idle in self.idle.values():
            if idle:
                connection = idle.pop(0)
                self.members.discard(connection)
                connection.abort()
                return True
        return False

    async def _wait_for_room(self, timeout: float | None) -> None:
        waiter = self.loop.create_future()
        self.waiters.append(waiter)
        try:
            await asyncio.wait_for(waiter, timeout)
        except asyncio.TimeoutError:
            raise httpx.PoolTimeout(
                f"no free connection within {timeout} s ({self.limit} in use)"
            ) from None
        finally:
            if waiter in self.waiters:
                self.waiters.remove(waiter)

    async def _connect(
        self, origin: _Origin, timeouts: Mapping[str, float | None], ssl: Any, sni: str | None
    ) -> _Connection:
        scheme, host, port = origin
        connection = _Connection(self, origin)
        tls = scheme == "https"
        self.connecting += 1
        connected = False
        try:
            transport, _ = await asyncio.wait_for(
                self.loop.create_connection(
                    lambda: connection,
                    host,
                    port,
                    ssl=ssl if tls else None,
                    server_hostname=(sni or host) if tls else None,
                ),
                timeouts.get("connect"),
            )
            connected = True
        except asyncio.TimeoutError:
            raise httpx.ConnectTimeout(f"connecting to {host}:{port} took too long") from None
        except OSError as exc:  # refused, unreachable, DNS, TLS (ssl.SSLError is an OSError)
            raise httpx.ConnectError(str(exc) or type(exc).__name__) from exc
        finally:
            self.connecting -= 1
            if not connected:
                self._wake_one()  # the room this attempt held is free again
        # uvloop may call `connection_made` only on the loop's next turn.
        connection.transport = transport
        self.members.add(connection)
        return connection

    def release(self, connection: _Connection) -> None:
        connection.idle_since = time.monotonic()
        self.idle.setdefault(connection.origin, []).append(connection)
        self._wake_one()

    def forget(self, connection: _Connection) -> None:
        """`connection` closed: its room goes to whoever waits."""
        idle = self.idle.get(connection.origin)
        if idle and connection in idle:
            idle.remove(connection)
        if connection in self.members:
            self.members.discard(connection)
            self._wake_one()

    def _wake_one(self) -> None:
        while self.waiters:
            waiter = self.waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    def close(self) -> None:
        for connection in list(self.members):
            connection.abort()
        self.members.clear()
        self.idle.clear()


class _Body(httpx.AsyncByteStream):
    """A streamed answer: pieces as they arrive; closing it early drops the connection."""

    def __init__(self, connection: _Connection, exchange: _Exchange) -> None:
        self._connection = connection
        self._exchange = exchange
        self._closed = False

    @override
    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for piece in self._connection.pieces(self._exchange):
            yield piece

    @override
    async def aclose(self) -> None:
        if not self._closed:
            self._closed = True
            self._connection.done()


class LeanTransport(httpx.AsyncBaseTransport):
    """An httpx transport over byoc's own HTTP/1.1 connection pool.

    ```python
    limits = httpx.Limits(max_connections=256, keepalive_expiry=30)
    async with httpx.AsyncClient(transport=LeanTransport(limits=limits)) as client:
        await client.get("https://example.com/")
    ```

    `limits.max_connections` caps the open connections (`None`: no cap), `keepalive_expiry` is
    how long an idle one is kept; every idle connection is kept until then.
    """

    def __init__(self, *, limits: httpx.Limits) -> None:
        self.limits = limits
        self._ssl: Any = None
        self._pool: _Pool | None = None

    async def exchange(
        self,
        method: str,
        url: httpx.URL,
        head: bytes,
        body: bytes,
        timeouts: Mapping[str, float | None],
    ) -> Answer:
        """Send a request whose head (request line and headers, `Host` and `Content-Length`
        included, ending in a blank line) is `head`, and read the whole answer."""
        connection, exchange = await self._send(method, url, head, body, False, timeouts, None)
        try:
            content = await connection.read_all(exchange)
        finally:
            connection.done()
        return exchange.status, exchange.headers, content

    @override
    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        timeouts: Mapping[str, float | None] = request.extensions.get("timeout", {})
        head, body, chunked = _request_parts(request)
        sni = request.extensions.get("sni_hostname")
        connection, exchange = await self._send(
            request.method, request.url, head, body, chunked, timeouts, sni
        )
        extensions = {"http_version": b"HTTP/1.1"}
        stream: httpx.AsyncByteStream
        if exchange.complete:
            stream = httpx.ByteStream(b"".join(exchange.pieces))
            connection.done()
        else:
            stream = _Body(connection, exchange)
        return httpx.Response(
            exchange.status,
            headers=exchange.headers,
            stream=stream,
            request=request,
            extensions=extensions,
        )

    async def _send(
        self,
        method: str,
        url: httpx.URL,
        head: bytes,
        body: bytes | AsyncIterator[bytes],
        chunked: bool,
        timeouts: Mapping[str, float | None],
        sni: str | None,
    ) -> tuple[_Connection, _Exchange]:
        """Send on a pooled connection (once more on a new one when a reused connection turns
        out closed, for a method that may be repeated); the answer's headers are in."""
        origin = _origin(url)
        pool = self._pool
        if pool is None:
            expiry = self.limits.keepalive_expiry
            pool = self._pool = _Pool(
                asyncio.get_running_loop(),
                self.limits.max_connections,
                5.0 if expiry is None else expiry,
            )
        if origin[0] == "https" and self._ssl is None:
            self._ssl = httpx.create_ssl_context()
        fresh = False
        while True:
            connection = await pool.acquire(origin, timeouts, self._ssl, sni, fresh=fresh)
            try:
                exchange = await connection.send(
                    head, body, chunked=chunked, timeouts=timeouts, head_only=method == "HEAD"
                )
            except httpx.RemoteProtocolError:
                current = connection.current
                connection.done()
                # A reused connection the server closed just as the request went out: nothing
                # was answered. Only a method that may be repeated is sent again.
                unanswered = current is None or not current.received
                if (
                    connection.reused
                    and unanswered
                    and not fresh
                    and method in _IDEMPOTENT
                    and isinstance(body, bytes)
                ):
                    fresh = True
                    continue
                raise
            except BaseException:
                connection.done()
                raise
            return connection, exchange

    @override
    async def aclose(self) -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool = None


def _origin(url: httpx.URL) -> _Origin:
    scheme = url.scheme
    if scheme not in _DEFAULT_PORTS:
        raise httpx.UnsupportedProtocol(f"cannot send to {scheme or 'a relative'!r} URL: {url}")
    return scheme, url.host, url.port or _DEFAULT_PORTS[scheme]


def _request_parts(
    request: httpx.Request,
) -> tuple[bytes, bytes | AsyncIterator[bytes], bool]:
    """The head, the body and whether the body is sent chunked."""
    url = request.url
    lines = [b"%s %s HTTP/1.1\r\n" % (request.method.encode("ascii"), url.raw_path)]
    chunked = False
    for name, value in request.headers.raw:
        if b"\r" in value or b"\n" in value or b"\r" in name or b"\n" in name:
            raise httpx.LocalProtocolError(f"illegal header {name!r}: it holds a line break")
        if name.lower() == b"transfer-encoding":
            chunked = b"chunked" in value.lower()
        lines.append(b"%s: %s\r\n" % (name, value))
    lines.append(b"\r\n")
    head = b"".join(lines)
    body: bytes | AsyncIterator[bytes]
    try:
        body = request.content
    except httpx.RequestNotRead:
        assert isinstance(request.stream, httpx.AsyncByteStream)
        body = request.stream.__aiter__()
    return head, body, chunked
