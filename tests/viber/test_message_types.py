"""Every part kind, both ways, between a Viber user and a Freshchat agent.

The cells of docs/message-types.md (Viber column) name these tests. Each one goes over HTTP
between the Viber emulator, the bridge and the Freshchat emulator (see `roundtrip.py`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from hypothesis import given, settings

from byoc.models import (
    Buttons,
    Contact,
    File,
    Image,
    InboundMessage,
    Link,
    Location,
    QuickReplies,
    Sticker,
    Text,
)
from byoc.models import Video as VideoPart
from byoc.store import MemoryStore
from byoc.testing.rig import BridgeRig
from byoc_viber.testing import SimulatedUser, validate_message

from .roundtrip import FILES, Trip, build_trip, kinds, texts
from .test_viber_properties import CHANNEL, signed, well_formed

JPEG = bytes.fromhex("ffd8ffe000104a46494600010100000100010000ffd9")
MP4 = bytes.fromhex("000000186674797069736f6d0000020069736f6d6d703432") + b"\x00" * 64
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
MP3 = b"ID3\x03\x00\x00\x00\x00\x00\x00 an answering machine message"


@pytest.fixture
async def trip() -> AsyncIterator[Trip]:
    async with BridgeRig() as rig:
        yield await build_trip(rig, "inline", MemoryStore())


async def written(trip: Trip, user: SimulatedUser) -> list[dict[str, Any]]:
    """The parts of the last message `user` wrote, as the agent sees it in Freshchat."""
    await trip.settle()
    return trip.written(user)[-1]


async def conversation_with(trip: Trip) -> tuple[SimulatedUser, str]:
    """A user who wrote once, and their conversation (for the agent to answer in)."""
    user = trip.user(name="김민준")
    await user.send_text("안녕하세요")
    await trip.settle()
    return user, trip.conversation(user)


async def replied(
    trip: Trip, conversation: str, user: SimulatedUser, **reply: Any
) -> list[dict[str, Any]]:
    """What `user` receives for an agent's reply, each body checked as Viber checks it."""
    before = len(user.received)
    await trip.rig.freshchat.agent_reply(conversation, **reply)
    await trip.settle()
    bodies = [dict(message.body) for message in user.received[before:]]
    assert bodies, "nothing reached the user"
    for body in bodies:
        assert validate_message(body) is None, body
    return bodies


# -- user → agent ----------------------------------------------------------------------------------


async def test_text_in_is_freshchat_text(trip: Trip) -> None:
    user = trip.user()
    await user.send_text("주문 #1234 문의드려요 👋")
    assert await written(trip, user) == [{"text": {"content": "주문 #1234 문의드려요 👋"}}]


async def test_picture_in_is_a_freshchat_image_copied_into_freshchat(trip: Trip) -> None:
    user = trip.user()
    await user.send_picture(JPEG, caption="영수증", file_name="receipt.jpg")
    parts = await written(trip, user)
    assert kinds(parts) == ["image", "text"] and texts(parts) == "영수증"
    assert parts[0]["image"]["url"].startswith(FILES)


async def test_video_in_is_a_freshchat_video_and_a_copy_that_stays(trip: Trip) -> None:
    user = trip.user()
    await user.send_video(MP4, file_name="unboxing.mp4", caption="개봉 영상")
    video, copy, caption = await written(trip, user)
    assert video["video"]["content_type"] == "video/mp4"
    assert video["video"]["url"].startswith(trip.viber.public_url)
    assert copy["file"]["fileHash"] == hashlib.sha256(MP4).hexdigest()
    assert caption == {"text": {"content": "개봉 영상"}}
    await trip.viber_clock.advance(3601)  # Viber's link is gone; Freshchat's copy is not
    assert (await trip.rig.http.get(video["video"]["url"])).status_code == 404
    assert (await trip.rig.http.get(copy["file"]["url"])).content == MP4


async def test_audio_in_is_a_notice_naming_the_type(trip: Trip) -> None:
    # Viber delivers no voice or audio messages to bots; a type it may add shows as a notice.
    user = trip.user()
    await user.send({"type": "audio", "media": "https://viber.test/media/x/a.m4a"})
    [part] = await written(trip, user)
    assert '"audio"' in part["text"]["content"] and "cannot show" in part["text"]["content"]


async def test_file_in_is_a_freshchat_file_copied_into_freshchat(trip: Trip) -> None:
    user = trip.user()
    await user.send_file(PDF, file_name="견적서.pdf")
    [part] = await written(trip, user)
    assert part["file"]["name"] == "견적서.pdf" and part["file"]["url"].startswith(FILES)


async def test_location_in_is_a_map_link_the_agent_can_click(trip: Trip) -> None:
    user = trip.user()
    await user.send_location(37.5665, 126.978)
    [part] = await written(trip, user)
    label, link = part["text"]["content"].split("\n")
    assert label == "Location: 37.566500,126.978000"
    assert link == "https://www.google.com/maps/search/?api=1&query=37.566500,126.978000"


async def test_contact_in_is_its_name_and_number(trip: Trip) -> None:
    user = trip.user()
    await user.send_contact("박지수", "+821012345678")
    assert await written(trip, user) == [
        {"text": {"content": "Shared contact: 박지수, +821012345678"}}
    ]


async def test_sticker_in_is_its_picture_or_a_label(trip: Trip) -> None:
    user = trip.user()
    await user.send_sticker(40133)
    assert await written(trip, user) == [
        {"text": {"content": "[Sticker 40133: the channel gives no picture of it]"}}
    ]
    picture = trip.viber.host_media(JPEG, "40133.jpg", "image/jpeg")
    await user.send({"type": "sticker", "sticker_id": 40133, "media": picture})
    [image] = await written(trip, user)
    assert image["image"]["url"].startswith(FILES)


async def test_url_in_is_its_link(trip: Trip) -> None:
    user = trip.user()
    await user.send_url("https://shop.example/orders/1234")
    assert await written(trip, user) == [{"text": {"content": "https://shop.example/orders/1234"}}]


async def test_a_tapped_quick_reply_comes_back_as_its_label_and_payload(trip: Trip) -> None:
    user, conversation = await conversation_with(trip)
    quick = [
        {"quick_reply_button": {"label": "배송 조회", "payload": "SHIP_STATUS"}},
        {"quick_reply_button": {"label": "상담원 연결"}},
    ]
    await replied(
        trip,
        conversation,
        user,
        text="무엇을 도와드릴까요?",
        reply_parts=[{"collection": {"sub_parts": quick}}],
    )
    await user.tap("배송 조회")
    assert await written(trip, user) == [
        {"text": {"content": "배송 조회\n(quick reply payload: SHIP_STATUS)"}}
    ]
    # The bridge's own reply carried the keyboard; a button without a payload is its label.
    await replied(
        trip,
        conversation,
        user,
        text="다른 문의?",
        reply_parts=[{"collection": {"sub_parts": quick}}],
    )
    await user.tap("상담원 연결")
    assert await written(trip, user) == [{"text": {"content": "상담원 연결"}}]


USERS_SEND = {Text, Image, VideoPart, File, Location, Contact, Sticker, Link}


@settings(max_examples=200, deadline=None)
@given(well_formed)
async def test_users_send_no_buttons_or_carousels(payload: dict[str, Any]) -> None:
    """Whatever a Viber user sends parses to one of the kinds the page lists: never buttons."""
    events = await CHANNEL.parse(signed(json.dumps(payload, ensure_ascii=False).encode()))
    for event in events:
        if isinstance(event, InboundMessage):
            kinds_sent = {type(part) for part in event.parts}
            assert kinds_sent <= USERS_SEND and not kinds_sent & {Buttons, QuickReplies}


# -- agent → user ----------------------------------------------------------------------------------


async def test_text_out_is_viber_text_split_over_7000(trip: Trip) -> None:
    user, conversation = await conversation_with(trip)
    long_text = " ".join(["안내 문장입니다 🙂"] * 900)
    bodies = await replied(trip, conversation, user, text=long_text)
    assert [b["type"] for b in bodies] == ["text", "text"]
    assert " ".join(b["text"] for b in bodies) == long_text


async def test_image_out_is_a_viber_picture(trip: Trip) -> None:
    user, conversation = await conversation_with(trip)
    photo = trip.cdn.put("products/blue.jpg", JPEG)
    [caption, picture] = await replied(
        trip, conversation, user, text="제품 사진", parts=[{"image": {"url": photo}}]
    )
    assert caption["text"] == "제품 사진"
    assert (picture["type"], picture["media"]) == ("picture", photo)


async def test_video_out_is_a_viber_video(trip: Trip) -> None:
    user, conversation = await conversation_with(trip)
    clip = trip.cdn.put("guides/setup.mp4", MP4)
    [video] = await replied(
        trip, conversation, user, parts=[{"video": {"url": clip, "content_type": "video/mp4"}}]
    )
    assert (video["type"], video["media"], video["size"]) == ("video", clip, len(MP4))


async def test_audio_out_is_a_viber_file(trip: Trip) -> None:
    # Freshchat has no audio part: an agent's recording is a file, and Viber has no audio type.
    user, conversation = await conversation_with(trip)
    file_hash = (await trip.rig.messaging.client.upload_file("안내.mp3", MP3, "audio/mpeg"))[
        "file_hash"
    ]
    [audio] = await replied(trip, conversation, user, parts=[{"file": {"fileHash": file_hash}}])
    assert (audio["type"], audio["file_name"], audio["size"]) == ("file", "안내.mp3", len(MP3))


async def test_file_out_is_a_viber_file(trip: Trip) -> None:
    user, conversation = await conversation_with(trip)
    file_hash = (await trip.rig.messaging.client.upload_file("보증서.pdf", PDF, "application/pdf"))[
        "file_hash"
    ]
    [document] = await replied(trip, conversation, user, parts=[{"file": {"fileHash": file_hash}}])
    assert (document["type"], document["file_name"]) == ("file", "보증서.pdf")
    assert (await trip.rig.http.get(document["media"])).content == PDF


async def test_a_link_in_an_agents_text_reaches_the_user_as_text(trip: Trip) -> None:
    user, conversation = await conversation_with(trip)
    [body] = await replied(trip, conversation, user, text="https://shop.example/faq")
    assert (body["type"], body["text"]) == ("text", "https://shop.example/faq")


async def test_quick_replies_out_are_a_keyboard_on_the_last_message(trip: Trip) -> None:
    user, conversation = await conversation_with(trip)
    quick = [{"quick_reply_button": {"label": label}} for label in ("네", "아니요")]
    [body] = await replied(
        trip,
        conversation,
        user,
        text="해결되었나요?",
        reply_parts=[{"collection": {"sub_parts": quick}}],
    )
    assert body["text"] == "해결되었나요?"
    assert [(b["ActionType"], b["Text"]) for b in body["keyboard"]["Buttons"]] == [
        ("reply", "네"),
        ("reply", "아니요"),
    ]


async def test_a_url_button_out_is_a_rich_media_card(trip: Trip) -> None:
    user, conversation = await conversation_with(trip)
    [intro, card] = await replied(
        trip,
        conversation,
        user,
        text="주문 내역은 여기서 보세요",
        parts=[{"url_button": {"url": "https://shop.example/orders", "label": "주문 내역"}}],
    )
    assert intro["text"] == "주문 내역은 여기서 보세요"
    assert card["type"] == "rich_media"
    [button] = card["rich_media"]["Buttons"]
    assert (button["ActionType"], button["ActionBody"], button["Text"]) == (
        "open-url",
        "https://shop.example/orders",
        "주문 내역",
    )
    assert card["alt_text"] == "주문 내역: https://shop.example/orders"


async def test_a_carousel_out_is_pictures_and_a_card_of_links(trip: Trip) -> None:
    user, conversation = await conversation_with(trip)
    sections = [
        {
            "name": f"card {n}",
            "parts": [
                {"image": {"url": trip.cdn.put(f"p/{n}.jpg", JPEG)}},
                {"text": {"content": f"상품 {n}"}},
                {"url_button": {"url": f"https://shop.example/p/{n}", "label": "보기"}},
            ],
        }
        for n in range(2)
    ]
    bodies = await replied(
        trip,
        conversation,
        user,
        parts=[{"template_content": {"type": "carousel", "sections": sections}}],
    )
    assert [b["type"] for b in bodies] == [
        *("picture", "text", "rich_media"),
        *("picture", "text", "rich_media"),
    ]
    assert [b.get("text") for b in bodies if b["type"] == "text"] == ["상품 0", "상품 1"]


async def test_a_bot_message_reaches_the_user_like_an_agents(trip: Trip) -> None:
    user, conversation = await conversation_with(trip)
    async with trip.rig.freshchat.client(authenticated=True) as freshchat:
        answer = await freshchat.post(
            f"conversations/{conversation}/messages",
            json={
                "actor_type": "bot",
                "message_type": "normal",
                "message_parts": [{"text": {"content": "자동 안내: 영업시간은 9시부터입니다"}}],
            },
        )
    assert answer.status_code == 200, answer.text
    await trip.settle()
    assert [m.text for m in user.received] == ["자동 안내: 영업시간은 9시부터입니다"]
