"""Measure the HTTP transports byoc can put under httpx, against raw aiohttp as the ceiling.

```
python benchmarks/transport.py [--requests 4000] [--concurrency 32] [--rounds 3]
                               [--server uvicorn|asyncio]
```

A local server runs in a subprocess and answers a small JSON POST, the shape of one Freshchat or
Viber call: uvicorn (httptools when installed, else h11) by default, or with `--server asyncio`
a minimal HTTP/1.1 responder that does so little per request that the clients, not the server,
set the pace. Each client sends `--requests` of them with `--concurrency` in flight, after a
warm-up that opens its connections; every answer is checked. The clients take turns, `--rounds`
times, and the round with the median rate is reported for each. Numbers are only comparable
within one run: the server shares the machine with the client.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from byoc.transport import Endpoint, default_http_client, transport_name  # noqa: E402

PAYLOAD = {
    "messages": [
        {
            "message_parts": [
                {"text": {"content": "안녕하세요, 주문 #1234 배송은 언제 되나요? 🙏"}}
            ],
            "actor_type": "user",
            "actor_id": "6b1c5d4e-0f0a-4c8e-9a59-3e0f6d3c2a11",
        }
    ],
    "channel_id": "0f3d6c7e-5b2a-4d1e-8f9a-1c2b3d4e5f60",
}
BODY = json.dumps(PAYLOAD, ensure_ascii=False).encode()
ANSWER = b'{"id":"m-1","created_time":"2024-05-01T10:00:00.000Z"}'

Send = Callable[[], Awaitable[bytes]]
CEILING = "aiohttp ClientSession (ceiling)"


@dataclass(frozen=True)
class Result:
    """One client's figures for one round."""

    rate: float
    p50_ms: float
    p99_ms: float
    # The client's own CPU time per request: what the transport costs, and much less moved
    # than wall-clock figures by other work on the machine.
    cpu_us: float


Runner = Callable[[argparse.Namespace], Coroutine[Any, Any, Result]]


# ---- the server (runs in the subprocess) ------------------------------------------------------


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Read the whole body, answer a fixed small JSON document."""
    if scope["type"] != "http":
        return
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False)
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(ANSWER)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": ANSWER})


class MinimalHTTP(asyncio.Protocol):
    """Just enough HTTP/1.1 to answer the benchmark's keep-alive POSTs, and nothing more.

    It does a fraction of uvicorn's work per request, so the clients, not the server, set the
    pace; it trusts its peer (Content-Length framing only) and serves this benchmark alone.
    """

    RESPONSE = (
        b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
        + f"content-length: {len(ANSWER)}\r\n\r\n".encode()
        + ANSWER
    )

    def __init__(self) -> None:
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        assert self.transport is not None
        self.buffer += data
        while (end := self.buffer.find(b"\r\n\r\n")) >= 0:
            head = self.buffer[:end].lower()
            length = 0
            if (at := head.find(b"\r\ncontent-length:")) >= 0:
                length = int(head[at + 17 :].split(b"\r\n", 1)[0])
            if len(self.buffer) < end + 4 + length:
                return
            self.buffer = self.buffer[end + 4 + length :]
            self.transport.write(self.RESPONSE)


def serve(kind: str) -> None:
    """Listen on a free port, print it, then serve until stdin closes."""
    import threading

    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(1024)
    if kind == "asyncio":
        print(sock.getsockname()[1], "minimal asyncio HTTP/1.1", flush=True)

        async def run() -> None:
            loop = asyncio.get_running_loop()
            server = await loop.create_server(MinimalHTTP, sock=sock)
            async with server:
                await loop.run_in_executor(None, sys.stdin.read)

        asyncio.run(run())
        return
    config = uvicorn.Config(
        app, log_level="warning", access_log=False, lifespan="off", ws="none", backlog=1024
    )
    config.load()
    server = uvicorn.Server(config)
    # "uvicorn.protocols.http.h11_impl" -> "h11"
    protocol = config.http_protocol_class.__module__.rsplit(".", 1)[-1].removesuffix("_impl")
    print(sock.getsockname()[1], f"uvicorn {uvicorn.__version__} ({protocol})", flush=True)

    def stop_when_parent_goes() -> None:
        sys.stdin.read()
        server.should_exit = True

    threading.Thread(target=stop_when_parent_goes, daemon=True).start()
    server.run(sockets=[sock])


# ---- the clients -------------------------------------------------------------------------------


async def measure(send: Send, requests: int, concurrency: int) -> Result:
    latencies: list[float] = []
    remaining = requests

    async def worker() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            started = time.perf_counter()
            answer = await send()
            latencies.append(time.perf_counter() - started)
            if answer != ANSWER:
                raise AssertionError(f"unexpected answer {answer[:80]!r}")

    started, cpu_started = time.perf_counter(), time.process_time()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    cuts = statistics.quantiles(latencies, n=100)
    return Result(
        rate=requests / elapsed,
        p50_ms=cuts[49] * 1e3,
        p99_ms=cuts[98] * 1e3,
        cpu_us=cpu / requests * 1e6,
    )


def httpx_sender(client: httpx.AsyncClient, url: str) -> Send:
    headers = {"content-type": "application/json"}

    async def send() -> bytes:
        response = await client.post(url, content=BODY, headers=headers)
        response.raise_for_status()
        return response.content

    return send


async def run_httpx(client: httpx.AsyncClient, url: str, args: argparse.Namespace) -> Result:
    async with client:
        send = httpx_sender(client, url)
        await measure(send, args.warmup, args.concurrency)
        return await measure(send, args.requests, args.concurrency)


async def run_endpoint(url: str, args: argparse.Namespace) -> Result:
    """byoc's own way: `Endpoint` on the default client, the request built from parts made once."""
    base, path = url.split("/v2", 1)
    async with default_http_client() as client:
        api = Endpoint(client, base + "/v2", headers={"content-type": "application/json"})

        async def send() -> bytes:
            response = await api.send("POST", path, content=BODY)
            response.raise_for_status()
            return response.content

        await measure(send, args.warmup, args.concurrency)
        return await measure(send, args.requests, args.concurrency)


async def run_aiohttp(url: str, args: argparse.Namespace) -> Result:
    import aiohttp

    async with aiohttp.ClientSession() as session:
        headers = {"content-type": "application/json"}

        async def send() -> bytes:
            async with session.post(url, data=BODY, headers=headers) as response:
                response.raise_for_status()
                return await response.read()

        await measure(send, args.warmup, args.concurrency)
        return await measure(send, args.requests, args.concurrency)


def clients(url: str) -> dict[str, Runner]:
    """Label → runner; each runner builds a fresh client so no round inherits a warm pool."""

    def byoc(name: str) -> Runner:
        def runner(args: argparse.Namespace) -> Coroutine[Any, Any, Result]:
            client = default_http_client(transport=name)
            assert transport_name(client) == name
            return run_httpx(client, url, args)

        return runner

    def shipped_aiohttp(args: argparse.Namespace) -> Coroutine[Any, Any, Result]:
        from httpx_aiohttp import AiohttpTransport

        return run_httpx(httpx.AsyncClient(transport=AiohttpTransport()), url, args)

    tuned = httpx.Limits(max_connections=100, max_keepalive_connections=100, keepalive_expiry=30)
    return {
        "httpx AsyncClient()": lambda args: run_httpx(httpx.AsyncClient(), url, args),
        "httpx, tuned (100 kept alive, 30 s)": lambda args: run_httpx(
            httpx.AsyncClient(limits=tuned), url, args
        ),
        "byoc httpx": byoc("httpx"),
        "httpx + httpx-aiohttp, as shipped": shipped_aiohttp,
        "byoc aiohttp (httpx + httpx-aiohttp)": byoc("aiohttp"),
        "byoc lean (httpx + byoc's own pool)": byoc("lean"),
        "byoc Endpoint (default client: lean)": lambda args: run_endpoint(url, args),
        CEILING: lambda args: run_aiohttp(url, args),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=4000, help="measured requests per round")
    parser.add_argument("--concurrency", type=int, default=32, help="requests in flight")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per client")
    parser.add_argument("--warmup", type=int, default=None, help="default: requests / 10")
    parser.add_argument(
        "--server",
        choices=("uvicorn", "asyncio"),
        default="uvicorn",
        help="uvicorn (default), or a minimal asyncio responder that lifts the server's ceiling",
    )
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.server)
        return
    if args.warmup is None:
        args.warmup = max(args.concurrency, args.requests // 10)

    server = subprocess.Popen(
        [sys.executable, __file__, "--serve", "--server", args.server],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        port, server_name = server.stdout.readline().strip().split(" ", 1)
        url = f"http://127.0.0.1:{port}/v2/conversations/c-1/messages"
        runners = clients(url)
        results: dict[str, list[Result]] = {label: [] for label in runners}
        for _ in range(args.rounds):
            for label, runner in runners.items():
                results[label].append(asyncio.run(runner(args)))
    finally:
        if server.stdin is not None:
            server.stdin.close()
        server.wait(timeout=10)

    report(results, args, server_name)


def report(results: dict[str, list[Result]], args: argparse.Namespace, server: str) -> None:
    median = {
        label: sorted(rounds, key=lambda r: r.rate)[len(rounds) // 2]
        for label, rounds in results.items()
    }
    ceiling = median[CEILING].rate
    print(
        f"{args.requests} requests x {args.rounds} rounds, {args.concurrency} in flight, "
        f"server {server}, Python {sys.version.split()[0]}, "
        f"httpx {httpx.__version__}, {os.cpu_count()} CPUs; median round per client"
    )
    print(
        f"{'client':<38} {'req/s':>8} {'vs aiohttp':>11} {'p50 ms':>8} {'p99 ms':>8}"
        f" {'CPU us/req':>11}"
    )
    for label, r in median.items():
        print(
            f"{label:<38} {r.rate:>8.0f} {r.rate / ceiling:>10.2f}x {r.p50_ms:>8.2f}"
            f" {r.p99_ms:>8.2f} {r.cpu_us:>11.0f}"
        )


if __name__ == "__main__":
    main()
