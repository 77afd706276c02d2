"""Decoding Kakao-side webhook bodies: broken surrogates are repaired, not fatal."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from byoc.errors import MalformedPayload
from byoc.models import InboundMessage, Text
from byoc.webhook import WebhookRequest
from byoc_kakao import HappyTalkDealer, KakaoChatbotChannel, KakaoDealerChannel
from byoc_kakao.request_body import json_object

from .rig import SKILL_SECRET, WEBHOOK_SECRET

# A JVM service cutting a string between the halves of 😀 escapes the half left over.
CUT_EMOJI = b'{"message": "\\uc548\\ub155 \\ud83d", "pair": "\\ud83d\\ude00"}'


def test_a_lone_surrogate_becomes_a_replacement_character() -> None:
    assert json_object(CUT_EMOJI, what="x") == {"message": "안녕 \ufffd", "pair": "😀"}


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16-le"])
def test_raw_surrogates_are_repaired_too(encoding: str) -> None:
    # json.loads decodes bytes with "surrogatepass", so raw halves get through it as well.
    body = '{"a": "x\ud800", "\udc00": 1}'.encode(encoding, "surrogatepass")
    assert json_object(body, what="x") == {"a": "x\ufffd", "\ufffd": 1}


@given(st.text(alphabet=st.characters(exclude_categories=())))
def test_every_decoded_string_can_be_encoded_as_utf8(text: str) -> None:
    body = json.dumps({"text": text, text: [text]}).encode()
    decoded = json_object(body, what="x")
    json.dumps(decoded, ensure_ascii=False).encode("utf-8")  # no UnicodeEncodeError
    if not any(0xD800 <= ord(c) <= 0xDFFF for c in text):
        assert decoded == {"text": text, text: [text]}


def test_deep_nesting_is_malformed_not_a_crash() -> None:
    with pytest.raises(MalformedPayload):
        json_object(b"[" * 100_000, what="x")


async def test_both_channels_keep_a_message_with_a_cut_emoji() -> None:
    dealer = KakaoDealerChannel(
        dealer=HappyTalkDealer(client_id="i", client_secret="s", sender_key="k"),
        webhook_secret=WEBHOOK_SECRET,
    )
    body = b'{"user_key": "u1", "serial_number": "1", "message": "\\ud83d"}'
    [message] = await dealer.parse(WebhookRequest(body=body, subpath=WEBHOOK_SECRET))
    assert isinstance(message, InboundMessage) and message.parts == (Text(text="\ufffd"),)

    chatbot = KakaoChatbotChannel(bot_id="b", rest_api_key="k", skill_secret=SKILL_SECRET)
    body = b'{"userRequest": {"user": {"id": "u\\udc00"}, "utterance": "hi \\ud83d"}}'
    [message] = await chatbot.parse(WebhookRequest(body=body, subpath=SKILL_SECRET))
    assert isinstance(message, InboundMessage)
    assert message.user_id == "u\ufffd" and message.parts == (Text(text="hi \ufffd"),)
    await dealer.aclose()
    await chatbot.aclose()
