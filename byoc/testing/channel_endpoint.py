"""`ChannelEndpoint`: a channel's webhook route, without a bridge behind it.

What the bridge's HTTP surface does with a channel's webhook, and nothing more: build the
`WebhookRequest` (`subpath` included), `parse`, then answer `ack`, or the status a
`RequestError` carries. It lets a channel be driven over HTTP by its messenger's emulator
(Viber calls the URL back while registering it; Open Builder calls it as a skill) in tests and
in the conformance kit:

```python
endpoint = ChannelEndpoint(channel)
network.add("bridge.test", endpoint)      # http://bridge.test/channels/<name>/webhook[/...]
...
await endpoint.wait_for_events(1)
```
"""

from __future__ import annotations

import asyncio
import json

from ..asgi import Receive, Scope, Send, query_params, read_body, request_headers, send_response
from ..channel import Channel
from ..errors import RequestError
from ..models import ChannelEvent
from ..webhook import WebhookRequest

__all__ = ["ChannelEndpoint"]


class ChannelEndpoint:
    """`POST /channels/<channel.name>/webhook[/<subpath>]` → `channel.parse`, then `ack`.

    `events` and `requests` record what came; `fail_next` holds statuses to answer instead,
    one per call, as a bridge that is down would.
    """

    def __init__(self, channel: Channel) -> None:
        self.channel = channel
        self.events: list[ChannelEvent] = []
        self.requests: list[WebhookRequest] = []
        self.statuses: list[int] = []
        self.fail_next: list[int] = []
        self._arrived = asyncio.Condition()

    async def wait_for_events(self, count: int) -> list[ChannelEvent]:
        """Wait until `count` events arrived (for callers that cannot drain the sender)."""
        async with self._arrived:
            await self._arrived.wait_for(lambda: len(self.events) >= count)
        return self.events

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        prefix = f"/channels/{self.channel.name}/webhook"
        path: str = scope["path"]
        if path != prefix and not path.startswith(prefix + "/"):
            await self._answer(send, 404, {"error": f"no route {path}"})
            return
        request = WebhookRequest(
            body=await read_body(receive),
            headers=request_headers(scope),
            method=scope["method"],
            path=path,
            query=query_params(scope),
            subpath=path[len(prefix) :].strip("/"),
        )
        self.requests.append(request)
        if self.fail_next:
            await self._answer(send, self.fail_next.pop(0), {"error": "down"})
            return
        try:
            events = await self.channel.parse(request)
        except RequestError as exc:
            await self._answer(send, exc.status_code, {"error": type(exc).__name__})
            return
        async with self._arrived:
            self.events.extend(events)
            self._arrived.notify_all()
        answer = await self.channel.ack(request, events)
        self.statuses.append(answer.status)
        await send_response(
            send,
            answer.status,
            answer.body,
            content_type=answer.content_type,
            headers=answer.headers,
        )

    async def _answer(self, send: Send, status: int, body: object) -> None:
        self.statuses.append(status)
        await send_response(send, status, json.dumps(body).encode())
