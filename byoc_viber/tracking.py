"""What the bridge carries in Viber's `tracking_data`: the payloads of the reply buttons shown.

Viber echoes the `tracking_data` of the bot's last message with the user's next message, and a
tap on a keyboard `reply` button sends the button's `ActionBody` as the user's text. The bridge
sets `ActionBody` to the quick reply's label (what the user sees themselves say) and keeps, in
`tracking_data`, which label stands for which payload; the tap then reaches the agent as the
label with its payload (`Text.reply_payload`).

The help-desk conversation id is *not* carried: the bridge finds the conversation in its store,
which follows resolved and stale conversations, while an id echoed from a phone could be old.

```python
data = encode_replies({"네": "ORDER_OK"})       # '{"byoc_replies":{"네":"ORDER_OK"}}'
decode_replies(data)                             # {"네": "ORDER_OK"}
```
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from .limits import MAX_TRACKING_DATA, viber_length

__all__ = ["MAX_TRACKING_BYTES", "decode_replies", "encode_replies"]

MAX_TRACKING_BYTES = 2048
"""Tracking data goes on every message of a reply: kept small so text keeps the 30 KB budget."""

_KEY = "byoc_replies"


def _encode(replies: Mapping[str, str]) -> str:
    return json.dumps({_KEY: dict(replies)}, ensure_ascii=False, separators=(",", ":"))


def _fits(encoded: str) -> bool:
    return (
        viber_length(encoded) <= MAX_TRACKING_DATA
        and len(encoded.encode("utf-8", "surrogatepass")) <= MAX_TRACKING_BYTES
    )


def encode_replies(replies: Mapping[str, str]) -> tuple[str | None, tuple[str, ...]]:
    """The `tracking_data` for `replies` (ActionBody → payload), and the ActionBodies left out.

    Entries are kept in order while the whole stays within Viber's 4,000 characters and
    `MAX_TRACKING_BYTES`; a tap on a button left out comes back as its label alone. None when
    there is nothing to carry.
    """
    kept: dict[str, str] = {}
    left_out: list[str] = []
    for action_body, payload in replies.items():
        if _fits(_encode({**kept, action_body: payload})):
            kept[action_body] = payload
        else:
            left_out.append(action_body)
    return (_encode(kept) if kept else None), tuple(left_out)


def decode_replies(tracking_data: object) -> dict[str, str]:
    """The ActionBody → payload map in a `tracking_data` the bridge wrote; {} for anything else
    (another bot's data, a plain conversation id from an older bridge, garbage)."""
    if not isinstance(tracking_data, str) or not tracking_data.startswith("{"):
        return {}
    # The bridge never writes more than Viber keeps: anything longer is not its own.
    if len(tracking_data) > MAX_TRACKING_DATA:
        return {}
    try:
        value = json.loads(tracking_data)
    except (ValueError, RecursionError):
        return {}
    replies = value.get(_KEY) if isinstance(value, dict) else None
    if not isinstance(replies, dict):
        return {}
    return {k: v for k, v in replies.items() if isinstance(k, str) and isinstance(v, str)}
