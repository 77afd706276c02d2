"""Chatwoot, the second help desk: an API inbox ("bring your own channel") of any installation.

- `ChatwootMessaging`: the `Messaging` contract over Chatwoot (what the bridge uses).
- `ChatwootClient`: one method per application-API endpoint, errors mapped to byoc's hierarchy.
- `sign` / `verify_signature`: the HMAC-SHA256 check (with its timestamp window) of webhooks.
- `parse_webhook_body`: webhook bodies into agent messages and conversation changes.
- `to_chatwoot` / `from_chatwoot`: byoc parts to and from a Chatwoot message.
"""

from .client import ChatwootClient, ChatwootRefused, Upload
from .messaging import DEFAULT_MAX_MEDIA_BYTES, ChatwootMessaging
from .parts import ChatwootDraft, from_chatwoot, to_chatwoot
from .signature import (
    DEFAULT_TOLERANCE,
    DELIVERY_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    sign,
    verify_signature,
)
from .webhooks import parse_webhook_body

__all__ = [
    "DEFAULT_MAX_MEDIA_BYTES",
    "DEFAULT_TOLERANCE",
    "DELIVERY_HEADER",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "ChatwootClient",
    "ChatwootDraft",
    "ChatwootMessaging",
    "ChatwootRefused",
    "Upload",
    "from_chatwoot",
    "parse_webhook_body",
    "sign",
    "to_chatwoot",
    "verify_signature",
]
