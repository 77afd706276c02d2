"""Decoding webhook bodies from Kakao's side."""

from __future__ import annotations

from typing import Any

from byoc.errors import MalformedPayload
from byoc.webhook import parse_json_object

__all__ = ["json_object"]


def json_object(body: bytes, *, what: str) -> dict[str, Any]:
    """`parse_json_object`, also refusing JSON nested too deep to decode.

    `json.loads` raises `RecursionError` (not `ValueError`) for a body like `[[[[…]]]]`, which
    must be a 400 like any other malformed body, not a crash.
    """
    try:
        return parse_json_object(body, what=what)
    except RecursionError:
        raise MalformedPayload(f"{what}: JSON nested too deeply") from None
