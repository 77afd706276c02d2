"""byoc inside a Django project, as a view under /byoc/ (a one-file project, for brevity).

Install the frameworks of the examples, then run it with the settings the bundled server
reads (docs/configuration.md):

    pip install -e '.[examples]'
    export BYOC_FRESHCHAT_API_URL=https://<account>.freshchat.com/v2
    export BYOC_FRESHCHAT_API_TOKEN=... BYOC_FRESHCHAT_WEBHOOK_PUBLIC_KEY=...
    export BYOC_VIBER_AUTH_TOKEN=... BYOC_VIBER_SENDER_NAME="Acme Support"
    export BYOC_STORE=/var/lib/byoc/byoc.sqlite3 BYOC_PUBLIC_URL=https://shop.example/byoc
    export DJANGO_ALLOWED_HOSTS=shop.example DJANGO_SECRET_KEY=...
    gunicorn --workers 1 --threads 8 'examples.django_app:wsgi_application()'
    # or, for development: python examples/django_app.py runserver --noreload

**Why a view.** A Django project routes in its URLconf, so that is where the bridge goes:
`path("byoc/<path:subpath>", bridge_view)` in `urls.py`, next to the project's own views. The
same view works whether Django is served over WSGI (gunicorn, mod_wsgi) or ASGI (uvicorn,
daphne), and Django's test `Client` reaches it like any view.

**Where the bridge runs.** Not on Django's request threads or loop: under WSGI there is no
lasting event loop, and under ASGI Django runs sync views in threads and has no lifespan to
start or stop anything. `byoc.wsgi.WSGIBridge` keeps an event loop thread for the life of the
process, where the delivery workers run between requests; the view hands each request to it
through a2wsgi and waits for the answer.

**What the view must do.** Pass `request.body` (the raw bytes: signatures are checked on
them) and be exempt from CSRF (webhooks carry no CSRF token; they are authenticated by their
signatures instead).

**One process** (`--workers 1`, any number of threads): each process would start its own
delivery workers on the one SQLite queue (docs/operations.md). At exit, `atexit` closes the
bridge, letting deliveries in flight finish.
"""

from __future__ import annotations

import atexit
import io
import os
import secrets
import sys
import threading
from collections.abc import Callable
from typing import Any

import django
from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import path

from byoc import Bridge, build_bridge, log_to_stderr
from byoc.wsgi import WSGIBridge

PREFIX = "byoc/"

if not settings.configured:
    settings.configure(
        DEBUG=False,
        SECRET_KEY=os.environ.get("DJANGO_SECRET_KEY") or secrets.token_urlsafe(50),
        ALLOWED_HOSTS=os.environ.get("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1").split(","),
        ROOT_URLCONF=__name__,
        MIDDLEWARE=[
            "django.middleware.security.SecurityMiddleware",
            "django.middleware.common.CommonMiddleware",
            "django.middleware.csrf.CsrfViewMiddleware",
        ],
    )
    django.setup()


class BridgeView:
    """A Django view serving a bridge (built by `make_bridge` when first needed).

    `start()` builds and starts it ahead of the first request (the WSGI entry point does, so
    queued deliveries resume at once); `served` is the running `WSGIBridge`, whose `run()`
    calls the bridge from Django code; `close()` shuts it down.
    """

    csrf_exempt = True  # what django.views.decorators.csrf.csrf_exempt marks on a function

    def __init__(self, make_bridge: Callable[[], Bridge]) -> None:
        self.make_bridge = make_bridge
        self._served: WSGIBridge | None = None
        self._lock = threading.Lock()

    @property
    def served(self) -> WSGIBridge:
        return self.start()

    def start(self, bridge: Bridge | None = None) -> WSGIBridge:
        """Start serving `bridge` (by default `make_bridge()`), unless already serving one."""
        with self._lock:
            if self._served is None:
                log_to_stderr()  # the bridge's lines, one per hop, next to the server's
                self._served = WSGIBridge(bridge or self.make_bridge())
                atexit.register(self._served.close)
            return self._served

    def close(self) -> None:
        with self._lock:
            served, self._served = self._served, None
        if served is not None:
            served.close()

    def __call__(self, request: HttpRequest, subpath: str) -> HttpResponse:
        body = request.body
        mount = request.path[: len(request.path) - len(subpath)].rstrip("/")
        environ: dict[str, Any] = {
            **request.META,
            "SCRIPT_NAME": mount,
            "PATH_INFO": "/" + subpath,
            "CONTENT_LENGTH": str(len(body)),
            "wsgi.input": io.BytesIO(body),
        }
        answer: dict[str, Any] = {}

        def start_response(
            status: str, headers: list[tuple[str, str]], exc_info: Any = None
        ) -> Any:
            answer.update(status=int(status.split()[0]), headers=headers)

        content = b"".join(self.served(environ, start_response))
        response = HttpResponse(content, status=answer["status"])
        for name, value in answer["headers"]:
            response[name] = value
        return response


def index(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"shop": "open"})


bridge_view = BridgeView(build_bridge)

urlpatterns = [
    path("", index),
    path(PREFIX + "<path:subpath>", bridge_view),
]


def wsgi_application() -> WSGIHandler:
    """The WSGI entry point (gunicorn's `'examples.django_app:wsgi_application()'`)."""
    from django.core.wsgi import get_wsgi_application

    bridge_view.start()
    return get_wsgi_application()


if __name__ == "__main__":
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
