"""`VirtualNetwork`: several ASGI apps reachable by host name, in one process.

The bridge, the Freshchat emulator and channel emulators call each other over HTTP with their
real wire formats; in tests, the demo and benchmarks they can do so without sockets:

```python
net = VirtualNetwork()
net.add("freshchat.test", freshchat.app)
net.add("bridge.test", bridge)
http = net.client()                      # an httpx.AsyncClient that reaches both by URL
await http.post("http://bridge.test/channels/viber/webhook", content=body, headers=headers)
```

An unknown host raises `httpx.ConnectError`, as a real network would.
"""

from __future__ import annotations

import httpx

from ..asgi import ASGIApp

__all__ = ["VirtualNetwork"]


class VirtualNetwork(httpx.AsyncBaseTransport):
    """An httpx transport that routes each request to the app registered for its host."""

    def __init__(self) -> None:
        self._hosts: dict[str, httpx.ASGITransport] = {}

    def add(self, host: str, app: ASGIApp) -> None:
        """Serve `app` at `http://<host>/` (and https)."""
        self._hosts[host.lower()] = httpx.ASGITransport(app=app)

    def remove(self, host: str) -> None:
        """Take a host off the network: requests to it fail to connect."""
        self._hosts.pop(host.lower(), None)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        transport = self._hosts.get(request.url.host.lower())
        if transport is None:
            raise httpx.ConnectError(
                f"no host {request.url.host!r} on the virtual network", request=request
            )
        return await transport.handle_async_request(request)

    def client(self, **kwargs: object) -> httpx.AsyncClient:
        """An httpx client on this network (keyword arguments go to `httpx.AsyncClient`)."""
        return httpx.AsyncClient(transport=self, **kwargs)  # type: ignore[arg-type]
