"""JSON encoding of byoc's value types, for the durable queue and simple wire formats.

Every encoded object carries a `"type"` tag naming its class, so a list of mixed parts or events
decodes back to equal values: `decode(encode(x)) == x`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import attrs

from . import messaging, models
from .errors import MalformedPayload

__all__ = ["decode", "encode"]

_TYPES: dict[str, type[Any]] = {
    cls.__name__: cls
    for cls in (
        models.Text,
        models.Image,
        models.Video,
        models.File,
        models.Location,
        models.Contact,
        models.Sticker,
        models.Link,
        models.UrlButton,
        models.QuickReply,
        models.Buttons,
        models.QuickReplies,
        models.Profile,
        models.InboundMessage,
        models.OutboundMessage,
        models.Delivered,
        models.Seen,
        models.Failed,
        models.Subscribed,
        models.Unsubscribed,
        models.ConversationStarted,
        messaging.AgentMessage,
        messaging.ConversationChanged,
    )
}


def encode(value: Any) -> Any:
    """A JSON-ready structure for `value` (attrs instances, tuples, datetimes, scalars)."""
    if attrs.has(type(value)):
        out: dict[str, Any] = {"type": type(value).__name__}
        for field in attrs.fields(type(value)):
            out[field.name] = encode(getattr(value, field.name))
        return out
    if isinstance(value, (tuple, list)):
        return [encode(v) for v in value]
    if isinstance(value, datetime):
        return {"type": "datetime", "iso": value.isoformat()}
    return value


def decode(data: Any) -> Any:
    """The value `encode` produced `data` from; `MalformedPayload` when it is not such data."""
    if isinstance(data, list):
        return tuple(decode(v) for v in data)
    if not isinstance(data, dict):
        return data
    tag = data.get("type")
    if tag == "datetime":
        try:
            return datetime.fromisoformat(data["iso"])
        except (KeyError, TypeError, ValueError) as exc:
            raise MalformedPayload(f"bad datetime {data!r}") from exc
    cls = _TYPES.get(tag) if isinstance(tag, str) else None
    if cls is None:
        raise MalformedPayload(f"unknown encoded type {tag!r}")
    kwargs = {k: decode(v) for k, v in data.items() if k != "type"}
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as exc:
        raise MalformedPayload(f"bad {tag}: {exc}") from exc
