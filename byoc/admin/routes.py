"""The admin routes under `.../admin`, answered for `byoc.http.HttpApp`.

- `GET /admin`: the page (or the login form, 401; or a page saying how to turn it on, 404).
- `POST /admin/login` (form `token`): sets the session cookie and goes back to the page.
- `POST /admin/logout`: clears it.
- `POST /admin/dead-letters/{id}/replay` and `.../drop`: act on a dead letter. A browser form
  gets a redirect back to the page with what happened; other clients get JSON.

Errors raised here (`NotFound`, `AdminRefused`) go through the HTTP layer's one mapping.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from typing import Protocol
from urllib.parse import parse_qsl, quote, unquote_plus

from ..clock import Clock
from ..errors import NotFound, RequestError
from ..status import BridgeStatus
from ..webhook import WebhookResponse
from .auth import COOKIE_NAME, AdminAuth
from .page import admin_page, login_page, off_page

__all__ = ["ADMIN_PATH", "AdminBackend", "AdminRefused", "AdminRoutes"]

ADMIN_PATH = re.compile(r"^(?P<base>(?:.*?/)?admin)(?P<rest>/[^?]*)?$")
_DEAD_ACTION = re.compile(r"^/dead-letters/(?P<id>\d{1,18})/(?P<action>replay|drop)/?$")
_HTML = "text/html; charset=utf-8"


class AdminRefused(RequestError):
    """A POST to the admin page without its form token (HTTP 403)."""

    status_code = 403


def _headers(nonce: str) -> dict[str, str]:
    return {
        "content-security-policy": (
            f"default-src 'none'; style-src 'nonce-{nonce}'; script-src 'nonce-{nonce}'; "
            "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
        ),
        "x-frame-options": "DENY",
        "cache-control": "no-store",
        "referrer-policy": "no-referrer",
        "x-content-type-options": "nosniff",
    }


def _html(body: str, nonce: str, status: int = 200, **extra: str) -> WebhookResponse:
    return WebhookResponse(
        status=status,
        body=body.encode(),
        content_type=_HTML,
        headers={**_headers(nonce), **extra},
    )


def _redirect(location: str, **extra: str) -> WebhookResponse:
    return WebhookResponse(
        status=303,
        body=b"",
        content_type="text/plain",
        headers={"location": location, "cache-control": "no-store", **extra},
    )


def _form(body: bytes) -> dict[str, str]:
    return dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))


def _wants_html(headers: Mapping[str, str]) -> bool:
    return "text/html" in headers.get("accept", "") or headers.get("content-type", "").startswith(
        "application/x-www-form-urlencoded"
    )


class AdminBackend(Protocol):
    """What the admin page reads and does: a status snapshot, and dead-letter actions."""

    async def status(self) -> BridgeStatus: ...

    async def replay(self, dead_id: int) -> bool: ...

    async def drop(self, dead_id: int) -> bool: ...


class AdminRoutes:
    """Serves the admin page of one bridge; off (a page saying how to turn it on) without a
    token. `label` marks the page (the demo passes "DEMO")."""

    def __init__(
        self, backend: AdminBackend, *, token: str | None, label: str | None, clock: Clock
    ) -> None:
        self.backend = backend
        self.label = label
        self.clock = clock
        self.auth = AdminAuth(token) if token else None

    async def respond(
        self,
        *,
        method: str,
        base: str,
        rest: str,
        headers: Mapping[str, str],
        query: Mapping[str, str],
        body: bytes,
        secure: bool,
    ) -> WebhookResponse:
        """Answer a request whose path is `base + rest` (`base` ends in `/admin`)."""
        nonce = secrets.token_urlsafe(16)
        rest = rest.rstrip("/")
        if self.auth is None:
            if method in ("GET", "HEAD") and not rest:
                return _html(off_page(nonce), nonce, status=404)
            raise NotFound("the admin page is off; set BYOC_ADMIN_TOKEN to turn it on")
        if rest == "/login" and method == "POST":
            return self._login(base, body, nonce, secure)
        via = self.auth.authenticate(headers)
        if not rest and method in ("GET", "HEAD"):
            if via is None:
                return _html(login_page(base, nonce, self.label), nonce, status=401)
            return await self._page(base, query, nonce)
        if method != "POST":
            return WebhookResponse.json(
                {"ok": False, "error": f"{method} is not allowed here"},
                status=405,
                headers={"allow": "POST"},
            )
        form = _form(body)
        if via is None:
            if _wants_html(headers):
                return _redirect(base)
            return WebhookResponse.json(
                {"ok": False, "error": "log in, or send Authorization: Bearer <BYOC_ADMIN_TOKEN>"},
                status=401,
            )
        if not self.auth.form_is_genuine(via, form, headers):
            raise AdminRefused(
                "the form token is missing or wrong; reload the admin page and try again"
            )
        if rest == "/logout":
            return _redirect(base, **{"set-cookie": self._cookie(base, "", secure, max_age=0)})
        action = _DEAD_ACTION.match(rest)
        if action is None:
            raise NotFound(f"no admin action at {base}{rest}")
        return await self._act(int(action.group("id")), action.group("action"), base, headers)

    def _cookie(self, base: str, value: str, secure: bool, max_age: int | None = None) -> str:
        parts = [f"{COOKIE_NAME}={value}", f"Path={base}", "HttpOnly", "SameSite=Strict"]
        if secure:
            parts.append("Secure")
        if max_age is not None:
            parts.append(f"Max-Age={max_age}")
        return "; ".join(parts)

    def _login(self, base: str, body: bytes, nonce: str, secure: bool) -> WebhookResponse:
        assert self.auth is not None
        if not self.auth.token_matches(_form(body).get("token", "")):
            page = login_page(base, nonce, self.label, error="That is not the admin token.")
            return _html(page, nonce, status=401)
        return _redirect(base, **{"set-cookie": self._cookie(base, self.auth.session, secure)})

    async def _page(self, base: str, query: Mapping[str, str], nonce: str) -> WebhookResponse:
        assert self.auth is not None
        view = await self.backend.status()
        flash = query.get("done")
        page = admin_page(
            view,
            base=base,
            csrf=self.auth.csrf,
            nonce=nonce,
            now=self.clock.time(),
            flash=unquote_plus(flash)[:200] if flash else None,
        )
        return _html(page, nonce)

    async def _act(
        self, dead_id: int, action: str, base: str, headers: Mapping[str, str]
    ) -> WebhookResponse:
        if action == "replay":
            done = await self.backend.replay(dead_id)
            said = f"Dead letter {dead_id} queued again." if done else ""
        else:
            done = await self.backend.drop(dead_id)
            said = f"Dead letter {dead_id} dropped." if done else ""
        if not done:
            said = f"No dead letter {dead_id} (already replayed or dropped?)."
        if _wants_html(headers):
            return _redirect(f"{base}?done={quote(said)}")
        if not done:
            raise NotFound(said)
        return WebhookResponse.json({"ok": True, "message": said})
