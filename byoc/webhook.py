"""The framework-free view of one webhook call: what arrived and what to answer.

Channels and the help desk verify signatures on `WebhookRequest.body`, the exact bytes that
arrived: any re-encoding (a framework parsing and re-dumping JSON) breaks them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any

import attrs

from .errors import MalformedPayload
from .json_text import compact_json

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
        body = compact_json(payload).encode()
        return cls(status=status, body=body, headers=dict(headers or {}))


def parse_json_object(
    body: bytes, *, what: str, parse_float: Callable[[str], Any] | None = None
) -> dict[str, Any]:
    """Decode `body` as a JSON object or raise `MalformedPayload` naming `what` was expected.

    Integers stay Python ints of any size: Viber's 64-bit `message_token` must never pass through
    a float (`parse_float=decimal.Decimal` keeps fractions exact too). The body must be UTF-8
    (RFC 8259; a byte-order mark is tolerated). `NaN` and `Infinity`, which are not JSON, are
    refused; so is nesting too deep to decode.

    A lone UTF-16 surrogate (`"\\ud83d"` without its pair: a sender that cut a string in the
    middle of an emoji) is replaced by U+FFFD, in keys and values: such a string cannot be
    encoded as UTF-8, so it would fail every later step (the store, the help desk), and
    refusing it would lose the user's message on every retry.
    """
    try:
        # JSON between systems is UTF-8 (RFC 8259); a byte-order mark is tolerated.
        text = body.decode("utf-8-sig", "surrogatepass")
        value = _decoder(parse_float).decode(text)
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedPayload(f"{what}: body is not valid JSON ({exc})") from None
    except RecursionError:
        raise MalformedPayload(f"{what}: JSON nested too deeply") from None
    if not isinstance(value, dict):
        raise MalformedPayload(f"{what}: expected a JSON object, got {type(value).__name__}")
    if _SURROGATE.search(text):
        repaired: dict[str, Any] = _repaired(value)
        return repaired
    return value


# A surrogate reaches decoded JSON only through a `\uD800`-`\uDFFF` escape, or as raw bytes
# decoded with "surrogatepass" (as `json.loads` decodes bytes).
_SURROGATE = re.compile(r"\\u[dD][89a-fA-F]|[\ud800-\udfff]")


# Kept per `parse_float`: `json.loads` with arguments builds a decoder per call (a third of the
# cost of decoding a Viber callback). The hooks are module-level functions, so a few at most.
_DECODERS: dict[Callable[[str], Any] | None, json.JSONDecoder] = {}
_KEPT_DECODERS = 8


def _decoder(parse_float: Callable[[str], Any] | None) -> json.JSONDecoder:
    found = _DECODERS.get(parse_float)
    if found is None:
        found = json.JSONDecoder(parse_float=parse_float, parse_constant=_refuse_constant)
        if len(_DECODERS) < _KEPT_DECODERS:
            _DECODERS[parse_float] = found
    return found


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _repaired(value: Any) -> Any:
    """`value` with lone surrogates in its strings (keys too) replaced by U+FFFD."""
    if isinstance(value, str):
        # A UTF-16 round trip joins valid surrogate pairs and replaces the lone ones.
        return value.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    if isinstance(value, list):
        return [_repaired(item) for item in value]
    if isinstance(value, dict):
        return {_repaired(key): _repaired(item) for key, item in value.items()}
    return value
