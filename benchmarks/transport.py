"""HTTP transports under httpx: `python benchmarks/transport.py [--requests N]`.

The bridge's outbound calls (Freshchat, Viber) go through an `httpx.AsyncClient`. This prints
requests per second of httpx's own transport and of `httpx_aiohttp.HttpxAiohttpClient` (the
`fast` extra), one request at a time and with 32 in flight (the bridge's default number of
delivery workers), each POSTing a small JSON message to a local uvicorn server.

The server runs in a process of its own so that the client's cost is what differs; it answers
at once, so the numbers are the transports' overhead, not a help desk's latency.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import subprocess
import sys
import time
from collections.abc import Callable

import httpx

_SERVER = """
import uvicorn

async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    while (await receive()).get("more_body"):
        pass
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": b'{"id":"1"}'})

uvicorn.run(app, host="127.0.0.1", port=int(__import__("sys").argv[1]),
            log_level="warning", access_log=False, lifespan="off")
"""

BODY = json.dumps({"message_parts": [{"text": {"content": "안녕하세요 👋"}}]}).encode()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def wait_until_up(url: str, attempts: int = 200) -> None:
    async with httpx.AsyncClient() as client:
        for _ in range(attempts):
            try:
                await client.post(url, content=b"{}")
                return
            except httpx.TransportError:
                await asyncio.sleep(0.05)
    raise RuntimeError("the benchmark server did not start")


async def rate(client: httpx.AsyncClient, url: str, requests: int, in_flight: int) -> float:
    gate = asyncio.Semaphore(in_flight)

    async def one() -> None:
        async with gate:
            response = await client.post(
                url, content=BODY, headers={"content-type": "application/json"}
            )
            response.raise_for_status()

    started = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(requests)))
    return requests / (time.perf_counter() - started)


async def measure(url: str, requests: int) -> None:
    from httpx_aiohttp import HttpxAiohttpClient

    clients: dict[str, Callable[[], httpx.AsyncClient]] = {
        "httpx": lambda: httpx.AsyncClient(timeout=15.0),
        "httpx-aiohttp": lambda: HttpxAiohttpClient(timeout=15.0),
    }
    for in_flight in (1, 32):
        for name, make in clients.items():
            async with make() as client:
                await rate(client, url, min(requests, 200), in_flight)  # warm up the pool
                best = max([await rate(client, url, requests, in_flight) for _ in range(3)])
            print(f"{name:<14} {in_flight:>2} in flight  {best:>8.0f} requests/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000, help="requests per measurement")
    args = parser.parse_args()
    port = free_port()
    server = subprocess.Popen([sys.executable, "-c", _SERVER, str(port)])
    try:
        url = f"http://127.0.0.1:{port}/v2/conversations/1/messages"
        asyncio.run(wait_until_up(url))
        asyncio.run(measure(url, args.requests))
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
