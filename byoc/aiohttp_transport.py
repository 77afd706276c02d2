"""httpx-aiohttp's transport, with the session and the error mapping byoc needs.

Importing this module needs the `fast` extra (`pip install 'byoc[fast]'`); `byoc.transport`
imports it only when it is installed and chosen.

`httpx_aiohttp.AiohttpTransport` lets httpx stay the API while aiohttp moves the bytes. Three
things in it are not fit for byoc as they ship, so this module adjusts them:

- **Errors.** Its exception map turns a refused connection and a server that hangs up without
  answering into `httpx.ConnectTimeout`: a timeout rather than a failure to connect, and for
  the hang-up, "never connected" about a request the server may already have acted on. byoc's
  client error mapping relies on httpx's classes, so every aiohttp error is mapped again here
  to the class httpx's own transport raises in the same situation, for the request and for
  reading the response body.
- **Session.** Its default `ClientSession` keeps a cookie jar of its own beside httpx's (cookies
  would be sent twice) and never reads proxy settings from the environment. The session built
  here has no jar, and trusts the environment only when a proxy variable is set: aiohttp then
  looks the proxy up in a worker thread on every request, a cost not worth paying without one.
- **Write timeout.** aiohttp has none: a peer that stops reading an upload (or a network path
  that drops it) stalls the request until TCP gives up, minutes later, where httpx's transport
  raises `httpx.WriteTimeout`. A body small enough to fit in the socket's buffers is sent as
  is, since writing it cannot stall (the read timeout then bounds the wait for an answer); a
  larger or streamed body is fed to aiohttp in pieces, and a watchdog raises
  `httpx.WriteTimeout` when aiohttp has not taken the next piece within the write timeout.
  (Pieces also spare aiohttp's "large body directly with raw bytes" `ResourceWarning`, which
  it gives for a body over 1 MiB passed as one `bytes`.)

The transport creates its session on first use, inside the running event loop, and closes it in
`aclose()`: closing the `httpx.AsyncClient` that owns it is enough for no "Unclosed client
session" warning to escape.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from collections.abc import AsyncIterator, Callable, Iterator

import aiohttp
import httpx
from httpx_aiohttp import AiohttpTransport
from typing_extensions import override

__all__ = ["ByocAiohttpTransport", "httpx_error_for"]

# Most specific first: the first row the aiohttp error is an instance of wins. Each target is the
# class httpx's own transport raises in the same situation.
_ERROR_MAP: tuple[tuple[type[BaseException], type[httpx.TransportError]], ...] = (
    # `ConnectionTimeoutError` also covers waiting for a free pooled connection (httpx's "pool"
    # timeout is passed to aiohttp as its "connect" timeout): either way nothing was sent.
    (aiohttp.ConnectionTimeoutError, httpx.ConnectTimeout),
    (aiohttp.SocketTimeoutError, httpx.ReadTimeout),
    (aiohttp.ServerTimeoutError, httpx.ReadTimeout),
    (aiohttp.ClientProxyConnectionError, httpx.ProxyError),
    (aiohttp.ClientHttpProxyError, httpx.ProxyError),
    # Refused, unreachable, DNS failure, TLS handshake or certificate failure.
    (aiohttp.ClientConnectorError, httpx.ConnectError),
    (aiohttp.ServerFingerprintMismatch, httpx.ConnectError),
    (aiohttp.ServerDisconnectedError, httpx.RemoteProtocolError),
    # A body shorter than its Content-Length, or broken chunked framing.
    (aiohttp.ClientPayloadError, httpx.RemoteProtocolError),
    (aiohttp.NonHttpUrlClientError, httpx.UnsupportedProtocol),
    (aiohttp.InvalidUrlClientError, httpx.UnsupportedProtocol),
    # A reset or broken pipe mid-exchange: aiohttp does not say whether it was reading or writing.
    (aiohttp.ClientConnectionError, httpx.NetworkError),
    (aiohttp.ClientError, httpx.TransportError),
    (asyncio.TimeoutError, httpx.TimeoutException),
)

_PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy", "ws_proxy", "wss_proxy")

# asyncio's transports start making writers wait (drain) only past 64 KiB of unsent data, so a body
# up to this size is handed over at once whatever the peer does. Bigger bodies go in pieces of
# this size, each of which must be taken within the write timeout.
_PIECE = 64 * 1024


def httpx_error_for(error: BaseException) -> httpx.TransportError | None:
    """The httpx error matching an aiohttp `error`, or `None` when it is not an aiohttp error."""
    for aiohttp_class, httpx_class in _ERROR_MAP:
        if isinstance(error, aiohttp_class):
            return httpx_class(str(error) or type(error).__name__)
    return None


@contextlib.contextmanager
def _httpx_errors() -> Iterator[None]:
    """Re-raise aiohttp errors, whether raw or already (mis)mapped upstream, as httpx's own."""
    try:
        yield
    except (httpx.TransportError, aiohttp.ClientError, asyncio.TimeoutError) as exc:
        origin = exc.__cause__ if isinstance(exc, httpx.TransportError) else exc
        mapped = None if origin is None else httpx_error_for(origin)
        if mapped is None:
            raise
        raise mapped from origin


class _ResponseStream(httpx.AsyncByteStream):
    """The upstream response stream, with errors while reading the body mapped as above."""

    def __init__(self, inner: httpx.AsyncByteStream) -> None:
        self._inner = inner

    @override
    async def __aiter__(self) -> AsyncIterator[bytes]:
        with _httpx_errors():
            async for chunk in self._inner:
                yield chunk

    @override
    async def aclose(self) -> None:
        with _httpx_errors():
            await self._inner.aclose()


class _WatchedBody(httpx.AsyncByteStream):
    """A request body in pieces of at most `_PIECE` bytes, reporting each one aiohttp takes."""

    def __init__(
        self,
        inner: httpx.AsyncByteStream,
        *,
        on_progress: Callable[[], None],
        on_done: Callable[[], None],
    ) -> None:
        self._inner = inner
        self._on_progress = on_progress
        self._on_done = on_done

    @override
    async def __aiter__(self) -> AsyncIterator[bytes]:
        # aiohttp asks for the next piece only once it has written the previous one.
        async for chunk in self._inner:
            for start in range(0, len(chunk), _PIECE):
                self._on_progress()
                yield chunk[start : start + _PIECE]
        self._on_done()


class _WriteWatchdog:
    """Cancels the current task when the body makes no progress for `timeout` seconds."""

    def __init__(self, timeout: float) -> None:
        self._timeout = timeout
        self._loop = asyncio.get_running_loop()
        self._task = asyncio.current_task()
        self._handle: asyncio.TimerHandle | None = None
        self._closed = False
        self.fired = False

    @property
    def armed(self) -> bool:
        return self._handle is not None

    def progress(self) -> None:
        self.stop()
        # aiohttp may go on writing the body after the request has returned (the peer answered
        # early); by then the task is no longer this request's to cancel.
        if not self._closed:
            self._handle = self._loop.call_later(self._timeout, self._fire)

    def stop(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def close(self) -> None:
        """Stop for good: later progress arms nothing."""
        self._closed = True
        self.stop()

    def _fire(self) -> None:
        self.fired = True
        if self._task is not None:
            self._task.cancel()

    def swallow_own_cancel(self) -> None:
        """Undo the cancellation this watchdog asked for, so it does not count as an outer one."""
        if sys.version_info >= (3, 11) and self._task is not None:
            self._task.uncancel()


def _fits_in_socket_buffers(request: httpx.Request) -> bool:
    try:
        return len(request.content) <= _PIECE
    except httpx.RequestNotRead:
        return False


def _proxy_in_environment() -> bool:
    return any(os.environ.get(name) or os.environ.get(name.upper()) for name in _PROXY_VARIABLES)


class ByocAiohttpTransport(AiohttpTransport):
    """An httpx transport over one aiohttp `ClientSession`, created on first use.

    ```python
    limits = httpx.Limits(max_connections=100, max_keepalive_connections=100)
    async with httpx.AsyncClient(transport=ByocAiohttpTransport(limits=limits)) as client:
        await client.get("https://example.com/")
    ```

    `limits.max_connections` caps the open connections (`None`: no cap) and
    `limits.keepalive_expiry` is how long an idle one is kept; aiohttp keeps every idle
    connection, so `max_keepalive_connections` has no equivalent here.
    """

    def __init__(self, *, limits: httpx.Limits) -> None:
        super().__init__(limits=limits, client=self._new_session)

    def _new_session(self) -> aiohttp.ClientSession:
        max_connections = self.limits.max_connections
        connector = aiohttp.TCPConnector(
            # aiohttp reads 0 as "no cap".
            limit=0 if max_connections is None else max_connections,
            keepalive_timeout=self.limits.keepalive_expiry,
            ssl=self.ssl_context,
        )
        return aiohttp.ClientSession(
            connector=connector,
            cookie_jar=aiohttp.DummyCookieJar(),
            trust_env=_proxy_in_environment(),
        )

    @override
    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        write_timeout = request.extensions.get("timeout", {}).get("write")
        with _httpx_errors():
            if write_timeout is None or _fits_in_socket_buffers(request):
                response = await super().handle_async_request(request)
            else:
                response = await self._send_watched(request, write_timeout)
        assert isinstance(response.stream, httpx.AsyncByteStream)
        response.stream = _ResponseStream(response.stream)
        return response

    async def _send_watched(self, request: httpx.Request, write_timeout: float) -> httpx.Response:
        assert isinstance(request.stream, httpx.AsyncByteStream)
        watchdog = _WriteWatchdog(write_timeout)
        body = _WatchedBody(request.stream, on_progress=watchdog.progress, on_done=watchdog.stop)
        # Same request, but with a body upstream cannot read ahead of time, so that it goes
        # to aiohttp piece by piece.
        watched = httpx.Request(
            request.method,
            request.url,
            headers=request.headers,
            stream=body,
            extensions=request.extensions,
        )
        try:
            return await super().handle_async_request(watched)
        except asyncio.CancelledError:
            if not watchdog.fired:
                raise
            watchdog.swallow_own_cancel()
            raise httpx.WriteTimeout(
                f"the peer took no more of the request body for {write_timeout} s"
            ) from None
        finally:
            watchdog.close()

    @override
    async def aclose(self) -> None:
        with _httpx_errors():
            await super().aclose()
