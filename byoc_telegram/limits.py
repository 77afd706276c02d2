"""Telegram's limits, shared by the parser, the outbound mapper and the emulator.

From the Bot API reference (docs/telegram.md lists the sources). Telegram counts a text's
length in characters (code points): 4,096 emoji are one message, 4,097 are refused.
"""

from __future__ import annotations

import re

__all__ = [
    "FILE_SCHEME",
    "MAX_BUTTONS",
    "MAX_BUTTON_TEXT",
    "MAX_CALLBACK_DATA",
    "MAX_CAPTION",
    "MAX_DOWNLOAD",
    "MAX_FILE_ID",
    "MAX_ID",
    "MAX_INBOUND_CAPTION",
    "MAX_INBOUND_TEXT",
    "MAX_NAME",
    "MAX_PHONE",
    "MAX_QUERY_ID",
    "MAX_TEXT",
    "MAX_UPLOAD",
    "MAX_URL",
    "SECRET",
]

MAX_TEXT = 4096
"""`sendMessage` text: 1 to 4,096 characters."""
MAX_CAPTION = 1024
"""A media message's caption: 0 to 1,024 characters."""
MAX_CALLBACK_DATA = 64
"""An inline button's `callback_data`: 1 to 64 bytes."""
MAX_DOWNLOAD = 20 * 1024 * 1024
"""`getFile` serves files of at most 20 MB; bigger ones stay on the user's phone."""
MAX_UPLOAD = 50 * 1024 * 1024
"""A document a bot uploads (multipart): at most 50 MB."""
MAX_BUTTONS = 100
"""Buttons on one keyboard: more are sent as text."""
MAX_BUTTON_TEXT = 256
MAX_URL = 2048

# Bounds on what the parser takes from an update: at or above anything Telegram sends, so only
# a body Telegram could not have sent is refused.
MAX_INBOUND_TEXT = 4096
"""A user's text: Telegram splits longer ones into several messages. It counts code points or
UTF-16 units, never fewer than code points, so counting code points refuses nothing real."""
MAX_INBOUND_CAPTION = 4096
"""A user's caption: 1,024 characters, but 4,096 for Telegram Premium users (the bots' own
limit, `MAX_CAPTION`, stays 1,024)."""
MAX_NAME = 256
"""Names, usernames, file names, titles (Telegram's are at most 64): longer ones are cut (they
are cosmetic)."""
MAX_FILE_ID = 512
"""Real file ids are 50 to 200 characters of `A-Z a-z 0-9 _ -`."""
MAX_QUERY_ID = 64
"""A `callback_query`'s id: a decimal 64-bit integer, as a string."""
MAX_PHONE = 64
"""A shared contact's number (E.164 is at most 15 digits; Telegram may add `+` and spaces)."""
MAX_ID = 2**63 - 1
"""Telegram's ids are signed 64-bit integers (chat ids of groups are negative)."""

SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")
"""`setWebhook`'s `secret_token`: 1 to 256 of these characters."""

FILE_SCHEME = "tg-file:"
"""Media parts carry `tg-file:<file_id>/<name>`, which the channel resolves with `getFile`: the
file's download URL holds the bot token, so it never leaves the channel."""
