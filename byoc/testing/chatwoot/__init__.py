"""A faithful Chatwoot emulator: the application API, an API inbox's signed webhooks, agent
actions, Rack::Attack's throttles and faults.

Used by byoc's tests, benchmarks and demo. It speaks the real wire format (see
`docs/reference/chatwoot-api.md` and `docs/chatwoot.md`), so a Chatwoot client works against it
unchanged:

```python
from byoc.testing.chatwoot import ChatwootEmulator, FormFile

async with ChatwootEmulator(webhook_url="http://bridge.test/hooks", webhook_http=to_bridge) as cw:
    http = cw.client()                       # httpx.AsyncClient in process, at cw.public_url
    ...
    await cw.agent_reply(conversation_id, "Hi!", attachments=[FormFile(...)])
    await cw.resolve(conversation_id)
    await cw.drain()                         # all webhooks delivered, retries included
```

Modules, one job each: `state` (records and indexes), `wire` (JSON shapes, Rails' JSON encoding
and error bodies), `forms` (JSON, multipart and urlencoded bodies as Rails params), `desk` (the
help desk's rules), `webhooks` (signed delivery with retries), `limits` (Rack::Attack),
`faults` (fault injection), `app` (the API routes), `control` (the `/_emulator` endpoints),
`server` (the command line).
"""

from .emulator import ChatwootEmulator
from .faults import Fault, Faults
from .forms import FormFile
from .limits import Limits, Throttle
from .webhooks import DEFAULT_RETRY_DELAYS, SIGNING_MODES, DeliveryAttempt, SigningMode
from .wire import ApiError

__all__ = [
    "DEFAULT_RETRY_DELAYS",
    "SIGNING_MODES",
    "ApiError",
    "ChatwootEmulator",
    "DeliveryAttempt",
    "Fault",
    "Faults",
    "FormFile",
    "Limits",
    "SigningMode",
    "Throttle",
]
