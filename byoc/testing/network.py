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

An unknown host raises `httpx.ConnectError`, and an answer slower than the client's read
timeout `httpx.ReadTimeout`, as a real network would.
"""

from __future__ import annotations

import asyncio

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
        # ASGITransport ignores timeouts; a real network would not, so enforce the read timeout
        # over the whole exchange (the app keeps running, as a server would).
        timeout = request.extensions.get("timeout", {}).get("read")
        if timeout is None:
            return await transport.handle_async_request(request)
        task = asyncio.ensure_future(transport.handle_async_request(request))
        done, _ = await asyncio.wait({task}, timeout=timeout)
        if not done:
            task.add_done_callback(_discard)
            raise httpx.ReadTimeout(
                f"no answer from {request.url.host} within {timeout}s", request=request
            )
        return task.result()

    def client(self, **kwargs: object) -> httpx.AsyncClient:
        """An httpx client on this network (keyword arguments go to `httpx.AsyncClient`)."""
        return httpx.AsyncClient(transport=self, **kwargs)  # type: ignore[arg-type]


def _discard(task: asyncio.Future[httpx.Response]) -> None:
    # The caller gave up; the answer (or error) that comes later goes nowhere.
    if not task.cancelled():
        task.exception()
