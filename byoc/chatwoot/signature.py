"""Verification of the HMAC-SHA256 signatures on Chatwoot's API-inbox webhooks.

Chatwoot (4.13 and later) signs every delivery to an API inbox's webhook URL:

- `X-Chatwoot-Timestamp: <unix seconds>`, the moment the attempt was sent;
- `X-Chatwoot-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>." + raw body)>`;
- `X-Chatwoot-Delivery: <uuid>`, the same on every retry of one delivery.

The timestamp is inside the signed text, so a captured delivery cannot be replayed later with a
fresh header: a signed delivery older (or newer) than its freshness window (`DEFAULT_WINDOW`:
5 minutes either way, as Chatwoot advises) is refused with `StaleWebhook`, as every channel's
is (`byoc.freshness`). Verify on the exact bytes that arrived: Rails escapes `<`, `>` and `&`
in its JSON (`\\u003c`), and a framework that decodes and re-encodes the body breaks the
signature.

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
from ..freshness import FreshnessWindow

__all__ = [
    "DEFAULT_TOLERANCE",
    "DEFAULT_WINDOW",
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
DEFAULT_WINDOW = FreshnessWindow(max_age=DEFAULT_TOLERANCE, max_skew=DEFAULT_TOLERANCE)
"""Each retry is signed anew with its own timestamp, so the window need not cover retries."""

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
    window: FreshnessWindow = DEFAULT_WINDOW,
) -> None:
    """Check a delivery's signature, then its timestamp; `headers` keys are lower-case.

    Raises `SignatureError` saying what is wrong: a header is missing or unreadable, or the
    signature does not match (the message then names the secret setting and Chatwoot issue
    #13809); `StaleWebhook` when the signed timestamp is outside `window` around `now`.
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
    if not given:
        raise SignatureError("the X-Chatwoot-Signature header is missing")
    expected = sign(secret, timestamp, body)
    # Bytes, not str: compare_digest refuses non-ASCII strings, and a forged header may hold any.
    if not hmac.compare_digest(expected.encode(), given.lower().encode("utf-8", "surrogateescape")):
        raise SignatureError(f"the X-Chatwoot-Signature does not match the body; {_SECRET_HELP}")
    window.check(float(timestamp), now=now, what="Chatwoot webhook")
