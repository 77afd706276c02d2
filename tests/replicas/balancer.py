"""A load balancer in front of the bridge replicas, as its own process.

python -m tests.replicas.balancer --port P --backend URL [--backend URL ...]

It forwards each request's exact bytes and headers. Modes (`PUT /_balancer {"mode": ...}`):

- `round-robin`: each request to the next replica that is up; a replica that refuses the
  connection is marked down and the request goes to the next one (what a balancer with
  passive health checks does), so the sender sees one answer;
- `both`: each request to every replica at once (a webhook redelivered to two replicas); the
  answer is the first replica's.

`GET /_balancer` answers `{"mode", "down", "answered"}`: which replicas are down, and how many
requests each answered with which status.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from collections import Counter
from typing import Any

import httpx
import uvicorn

from byoc.asgi import Receive, Scope, Send, read_body, send_response

_HOP_HEADERS = {"host", "content-length", "connection", "transfer-encoding"}


class Balancer:
    def __init__(self, backends: list[str]) -> None:
        self.backends = backends
        self.mode = "round-robin"
        self.down: set[str] = set()
        self.answered: Counter[str] = Counter()
        self._next = 0
        self._http = httpx.AsyncClient(timeout=60)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await self._http.aclose()
            await send({"type": "lifespan.shutdown.complete"})
            return
        body = await read_body(receive, 10 * 1024 * 1024)
        if scope["path"] == "/_balancer":
            if scope["method"] == "PUT":
                self.mode = json.loads(body)["mode"]
            state = {"mode": self.mode, "down": sorted(self.down), "answered": self.answered}
            await send_response(send, 200, json.dumps(state).encode())
            return
        headers = [
            (k.decode("latin-1"), v.decode("latin-1"))
            for k, v in scope["headers"]
            if k.decode("latin-1").lower() not in _HOP_HEADERS
        ]
        query = scope.get("query_string", b"").decode()
        path = scope["path"] + (f"?{query}" if query else "")
        request = (scope["method"], path, headers, body)
        if self.mode == "both":
            answers = await asyncio.gather(
                *(self._forward(backend, *request) for backend in self._up()),
                return_exceptions=True,
            )
            answer = next((a for a in answers if isinstance(a, httpx.Response)), None)
        else:
            answer = await self._round_robin(*request)
        if answer is None:
            await send_response(send, 502, b'{"error": "no replica answered"}')
            return
        await send_response(
            send,
            answer.status_code,
            answer.content,
            content_type=answer.headers.get("content-type", "application/json"),
        )

    def _up(self) -> list[str]:
        return [b for b in self.backends if b not in self.down]

    async def _round_robin(self, *request: Any) -> httpx.Response | None:
        for _ in range(len(self.backends)):
            backend = self.backends[self._next % len(self.backends)]
            self._next += 1
            if backend in self.down:
                continue
            try:
                return await self._forward(backend, *request)
            except httpx.TransportError:
                self.down.add(backend)
        return None

    async def _forward(
        self, backend: str, method: str, path: str, headers: list[tuple[str, str]], body: bytes
    ) -> httpx.Response:
        response = await self._http.request(method, backend + path, headers=headers, content=body)
        self.answered[f"{backend} {response.status_code}"] += 1
        return response


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--backend", action="append", required=True)
    args = parser.parse_args()
    uvicorn.run(Balancer(args.backend), host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
