"""Kakao-side webhook bodies with broken surrogates are repaired, not refused (the decoding
itself is `byoc.webhook.parse_json_object`'s, tested in tests/core/test_webhook.py)."""

from __future__ import annotations

from byoc.models import InboundMessage, Text
from byoc.webhook import WebhookRequest
from byoc_kakao import HappyTalkDealer, KakaoChatbotChannel, KakaoDealerChannel

from .rig import SKILL_SECRET, WEBHOOK_SECRET


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
