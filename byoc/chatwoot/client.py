"""A thin async client for Chatwoot's application API: one method per endpoint, one call each.

Every path is account-scoped (`/api/v1/accounts/{account_id}/...`) and every id an integer.
The token travels in the `api_access_token` header of each request (never on the shared HTTP
client, which also downloads media). A 2xx answer gives its JSON object; everything else is
turned into byoc's error hierarchy in one place (`_raise_for_status`):

| answer                                   | raised                                         |
|------------------------------------------|------------------------------------------------|
| any 2xx                                  | nothing: the JSON object (`{}` for no body)    |
| 401, 403                                 | `ConfigurationError` naming the token setting  |
| 429                                      | `RateLimited` with `retry_after` from Retry-After |
| 5xx, 408, timeouts, connection errors    | `RetryableError`                               |
| 404 on a conversation's route            | `StaleConversation` (deleted or not ours)      |
| 404 on a contact's route                 | `UnknownUser` (deleted)                        |
| other 4xx                                | `ChatwootRefused` (a `PermanentError`)         |

Chatwoot answers errors in three shapes, all read: `{"error": "..."}`,
`{"message": "...", "attributes": [...]}` (a failed validation, 422) and
`{"errors": ["..."]}` (no token at all); Rack::Attack's 429 is plain text and an unknown route
an HTML page. The client never retries: the delivery queue's retry policy decides.

```python
client = ChatwootClient("https://chat.acme.com", account_id=3, token=token)
found = await client.search_contacts("viber:jc9HsWTZ2Yf2NkRZ8KcNug==")
await client.aclose()
```
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

import attrs
import httpx

from ..errors import (
    ConfigurationError,
    PermanentError,
    RetryableError,
    StaleConversation,
    UnknownUser,
)
from ..http_client import HttpClientSlot
from ..upstream import json_object, raise_unless_refusal, summary, transport_errors

__all__ = ["ChatwootClient", "ChatwootRefused", "Upload", "form_fields"]

_TOKEN_HELP = (
    "check BYOC_CHATWOOT_API_TOKEN (Chatwoot > Profile settings > Access Token) and that its "
    "user may use the account and the inbox (an agent must be a member of the inbox)"
)
_URL_HELP = "BYOC_CHATWOOT_URL, the base URL of the installation, e.g. https://chat.acme.com"
_HEADER_SAFE = re.compile(r"^[\x21-\x7e]+$")


class ChatwootRefused(PermanentError):
    """Chatwoot refused the request for good (a 4xx other than auth, throttling, staleness).

    Carries `http_status`, Chatwoot's `message` and, for a failed validation (422), the
    `attributes` it names (`["identifier"]` when an identifier is taken).
    """

    def __init__(
        self,
        text: str,
        *,
        http_status: int,
        message: str = "",
        attributes: Sequence[str] = (),
    ) -> None:
        super().__init__(text)
        self.http_status = http_status
        self.message = message
        self.attributes = tuple(attributes)


@attrs.frozen(kw_only=True)
class Upload:
    """A file to attach to a message: sent as one part of the multipart body."""

    name: str
    content: bytes = attrs.field(repr=lambda b: f"<{len(b)} bytes>")
    content_type: str


class ChatwootClient:
    """Async low-level client for Chatwoot's API; every method is one HTTP call.

    An `http` client passed in stays the caller's to close; one made here is closed by
    `aclose()`. `timeout` (seconds) applies to every call.
    """

    def __init__(
        self,
        url: str,
        *,
        account_id: int,
        token: str,
        http: httpx.AsyncClient | None = None,
        timeout: float = 15.0,
    ) -> None:
        base = url.strip().rstrip("/")
        if not base.startswith(("https://", "http://")):
            raise ConfigurationError(f"set {_URL_HELP} (got {base!r}, not an http(s) URL)")
        if base.endswith("/api/v1") or "/api/v1/" in base + "/":
            raise ConfigurationError(f"set {_URL_HELP}, without /api/v1 (got {base!r})")
        self._base = f"{base}/api/v1/accounts/{account_id}"
        self._token = _bare_token(token)
        self._timeout = timeout
        self._slot = HttpClientSlot(http, timeout=timeout)

    @property
    def http(self) -> httpx.AsyncClient:
        """The underlying HTTP client (it carries no credentials: media downloads use it too)."""
        return self._slot.client

    async def aclose(self) -> None:
        """Close the HTTP client if this object made it."""
        await self._slot.aclose()

    # -- contacts ------------------------------------------------------------------------------

    async def search_contacts(self, query: str, *, page: int = 1) -> dict[str, Any]:
        """`GET /contacts/search?q=`: `{"meta", "payload": [contact, ...]}`, 15 a page.

        Matches name, email and phone case-insensitively and `identifier` as a substring: the
        caller filters. Rack::Attack throttles it harder than the rest of the API.
        """
        params: dict[str, str | int] = {"q": query, "page": page, "include_contact_inboxes": "true"}
        return await self._call("GET", "/contacts/search", params=params)

    async def filter_contacts(
        self, rules: Sequence[Mapping[str, Any]], *, page: int = 1
    ) -> dict[str, Any]:
        """`POST /contacts/filter`: `{"meta", "payload": [contact, ...]}`, 15 a page.

        `rules` are `{"attribute_key", "filter_operator", "values", "query_operator"}`; text
        comparisons are case-insensitive (`equal_to` on `identifier` included).
        """
        return await self._call(
            "POST", "/contacts/filter", params={"page": page}, body={"payload": list(rules)}
        )

    async def create_contact(self, body: dict[str, Any]) -> dict[str, Any]:
        """`POST /contacts`: `{"payload": {"contact": {...}, "contact_inbox": {...}}}`.

        With `inbox_id` (and `source_id`) the contact gets its contact_inbox in the same call.
        """
        return await self._call("POST", "/contacts", body=body)

    async def get_contact(self, contact_id: str) -> dict[str, Any]:
        """`GET /contacts/{id}`: `{"payload": contact}` with its `contact_inboxes`."""
        return await self._call("GET", f"/contacts/{_segment(contact_id)}", contact_id=contact_id)

    async def create_contact_inbox(
        self, contact_id: str, *, inbox_id: int, source_id: str | None
    ) -> dict[str, Any]:
        """`POST /contacts/{id}/contact_inboxes`: `{"source_id", "inbox"}` (an existing one
        when this contact already has that source id in that inbox)."""
        body: dict[str, Any] = {"inbox_id": inbox_id}
        if source_id is not None:
            body["source_id"] = source_id
        return await self._call(
            "POST",
            f"/contacts/{_segment(contact_id)}/contact_inboxes",
            body=body,
            contact_id=contact_id,
        )

    async def contact_conversations(self, contact_id: str) -> dict[str, Any]:
        """`GET /contacts/{id}/conversations`: `{"payload": [...]}`, every inbox, latest
        activity first."""
        return await self._call(
            "GET", f"/contacts/{_segment(contact_id)}/conversations", contact_id=contact_id
        )

    # -- conversations and messages ------------------------------------------------------------

    async def create_conversation(
        self, fields: dict[str, Any], attachments: Sequence[Upload] = ()
    ) -> dict[str, Any]:
        """`POST /conversations`: the conversation, its first message in `messages[0]`.

        `fields["message"]` is the first message; its `attachments` go as multipart
        `message[attachments][]` in the same call. A 404 names the contact in
        `fields["contact_id"]`: it was deleted.
        """
        contact = fields.get("contact_id")
        return await self._call(
            "POST",
            "/conversations",
            body=fields,
            files=attachments,
            files_key="message",
            contact_id=str(contact) if contact is not None else None,
        )

    async def get_conversation(self, conversation_id: str) -> dict[str, Any]:
        """`GET /conversations/{id}` (the display id)."""
        return await self._call(
            "GET",
            f"/conversations/{_segment(conversation_id)}",
            conversation_id=conversation_id,
        )

    async def create_message(
        self, conversation_id: str, fields: dict[str, Any], attachments: Sequence[Upload] = ()
    ) -> dict[str, Any]:
        """`POST /conversations/{id}/messages`: the message; files as `attachments[]`."""
        return await self._call(
            "POST",
            f"/conversations/{_segment(conversation_id)}/messages",
            body=fields,
            files=attachments,
            conversation_id=conversation_id,
        )

    async def list_messages(
        self, conversation_id: str, *, before: str | None = None
    ) -> dict[str, Any]:
        """`GET /conversations/{id}/messages`: the latest 20 (or the 20 before message
        `before`), **oldest first**, in `payload`."""
        params = {"before": before} if before is not None else None
        return await self._call(
            "GET",
            f"/conversations/{_segment(conversation_id)}/messages",
            params=params,
            conversation_id=conversation_id,
        )

    async def toggle_status(self, conversation_id: str, status: str) -> dict[str, Any]:
        """`POST /conversations/{id}/toggle_status`: open, resolved, pending or snoozed."""
        return await self._call(
            "POST",
            f"/conversations/{_segment(conversation_id)}/toggle_status",
            body={"status": status},
            conversation_id=conversation_id,
        )

    # -- account -------------------------------------------------------------------------------

    async def get_inbox(self, inbox_id: int) -> dict[str, Any]:
        """`GET /inboxes/{id}`: its `channel_type` (`Channel::Api`) and `webhook_url`."""
        return await self._call("GET", f"/inboxes/{inbox_id}")

    # -- plumbing ------------------------------------------------------------------------------

    async def _call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str | int] | None = None,
        body: dict[str, Any] | None = None,
        files: Sequence[Upload] = (),
        files_key: str = "",
        conversation_id: str | None = None,
        contact_id: str | None = None,
    ) -> dict[str, Any]:
        what = f"Chatwoot {method} {path}"
        headers = {"api_access_token": self._token, "Accept": "application/json"}
        request: dict[str, Any] = {"params": params, "headers": headers}
        if files:
            # Rails reads nested form fields (`message[content]`) as it reads JSON objects.
            request["data"] = form_fields(body or {})
            name = f"{files_key}[attachments][]" if files_key else "attachments[]"
            request["files"] = [(name, (f.name, f.content, f.content_type)) for f in files]
        elif body is not None:
            request["json"] = body
        with transport_errors(what, url_setting="BYOC_CHATWOOT_URL", timeout=self._timeout):
            response = await self.http.request(
                method, self._base + path, timeout=self._timeout, **request
            )
        _raise_for_status(
            response,
            what=what,
            conversation_id=conversation_id,
            contact_id=contact_id,
            token=self._token,
        )
        return json_object(response, what=what)


def form_fields(fields: Mapping[str, Any], prefix: str = "") -> dict[str, str | list[str]]:
    """Nested fields as Rails form keys: `{"message": {"private": False}}` becomes
    `{"message[private]": "false"}`; lists become repeated `key[]` fields."""
    flat: dict[str, str | list[str]] = {}
    for key, value in fields.items():
        name = f"{prefix}[{key}]" if prefix else str(key)
        if value is None:
            continue
        if isinstance(value, Mapping):
            flat.update(form_fields(value, name))
        elif isinstance(value, list | tuple):
            flat[f"{name}[]"] = [_form_value(v) for v in value]
        else:
            flat[name] = _form_value(value)
    return flat


def _form_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _bare_token(token: str) -> str:
    value = token.strip()
    if not value:
        raise ConfigurationError(f"BYOC_CHATWOOT_API_TOKEN is empty; {_TOKEN_HELP}")
    if not _HEADER_SAFE.match(value):
        raise ConfigurationError(
            "BYOC_CHATWOOT_API_TOKEN contains spaces, line breaks or non-ASCII characters "
            f"(pasted with quotes or wrapped?); {_TOKEN_HELP}"
        )
    return value


def _segment(value: str) -> str:
    # Ids are integers, but a "/" or "?" in a stray value must not change the route.
    return quote(str(value), safe="")


@attrs.frozen(kw_only=True)
class _ErrorBody:
    """What an error answer said, in whichever of Chatwoot's shapes (or none) it came."""

    message: str = ""
    attributes: tuple[str, ...] = ()
    html: bool = False

    @classmethod
    def parse(cls, response: httpx.Response, *, token: str) -> _ErrorBody:
        text = response.content.decode("utf-8", errors="replace")
        try:
            payload = json.loads(text)
        except (ValueError, RecursionError):
            payload = None
        if isinstance(payload, dict):
            said = payload.get("message") or payload.get("error") or payload.get("errors")
            if isinstance(said, list):
                said = "; ".join(str(item) for item in said)
            attributes = payload.get("attributes")
            return cls(
                message=_redact(said if isinstance(said, str) else summary(text), token),
                attributes=tuple(
                    a
                    for a in (attributes if isinstance(attributes, list) else [])
                    if isinstance(a, str)
                ),
            )
        return cls(message=_redact(summary(text), token), html="<html" in text[:500].lower())


def _redact(text: str, token: str) -> str:
    return text.replace(token, "<token>") if token else text


def _raise_for_status(
    response: httpx.Response,
    *,
    what: str,
    conversation_id: str | None,
    contact_id: str | None,
    token: str,
) -> None:
    """Map a non-2xx answer to byoc's errors: the one place that decides what a status means."""
    code = response.status_code
    if 200 <= code < 300:
        return
    error = _ErrorBody.parse(response, token=token)
    said = (
        f"{what} answered {code}: {error.message}" if error.message else f"{what} answered {code}"
    )
    raise_unless_refusal(
        response,
        said,
        credentials=f"Chatwoot refused the access token: {_TOKEN_HELP}",
        url_help=f"check {_URL_HELP}",
    )
    if code == 404 and error.html:
        # Rails answers an unknown route with its HTML page, never with a JSON error.
        raise ConfigurationError(f"{said}; no such API route: check {_URL_HELP}")
    if code == 404 and conversation_id is not None:
        # Deleted, or never in this account: either way it takes no more messages.
        raise StaleConversation(said, conversation_id=conversation_id)
    if code == 404 and contact_id is not None:
        raise UnknownUser(f"{said}; the contact was deleted", user_id=contact_id)
    if 400 <= code < 500:
        raise ChatwootRefused(
            said, http_status=code, message=error.message, attributes=error.attributes
        )
    raise RetryableError(f"{said} (an unexpected status)")
