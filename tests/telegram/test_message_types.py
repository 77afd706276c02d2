"""Every part kind, both ways, between a Telegram user and a Freshchat agent, through the bridge.

The Telegram cells of docs/message-types.md name these tests. Each goes over HTTP between the
Telegram emulator, the bridge and the Freshchat emulator (see `roundtrip.py`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from hypothesis import given, settings

from byoc.models import Buttons, InboundMessage, Link, QuickReplies
from byoc.testing.rig import BridgeRig
from byoc_telegram import parse_update
from byoc_telegram.testing import TelegramUser

from .roundtrip import FILES, Trip, build_trip, kinds, texts
from .test_properties import _UPDATE

JPEG = bytes.fromhex("ffd8ffe000104a464946000101000001000100000000ffd9")
MP4 = bytes.fromhex("000000186674797069736f6d0000020069736f6d6d703432") + bytes(64)
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
OGG = b"OggS\x00\x02 a voice message"
MB = 1024 * 1024


@pytest.fixture
async def trip() -> AsyncIterator[Trip]:
    async with BridgeRig() as rig:
        yield await build_trip(rig)


async def written(trip: Trip, user: TelegramUser) -> list[dict[str, Any]]:
    """The parts of the last message `user` wrote, as the agent sees it in Freshchat."""
    await trip.settle()
    return trip.written(user)[-1]


async def copy_of(trip: Trip, part: dict[str, Any]) -> bytes:
    """The bytes Freshchat keeps for an image or file part."""
    url = part["image"]["url"] if "image" in part else part["file"]["url"]
    assert url.startswith(FILES), url
    return (await trip.rig.http.get(url)).content


# -- user → agent ----------------------------------------------------------------------------------


async def test_text_in_is_freshchat_text(trip: Trip) -> None:
    user = trip.telegram.user("민준")
    await trip.telegram.send_text(user, "주문 #1234 문의드려요 👋")
    assert await written(trip, user) == [{"text": {"content": "주문 #1234 문의드려요 👋"}}]
    assert trip.helpdesk_user(user)["first_name"] == "민준"


async def test_photo_in_is_a_freshchat_image_copied_with_the_bots_token(trip: Trip) -> None:
    user = trip.telegram.user()
    await trip.telegram.send_media(user, "photo", JPEG, caption="영수증")
    parts = await written(trip, user)
    assert kinds(parts) == ["image", "text"] and texts(parts) == "영수증"
    assert await copy_of(trip, parts[0]) == JPEG


async def test_video_in_is_copied_into_freshchat(trip: Trip) -> None:
    user = trip.telegram.user()
    await trip.telegram.send_media(user, "video", MP4, caption="unboxing")
    parts = await written(trip, user)
    (copy,) = [part for part in parts if part.get("file")]
    assert copy["file"]["fileHash"] == hashlib.sha256(MP4).hexdigest()
    assert texts(parts) == "unboxing"


async def test_voice_and_documents_in_are_freshchat_files_copied(trip: Trip) -> None:
    user = trip.telegram.user()
    await trip.telegram.send_media(user, "voice", OGG)
    voice = await written(trip, user)
    await trip.telegram.send_media(user, "document", PDF, file_name="invoice.pdf")
    document = await written(trip, user)
    assert (kinds(voice), kinds(document)) == (["file"], ["file"])
    assert (voice[0]["file"]["name"], document[0]["file"]["name"]) == ("voice.ogg", "invoice.pdf")
    assert voice[0]["file"]["fileHash"] == hashlib.sha256(OGG).hexdigest()


async def test_sticker_in_is_its_picture(trip: Trip) -> None:
    user = trip.telegram.user()
    await trip.telegram.send_media(user, "sticker", b"RIFF....WEBP", emoji="😀")
    parts = await written(trip, user)
    assert kinds(parts) == ["image", "text"] and texts(parts) == "Sticker 😀"


async def test_a_file_over_20_mb_is_a_placeholder_naming_it(trip: Trip) -> None:
    user = trip.telegram.user()
    await trip.telegram.send_media(user, "document", bytes(21 * MB), file_name="film.mkv")
    [part] = await written(trip, user)
    text = part["text"]["content"]
    assert "film.mkv" in text and "21.0 MB" in text
    assert "the 20.0 MB the messenger lets the bridge download" in text


async def test_the_bot_token_never_reaches_freshchat(trip: Trip) -> None:
    user = trip.telegram.user()
    await trip.telegram.send_media(user, "photo", JPEG, caption="a")
    await trip.telegram.send_media(user, "document", PDF, file_name="b.pdf")
    await trip.settle()
    shown = json.dumps(trip.rig.freshchat.conversation_messages(trip.conversation(user)))
    assert trip.telegram.token not in shown and "/file/bot" not in shown
    assert len(trip.written(user)) == 2


async def test_location_and_venue_in_are_map_links(trip: Trip) -> None:
    user = trip.telegram.user()
    point = {"latitude": 37.5665, "longitude": 126.978}
    await trip.telegram.user_sends(user, {"location": point})
    [bare] = await written(trip, user)
    venue = {"location": point, "title": "City Hall", "address": "Sejong-daero 110"}
    await trip.telegram.user_sends(user, {"location": point, "venue": venue})
    [named] = await written(trip, user)
    assert bare["text"]["content"].startswith("Location: 37.566500,126.978000\nhttps://")
    assert named["text"]["content"].startswith("Location: City Hall, Sejong-daero 110\n")


async def test_contact_in_is_its_name_and_number(trip: Trip) -> None:
    user = trip.telegram.user()
    contact = {"phone_number": "+821012345678", "first_name": "Ji-soo", "last_name": "Park"}
    await trip.telegram.user_sends(user, {"contact": contact})
    assert await written(trip, user) == [
        {"text": {"content": "Shared contact: Ji-soo Park, +821012345678"}}
    ]


async def test_a_link_the_user_types_stays_text(trip: Trip) -> None:
    user = trip.telegram.user()
    await trip.telegram.send_text(user, "see https://shop.example/o/1")
    assert await written(trip, user) == [{"text": {"content": "see https://shop.example/o/1"}}]


async def test_an_edit_and_a_poll_reach_the_agent_as_notes(trip: Trip) -> None:
    user = trip.telegram.user()
    sent = await trip.telegram.send_text(user, "order #1243")
    await trip.telegram.edit(user, sent["message"]["message_id"], "order #1234")
    edited = await written(trip, user)
    await trip.telegram.user_sends(user, {"poll": {"id": "1", "question": "?"}})
    poll = await written(trip, user)
    assert texts(edited).startswith("[The user edited their message of ")
    assert texts(edited).endswith("it now reads:]\norder #1234")
    assert texts(poll) == "[The user sent a Telegram poll message; it cannot be shown here]"


async def test_a_tapped_button_comes_back_as_its_label_and_payload(trip: Trip) -> None:
    user, conversation = await trip.started()
    quick = [
        {"quick_reply_button": {"label": "Track it", "payload": "TRACK_1234"}},
        {"quick_reply_button": {"label": "Agent"}},
    ]
    await trip.replied(
        conversation, user, text="What now?", reply_parts=[{"collection": {"sub_parts": quick}}]
    )
    await trip.telegram.tap(user, "Track it")
    assert await written(trip, user) == [
        {"text": {"content": "Track it\n(quick reply payload: TRACK_1234)"}}
    ]
    assert len(trip.telegram.callback_answers) == 1, "the tap was answered: no spinner left"


@settings(max_examples=100, deadline=None)
@given(update=_UPDATE)
def test_users_send_no_buttons_or_carousels(update: dict[str, Any]) -> None:
    # Telegram users send texts, media, places and contacts; buttons only come from bots.
    for event in parse_update(json.dumps(update).encode(), channel="telegram"):
        if isinstance(event, InboundMessage):
            assert not any(isinstance(p, Buttons | QuickReplies | Link) for p in event.parts)


# -- agent → user ----------------------------------------------------------------------------------


async def test_text_out_is_split_at_4096_characters(trip: Trip) -> None:
    user, conversation = await trip.started()
    words = [f"w{n:05d}" for n in range(1500)]
    sent = await trip.replied(conversation, user, text=" ".join(words))
    assert [m.method for m in sent] == ["sendMessage"] * 3
    assert all(len(m.text or "") <= 4096 for m in sent)
    assert " ".join(m.text or "" for m in sent).split() == words


async def test_image_and_video_out_go_by_url(trip: Trip) -> None:
    user, conversation = await trip.started()
    photo, clip = trip.cdn.put("p.jpg", JPEG), trip.cdn.put("c.mp4", MP4)
    parts = [
        {"image": {"url": photo}},
        {"video": {"url": clip, "content_type": "video/mp4"}},
    ]
    sent = await trip.replied(conversation, user, parts=parts)
    assert [(m.method, m.media) for m in sent] == [("sendPhoto", photo), ("sendVideo", clip)]


async def test_files_and_audio_out_are_uploaded_documents(trip: Trip) -> None:
    user, conversation = await trip.started()
    parts = [
        {"file": {"url": trip.cdn.put("x/1.pdf", PDF), "name": "terms.pdf"}},
        {
            "file": {
                "url": trip.cdn.put("x/2.ogg", OGG),
                "name": "hello.ogg",
                "content_type": "audio/ogg",
            }
        },
    ]
    sent = await trip.replied(conversation, user, parts=parts)
    assert [(m.method, m.media) for m in sent] == [
        ("sendDocument", "terms.pdf"),
        ("sendDocument", "hello.ogg"),
    ]
    stored = trip.telegram.files[sent[1].message["document"]["file_id"]]
    assert stored.data == OGG


async def test_quick_replies_out_are_a_one_time_keyboard(trip: Trip) -> None:
    user, conversation = await trip.started()
    quick = [{"quick_reply_button": {"label": "Yes"}}, {"quick_reply_button": {"label": "No"}}]
    sent = await trip.replied(
        conversation,
        user,
        text="Anything else?",
        reply_parts=[{"collection": {"sub_parts": quick}}],
    )
    assert [(m.text, m.buttons) for m in sent] == [("Anything else?", ("Yes", "No"))]
    assert user.keyboard == ["Yes", "No"]
    await trip.telegram.tap(user, "No")
    assert await written(trip, user) == [{"text": {"content": "No"}}]


async def test_url_buttons_out_are_an_inline_keyboard(trip: Trip) -> None:
    user, conversation = await trip.started()
    button = {"url_button": {"url": "https://shop.example/orders", "label": "My orders"}}
    sent = await trip.replied(conversation, user, text="Your orders are here", parts=[button])
    [message] = sent
    assert message.text == "Your orders are here"
    assert message.message["reply_markup"] == {
        "inline_keyboard": [[{"text": "My orders", "url": "https://shop.example/orders"}]]
    }


async def test_a_carousel_out_is_each_cards_picture_and_text_with_its_links(trip: Trip) -> None:
    user, conversation = await trip.started()
    sections = [
        {
            "name": f"card {n}",
            "parts": [
                {"image": {"url": trip.cdn.put(f"p/{n}.jpg", JPEG)}},
                {"text": {"content": f"product {n}"}},
                {"url_button": {"url": f"https://shop.example/p/{n}", "label": "View"}},
            ],
        }
        for n in range(2)
    ]
    template = {"template_content": {"type": "carousel", "sections": sections}}
    sent = await trip.replied(conversation, user, parts=[template])
    assert [(m.method, m.text, m.buttons) for m in sent] == [
        ("sendPhoto", None, ()),
        ("sendMessage", "product 0", ("View",)),
        ("sendPhoto", None, ()),
        ("sendMessage", "product 1", ("View",)),
    ]
