"""A tiny ASGI router for the bundled emulators, so they need no web framework.

```python
router = Router()

@router.route("GET", "/v2/users/{user_id}")
async def get_user(request: Request) -> Response:
    return json_response({"id": request.params["user_id"]})
```
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from typing import Any

import attrs

from ..asgi import Receive, Scope, Send, query_params, read_body, request_headers, route_path
from ..asgi import send_response as _send

__all__ = ["Handler", "Request", "Response", "Router", "json_response"]


@attrs.frozen(kw_only=True)
class Request:
    """One HTTP request to an emulator."""

    method: str
    path: str
    params: dict[str, str]
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        """The body as JSON; raises `ValueError` when it is not."""
        return json.loads(self.body)


@attrs.frozen(kw_only=True)
class Response:
    """One HTTP response from an emulator."""

    status: int = 200
    body: bytes = b""
    content_type: str = "application/json"
    headers: dict[str, str] = attrs.field(factory=dict)


# Built once: `json.dumps` with arguments builds an encoder per call.
_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def json_response(
    payload: Any, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    """A JSON response; non-ASCII text stays UTF-8 as real services send it."""
    body = _JSON.encode(payload).encode()
    return Response(status=status, body=body, headers=headers or {})


Handler = Callable[[Request], Awaitable[Response]]
_PARAM = re.compile(r"\{(\w+)\}")


class Router:
    """Routes `(method, path pattern)` to async handlers; answers 404/405 as JSON otherwise.

    `not_found` and `method_not_allowed` build the 404 and 405 answers, so each emulator answers
    in its service's own error shape.
    """

    def __init__(
        self,
        *,
        not_found: Callable[[Request], Response] | None = None,
        method_not_allowed: Callable[[Request], Response] | None = None,
    ) -> None:
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = []
        self._not_found = not_found or (lambda r: json_response({"error": "not found"}, 404))
        self._method_not_allowed = method_not_allowed or (
            lambda r: json_response({"error": f"method {r.method} not allowed"}, 405)
        )
        self.on_startup: list[Callable[[], Awaitable[None]]] = []
        self.on_shutdown: list[Callable[[], Awaitable[None]]] = []

    def route(self, method: str, pattern: str) -> Callable[[Handler], Handler]:
        regex = re.compile("^" + _PARAM.sub(r"(?P<\1>[^/]+)", pattern) + "/?$")

        def register(handler: Handler) -> Handler:
            self._routes.append((method.upper(), regex, handler))
            return handler

        return register

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        request = Request(
            method=scope["method"].upper(),
            path=route_path(scope),
            params={},
            query=query_params(scope),
            headers=request_headers(scope),
            body=await read_body(receive),
        )
        response = await self.dispatch(request)
        await _send(
            send,
            response.status,
            response.body,
            content_type=response.content_type,
            headers=response.headers,
        )

    async def dispatch(self, request: Request) -> Response:
        allowed = False
        for method, regex, handler in self._routes:
            match = regex.match(request.path)
            if match is None:
                continue
            if method != request.method:
                allowed = True
                continue
            return await handler(attrs.evolve(request, params=match.groupdict()))
        if allowed:
            return self._method_not_allowed(request)
        return self._not_found(request)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                for hook in self.on_startup:
                    await hook()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                for hook in self.on_shutdown:
                    await hook()
                await send({"type": "lifespan.shutdown.complete"})
                return
