"""`WSGIBridge`: the bridge under a WSGI server, on an event loop thread of its own."""

from __future__ import annotations

import asyncio
import io
import sys
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from byoc.bridge import Bridge
from byoc.testing.fake_channel import FakeChannel
from byoc.wsgi import WSGIBridge

from ..helpdesk import Helpdesk, run_on


class World:
    def __init__(self, tmp_path: Path) -> None:
        self.store = tmp_path / "byoc.sqlite3"
        self.helpdesk = Helpdesk()
        self.channel = FakeChannel()
        self.served: list[WSGIBridge] = []

    def serve(self, **options: Any) -> tuple[Bridge, WSGIBridge]:
        bridge = self.helpdesk.bridge([self.channel], self.store, **options)
        served = WSGIBridge(bridge)
        self.served.append(served)
        return bridge, served

    def client(self, served: WSGIBridge) -> httpx.Client:
        transport = httpx.WSGITransport(app=served, script_name="/byoc")
        return httpx.Client(transport=transport, base_url="http://shop.test/byoc")

    def close(self) -> None:
        for served in self.served:
            served.close()
        asyncio.run(self.helpdesk.aclose())


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    world = World(tmp_path)
    yield world
    world.close()


def test_webhooks_are_served_under_a_script_name_and_delivered(world: World) -> None:
    bridge, served = world.serve()
    body, headers = world.channel.user_message("minjun", "안녕하세요")
    with world.client(served) as client:
        assert (
            client.post("/channels/fake/webhook", content=body, headers=headers).status_code == 200
        )
    run_on(served, bridge.wait_idle)
    assert world.helpdesk.user_texts(world.helpdesk.conversation_of("fake:minjun")) == [
        "안녕하세요"
    ]


def test_work_left_queued_by_a_stopped_process_resumes_at_start_without_a_webhook(
    world: World,
) -> None:
    world.helpdesk.emulator.faults.hang(times=1)  # the first delivery never gets an answer
    _, first = world.serve()
    body, headers = world.channel.user_message("minjun", "before the restart")
    with world.client(first) as client:
        assert (
            client.post("/channels/fake/webhook", content=body, headers=headers).status_code == 200
        )
    first.close(grace=0)
    world.helpdesk.emulator.faults.clear()

    bridge, second = world.serve()
    run_on(second, bridge.wait_idle)
    conversation = world.helpdesk.conversation_of("fake:minjun")
    assert world.helpdesk.user_texts(conversation) == ["before the restart"]


def environ(body: bytes, headers: dict[str, str], **extra: Any) -> dict[str, Any]:
    """A WSGI environ for a POST whose body came chunked: no CONTENT_LENGTH."""
    env: dict[str, Any] = {
        "REQUEST_METHOD": "POST",
        "SCRIPT_NAME": "/byoc",
        "PATH_INFO": "/channels/fake/webhook",
        "QUERY_STRING": "",
        "SERVER_NAME": "shop.test",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "CONTENT_TYPE": "application/json",
        **{"HTTP_" + k.upper().replace("-", "_"): v for k, v in headers.items()},
    }
    env.update(extra)
    return env


def call_wsgi(served: WSGIBridge, env: dict[str, Any]) -> tuple[str, bytes]:
    status: list[str] = []

    def start_response(line: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        status.append(line)

    body = b"".join(served(env, start_response))
    return status[0], body


def test_a_chunked_body_is_read_to_its_end(world: World) -> None:
    bridge, served = world.serve()
    body, headers = world.channel.user_message("minjun", "chunked 👋")
    status, _ = call_wsgi(served, environ(body, headers, **{"wsgi.input_terminated": True}))
    assert status.startswith("200")
    run_on(served, bridge.wait_idle)
    conversation = world.helpdesk.conversation_of("fake:minjun")
    assert world.helpdesk.user_texts(conversation) == ["chunked 👋"]


def test_a_chunked_body_over_the_limit_is_refused(world: World) -> None:
    _, served = world.serve(max_body_size=64)
    body, headers = world.channel.user_message("minjun", "x" * 200)
    status, _ = call_wsgi(served, environ(body, headers, **{"wsgi.input_terminated": True}))
    assert status.startswith("413")


def test_after_close_requests_get_503_and_calls_fail(world: World) -> None:
    bridge, served = world.serve()
    assert run_on(served, _started(bridge))
    served.close()
    served.close()  # idempotent
    assert served.loop.is_closed()
    assert not bridge.started
    body, headers = world.channel.user_message("minjun", "too late")
    with world.client(served) as client:
        answer = client.post("/channels/fake/webhook", content=body, headers=headers)
    assert answer.status_code == 503
    with pytest.raises(RuntimeError, match="closed"):
        run_on(served, bridge.wait_idle)


def _started(bridge: Bridge) -> Callable[[], Awaitable[bool]]:
    async def started() -> bool:
        return bridge.started

    return started
