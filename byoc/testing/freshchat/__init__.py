"""A faithful Freshchat emulator: REST API v2, signed webhooks, agent actions, faults.

Used by byoc's tests, benchmarks and demo. It speaks the real wire format (see
`docs/reference/freshchat-api.md`), so a Freshchat client works against it unchanged:

```python
from byoc.testing.freshchat import FreshchatEmulator

async with FreshchatEmulator(webhook_url="http://bridge.test/hooks", webhook_http=to_bridge) as fc:
    http = fc.client()                        # httpx.AsyncClient in-process, at fc.api_url
    ...
    await fc.agent_reply(conversation_id, "Hi!", parts=[{"image": {"url": "https://..."}}])
    await fc.resolve(conversation_id)
    await fc.drain()                          # all webhooks delivered, retries included
```

Modules, one job each: `state` (records and the latest conversation per user and channel),
`wire` (JSON shapes and error bodies), `payloads` (request validation), `desk` (the help desk's
rules), `events` (webhook and product-event bodies), `webhooks` (RSA key, signed delivery with
retries), `faults` (fault injection), `uploads` (multipart uploads), `app` (the `/v2` routes),
`control` (the `/_emulator` control endpoints, documented there), `server` (the command line).
"""

from .desk import Actor
from .emulator import FreshchatEmulator
from .events import PayloadMode
from .faults import Fault, Faults
from .webhooks import DEFAULT_RETRY_DELAYS, DeliveryAttempt, WebhookKey, WebhookSender
from .wire import ApiError

__all__ = [
    "DEFAULT_RETRY_DELAYS",
    "Actor",
    "ApiError",
    "DeliveryAttempt",
    "Fault",
    "Faults",
    "FreshchatEmulator",
    "PayloadMode",
    "WebhookKey",
    "WebhookSender",
]
