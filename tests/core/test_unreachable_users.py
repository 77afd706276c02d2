"""Users who unsubscribed or blocked the bot: agent replies to them are dead letters at once,
saying why, until they write or subscribe again (Viber's `unsubscribed` event, Telegram's
403 "blocked" and its `my_chat_member` update)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from byoc.reachability import replaying, unreachable_reason
from byoc.store import MemoryStore, SQLiteStore, Store, UserLink
from byoc.store.queue import Job
from byoc.testing.rig import BridgeRig
from tests.telegram.roundtrip import Trip as TelegramTrip
from tests.telegram.roundtrip import build_trip as telegram_trip
from tests.viber.roundtrip import Trip as ViberTrip
from tests.viber.roundtrip import build_trip as viber_trip

REASON = "UserUnreachable: user unsubscribed/blocked the bot on {channel} since "


@pytest.fixture(params=["memory", "sqlite"])
def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[], Store]:
    if request.param == "memory":
        return MemoryStore
    return lambda: SQLiteStore(tmp_path / "byoc.db")


@pytest.fixture
async def viber(make_store: Callable[[], Store]) -> AsyncIterator[ViberTrip]:
    async with BridgeRig() as rig:
        store = make_store()
        assert isinstance(store, MemoryStore | SQLiteStore)
        yield await viber_trip(rig, "durable", store)


@pytest.fixture
async def telegram(make_store: Callable[[], Store]) -> AsyncIterator[TelegramTrip]:
    async with BridgeRig() as rig:
        yield await telegram_trip(rig, "durable", make_store())


async def link_of(rig: BridgeRig, channel: str, user_id: str) -> UserLink:
    link = await rig.bridge.store.get_link(channel, user_id)
    assert link is not None
    return link


def errors(dead_letters: list[object]) -> list[str]:
    return [dead.job.attempts[-1].error for dead in dead_letters]  # type: ignore[attr-defined]


async def test_a_viber_user_who_unsubscribed_gets_no_replies_until_they_subscribe(
    viber: ViberTrip,
) -> None:
    user = viber.user(name="Minjun")
    await user.subscribe()
    await user.send_text("hello")
    await viber.settle()
    conversation = viber.conversation(user)
    await user.unsubscribe()
    await viber.settle()
    link = await link_of(viber.rig, "viber", user.id)
    assert link.unreachable_since is not None
    sent_before = len(viber.viber.sent)

    await viber.rig.freshchat.agent_reply(conversation, "are you still there?")
    await viber.settle()
    assert len(viber.viber.sent) == sent_before  # not even tried
    (dead,) = await viber.rig.bridge.dead_letters()
    (error,) = errors([dead])
    assert error.startswith(REASON.format(channel="viber"))
    assert error.endswith(unreachable_reason(link))
    (shown,) = (await viber.rig.bridge.status()).dead_letters
    assert shown.job.attempts[-1].error == error  # what the admin page lists
    assert await viber.rig.unexpected_dead_letters() == []

    await user.subscribe()
    await viber.settle()
    assert (await link_of(viber.rig, "viber", user.id)).unreachable_since is None
    await viber.rig.freshchat.agent_reply(conversation, "welcome back")
    await viber.settle()
    assert [m.body.get("text") for m in user.received][-1] == "welcome back"
    assert len(await viber.rig.bridge.dead_letters()) == 1


async def test_a_viber_user_who_writes_again_is_reachable_again(viber: ViberTrip) -> None:
    user = viber.user(name="Jiwoo")
    await user.subscribe()
    await user.send_text("hello")
    await viber.settle()
    await user.unsubscribe()
    await viber.settle()
    await user.send_text("back again")
    await viber.settle()
    assert (await link_of(viber.rig, "viber", user.id)).unreachable_since is None
    await viber.rig.freshchat.agent_reply(viber.conversation(user), "hi")
    await viber.settle()
    assert [m.body.get("text") for m in user.received][-1] == "hi"
    assert await viber.rig.bridge.dead_letters() == []


async def test_a_telegram_user_who_blocked_the_bot_is_found_out_by_the_first_send(
    telegram: TelegramTrip,
) -> None:
    user, conversation = await telegram.started()
    user.blocked = True  # the `my_chat_member` update never came
    await telegram.rig.freshchat.agent_reply(conversation, "are you still there?")
    await telegram.settle()
    first = await telegram.rig.bridge.dead_letters()
    assert "bot was blocked by the user" in errors(first)[0]
    assert (await link_of(telegram.rig, "telegram", str(user.id))).unreachable_since is not None

    tries = len(telegram.telegram.calls)
    await telegram.rig.freshchat.agent_reply(conversation, "hello?")
    await telegram.settle()
    assert len(telegram.telegram.calls) == tries  # the second reply is not tried
    second = errors(await telegram.rig.bridge.dead_letters())[1]
    assert second.startswith(REASON.format(channel="telegram"))
    assert await telegram.rig.unexpected_dead_letters() == []

    user.blocked = False
    await telegram.telegram.send_text(user, "sorry, I'm back")
    await telegram.settle()
    assert [m.text for m in await telegram.replied(conversation, user, text="hi")] == ["hi"]


async def test_a_telegram_block_update_stops_replies_until_unblocked(
    telegram: TelegramTrip,
) -> None:
    user, conversation = await telegram.started()
    await telegram.telegram.block(user)
    await telegram.settle()
    tries = len(telegram.telegram.calls)
    await telegram.rig.freshchat.agent_reply(conversation, "are you still there?")
    await telegram.settle()
    assert len(telegram.telegram.calls) == tries
    (error,) = errors(await telegram.rig.bridge.dead_letters())
    assert error.startswith(REASON.format(channel="telegram"))
    await telegram.telegram.unblock(user)
    await telegram.settle()
    assert [m.text for m in await telegram.replied(conversation, user, text="hi")] == ["hi"]


@given(st.floats(min_value=0, max_value=4e9), st.sampled_from(["viber", "telegram", "kakao"]))
def test_the_reason_names_the_channel_and_the_time(since: float, channel: str) -> None:
    link = UserLink(
        channel=channel, channel_user_id="u", helpdesk_user_id="h", unreachable_since=since
    )
    reason = unreachable_reason(link)
    assert reason.startswith(f"user unsubscribed/blocked the bot on {channel} since ")
    assert reason.endswith("Z") and len(reason.rsplit(" since ", 1)[1]) == len(
        "2026-01-01 00:00:00Z"
    )


async def test_a_replayed_reply_gives_its_user_another_chance() -> None:
    store = MemoryStore()
    await store.save_link(
        UserLink(
            channel="viber",
            channel_user_id="u1",
            helpdesk_user_id="hd-1",
            conversation_id="c-1",
            unreachable_since=1_700_000_000.0,
        )
    )

    def job(lane: str) -> Job:
        return Job(id=1, lane=lane, kind="reply", payload="{}", accepted_at=0.0, not_before=0.0)

    await replaying(store, job("in:viber:u1"))
    link = await store.get_link("viber", "u1")
    assert link is not None and link.unreachable_since is not None
    await replaying(store, job("out:c-1"))  # a reply that named no user: its conversation
    link = await store.get_link("viber", "u1")
    assert link is not None and link.unreachable_since is None
