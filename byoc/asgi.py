"""Plain-ASGI plumbing shared by the bridge and the bundled emulators (no web framework)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping, MutableMapping
from typing import Any
from urllib.parse import parse_qsl

from .errors import PayloadTooLarge

__all__ = [
    "ASGIApp",
    "Receive",
    "Scope",
    "Send",
    "lifespan",
    "query_params",
    "read_body",
    "request_headers",
    "route_path",
    "send_response",
]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


async def lifespan(
    receive: Receive,
    send: Send,
    startup: Callable[[], Awaitable[None]],
    shutdown: Callable[[], Awaitable[None]],
) -> None:
    """Serve an ASGI `lifespan` scope: `startup()` on start-up, `shutdown()` on shutdown.

    A failure of either is reported to the server (`lifespan.*.failed`), which then exits.
    """
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            try:
                await startup()
            except Exception as exc:
                await send({"type": "lifespan.startup.failed", "message": str(exc)})
                return
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            try:
                await shutdown()
            except Exception as exc:
                await send({"type": "lifespan.shutdown.failed", "message": str(exc)})
                return
            await send({"type": "lifespan.shutdown.complete"})
            return


async def read_body(receive: Receive, limit: int | None = None) -> bytes:
    """Read the whole request body, refusing it with `PayloadTooLarge` past `limit` bytes."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if limit is not None and size > limit:
            raise PayloadTooLarge(f"request body is over the {limit}-byte limit")
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def request_headers(scope: Scope) -> dict[str, str]:
    """Headers as a dict with lower-case names (a repeated header keeps its last value)."""
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}


def query_params(scope: Scope) -> dict[str, str]:
    """The query string as a dict (a repeated key keeps its last value)."""
    raw = scope.get("query_string", b"").decode("latin-1")
    return dict(parse_qsl(raw, keep_blank_values=True))


def route_path(scope: Scope) -> str:
    """The path below the mount point.

    Servers and frameworks disagree on whether `path` includes `root_path` (Starlette's Mount
    does since 0.33, older ones did not): strip it when it is there.
    """
    path: str = scope.get("path", "/")
    root: str = scope.get("root_path", "")
    if root and path.startswith(root):
        path = path[len(root) :]
    return path or "/"


async def send_response(
    send: Send,
    status: int,
    body: bytes,
    *,
    content_type: str = "application/json",
    headers: Mapping[str, str] | Iterable[tuple[str, str]] = (),
) -> None:
    """Send a complete response."""
    items = headers.items() if isinstance(headers, Mapping) else headers
    raw = [
        (b"content-type", content_type.encode("latin-1")),
        (b"content-length", str(len(body)).encode()),
    ]
    raw.extend((k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in items)
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})
