"""Who may see the admin page, and proof that a form was posted from it.

Two ways in, both with `BYOC_ADMIN_TOKEN`:

- `Authorization: Bearer <token>` (scripts, curl): never sent by a browser on its own, so a
  request carrying it cannot be forged by another site and needs no form token.
- the login form, which sets a session cookie (`HttpOnly`, `SameSite=Strict`). A browser sends
  cookies with requests other sites trigger, so every POST made with the cookie must also carry
  the page's form token (`csrf` field or `X-CSRF-Token` header).

The cookie and the form token are HMACs of the admin token (never the token itself): changing
`BYOC_ADMIN_TOKEN` logs every session out.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from http.cookies import CookieError, SimpleCookie
from typing import Literal

__all__ = ["COOKIE_NAME", "AdminAuth", "Via"]

COOKIE_NAME = "byoc_admin"

Via = Literal["bearer", "cookie"]


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode("utf-8", "surrogateescape"), expected.encode())


class AdminAuth:
    """Checks requests against one admin token."""

    def __init__(self, token: str) -> None:
        self._token = token

    def _derive(self, purpose: str) -> str:
        return hmac.new(self._token.encode(), purpose.encode(), hashlib.sha256).hexdigest()

    @property
    def session(self) -> str:
        """The session cookie's value."""
        return self._derive("byoc admin session v1")

    @property
    def csrf(self) -> str:
        """The form token every cookie-authenticated POST must carry."""
        return self._derive("byoc admin form v1")

    def token_matches(self, given: str) -> bool:
        return _same(given.strip(), self._token)

    def authenticate(self, headers: Mapping[str, str]) -> Via | None:
        """How the request proves it is the admin, or None."""
        scheme, _, value = headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and self.token_matches(value):
            return "bearer"
        cookie = SimpleCookie()
        try:
            cookie.load(headers.get("cookie", ""))
        except CookieError:
            return None
        morsel = cookie.get(COOKIE_NAME)
        if morsel is not None and _same(morsel.value, self.session):
            return "cookie"
        return None

    def form_is_genuine(
        self, via: Via, form: Mapping[str, str], headers: Mapping[str, str]
    ) -> bool:
        """Whether a POST may act: bearer requests always, cookie ones with the form token."""
        if via == "bearer":
            return True
        given = form.get("csrf") or headers.get("x-csrf-token") or ""
        return _same(given, self.csrf)
