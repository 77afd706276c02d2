"""`byoc serve` under a flood of idle connections, at a low file limit: it keeps answering.

Each test runs the real command with `RLIMIT_NOFILE` at 256 and short timeouts, on uvloop with
httptools and on asyncio with h11, opens more raw connections than the limit, and reads what a
peer and the log see.
"""

from __future__ import annotations

import resource
import signal
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx
import pytest

from .support import Running, clean_env

FILE_LIMIT = 256
FLOOD = 300
# The header timeout is longer than the body timeout here so that /healthz answering before
# it runs out shows the cap at work, not the timeout.
HEADER_TIMEOUT = 3.0
BODY_TIMEOUT = 1.0
FAST = ("--loop", "uvloop", "--http", "httptools")
PURE_PYTHON = ("--loop", "asyncio", "--http", "h11")
STACKS = pytest.mark.parametrize("stack", [FAST, PURE_PYTHON], ids=["uvloop-httptools", "h11"])


def file_limit(soft: int, hard: int) -> Callable[[], None]:
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))

    return apply


@contextmanager
def served(
    tmp_path: Path, stack: tuple[str, ...], soft_limit: int = FILE_LIMIT, **settings: str
) -> Iterator[tuple[Running, str, int]]:
    env = clean_env(
        BYOC_STORE=str(tmp_path / "byoc.sqlite3"),
        BYOC_HEADER_TIMEOUT=str(HEADER_TIMEOUT),
        BYOC_BODY_TIMEOUT=str(BODY_TIMEOUT),
        **settings,
    )
    process = Running(
        "serve", "--port", "0", *stack, env=env, preexec_fn=file_limit(soft_limit, FILE_LIMIT)
    )
    try:
        base = process.wait_for(r"serving on (http://\S+)").group(1)
        yield process, base, int(base.rsplit(":", 1)[1])
    finally:
        process.kill()


def connect(port: int) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=10)


def read_until_closed(sock: socket.socket, within: float) -> bytes:
    """Everything the server sends before it closes the connection; fails if it stays open."""
    received = b""
    deadline = time.monotonic() + within
    while True:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            chunk = sock.recv(4096)
        except ConnectionResetError:
            return received
        except TimeoutError:
            raise AssertionError(f"still open after {within} s; received {received!r}") from None
        if not chunk:
            return received
        received += chunk


def healthz_within(base: str, seconds: float) -> float:
    started = time.monotonic()
    answer = httpx.get(f"{base}/healthz", timeout=seconds)
    assert answer.status_code == 200, answer.text
    return time.monotonic() - started


def flood(port: int, stack: ExitStack) -> list[socket.socket]:
    return [stack.enter_context(connect(port)) for _ in range(FLOOD)]


def connection_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if "connections" in line and "refus" in line]


@STACKS
def test_idle_connections_beyond_the_cap_leave_healthz_answering_and_are_timed_out(
    tmp_path: Path, stack: tuple[str, ...]
) -> None:
    with served(tmp_path, stack, 200, BYOC_MAX_CONNECTIONS="100") as (process, base, port):
        process.wait_for(
            r"connections: at most 100 \(BYOC_MAX_CONNECTIONS\) · "
            r"file limit 256 \(raised from 200\)$"
        )
        with ExitStack() as held:
            idle = flood(port, held)
            # Connections that sent nothing make room: /healthz is answered before they time out.
            assert healthz_within(base, 5.0) < HEADER_TIMEOUT
            # Every flooding connection is closed: the oldest to make room, the rest on time.
            for sock in idle:
                assert read_until_closed(sock, within=3 * HEADER_TIMEOUT) == b""

        with connect(port) as silent:
            started = time.monotonic()
            assert read_until_closed(silent, within=3 * HEADER_TIMEOUT) == b""
            assert time.monotonic() - started >= HEADER_TIMEOUT * 0.9

        with connect(port) as slow_head:
            slow_head.sendall(b"GET /healthz HTTP/1.1\r\nhost: byoc\r\n")
            answer = read_until_closed(slow_head, within=3 * HEADER_TIMEOUT)
            assert answer.startswith(b"HTTP/1.1 408 Request Timeout\r\n")

        with connect(port) as slow_body:
            slow_body.sendall(
                b"POST /channels/viber/webhook HTTP/1.1\r\nhost: byoc\r\n"
                b"content-type: application/json\r\ncontent-length: 200\r\n\r\n"
                b'{"event": "message", '
            )
            started = time.monotonic()
            read_until_closed(slow_body, within=3 * BODY_TIMEOUT)
            assert time.monotonic() - started >= BODY_TIMEOUT * 0.9

        assert healthz_within(base, 5.0) < HEADER_TIMEOUT
        assert process.stop(signal.SIGTERM) == 0, process.output
    lines = connection_lines(process.output)
    # asyncio's loop accepts a burst before its connections are counted, and may run out of
    # descriptors once on the way: that is a line too, not a flood.
    assert any("connection cap 100 reached" in line for line in lines), process.output
    assert all("BYOC_MAX_CONNECTIONS" in line for line in lines)
    assert len(lines) < 10, process.output
    assert "Traceback" not in process.output, process.output


def test_accepts_failing_for_lack_of_descriptors_are_logged_once_and_healthz_recovers(
    tmp_path: Path,
) -> None:
    # A cap above the file limit: accept() runs out of descriptors before the cap is reached.
    # (asyncio's loop reports each failed accept; uvloop's closes what it cannot accept.)
    with served(tmp_path, PURE_PYTHON, BYOC_MAX_CONNECTIONS="5000") as (process, base, port):
        process.wait_for(r"the cap is not below the file limit")
        with ExitStack() as held:
            flood(port, held)
            # Idle connections are timed out, which frees descriptors for the next peer.
            assert healthz_within(base, 10.0) < 3 * HEADER_TIMEOUT
        assert healthz_within(base, 5.0) < HEADER_TIMEOUT
        assert process.stop(signal.SIGTERM) == 0, process.output
    lines = connection_lines(process.output)
    assert lines and "out of file descriptors (EMFILE)" in lines[0], process.output
    assert "ulimit -n" in lines[0]
    assert len(lines) < 10, process.output
    assert "Traceback" not in process.output, process.output
    assert "Too many open files" not in process.output
