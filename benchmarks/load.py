"""The side-by-side benchmark's load generator: raw HTTP/1.1 over keep-alive sockets.

Every request is built (and signed) before a phase starts, so sending one costs this process a
socket write and a read: the two CPUs are left to the servers being measured. Two ways to send:

- `closed_loop`: a fixed number of requests in flight, each connection sending its next
  request as soon as the previous one is answered (the throughput phases);
- `paced`: requests at a steady rate whatever the answers do, each timed from the instant it
  was due, so a slow answer delays nobody's clock (the webhook-latency phase).

Both return how long each answer took, in seconds. The closed loop raises `AnswerError` on any
non-2xx; the paced sender counts them, since an overloaded bridge may rightly answer 503.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence

__all__ = ["AnswerError", "Connection", "closed_loop", "http_post", "paced"]


class AnswerError(RuntimeError):
    """A server under test answered something other than 2xx."""


def http_post(path: str, body: bytes, headers: Mapping[str, str]) -> bytes:
    """The bytes of one keep-alive `POST` of `body` to `path`."""
    head = [f"POST {path} HTTP/1.1", "host: bench", f"content-length: {len(body)}"]
    head += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body


class Connection:
    """One keep-alive connection; `exchange` sends a request and reads its whole answer."""

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def exchange(self, request: bytes) -> tuple[int, bytes]:
        reused = self._writer is not None
        try:
            head = await self._send(request)
        except (asyncio.IncompleteReadError, ConnectionError) as exc:
            # A kept-alive connection the server closed while idle fails before any answer
            # byte: send once more on a new one, as HTTP clients do (webhooks are deduped).
            if not reused or (isinstance(exc, asyncio.IncompleteReadError) and exc.partial):
                raise
            self.close()
            head = await self._send(request)
        status = int(head[9:12])
        length = 0
        chunked = False
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding":
                chunked = b"chunked" in value.lower()
        if chunked:
            body = await self._read_chunks()
        else:
            body = await self._reader.readexactly(length) if length else b""
        if b"connection: close" in head.lower():
            self.close()
        return status, body

    async def _send(self, request: bytes) -> bytes:
        """Write `request` and read the head of its answer."""
        if self._writer is None:
            self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        assert self._reader is not None
        self._writer.write(request)
        return await self._reader.readuntil(b"\r\n\r\n")

    async def _read_chunks(self) -> bytes:
        assert self._reader is not None
        body = b""
        while True:
            size = int((await self._reader.readuntil(b"\r\n")).split(b";")[0], 16)
            chunk = await self._reader.readexactly(size + 2)
            if size == 0:
                return body
            body += chunk[:-2]

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None
            self._reader = None


def _check(status: int, body: bytes) -> None:
    if not 200 <= status < 300:
        raise AnswerError(f"answered {status}: {body[:300].decode('utf-8', 'replace')}")


async def closed_loop(
    host: str, port: int, requests: Sequence[bytes], in_flight: int
) -> list[float]:
    """Send `requests` in order with `in_flight` of them outstanding; each answer's seconds."""
    answers: list[float] = []
    cursor = iter(range(len(requests)))

    async def worker() -> None:
        connection = Connection(host, port)
        try:
            for index in cursor:
                start = time.perf_counter()
                status, body = await connection.exchange(requests[index])
                answers.append(time.perf_counter() - start)
                _check(status, body)
        finally:
            connection.close()

    await asyncio.gather(*(worker() for _ in range(min(in_flight, len(requests)))))
    return answers


async def paced(
    host: str, port: int, requests: Sequence[bytes], rate: float
) -> tuple[list[float], int]:
    """Send `requests` at `rate` per second (open loop).

    Returns each 2xx answer's seconds since its request was due, and how many requests were
    answered otherwise (an overloaded bridge's 503: a real sender would retry them later).
    """
    idle: list[Connection] = []
    answers: list[float] = []
    refused = 0
    failures: list[BaseException] = []

    async def one(request: bytes, due: float) -> None:
        nonlocal refused
        connection = idle.pop() if idle else Connection(host, port)
        try:
            status, _ = await connection.exchange(request)
        except BaseException as exc:
            connection.close()
            failures.append(exc)
            return
        if 200 <= status < 300:
            answers.append(time.perf_counter() - due)
        else:
            refused += 1
        idle.append(connection)

    tasks = []
    start = time.perf_counter()
    for index, request in enumerate(requests):
        due = start + index / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(request, due)))
    await asyncio.gather(*tasks)
    for connection in idle:
        connection.close()
    if failures:
        raise failures[0]
    return answers, refused
