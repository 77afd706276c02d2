"""examples/flask_app.py through Flask's test client: WSGI in front, the bridge on its own loop."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from byoc.bridge import Bridge
from byoc.testing.fake_channel import FakeChannel
from byoc.wsgi import WSGIBridge
from examples import flask_app

from ..helpdesk import Helpdesk, run_on
from .support import forgeries, round_trip


class World:
    def __init__(self, app: Flask, helpdesk: Helpdesk, channel: FakeChannel, bridge: Bridge):
        self.app, self.helpdesk, self.channel, self.bridge = app, helpdesk, channel, bridge
        self.client: FlaskClient = app.test_client()
        self.served: WSGIBridge = app.extensions["byoc"]

    def post(self, path: str, body: bytes, headers: dict[str, str]) -> int:
        return self.client.post(path, data=body, headers=headers).status_code

    def run(self, make: Callable[[], Awaitable[Any]]) -> Any:
        return run_on(self.served, make)


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    helpdesk, channel = Helpdesk(), FakeChannel()
    bridge = helpdesk.bridge([channel], tmp_path / "byoc.sqlite3")
    world = World(flask_app.create_app(bridge), helpdesk, channel, bridge)
    try:
        yield world
    finally:
        world.served.close()
        asyncio.run(helpdesk.aclose())


def test_a_message_goes_round_trip_under_the_prefix(world: World) -> None:
    round_trip(world.post, world.run, world.helpdesk, world.channel, world.bridge)


def test_forged_or_reencoded_webhooks_are_refused(world: World) -> None:
    for path, body, headers in forgeries(world.channel):
        assert world.post(path, body, headers) == 401


def test_the_apps_own_routes_and_the_bridges_health(world: World) -> None:
    assert world.client.get("/").json == {"shop": "open"}
    assert world.client.get("/byoc/healthz").json == {"status": "ok"}


def test_the_bridge_runs_from_the_start_and_closes_on_shutdown(world: World) -> None:
    assert world.run(lambda: _started(world.bridge))
    world.served.close()
    assert not world.bridge.started
    closed = world.client.post("/byoc/channels/fake/webhook", data=b"{}")
    assert closed.status_code == 503  # the sender retries once the bridge is back


async def _started(bridge: Bridge) -> bool:
    return bridge.started
