"""The admin routes under `.../admin`, answered for `byoc.http.HttpApp`.

- `GET /admin`: the page (or the login form, 401; or a page saying how to turn it on, 404).
- `POST /admin/login` (form `token`): opens a session (cookie) and goes back to the page; 429
  after too many failed tries from one address.
- `POST /admin/logout`: ends the session (the cookie no longer works, even if copied).
- `POST /admin/dead-letters/{id}/replay` and `.../drop`: act on a dead letter. A browser form
  gets a redirect back to the page with what happened; other clients get JSON.

Errors raised here (`NotFound`, `AdminRefused`) go through the HTTP layer's one mapping.
"""

from __future__ import annotations

import math
import re
import secrets
from collections.abc import Mapping
from typing import Protocol
from urllib.parse import parse_qsl

from ..clock import Clock
from ..errors import NotFound, RequestError
from ..status import BridgeStatus
from ..store import Store
from ..webhook import WebhookResponse
from .auth import COOKIE_NAME, SESSION_LIFETIME, AdminAuth, Session, TooManyLogins
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
    token. `label` marks the page (the demo passes "DEMO"); `secure_cookies` sets the cookie's
    Secure flag whatever the request's scheme (the bridge's public URL is https)."""

    def __init__(
        self,
        backend: AdminBackend,
        *,
        token: str | None,
        store: Store,
        label: str | None,
        clock: Clock,
        secure_cookies: bool = False,
    ) -> None:
        self.backend = backend
        self.label = label
        self.clock = clock
        self.secure_cookies = secure_cookies
        self.auth = AdminAuth(token, store, clock) if token else None

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
        client: str = "",
    ) -> WebhookResponse:
        """Answer a request whose path is `base + rest` (`base` ends in `/admin`).

        `secure` says the request came over https (as the server, behind a trusted proxy,
        saw it); `client` is its address, for login throttling.
        """
        nonce = secrets.token_urlsafe(16)
        # "//evil.example/admin" would make every link and form on the page point elsewhere.
        base = "/" + base.lstrip("/")
        rest = rest.rstrip("/")
        secure = secure or self.secure_cookies
        if self.auth is None:
            if method in ("GET", "HEAD") and not rest:
                return _html(off_page(nonce), nonce, status=404)
            raise NotFound("the admin page is off; set BYOC_ADMIN_TOKEN to turn it on")
        if rest == "/login" and method == "POST":
            return await self._login(base, body, nonce, secure, client)
        session = await self.auth.authenticate(headers)
        if not rest and method in ("GET", "HEAD"):
            if session is None:
                return _html(login_page(base, nonce, self.label), nonce, status=401)
            return await self._page(base, query, nonce, session)
        if method != "POST":
            return WebhookResponse.json(
                {"ok": False, "error": f"{method} is not allowed here"},
                status=405,
                headers={"allow": "POST"},
            )
        form = _form(body)
        if session is None:
            if _wants_html(headers):
                return _redirect(base)
            return WebhookResponse.json(
                {"ok": False, "error": "log in, or send Authorization: Bearer <admin token>"},
                status=401,
            )
        if not self.auth.form_is_genuine(session, form, headers):
            raise AdminRefused(
                "the form token is missing or wrong; reload the admin page and try again"
            )
        if rest == "/logout":
            await self.auth.logout(session)
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

    async def _login(
        self, base: str, body: bytes, nonce: str, secure: bool, client: str
    ) -> WebhookResponse:
        assert self.auth is not None
        try:
            session_id = await self.auth.login(_form(body).get("token", ""), client)
        except TooManyLogins as exc:
            page = login_page(base, nonce, self.label, error=str(exc))
            return _html(
                page, nonce, status=429, **{"retry-after": str(math.ceil(exc.retry_after))}
            )
        except PermissionError as exc:
            page = login_page(base, nonce, self.label, error=str(exc))
            return _html(page, nonce, status=401)
        cookie = self._cookie(base, session_id, secure, max_age=int(SESSION_LIFETIME))
        return _redirect(base, **{"set-cookie": cookie})

    async def _page(
        self, base: str, query: Mapping[str, str], nonce: str, session: Session
    ) -> WebhookResponse:
        assert self.auth is not None
        view = await self.backend.status()
        page = admin_page(
            view,
            base=base,
            csrf=self.auth.csrf(session),
            nonce=nonce,
            now=self.clock.time(),
            flash=_flash(query.get("done", "")),
        )
        return _html(page, nonce)

    async def _act(
        self, dead_id: int, action: str, base: str, headers: Mapping[str, str]
    ) -> WebhookResponse:
        if action == "replay":
            done = await self.backend.replay(dead_id)
        else:
            done = await self.backend.drop(dead_id)
        past = {"replay": "replayed", "drop": "dropped"}[action]
        outcome = f"{past}:{dead_id}" if done else f"missing:{dead_id}"
        said = _flash(outcome) or ""
        if _wants_html(headers):
            return _redirect(f"{base}?done={outcome}")
        if not done:
            raise NotFound(said)
        return WebhookResponse.json({"ok": True, "message": said})


_FLASH = re.compile(r"^(?P<what>replayed|dropped|missing):(?P<id>\d{1,18})$")
_FLASH_TEXT = {
    "replayed": "Dead letter {id} queued again.",
    "dropped": "Dead letter {id} dropped.",
    "missing": "No dead letter {id} (already replayed or dropped?).",
}


def _flash(code: str) -> str | None:
    """The notice for an outcome code in `?done=`; the page never shows text from the URL."""
    found = _FLASH.match(code)
    if found is None:
        return None
    return _FLASH_TEXT[found.group("what")].format(id=found.group("id"))
