"""A thin async client for the Freshchat REST API v2: one method per endpoint, one HTTP call each.

It sends the headers Freshchat expects, returns the parsed JSON object of a 2xx answer and turns
every other outcome into byoc's error hierarchy in one place (`_raise_for_status`):

| answer                                   | raised                                         |
|------------------------------------------|------------------------------------------------|
| any 2xx (200, 201, 202)                  | nothing: the JSON object (`{}` for no body)    |
| 401, 403                                 | `ConfigurationError` naming the token setting  |
| 429                                      | `RateLimited` with `retry_after` from Retry-After |
| 5xx, 408, timeouts, connection errors    | `RetryableError`                               |
| 4xx saying "not the latest conversation" | `StaleConversation`                            |
| other 4xx                                | `FreshchatRefused` (a `PermanentError`)        |

The client never retries: the retry policy lives with the delivery queue, which knows whether a
call is safe to repeat (POST /messages has no idempotency key).

```python
client = FreshchatClient("https://acme.freshchat.com/v2", token)
users = (await client.find_users("viber:jc9HsWTZ2Yf2NkRZ8KcNug=="))["users"]
await client.aclose()
```
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import quote

import attrs
import httpx

from ..errors import (
    ConfigurationError,
    PermanentError,
    RetryableError,
    StaleConversation,
)
from ..http_client import HttpClientSlot
from ..transport import Endpoint
from ..upstream import (
    json_object,
    raise_unless_refusal,
    summary,
    transport_errors,
)

__all__ = ["FreshchatClient", "FreshchatRefused"]

_JSON = "application/json"
_TOKEN_HELP = (
    "check BYOC_FRESHCHAT_API_TOKEN: copy the token from Freshchat Admin > API Tokens "
    "(generating a new token there revokes the old one)"
)
_URL_HELP = "BYOC_FRESHCHAT_API_URL, e.g. https://<account>.freshchat.com/v2"
_STALE_MARKER = "not the latest conversation"
_HEADER_SAFE = re.compile(r"^[\x21-\x7e]+$")
_BEARER = re.compile(r"^bearer(\s+|$)", re.IGNORECASE)


class FreshchatRefused(PermanentError):
    """Freshchat refused the request for good (a 4xx other than auth, throttling, staleness).

    Carries what Freshchat said: `http_status`, and from its error body `code`, `status`
    (e.g. `INVALID_VALUE`, `USER_NOT_FOUND`) and `message`; `status` and `code` are None when the
    body was not Freshchat's JSON error shape.
    """

    def __init__(
        self,
        text: str,
        *,
        http_status: int,
        code: int | None = None,
        status: str | None = None,
        message: str = "",
    ) -> None:
        super().__init__(text)
        self.http_status = http_status
        self.code = code
        self.status = status
        self.message = message


class FreshchatClient:
    """Async low-level client for Freshchat REST v2; every method is one HTTP call.

    `api_url` is used as given, minus a trailing slash (no `/v2` is added: Suite accounts may
    live under another prefix). An `http` client passed in stays the caller's to close; one made
    here is closed by `aclose()`. `timeout` (seconds) applies to every call.
    """

    def __init__(
        self,
        api_url: str,
        token: str,
        *,
        http: httpx.AsyncClient | None = None,
        timeout: float = 15.0,
    ) -> None:
        url = api_url.strip()
        if not url.startswith(("https://", "http://")):
            raise ConfigurationError(f"set {_URL_HELP} (got {url!r}, which is not an http(s) URL)")
        self._base = url.rstrip("/")
        self._token = _bare_token(token)
        self._headers = {"Authorization": f"Bearer {self._token}", "Accept": _JSON}
        self._timeout = timeout
        self._slot = HttpClientSlot(http, timeout=timeout)
        self._endpoint: Endpoint | None = None

    @property
    def _api(self) -> Endpoint:
        # Freshchat's common headers: JSON both ways, on every call but multipart uploads.
        # Built on first use, on the client the slot gives (made then, if none was given).
        if self._endpoint is None or self._endpoint.client is not self.http:
            self._endpoint = Endpoint(
                self.http,
                self._base,
                headers={**self._headers, "Content-Type": _JSON},
                timeout=self._timeout,
            )
        return self._endpoint

    @property
    def http(self) -> httpx.AsyncClient:
        """The underlying HTTP client (also used to download media; it sends no credentials)."""
        return self._slot.client

    async def aclose(self) -> None:
        """Close the HTTP client if this object made it."""
        await self._slot.aclose()

    # -- users ---------------------------------------------------------------------------------

    async def find_users(self, reference_id: str) -> dict[str, Any]:
        """`GET /users?reference_id=`: `{"users": [...]}`, an empty list when none match."""
        return await self._call("GET", "/users", params={"reference_id": reference_id})

    async def create_user(self, body: dict[str, Any]) -> dict[str, Any]:
        """`POST /users`: the created user, with its generated `id`."""
        return await self._call("POST", "/users", body=body)

    async def get_user(self, user_id: str) -> dict[str, Any]:
        """`GET /users/{id}`."""
        return await self._call("GET", f"/users/{_segment(user_id)}")

    async def list_user_conversations(self, user_id: str) -> dict[str, Any]:
        """`GET /users/{id}/conversations`: `{"conversations": [{"id": ...}, ...]}`."""
        return await self._call("GET", f"/users/{_segment(user_id)}/conversations")

    # -- conversations and messages ------------------------------------------------------------

    async def create_conversation(self, body: dict[str, Any]) -> dict[str, Any]:
        """`POST /conversations`: a conversation whose first message is in `body["messages"]`."""
        return await self._call("POST", "/conversations", body=body)

    async def get_conversation(self, conversation_id: str) -> dict[str, Any]:
        """`GET /conversations/{id}` (sparse: no messages, no users)."""
        return await self._call(
            "GET", f"/conversations/{_segment(conversation_id)}", conversation_id=conversation_id
        )

    async def update_conversation(
        self, conversation_id: str, body: dict[str, Any]
    ) -> dict[str, Any]:
        """`PUT /conversations/{id}`: status, assignment, `properties` (an object)."""
        return await self._call(
            "PUT",
            f"/conversations/{_segment(conversation_id)}",
            body=body,
            conversation_id=conversation_id,
        )

    async def post_message(self, conversation_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """`POST /conversations/{id}/messages`: the created message, with its `id`."""
        return await self._call(
            "POST",
            f"/conversations/{_segment(conversation_id)}/messages",
            body=body,
            conversation_id=conversation_id,
        )

    async def list_messages(
        self, conversation_id: str, *, items_per_page: int = 50, page: int | None = None
    ) -> dict[str, Any]:
        """`GET /conversations/{id}/messages`: `{"messages": [...], "link"?}`, newest first."""
        params: dict[str, str | int] = {"items_per_page": items_per_page}
        if page is not None:
            params["page"] = page
        return await self._call(
            "GET",
            f"/conversations/{_segment(conversation_id)}/messages",
            params=params,
            conversation_id=conversation_id,
        )

    # -- account -------------------------------------------------------------------------------

    async def list_channels(self) -> dict[str, Any]:
        """`GET /channels` (first page of 100): `{"channels": [{"id", "name", "enabled"}, ...]}`."""
        return await self._call("GET", "/channels", params={"page": 1, "items_per_page": 100})

    async def account_configuration(self) -> dict[str, Any]:
        """`GET /accounts/configuration`: account and app ids; the cheapest token check."""
        return await self._call("GET", "/accounts/configuration")

    # -- uploads -------------------------------------------------------------------------------

    async def upload_image(
        self, filename: str, content: bytes, content_type: str
    ) -> dict[str, Any]:
        """`POST /images/upload` (multipart field `image`): `{"id", "url", ...}`."""
        return await self._call(
            "POST", "/images/upload", files={"image": (filename, content, content_type)}
        )

    async def upload_file(self, filename: str, content: bytes, content_type: str) -> dict[str, Any]:
        """`POST /files/upload` (multipart field `file`): `{"file_hash", "file_name", ...}`."""
        return await self._call(
            "POST", "/files/upload", files={"file": (filename, content, content_type)}
        )

    # -- plumbing ------------------------------------------------------------------------------

    async def _call(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str | int] | None = None,
        body: dict[str, Any] | None = None,
        files: dict[str, tuple[str, bytes, str]] | None = None,
        conversation_id: str | None = None,
    ) -> dict[str, Any]:
        what = f"Freshchat {method} {path}"
        with transport_errors(what, url_setting=_URL_HELP, timeout=self._timeout):
            if files is None:
                response = await self._api.send(method, path, params=params, json=body)
            else:
                # Multipart uploads carry their own boundary in Content-Type: httpx builds them.
                response = await self.http.request(
                    method,
                    self._base + path,
                    files=files,
                    headers=self._headers,
                    timeout=self._timeout,
                )
        _raise_for_status(
            response,
            what=what,
            conversation_id=conversation_id,
            secret=self._token,
            missing_v2=not self._base.endswith("/v2"),
        )
        return json_object(response, what=what)


def _bare_token(token: str) -> str:
    value = _BEARER.sub("", token.strip())
    if not value:
        raise ConfigurationError(f"BYOC_FRESHCHAT_API_TOKEN is empty; {_TOKEN_HELP}")
    if not _HEADER_SAFE.match(value):
        raise ConfigurationError(
            "BYOC_FRESHCHAT_API_TOKEN contains spaces, line breaks or non-ASCII characters "
            f"(pasted with quotes or wrapped?); {_TOKEN_HELP}"
        )
    return value


def _segment(value: str) -> str:
    # Ids are opaque strings; a "/" or "?" in one must not change the route.
    return quote(str(value), safe="")


@attrs.frozen(kw_only=True)
class _ErrorBody:
    """What an error answer said: Freshchat's `{"code", "status", "message"}`, or a digest of
    whatever else came back (an HTML page from a proxy, plain text, nothing)."""

    code: int | None = None
    status: str | None = None
    message: str = ""

    @classmethod
    def parse(cls, response: httpx.Response, *, secret: str) -> _ErrorBody:
        text = response.content.decode("utf-8", errors="replace")
        try:
            payload = json.loads(text)
        except (ValueError, RecursionError):
            payload = None
        if isinstance(payload, dict):
            code = payload.get("code")
            status = payload.get("status")
            message = payload.get("message")
            return cls(
                code=code if isinstance(code, int) and not isinstance(code, bool) else None,
                status=status if isinstance(status, str) else None,
                message=_redact(
                    message if isinstance(message, str) else summary(text), secret=secret
                ),
            )
        return cls(message=_redact(summary(text), secret=secret))

    def describe(self, http_status: int) -> str:
        label = " ".join(str(x) for x in (http_status, self.status) if x)
        return f"{label}: {self.message}" if self.message else label


def _redact(text: str, *, secret: str) -> str:
    return text.replace(secret, "<token>") if secret else text


def _raise_for_status(
    response: httpx.Response,
    *,
    what: str,
    conversation_id: str | None,
    secret: str,
    missing_v2: bool,
) -> None:
    """Map a non-2xx answer to byoc's errors: the one place that decides what a status means."""
    code = response.status_code
    if 200 <= code < 300:
        return
    error = _ErrorBody.parse(response, secret=secret)
    said = f"{what} answered {error.describe(code)}"
    raise_unless_refusal(
        response,
        said,
        credentials=f"Freshchat refused the API token: {_TOKEN_HELP}",
        url_help=f"check {_URL_HELP}",
    )
    # The reference saw this text with a 400 and the exact JSON is unverified: match it in any
    # 4xx body, in Freshchat's `message` or in raw text.
    if conversation_id is not None and _STALE_MARKER in error.message.lower():
        raise StaleConversation(said, conversation_id=conversation_id)
    if 400 <= code < 500:
        if code == 404 and missing_v2:
            said += f" (the API lives under /v2; check {_URL_HELP})"
        raise FreshchatRefused(
            said, http_status=code, code=error.code, status=error.status, message=error.message
        )
    raise RetryableError(f"{said} (an unexpected status)")
