"""Every part kind, both ways, on both KakaoTalk routes: the dealer (`kakao`, HappyTalk 상담톡)
and the Open Builder chatbot (`kakao-chatbot`).

The Kakao columns of docs/message-types.md name these tests. Each one goes over HTTP between the
Kakao emulators, the bridge and the Freshchat emulator (see `roundtrip.py`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from hypothesis import given, settings

from byoc.errors import RequestError
from byoc.models import (
    Contact,
    File,
    Image,
    InboundMessage,
    Link,
    Location,
    OutboundMessage,
    Part,
    Sticker,
    Text,
    Video,
)
from byoc.store import MemoryStore
from byoc.testing.clock import FakeClock
from byoc.testing.rig import BridgeRig
from byoc.webhook import WebhookRequest
from byoc_kakao import KakaoChatbotChannel, KakaoDealerChannel
from byoc_kakao.dealers.happytalk import parse_webhook
from byoc_kakao.testing import DealerUser, KakaoUser
from byoc_kakao.testing.happytalk import SentMessage

from .roundtrip import OPENBUILDER_URL, KakaoWorld
from .test_happytalk_mapping import SENDER, webhook_like
from .test_skill_mapping import SKILL_SECRET, skill_like
from .test_skill_mapping import channel as skill_channel

JPEG = b"\xff\xd8\xff\xe0 a photo"
PNG = b"\x89PNG\r\n\x1a\n a map"
MP4 = b"\x00\x00\x00\x18ftypmp42 a clip"
M4A = b"\x00\x00\x00\x20ftypM4A  a voice message"
PDF = b"%PDF-1.7 a guide"


@pytest.fixture
async def world() -> AsyncIterator[KakaoWorld]:
    clock = FakeClock()
    async with BridgeRig() as rig:
        world = KakaoWorld(rig, clock)
        store = MemoryStore(clock=clock)
        await world.attach([world.dealer, world.chatbot], store=store, delivery="durable")
        yield world
        await world.happytalk.aclose()
        await world.openbuilder.aclose()


def last_written(world: KakaoWorld, channel: str, user_id: str) -> list[dict[str, Any]]:
    """The parts of the last message the user wrote, as the agent sees it in Freshchat."""
    return world.rig.user_parts(world.conversation(channel, user_id))[-1]


async def dealer_user(world: KakaoWorld) -> tuple[DealerUser, str]:
    user = world.happytalk.user()
    user.send_text("안녕하세요")
    await world.settle()
    return user, world.conversation("kakao", user.user_key)


async def chatbot_user(world: KakaoWorld) -> tuple[KakaoUser, str]:
    user = world.openbuilder.user()
    await user.say("안녕하세요")
    await world.settle()
    return user, world.conversation("kakao-chatbot", user.bot_user_key)


async def to_dealer_user(world: KakaoWorld, **reply: Any) -> list[SentMessage]:
    """What a dealer user receives for an agent's reply."""
    user, conversation = await dealer_user(world)
    await world.freshchat.agent_reply(conversation, **reply)
    await world.settle()
    return user.received


async def to_chatbot_user(world: KakaoWorld, **reply: Any) -> list[dict[str, Any]]:
    """The outputs a chatbot user sees for an agent's reply (by callback or event)."""
    user, conversation = await chatbot_user(world)
    before = len(user.bubbles)
    await world.freshchat.agent_reply(conversation, **reply)
    await world.settle()
    return [dict(b.output) for b in user.bubbles[before:] if b.via in ("callback", "event")]


async def sent_directly(
    world: KakaoWorld, channel: KakaoDealerChannel | KakaoChatbotChannel, *parts: Part
) -> list[Any]:
    """What a user receives when `parts` are sent to them (kinds a Freshchat agent cannot
    write, sent as a library user of the channel would)."""
    message = OutboundMessage(message_id="lib-1", conversation_id="c", parts=parts)
    if isinstance(channel, KakaoDealerChannel):
        dealer, _ = await dealer_user(world)
        await channel.send(dealer.user_key, message)
        await world.settle()
        return list(dealer.received)
    user, _ = await chatbot_user(world)
    before = len(user.bubbles)
    await channel.send(user.bot_user_key, message)
    await world.settle()
    return [dict(b.output) for b in user.bubbles[before:]]


async def agent_file(
    world: KakaoWorld, name: str, data: bytes, content_type: str
) -> dict[str, Any]:
    return {"file": {"fileHash": await world.upload_file(name, data, content_type)}}


async def agent_image(world: KakaoWorld, name: str, data: bytes) -> dict[str, Any]:
    answer = await world.rig.messaging.client.upload_image(name, data, "image/png")
    return {"image": {"url": answer["url"]}}


# -- kakao (dealer): user → agent ------------------------------------------------------------------


async def test_dealer_text_in_is_freshchat_text(world: KakaoWorld) -> None:
    user = world.happytalk.user()
    user.send_text("배송 문의 😊")
    await world.settle()
    assert last_written(world, "kakao", user.user_key) == [{"text": {"content": "배송 문의 😊"}}]


async def test_dealer_photo_in_is_a_freshchat_image_copy(world: KakaoWorld) -> None:
    user = world.happytalk.user()
    user.send_photo(JPEG, name="영수증.jpg")
    await world.settle()
    [image] = last_written(world, "kakao", user.user_key)
    assert await world.fetch(image["image"]["url"]) == JPEG


async def test_dealer_video_in_is_a_freshchat_video_and_a_copy(world: KakaoWorld) -> None:
    user = world.happytalk.user()
    user.send_media("VI", MP4, name="clip.mp4", content_type="video/mp4")
    await world.settle()
    video, copy = last_written(world, "kakao", user.user_key)
    assert video["video"]["content_type"] == "video/mp4"
    assert copy["file"]["fileHash"] == hashlib.sha256(MP4).hexdigest()


async def test_dealer_voice_in_is_a_freshchat_audio_file(world: KakaoWorld) -> None:
    user = world.happytalk.user()
    user.send_media("AU", M4A, name="voice.m4a", content_type="audio/mp4")
    await world.settle()
    [audio] = last_written(world, "kakao", user.user_key)
    assert audio["file"]["name"] == "voice.m4a"
    assert audio["file"]["contentType"] == "audio/mp4"
    assert await world.fetch(audio["file"]["url"]) == M4A


async def test_dealer_file_in_is_a_freshchat_file_copy(world: KakaoWorld) -> None:
    user = world.happytalk.user()
    user.send_file(PDF, name="견적서.pdf", content_type="application/pdf")
    await world.settle()
    [document] = last_written(world, "kakao", user.user_key)
    assert document["file"]["name"] == "견적서.pdf"
    assert await world.fetch(document["file"]["url"]) == PDF


async def test_dealer_link_in_is_its_title_and_url(world: KakaoWorld) -> None:
    user = world.happytalk.user()
    user.send_link("https://shop.kr/item/7", "이 상품이요")
    await world.settle()
    assert last_written(world, "kakao", user.user_key) == [
        {"text": {"content": "이 상품이요\nhttps://shop.kr/item/7"}}
    ]


@settings(max_examples=200)
@given(webhook_like)
def test_dealer_users_send_only_text_media_and_links(payload: dict[str, Any]) -> None:
    """What HappyTalk forwards: no places, contacts, stickers, buttons or taps on them."""
    try:
        messages = parse_webhook(payload, channel="kakao", sender_key=SENDER)
    except RequestError:
        return
    for message in messages:
        assert {type(part) for part in message.parts} <= {Text, Image, File, Video, Link}


# -- kakao (dealer): agent → user ------------------------------------------------------------------


async def test_dealer_text_out_is_tx_split_at_1000(world: KakaoWorld) -> None:
    text = " ".join(["상담 내용을 안내해 드립니다 😊"] * 70)
    received = await to_dealer_user(world, text=text)
    assert [m.message_type for m in received] == ["TX", "TX"]
    assert "".join(m.message or "" for m in received) == text


async def test_dealer_image_out_is_uploaded_to_kakao_and_sent_as_im(world: KakaoWorld) -> None:
    [image] = await to_dealer_user(world, parts=[await agent_image(world, "map.png", PNG)])
    assert image.message_type == "IM" and image.image_url in world.happytalk.uploads
    assert await world.fetch(image.image_url) == PNG


async def test_dealer_video_out_is_uploaded_and_sent_as_a_file(world: KakaoWorld) -> None:
    clip = await agent_file(world, "사용법.mp4", MP4, "video/mp4")
    [video] = await to_dealer_user(world, parts=[clip])
    assert (video.message_type, video.file_name, video.file_size) == ("FI", "사용법.mp4", len(MP4))
    assert world.happytalk.uploads[str(video.file_url)].file_type == "video"


async def test_dealer_audio_out_is_uploaded_and_sent_as_a_file(world: KakaoWorld) -> None:
    voice = await agent_file(world, "안내.m4a", M4A, "audio/mp4")
    [audio] = await to_dealer_user(world, parts=[voice])
    assert (audio.message_type, audio.file_name) == ("FI", "안내.m4a")
    assert world.happytalk.uploads[str(audio.file_url)].file_type == "audio"


async def test_dealer_file_out_is_uploaded_and_sent_as_fi(world: KakaoWorld) -> None:
    [document] = await to_dealer_user(
        world, parts=[await agent_file(world, "보증서.pdf", PDF, "application/pdf")]
    )
    assert (document.message_type, document.file_name, document.file_size) == (
        "FI",
        "보증서.pdf",
        len(PDF),
    )
    assert await world.fetch(str(document.file_url)) == PDF


async def test_dealer_places_contacts_and_links_out_are_text(world: KakaoWorld) -> None:
    received = await sent_directly(
        world,
        world.dealer,
        Location(lat=37.5665, lon=126.978, label="서울시청"),
        Contact(name="고객센터", phone="1588-0000"),
        Link(url="https://shop.kr/faq", title="자주 묻는 질문"),
    )
    place, contact, link = [m.message for m in received]
    assert place is not None and place.startswith("서울시청\nhttps://map.kakao.com/link/map/")
    assert (contact, link) == ("고객센터\n1588-0000", "자주 묻는 질문\nhttps://shop.kr/faq")


async def test_dealer_sticker_out_is_its_picture_or_a_label(world: KakaoWorld) -> None:
    cdn_url = (await agent_image(world, "sticker.png", PNG))["image"]["url"]
    received = await sent_directly(
        world, world.dealer, Sticker(sticker_id="s1", url=cdn_url), Sticker(sticker_id="s2")
    )
    assert [(m.message_type, m.message) for m in received] == [("IM", None), ("TX", "(스티커)")]


async def test_dealer_quick_replies_out_are_a_text_list(world: KakaoWorld) -> None:
    quick = [{"quick_reply_button": {"label": label}} for label in ("예", "아니요")]
    [message] = await to_dealer_user(
        world, text="해결되었나요?", reply_parts=[{"collection": {"sub_parts": quick}}]
    )
    assert message.message == "해결되었나요?\n- 예\n- 아니요"


async def test_dealer_url_buttons_out_are_text_with_their_links(world: KakaoWorld) -> None:
    [message] = await to_dealer_user(
        world,
        text="주문 내역",
        parts=[{"url_button": {"url": "https://shop.kr/orders", "label": "보기"}}],
    )
    assert message.message == "주문 내역\n보기: https://shop.kr/orders"


async def test_dealer_carousel_out_is_pictures_and_texts_with_links(world: KakaoWorld) -> None:
    image = await agent_image(world, "1.png", PNG)
    sections = [
        {
            "name": "card",
            "parts": [
                image,
                {"text": {"content": "상품 1"}},
                {"url_button": {"url": "https://shop.kr/1", "label": "보기"}},
            ],
        }
    ]
    received = await to_dealer_user(
        world, parts=[{"template_content": {"type": "carousel", "sections": sections}}]
    )
    assert [(m.message_type, m.message) for m in received] == [
        ("IM", None),
        ("TX", "상품 1\n보기: https://shop.kr/1"),
    ]


# -- kakao-chatbot: user → agent -------------------------------------------------------------------


async def test_chatbot_text_in_is_freshchat_text(world: KakaoWorld) -> None:
    user = world.openbuilder.user()
    await user.say("https://shop.kr/item/7 이거요")
    await world.settle()
    assert last_written(world, "kakao-chatbot", user.bot_user_key) == [
        {"text": {"content": "https://shop.kr/item/7 이거요"}}
    ]


async def test_chatbot_photo_in_is_a_freshchat_image_copy(world: KakaoWorld) -> None:
    user = world.openbuilder.user()
    await user.send_photo(JPEG)
    await world.settle()
    [image] = last_written(world, "kakao-chatbot", user.bot_user_key)
    assert await world.fetch(image["image"]["url"]) == JPEG


async def test_chatbot_video_in_is_a_freshchat_video_and_a_copy(world: KakaoWorld) -> None:
    user = world.openbuilder.user()
    url = world.openbuilder.media.put(MP4, name="v_1.mp4", content_type="video/mp4")
    await user.say(url)
    await world.settle()
    video, copy = last_written(world, "kakao-chatbot", user.bot_user_key)
    assert video["video"]["url"] == url
    assert await world.fetch(copy["file"]["url"]) == MP4


async def test_chatbot_tapped_quick_reply_is_its_label_and_payload(world: KakaoWorld) -> None:
    user, conversation = await chatbot_user(world)
    quick = [
        {"quick_reply_button": {"label": "배송 조회", "payload": "SHIP"}},
        {"quick_reply_button": {"label": "기타"}},
    ]
    await world.freshchat.agent_reply(
        conversation, "무엇을 도와드릴까요?", reply_parts=[{"collection": {"sub_parts": quick}}]
    )
    await world.settle()
    exchange = await user.tap("배송 조회")
    assert exchange.ok, exchange.problems
    await world.settle()
    assert last_written(world, "kakao-chatbot", user.bot_user_key) == [
        {"text": {"content": "배송 조회\n(quick reply payload: SHIP)"}}
    ]


@settings(max_examples=200)
@given(skill_like)
async def test_chatbot_users_send_only_text_photos_and_videos(payload: dict[str, Any]) -> None:
    """Kakao hands a skill utterances and photo or video links; no files, places, contacts."""
    request = WebhookRequest(body=json.dumps(payload).encode(), subpath=SKILL_SECRET)
    try:
        events = await skill_channel.parse(request)
    except RequestError:
        return
    for event in events:
        if isinstance(event, InboundMessage):
            assert {type(part) for part in event.parts} <= {Text, Image, Video}


# -- kakao-chatbot: agent → user -------------------------------------------------------------------


def kinds(outputs: list[dict[str, Any]]) -> list[str]:
    return [next(iter(output)) for output in outputs]


async def test_chatbot_text_out_is_simple_text(world: KakaoWorld) -> None:
    outputs = await to_chatbot_user(world, text="확인했습니다 🙇")
    assert outputs == [{"simpleText": {"text": "확인했습니다 🙇"}}]


async def test_chatbot_image_out_is_a_simple_image(world: KakaoWorld) -> None:
    image = await agent_image(world, "map.png", PNG)
    [output] = await to_chatbot_user(world, parts=[image])
    assert output["simpleImage"]["imageUrl"] == image["image"]["url"]


async def test_chatbot_video_audio_and_file_out_are_cards_with_a_button(
    world: KakaoWorld,
) -> None:
    parts = [
        {"video": {"url": "https://cdn.example.com/guide.mp4", "content_type": "video/mp4"}},
        await agent_file(world, "안내.m4a", M4A, "audio/mp4"),
        await agent_file(world, "보증서.pdf", PDF, "application/pdf"),
    ]
    video, audio, document = await to_chatbot_user(world, parts=parts)
    assert video["textCard"]["buttons"][0] == {
        "label": "동영상 보기",
        "action": "webLink",
        "webLinkUrl": "https://cdn.example.com/guide.mp4",
    }
    assert audio["textCard"]["title"] == "안내.m4a"
    assert document["textCard"]["title"] == "보증서.pdf"
    assert document["textCard"]["buttons"][0]["label"] == "파일 열기"


async def test_chatbot_places_contacts_stickers_and_links_out_are_cards(
    world: KakaoWorld,
) -> None:
    place, contact, link, sticker, label = await sent_directly(
        world,
        world.chatbot,
        Location(lat=37.5665, lon=126.978, label="서울시청"),
        Contact(name="고객센터", phone="1588-0000"),
        Link(url="https://shop.kr/faq", title="자주 묻는 질문"),
        Sticker(sticker_id="s1", url=f"{OPENBUILDER_URL}/s.png"),
        Sticker(sticker_id="s2"),
    )
    assert place["textCard"]["buttons"][0]["webLinkUrl"].startswith("https://map.kakao.com/")
    assert contact["textCard"]["buttons"][0] == {
        "label": "전화하기",
        "action": "phone",
        "phoneNumber": "1588-0000",
    }
    assert link["textCard"]["title"] == "자주 묻는 질문"
    assert sticker["simpleImage"]["imageUrl"] == f"{OPENBUILDER_URL}/s.png"
    assert label == {"simpleText": {"text": "(스티커)"}}


async def test_chatbot_quick_replies_out_are_kakao_quick_replies(world: KakaoWorld) -> None:
    user, conversation = await chatbot_user(world)
    quick = [{"quick_reply_button": {"label": label}} for label in ("예", "아니요")]
    await world.freshchat.agent_reply(
        conversation, "해결되었나요?", reply_parts=[{"collection": {"sub_parts": quick}}]
    )
    await world.settle()
    assert [q["label"] for q in user.quick_replies] == ["예", "아니요"]
    assert all(q["action"] == "message" for q in user.quick_replies)


async def test_chatbot_url_buttons_out_are_a_text_card_or_a_carousel(world: KakaoWorld) -> None:
    buttons = [
        {"url_button": {"url": f"https://shop.kr/{n}", "label": f"링크 {n}"}} for n in range(5)
    ]
    [one] = await to_chatbot_user(world, text="주문 내역", parts=buttons[:1])
    assert one["textCard"]["description"] == "주문 내역"
    assert one["textCard"]["buttons"][0]["webLinkUrl"] == "https://shop.kr/0"
    [many] = await to_chatbot_user(world, text="더 보기", parts=buttons)
    assert many["carousel"]["type"] == "textCard"
    assert [len(card["buttons"]) for card in many["carousel"]["items"]] == [3, 2]


async def test_chatbot_carousel_out_is_a_carousel_of_basic_cards(world: KakaoWorld) -> None:
    sections = [
        {
            "name": f"card {n}",
            "parts": [
                await agent_image(world, f"{n}.png", PNG),
                {"text": {"content": f"상품 {n}"}},
                {"url_button": {"url": f"https://shop.kr/{n}", "label": "보기"}},
            ],
        }
        for n in range(3)
    ]
    [output] = await to_chatbot_user(
        world, parts=[{"template_content": {"type": "carousel", "sections": sections}}]
    )
    carousel = output["carousel"]
    assert carousel["type"] == "basicCard"
    assert [card["description"] for card in carousel["items"]] == ["상품 0", "상품 1", "상품 2"]
