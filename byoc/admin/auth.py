"""Who may see the admin page, and proof that a form was posted from it.

Two ways in, both with `BYOC_ADMIN_TOKEN`:

- `Authorization: Bearer <token>` (scripts, curl): never sent by a browser on its own, so a
  request carrying it cannot be forged by another site and needs no form token.
- the login form, which opens a session: a random id in a cookie (`HttpOnly`,
  `SameSite=Strict`), recorded in the store with its expiry. Logging out deletes the record, so
  a copied cookie stops working at once; so does changing `BYOC_ADMIN_TOKEN`. A browser sends
  cookies with requests other sites trigger, so every POST made with the cookie must also carry
  the session's form token (`csrf` field or `X-CSRF-Token` header).

Failed logins are throttled per client address (`LoginThrottle`).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import secrets
from collections import defaultdict, deque
from collections.abc import Mapping
from http.cookies import CookieError, SimpleCookie
from typing import Literal

import attrs

from ..clock import Clock
from ..errors import RequestError
from ..store import Store

__all__ = ["COOKIE_NAME", "AdminAuth", "LoginThrottle", "Session", "TooManyLogins"]

COOKIE_NAME = "byoc_admin"
SESSION_LIFETIME = 12 * 3600.0
"""Seconds a login lasts."""
_INDEX_KEY = "admin-sessions"


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode("utf-8", "surrogateescape"), expected.encode())


def _record_key(session_id: str) -> str:
    # The store holds a hash of the id: reading the store does not open a session.
    return "admin-session:" + hashlib.sha256(session_id.encode()).hexdigest()


@attrs.frozen(kw_only=True)
class Session:
    """How a request proved it is the admin: a bearer token, or a login session."""

    via: Literal["bearer", "cookie"]
    id: str | None = None


class TooManyLogins(RequestError):
    """Too many failed logins from one address: try again later (HTTP 429)."""

    status_code = 429

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class LoginThrottle:
    """At most `limit` failed logins per client address within `window` seconds."""

    def __init__(self, clock: Clock, *, limit: int = 5, window: float = 300.0) -> None:
        self.clock = clock
        self.limit = limit
        self.window = window
        self._failures: dict[str, deque[float]] = defaultdict(deque)

    def _recent(self, client: str) -> deque[float]:
        failures = self._failures[client]
        now = self.clock.time()
        while failures and failures[0] <= now - self.window:
            failures.popleft()
        if not failures:
            del self._failures[client]
        return failures

    def check(self, client: str) -> None:
        """Raise `TooManyLogins` when `client` used up its failures."""
        failures = self._recent(client)
        if len(failures) >= self.limit:
            wait = failures[0] + self.window - self.clock.time()
            raise TooManyLogins(
                f"too many failed logins from this address; try again in {math.ceil(wait)} s",
                retry_after=wait,
            )

    def failed(self, client: str) -> None:
        self._recent(client)
        self._failures[client].append(self.clock.time())
        # An address space sprayed with attempts must not grow this without bound.
        if len(self._failures) > 10_000:
            oldest = min(self._failures, key=lambda c: self._failures[c][-1])
            del self._failures[oldest]


class AdminAuth:
    """Checks requests against one admin token; keeps login sessions in the store."""

    def __init__(self, token: str, store: Store, clock: Clock) -> None:
        self._token = token
        self._store = store
        self._clock = clock
        self.throttle = LoginThrottle(clock)
        # Sessions opened under another token are void.
        self._fingerprint = self._derive("byoc admin session v2")

    def _derive(self, purpose: str) -> str:
        return hmac.new(self._token.encode(), purpose.encode(), hashlib.sha256).hexdigest()

    def csrf(self, session: Session) -> str:
        """The form token a cookie-authenticated POST of this session must carry."""
        return self._derive(f"byoc admin form v2:{session.id or ''}")

    def token_matches(self, given: str) -> bool:
        return _same(given.strip(), self._token)

    async def login(self, given: str, client: str) -> str:
        """A new session id for the right token; `TooManyLogins` or `PermissionError` else."""
        self.throttle.check(client)
        if not self.token_matches(given):
            self.throttle.failed(client)
            raise PermissionError("That is not the admin token.")
        session_id = secrets.token_urlsafe(32)
        expires = self._clock.time() + SESSION_LIFETIME
        record = {"expires": expires, "token": self._fingerprint}
        await self._store.set_setting(_record_key(session_id), json.dumps(record))
        await self._index(add=(_record_key(session_id), expires))
        return session_id

    async def logout(self, session: Session) -> None:
        if session.id is not None:
            await self._store.delete_setting(_record_key(session.id))
            await self._index(drop=_record_key(session.id))

    async def _index(
        self, *, add: tuple[str, float] | None = None, drop: str | None = None
    ) -> None:
        """Keep the list of session records, and delete the expired ones it finds.

        Abandoned sessions (a browser closed, never logged out) would otherwise stay in the
        store for good. Two replicas updating it at once may lose an entry; that record is
        then only ever removed when its cookie comes back, which an expired one may not.
        """
        raw = await self._store.get_setting(_INDEX_KEY)
        try:
            index = {str(k): float(v) for k, v in json.loads(raw or "{}").items()}
        except (ValueError, TypeError, AttributeError):
            index = {}
        now = self._clock.time()
        for key in [k for k, expires in index.items() if expires <= now or k == drop]:
            del index[key]
            await self._store.delete_setting(key)
        if add is not None:
            index[add[0]] = add[1]
        await self._store.set_setting(_INDEX_KEY, json.dumps(index))

    async def authenticate(self, headers: Mapping[str, str]) -> Session | None:
        """How the request proves it is the admin, or None."""
        scheme, _, value = headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and self.token_matches(value):
            return Session(via="bearer")
        cookie = SimpleCookie()
        try:
            cookie.load(headers.get("cookie", ""))
        except CookieError:
            return None
        morsel = cookie.get(COOKIE_NAME)
        if morsel is None or not morsel.value or len(morsel.value) > 128:
            return None
        key = _record_key(morsel.value)
        raw = await self._store.get_setting(key)
        if raw is None:
            return None
        try:
            record = json.loads(raw)
            alive = float(record["expires"]) > self._clock.time()
            ours = _same(str(record["token"]), self._fingerprint)
        except (ValueError, KeyError, TypeError):
            alive = ours = False
        if not (alive and ours):
            await self._store.delete_setting(key)
            return None
        return Session(via="cookie", id=morsel.value)

    def form_is_genuine(
        self, session: Session, form: Mapping[str, str], headers: Mapping[str, str]
    ) -> bool:
        """Whether a POST may act: bearer requests always, cookie ones with the form token."""
        if session.via == "bearer":
            return True
        given = form.get("csrf") or headers.get("x-csrf-token") or ""
        return _same(given, self.csrf(session))
