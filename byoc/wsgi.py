"""`WSGIBridge`: the bridge as a WSGI app, for Flask, Django and any WSGI server.

The bridge is asynchronous: webhook handling, the delivery workers and the store's calls all
run on an event loop that must outlive any one request. A WSGI server has no such loop, so
`WSGIBridge` runs one in a thread of its own and hands each request to it through a2wsgi's
`ASGIMiddleware` (the server's thread waits for the answer). Needs the `wsgi` extra
(`pip install 'byoc[wsgi]'`).

```python
wsgi = WSGIBridge(Bridge(...))           # starts the loop thread and the delivery workers
flask_app.wsgi_app = DispatcherMiddleware(flask_app.wsgi_app, {"/byoc": wsgi})
results = wsgi.run(wsgi.bridge.install())   # the bridge's coroutines, from blocking code
wsgi.close()                             # at shutdown: deliveries in flight finish
```

Run one such process per SQLite file (`docs/operations.md`): threads of a WSGI server share
the one bridge, but several worker processes would each start delivery workers on the same
queue. Create it after the server forks (an app factory, not at import under `--preload`):
threads do not survive a fork.
"""

from __future__ import annotations

import asyncio
import io
import threading
from collections.abc import Coroutine, Iterable
from typing import TYPE_CHECKING, Any, TypeVar, cast

from .bridge import Bridge

try:
    from a2wsgi import ASGIMiddleware
except ImportError as exc:  # pragma: no cover - depends on the installation
    raise ImportError("byoc.wsgi needs a2wsgi; install it with: pip install 'byoc[wsgi]'") from exc

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

__all__ = ["WSGIBridge"]

T = TypeVar("T")

_UNAVAILABLE = b'{"ok":false,"error":"the bridge is shut down"}'


class WSGIBridge:
    """A `Bridge` served over WSGI, with the event loop its delivery workers live on.

    - `start=True` (default) starts the delivery workers at once, so deliveries that a
      previous run left in the queue resume without waiting for the next webhook.
    - `run(coroutine)` runs one of the bridge's coroutines on that loop and returns its result
      (`install()`, `dead_letters()`, `wait_idle()` in tests).
    - `close(grace)` lets deliveries in flight finish for `grace` seconds, closes the bridge
      and stops the loop; later requests are answered 503, so their senders retry.
    """

    def __init__(self, bridge: Bridge, *, start: bool = True) -> None:
        self.bridge = bridge
        self._loop = asyncio.new_event_loop()
        # Owned here rather than left to a2wsgi (which would start a loop of its own), so
        # that `close()` can stop the loop, join the thread and close the loop.
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="byoc-bridge-loop", daemon=True
        )
        self._thread.start()
        self._asgi = ASGIMiddleware(cast(Any, bridge), loop=self._loop)
        self._lock = threading.Lock()
        self._closed = False
        if start:
            try:
                self.run(bridge.start())
            except BaseException:
                self._stop_loop()
                raise

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The event loop the bridge runs on."""
        return self._loop

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if self._closed:
            start_response(
                "503 Service Unavailable",
                [("Content-Type", "application/json"), ("Content-Length", str(len(_UNAVAILABLE)))],
            )
            return [_UNAVAILABLE]
        if not environ.get("CONTENT_LENGTH") and environ.get("wsgi.input_terminated"):
            environ = self._buffered(environ)
        return self._asgi(cast(Any, environ), cast(Any, start_response))

    def _buffered(self, environ: WSGIEnvironment) -> WSGIEnvironment:
        # A chunked request has no Content-Length, and a2wsgi reads exactly Content-Length
        # bytes: it would hand the bridge an empty body (a signature failure). The server
        # marks such input as terminated, so it can be read to its end here. One byte over
        # the limit is enough for the bridge to answer 413.
        body = environ["wsgi.input"].read(self.bridge.max_body_size + 1)
        return {**environ, "wsgi.input": io.BytesIO(body), "CONTENT_LENGTH": str(len(body))}

    def run(self, coroutine: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        """Run `coroutine` on the bridge's loop and wait for its result (from any other thread)."""
        if self._closed:
            coroutine.close()
            raise RuntimeError("the WSGIBridge is closed")
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout)

    def close(self, grace: float = 10.0) -> None:
        """Close the bridge (deliveries in flight get `grace` seconds), then stop the loop.

        Idempotent; call it at shutdown (`atexit`, the server's worker-exit hook).
        """
        with self._lock:
            if self._closed:
                return
            self._closed = True
        try:
            asyncio.run_coroutine_threadsafe(self._shutdown(grace), self._loop).result()
        finally:
            self._stop_loop()

    async def _shutdown(self, grace: float) -> None:
        await self.bridge.aclose(grace)
        # What is left (a request cut short) is cancelled, as asyncio.run does on exit.
        current = asyncio.current_task()
        left = [task for task in asyncio.all_tasks() if task is not current]
        for task in left:
            task.cancel()
        await asyncio.gather(*left, return_exceptions=True)
        await self._loop.shutdown_asyncgens()

    def _stop_loop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()
