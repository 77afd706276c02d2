"""The bridge's HTTP surface as a plain ASGI app, and the one place errors become status codes.

It knows nothing of `Bridge`: it routes requests to narrow protocols — a `WebhookHandler`
(`Sync`) for webhooks, a `Monitor` for `/healthz` and `/metrics`, a `Lifecycle` for the ASGI
lifespan — and to the admin routes.

Routes are matched on the end of the path, so the app works under any prefix, whether or not
the server or framework sets `root_path`:

- `POST .../channels/{name}/webhook[/{subpath}]`: a channel's webhook;
- `POST .../messaging/webhook`: the help desk's webhook;
- `GET .../healthz`: liveness; `GET .../metrics`: Prometheus text;
- `.../admin[/...]`: the admin page (`byoc.admin`).
"""

from __future__ import annotations

import hmac
import logging
import math
import re
from typing import Protocol

import attrs

from .admin.routes import ADMIN_PATH, AdminRoutes
from .asgi import (
    Receive,
    Scope,
    Send,
    lifespan,
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
    SignatureError,
)
from .hops import Hops
from .status import Health
from .webhook import WebhookRequest, WebhookResponse

__all__ = ["HttpApp", "Lifecycle", "Monitor", "WebhookHandler", "error_response"]

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
    if isinstance(exc, SignatureError):
        # The reason (which setting holds the wrong key) is for the operator, in the log and
        # on the admin page; the sender, maybe a prober, learns only that it failed.
        log.warning("refused webhook (401): %s", exc)
        return _error(401, "the request's signature or secret does not verify")
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


class WebhookHandler(Protocol):
    """Takes verified-and-parsed webhooks on (`byoc.sync.Sync`)."""

    async def channel_webhook(self, name: str, request: WebhookRequest) -> WebhookResponse: ...

    async def messaging_webhook(self, request: WebhookRequest) -> WebhookResponse: ...


class Monitor(Protocol):
    """Answers `/healthz` and `/metrics`."""

    async def health(self) -> Health: ...

    async def metrics_text(self) -> str: ...


class Lifecycle(Protocol):
    """Started and stopped by the ASGI lifespan."""

    async def start(self) -> None: ...

    async def aclose(self) -> None: ...


class HttpApp:
    """The ASGI app: routes, body limit, errors → status codes."""

    def __init__(
        self,
        *,
        webhooks: WebhookHandler,
        monitor: Monitor,
        lifecycle: Lifecycle,
        admin: AdminRoutes,
        hops: Hops,
        max_body_size: int,
        metrics_tokens: tuple[str, ...] = (),
    ) -> None:
        """`metrics_tokens`: bearer tokens that may read `/metrics` (none: it is open)."""
        self.webhooks = webhooks
        self.monitor = monitor
        self.lifecycle = lifecycle
        self.admin = admin
        self.hops = hops
        self.max_body_size = max_body_size
        self.metrics_tokens = tuple(t for t in metrics_tokens if t)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await lifespan(receive, send, self.lifecycle.start, self.lifecycle.aclose)
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
                return await self._health()
            if _METRICS.match(path) and method in ("GET", "HEAD"):
                return await self._metrics(request_headers(scope))
            admin = ADMIN_PATH.match(path)
            if admin is not None:
                return await self._admin(scope, receive, admin.group("base"), admin.group("rest"))
            return _error(404, f"no route for {path}")
        if method != "POST":
            return _error(405, "webhooks take POST", {"allow": "POST"})
        try:
            request = WebhookRequest(
                body=await read_body(receive, self.max_body_size),
                headers=request_headers(scope),
                method=method,
                path=path,
                query=query_params(scope),
                subpath=(channel.group("subpath") or "") if channel else "",
            )
            if channel is not None:
                return await self.webhooks.channel_webhook(channel.group("name"), request)
            return await self.webhooks.messaging_webhook(request)
        except Exception as exc:
            response = error_response(exc)
            # Unknown channel names are not labels: a prober would grow the metrics at will.
            endpoint = "helpdesk" if channel is None else f"channel:{channel.group('name')}"
            if response.status == 404:
                endpoint = "unknown"
            self.hops.refused_webhook(endpoint, response.status, str(exc))
            return response

    async def _metrics(self, headers: dict[str, str]) -> WebhookResponse:
        if self.metrics_tokens:
            scheme, _, given = headers.get("authorization", "").partition(" ")
            presented = given.strip().encode("utf-8", "surrogateescape")
            if scheme.lower() != "bearer" or not any(
                hmac.compare_digest(presented, token.encode()) for token in self.metrics_tokens
            ):
                return _error(
                    401,
                    "metrics need Authorization: Bearer <metrics or admin token>",
                    {"www-authenticate": "Bearer"},
                )
        text = await self.monitor.metrics_text()
        return WebhookResponse(body=text.encode(), content_type=_METRICS_TYPE)

    async def _health(self) -> WebhookResponse:
        health = await self.monitor.health()
        if health.ok:
            return WebhookResponse.json({"status": "ok"})
        # A load balancer takes the replica out; an operator reads why.
        return WebhookResponse.json(
            {"status": "unhealthy", "problems": list(health.problems)}, status=503
        )

    async def _admin(
        self, scope: Scope, receive: Receive, base: str, rest: str | None
    ) -> WebhookResponse:
        headers = request_headers(scope)
        method = scope["method"].upper()
        client = scope.get("client")
        return await self.admin.respond(
            method=method,
            base=scope.get("root_path", "") + base,
            rest=rest or "",
            headers=headers,
            query=query_params(scope),
            body=await read_body(receive, _ADMIN_BODY_LIMIT) if method == "POST" else b"",
            # The scheme as the server saw it: a server behind a proxy sets it from
            # X-Forwarded-Proto only for the proxies it trusts (uvicorn --forwarded-allow-ips).
            secure=scope.get("scheme") == "https",
            client=str(client[0]) if client else "",
        )
