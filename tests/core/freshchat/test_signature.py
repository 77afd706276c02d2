from __future__ import annotations

import base64
import json
import textwrap
from collections.abc import Callable

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from hypothesis import given
from hypothesis import strategies as st

from byoc.errors import ConfigurationError, SignatureError
from byoc.freshchat.signature import load_public_key, verify_signature

from .fakes import sign

BODY = json.dumps(
    {
        "actor": {"actor_type": "agent", "actor_id": "a1"},
        "action": "message_create",
        "action_time": "2022-11-22T10:55:23.126Z",
        "data": {"message": {"message_parts": [{"text": {"content": "안녕하세요 고객님 😀🙏"}}]}},
    },
    ensure_ascii=False,
    separators=(",", ":"),
).encode()


def _der(key: rsa.RSAPublicKey, fmt: serialization.PublicFormat) -> str:
    return base64.b64encode(key.public_bytes(serialization.Encoding.DER, fmt)).decode()


def _armour(label: str, b64: str, *, width: int = 64, newline: str = "\n") -> str:
    lines = [f"-----BEGIN {label}-----", *textwrap.wrap(b64, width), f"-----END {label}-----"]
    return newline.join(lines) + newline


SPKI = serialization.PublicFormat.SubjectPublicKeyInfo
PKCS1 = serialization.PublicFormat.PKCS1

# Every textual shape the key has been seen in (or is one paste away from).
SHAPES: dict[str, Callable[[rsa.RSAPublicKey], str]] = {
    # The admin page: SPKI body, PKCS#1 label.
    "admin page, SPKI in RSA PUBLIC KEY armour": lambda k: _armour("RSA PUBLIC KEY", _der(k, SPKI)),
    "admin page pasted on one line with spaces": lambda k: (
        f"-----BEGIN RSA PUBLIC KEY----- {_der(k, SPKI)} -----END RSA PUBLIC KEY-----"
    ),
    "proper SPKI PEM": lambda k: k.public_bytes(serialization.Encoding.PEM, SPKI).decode(),
    "real PKCS#1 PEM": lambda k: k.public_bytes(serialization.Encoding.PEM, PKCS1).decode(),
    "PKCS#1 body in PUBLIC KEY armour": lambda k: _armour("PUBLIC KEY", _der(k, PKCS1)),
    "bare SPKI base64": lambda k: _der(k, SPKI),
    "bare PKCS#1 base64": lambda k: _der(k, PKCS1),
    "bare base64 with line breaks": lambda k: "\n".join(textwrap.wrap(_der(k, SPKI), 76)),
    "bare base64 without padding": lambda k: _der(k, SPKI).rstrip("="),
    "CRLF line endings": lambda k: _armour("RSA PUBLIC KEY", _der(k, SPKI), newline="\r\n"),
    "stray indentation and blank lines": lambda k: (
        "\n\n   " + _armour("PUBLIC KEY", _der(k, SPKI)).replace("\n", "\n    \t") + "  \n"
    ),
    "body broken by spaces": lambda k: " ".join(textwrap.wrap(_der(k, SPKI), 20)),
    "literal \\n escapes from an env file": lambda k: _armour(
        "RSA PUBLIC KEY", _der(k, SPKI)
    ).replace("\n", "\\n"),
    "quoted": lambda k: f'"{_der(k, SPKI)}"',
}


@pytest.mark.parametrize("shape", list(SHAPES), ids=list(SHAPES))
def test_every_key_shape_loads_and_verifies(private_key: rsa.RSAPrivateKey, shape: str) -> None:
    text = SHAPES[shape](private_key.public_key())

    key = load_public_key(text)

    assert key.public_numbers() == private_key.public_key().public_numbers()
    verify_signature(key, BODY, sign(private_key, BODY))


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   \n",
        "not a key at all",
        base64.b64encode(b"definitely not DER").decode(),
        "-----BEGIN RSA PUBLIC KEY-----\n!!!!\n-----END RSA PUBLIC KEY-----",
        "-----BEGIN RSA PUBLIC KEY----- -----END RSA PUBLIC KEY-----",
    ],
)
def test_unusable_text_names_the_setting_and_where_the_key_is(text: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        load_public_key(text)
    message = str(caught.value)
    assert "BYOC_FRESHCHAT_WEBHOOK_PUBLIC_KEY" in message
    assert "Webhooks" in message and "RSA public key" in message


def test_a_private_key_is_refused_with_a_clear_message(private_key: rsa.RSAPrivateKey) -> None:
    pem = private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    with pytest.raises(ConfigurationError, match="private key"):
        load_public_key(pem)


def test_a_non_rsa_key_is_refused() -> None:
    pem = (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.PEM, SPKI)
        .decode()
    )
    with pytest.raises(ConfigurationError, match="not an RSA public key"):
        load_public_key(pem)


# -- verification ----------------------------------------------------------------------------


@pytest.fixture
def public_key(private_key: rsa.RSAPrivateKey) -> rsa.RSAPublicKey:
    return private_key.public_key()


def test_a_valid_signature_over_korean_and_emoji_is_accepted(
    private_key: rsa.RSAPrivateKey, public_key: rsa.RSAPublicKey
) -> None:
    assert "안녕하세요".encode() in BODY and "😀".encode() in BODY
    verify_signature(public_key, BODY, sign(private_key, BODY))


def test_the_signature_may_arrive_wrapped_or_padded_with_spaces(
    private_key: rsa.RSAPrivateKey, public_key: rsa.RSAPublicKey
) -> None:
    signature = sign(private_key, BODY)
    verify_signature(public_key, BODY, f"  {signature[:100]}\n{signature[100:]} ")


def test_re_encoded_json_no_longer_verifies(
    private_key: rsa.RSAPrivateKey, public_key: rsa.RSAPublicKey
) -> None:
    # What a framework that decodes and re-dumps the body would hand over.
    reencoded = json.dumps(json.loads(BODY)).encode()
    with pytest.raises(SignatureError, match="does not match"):
        verify_signature(public_key, reencoded, sign(private_key, BODY))


@given(position=st.integers(min_value=0, max_value=len(BODY) - 1), bit=st.integers(0, 7))
def test_one_flipped_bit_anywhere_is_refused(
    private_key: rsa.RSAPrivateKey, position: int, bit: int
) -> None:
    signature = sign(private_key, BODY)
    tampered = bytearray(BODY)
    tampered[position] ^= 1 << bit
    with pytest.raises(SignatureError, match="does not match"):
        verify_signature(private_key.public_key(), bytes(tampered), signature)


def test_a_flipped_byte_in_the_signature_is_refused(
    private_key: rsa.RSAPrivateKey, public_key: rsa.RSAPublicKey
) -> None:
    raw = bytearray(base64.b64decode(sign(private_key, BODY)))
    raw[10] ^= 0xFF
    with pytest.raises(SignatureError, match="does not match"):
        verify_signature(public_key, BODY, base64.b64encode(bytes(raw)).decode())


def test_a_signature_from_another_key_is_refused(public_key: rsa.RSAPublicKey) -> None:
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with pytest.raises(SignatureError, match="another Freshchat account"):
        verify_signature(public_key, BODY, sign(other, BODY))


@pytest.mark.parametrize("header", [None, "", "   "])
def test_a_missing_header_is_refused(public_key: rsa.RSAPublicKey, header: str | None) -> None:
    with pytest.raises(SignatureError, match="missing"):
        verify_signature(public_key, BODY, header)


@pytest.mark.parametrize("header", ["not base64!", "abc", "é" * 8, "sha256=abcdef"])
def test_a_header_that_is_not_base64_is_refused(public_key: rsa.RSAPublicKey, header: str) -> None:
    with pytest.raises(SignatureError, match="not base64"):
        verify_signature(public_key, BODY, header)


@given(header=st.text(max_size=400))
def test_any_header_text_is_refused_with_signature_error_only(
    private_key: rsa.RSAPrivateKey, header: str
) -> None:
    with pytest.raises(SignatureError):
        verify_signature(private_key.public_key(), BODY, header)
