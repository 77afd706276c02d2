import json

import pytest

from byoc.errors import SignatureError
from byoc.models import InboundMessage, Text
from byoc.webhook import WebhookRequest
from byoc_viber import ViberChannel, sign, verify_signature

from .support import TOKEN, signed

# The official SDK's test vector (viber-bot-python tests/api/test_api.py).
SDK_BODY = b'{"event":"webhook","timestamp":4977069964384421269,"message_token":1478683725125}'
SDK_SIGNATURE = "d21b343448c8aee33b8e93768ef6ceb64a6ba6163099973a2b8bd028fea510ef"


@pytest.fixture
def channel() -> ViberChannel:
    return ViberChannel(auth_token=TOKEN, sender_name="Acme")


def test_the_official_sdk_vector_signs_as_viber_does() -> None:
    assert sign(TOKEN, SDK_BODY) == SDK_SIGNATURE
    verify_signature(TOKEN, SDK_BODY, SDK_SIGNATURE)


async def test_the_sdk_vector_verifies_through_the_channel(channel: ViberChannel) -> None:
    request = WebhookRequest(body=SDK_BODY, headers={"X-Viber-Content-Signature": SDK_SIGNATURE})
    assert await channel.parse(request) == []


async def test_non_ascii_bodies_verify_on_their_raw_utf8_bytes(channel: ViberChannel) -> None:
    text = "こんにちは שלום — ünïcödé 👋"
    payload = {
        "event": "message",
        "timestamp": int(channel.clock.time() * 1000),
        "message_token": 4912661846655238145,
        "sender": {"id": "01234567890A=", "name": "ジョン", "api_version": 2},
        "message": {"type": "text", "text": text},
    }
    body = json.dumps(payload, ensure_ascii=False).encode()
    [message] = await channel.parse(signed(body))
    assert isinstance(message, InboundMessage)
    assert message.parts == (Text(text=text),)
    assert message.profile is not None and message.profile.name == "ジョン"


@pytest.mark.parametrize("index", [0, len(SDK_BODY) // 2, len(SDK_BODY) - 1])
async def test_a_flipped_byte_is_refused_as_401(channel: ViberChannel, index: int) -> None:
    body = bytearray(SDK_BODY)
    body[index] ^= 0x01
    request = WebhookRequest(body=bytes(body), headers={"X-Viber-Content-Signature": SDK_SIGNATURE})
    with pytest.raises(SignatureError) as caught:
        await channel.parse(request)
    assert caught.value.status_code == 401


@pytest.mark.parametrize(
    "headers",
    [{}, {"X-Viber-Content-Signature": ""}, {"X-Viber-Content-Signature": "zz¿ñ"}],
    ids=["missing", "empty", "non-ascii"],
)
async def test_missing_or_garbage_signatures_are_refused(
    channel: ViberChannel, headers: dict[str, str]
) -> None:
    with pytest.raises(SignatureError):
        await channel.parse(WebhookRequest(body=SDK_BODY, headers=headers))


async def test_a_body_signed_with_another_token_is_refused(channel: ViberChannel) -> None:
    with pytest.raises(SignatureError, match="BYOC_VIBER_AUTH_TOKEN"):
        await channel.parse(signed(SDK_BODY, token="another-bot-token"))


async def test_the_signature_is_checked_before_the_body_is_parsed(channel: ViberChannel) -> None:
    # Garbage with a wrong signature is a 401, not a 400: nothing unverified gets parsed.
    request = WebhookRequest(body=b"not json", headers={"X-Viber-Content-Signature": "00"})
    with pytest.raises(SignatureError):
        await channel.parse(request)


async def test_header_names_and_hex_case_do_not_matter(channel: ViberChannel) -> None:
    request = WebhookRequest(
        body=SDK_BODY, headers={"x-viber-content-signature": SDK_SIGNATURE.upper()}
    )
    assert await channel.parse(request) == []
