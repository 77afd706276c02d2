"""`HttpClientSlot`: the HTTP client a plugin was given, or one it makes, and who closes it.

Every plugin takes an optional `http: httpx.AsyncClient` (tests pass one on a
`VirtualNetwork`, an application its own pooled client) and otherwise makes one. A client
that was given stays its owner's to close; one made here is made on first use (building one
loads the CA bundle, which takes a while) and closed by `aclose`:

```python
class MyChatChannel(Channel):
    def __init__(self, *, token: str, http: httpx.AsyncClient | None = None) -> None:
        self._http = HttpClientSlot(http, timeout=15.0)

    async def send(self, user_id: str, message: OutboundMessage) -> SendResult:
        response = await self._http.client.post(...)
        ...

    async def aclose(self) -> None:
        await self._http.aclose()
```
"""

from __future__ import annotations

from collections.abc import Callable

import httpx

from .transport import default_http_client

__all__ = ["MAX_CONNECTIONS", "HttpClientSlot"]

MAX_CONNECTIONS = 256
"""Connections a client made here may open at once: as many as the dispatcher delivers at once
by default (`byoc.delivery.DEFAULT_CONCURRENCY`, a layer above), so that deliveries in flight
do not queue for a connection."""


class HttpClientSlot:
    """Holds a given `httpx.AsyncClient`, or makes one on first use with `factory`.

    `factory` defaults to `byoc.transport.default_http_client` with `timeout` seconds and
    `MAX_CONNECTIONS` connections.
    """

    def __init__(
        self,
        given: httpx.AsyncClient | None = None,
        *,
        timeout: float = 15.0,
        factory: Callable[[], httpx.AsyncClient] | None = None,
    ) -> None:
        self._given = given
        self._made: httpx.AsyncClient | None = None
        self._factory = factory or (
            lambda: default_http_client(timeout=timeout, max_connections=MAX_CONNECTIONS)
        )

    @property
    def client(self) -> httpx.AsyncClient:
        """The given client, else the one made here (made now if need be)."""
        if self._given is not None:
            return self._given
        if self._made is None:
            self._made = self._factory()
        return self._made

    @property
    def owned(self) -> bool:
        """True when the client is (or will be) made, and closed, here."""
        return self._given is None

    def replace(self, given: httpx.AsyncClient | None) -> None:
        """Use `given` from now on (None: make one when needed); a client made before is kept
        until `aclose`."""
        self._given = given

    async def aclose(self) -> None:
        """Close the client made here, if any; a given one is left to its owner. Using the
        client made here after this fails as httpx does for a closed client."""
        if self._made is not None:
            await self._made.aclose()
