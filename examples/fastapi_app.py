"""byoc inside a FastAPI app, mounted under /byoc.

Install the frameworks of the examples, then run it with the settings the bundled server
reads (docs/configuration.md):

    pip install -e '.[examples]'
    export BYOC_FRESHCHAT_API_URL=https://<account>.freshchat.com/v2
    export BYOC_FRESHCHAT_API_TOKEN=... BYOC_FRESHCHAT_WEBHOOK_PUBLIC_KEY=...
    export BYOC_VIBER_AUTH_TOKEN=... BYOC_VIBER_SENDER_NAME="Acme Support"
    export BYOC_STORE=/var/lib/byoc/byoc.sqlite3 BYOC_PUBLIC_URL=https://shop.example/byoc
    uvicorn examples.fastapi_app:create_app --factory

Viber then calls `https://shop.example/byoc/channels/viber/webhook`; paste
`https://shop.example/byoc/messaging/webhook` into Freshchat's Conversation Webhooks.

Two things matter when mounting the bridge in FastAPI (or Starlette):

- **Mount it as an ASGI app** (`app.mount`). The bridge verifies signatures on the exact bytes
  that arrived; a route that declares a JSON body would parse and re-encode it.
- **Start and close it in the parent's lifespan.** Starlette does not run the lifespan of a
  mounted app. Without `bridge.start()` the delivery workers would wait for the next webhook
  before resuming what a previous run left queued; without `bridge.aclose()` a shutdown
  would cut deliveries short (they are retried after the restart, see docs/operations.md).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from byoc import Bridge, build_bridge, log_to_stderr

PREFIX = "/byoc"


def create_app(bridge: Bridge | None = None) -> FastAPI:
    """The shop's FastAPI app with the bridge under `/byoc` (from the environment by default)."""
    log_to_stderr()  # uvicorn shows its own lines only; these are the bridge's, one per hop
    bridge = bridge or build_bridge()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await bridge.start()
        yield
        await bridge.aclose()

    app = FastAPI(lifespan=lifespan)
    app.mount(PREFIX, bridge)

    @app.get("/")
    async def index() -> dict[str, str]:
        return {"shop": "open"}

    return app


if __name__ == "__main__":
    import uvicorn

    uvicorn.run(create_app(), host="127.0.0.1", port=8000)
