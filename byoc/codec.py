"""JSON encoding of byoc's value types, for the durable queue and simple wire formats.

Every encoded object carries a `"type"` tag naming its class, so a list of mixed parts or events
decodes back to equal values: `decode(encode(x)) == x`.

Jobs are encoded on every accepted webhook and decoded on every delivery, so both are kept
cheap: each class's fields are looked up once, and a field still at its plain default (`None`,
`""`, `False`, ...) is left out (decoding gives it back). Payloads written with every field,
as earlier versions did, decode the same.
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


_NO_DEFAULT = object()
_SCALARS = frozenset({str, int, float, bool, type(None)})

# Per class: each field's name and the default that lets it be left out: a plain value (None,
# "", False, a number); `_NO_DEFAULT` when the field is always written (no default, or a factory).
_Fields = tuple[tuple[str, object], ...]
_FIELDS: dict[type[Any], _Fields] = {}


def _fields(cls: type[Any]) -> _Fields:
    found = _FIELDS.get(cls)
    if found is None:
        found = _FIELDS[cls] = tuple(
            (field.name, field.default if type(field.default) in _SCALARS else _NO_DEFAULT)
            for field in attrs.fields(cls)
        )
    return found


def encode(value: Any) -> Any:
    """A JSON-ready structure for `value` (attrs instances, tuples, datetimes, scalars)."""
    cls = type(value)
    fields = _FIELDS.get(cls)
    if fields is None and attrs.has(cls):
        fields = _fields(cls)
    if fields is not None:
        out: dict[str, Any] = {"type": cls.__name__}
        for name, default in fields:
            item = getattr(value, name)
            # Left out only when equal in value *and* type: 0 is no stand-in for False.
            if default is not _NO_DEFAULT and type(item) is type(default) and item == default:
                continue
            out[name] = item if type(item) in _SCALARS else encode(item)
        return out
    if isinstance(value, (tuple, list)):
        return [v if type(v) in _SCALARS else encode(v) for v in value]
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
    kwargs = {
        k: decode(v) if isinstance(v, (list, dict)) else v for k, v in data.items() if k != "type"
    }
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as exc:
        raise MalformedPayload(f"bad {tag}: {exc}") from exc
