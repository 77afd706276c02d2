"""`POST /v2/images/upload` and `/v2/files/upload`: multipart parsing and the upload records.

Multipart bodies are parsed with the standard library's MIME parser (no dependency); image
dimensions are read from PNG, GIF and JPEG headers, as the real image response reports them.
"""

from __future__ import annotations

import hashlib
import mimetypes
import struct
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any

import attrs

from .state import State, Upload, new_id
from .wire import ApiError

__all__ = ["MAX_UPLOAD_BYTES", "FormFile", "file_json", "form_files", "image_json", "store_upload"]

MAX_UPLOAD_BYTES = 25 * 1024 * 1024


@attrs.frozen(kw_only=True)
class FormFile:
    """One field of a multipart form."""

    field: str
    filename: str | None
    content_type: str
    data: bytes


def form_files(content_type: str, body: bytes) -> dict[str, FormFile]:
    """The fields of a `multipart/form-data` body, by name; 400 when it is not one."""
    if not content_type.lower().startswith("multipart/form-data"):
        raise ApiError(400, "BAD_REQUEST", "Expected a multipart/form-data body")
    try:
        head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
        message = BytesParser(policy=policy.HTTP).parsebytes(head + body)
        fields = {}
        if isinstance(message, EmailMessage) and message.is_multipart():
            for part in message.iter_parts():
                name = part.get_param("name", header="content-disposition")
                payload = part.get_payload(decode=True)
                if isinstance(name, str) and isinstance(payload, bytes):
                    fields[name] = FormFile(
                        field=name,
                        filename=part.get_filename(),
                        content_type=part.get_content_type(),
                        data=payload,
                    )
    # The MIME parser is lenient but its header classes raise assorted errors on hostile input;
    # any of them means the client sent a broken form.
    except Exception as exc:
        raise ApiError(400, "BAD_REQUEST", "Malformed multipart body") from exc
    return fields


def _image_type(data: bytes) -> tuple[str, tuple[int, int] | None] | None:
    """(content type, (width, height) when readable) of a PNG, GIF or JPEG, else None."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        size = struct.unpack(">II", data[16:24]) if len(data) >= 24 else None
        return "image/png", size
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif", struct.unpack("<HH", data[6:10]) if len(data) >= 10 else None
    if data.startswith(b"\xff\xd8"):
        return "image/jpeg", _jpeg_size(data)
    return None


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    # Walk the segments to the first start-of-frame marker (C0-CF except C4, C8, CC).
    offset = 2
    while offset + 9 <= len(data) and data[offset] == 0xFF:
        marker = data[offset + 1]
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">HH", data[offset + 5 : offset + 9])
            return width, height
        (length,) = struct.unpack(">H", data[offset + 2 : offset + 4])
        offset += 2 + length
    return None


def store_upload(state: State, form: dict[str, FormFile], field: str) -> Upload:
    """Keep the form's `field` (`image` or `file`) as an upload; 400 when missing or unfit."""
    item = form.get(field)
    if item is None:
        raise ApiError.invalid(f"Multipart field {field!r} is required")
    if len(item.data) > MAX_UPLOAD_BYTES:
        raise ApiError(413, "PAYLOAD_TOO_LARGE", "Uploads are limited to 25 MB")
    content_type, size = item.content_type, None
    if field == "image":
        sniffed = _image_type(item.data)
        if sniffed is None and not content_type.startswith("image/"):
            raise ApiError.invalid("The uploaded file is not an image")
        if sniffed is not None:
            content_type, size = sniffed
    name = item.filename or f"{field}{mimetypes.guess_extension(content_type) or ''}"
    return state.add_upload(
        Upload(
            id=new_id(),
            kind=field,
            name=name,
            content_type=content_type,
            data=item.data,
            file_hash=hashlib.sha256(item.data).hexdigest(),
            width=size[0] if size else None,
            height=size[1] if size else None,
        )
    )


def image_json(upload: Upload, url: str) -> dict[str, Any]:
    """The image upload response (the thumbnail is the image itself)."""
    return {
        "id": upload.id,
        "url": url,
        "name": upload.name,
        "content_type": upload.content_type,
        "width": upload.width,
        "height": upload.height,
        "thumbnail": {
            "url": url,
            "content_type": upload.content_type,
            "width": upload.width,
            "height": upload.height,
        },
    }


def file_json(upload: Upload) -> dict[str, Any]:
    """The file upload response; the emulator has no virus scan, so every file is safe."""
    extension = upload.name.rpartition(".")[2].lower() if "." in upload.name else ""
    return {
        "file_name": upload.name,
        "file_size": len(upload.data),
        "file_content_type": upload.content_type,
        "file_extension_type": extension,
        "file_hash": upload.file_hash,
        "file_security_status": "SAFE_FILE",
    }
