"""The `kakao` route end to end: HappyTalk emulator ↔ bridge ↔ Freshchat emulator, over HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from byoc.store import MemoryStore, SQLiteStore
from byoc.testing.clock import FakeClock
from byoc.testing.rig import BridgeRig
from byoc_kakao import kakao_length
from byoc_kakao.testing import DealerUser

from .roundtrip import KOREAN, KakaoWorld

ANSWER = "확인해 보니 내일 도착 예정입니다 🚚 감사합니다 🙇‍♀️"
PHOTO = b"\xff\xd8\xff\xe0 a receipt photo"
PDF = b"%PDF-1.7 \xea\xb2\xac\xec\xa0\x81\xec\x84\x9c"


@pytest.fixture(params=["durable", "inline"])
async def world(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[KakaoWorld]:
    clock = FakeClock()
    async with BridgeRig() as rig:
        world = KakaoWorld(rig, clock)
        store = (
            SQLiteStore(tmp_path / "byoc.sqlite3", clock=clock)
            if request.param == "durable"
            else MemoryStore(clock=clock)
        )
        await world.attach([world.dealer], store=store, delivery=request.param)
        yield world
        await world.happytalk.aclose()
        await world.openbuilder.aclose()


async def first_message(world: KakaoWorld, text: str = "안녕하세요") -> tuple[DealerUser, str]:
    user = world.happytalk.user()
    user.send_text(text)
    await world.settle()
    return user, world.conversation("kakao", user.user_key)


async def test_korean_and_emoji_go_both_ways_byte_for_byte(world: KakaoWorld) -> None:
    user, conversation = await first_message(world, KOREAN)
    [text] = world.rig.helpdesk.user_texts(conversation)
    assert text.encode() == KOREAN.encode()

    await world.freshchat.agent_reply(conversation, ANSWER)
    await world.settle()
    [reply] = user.received
    assert reply.message_type == "TX"
    assert reply.message is not None and reply.message.encode() == ANSWER.encode()
    assert await world.bridge.dead_letters() == []


async def test_the_users_photo_and_file_are_copied_into_freshchat(world: KakaoWorld) -> None:
    user, conversation = await first_message(world)
    user.send_photo(PHOTO, name="영수증.jpg")
    await world.settle()
    user.send_file(PDF, name="견적서.pdf", content_type="application/pdf")
    await world.settle()

    _, [photo], [document] = world.rig.user_parts(conversation)
    image, file = photo["image"], document["file"]
    assert image["url"].startswith(world.freshchat.public_url)
    assert file["url"].startswith(world.freshchat.public_url)
    assert file["name"] == "견적서.pdf"
    # The dealer's links expire; Freshchat's copies stay.
    await world.clock.advance(world.happytalk.media.ttl + 1)
    assert await world.fetch(image["url"]) == PHOTO
    assert await world.fetch(file["url"]) == PDF


async def test_the_agents_image_and_file_are_uploaded_to_kakao_and_sent(
    world: KakaoWorld,
) -> None:
    user, conversation = await first_message(world)
    png = b"\x89PNG\r\n\x1a\n map"
    picture = await world.rig.messaging.client.upload_image("map.png", png, "image/png")
    file_hash = await world.upload_file("안내서.pdf", PDF, "application/pdf")
    await world.freshchat.agent_reply(
        conversation,
        "지도와 안내서입니다 📎",
        parts=[{"image": {"url": picture["url"]}}, {"file": {"fileHash": file_hash}}],
    )
    await world.settle()

    text, image, document = user.received
    assert text.message == "지도와 안내서입니다 📎"
    assert image.message_type == "IM" and document.message_type == "FI"
    assert document.file_name == "안내서.pdf" and document.file_size == len(PDF)
    assert document.file_url is not None and image.image_url is not None
    # What the user gets are the copies HappyTalk keeps on Kakao's servers.
    assert set(world.happytalk.uploads) == {image.image_url, document.file_url}
    assert await world.fetch(image.image_url) == png
    assert await world.fetch(document.file_url) == PDF


@pytest.mark.parametrize(
    "text",
    [
        "상담 내용을 자세히 안내해 드립니다 😊 " * 120,  # words: cut at spaces
        "가😀" * 700,  # no spaces, astral emoji counting twice: cut between characters
    ],
    ids=["words", "emoji"],
)
async def test_long_agent_text_is_split_within_1000_characters(
    world: KakaoWorld, text: str
) -> None:
    user, conversation = await first_message(world)
    await world.freshchat.agent_reply(conversation, text)
    await world.settle()

    chunks = [m.message or "" for m in user.received]
    assert len(chunks) >= 3
    assert all(0 < kakao_length(c) <= 1000 for c in chunks)
    assert "".join(chunks) == text
    assert await world.bridge.dead_letters() == []


async def test_redelivered_webhooks_have_one_effect_each_way(world: KakaoWorld) -> None:
    world.happytalk.duplicate_deliveries = 2
    world.freshchat.faults.duplicate_webhooks(3)
    user, conversation = await first_message(world, "한 번만 보내요 😊")
    await world.freshchat.agent_reply(conversation, "한 번만 받으세요")
    await world.settle()

    assert [d.duplicate for d in world.happytalk.deliveries] == [False, True, True]
    assert world.rig.helpdesk.user_texts(conversation) == ["한 번만 보내요 😊"]
    assert [m.message for m in user.received] == ["한 번만 받으세요"]


async def test_notes_welcome_messages_and_echoes_never_reach_the_user(world: KakaoWorld) -> None:
    user, conversation = await first_message(world, "안녕하세요")
    await world.freshchat.private_note(conversation, "VIP 고객입니다 🤫")
    await world.settle()

    authors = [m["data"]["message"]["actor_type"] for m in world.freshchat.emitted]
    assert authors == ["user", "system", "agent"]  # every one reached the bridge as a webhook
    assert user.received == []
    await world.freshchat.agent_reply(conversation, ANSWER)
    await world.settle()
    assert [m.message for m in user.received] == [ANSWER]


async def test_resolution_ends_the_session_after_the_agents_last_words(
    world: KakaoWorld,
) -> None:
    user, conversation = await first_message(world)
    world.freshchat.faults.duplicate_webhooks(2)
    await world.freshchat.agent_reply(conversation, "상담을 종료합니다. 감사합니다 🙏")
    await world.freshchat.resolve(conversation)
    await world.settle()

    [goodbye] = user.received
    assert world.happytalk.timeline == [("write", goodbye.serial_number), ("end", user.user_key)]
    link = await world.bridge.store.get_link("kakao", user.user_key)
    assert link is not None and link.resolved


async def test_a_user_back_after_resolution_reopens_the_conversation(world: KakaoWorld) -> None:
    user, conversation = await first_message(world, "첫 번째 문의")
    await world.freshchat.resolve(conversation)
    await world.settle()
    assert world.happytalk.ended_sessions == [user.user_key]

    user.send_text("다시 문의드려요")
    await world.settle()
    assert world.rig.helpdesk.user_texts(conversation) == ["첫 번째 문의", "다시 문의드려요"]
    await world.freshchat.agent_reply(conversation, ANSWER)
    await world.freshchat.resolve(conversation)
    await world.settle()
    assert [m.message for m in user.received] == [ANSWER]
    assert world.happytalk.ended_sessions == [user.user_key, user.user_key]
