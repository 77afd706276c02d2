"""What users send on Telegram becomes byoc events: each kind, as the emulator posts it to the
channel's webhook with the secret header."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from byoc.errors import MalformedPayload
from byoc.models import (
    Contact,
    File,
    Image,
    InboundMessage,
    Location,
    Subscribed,
    Text,
    Unsubscribed,
    Video,
)
from byoc_telegram import SECRET_HEADER, parse_update
from byoc_telegram.testing import TelegramUser

from .conftest import SECRET, WEBHOOK_URL, World

JPEG = bytes.fromhex("ffd8ffe000104a464946000101000001000100000000ffd9") + b"original"
PDF = b"%PDF-1.4\n%%EOF\n"


async def arrived(world: World, count: int = 1) -> list[Any]:
    await world.emulator.drain()
    assert len(world.endpoint.events) == count, world.endpoint.events
    return world.endpoint.events


async def one_message(world: World) -> InboundMessage:
    (event,) = await arrived(world)
    assert isinstance(event, InboundMessage)
    return event


@pytest.fixture
def alice(world: World) -> TelegramUser:
    return world.emulator.user("Alice", last_name="Kim", username="alice", language_code="ko")


async def test_text_is_a_message_of_the_chat_with_the_users_profile(
    world: World, alice: TelegramUser
) -> None:
    update = await world.emulator.send_text(alice, "안녕하세요 👋")
    message = await one_message(world)
    assert message.channel == "telegram"
    assert message.user_id == str(alice.id)
    assert message.message_id == str(update["update_id"])  # the bridge dedupes on it
    assert message.parts == (Text(text="안녕하세요 👋"),)
    assert message.profile is not None
    assert (message.profile.name, message.profile.language) == ("Alice Kim", "ko")


async def test_a_photo_is_its_largest_size_fetched_with_the_token(
    world: World, alice: TelegramUser
) -> None:
    await world.emulator.send_media(alice, "photo", JPEG, caption="my receipt")
    (image,) = (await one_message(world)).parts
    assert isinstance(image, Image)
    assert image.url.startswith("tg-file:") and world.emulator.token not in image.url
    assert (image.caption, image.size) == ("my receipt", len(JPEG))
    media = await world.channel.fetch_media(image, max_bytes=1024)
    assert media is not None
    async with media:
        assert await media.read() == JPEG  # the original, not a thumbnail


async def test_a_document_keeps_its_name_and_its_caption_follows(
    world: World, alice: TelegramUser
) -> None:
    await world.emulator.send_media(
        alice, "document", PDF, file_name="invoice.pdf", caption="see attached"
    )
    file, caption = (await one_message(world)).parts
    assert isinstance(file, File)
    assert (file.name, file.mime_type, file.size) == ("invoice.pdf", "application/pdf", len(PDF))
    assert caption == Text(text="see attached")


async def test_video_voice_and_audio(world: World, alice: TelegramUser) -> None:
    await world.emulator.send_media(alice, "video", b"mp4" * 10, caption="unboxing")
    await world.emulator.send_media(alice, "voice", b"ogg" * 10)
    await world.emulator.send_media(alice, "audio", b"mp3" * 10, file_name="song.mp3")
    video, voice, audio = [event.parts[0] for event in await arrived(world, 3)]
    assert isinstance(video, Video) and (video.caption, video.mime_type) == (
        "unboxing",
        "video/mp4",
    )
    assert isinstance(voice, File) and (voice.name, voice.mime_type) == ("voice.ogg", "audio/ogg")
    assert isinstance(audio, File) and (audio.name, audio.mime_type) == ("song.mp3", "audio/mpeg")


async def test_stickers_are_pictures_where_telegram_gives_one(
    world: World, alice: TelegramUser
) -> None:
    webp, thumbnail = b"RIFF....WEBPstatic", b"RIFF....WEBPthumb"
    await world.emulator.send_media(alice, "sticker", webp, emoji="😀")
    await world.emulator.send_media(
        alice, "sticker", b"tgs", emoji="🎉", animated=True, thumbnail=thumbnail
    )
    await world.emulator.send_media(alice, "sticker", b"tgs", emoji="🐱", animated=True)
    static, animated, bare = [event.parts[0] for event in await arrived(world, 3)]
    assert isinstance(static, Image) and static.caption == "Sticker 😀"
    assert isinstance(animated, Image) and animated.caption == "Sticker 🎉"
    for image, data in ((static, webp), (animated, thumbnail)):
        media = await world.channel.fetch_media(image, max_bytes=1000)
        assert media is not None and await media.read() == data
    assert bare == Text(text="[Sticker 🐱: an animated sticker Telegram gives no picture of]")


async def test_places_and_contacts(world: World, alice: TelegramUser) -> None:
    point = {"latitude": 37.5665, "longitude": 126.978}
    await world.emulator.user_sends(alice, {"location": point})
    venue = {"location": point, "title": "City Hall", "address": "110 Sejong-daero"}
    await world.emulator.user_sends(alice, {"location": point, "venue": venue})
    contact = {"phone_number": "+821012345678", "first_name": "Ji-soo", "last_name": "Park"}
    await world.emulator.user_sends(alice, {"contact": contact})
    places = [event.parts for event in await arrived(world, 3)]
    assert places == [
        (Location(lat=37.5665, lon=126.978),),
        (Location(lat=37.5665, lon=126.978, label="City Hall, 110 Sejong-daero"),),
        (Contact(name="Ji-soo Park", phone="+821012345678"),),
    ]


async def test_a_kind_the_bridge_cannot_carry_is_a_notice(
    world: World, alice: TelegramUser
) -> None:
    await world.emulator.user_sends(alice, {"poll": {"id": "1", "question": "?", "options": []}})
    assert (await one_message(world)).parts == (
        Text(text="[The user sent a Telegram poll message; it cannot be shown here]"),
    )


async def test_an_edit_reaches_the_agent_as_a_note_and_the_new_text(
    world: World, alice: TelegramUser
) -> None:
    first = await world.emulator.send_text(alice, "my order is #1243")
    await world.emulator.edit(alice, first["message"]["message_id"], "my order is #1234")
    original, edited = await arrived(world, 2)
    assert edited.message_id != original.message_id, "an edit is a message of its own"
    note, text = edited.parts
    assert isinstance(note, Text) and note.text.startswith("[The user edited their message of ")
    assert text == Text(text="my order is #1234")


async def test_blocking_and_unblocking_the_bot(world: World, alice: TelegramUser) -> None:
    await world.emulator.block(alice)
    await world.emulator.unblock(alice)
    blocked, back = await arrived(world, 2)
    assert blocked == Unsubscribed(
        channel="telegram", user_id=str(alice.id), timestamp=blocked.timestamp
    )
    assert isinstance(back, Subscribed) and back.user_id == str(alice.id)


async def test_a_group_chat_is_not_a_support_conversation(world: World) -> None:
    update = {
        "update_id": 5,
        "message": {
            "message_id": 1,
            "date": 1,
            "chat": {"id": -1001234, "type": "supergroup", "title": "fans"},
            "text": "hi all",
        },
    }
    assert parse_update(json.dumps(update).encode(), channel="telegram") == []


@pytest.mark.parametrize(
    "how", [{}, {SECRET_HEADER: "wrong-secret-0123456789"}, {SECRET_HEADER: SECRET + " "}]
)
async def test_an_update_without_the_secret_is_401(
    world: World, http: httpx.AsyncClient, alice: TelegramUser, how: dict[str, str]
) -> None:
    update = world.emulator.message_update(alice, {"text": "forged"})
    answer = await http.post(WEBHOOK_URL, content=json.dumps(update).encode(), headers=how)
    assert answer.status_code == 401
    assert world.endpoint.events == []


async def test_a_redelivered_update_keeps_its_message_id(world: World, alice: TelegramUser) -> None:
    update = await world.emulator.send_text(alice, "once")
    await world.emulator.drain()
    await world.emulator.redeliver(update["update_id"])
    first, again = await arrived(world, 2)
    assert first.message_id == again.message_id


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"update_id": 2**63}, "64-bit"),
        ({"update_id": "7"}, "64-bit"),
        (
            {"message": {"chat": {"id": 1, "type": "private"}, "text": "x" * 4097}},
            "message.text is 4,097 characters long, over the 4,096 accepted",
        ),
        ({"message": {"chat": {"id": 1, "type": "private"}, "photo": []}}, "sizes"),
        (
            {"message": {"chat": {"id": 1, "type": "private"}, "document": {"file_id": "../x"}}},
            "file id",
        ),
        (
            {
                "message": {
                    "chat": {"id": 1, "type": "private"},
                    "location": {"latitude": 91, "longitude": 0},
                }
            },
            "map",
        ),
    ],
)
def test_what_telegram_cannot_have_sent_is_refused(change: dict[str, Any], why: str) -> None:
    update = {"update_id": 1, **change}
    with pytest.raises(MalformedPayload, match=why):
        parse_update(json.dumps(update).encode(), channel="telegram")


def test_names_are_cut_and_unknown_updates_are_ignored() -> None:
    user = {"id": 1, "is_bot": False, "first_name": "A" * 1000}
    message = {"message_id": 1, "date": 1, "chat": {"id": 1, "type": "private"}, "from": user}
    body = json.dumps({"update_id": 1, "message": {**message, "text": "hi"}}).encode()
    (event,) = parse_update(body, channel="telegram")
    assert isinstance(event, InboundMessage) and event.profile is not None
    assert event.profile.name == "A" * 256
    poll_answer = json.dumps({"update_id": 2, "poll_answer": {"poll_id": "1"}}).encode()
    assert parse_update(poll_answer, channel="telegram") == []
