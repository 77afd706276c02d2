"""byoc inside an aiohttp app, mounted under /byoc/ with the `aiohttp-asgi` adapter.

Install the frameworks of the examples, then run it with the settings the bundled server
reads (docs/configuration.md):

    pip install -e '.[examples]'
    export BYOC_FRESHCHAT_API_URL=https://<account>.freshchat.com/v2
    export BYOC_FRESHCHAT_API_TOKEN=... BYOC_FRESHCHAT_WEBHOOK_PUBLIC_KEY=...
    export BYOC_VIBER_AUTH_TOKEN=... BYOC_VIBER_SENDER_NAME="Acme Support"
    export BYOC_STORE=/var/lib/byoc/byoc.sqlite3 BYOC_PUBLIC_URL=https://shop.example/byoc
    python examples/aiohttp_app.py

The bridge is an ASGI app and aiohttp is not an ASGI server. `aiohttp_asgi.ASGIResource` (on
PyPI as `aiohttp-asgi`) is a router resource that hands every request under its prefix to an
ASGI app, streaming the raw body through untouched (so signatures verify), and
`lifespan_mount` ties the app's ASGI lifespan to aiohttp's start-up and clean-up: the bridge's
delivery workers start with the aiohttp app, on its event loop, and at shutdown the deliveries
in flight finish before the store closes.
"""

from __future__ import annotations

from aiohttp import web
from aiohttp_asgi import ASGIResource

from byoc import Bridge, build_bridge, log_to_stderr

# With the trailing slash: the resource matches paths by prefix, and "/byoc" alone would
# also take "/byoc-shop/...".
PREFIX = "/byoc/"


async def index(request: web.Request) -> web.Response:
    return web.json_response({"shop": "open"})


def create_app(bridge: Bridge | None = None) -> web.Application:
    """The shop's aiohttp app with the bridge under `/byoc/` (from the environment by default)."""
    app = web.Application()
    app.router.add_get("/", index)
    log_to_stderr()  # aiohttp's access log is its own; these are the bridge's, one per hop
    resource = ASGIResource(bridge or build_bridge(), root_path=PREFIX)
    app.router.register_resource(resource)
    resource.lifespan_mount(app)
    return app


if __name__ == "__main__":
    web.run_app(create_app(), host="127.0.0.1", port=8000)
