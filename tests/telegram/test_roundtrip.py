"""A Telegram user and a Freshchat agent through the bridge's durable queue: a redelivered
update posts once, a blocked user's reply is a dead letter saying why, and two bots on one
bridge keep their users and replies apart."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from byoc.testing.clock import FakeClock
from byoc.testing.rig import BRIDGE_URL, BridgeRig
from byoc_telegram import TelegramChannel
from byoc_telegram.testing import TelegramEmulator

from .roundtrip import Trip, build_trip


@pytest.fixture
async def trip() -> AsyncIterator[Trip]:
    async with BridgeRig() as rig:
        yield await build_trip(rig, delivery="durable")


async def test_a_redelivered_update_is_posted_once(trip: Trip) -> None:
    user = trip.telegram.user()
    update = await trip.telegram.send_text(user, "only once")
    await trip.settle()
    await trip.telegram.redeliver(update["update_id"])
    await trip.settle()
    assert [d.delivered for d in trip.telegram.deliveries] == [True, True]
    assert trip.written(user) == [[{"text": {"content": "only once"}}]]


async def test_a_blocked_users_reply_is_a_dead_letter_saying_why(trip: Trip) -> None:
    user, conversation = await trip.started()
    # Blocked without the bridge hearing of it (the `my_chat_member` update is not delivered):
    # the send finds out (tests/core/test_unreachable_users.py has the update's path).
    user.blocked = True
    await trip.rig.freshchat.agent_reply(conversation, "are you still there?")
    await trip.settle()
    (dead,) = await trip.rig.bridge.dead_letters()
    assert dead.reason.startswith("refused after 1 attempt")
    error = dead.job.attempts[-1].error
    assert error.startswith(f"UserUnreachable: Telegram user {user.id} cannot be reached")
    assert "bot was blocked by the user" in error
    assert trip.telegram.token not in error
    assert await trip.rig.unexpected_dead_letters() == []


async def test_a_throttled_reply_is_retried_after_telegrams_wait(trip: Trip) -> None:
    user, conversation = await trip.started()
    trip.telegram.fail_next("sendMessage", 429, retry_after=30)
    await trip.rig.freshchat.agent_reply(conversation, "hello again")
    await trip.settle()
    assert trip.telegram.sent_to(user.id) == []
    await trip.bridge_clock.advance(29)
    await trip.settle()
    assert trip.telegram.sent_to(user.id) == []
    await trip.bridge_clock.advance(2)
    await trip.settle()
    assert [m.text for m in trip.telegram.sent_to(user.id)] == ["hello again"]


async def bot(rig: BridgeRig, host: str, token: str) -> TelegramEmulator:
    emulator = TelegramEmulator(
        token=token,
        clock=FakeClock(autoadvance=True),
        webhook_client=rig.client(),
        public_url=f"http://{host}",
        bot_username=host.split(".")[0],
    )
    rig.add_emulator(host, emulator)
    return emulator


async def test_two_bots_on_one_bridge_keep_their_users_and_replies_apart() -> None:
    async with BridgeRig() as rig:
        home = await bot(rig, "home.test", "111:home-token-0123456789abcdefghij")
        vip = await bot(rig, "vip.test", "222:vip-token-0123456789abcdefghijk")
        channels = [
            TelegramChannel(
                bot_token=emulator.token,
                webhook_secret=secret,
                api_url=emulator.api_url,
                http=rig.client(),
                clock=emulator.clock,
            )
            for emulator, secret in (
                (home, "home-secret-0123456789"),
                (vip, "vip-secret-0123456789"),
            )
        ]
        rig.attach([channels[0], channels[1].named("telegram-vip")])
        await rig.bridge.install()
        assert home.webhook is not None and vip.webhook is not None
        assert home.webhook.url == f"{BRIDGE_URL}/channels/telegram/webhook"
        assert vip.webhook.url == f"{BRIDGE_URL}/channels/telegram-vip/webhook"

        # Telegram gives a user the same id with every bot: only the instance tells them apart.
        at_home, at_vip = home.user("Minjun", id=4242), vip.user("Minjun", id=4242)
        await home.send_text(at_home, "hello home")
        await vip.send_text(at_vip, "hello vip")
        await rig.settle()
        (home_user,) = rig.freshchat.users_by_reference("telegram:4242")
        (vip_user,) = rig.freshchat.users_by_reference("telegram-vip:4242")
        for user, answer in ((home_user, "home answer"), (vip_user, "vip answer")):
            (conversation,) = rig.freshchat.conversations_of(str(user["id"]))
            await rig.freshchat.agent_reply(str(conversation["conversation_id"]), answer)
        await rig.settle()
        assert [m.text for m in home.sent_to(4242)] == ["home answer"]
        assert [m.text for m in vip.sent_to(4242)] == ["vip answer"]

        # Each bot's secret opens its own route only.
        forged = await rig.http.post(
            f"{BRIDGE_URL}/channels/telegram-vip/webhook",
            json={"update_id": 1},
            headers={"X-Telegram-Bot-Api-Secret-Token": "home-secret-0123456789"},
        )
        assert forged.status_code == 401
        assert await rig.bridge.dead_letters() == []
