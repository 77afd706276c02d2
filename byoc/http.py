"""The bridge's HTTP surface as a plain ASGI app, and the one place errors become status codes.

Routes are matched on the end of the path, so the app works under any prefix, whether or not
the server or framework sets `root_path`:

- `POST .../channels/{name}/webhook[/{subpath}]`: a channel's webhook;
- `POST .../messaging/webhook`: the help desk's webhook;
- `GET .../healthz`: liveness; `GET .../metrics`: Prometheus text;
- `.../admin[/...]`: the admin page (`byoc.admin`).
"""

from __future__ import annotations

import logging
import math
import re
from typing import TYPE_CHECKING

import attrs

from .admin.routes import ADMIN_PATH, AdminRoutes
from .asgi import (
    Receive,
    Scope,
    Send,
    query_params,
    read_body,
    request_headers,
    route_path,
    send_response,
)
from .errors import (
    ByocError,
    ConfigurationError,
    PermanentError,
    RequestError,
    RetryableError,
)
from .webhook import WebhookRequest, WebhookResponse

if TYPE_CHECKING:
    from .bridge import Bridge

__all__ = ["BridgeApp", "error_response"]

log = logging.getLogger("byoc.http")

_CHANNEL_WEBHOOK = re.compile(r"^(?:.*?/)?channels/(?P<name>[^/]+)/webhook(?:/(?P<subpath>.*))?$")
_MESSAGING_WEBHOOK = re.compile(r"^(?:.*/)?messaging/webhook/?$")
_HEALTHZ = re.compile(r"^(?:.*/)?healthz/?$")
_METRICS = re.compile(r"^(?:.*/)?metrics/?$")
_METRICS_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# Admin forms are small; a bigger body is not one of ours.
_ADMIN_BODY_LIMIT = 64 * 1024


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> WebhookResponse:
    return WebhookResponse.json({"ok": False, "error": message}, status=status, headers=headers)


def error_response(exc: Exception) -> WebhookResponse:
    """The HTTP answer for an exception raised while handling a webhook.

    Bad input → its 4xx. A failure the sender's retry can cure (the help desk is down or
    throttling, or a credential is being fixed) → 503, with Retry-After when known, so the
    channel retries and nothing is lost. A refusal that no retry can cure → 502.
    """
    if isinstance(exc, RequestError):
        log.info("refused webhook (%d): %s", exc.status_code, exc)
        return _error(exc.status_code, str(exc))
    if isinstance(exc, RetryableError):
        log.warning("delivery deferred: %s", exc)
        headers = {}
        if exc.retry_after is not None:
            headers["retry-after"] = str(max(0, math.ceil(exc.retry_after)))
        return _error(503, f"temporarily unable to deliver: {exc}", headers)
    if isinstance(exc, ConfigurationError):
        log.error("configuration problem: %s", exc)
        return _error(503, f"bridge misconfigured: {exc}")
    if isinstance(exc, (PermanentError, ByocError)):
        log.error("delivery refused: %s", exc)
        return _error(502, f"delivery refused: {exc}")
    log.exception("bug while handling a webhook", exc_info=exc)
    return _error(500, "internal error")


class BridgeApp:
    """ASGI app serving a `Bridge` (the bridge itself forwards to it)."""

    def __init__(self, bridge: Bridge) -> None:
        self.bridge = bridge
        self.admin = AdminRoutes(bridge)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        try:
            response = await self._respond(scope, receive)
        except Exception as exc:
            response = error_response(exc)
        if scope["method"].upper() == "HEAD":
            response = attrs.evolve(response, body=b"")
        await send_response(
            send,
            response.status,
            response.body,
            content_type=response.content_type,
            headers=response.headers,
        )

    async def _respond(self, scope: Scope, receive: Receive) -> WebhookResponse:
        path = route_path(scope)
        method = scope["method"].upper()
        channel = _CHANNEL_WEBHOOK.match(path)
        is_messaging = channel is None and _MESSAGING_WEBHOOK.match(path) is not None
        if channel is None and not is_messaging:
            if _HEALTHZ.match(path) and method in ("GET", "HEAD"):
                return WebhookResponse.json({"status": "ok"})
            if _METRICS.match(path) and method in ("GET", "HEAD"):
                text = await self.bridge.metrics_text()
                return WebhookResponse(body=text.encode(), content_type=_METRICS_TYPE)
            admin = ADMIN_PATH.match(path)
            if admin is not None:
                return await self._admin(scope, receive, admin.group("base"), admin.group("rest"))
            return _error(404, f"no route for {path}")
        if method != "POST":
            return _error(405, "webhooks take POST", {"allow": "POST"})
        try:
            request = WebhookRequest(
                body=await read_body(receive, self.bridge.max_body_size),
                headers=request_headers(scope),
                method=method,
                path=path,
                query=query_params(scope),
                subpath=(channel.group("subpath") or "") if channel else "",
            )
            if channel is not None:
                return await self.bridge.handle_channel_webhook(channel.group("name"), request)
            return await self.bridge.handle_messaging_webhook(request)
        except Exception as exc:
            response = error_response(exc)
            self.bridge.hops.refused_webhook(response.status)
            return response

    async def _admin(
        self, scope: Scope, receive: Receive, base: str, rest: str | None
    ) -> WebhookResponse:
        headers = request_headers(scope)
        forwarded = headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
        method = scope["method"].upper()
        return await self.admin.respond(
            method=method,
            base=scope.get("root_path", "") + base,
            rest=rest or "",
            headers=headers,
            query=query_params(scope),
            body=await read_body(receive, _ADMIN_BODY_LIMIT) if method == "POST" else b"",
            secure=scope.get("scheme") == "https" or forwarded == "https",
        )

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self.bridge.start()
                except Exception as exc:
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                try:
                    await self.bridge.aclose()
                except Exception as exc:
                    await send({"type": "lifespan.shutdown.failed", "message": str(exc)})
                    return
                await send({"type": "lifespan.shutdown.complete"})
                return
