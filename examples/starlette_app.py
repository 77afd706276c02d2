"""byoc inside a Starlette app, mounted under /byoc.

Install the frameworks of the examples, then run it with the settings the bundled server
reads (docs/configuration.md):

    pip install -e '.[examples]'
    export BYOC_FRESHCHAT_API_URL=https://<account>.freshchat.com/v2
    export BYOC_FRESHCHAT_API_TOKEN=... BYOC_FRESHCHAT_WEBHOOK_PUBLIC_KEY=...
    export BYOC_VIBER_AUTH_TOKEN=... BYOC_VIBER_SENDER_NAME="Acme Support"
    export BYOC_STORE=/var/lib/byoc/byoc.sqlite3 BYOC_PUBLIC_URL=https://shop.example/byoc
    uvicorn examples.starlette_app:create_app --factory

`Mount` hands the bridge the raw request, so signatures verify on the bytes that arrived.
Starlette does not run a mounted app's lifespan: the parent's lifespan starts the bridge's
delivery workers (resuming what a previous run left queued) and closes it at shutdown (letting
deliveries in flight finish).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route

from byoc import Bridge, build_bridge, log_to_stderr

PREFIX = "/byoc"


async def index(request: Request) -> JSONResponse:
    return JSONResponse({"shop": "open"})


def create_app(bridge: Bridge | None = None) -> Starlette:
    """The shop's Starlette app with the bridge under `/byoc` (from the environment by default)."""
    log_to_stderr()  # uvicorn shows its own lines only; these are the bridge's, one per hop
    bridge = bridge or build_bridge()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await bridge.start()
        yield
        await bridge.aclose()

    return Starlette(
        routes=[Route("/", index), Mount(PREFIX, app=bridge)],
        lifespan=lifespan,
    )


if __name__ == "__main__":
    import uvicorn

    uvicorn.run(create_app(), host="127.0.0.1", port=8000)
