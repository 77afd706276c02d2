"""Decoding webhook bodies from Kakao's side."""

from __future__ import annotations

import json
import re
from typing import Any

from byoc.errors import MalformedPayload
from byoc.webhook import parse_json_object

__all__ = ["json_object"]

_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def json_object(body: bytes, *, what: str) -> dict[str, Any]:
    """`parse_json_object`, also refusing JSON nested too deep to decode, with every lone
    surrogate replaced by U+FFFD.

    `json.loads` raises `RecursionError` (not `ValueError`) for a body like `[[[[…]]]]`, which
    must be a 400 like any other malformed body, not a crash.

    JSON may escape half of a surrogate pair on its own (`"\\ud83d"`), as a JVM service does
    when it cuts a string between the two halves of an emoji. Such a string cannot be encoded
    as UTF-8, so it would fail every later step (the store, the help desk's API); the user's
    message is kept with U+FFFD in place of the broken character instead of being refused.
    """
    try:
        value = parse_json_object(body, what=what)
        # Escaped (`\ud83d`) or raw (`json.loads` decodes bytes with "surrogatepass").
        text = json.dumps(value, ensure_ascii=False)
        if _LONE_SURROGATE.search(text) is None:
            return value
        repaired: dict[str, Any] = json.loads(_LONE_SURROGATE.sub("\ufffd", text))
        return repaired
    except RecursionError:
        raise MalformedPayload(f"{what}: JSON nested too deeply") from None
