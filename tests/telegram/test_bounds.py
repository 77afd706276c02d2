"""Every field the parser takes from an update is bounded at Telegram's own limits: just within
is taken, just over is a 400 naming the field (never quoting it); names are cut instead."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from byoc.errors import MalformedPayload
from byoc.models import File, InboundMessage, Text
from byoc.testing.clock import FakeClock
from byoc.webhook import WebhookRequest
from byoc_telegram import SECRET_HEADER, TelegramChannel

TOKEN = "123456789:AAHkOUQ8nVEXAMPLEtokenPART0123456789"
SECRET = "bounds-secret-0123456789"
CLOCK = FakeClock()
CHANNEL = TelegramChannel(bot_token=TOKEN, webhook_secret=SECRET, clock=CLOCK)
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
ONE_BYTE, TWO_BYTES, FOUR_BYTES = "a", "é", "😀"


def message(content: dict[str, Any], *, chat_id: Any = 4242, user: Any = None) -> bytes:
    sender = {"id": 4242, "is_bot": False, "first_name": "Minjun"} if user is None else user
    payload = {
        "update_id": 1,
        "message": {
            "message_id": 1,
            "date": int(CLOCK.time()),
            "chat": {"id": chat_id, "type": "private"},
            "from": sender,
            **content,
        },
    }
    return json.dumps(payload, ensure_ascii=False).encode()


def tap(data: str, query_id: str = "4382") -> bytes:
    sender = {"id": 4242, "is_bot": False, "first_name": "Minjun"}
    query = {"id": query_id, "from": sender, "chat_instance": "-1", "data": data}
    return json.dumps({"update_id": 2, "callback_query": query}, ensure_ascii=False).encode()


async def parse(body: bytes) -> list[Any]:
    headers = {SECRET_HEADER.lower(): SECRET}
    return list(await CHANNEL.parse(WebhookRequest(body=body, headers=headers)))


async def taken_only_within(body: bytes, *, within: bool, field: str) -> list[Any]:
    """`body` parses to one event when `within` its bound; else it is refused naming `field`,
    in a short text."""
    if within:
        events = await parse(body)
        assert len(events) == 1
        return events
    with pytest.raises(MalformedPayload, match=field) as caught:
        await parse(body)
    assert caught.value.status_code == 400 and len(str(caught.value)) < 200
    return []


@FUZZ
@given(length=st.integers(1, 10_000), char=st.sampled_from([ONE_BYTE, TWO_BYTES, FOUR_BYTES]))
async def test_a_text_is_taken_up_to_4096_characters(length: int, char: str) -> None:
    # Telegram counts characters: 4,096 emoji (8,192 UTF-16 units) are one message.
    body = message({"text": char * length})
    await taken_only_within(body, within=length <= 4096, field="message.text is .* over the 4,096")


@FUZZ
@given(length=st.integers(1, 10_000))
async def test_a_caption_is_taken_up_to_premiums_4096_characters(length: int) -> None:
    # Bots caption at most 1,024 characters, but Telegram Premium users up to 4,096.
    document = {"file_id": "BQACAgIAAxkBAAIBZ2" + "x" * 40, "file_name": "a.pdf"}
    body = message({"document": document, "caption": "c" * length})
    events = await taken_only_within(body, within=length <= 4096, field="message.caption")
    if events:
        assert [type(p) for p in events[0].parts] == [File, Text]


@FUZZ
@given(length=st.integers(1, 40), char=st.sampled_from([ONE_BYTE, TWO_BYTES, FOUR_BYTES]))
async def test_callback_data_is_taken_up_to_64_bytes_of_utf8(length: int, char: str) -> None:
    data = char * length
    size = len(data.encode())
    field = "callback_query.data is .* (bytes of UTF-8|characters long), over the 64 accepted"
    events = await taken_only_within(tap(data), within=size <= 64, field=field)
    if events:
        assert isinstance(events[0], InboundMessage) and events[0].parts[0].text == data


@FUZZ
@given(length=st.integers(1, 2000))
async def test_a_callback_query_id_is_taken_up_to_64_characters(length: int) -> None:
    body = tap("yes", query_id="7" * length)
    await taken_only_within(body, within=length <= 64, field="callback_query.id")


@FUZZ
@given(
    length=st.integers(1, 3000),
    kind=st.sampled_from(["photo", "document", "video", "voice", "audio", "sticker"]),
)
async def test_a_file_id_is_taken_up_to_512_characters(length: int, kind: str) -> None:
    file = {"file_id": "A" * length, "file_unique_id": "AgAD"}
    body = message({kind: [file] if kind == "photo" else file})
    await taken_only_within(body, within=length <= 512, field=f"{kind}.file_id is .* over the 512")


@FUZZ
@given(
    chat_id=st.integers(-(2**70), 2**70)
    | st.sampled_from([2**63 - 1, 2**63, -(2**63) + 1, -(2**63)])
)
async def test_a_chat_id_is_taken_within_64_bits(chat_id: int) -> None:
    body = message({"text": "hi"}, chat_id=chat_id)
    within = -(2**63) < chat_id < 2**63
    events = await taken_only_within(body, within=within, field="'id' must be a 64-bit integer")
    if events:
        assert events[0].user_id == str(chat_id)


@FUZZ
@given(
    user_id=st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
    | st.booleans()
    | st.none()
)
async def test_a_user_id_that_is_not_a_64_bit_integer_is_refused(user_id: Any) -> None:
    user = {"id": user_id, "is_bot": False, "first_name": "Minjun"}
    body = message({"text": "hi"}, user=user)
    within = isinstance(user_id, int) and not isinstance(user_id, bool) and abs(user_id) < 2**63
    await taken_only_within(body, within=within, field="Telegram from: 'id' must be a 64-bit")


@FUZZ
@given(
    chat_id=st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20) | st.booleans()
)
async def test_a_chat_id_that_is_not_an_integer_is_refused(chat_id: Any) -> None:
    body = message({"text": "hi"}, chat_id=chat_id)
    await taken_only_within(body, within=False, field="Telegram chat: 'id' must be a 64-bit")


@FUZZ
@given(
    length=st.integers(1, 5000),
    field=st.sampled_from(["first_name", "last_name", "username"]),
)
async def test_an_overlong_name_is_cut_and_the_message_kept(length: int, field: str) -> None:
    user = {"id": 4242, "is_bot": False, field: "n" * length}
    [event] = await parse(message({"text": "hi"}, user=user))
    assert event.profile.name == "n" * min(length, 256)


@FUZZ
@given(length=st.integers(1, 500))
async def test_a_shared_phone_number_is_taken_up_to_64_characters(length: int) -> None:
    body = message({"contact": {"phone_number": "1" * length, "first_name": "Kim"}})
    await taken_only_within(body, within=length <= 64, field="contact.phone_number")


async def test_a_refusal_names_the_field_and_never_quotes_it() -> None:
    with pytest.raises(MalformedPayload) as caught:
        await parse(message({"text": "SECRET-LOOKING-" * 5000}))
    assert str(caught.value) == (
        "Telegram message.text is 75,000 characters long, over the 4,096 accepted"
    )
