"""The Bot API client: `{api_url}/bot<token>/<method>`, its answers turned into byoc errors.

Telegram answers `{"ok": true, "result": ...}`, or `{"ok": false, "error_code", "description",
"parameters"}` with the same HTTP status:

| answer | error |
|---|---|
| 429 | `RateLimited`, waiting `parameters.retry_after` seconds (or `Retry-After`) |
| 403 on a send (blocked, deactivated user) | `UserUnreachable` |
| 401, 404 (a wrong token or API URL) | `ConfigurationError` naming the setting |
| 400 | `BadRequest` (permanent), Telegram's description in the text |
| anything else | as `byoc.upstream` maps it (5xx and timeouts retried) |

The URL holds the bot token: no error text quotes it, and Telegram's `description` is quoted
through `byoc.upstream.answer_text` with the token among its secrets (a proxy or a Bot API
server of one's own may echo the request back).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import httpx

from byoc.errors import (
    ConfigurationError,
    PermanentError,
    RateLimited,
    RetryableError,
    UserUnreachable,
)
from byoc.upstream import (
    answer_text,
    error_for_status,
    retry_after_of,
    summary,
    transport_errors,
)

__all__ = ["DEFAULT_API_URL", "BadRequest", "TelegramApi"]

DEFAULT_API_URL = "https://api.telegram.org"
_TOKEN_FIX = "check BYOC_TELEGRAM_BOT_TOKEN (@BotFather's /token) and BYOC_TELEGRAM_API_URL"


class BadRequest(PermanentError):
    """Telegram refused the call's content (HTTP 400): a chat it does not know, a URL it cannot
    fetch, a text it cannot show."""


class TelegramApi:
    """Calls the Bot API with `token` through `http`.

    ```python
    api = TelegramApi(token="123456789:AAE...", http=httpx.AsyncClient())
    me = await api.call("getMe")
    ```
    """

    def __init__(
        self, *, token: str, http: httpx.AsyncClient, base_url: str = DEFAULT_API_URL
    ) -> None:
        self._token = token
        self._http = http
        self._base_url = base_url.rstrip("/")

    async def call(self, method: str, params: Mapping[str, Any] | None = None) -> Any:
        """POST `params` as JSON; the `result` of a successful call, a byoc error otherwise."""
        body = json.dumps(params or {}, ensure_ascii=False, separators=(",", ":")).encode()
        with transport_errors(f"Telegram {method}", url_setting="BYOC_TELEGRAM_API_URL"):
            response = await self._http.post(
                self._method_url(method), content=body, headers={"content-type": "application/json"}
            )
        return _result(method, response, params or {}, self._token)

    async def upload(
        self, method: str, params: Mapping[str, Any], field: str, file: tuple[str, bytes, str]
    ) -> Any:
        """POST `params` and `file` (name, bytes, type) as `field` in a multipart form."""
        # Form fields are strings: objects (a keyboard) go as JSON, as the Bot API reads them.
        fields = {k: v if isinstance(v, str) else json.dumps(v) for k, v in params.items()}
        with transport_errors(f"Telegram {method}", url_setting="BYOC_TELEGRAM_API_URL"):
            response = await self._http.post(
                self._method_url(method), data=fields, files={field: file}
            )
        return _result(method, response, params, self._token)

    def file_url(self, file_path: str) -> str:
        """Where a file `getFile` named is downloaded. It holds the token: keep it private."""
        return f"{self._base_url}/file/bot{self._token}/{file_path}"

    def _method_url(self, method: str) -> str:
        return f"{self._base_url}/bot{self._token}/{method}"


def _result(method: str, response: httpx.Response, params: Mapping[str, Any], token: str) -> Any:
    try:
        answer = response.json()
    except ValueError:
        answer = None
    if not isinstance(answer, dict):
        answer = {}
    if response.is_success and answer.get("ok") is True:
        return answer.get("result")
    code = response.status_code
    description = answer.get("description")
    if not isinstance(description, str) and response.content.strip():
        # Not Telegram's envelope: a proxy's error page, of which a line is worth showing.
        description = summary(response.text)
    said = f"Telegram {method} answered {code}" + (
        f": {answer_text(description, secrets=[token], limit=300)}"
        if isinstance(description, str)
        else ""
    )
    parameters = answer.get("parameters")
    retry_after = parameters.get("retry_after") if isinstance(parameters, dict) else None
    if code == 429:
        wait = retry_after if isinstance(retry_after, int | float) and retry_after >= 0 else None
        raise RateLimited(said, retry_after=retry_after_of(response) if wait is None else wait)
    chat_id = params.get("chat_id")
    if code == 403 and chat_id is not None:
        # "bot was blocked by the user", "user is deactivated", "bot can't initiate
        # conversation with a user": nothing reaches this user until they write again.
        raise UserUnreachable(
            f"Telegram user {chat_id} cannot be reached: {said}", user_id=str(chat_id)
        )
    if code in (401, 404):
        raise ConfigurationError(f"{said}; {_TOKEN_FIX}")
    if code == 400:
        raise BadRequest(said)
    error = error_for_status(
        code, said, retry_after=retry_after_of(response), credentials=_TOKEN_FIX
    )
    # A 2xx without Telegram's envelope comes from something in between (a captive proxy):
    # the call may well succeed once it is out of the way.
    raise error or RetryableError(f"{said} without Telegram's JSON answer")
