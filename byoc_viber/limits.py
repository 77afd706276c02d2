"""Viber's documented limits, shared by the outbound mapper and the emulator's validation.

Sources are in `docs/reference/viber-api.md` (§1, §2.2, §5). Where the reference leaves a choice,
the stricter reading is taken, so a body built here is accepted by the real service.
"""

from __future__ import annotations

from urllib.parse import urlsplit

__all__ = [
    "FORBIDDEN_FILE_EXTENSIONS",
    "KEYBOARD_ACTIONS",
    "MAX_BUTTON_TEXT",
    "MAX_CAPTION",
    "MAX_CONTACT_NAME",
    "MAX_FILE_NAME",
    "MAX_FILE_SIZE",
    "MAX_KEYBOARD_BUTTONS",
    "MAX_PHONE",
    "MAX_PICTURE_SIZE",
    "MAX_REQUEST_BYTES",
    "MAX_RICH_MEDIA_ALT_TEXT",
    "MAX_RICH_MEDIA_CARDS",
    "MAX_RICH_MEDIA_COLUMNS",
    "MAX_RICH_MEDIA_ROWS",
    "MAX_SENDER_NAME",
    "MAX_TEXT",
    "MAX_TRACKING_DATA",
    "MAX_URL",
    "MAX_VIDEO_DURATION",
    "MAX_VIDEO_SIZE",
    "PICTURE_EXTENSIONS",
    "VIDEO_EXTENSIONS",
    "extension",
    "viber_length",
]

# "Max request JSON size: 30 KB" — read as 30,000 bytes of UTF-8, the stricter of 30,000 / 30,720.
MAX_REQUEST_BYTES = 30_000
MAX_TEXT = 7000
MAX_CAPTION = 768
MAX_SENDER_NAME = 28
MAX_CONTACT_NAME = 28
MAX_PHONE = 18
MAX_URL = 2000
MAX_FILE_NAME = 256
MAX_FILE_SIZE = 50 * 1024 * 1024
MAX_VIDEO_SIZE = 26 * 1024 * 1024
MAX_VIDEO_DURATION = 180
# 1 MB on iOS, 3 MB on Android: a bigger picture would not show on iPhones.
MAX_PICTURE_SIZE = 1024 * 1024
MAX_TRACKING_DATA = 4000
# The client shows at most 12 keyboard rows in portrait; one full-width button per row.
MAX_KEYBOARD_BUTTONS = 12
# Longer button texts are cropped by the client with "...".
MAX_BUTTON_TEXT = 250
# A rich media message: 1 to 6 cards of up to 6 columns by 7 rows; `alt_text` (shown by clients
# older than Viber 6.7) up to 7,000 characters.
MAX_RICH_MEDIA_CARDS = 6
MAX_RICH_MEDIA_COLUMNS = 6
MAX_RICH_MEDIA_ROWS = 7
MAX_RICH_MEDIA_ALT_TEXT = 7000
KEYBOARD_ACTIONS = frozenset({"reply", "open-url", "location-picker", "share-phone", "none"})

PICTURE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".gif"})
VIDEO_EXTENSIONS = frozenset({".mp4"})
FORBIDDEN_FILE_EXTENSIONS = frozenset(
    "." + ext
    for ext in (
        "bat bin cmd com cpl exe gadget inf1 ins inx isu job jse lnk msc msi msp mst paf pif ps1 "
        "reg rgs sct shb shs u3p vb vbe vbs vbscript ws wsf action app command csh osx workflow "
        "ksh out run apk ipa"
    ).split()
)


def viber_length(text: str) -> int:
    """The length Viber's limits count, in UTF-16 code units.

    Viber's servers run on the JVM, whose strings count UTF-16 units: an emoji counts two. This
    is never less than `len(text)`, so staying within it stays within either reading.
    """
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def extension(url_or_name: str) -> str:
    """The lower-case extension (with its dot) of a file name or of a URL's path, or ""."""
    path = url_or_name
    if "://" in url_or_name:
        try:
            path = urlsplit(url_or_name).path
        except ValueError:
            return ""
    name = path.rsplit("/", 1)[-1]
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem or not ext:
        return ""
    return "." + ext.lower()
