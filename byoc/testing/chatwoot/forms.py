"""Request bodies as Rails reads them: JSON, multipart or urlencoded, into one nested `params`.

Rails gives a controller the same `params` whatever the encoding, so a client may send a
message as JSON or, with attachments, as `multipart/form-data` whose field names nest
(`message[content]`, `message[attachments][]`, `attachments[]`). Form values are strings;
Active Record casts them when a record is built, which `flag` and `integer` mirror (Ruby's
`"false"` is truthy until a boolean column casts it).
"""

from __future__ import annotations

import json
import re
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any
from urllib.parse import parse_qsl

import attrs

from .wire import ApiError

__all__ = ["FormFile", "decode", "flag", "integer", "text"]

_KEY = re.compile(r"\[([^\]]*)\]")
_FALSE = frozenset({"false", "0", "f", "off", "no", "n"})


@attrs.frozen(kw_only=True)
class FormFile:
    """An uploaded file (Rails' `ActionDispatch::Http::UploadedFile`)."""

    filename: str
    content_type: str
    data: bytes = attrs.field(repr=lambda b: f"<{len(b)} bytes>")


def decode(content_type: str, body: bytes) -> dict[str, Any]:
    """The request's params; 400 (Rails' `ParseError`) when a declared format does not parse."""
    kind = content_type.split(";", 1)[0].strip().lower()
    if not body.strip():
        return {}
    if kind == "application/json" or kind.endswith("+json"):
        try:
            value = json.loads(body)
        except (ValueError, RecursionError) as exc:
            raise ApiError(400, {"status": 400, "error": "Bad Request"}) from exc
        # Rails wraps a non-object body under `_json`; no endpoint here reads it.
        return value if isinstance(value, dict) else {}
    if kind == "multipart/form-data":
        return _multipart(content_type, body)
    if kind == "application/x-www-form-urlencoded":
        params: dict[str, Any] = {}
        for name, value in parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True):
            _put(params, name, value)
        return params
    return {}


def _multipart(content_type: str, body: bytes) -> dict[str, Any]:
    params: dict[str, Any] = {}
    try:
        head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
        message = BytesParser(policy=policy.HTTP).parsebytes(head + body)
        if not isinstance(message, EmailMessage) or not message.is_multipart():
            raise ValueError("not a multipart body")
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            payload = part.get_payload(decode=True)
            if not isinstance(name, str) or not isinstance(payload, bytes):
                continue
            filename = part.get_filename()
            if filename is None:
                _put(params, name, payload.decode("utf-8", "replace"))
            else:
                _put(
                    params,
                    name,
                    FormFile(filename=filename, content_type=part.get_content_type(), data=payload),
                )
    # The MIME parser's header classes raise assorted errors on hostile input: a broken form.
    except Exception as exc:
        raise ApiError(400, {"status": 400, "error": "Bad Request"}) from exc
    return params


def _put(params: dict[str, Any], name: str, value: Any) -> None:
    """Store `value` at a Rails field name: `a[b][]` appends to `params["a"]["b"]`."""
    head, _, rest = name.partition("[")
    keys = [head, *_KEY.findall("[" + rest)] if rest else [head]
    holder: Any = params
    for index, key in enumerate(keys):
        last = index == len(keys) - 1
        if key == "":
            if not isinstance(holder, list):
                return  # `a[][b]` and other shapes no endpoint here reads
            if last:
                holder.append(value)
            return
        if not isinstance(holder, dict):
            return
        if last:
            holder[key] = value
            return
        following = keys[index + 1]
        if not isinstance(holder.get(key), list if following == "" else dict):
            holder[key] = [] if following == "" else {}
        holder = holder[key]


def flag(value: Any, default: bool = False) -> bool:
    """A boolean param as Active Record casts it."""
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() not in _FALSE


def integer(value: Any, name: str) -> int | None:
    """An integer param (a JSON number or a digit string); None when absent."""
    if value is None or value == "":
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        return int(value.strip())
    raise ApiError.error(422, f"{name} must be an integer")


def text(value: Any, name: str, limit: int = 255) -> str | None:
    """A string param within `limit` characters; None when absent."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ApiError.error(422, f"{name} must be a string")
    found = str(value)
    if len(found) > limit:
        raise ApiError.invalid(
            f"{name.replace('_', ' ').capitalize()} is too long (maximum is {limit} characters)",
            [name],
        )
    return found
