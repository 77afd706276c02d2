"""examples/fastapi_app.py and starlette_app.py: the bridge under /byoc, in the app's lifespan.

FastAPI is Starlette underneath: one suite serves both examples."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from types import ModuleType

import pytest

from byoc.testing.fake_channel import FakeChannel
from examples import fastapi_app, starlette_app

from ..helpdesk import Helpdesk
from .support import AsgiWorld, async_round_trip, forgeries, serving_starlette

EXAMPLES = pytest.mark.parametrize(
    "example", [fastapi_app, starlette_app], ids=["fastapi", "starlette"]
)


@pytest.fixture(params=[fastapi_app, starlette_app], ids=["fastapi", "starlette"])
async def world(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[AsgiWorld]:
    example: ModuleType = request.param
    async with serving_starlette(example.create_app, tmp_path / "byoc.sqlite3") as world:
        yield world


async def test_a_message_goes_round_trip_under_the_prefix(world: AsgiWorld) -> None:
    await async_round_trip(world.post, world.helpdesk, world.channel, world.bridge)


async def test_forged_or_reencoded_webhooks_are_refused(world: AsgiWorld) -> None:
    for path, body, headers in forgeries(world.channel):
        assert await world.post(path, body, headers) == 401


async def test_the_apps_own_routes_and_the_bridges_health(world: AsgiWorld) -> None:
    assert (await world.client.get("/")).json() == {"shop": "open"}
    assert (await world.client.get("/byoc/healthz")).json() == {"status": "ok"}


@EXAMPLES
async def test_lifespan_starts_and_closes_the_bridge(tmp_path: Path, example: ModuleType) -> None:
    helpdesk = Helpdesk()
    bridge = helpdesk.bridge([FakeChannel()], tmp_path / "byoc.sqlite3")
    app = example.create_app(bridge)
    async with app.router.lifespan_context(app):
        assert bridge.started
    assert not bridge.started
    with pytest.raises(RuntimeError, match="closed"):
        bridge.store.lock("x")
    await helpdesk.aclose()
