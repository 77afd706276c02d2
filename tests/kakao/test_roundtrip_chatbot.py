"""The `kakao-chatbot` route end to end: Open Builder emulator ↔ bridge ↔ Freshchat emulator.

Kakao gives a skill 5 seconds, so this route needs durable delivery: the bridge stores the
user's message, answers, and reaches Freshchat afterwards. Agent replies go back through the
AI-chatbot callback within the minute, through the Event API after it.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from byoc.errors import ConfigurationError
from byoc.store import SQLiteStore
from byoc.testing.clock import FakeClock
from byoc.testing.rig import BridgeRig
from byoc_kakao import kakao_length
from byoc_kakao.chatbot import DEFAULT_CALLBACK_TEXT
from byoc_kakao.testing import KakaoUser
from byoc_kakao.testing.openbuilder import Bubble

from .roundtrip import KOREAN, KakaoWorld

ANSWER = "확인해 보니 내일 도착 예정입니다 🚚 감사합니다 🙇‍♀️"
PHOTO = b"\xff\xd8\xff\xe0 a photo of the parcel"
PDF = b"%PDF-1.7 guide"


@asynccontextmanager
async def chatbot_world(
    tmp_path: Path, freshchat_clock: FakeClock | None = None
) -> AsyncIterator[KakaoWorld]:
    clock = FakeClock()
    async with BridgeRig(clock=freshchat_clock) as rig:
        world = KakaoWorld(rig, clock)
        store = SQLiteStore(tmp_path / "byoc.sqlite3", clock=clock)
        await world.attach([world.chatbot], store=store)
        yield world
        await world.happytalk.aclose()
        await world.openbuilder.aclose()


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[KakaoWorld]:
    async with chatbot_world(tmp_path) as made:
        yield made


async def first_message(world: KakaoWorld, text: str = "안녕하세요") -> tuple[KakaoUser, str]:
    user = world.openbuilder.user()
    exchange = await user.say(text)
    assert exchange.ok, exchange.problems
    await world.settle()
    return user, world.conversation("kakao-chatbot", user.bot_user_key)


def seen(user: KakaoUser) -> list[tuple[str, str | None]]:
    return [(b.via, b.text) for b in user.bubbles]


def by_way(user: KakaoUser, via: str) -> list[Bubble]:
    return [b for b in user.bubbles if b.via == via]


def callback_statuses(world: KakaoWorld) -> list[str]:
    return [status for _, status in world.openbuilder.callback_posts]


def all_tasks_succeeded(world: KakaoWorld) -> bool:
    return all(
        task.done and task.success == task.requested for task in world.openbuilder.tasks.values()
    )


async def test_korean_and_emoji_go_both_ways_and_a_quick_answer_uses_the_callback(
    world: KakaoWorld,
) -> None:
    user, conversation = await first_message(world, KOREAN)
    [text] = world.rig.helpdesk.user_texts(conversation)
    assert text.encode() == KOREAN.encode()

    await world.clock.advance(20)
    await world.freshchat.agent_reply(conversation, ANSWER)
    await world.settle()
    assert seen(user) == [("wait", DEFAULT_CALLBACK_TEXT), ("callback", ANSWER)]
    [bubble] = by_way(user, "callback")
    assert (bubble.text or "").encode() == ANSWER.encode()
    assert callback_statuses(world) == ["SUCCESS"]
    assert world.openbuilder.event_calls == []


async def test_a_later_answer_goes_through_the_event_api(world: KakaoWorld) -> None:
    user, conversation = await first_message(world)
    await world.clock.advance(61)
    await world.freshchat.agent_reply(conversation, ANSWER)
    await world.settle()

    assert seen(user) == [("wait", DEFAULT_CALLBACK_TEXT), ("event", ANSWER)]
    assert callback_statuses(world) == []  # expired: not even tried
    [call] = world.openbuilder.event_calls
    assert call["event"] == {"name": "agent_reply", "data": {"text": ANSWER}}
    assert call["user"] == [{"type": "botUserKey", "id": user.bot_user_key}]
    assert all_tasks_succeeded(world)
    assert await world.chatbot.pending_replies(user.bot_user_key) == 0


async def test_the_callback_is_used_once_then_the_event_api_takes_over(
    world: KakaoWorld,
) -> None:
    user, conversation = await first_message(world)
    await world.freshchat.agent_reply(conversation, "첫 번째 답변")
    await world.settle()
    await world.freshchat.agent_reply(conversation, "두 번째 답변")
    await world.settle()

    assert seen(user)[1:] == [("callback", "첫 번째 답변"), ("event", "두 번째 답변")]
    assert callback_statuses(world) == ["SUCCESS"]
    assert len(world.openbuilder.event_calls) == 1


async def test_the_users_photo_is_copied_into_freshchat_before_its_link_expires(
    world: KakaoWorld,
) -> None:
    user, conversation = await first_message(world)
    # What KakaoTalk does with a photo: a signed, expiring CDN URL as the utterance.
    cdn_url = world.openbuilder.media.put(PHOTO, name="i_3b9f2c.jpg", content_type="image/jpeg")
    assert (await user.say(cdn_url)).ok
    await world.settle()

    _, [photo] = world.rig.user_parts(conversation)
    copy = photo["image"]["url"]
    assert copy.startswith(world.freshchat.public_url)
    await world.clock.advance(world.openbuilder.media.ttl + 1)
    assert (await world.rig.http.get(cdn_url)).status_code == 403
    assert await world.fetch(copy) == PHOTO


async def test_the_agents_image_and_file_become_an_image_and_a_card(world: KakaoWorld) -> None:
    user, conversation = await first_message(world)
    picture = await world.rig.messaging.client.upload_image("map.png", b"\x89PNG map", "image/png")
    file_hash = await world.upload_file("안내서.pdf", PDF, "application/pdf")
    await world.freshchat.agent_reply(
        conversation,
        "지도와 안내서입니다 📎",
        parts=[{"image": {"url": picture["url"]}}, {"file": {"fileHash": file_hash}}],
    )
    await world.settle()

    text, image, card = [b.output for b in by_way(user, "callback")]
    assert text == {"simpleText": {"text": "지도와 안내서입니다 📎"}}
    assert image["simpleImage"]["imageUrl"] == picture["url"]
    [button] = card["textCard"]["buttons"]
    assert card["textCard"]["title"] == "안내서.pdf" and button["action"] == "webLink"
    assert await world.fetch(image["simpleImage"]["imageUrl"]) == b"\x89PNG map"
    assert await world.fetch(button["webLinkUrl"]) == PDF


@pytest.mark.parametrize("late", [False, True], ids=["within-a-minute", "later"])
async def test_long_agent_text_comes_in_responses_of_at_most_three_bubbles(
    world: KakaoWorld, late: bool
) -> None:
    text = "주문하신 상품의 배송 현황을 안내해 드립니다 📦 " * 130  # four bubbles' worth
    user, conversation = await first_message(world)
    if late:
        await world.clock.advance(61)
    await world.freshchat.agent_reply(conversation, text)
    await world.settle()

    replies = [b for b in user.bubbles if b.via in ("callback", "event")]
    assert not by_way(user, "error") and all_tasks_succeeded(world)
    assert "".join(b.text or "" for b in replies) == text
    assert all(0 < kakao_length(b.text or "") <= 1000 for b in replies)
    # One callback (or event) per response, each shown whole: 3 bubbles, then the rest.
    ways = [b.via for b in replies]
    expected_first = "event" if late else "callback"
    assert ways == [expected_first] * 3 + ["event"] * (len(replies) - 3)
    assert len(world.openbuilder.event_calls) == (2 if late else 1)
    assert callback_statuses(world) == ([] if late else ["SUCCESS"])


async def test_redelivered_help_desk_webhooks_reach_the_user_once(world: KakaoWorld) -> None:
    world.freshchat.faults.duplicate_webhooks(3)
    user, conversation = await first_message(world, "한 번만 보내요")
    await world.freshchat.agent_reply(conversation, "빠른 답변")
    await world.settle()
    await world.clock.advance(61)
    await world.freshchat.agent_reply(conversation, "늦은 답변")
    await world.settle()

    assert world.rig.helpdesk.user_texts(conversation) == ["한 번만 보내요"]
    assert seen(user)[1:] == [("callback", "빠른 답변"), ("event", "늦은 답변")]
    assert callback_statuses(world) == ["SUCCESS"]
    assert len(world.openbuilder.event_calls) == 1


async def test_notes_welcome_messages_and_echoes_never_reach_the_user(world: KakaoWorld) -> None:
    user, conversation = await first_message(world)
    await world.freshchat.private_note(conversation, "VIP 고객입니다 🤫")
    await world.settle()

    authors = [m["data"]["message"]["actor_type"] for m in world.freshchat.emitted]
    assert authors == ["user", "system", "agent"]
    assert seen(user) == [("wait", DEFAULT_CALLBACK_TEXT)]
    assert world.openbuilder.event_calls == []


async def test_the_skill_answers_within_5_s_while_freshchat_takes_10_s_per_call(
    tmp_path: Path,
) -> None:
    freshchat_clock = FakeClock()
    async with chatbot_world(tmp_path, freshchat_clock) as world:
        world.freshchat.faults.latency(10.0)  # every API call, on Freshchat's own clock
        user = world.openbuilder.user()
        started = time.monotonic()
        exchange = await user.say(KOREAN)
        answered_in = time.monotonic() - started
        assert exchange.ok, exchange.problems
        assert answered_in < 5.0
        # Stored and acknowledged, not yet delivered: Freshchat is still thinking.
        assert world.freshchat.users_by_reference(f"kakao-chatbot:{user.bot_user_key}") == []

        await world.settle_through(freshchat_clock, step=10.0)
        conversation = world.conversation("kakao-chatbot", user.bot_user_key)
        assert world.rig.helpdesk.user_texts(conversation) == [KOREAN]
        assert await world.bridge.dead_letters() == []

        # The agent answers within the minute: one POST to the callback URL.
        await world.clock.advance(30)
        await world.freshchat.agent_reply(conversation, ANSWER)
        await world.settle_through(freshchat_clock, step=10.0)
        assert seen(user) == [("wait", DEFAULT_CALLBACK_TEXT), ("callback", ANSWER)]
        assert callback_statuses(world) == ["SUCCESS"]

        # The next question is answered an hour later: through the Event API.
        assert (await user.say("또 질문이 있어요")).ok
        await world.settle_through(freshchat_clock, step=10.0)
        await world.clock.advance(3600)
        await world.freshchat.agent_reply(conversation, "늦어서 죄송합니다")
        await world.settle_through(freshchat_clock, step=10.0)
        assert seen(user)[2:] == [("wait", DEFAULT_CALLBACK_TEXT), ("event", "늦어서 죄송합니다")]
        assert world.rig.helpdesk.user_texts(conversation) == [KOREAN, "또 질문이 있어요"]
        assert callback_statuses(world) == ["SUCCESS"]
        [call] = world.openbuilder.event_calls
        assert call["user"] == [{"type": "botUserKey", "id": user.bot_user_key}]


async def test_inline_delivery_with_the_chatbot_is_refused(tmp_path: Path) -> None:
    async with BridgeRig() as rig:
        world = KakaoWorld(rig, FakeClock())
        with pytest.raises(ConfigurationError, match="within 5 s.*delivery='durable'"):
            rig.attach([world.chatbot, world.dealer], delivery="inline")
        await world.happytalk.aclose()
        await world.openbuilder.aclose()
