"""Verification of the HMAC-SHA256 signatures on Chatwoot's API-inbox webhooks.

Chatwoot (4.13 and later) signs every delivery to an API inbox's webhook URL:

- `X-Chatwoot-Timestamp: <unix seconds>`, the moment the attempt was sent;
- `X-Chatwoot-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>." + raw body)>`;
- `X-Chatwoot-Delivery: <uuid>`, the same on every retry of one delivery.

The timestamp is inside the signed text, so a captured delivery cannot be replayed later with a
fresh header: a signature older (or newer) than the tolerance window is refused. Verify on the
exact bytes that arrived: Rails escapes `<`, `>` and `&` in its JSON (`\\u003c`), and a
framework that decodes and re-encodes the body breaks the signature.

```python
verify_signature(secret, request.body, request.headers, now=time.time())
```
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping

from ..errors import SignatureError

__all__ = [
    "DEFAULT_TOLERANCE",
    "DELIVERY_HEADER",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "sign",
    "verify_signature",
]

SIGNATURE_HEADER = "x-chatwoot-signature"
TIMESTAMP_HEADER = "x-chatwoot-timestamp"
DELIVERY_HEADER = "x-chatwoot-delivery"

DEFAULT_TOLERANCE = 300.0
"""Seconds a signature stays valid either side of now (Chatwoot's own advice: about 5 minutes)."""

_TIMESTAMP = re.compile(r"^\d{1,12}$")
_SECRET_HELP = (
    "check BYOC_CHATWOOT_HMAC_TOKEN: it must be the webhook secret of the API inbox "
    "(Settings > Inboxes > <the inbox> > Configuration). If it is, this installation may have "
    "Chatwoot issue #13809 (the secret shown in the UI and the REST API differs from the key "
    "the webhooks are signed with): try the inbox's HMAC token from the same page instead"
)


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The `X-Chatwoot-Signature` value for `body` sent at `timestamp` (decimal seconds)."""
    digest = hmac.new(secret.encode(), timestamp.encode("ascii") + b"." + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


def verify_signature(
    secret: str,
    body: bytes,
    headers: Mapping[str, str],
    *,
    now: float,
    tolerance: float = DEFAULT_TOLERANCE,
) -> None:
    """Check a delivery's timestamp and signature; `headers` keys are lower-case.

    Raises `SignatureError` saying what is wrong: a header is missing or unreadable, the
    timestamp is outside `tolerance` seconds of `now`, or the signature does not match (the
    message then names the secret setting and Chatwoot issue #13809).
    """
    timestamp = (headers.get(TIMESTAMP_HEADER) or "").strip()
    given = (headers.get(SIGNATURE_HEADER) or "").strip()
    if not timestamp and not given:
        raise SignatureError(
            "the Chatwoot webhook is not signed (no X-Chatwoot-Timestamp or X-Chatwoot-Signature "
            "header): Chatwoot signs API-inbox webhooks from version 4.13; upgrade it, or set "
            "BYOC_CHATWOOT_VERIFY_SIGNATURES=false to accept unsigned webhooks (unsafe)"
        )
    if not _TIMESTAMP.match(timestamp):
        raise SignatureError("the X-Chatwoot-Timestamp header is missing or not unix seconds")
    age = now - int(timestamp)
    if abs(age) > tolerance:
        when = f"{age:.0f} s ago" if age > 0 else f"{-age:.0f} s in the future"
        raise SignatureError(
            f"the Chatwoot webhook was signed {when}, outside the {tolerance:g} s window "
            "(a replayed delivery, or a clock off on one side: check NTP on both hosts)"
        )
    if not given:
        raise SignatureError("the X-Chatwoot-Signature header is missing")
    expected = sign(secret, timestamp, body)
    # Bytes, not str: compare_digest refuses non-ASCII strings, and a forged header may hold any.
    if not hmac.compare_digest(expected.encode(), given.lower().encode("utf-8", "surrogateescape")):
        raise SignatureError(f"the X-Chatwoot-Signature does not match the body; {_SECRET_HELP}")
