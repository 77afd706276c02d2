"""HMAC-SHA256 webhook signatures: vectors, the timestamp window, and every refusal's reason."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from byoc.chatwoot import sign, verify_signature
from byoc.errors import SignatureError, StaleWebhook
from byoc.freshness import FreshnessWindow

# Computed with `printf '%s' '<timestamp>.<body>' | openssl dgst -sha256 -hmac '<secret>'`.
VECTORS = [
    (
        "whsec-test",
        "1700000000",
        b'{"event":"message_created","id":1}',
        "08dc62860c05ce4269cf92bae5fbe871110eb1f0f8655288c16c6b9647ea9574",
    ),
    (
        "K9x_2mR!secret-with-punctuation",
        "1712345678",
        b"",
        "afa884d5eed50c9923e18dda42a9aaa04072ab6d090eb71610d5e8360f75c73d",
    ),
    (
        "K9x_2mR!secret-with-punctuation",
        "1712345678",
        b'{"content":"\\u003cb\\u003e"}',
        "0387c0e6d509acc5fedd14ff01845ef471bd249f96bbf6cccdff746b46f43f62",
    ),
]


def _headers(timestamp: str, signature: str) -> dict[str, str]:
    return {"x-chatwoot-timestamp": timestamp, "x-chatwoot-signature": signature}


@pytest.mark.parametrize(("secret", "timestamp", "body", "digest"), VECTORS)
def test_vectors(secret: str, timestamp: str, body: bytes, digest: str) -> None:
    assert sign(secret, timestamp, body) == f"sha256={digest}"
    now = float(timestamp)
    verify_signature(secret, body, _headers(timestamp, f"sha256={digest}"), now=now)
    # Hex case does not matter.
    verify_signature(secret, body, _headers(timestamp, f"sha256={digest.upper()}"), now=now)


def test_a_changed_byte_or_secret_does_not_verify() -> None:
    secret, timestamp, body, digest = VECTORS[0]
    headers = _headers(timestamp, f"sha256={digest}")
    with pytest.raises(SignatureError, match="#13809"):
        verify_signature(secret, body + b" ", headers, now=float(timestamp))
    with pytest.raises(SignatureError, match="BYOC_CHATWOOT_HMAC_TOKEN"):
        verify_signature("whsec-other", body, headers, now=float(timestamp))


def test_the_timestamp_is_signed_too() -> None:
    secret, timestamp, body, digest = VECTORS[0]
    later = str(int(timestamp) + 1)
    with pytest.raises(SignatureError, match="does not match"):
        verify_signature(secret, body, _headers(later, f"sha256={digest}"), now=float(later))


@pytest.mark.parametrize(("offset", "said"), [(301, "301 s ago"), (-301, "301 s in the future")])
def test_a_timestamp_outside_the_window_is_refused(offset: int, said: str) -> None:
    secret, timestamp, body, digest = VECTORS[0]
    headers = _headers(timestamp, f"sha256={digest}")
    with pytest.raises(StaleWebhook, match=f"stale webhook: Chatwoot webhook sent at .*{said}"):
        verify_signature(secret, body, headers, now=float(timestamp) + offset)
    wider = FreshnessWindow(max_age=400, max_skew=400)
    verify_signature(secret, body, headers, now=float(timestamp) + offset, window=wider)


def test_a_forged_signature_is_a_signature_error_however_old() -> None:
    secret, timestamp, body, _ = VECTORS[0]
    headers = _headers(timestamp, "sha256=" + "0" * 64)
    with pytest.raises(SignatureError, match="does not match"):
        verify_signature(secret, body, headers, now=float(timestamp) + 10**6)


@pytest.mark.parametrize(
    ("headers", "said"),
    [
        ({}, "not signed.*4.13"),
        ({"x-chatwoot-signature": "sha256=00"}, "Timestamp header is missing"),
        ({"x-chatwoot-timestamp": "1700000000"}, "Signature header is missing"),
        ({"x-chatwoot-timestamp": "yesterday", "x-chatwoot-signature": "x"}, "unix seconds"),
        ({"x-chatwoot-timestamp": "1700000000", "x-chatwoot-signature": "sha256=é"}, "match"),
    ],
)
def test_each_refusal_says_why(headers: dict[str, str], said: str) -> None:
    with pytest.raises(SignatureError, match=said):
        verify_signature("whsec-test", b"{}", headers, now=1_700_000_000.0)


@given(
    body=st.binary(max_size=200),
    timestamp=st.text(max_size=20),
    signature=st.text(max_size=80),
    now=st.floats(min_value=0, max_value=4e9),
)
def test_any_input_verifies_or_raises_signature_error(
    body: bytes, timestamp: str, signature: str, now: float
) -> None:
    try:
        verify_signature("whsec-test", body, _headers(timestamp, signature), now=now)
    except (SignatureError, StaleWebhook):
        return
    assert signature.lower() == sign("whsec-test", timestamp.strip(), body)
