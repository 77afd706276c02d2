"""Verification of Freshchat's RSA-signed webhooks.

Freshchat signs each Conversation Webhook call: `X-Freshchat-Signature` is the base64 RSA
PKCS#1 v1.5 signature, SHA-256, of the exact body bytes. Verify before parsing: re-serialised JSON
(a framework decoding and re-encoding a body with Korean text or emoji) no longer verifies.

The admin page shows the public key in a misleading armour: `-----BEGIN RSA PUBLIC KEY-----`
(the PKCS#1 label) around an X.509 SubjectPublicKeyInfo body, often pasted on one line.
`load_public_key` ignores the label and reads whatever DER is inside.

```python
key = load_public_key(os.environ["BYOC_FRESHCHAT_WEBHOOK_PUBLIC_KEY"])
verify_signature(key, request.body, request.header("x-freshchat-signature"))
```
"""

from __future__ import annotations

import base64
import binascii
import re
import textwrap

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes

from ..errors import ConfigurationError, SignatureError

__all__ = ["SIGNATURE_HEADER", "load_public_key", "verify_signature"]

SIGNATURE_HEADER = "x-freshchat-signature"

_SETTING = "BYOC_FRESHCHAT_WEBHOOK_PUBLIC_KEY"
_WHERE = (
    "copy the RSA public key shown on Freshchat's webhook settings page (Admin > Marketplace & "
    "Integrations > Conversation Webhooks, or Admin > Webhooks), with or without its BEGIN/END "
    "lines"
)
_BEGIN = re.compile(r"-----BEGIN ([A-Z0-9 ]*)-----")
_END = re.compile(r"-----END [A-Z0-9 ]*-----")


def load_public_key(text: str) -> RSAPublicKey:
    """Read Freshchat's webhook public key from any textual shape it is found in.

    Accepted: SPKI base64 in `RSA PUBLIC KEY` armour (the admin page's quirk), a proper
    `PUBLIC KEY` PEM, a real PKCS#1 `RSA PUBLIC KEY` PEM, or bare base64 of either DER; on one line
    or many, with stray spaces, `\\r\\n`, or literal `\\n` escapes left by an env file.
    Anything else raises `ConfigurationError` naming `BYOC_FRESHCHAT_WEBHOOK_PUBLIC_KEY`.
    """
    if not text or not text.strip():
        raise ConfigurationError(f"{_SETTING} is empty; {_WHERE}")
    # Env files and JSON configs often keep the line breaks as the two characters "\n".
    cleaned = text.replace("\\r", "\n").replace("\\n", "\n")
    begin = _BEGIN.search(cleaned)
    if begin is not None:
        if "PRIVATE" in begin.group(1):
            raise ConfigurationError(
                f"{_SETTING} holds a private key; it needs the public key: {_WHERE}"
            )
        cleaned = cleaned[begin.end() :]
        end = _END.search(cleaned)
        if end is not None:
            cleaned = cleaned[: end.start()]
    body = "".join(cleaned.split()).strip("\"'")
    try:
        der = base64.b64decode(body + "=" * (-len(body) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise ConfigurationError(f"{_SETTING} is not a base64 RSA public key; {_WHERE}") from None
    key = _load_der(der)
    if key is None:
        raise ConfigurationError(
            f"{_SETTING} could not be read as an RSA public key (neither X.509 "
            f"SubjectPublicKeyInfo nor PKCS#1); {_WHERE}"
        )
    if not isinstance(key, RSAPublicKey):
        raise ConfigurationError(
            f"{_SETTING} is a {type(key).__name__}, not an RSA public key; {_WHERE}"
        )
    return key


def _load_der(der: bytes) -> PublicKeyTypes | None:
    try:
        # SubjectPublicKeyInfo: what the admin page actually shows, whatever its armour says.
        return serialization.load_der_public_key(der)
    except (ValueError, UnsupportedAlgorithm):
        pass
    # A genuine PKCS#1 RSAPublicKey; some cryptography versions read it only through its PEM label.
    pem = "\n".join(
        ["-----BEGIN RSA PUBLIC KEY-----"]
        + textwrap.wrap(base64.b64encode(der).decode("ascii"), 64)
        + ["-----END RSA PUBLIC KEY-----", ""]
    )
    try:
        return serialization.load_pem_public_key(pem.encode("ascii"))
    except (ValueError, UnsupportedAlgorithm):
        return None


def verify_signature(public_key: RSAPublicKey, body: bytes, signature: str | None) -> None:
    """Check `signature` (the `X-Freshchat-Signature` header) against the raw `body`.

    Raises `SignatureError` saying why: the header is missing, is not base64, or does not match.
    """
    if signature is None or not signature.strip():
        raise SignatureError("the X-Freshchat-Signature header is missing")
    try:
        raw = base64.b64decode("".join(signature.split()), validate=True)
    except (binascii.Error, ValueError):
        raise SignatureError("the X-Freshchat-Signature header is not base64") from None
    try:
        public_key.verify(raw, body, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        raise SignatureError(
            "the X-Freshchat-Signature does not match the body (was the body altered on the way, "
            f"or is {_SETTING} the key of another Freshchat account?)"
        ) from None
