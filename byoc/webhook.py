"""The framework-free view of one webhook call: what arrived and what to answer.

Channels and the help desk verify signatures on `WebhookRequest.body`, the exact bytes that
arrived: any re-encoding (a framework parsing and re-dumping JSON) breaks them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import attrs

from .errors import MalformedPayload

__all__ = ["WebhookRequest", "WebhookResponse", "parse_json_object"]


def _lower_keys(headers: Mapping[str, str]) -> Mapping[str, str]:
    return {k.lower(): v for k, v in headers.items()}


@attrs.frozen(kw_only=True)
class WebhookRequest:
    """An inbound HTTP request, as the bridge hands it to a parser.

    `headers` keys are lower-case. `subpath` is what follows the route
    (`/channels/kakao/webhook/<subpath>`), for channels that authenticate with a secret path.
    """

    body: bytes
    headers: Mapping[str, str] = attrs.field(factory=dict, converter=_lower_keys)
    method: str = "POST"
    path: str = "/"
    query: Mapping[str, str] = attrs.field(factory=dict)
    subpath: str = ""

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


@attrs.frozen(kw_only=True)
class WebhookResponse:
    """The HTTP answer to a webhook call."""

    status: int = 200
    body: bytes = b'{"ok":true}'
    content_type: str = "application/json"
    headers: Mapping[str, str] = attrs.field(factory=dict)

    @classmethod
    def json(
        cls, payload: Any, status: int = 200, headers: Mapping[str, str] | None = None
    ) -> WebhookResponse:
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
        return cls(status=status, body=body, headers=dict(headers or {}))


def parse_json_object(body: bytes, *, what: str) -> dict[str, Any]:
    """Decode `body` as a JSON object or raise `MalformedPayload` naming `what` was expected.

    Integers stay Python ints of any size: Viber's 64-bit `message_token` must never pass through
    a float.
    """
    try:
        value = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedPayload(f"{what}: body is not valid JSON ({exc})") from None
    except RecursionError:
        raise MalformedPayload(f"{what}: JSON nested too deeply") from None
    if not isinstance(value, dict):
        raise MalformedPayload(f"{what}: expected a JSON object, got {type(value).__name__}")
    return value
