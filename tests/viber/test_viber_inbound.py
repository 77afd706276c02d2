import json
import logging
from datetime import datetime, timezone
from typing import Any

import pytest

from byoc.errors import MalformedPayload
from byoc.freshness import FreshnessWindow
from byoc.models import (
    Contact,
    ConversationStarted,
    Delivered,
    Failed,
    File,
    Image,
    InboundMessage,
    Link,
    Location,
    Profile,
    Seen,
    Sticker,
    Subscribed,
    Text,
    Unsubscribed,
    Video,
)
from byoc_viber import ViberChannel

from .support import TOKEN, signed

NO_WINDOW = FreshnessWindow(max_age=0, max_skew=0)

SENDER = {
    "id": "jc9HsWTZ2Yf2NkRZ8KcNug==",
    "name": "John McClane",
    "avatar": "http://avatar.example.com",
    "country": "UK",
    "language": "en",
    "api_version": 1,
}


@pytest.fixture
def channel() -> ViberChannel:
    # Parsing alone, of callbacks from Viber's documentation (2016): the freshness window is
    # tested in test_viber_freshness.py.
    return ViberChannel(auth_token=TOKEN, sender_name="Acme", freshness=NO_WINDOW)


def message_event(message: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "event": "message",
        "timestamp": 1457764197627,
        "message_token": 4912661846655238145,
        "sender": SENDER,
        "message": message,
        "silent": False,
        **extra,
    }


async def parse_one(channel: ViberChannel, payload: dict[str, Any] | bytes) -> Any:
    [event] = await channel.parse(signed(payload))
    return event


async def test_a_text_message_carries_user_token_profile_and_time(channel: ViberChannel) -> None:
    message = await parse_one(channel, message_event({"type": "text", "text": "hi there"}))
    assert message == InboundMessage(
        channel="viber",
        user_id="jc9HsWTZ2Yf2NkRZ8KcNug==",
        message_id="4912661846655238145",
        parts=(Text(text="hi there"),),
        profile=Profile(
            name="John McClane",
            avatar_url="http://avatar.example.com",
            language="en",
            country="UK",
        ),
        timestamp=datetime(2016, 3, 12, 6, 29, 57, 627000, tzinfo=timezone.utc),
    )


@pytest.mark.parametrize(
    "raw_token",
    [
        b"5753750845017966998",  # > 2**53: a float would make it ...7000
        b"5753750845017966998.0",  # re-written as a fraction by something in between
        b"5.753750845017966998e18",
        b'"5753750845017966998"',  # a numeric string
    ],
)
async def test_a_64_bit_message_token_survives_exactly(
    channel: ViberChannel, raw_token: bytes
) -> None:
    body = (
        b'{"event":"message","timestamp":1457764197627,"message_token":'
        + raw_token
        + b',"sender":{"id":"u1"},"message":{"type":"text","text":"x"}}'
    )
    message = await parse_one(channel, body)
    assert message.message_id == "5753750845017966998"
    # ...where a float would have lost the last digits:
    assert str(int(float(message.message_id))) != message.message_id


async def test_a_picture_keeps_its_caption_url_name_and_type(channel: ViberChannel) -> None:
    url = "https://dl-media.viber.com/1/share/2/long/bots/generic/image/0x0/abc/photo.jpg"
    message = await parse_one(
        channel,
        message_event({"type": "picture", "text": "look", "media": url, "thumbnail": url}),
    )
    assert message.parts == (
        Image(url=url, caption="look", mime_type="image/jpeg", name="photo.jpg"),
    )


async def test_a_video_keeps_size_duration_and_thumbnail(channel: ViberChannel) -> None:
    message = await parse_one(
        channel,
        message_event(
            {
                "type": "video",
                "media": "https://media.test/v/clip.mp4?sig=1",
                "thumbnail": "https://media.test/v/thumb.jpg",
                "size": 10240,
                "duration": 12,
            }
        ),
    )
    assert message.parts == (
        Video(
            url="https://media.test/v/clip.mp4?sig=1",
            mime_type="video/mp4",
            size=10240,
            duration=12,
            thumbnail_url="https://media.test/v/thumb.jpg",
        ),
    )


async def test_a_file_keeps_its_name_size_and_type(channel: ViberChannel) -> None:
    message = await parse_one(
        channel,
        message_event(
            {
                "type": "file",
                "media": "https://media.test/f/8b1a",
                "file_name": "invoice.pdf",
                "file_size": 31337,
            }
        ),
    )
    assert message.parts == (
        File(
            url="https://media.test/f/8b1a",
            name="invoice.pdf",
            mime_type="application/pdf",
            size=31337,
        ),
    )


@pytest.mark.parametrize(
    ("message", "parts"),
    [
        ({"type": "sticker", "sticker_id": 46105}, (Sticker(sticker_id="46105"),)),
        (
            {"type": "contact", "contact": {"name": "Itamar", "phone_number": "+972511123123"}},
            (Contact(name="Itamar", phone="+972511123123"),),
        ),
        ({"type": "url", "media": "https://example.com/x"}, (Link(url="https://example.com/x"),)),
        (
            {"type": "location", "location": {"lat": 50.76891, "lon": 6.11499}},
            (Location(lat=50.76891, lon=6.11499),),
        ),
        (
            # The legacy documentation shows coordinates as strings.
            {"type": "location", "location": {"lat": "-33.8688", "lon": "151.2093"}},
            (Location(lat=-33.8688, lon=151.2093),),
        ),
    ],
    ids=["sticker", "contact", "url", "location", "location-strings"],
)
async def test_every_other_message_type(
    channel: ViberChannel, message: dict[str, Any], parts: tuple[Any, ...]
) -> None:
    assert (await parse_one(channel, message_event(message))).parts == parts


async def test_a_sticker_with_a_picture_arrives_as_that_picture(channel: ViberChannel) -> None:
    media = "https://cdn.viber.test/stickers/40133.png"
    message = {"type": "sticker", "sticker_id": 40133, "media": media}
    assert (await parse_one(channel, message_event(message))).parts == (
        Image(url=media, name="40133.png", mime_type="image/png"),
    )


@pytest.mark.parametrize(
    ("tracking_data", "parts"),
    [
        ('{"byoc_replies":{"네":"ORDER_OK"}}', (Text(text="네", reply_payload="ORDER_OK"),)),
        # The text is not one of the buttons shown: typed, not tapped.
        ('{"byoc_replies":{"아니요":"ORDER_NO"}}', (Text(text="네"),)),
        # Another bot's data, or an older bridge's conversation id.
        ("c-42", (Text(text="네"),)),
        ('{"byoc_replies": ["네"]}', (Text(text="네"),)),
        ("{not json", (Text(text="네"),)),
    ],
)
async def test_a_tapped_reply_button_carries_the_payload_its_tracking_data_names(
    channel: ViberChannel, tracking_data: str, parts: tuple[Any, ...]
) -> None:
    message = {"type": "text", "text": "네", "tracking_data": tracking_data}
    assert (await parse_one(channel, message_event(message))).parts == parts


async def test_an_unknown_message_type_arrives_as_visible_text(channel: ViberChannel) -> None:
    message = await parse_one(channel, message_event({"type": "poll", "text": "Pizza?"}))
    [part] = message.parts
    assert isinstance(part, Text)
    assert '"poll"' in part.text and "Pizza?" in part.text


async def test_missing_profile_fields_and_wrong_types_leave_them_empty(
    channel: ViberChannel,
) -> None:
    payload = message_event({"type": "text", "text": "x"}, sender={"id": "u1", "avatar": 7})
    assert (await parse_one(channel, payload)).profile == Profile()


async def test_user_events(channel: ViberChannel) -> None:
    subscribed = {
        "event": "subscribed",
        "timestamp": 1457764197627,
        "chat_hostname": "SN-149_",
        "user": SENDER,
        "message_token": 4912661846655238145,
    }
    unsubscribed = {
        "event": "unsubscribed",
        "timestamp": 1457764197627,
        "user_id": "jc9HsWTZ2Yf2NkRZ8KcNug==",
        "message_token": 4912661846655238145,
    }
    started = {
        "event": "conversation_started",
        "timestamp": 1457764197627,
        "type": "open",
        "context": "campaign-7",
        "user": SENDER,
        "message_token": 4912661846655238145,
        "subscribed": True,
    }
    when = datetime(2016, 3, 12, 6, 29, 57, 627000, tzinfo=timezone.utc)
    profile = Profile(
        name="John McClane", avatar_url="http://avatar.example.com", language="en", country="UK"
    )
    assert await parse_one(channel, subscribed) == Subscribed(
        channel="viber", user_id=SENDER["id"], profile=profile, timestamp=when
    )
    assert await parse_one(channel, unsubscribed) == Unsubscribed(
        channel="viber", user_id=SENDER["id"], timestamp=when
    )
    assert await parse_one(channel, started) == ConversationStarted(
        channel="viber",
        user_id=SENDER["id"],
        profile=profile,
        context="campaign-7",
        subscribed=True,
        timestamp=when,
    )


async def test_delivery_events_name_our_message_by_its_token(channel: ViberChannel) -> None:
    base = {
        "timestamp": 1595324677891,
        "chat_hostname": "SN-CHAT-02_",
        "message_token": 5466297578174182639,
        "user_id": "3SQNc4FPUQmysaM/AQEhXg==",
    }
    when = datetime(2020, 7, 21, 9, 44, 37, 891000, tzinfo=timezone.utc)
    ids = {"channel": "viber", "user_id": base["user_id"], "message_id": "5466297578174182639"}
    assert await parse_one(channel, {"event": "delivered", **base}) == Delivered(
        **ids, timestamp=when
    )
    assert await parse_one(channel, {"event": "seen", **base}) == Seen(**ids, timestamp=when)
    failed = {"event": "failed", **base, "desc": "message validation failed"}
    assert await parse_one(channel, failed) == Failed(
        **ids, reason="message validation failed", timestamp=when
    )


@pytest.mark.parametrize("event", ["webhook", "client_status", "action", "brand_new_event"])
async def test_events_without_use_give_nothing(
    channel: ViberChannel, event: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="byoc.viber")
    payload = {"event": event, "timestamp": 1, "message_token": 1, "user": SENDER}
    assert await channel.parse(signed(payload)) == []
    if event != "webhook":
        assert any(event in r.getMessage() and r.name == "byoc.viber" for r in caplog.records)


async def test_the_sdk_unicode_sample_parses(channel: ViberChannel) -> None:
    # Shaped like viber-bot-python tests/api/test_data/unicode_request.
    body = (
        '{"event":"message","timestamp":1481059235720,"message_token":5004589932645399232,'
        '"sender":{"id":"hqI4T0UI/aLe1mAcbgvy7w==","name":"ノーマン","avatar":"https://a.test/x",'
        '"language":"he","country":"IL","api_version":2},'
        '"message":{"text":"こんにちは、世界 שלום עולם","type":"text"},"silent":false}'
    ).encode()
    message = await parse_one(channel, body)
    assert message.parts == (Text(text="こんにちは、世界 שלום עולם"),)
    assert message.message_id == "5004589932645399232"


async def test_lone_surrogates_become_replacement_characters(channel: ViberChannel) -> None:
    # Text cut in the middle of an emoji: the escape of half a surrogate pair, which no UTF-8
    # encoder (a store, an HTTP client) accepts further on. Whole pairs stay emoji.
    body = (
        b'{"event":"message","timestamp":1481059235720,"message_token":5004589932645399232,'
        b'"sender":{"id":"u1","name":"Min\\ud83d"},'
        b'"message":{"type":"text","text":"hi \\ud83d\\ude00 and \\udc00!","\\ud800":1}}'
    )
    message = await parse_one(channel, body)
    assert message.parts == (Text(text="hi 😀 and \ufffd!"),)
    assert message.profile.name == "Min\ufffd"
    for text in (message.parts[0].text, message.profile.name):
        text.encode("utf-8")


async def test_a_body_with_a_byte_order_mark_parses(channel: ViberChannel) -> None:
    body = b"\xef\xbb\xbf" + json.dumps(message_event({"type": "text", "text": "x"})).encode()
    assert (await parse_one(channel, body)).parts == (Text(text="x"),)


@pytest.mark.parametrize(
    "payload",
    [
        b"",
        # JSON between systems is UTF-8 (RFC 8259), as Viber sends it.
        json.dumps(message_event({"type": "text", "text": "x"})).encode("utf-16"),
        b"not json",
        b"[1, 2]",
        b"\xff\xfe\x00",
        b"[" * 100_000,
        b'{"event": 3}',
        b'{"event":"message","message_token":1,"message":{"type":"text","text":"x"}}',
        b'{"event":"message","message_token":1,"sender":{"name":"?"},"message":{"type":"text"}}',
        b'{"event":"message","message_token":true,"sender":{"id":"u"},"message":{"type":"text"}}',
        b'{"event":"message","message_token":1.5,"sender":{"id":"u"},"message":{"type":"text"}}',
        b'{"event":"message","message_token":1,"sender":{"id":"u"},"message":{"type":"picture"}}',
        b'{"event":"message","message_token":1,"sender":{"id":"u"},"message":"hi"}',
        b'{"event":"message","message_token":1,"sender":{"id":"u"},"message":{"text":"no type"}}',
        b'{"event":"message","message_token":1,"sender":{"id":"u"},"timestamp":"soon",'
        b'"message":{"type":"text","text":"x"}}',
        b'{"event":"message","message_token":1,"sender":{"id":"u"},"timestamp":1e400,'
        b'"message":{"type":"text","text":"x"}}',
        b'{"event":"message","message_token":NaN,"sender":{"id":"u"},"message":{"type":"text"}}',
        b'{"event":"message","message_token":1e999999999,"sender":{"id":"u"},'
        b'"message":{"type":"text"}}',
        b'{"event":"message","message_token":1,"sender":{"id":"u"},'
        b'"message":{"type":"location","location":{"lat":"north","lon":1}}}',
        b'{"event":"delivered","message_token":1}',
        b'{"event":"subscribed","user":"u1"}',
    ],
)
async def test_malformed_callbacks_are_refused_with_a_reason(
    channel: ViberChannel, payload: bytes
) -> None:
    with pytest.raises(MalformedPayload) as caught:
        await channel.parse(signed(payload))
    assert caught.value.status_code == 400 and str(caught.value)


async def test_an_out_of_range_timestamp_is_malformed(channel: ViberChannel) -> None:
    body = json.dumps(message_event({"type": "text", "text": "x"}, timestamp=10**20)).encode()
    with pytest.raises(MalformedPayload, match="timestamp"):
        await channel.parse(signed(body))
