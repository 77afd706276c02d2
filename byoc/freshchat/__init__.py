"""Freshchat, the help desk side of the bridge.

- `FreshchatMessaging`: the `Messaging` contract over Freshchat (what the bridge uses).
- `FreshchatClient`: one method per REST v2 endpoint, errors mapped to byoc's hierarchy.
- `load_public_key` / `verify_signature`: the RSA check of Conversation Webhooks.
- `parse_webhook_body`: webhook bodies (and Marketplace `onMessageCreate`) into events.
- `to_freshchat` / `from_freshchat`: byoc parts to and from Freshchat message parts.
"""

from .client import FreshchatClient, FreshchatRefused
from .messaging import DEFAULT_MAX_MEDIA_BYTES, FreshchatMessaging
from .parts import from_freshchat, to_freshchat
from .signature import SIGNATURE_HEADER, load_public_key, verify_signature
from .webhooks import parse_webhook_body

__all__ = [
    "DEFAULT_MAX_MEDIA_BYTES",
    "SIGNATURE_HEADER",
    "FreshchatClient",
    "FreshchatMessaging",
    "FreshchatRefused",
    "from_freshchat",
    "load_public_key",
    "parse_webhook_body",
    "to_freshchat",
    "verify_signature",
]
