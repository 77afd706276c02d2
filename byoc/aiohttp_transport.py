"""httpx-aiohttp's transport, with the session and the error mapping byoc needs.

Importing this module needs the `fast` extra (`pip install 'byoc[fast]'`); `byoc.transport`
imports it only when it is installed and chosen.

`httpx_aiohttp.AiohttpTransport` lets httpx stay the API while aiohttp moves the bytes. byoc
keeps its construction (TLS context, limits, closing) and sends requests itself, because four
things in it are not fit for byoc as they ship:

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
- **Cost per request.** Its headers reach aiohttp through httpx's `Headers.items()`, which
  works out the headers' encoding again for every header; a timeout object is built per
  request; and every answer is read through three nested stream wrappers. Here headers are
  decoded once, timeouts are made once per setting, and an answer that declares at most 64 KiB
  (every API answer byoc reads) is read at once; longer or unsized answers still stream.

The transport creates its session on first use, inside the running event loop, and closes it in
`aclose()`: closing the `httpx.AsyncClient` that owns it is enough for no "Unclosed client
session" warning to escape.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from typing import Any

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
    """Re-raise aiohttp's errors as the ones httpx's own transport raises."""
    try:
        yield
    except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
        mapped = httpx_error_for(exc)
        if mapped is None:
            raise
        raise mapped from exc


class _ResponseStream(httpx.AsyncByteStream):
    """A response body read from aiohttp as it arrives, with errors mapped as above."""

    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self._response = response

    @override
    async def __aiter__(self) -> AsyncIterator[bytes]:
        with _httpx_errors():
            async for chunk in self._response.content.iter_chunked(_PIECE):
                yield chunk

    @override
    async def aclose(self) -> None:
        with _httpx_errors():
            await self._response.__aexit__(None, None, None)


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
        self._timeouts: dict[tuple[float | None, ...], aiohttp.ClientTimeout] = {}

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
        timeouts: Mapping[str, float | None] = request.extensions.get("timeout", {})
        write_timeout = timeouts.get("write")
        with _httpx_errors():
            if write_timeout is not None and not _fits_in_socket_buffers(request):
                return await self._send_watched(request, write_timeout, timeouts)
            data: bytes | httpx.AsyncByteStream | None
            try:
                data = request.content or None
            except httpx.RequestNotRead:
                assert isinstance(request.stream, httpx.AsyncByteStream)
                data = request.stream
            return await self._send(request, data, timeouts)

    async def _send(
        self,
        request: httpx.Request,
        data: bytes | httpx.AsyncByteStream | None,
        timeouts: Mapping[str, float | None],
    ) -> httpx.Response:
        if not isinstance(self.client, aiohttp.ClientSession):
            self.client = self.get_client()
        encoding = request.headers.encoding
        # aiohttp frames a streamed body itself (by its Content-Length, or chunked).
        skip = b"transfer-encoding" if isinstance(data, httpx.AsyncByteStream) else None
        headers = [
            (k.decode(encoding), v.decode(encoding))
            for k, v in request.headers.raw
            if k.lower() != skip
        ]
        response = await self.client.request(
            request.method,
            str(request.url),
            headers=headers,
            data=data,
            allow_redirects=False,
            # httpx decodes the body itself, as its own transport leaves it to.
            auto_decompress=False,
            compress=False,
            timeout=self._timeout(timeouts),
            server_hostname=request.extensions.get("sni_hostname"),
        )
        extensions: dict[str, Any] = {"http_version": b"HTTP/1.1"}
        if response.reason:
            extensions["reason_phrase"] = response.reason.encode()
        stream: httpx.AsyncByteStream
        if response.content_length is not None and response.content_length <= _PIECE:
            stream = httpx.ByteStream(await response.read())
        else:
            stream = _ResponseStream(response)
        return httpx.Response(
            status_code=response.status,
            headers=response.raw_headers,
            stream=stream,
            request=request,
            extensions=extensions,
        )

    def _timeout(self, timeouts: Mapping[str, float | None]) -> aiohttp.ClientTimeout:
        """aiohttp's timeout for httpx's, made once per setting: clients rarely change it.

        httpx's "pool" timeout becomes aiohttp's "connect", which covers the wait for a free
        pooled connection as well as connecting.
        """
        key = (timeouts.get("connect"), timeouts.get("read"), timeouts.get("pool"))
        found = self._timeouts.get(key)
        if found is None:
            if len(self._timeouts) > 64:
                self._timeouts.clear()
            found = self._timeouts[key] = aiohttp.ClientTimeout(
                sock_connect=key[0], sock_read=key[1], connect=key[2]
            )
        return found

    async def _send_watched(
        self, request: httpx.Request, write_timeout: float, timeouts: Mapping[str, float | None]
    ) -> httpx.Response:
        assert isinstance(request.stream, httpx.AsyncByteStream)
        watchdog = _WriteWatchdog(write_timeout)
        body = _WatchedBody(request.stream, on_progress=watchdog.progress, on_done=watchdog.stop)
        try:
            return await self._send(request, body, timeouts)
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
