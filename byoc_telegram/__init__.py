"""Telegram channel plugin for byoc, written on the public Channel SDK only.

```python
from byoc_telegram import TelegramChannel

telegram = TelegramChannel(bot_token="123456789:AAE...", webhook_secret="s3cr3t-...")
```

The Bot API emulator, its `byoc emulate telegram` server and the demo kit live in
`byoc_telegram.testing`.
"""

from .api import DEFAULT_API_URL, BadRequest, TelegramApi
from .channel import ALLOWED_UPDATES, SECRET_HEADER, TelegramChannel
from .inbound import message_parts, parse_update
from .outbound import Call, Plan, plan_reply

__all__ = [
    "ALLOWED_UPDATES",
    "DEFAULT_API_URL",
    "SECRET_HEADER",
    "BadRequest",
    "Call",
    "Plan",
    "TelegramApi",
    "TelegramChannel",
    "message_parts",
    "parse_update",
    "plan_reply",
]
