"""The Viber REST client: one POST per call, Viber's answers turned into byoc errors.

Viber answers application errors with HTTP 200 and a `status` (0 is success); HTTP errors come
only from the network, a proxy, or a wrong URL. `ViberApi.call` returns the answer of a
successful call and raises otherwise:

| answer | error |
|---|---|
| status 2 (invalidAuthToken) | `ConfigurationError` naming `BYOC_VIBER_AUTH_TOKEN` |
| status 1 on set_webhook | `ConfigurationError` saying what the call to the URL met |
| status 5 / 6 / 7 | `UserUnreachable`: receiver gone / unsubscribed / bot blocked |
| status 12 (tooManyRequests) | `RetryableError` |
| any other status | `PermanentError` with Viber's `status_message` |
| HTTP 404 | `ConfigurationError` naming `BYOC_VIBER_API_URL` |
| any other HTTP error, timeouts | as `byoc.upstream` maps them (429 `RateLimited`, 5xx retried) |

What Viber (or a proxy in between) said is quoted through `byoc.upstream.answer_text`: short,
and without the bot's token or any other credential, since errors are logged, kept in dead
letters and shown on the admin page.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

import attrs
import httpx

from byoc.errors import ConfigurationError, PermanentError, RetryableError, UserUnreachable
from byoc.transport import Endpoint, encode_json
from byoc.upstream import answer_text, raise_for_status, transport_errors

__all__ = [
    "AUTH_HEADER",
    "DEFAULT_API_URL",
    "STATUS_NAMES",
    "AccountInfo",
    "ViberApi",
    "encode_body",
    "error_for_status",
]

DEFAULT_API_URL = "https://chatapi.viber.com/pa"
AUTH_HEADER = "X-Viber-Auth-Token"

STATUS_NAMES: Mapping[int, str] = {
    0: "ok",
    1: "invalidUrl",
    2: "invalidAuthToken",
    3: "badData",
    4: "missingData",
    5: "receiverNotRegistered",
    6: "receiverNotSubscribed",
    7: "publicAccountBlocked",
    8: "publicAccountNotFound",
    9: "publicAccountSuspended",
    10: "webhookNotSet",
    11: "receiverNoSuitableDevice",
    12: "tooManyRequests",
    13: "apiVersionNotSupported",
    14: "incompatibleWithVersion",
    15: "publicAccountNotAuthorized",
    16: "inchatReplyMessageNotAllowed",
    17: "publicAccountIsNotInline",
    18: "noPublicChat",
    19: "cannotSendBroadcast",
    20: "broadcastNotAllowed",
    21: "unsupportedCountry",
    22: "paymentUnsupported",
    23: "freeMessagesExceeded",
    24: "noBalance",
}

_ANSWERED = re.compile(r"HttpResponse\[HTTP/[0-9.]+ ([0-9]{3})\b")

_RECEIVER_ERRORS: Mapping[int, str] = {
    5: "is not a Viber user any more",
    6: "is not subscribed to the bot (they unsubscribed or never wrote)",
    7: "cannot be reached: the bot is blocked",
}


def encode_body(body: Mapping[str, Any]) -> bytes:
    """The exact bytes sent for `body`: compact UTF-8 JSON, as Viber's limits measure it."""
    return encode_json(body)


@attrs.frozen(kw_only=True)
class AccountInfo:
    """The bot account as `get_account_info` describes it; `raw` is the whole answer."""

    id: str
    name: str
    uri: str | None = None
    webhook: str | None = None
    event_types: tuple[str, ...] = ()
    subscribers_count: int | None = None
    raw: Mapping[str, Any] = attrs.field(factory=dict)

    @classmethod
    def from_answer(cls, answer: Mapping[str, Any]) -> AccountInfo:
        def text(key: str) -> str | None:
            value = answer.get(key)
            return value if isinstance(value, str) else None

        events = answer.get("event_types")
        count = answer.get("subscribers_count")
        return cls(
            id=text("id") or "",
            name=text("name") or "",
            uri=text("uri"),
            webhook=text("webhook") or None,
            event_types=tuple(e for e in events if isinstance(e, str))
            if isinstance(events, list)
            else (),
            subscribers_count=count if isinstance(count, int) else None,
            raw=dict(answer),
        )


def error_for_status(method: str, body: Mapping[str, Any], answer: Mapping[str, Any]) -> Exception:
    """The error for a non-zero `status` in Viber's `answer` to `method` called with `body`."""
    status = answer.get("status")
    message = answer.get("status_message")
    name = STATUS_NAMES.get(status, "General error") if isinstance(status, int) else "?"
    code = answer_text(str(status), limit=40)
    said = (
        f"{answer_text(str(message), limit=500)} ({name}, status {code})"
        if message
        else f"{name} (status {code})"
    )
    if status == 2:
        return ConfigurationError(
            f"Viber refused the auth token: {said}. Check BYOC_VIBER_AUTH_TOKEN; the token is in "
            "the Viber Admin Panel (Partners) under your bot."
        )
    if status == 1 and method == "set_webhook":
        return ConfigurationError(
            f"Viber could not register the webhook {body.get('url')!r}: "
            f"{_verification_failure(message)}. Viber calls the URL while registering it, so "
            "the bridge must already be running there, reachable from the internet, answer "
            "200, and use HTTPS with a certificate signed by a public CA (self-signed "
            f"certificates are refused). Viber said: {said}"
        )
    receiver_error = _RECEIVER_ERRORS.get(status) if isinstance(status, int) else None
    if receiver_error is not None:
        receiver = body.get("receiver")
        return UserUnreachable(
            f"Viber user {receiver!r} {receiver_error}: {said}",
            user_id=receiver if isinstance(receiver, str) else None,
        )
    if status == 12:
        return RetryableError(
            "Viber throttled the bot: at most 100 messages reach a user within an hour "
            f"without a reply from them: {said}"
        )
    return PermanentError(f"Viber refused {method}: {said}")


def _verification_failure(status_message: object) -> str:
    """What went wrong with set_webhook's call to the URL, read from Viber's Java-style text.

    The texts seen: `... HttpResponse[HTTP/1.1 419 unknown status]@20d79eb3] null` when the URL
    answered, `... java.net.ConnectException: Connection refused` when it could not be reached.
    """
    text = status_message if isinstance(status_message, str) else ""
    answered = _ANSWERED.search(text)
    if answered:
        return f"the URL answered HTTP {answered.group(1)} instead of 200"
    lowered = text.lower()
    if "timeout" in lowered:
        return "the URL did not answer in time"
    if "ssl" in lowered or "certificate" in lowered:
        return "Viber did not trust the URL's HTTPS certificate"
    if "exception" in lowered:
        return "Viber could not connect to the URL"
    return "the URL was not reachable from Viber or did not answer 200"


class ViberApi:
    """Calls `{base_url}/{method}` with the token in `X-Viber-Auth-Token`.

    ```python
    api = ViberApi(token="445da6az...", http=httpx.AsyncClient())
    answer = await api.call("get_account_info", {})
    ```
    """

    def __init__(
        self, *, token: str, http: httpx.AsyncClient, base_url: str = DEFAULT_API_URL
    ) -> None:
        self._base_url = base_url.rstrip("/")
        self._token = token
        # Built once: the token header and the base URL are the same on every call.
        self._api = Endpoint(
            http, self._base_url, headers={AUTH_HEADER: token, "Content-Type": "application/json"}
        )

    async def call(self, method: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """POST `body` to `method`; the answer when its status is 0, a byoc error otherwise."""
        response = await self._post(method, encode_body(body))
        answer = self._decode(method, response)
        if answer.get("status") != 0:
            said = answer.get("status_message")
            if isinstance(said, str):
                said = answer_text(said, secrets=[self._token], limit=500)
            raise error_for_status(method, body, {**answer, "status_message": said})
        return answer

    async def set_webhook(self, url: str, event_types: Sequence[str] | None) -> dict[str, Any]:
        body: dict[str, Any] = {"url": url}
        if url:
            body.update(send_name=True, send_photo=True)
            if event_types is not None:
                body["event_types"] = list(event_types)
        return await self.call("set_webhook", body)

    async def _post(self, method: str, raw: bytes) -> httpx.Response:
        with transport_errors(f"Viber {method}", url_setting="BYOC_VIBER_API_URL"):
            return await self._api.send("POST", f"/{method}", content=raw)

    def _decode(self, method: str, response: httpx.Response) -> dict[str, Any]:
        code = response.status_code
        if code == 404:
            raise ConfigurationError(
                f"Viber has no method at {response.request.url} (HTTP 404); check "
                "BYOC_VIBER_API_URL (default https://chatapi.viber.com/pa)"
            )
        # Viber answers its own refusals with 200 and a `status`; an HTTP error comes from the
        # network or a proxy in between, and means what it means for any API.
        if not 200 <= code < 300:
            said = answer_text(response.text, secrets=[self._token])
            raise_for_status(
                response,
                f"Viber {method} answered HTTP {code}: {said}",
                credentials="check BYOC_VIBER_AUTH_TOKEN",
            )
        try:
            answer = json.loads(response.content)
        except ValueError:
            answer = None
        if not isinstance(answer, dict):
            # A 200 that is not Viber's JSON comes from something in between (a captive proxy):
            # the call may well succeed once it is out of the way.
            raise RetryableError(f"Viber {method} answered HTTP {code} without a JSON object")
        return answer
