"""The emulator's check of a `send_message` body against Viber's documented limits.

Viber answers a violation with status 4 (`missingData`) for a missing field and 3 (`badData`)
for a wrong one; which code the real service uses for each field is not documented, so these
two are used as their names say.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from ..limits import (
    FORBIDDEN_FILE_EXTENSIONS,
    KEYBOARD_ACTIONS,
    MAX_BUTTON_TEXT,
    MAX_CAPTION,
    MAX_CONTACT_NAME,
    MAX_FILE_NAME,
    MAX_FILE_SIZE,
    MAX_PHONE,
    MAX_RICH_MEDIA_ALT_TEXT,
    MAX_RICH_MEDIA_CARDS,
    MAX_RICH_MEDIA_COLUMNS,
    MAX_RICH_MEDIA_ROWS,
    MAX_SENDER_NAME,
    MAX_TEXT,
    MAX_TRACKING_DATA,
    MAX_URL,
    MAX_VIDEO_DURATION,
    MAX_VIDEO_SIZE,
    PICTURE_EXTENSIONS,
    extension,
    viber_length,
)

__all__ = ["BAD_DATA", "MISSING_DATA", "Violation", "validate_message"]

BAD_DATA = 3
MISSING_DATA = 4
MESSAGE_TYPES = frozenset(
    {"text", "picture", "video", "file", "location", "contact", "sticker", "url", "rich_media"}
)

Violation = tuple[int, str]
"""A status code and the `status_message` explaining it."""


def _missing(field: str) -> Violation:
    return MISSING_DATA, f"missingData: {field} is required"


def _bad(field: str, why: str) -> Violation:
    return BAD_DATA, f"badData: {field} {why}"


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _text(
    body: Mapping[str, Any], key: str, limit: int, *, required: bool = True
) -> Violation | None:
    if key not in body:
        return _missing(key) if required else None
    value = body[key]
    if not isinstance(value, str):
        return _bad(key, "must be a string")
    if viber_length(value) > limit:
        return _bad(key, f"is over {limit} characters")
    return None


def _media(body: Mapping[str, Any]) -> Violation | None:
    media = body.get("media")
    if media is None:
        return _missing("media")
    if not isinstance(media, str) or not media:
        return _bad("media", "must be a URL")
    if len(media) > MAX_URL:
        return _bad("media", f"is over {MAX_URL} characters")
    return None


def _size(body: Mapping[str, Any], limit: int) -> Violation | None:
    size = body.get("size")
    if size is None:
        return _missing("size")
    if not _is_int(size) or size < 0:
        return _bad("size", "must be a byte count")
    if size > limit:
        return _bad("size", f"is over {limit} bytes")
    return None


def _coordinate(value: Any, bound: float) -> bool:
    try:
        number = float(Decimal(value) if isinstance(value, str) else value)
    except (TypeError, ValueError, ArithmeticError):
        return False
    return not isinstance(value, bool) and math.isfinite(number) and abs(number) <= bound


def _keyboard(keyboard: Any) -> Violation | None:
    if not isinstance(keyboard, dict):
        return _bad("keyboard", "must be an object")
    buttons = keyboard.get("Buttons")
    if not isinstance(buttons, list) or not buttons:
        return _bad("keyboard.Buttons", "must be a non-empty array")
    for index, button in enumerate(buttons):
        where = f"keyboard.Buttons[{index}]"
        if not isinstance(button, dict):
            return _bad(where, "must be an object")
        columns, rows = button.get("Columns", 6), button.get("Rows", 1)
        if not _is_int(columns) or not 1 <= columns <= 6:
            return _bad(f"{where}.Columns", "must be 1 to 6")
        if not _is_int(rows) or not 1 <= rows <= 2:
            return _bad(f"{where}.Rows", "must be 1 or 2 on a keyboard")
        action = button.get("ActionType", "reply")
        if action not in KEYBOARD_ACTIONS:
            return _bad(f"{where}.ActionType", f"must be one of {sorted(KEYBOARD_ACTIONS)}")
        body = button.get("ActionBody")
        if not isinstance(body, str) or not body:
            return _missing(f"{where}.ActionBody")
        if action == "open-url" and (
            not body.lower().startswith(("http://", "https://")) or len(body) > MAX_URL
        ):
            return _bad(f"{where}.ActionBody", "must be an http(s) URL for open-url")
        if "Text" in button and not isinstance(button["Text"], str):
            return _bad(f"{where}.Text", "must be a string")
    return None


def validate_message(body: Mapping[str, Any], *, welcome: bool = False) -> Violation | None:
    """The first violation in a `send_message` (or welcome message) body, or None.

    `welcome` bodies come without `receiver`.
    """
    if not welcome:
        receiver = body.get("receiver")
        if receiver is None:
            return _missing("receiver")
        if not isinstance(receiver, str) or not receiver:
            return _bad("receiver", "must be a subscriber id")
    sender = body.get("sender")
    if not isinstance(sender, dict):
        return _missing("sender")
    problem = _text(sender, "name", MAX_SENDER_NAME)
    if problem is not None:
        return problem
    if "avatar" in sender and not isinstance(sender["avatar"], str):
        return _bad("sender.avatar", "must be a URL")
    problem = _text(body, "tracking_data", MAX_TRACKING_DATA, required=False)
    if problem is not None:
        return problem
    if "min_api_version" in body and not _is_int(body["min_api_version"]):
        return _bad("min_api_version", "must be an integer")
    if "keyboard" in body:
        problem = _keyboard(body["keyboard"])
        if problem is not None:
            return problem
    kind = body.get("type")
    if kind is None:
        # A keyboard-only message carries no type.
        return None if "keyboard" in body else _missing("type")
    if kind not in MESSAGE_TYPES:
        return _bad("type", f"must be one of {sorted(MESSAGE_TYPES)}")
    return _check_type(kind, body)


def _check_type(kind: str, body: Mapping[str, Any]) -> Violation | None:
    if kind == "text":
        problem = _text(body, "text", MAX_TEXT)
        if problem is None and not body["text"]:
            return _bad("text", "must not be empty")
        return problem
    if kind == "picture":
        problem = _text(body, "text", MAX_CAPTION) or _media(body)
        if problem is None and extension(body["media"]) not in PICTURE_EXTENSIONS:
            return _bad("media", "must be a .jpeg, .png or .gif URL")
        return problem
    if kind == "video":
        problem = _media(body) or _size(body, MAX_VIDEO_SIZE)
        duration = body.get("duration")
        if problem is None and duration is not None:
            if not _is_int(duration) or not 0 <= duration <= MAX_VIDEO_DURATION:
                return _bad("duration", f"must be 0 to {MAX_VIDEO_DURATION} seconds")
        return problem
    if kind == "file":
        problem = _media(body) or _size(body, MAX_FILE_SIZE)
        problem = problem or _text(body, "file_name", MAX_FILE_NAME)
        if problem is None:
            for ext in (extension(body["file_name"]), extension(body["media"])):
                if ext in FORBIDDEN_FILE_EXTENSIONS:
                    return _bad("file_name", f"has a forbidden extension {ext}")
        return problem
    if kind == "contact":
        contact = body.get("contact")
        if not isinstance(contact, dict):
            return _missing("contact")
        return _text(contact, "name", MAX_CONTACT_NAME) or _text(contact, "phone_number", MAX_PHONE)
    if kind == "location":
        location = body.get("location")
        if not isinstance(location, dict) or "lat" not in location or "lon" not in location:
            return _missing("location")
        if not _coordinate(location["lat"], 90) or not _coordinate(location["lon"], 180):
            return _bad("location", "lat must be within ±90 and lon within ±180")
        return None
    if kind == "url":
        return _media(body)
    if kind == "sticker":
        sticker = body.get("sticker_id")
        if sticker is None:
            return _missing("sticker_id")
        if not (_is_int(sticker) or (isinstance(sticker, str) and sticker.isdigit())):
            return _bad("sticker_id", "must be a sticker number")
        return None
    return _rich_media(body)


def _rich_media(body: Mapping[str, Any]) -> Violation | None:
    """A rich media message: 1 to 6 cards of `ButtonsGroupColumns` x `ButtonsGroupRows` cells,
    filled exactly by its buttons (each within the card's grid)."""
    rich = body.get("rich_media")
    if not isinstance(rich, dict):
        return _missing("rich_media")
    problem = _text(body, "alt_text", MAX_RICH_MEDIA_ALT_TEXT, required=False)
    if problem is not None:
        return problem
    columns, rows = rich.get("ButtonsGroupColumns", 6), rich.get("ButtonsGroupRows", 7)
    if not _is_int(columns) or not 1 <= columns <= MAX_RICH_MEDIA_COLUMNS:
        return _bad("rich_media.ButtonsGroupColumns", "must be 1 to 6")
    if not _is_int(rows) or not 1 <= rows <= MAX_RICH_MEDIA_ROWS:
        return _bad("rich_media.ButtonsGroupRows", "must be 1 to 7")
    buttons = rich.get("Buttons")
    if not isinstance(buttons, list) or not buttons:
        return _bad("rich_media.Buttons", "must be a non-empty array")
    cells = 0
    for index, button in enumerate(buttons):
        where = f"rich_media.Buttons[{index}]"
        if not isinstance(button, dict):
            return _bad(where, "must be an object")
        width, height = button.get("Columns", 6), button.get("Rows", 1)
        if not _is_int(width) or not 1 <= width <= columns:
            return _bad(f"{where}.Columns", f"must be 1 to {columns}")
        if not _is_int(height) or not 1 <= height <= rows:
            return _bad(f"{where}.Rows", f"must be 1 to {rows}")
        cells += width * height
        action = button.get("ActionType", "reply")
        if action not in KEYBOARD_ACTIONS:
            return _bad(f"{where}.ActionType", f"must be one of {sorted(KEYBOARD_ACTIONS)}")
        action_body = button.get("ActionBody")
        if action != "none" and (not isinstance(action_body, str) or not action_body):
            return _missing(f"{where}.ActionBody")
        if action == "open-url" and (
            not isinstance(action_body, str)
            or not action_body.lower().startswith(("http://", "https://"))
            or len(action_body) > MAX_URL
        ):
            return _bad(f"{where}.ActionBody", "must be an http(s) URL for open-url")
        label = button.get("Text", "")
        if not isinstance(label, str) or viber_length(label) > MAX_BUTTON_TEXT:
            return _bad(f"{where}.Text", f"must be a string of at most {MAX_BUTTON_TEXT}")
    card = columns * rows
    if cells % card != 0 or not 1 <= cells // card <= MAX_RICH_MEDIA_CARDS:
        return _bad("rich_media.Buttons", "must fill 1 to 6 whole cards")
    return None
