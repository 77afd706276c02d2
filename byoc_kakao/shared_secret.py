"""Shared secrets in place of signatures.

Neither a 상담톡 dealer nor Open Builder signs what it sends, so the bridge proves a request came
from them by a secret only they know: a secret path segment in the URL they were given, or a
header they were configured to send. Comparisons run in constant time so the secret cannot be
guessed one character at a time from response timings.
"""

from __future__ import annotations

import hmac
import re

from byoc.errors import ConfigurationError, SignatureError

__all__ = ["MIN_SECRET_LENGTH", "check_secret", "secret_matches", "validate_secret"]

MIN_SECRET_LENGTH = 16
_URL_SAFE = re.compile(r"^[A-Za-z0-9_\-.~]+$")

HOW_TO_CHOOSE = (
    "choose at least 32 random URL-safe characters, e.g. the output of "
    "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`"
)


def secret_matches(given: str | None, expected: str) -> bool:
    """Whether `given` equals `expected`, compared in constant time (None never matches)."""
    probe = (given or "").encode()
    # Always compare, even for a missing value, so absence costs the same time as a mismatch.
    same = hmac.compare_digest(probe, expected.encode())
    return same and given is not None


def check_secret(given: str | None, expected: str, *, what: str) -> None:
    """Raise `SignatureError` unless `given` is the expected secret."""
    if not secret_matches(given, expected):
        problem = "missing" if not given else "wrong"
        raise SignatureError(f"{what} is {problem}")


def validate_secret(value: str, *, setting: str) -> str:
    """Refuse a secret that is short or cannot travel in a URL path unescaped."""
    if len(value) < MIN_SECRET_LENGTH or not _URL_SAFE.match(value):
        raise ConfigurationError(
            f"{setting} must be at least {MIN_SECRET_LENGTH} URL-safe characters "
            f"(letters, digits, '-', '_', '.', '~'); {HOW_TO_CHOOSE}"
        )
    return value
