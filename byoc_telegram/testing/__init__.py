"""The Telegram Bot API emulator, its users, its server and its demo kit: for tests,
benchmarks and `byoc demo --channel telegram`.

See `byoc_telegram.testing.emulator` for the API it serves, and `control` for the endpoints
that play its users.
"""

from .emulator import DEFAULT_TOKEN, ApiError, Fault, StoredFile, TelegramEmulator
from .users import SentMessage, TelegramUser
from .webhook import DEFAULT_RETRY_SCHEDULE, Delivery, Webhook

__all__ = [
    "DEFAULT_RETRY_SCHEDULE",
    "DEFAULT_TOKEN",
    "ApiError",
    "Delivery",
    "Fault",
    "SentMessage",
    "StoredFile",
    "TelegramEmulator",
    "TelegramUser",
    "Webhook",
]
