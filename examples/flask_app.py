"""byoc inside a Flask app, mounted under /byoc.

Install the frameworks of the examples, then run it with the settings the bundled server
reads (docs/configuration.md):

    pip install -e '.[examples]'
    export BYOC_FRESHCHAT_API_URL=https://<account>.freshchat.com/v2
    export BYOC_FRESHCHAT_API_TOKEN=... BYOC_FRESHCHAT_WEBHOOK_PUBLIC_KEY=...
    export BYOC_VIBER_AUTH_TOKEN=... BYOC_VIBER_SENDER_NAME="Acme Support"
    export BYOC_STORE=/var/lib/byoc/byoc.sqlite3 BYOC_PUBLIC_URL=https://shop.example/byoc
    gunicorn --workers 1 --threads 8 'examples.flask_app:create_app()'

**Where the bridge runs.** The bridge is asynchronous and Flask is not. `byoc.wsgi.WSGIBridge`
runs the bridge on an event loop in a thread of its own, for the life of the process, and
serves it to WSGI through a2wsgi's `ASGIMiddleware`: a request thread hands the request to that
loop and waits for the answer, while the delivery workers keep running there between requests.
`DispatcherMiddleware` (Werkzeug's, Flask's documented way to combine WSGI apps) sends
`/byoc/...` there, untouched, so signatures verify on the bytes that arrived.

**One process.** Use one worker process with as many threads as you like: each process would
start its own delivery workers on the one SQLite queue (docs/operations.md). Build the app in
the worker (the `create_app()` factory, no `--preload`): threads do not survive a fork.

**Shutdown.** `atexit` closes the bridge when the worker exits: deliveries in flight get ten
seconds to finish; anything left stays queued and is delivered after the next start.
"""

from __future__ import annotations

import atexit

from flask import Flask
from werkzeug.middleware.dispatcher import DispatcherMiddleware

from byoc import Bridge, build_bridge, log_to_stderr
from byoc.wsgi import WSGIBridge

PREFIX = "/byoc"


def create_app(bridge: Bridge | None = None) -> Flask:
    """The shop's Flask app with the bridge under `/byoc` (from the environment by default).

    The running `WSGIBridge` is `app.extensions["byoc"]`: `.run(coroutine)` calls the bridge
    from Flask code (`.run(bridge.dead_letters())`), `.close()` shuts it down.
    """
    log_to_stderr()  # gunicorn shows its own lines only; these are the bridge's, one per hop
    app = Flask(__name__)
    served = WSGIBridge(bridge or build_bridge())
    atexit.register(served.close)
    app.extensions["byoc"] = served
    app.wsgi_app = DispatcherMiddleware(app.wsgi_app, {PREFIX: served})  # type: ignore[method-assign]

    @app.get("/")
    def index() -> dict[str, str]:
        return {"shop": "open"}

    return app


if __name__ == "__main__":
    # Flask's development server; threaded, in one process, as the bridge needs.
    create_app().run(host="127.0.0.1", port=8000, threaded=True, use_reloader=False)
