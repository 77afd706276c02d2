"""Viber's callback signature: lowercase hex HMAC-SHA256 of the raw body, keyed by the token.

Viber signs every callback (the `webhook` verification ping too) in the header
`X-Viber-Content-Signature`. Verify on the bytes that arrived, before parsing: any re-encoding
of the JSON changes them.
"""

from __future__ import annotations

import hashlib
import hmac

from byoc.errors import SignatureError

__all__ = ["SIGNATURE_HEADER", "sign", "verify_signature"]

SIGNATURE_HEADER = "X-Viber-Content-Signature"


def sign(token: str, body: bytes) -> str:
    """The signature Viber sends with `body`."""
    return hmac.new(token.encode(), body, hashlib.sha256).hexdigest()


def verify_signature(token: str, body: bytes, signature: str | None) -> None:
    """Raise `SignatureError` unless `signature` is the signature of `body`."""
    if not signature:
        raise SignatureError(f"{SIGNATURE_HEADER} header is missing")
    expected = sign(token, body).encode()
    # Bytes, not str: compare_digest refuses non-ASCII strings, and a forged header may hold any.
    given = signature.strip().lower().encode("utf-8", "replace")
    if not hmac.compare_digest(expected, given):
        raise SignatureError(
            f"{SIGNATURE_HEADER} does not match the body; is BYOC_VIBER_AUTH_TOKEN the token "
            "of the bot that sent it?"
        )
