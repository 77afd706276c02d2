"""examples/django_app.py through Django's test Client (with CSRF checks on, as in production)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.test import Client, override_settings

from byoc.bridge import Bridge
from byoc.testing.fake_channel import FakeChannel
from byoc.wsgi import WSGIBridge
from examples import django_app

from ..helpdesk import Helpdesk, run_on
from .support import forgeries, round_trip


class World:
    def __init__(self, helpdesk: Helpdesk, channel: FakeChannel, bridge: Bridge) -> None:
        self.helpdesk, self.channel, self.bridge = helpdesk, channel, bridge
        self.client = Client(enforce_csrf_checks=True)
        self.served: WSGIBridge = django_app.bridge_view.start(bridge)

    def post(self, path: str, body: bytes, headers: dict[str, str]) -> int:
        others = {k: v for k, v in headers.items() if k.lower() != "content-type"}
        content_type = headers.get("content-type", "application/octet-stream")
        response = self.client.post(path, body, content_type=content_type, headers=others)
        status: int = response.status_code
        return status

    def run(self, make: Callable[[], Awaitable[Any]]) -> Any:
        return run_on(self.served, make)


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    helpdesk, channel = Helpdesk(), FakeChannel()
    bridge = helpdesk.bridge([channel], tmp_path / "byoc.sqlite3")
    with override_settings(ALLOWED_HOSTS=["testserver"]):
        try:
            yield World(helpdesk, channel, bridge)
        finally:
            django_app.bridge_view.close()
            asyncio.run(helpdesk.aclose())


def test_a_message_goes_round_trip_under_the_prefix(world: World) -> None:
    round_trip(world.post, world.run, world.helpdesk, world.channel, world.bridge)


def test_forged_or_reencoded_webhooks_are_refused(world: World) -> None:
    for path, body, headers in forgeries(world.channel):
        assert world.post(path, body, headers) == 401


def test_the_projects_own_views_and_the_bridges_health(world: World) -> None:
    assert world.client.get("/").json() == {"shop": "open"}
    health = world.client.get("/byoc/healthz")
    assert health.status_code == 200 and health.json() == {"status": "ok"}
    assert health["content-type"] == "application/json"


def test_the_bridge_runs_from_the_start_and_closes_on_shutdown(world: World) -> None:
    assert world.run(lambda: _started(world.bridge))
    django_app.bridge_view.close()
    assert not world.bridge.started
    assert world.served.loop.is_closed()


async def _started(bridge: Bridge) -> bool:
    return bridge.started
