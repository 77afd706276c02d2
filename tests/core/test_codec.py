"""The queue's payloads: every value comes back equal, small, and old payloads still decode."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from byoc import codec
from byoc.errors import MalformedPayload
from byoc.messaging import AgentMessage, ConversationChanged
from byoc.models import (
    Buttons,
    Contact,
    ConversationStarted,
    Delivered,
    File,
    Image,
    InboundMessage,
    Link,
    Location,
    OutboundMessage,
    Profile,
    QuickReplies,
    QuickReply,
    Sticker,
    Text,
    UrlButton,
    Video,
)

AT = datetime(2025, 3, 1, 12, 30, 5, 123456, tzinfo=timezone.utc)

text = st.text(max_size=20)
word = st.text(min_size=1, max_size=20)
maybe = st.none() | text
size = st.none() | st.integers(min_value=0, max_value=2**40)
moment = st.datetimes(timezones=st.just(timezone.utc))
parts = st.one_of(
    st.builds(Text, text=text),
    st.builds(
        Image, url=word, caption=text, mime_type=maybe, size=size, name=maybe, helpdesk_ref=maybe
    ),
    st.builds(Video, url=word, caption=text, size=size, duration=size, thumbnail_url=maybe),
    st.builds(File, url=word, name=text, size=size, helpdesk_ref=maybe),
    st.builds(
        Location,
        lat=st.floats(-90, 90) | st.integers(-90, 90),
        lon=st.floats(-180, 180),
        label=maybe,
    ),
    st.builds(Contact, name=text, phone=text),
    st.builds(Sticker, sticker_id=text, url=maybe),
    st.builds(Link, url=word, title=maybe),
    st.builds(Buttons, buttons=st.lists(st.builds(UrlButton, label=text, url=text)), text=text),
    st.builds(
        QuickReplies, replies=st.lists(st.builds(QuickReply, label=text, payload=maybe)), text=text
    ),
)
profiles = st.none() | st.builds(
    Profile, name=maybe, avatar_url=maybe, language=maybe, country=maybe
)
values = st.one_of(
    st.builds(
        InboundMessage,
        channel=word,
        user_id=word,
        message_id=word,
        parts=st.lists(parts, max_size=4),
        profile=profiles,
        timestamp=moment,
    ),
    st.builds(
        AgentMessage,
        message_id=text,
        conversation_id=text,
        user_id=maybe,
        actor_type=text,
        actor_id=maybe,
        message_type=text,
        private=st.booleans(),
        parts=st.lists(parts, max_size=4),
        created_at=moment,
    ),
    st.builds(OutboundMessage, message_id=word, conversation_id=text, parts=st.lists(parts)),
    st.builds(ConversationChanged, conversation_id=text, status=text, user_id=maybe),
    st.builds(
        ConversationStarted,
        channel=text,
        user_id=text,
        profile=profiles,
        context=maybe,
        subscribed=st.booleans(),
        timestamp=moment,
    ),
    st.builds(Delivered, channel=text, user_id=text, message_id=text, timestamp=moment),
)


@given(values)
def test_every_value_comes_back_equal_through_json(value: object) -> None:
    stored = json.dumps(codec.encode(value), ensure_ascii=False)
    assert codec.decode(json.loads(stored)) == value


def test_fields_at_their_plain_default_are_left_out() -> None:
    assert codec.encode(Image(url="https://x.example/p.jpg")) == {
        "type": "Image",
        "url": "https://x.example/p.jpg",
    }
    started = codec.encode(ConversationStarted(channel="viber", user_id="u", timestamp=AT))
    assert "subscribed" not in started and "profile" not in started
    # Equal to the default but of another type is written: 0 is no stand-in for False.
    zero = ConversationStarted(channel="viber", user_id="u", subscribed=0, timestamp=AT)
    assert codec.encode(zero)["subscribed"] == 0
    assert "name" not in codec.encode(File(url="https://x.example/f", name="file"))
    assert codec.encode(File(url="https://x.example/f", name="a.pdf"))["name"] == "a.pdf"


# Written by byoc before payloads left defaults out: jobs queued then must still deliver.
EARLIER_PAYLOADS = [
    (
        '{"type": "InboundMessage", "channel": "viber", "user_id": "jc9HsWTZ2Yf2NkRZ8KcNug==", '
        '"message_id": "5412345678901234567", "parts": [{"type": "Text", "text": "héllo 🙂"}, '
        '{"type": "Image", "url": "https://media.example/p.jpg", "caption": "a cat", '
        '"mime_type": null, "size": 1234, "name": null, "helpdesk_ref": null}, {"type": '
        '"Location", "lat": 50.5, "lon": -3.25, "label": "here"}], "profile": {"type": "Profile", '
        '"name": "Ana", "avatar_url": null, "language": "en", "country": "GB"}, "timestamp": '
        '{"type": "datetime", "iso": "2025-03-01T12:30:05.123456+00:00"}}',
        InboundMessage(
            channel="viber",
            user_id="jc9HsWTZ2Yf2NkRZ8KcNug==",
            message_id="5412345678901234567",
            parts=[
                Text(text="héllo 🙂"),
                Image(url="https://media.example/p.jpg", caption="a cat", size=1234),
                Location(lat=50.5, lon=-3.25, label="here"),
            ],
            profile=Profile(name="Ana", language="en", country="GB"),
            timestamp=AT,
        ),
    ),
    (
        '{"type": "AgentMessage", "message_id": "m-1", "conversation_id": "c-1", "user_id": "u-1", '
        '"actor_type": "agent", "actor_id": "a-1", "message_type": "normal", "private": false, '
        '"parts": [{"type": "Text", "text": "Hi"}, {"type": "Buttons", "buttons": [{"type": '
        '"UrlButton", "label": "Open", "url": "https://x.example"}], "text": "see"}, {"type": '
        '"QuickReplies", "replies": [{"type": "QuickReply", "label": "Yes", "payload": "y"}, '
        '{"type": "QuickReply", "label": "No", "payload": null}], "text": ""}], "created_at": '
        '{"type": "datetime", "iso": "2025-03-01T12:30:05.123456+00:00"}}',
        AgentMessage(
            message_id="m-1",
            conversation_id="c-1",
            user_id="u-1",
            actor_type="agent",
            actor_id="a-1",
            parts=[
                Text(text="Hi"),
                Buttons(buttons=[UrlButton(label="Open", url="https://x.example")], text="see"),
                QuickReplies(
                    replies=[QuickReply(label="Yes", payload="y"), QuickReply(label="No")]
                ),
            ],
            created_at=AT,
        ),
    ),
    (
        '{"type": "ConversationChanged", "conversation_id": "c-1", "status": "resolved", '
        '"user_id": "u-1", "event_id": "conversation_resolution/c-1/2025"}',
        ConversationChanged(
            conversation_id="c-1",
            status="resolved",
            user_id="u-1",
            event_id="conversation_resolution/c-1/2025",
        ),
    ),
]


@pytest.mark.parametrize(("payload", "value"), EARLIER_PAYLOADS)
def test_payloads_written_with_every_field_still_decode(payload: str, value: object) -> None:
    assert codec.decode(json.loads(payload)) == value
    assert len(json.dumps(codec.encode(value), ensure_ascii=False)) <= len(payload)


@pytest.mark.parametrize(
    "data",
    [
        {"type": "Nope"},
        {"text": "no tag"},
        {"type": "Text"},
        {"type": "Text", "text": "x", "colour": "red"},
        {"type": "Image", "url": ""},
        {"type": "datetime", "iso": "yesterday"},
    ],
)
def test_what_is_not_an_encoded_value_is_malformed(data: dict[str, object]) -> None:
    with pytest.raises(MalformedPayload):
        codec.decode(data)
