"""Serve an ASGI app on a real local port, in a background thread, for tests over real sockets.

In-process `httpx.ASGITransport` never touches a socket, so it cannot show how a transport
pools connections, times out or fails to connect. This runs uvicorn (the `server` extra) instead:

```python
with LiveServer(app) as server:
    response = httpx.get(server.url + "/healthz")
```

The listening socket is bound (to a free port on 127.0.0.1) and listening before the thread
starts, so a client may connect at once: the kernel queues the connection until uvicorn accepts
it, and no test has to wait for "ready".
"""

from __future__ import annotations

import socket
import threading
from types import TracebackType

from typing_extensions import Self

from ..asgi import ASGIApp

__all__ = ["LiveServer"]


class LiveServer:
    """A uvicorn server for `app` on 127.0.0.1, running while the `with` block runs."""

    def __init__(self, app: ASGIApp, *, stop_timeout: float = 10.0) -> None:
        import uvicorn

        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.bind(("127.0.0.1", 0))
        config = uvicorn.Config(
            app,
            log_level="warning",
            access_log=False,
            lifespan="off",
            ws="none",
            # A request still open when the block ends (a client that hung up on a slow
            # answer, say) must not hold the test up.
            timeout_graceful_shutdown=1,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._serve, name="byoc-live-server", daemon=True)
        self._stop_timeout = stop_timeout
        self.port: int = self._socket.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"

    def _serve(self) -> None:
        self._server.run(sockets=[self._socket])

    def __enter__(self) -> Self:
        self._socket.listen(128)
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._server.should_exit = True
        self._thread.join(self._stop_timeout)
        self._socket.close()
        if self._thread.is_alive():
            raise RuntimeError(f"the live server did not stop within {self._stop_timeout} s")
