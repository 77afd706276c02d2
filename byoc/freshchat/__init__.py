"""Freshchat, the help desk side of the bridge.

- `FreshchatClient`: one method per REST v2 endpoint, errors mapped to byoc's hierarchy.
- `load_public_key` / `verify_signature`: the RSA check of Conversation Webhooks.
"""

from .client import FreshchatClient, FreshchatRefused
from .signature import SIGNATURE_HEADER, load_public_key, verify_signature

__all__ = [
    "SIGNATURE_HEADER",
    "FreshchatClient",
    "FreshchatRefused",
    "load_public_key",
    "verify_signature",
]
