"""Read timeouts and a connection cap for `byoc serve`, on either of uvicorn's HTTP parsers.

uvicorn closes a connection idle between requests (its keep-alive timeout) but waits forever
for a request's head or body: 1,100 connections that send nothing hold 1,100 descriptors, and
at the file limit `accept()` fails for everyone, `/healthz` included. `guarded_protocol`
subclasses uvicorn's protocol (httptools or h11) so that each connection is held to:

- **the header timeout**: a request's head (request line and headers) must arrive within
  `header_timeout` seconds of the connection opening, or of the first byte of a following
  request on a kept-alive connection. Else the connection is closed, with a 408 when part of
  a request line came.
- **the body timeout**: while a request's body is read, the client may pause at most
  `body_timeout` seconds between two chunks. Time during which uvicorn stopped reading
  because the app has not taken the body yet does not count against the client.
- **the connection cap**: at `max_connections` open connections, a new one closes the
  connection that has waited longest without sending a byte (idle ones are the cheapest to
  lose, and a real peer sends its request at once); with none such, the newcomer gets a 503.

uvicorn's `limit_concurrency` does not do this: it counts connections only when a request
arrives, answering that request 503, so idle connections still hold their descriptors.

The waits are checked by one timer per connection, armed lazily and re-armed from the state
uvicorn's protocol keeps (`cycle`, `flow`), so a request costs no extra timer on its way.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import attrs

from .refusals import RefusalLog

__all__ = ["ConnectionGuard", "ConnectionLimits", "guarded_protocol"]

log = logging.getLogger("byoc.connections")

_TIMED_OUT = (
    b"HTTP/1.1 408 Request Timeout\r\ncontent-type: text/plain; charset=utf-8\r\n"
    b"content-length: 29\r\nconnection: close\r\n\r\nthe request came too slowly.\n"
)
_BUSY = (
    b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain; charset=utf-8\r\n"
    b"retry-after: 1\r\ncontent-length: 33\r\nconnection: close\r\n\r\n"
    b"too many connections; try again.\n"
)


@attrs.frozen(kw_only=True)
class ConnectionLimits:
    """What each connection is held to (seconds; a count of connections)."""

    header_timeout: float
    body_timeout: float
    max_connections: int


class ConnectionGuard:
    """The state the connections of one server share: the limits, the connections that have
    not sent a byte yet (oldest first), and the log of refusals."""

    def __init__(self, limits: ConnectionLimits, refusals: RefusalLog) -> None:
        self.limits = limits
        self.refusals = refusals
        # A dict keeps insertion order: the first key is the longest-waiting silent connection.
        self.silent: dict[_Guarded, None] = {}

    def admit(self, newcomer: _Guarded) -> bool:
        """Make room for `newcomer` under the cap; False when it must be turned away."""
        if len(newcomer.connections) < self.limits.max_connections:
            return True
        cause = f"connection cap {self.limits.max_connections} reached"
        advice = (
            "connections that sent nothing are closed first; raise BYOC_MAX_CONNECTIONS "
            "(and the file limit) if real peers are turned away"
        )
        self.refusals.note(cause, advice)
        if self.silent:
            oldest = next(iter(self.silent))
            del self.silent[oldest]
            oldest.transport.close()
            return True
        return False


class _Guarded(asyncio.Protocol):
    """Mixed in before uvicorn's protocol class; reads the state it keeps."""

    guard: ConnectionGuard
    # Set by uvicorn's protocol classes (both keep the same names).
    loop: asyncio.AbstractEventLoop
    transport: asyncio.Transport
    connections: set[Any]
    cycle: Any
    flow: Any

    _timer: asyncio.TimerHandle | None = None
    _timer_at = 0.0
    _head_since: float | None = None
    """When the wait for the current request's head began; None while no head is awaited."""
    _head_begun = False
    _last_read = 0.0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        admitted = self.guard.admit(self)
        super().connection_made(transport)
        if not admitted:
            self.transport.write(_BUSY)
            self.transport.close()
            return
        self.guard.silent[self] = None
        self._head_since = self._last_read = self.loop.time()
        self._watch()

    def data_received(self, data: bytes) -> None:
        now = self._last_read = self.loop.time()
        if self._head_since is None and self._awaiting_head():
            self._head_since = now
        self._head_begun = True
        self.guard.silent.pop(self, None)
        super().data_received(data)
        if not self._awaiting_head():
            self._head_since = None
            self._head_begun = False
        self._watch()

    def connection_lost(self, exc: Exception | None) -> None:
        self.guard.silent.pop(self, None)
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        super().connection_lost(exc)

    def _awaiting_head(self) -> bool:
        cycle = self.cycle
        return cycle is None or bool(cycle.response_complete)

    def _app_behind(self) -> bool:
        """Whether the body waits on the app rather than on the client: uvicorn stopped reading
        until the app takes what came, or the client waits for the `100 Continue` that uvicorn
        sends once the app asks for the body."""
        return bool(self.flow.read_paused or self.cycle.waiting_for_100_continue)

    def _deadline(self) -> float | None:
        """When the wait in progress runs out; None when nothing is awaited from the client."""
        limits = self.guard.limits
        if self._awaiting_head():
            # None between requests of a kept-alive connection: uvicorn's keep-alive timer.
            return None if self._head_since is None else self._head_since + limits.header_timeout
        if self.cycle.more_body:
            return self._last_read + limits.body_timeout
        return None  # the app is answering

    def _watch(self) -> None:
        deadline = self._deadline()
        if deadline is None:
            return
        if self._timer is not None:
            if self._timer_at <= deadline:
                return
            self._timer.cancel()
        self._timer_at = deadline
        self._timer = self.loop.call_at(deadline, self._check)

    def _check(self) -> None:
        self._timer = None
        transport = self.transport
        # After a WebSocket upgrade the connection belongs to another protocol.
        if transport.is_closing() or transport.get_protocol() is not self:
            return
        if not self._awaiting_head() and self.cycle.more_body and self._app_behind():
            self._last_read = self.loop.time()
        deadline = self._deadline()
        if deadline is None:
            return
        if deadline > self.loop.time():
            self._watch()
            return
        if self._awaiting_head() and self._head_begun:
            transport.write(_TIMED_OUT)
        # The app, if it was reading the body, receives http.disconnect.
        transport.close()


def guarded_protocol(parser: str, guard: ConnectionGuard) -> type[asyncio.Protocol]:
    """uvicorn's protocol class for `parser` ("httptools" or "h11"), held to `guard`'s limits.

    Pass it to `uvicorn.Config(http=...)`.
    """
    base: type[asyncio.Protocol]
    if parser == "httptools":
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

        base = HttpToolsProtocol
    elif parser == "h11":
        from uvicorn.protocols.http.h11_impl import H11Protocol

        base = H11Protocol
    else:
        raise ValueError(f"unknown HTTP parser {parser!r}: httptools or h11")
    return type(f"Guarded{base.__name__}", (_Guarded, base), {"guard": guard})
