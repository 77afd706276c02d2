"""Telegram updates outside their freshness window are refused, answered 200 so Telegram does
not repeat them; an update without a time of its own (a button tap) is not dated.

Through the bridge's HTTP route, from the Telegram emulator, with the webhook's secret: the
secret stops strangers, not a captured update replayed once the bridge's 7-day dedupe has
forgotten its `update_id`.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from byoc.errors import ConfigurationError, MalformedPayload, StaleWebhook
from byoc.freshness import FreshnessWindow
from byoc.settings import load_settings
from byoc.testing.clock import FakeClock
from byoc.testing.rig import BridgeRig
from byoc.webhook import WebhookRequest
from byoc_telegram import SECRET_HEADER, TelegramChannel
from byoc_telegram.freshness import DEFAULT_FRESHNESS, StaleUpdate
from byoc_telegram.testing import TelegramEmulator

from .roundtrip import SECRET, WEBHOOK, Trip, build_trip, texts

TOKEN = "123456789:AAHkOUQ8nVEXAMPLEtokenPART0123456789"
DAY = 24 * 3600


@pytest.fixture
async def trip() -> AsyncIterator[Trip]:
    async with BridgeRig() as rig:
        yield await build_trip(rig)


def clock_of(trip: Trip) -> FakeClock:
    clock = trip.telegram.clock
    assert isinstance(clock, FakeClock)
    return clock


async def post(trip: Trip, update: dict[str, Any]) -> Any:
    body = json.dumps(update, ensure_ascii=False).encode()
    return await trip.rig.http.post(WEBHOOK, content=body, headers={SECRET_HEADER: SECRET})


def said(trip: Trip, user_id: int) -> list[str]:
    users = trip.rig.freshchat.users_by_reference(f"telegram:{user_id}")
    if not users:
        return []
    (conversation,) = trip.rig.freshchat.conversations_of(str(users[0]["id"]))
    return [
        texts(message["message_parts"])
        for message in trip.rig.freshchat.conversation_messages(
            str(conversation["conversation_id"])
        )
        if message["actor_type"] == "user"
    ]


async def test_an_update_replayed_after_the_dedupe_window_is_answered_200_but_not_delivered(
    trip: Trip,
) -> None:
    user = trip.telegram.user("Minjun")
    update = await trip.telegram.send_text(user, "이체해 주세요")
    await trip.settle()
    week = 7 * DAY + 60  # the bridge has forgotten the update_id
    await trip.bridge_clock.advance(week)
    await clock_of(trip).advance(week)

    replayed = await post(trip, update)
    await trip.settle()

    # 200, so Telegram would not repeat it; the body and the admin page say why.
    assert replayed.status_code == 200
    error = replayed.json()["error"]
    assert error.startswith("stale webhook: Telegram update sent at 2023-11-14T22:13:20Z")
    assert "604860 s ago, more than the 90000 s" in error and "replayed?" in error
    assert said(trip, user.id) == ["이체해 주세요"]
    [refused] = (await trip.rig.bridge.status()).refused
    assert (refused.endpoint, refused.count, refused.last_status) == ("channel:telegram", 1, 200)
    assert refused.last_reason.startswith("stale webhook")


async def test_telegram_delivers_a_stale_update_once_and_does_not_repeat_it(trip: Trip) -> None:
    user = trip.telegram.user("Minjun")
    update = await trip.telegram.send_text(user, "hello")
    await trip.settle()
    await clock_of(trip).advance(2 * DAY)
    await trip.telegram.redeliver(update["update_id"])
    await trip.telegram.drain()
    late = trip.telegram.deliveries[-1]
    assert (late.attempts, late.delivered) == ([200], True)


async def test_an_update_telegram_kept_for_a_day_is_delivered(trip: Trip) -> None:
    await trip.channel.uninstall()  # the bridge is away: Telegram keeps the updates
    user = trip.telegram.user("Minjun")
    await trip.telegram.send_text(user, "still there?")
    await clock_of(trip).advance(DAY)
    await trip.channel.install(WEBHOOK)
    await trip.telegram.drain()
    await trip.settle()
    assert said(trip, user.id) == ["still there?"]


async def test_an_update_from_the_future_is_refused_beyond_the_clock_skew(trip: Trip) -> None:
    user = trip.telegram.user("Minjun")
    now = clock_of(trip).time()
    soon = trip.telegram.message_update(user, {"text": "a fast clock"})
    soon["message"]["date"] = int(now) + 300
    assert (await post(trip, soon)).status_code == 200
    ahead = trip.telegram.message_update(user, {"text": "from tomorrow"})
    ahead["message"]["date"] = int(now) + DAY
    answer = await post(trip, ahead)
    await trip.settle()
    assert answer.status_code == 200
    assert "86400 s in the future" in answer.json()["error"]
    assert "check NTP" in answer.json()["error"]
    assert said(trip, user.id) == ["a fast clock"]


async def test_an_edit_is_dated_by_its_edit_date_not_the_original_message(trip: Trip) -> None:
    user = trip.telegram.user("Minjun")
    first = await trip.telegram.send_text(user, "first words")
    await trip.settle()
    await clock_of(trip).advance(30 * DAY)  # a month later the user edits it: a fresh update
    await trip.telegram.edit(user, first["message"]["message_id"], "second thoughts")
    await trip.settle()
    assert said(trip, user.id)[-1].endswith("second thoughts")

    stale = {**first, "update_id": first["update_id"] + 10}
    stale["edited_message"] = {**stale.pop("message"), "edit_date": int(clock_of(trip).time())}
    stale["edited_message"]["edit_date"] -= 2 * DAY
    answer = await post(trip, stale)
    assert answer.status_code == 200 and "stale webhook" in answer.json()["error"]


async def test_a_button_tap_carries_no_time_and_is_not_dated(trip: Trip) -> None:
    user = trip.telegram.user("Minjun")
    old = trip.telegram.message_update(user, {"text": "pick one"})["message"]
    old["date"] -= 60 * DAY  # the message under the button is two months old
    old["reply_markup"] = {"inline_keyboard": [[{"text": "Yes", "callback_data": "yes"}]]}
    tap = {
        "update_id": 42,
        "callback_query": {
            "id": "4382",
            "from": user.as_json(),
            "message": old,
            "chat_instance": "-1",
            "data": "yes",
        },
    }
    answer = await post(trip, tap)
    await trip.settle()
    assert answer.status_code == 200 and answer.json()["method"] == "answerCallbackQuery"
    assert said(trip, user.id) == ["Yes\n(quick reply payload: yes)"]


@pytest.mark.parametrize(
    ("branch", "field"),
    [("message", "date"), ("edited_message", "date"), ("my_chat_member", "date")],
)
async def test_a_dated_update_without_its_time_is_malformed(
    trip: Trip, branch: str, field: str
) -> None:
    user = trip.telegram.user("Minjun")
    message = trip.telegram.message_update(user, {"text": "hi"})["message"]
    message.pop("date")
    answer = await post(trip, {"update_id": 7, branch: message})
    assert answer.status_code == 400
    assert answer.json()["error"] == f"Telegram {branch}: '{field}' must be Unix seconds"


def test_the_window_comes_from_the_settings() -> None:
    env = {"BYOC_TELEGRAM_BOT_TOKEN": TOKEN, "BYOC_TELEGRAM_WEBHOOK_SECRET": SECRET}
    assert (
        TelegramChannel.from_env(env).freshness
        == DEFAULT_FRESHNESS
        == FreshnessWindow(max_age=90000, max_skew=300)
    )
    tuned = {
        **env,
        "BYOC_TELEGRAM_MAX_WEBHOOK_AGE": "3600",
        "BYOC_TELEGRAM_WEBHOOK_CLOCK_SKEW": "30",
    }
    assert TelegramChannel.from_env(tuned).freshness == FreshnessWindow(max_age=3600, max_skew=30)
    off = TelegramChannel.from_env({**env, "BYOC_TELEGRAM_MAX_WEBHOOK_AGE": "0"})
    assert not off.freshness.on
    with pytest.raises(ConfigurationError, match="BYOC_TELEGRAM_MAX_WEBHOOK_AGE must be a number"):
        TelegramChannel.from_env({**env, "BYOC_TELEGRAM_MAX_WEBHOOK_AGE": "a day"})
    with pytest.raises(ConfigurationError, match="BYOC_TELEGRAM_WEBHOOK_CLOCK_SKEW must be"):
        TelegramChannel.from_env({**env, "BYOC_TELEGRAM_WEBHOOK_CLOCK_SKEW": "-1"})
    with pytest.raises(ConfigurationError, match="shorter than the bridge's 604800 s"):
        TelegramChannel.from_env({**env, "BYOC_TELEGRAM_MAX_WEBHOOK_AGE": "604800"})


def test_a_second_bot_reads_its_own_window() -> None:
    settings = {
        "BYOC_CHANNELS": "telegram,telegram-vip",
        "BYOC_TELEGRAM_BOT_TOKEN": TOKEN,
        "BYOC_TELEGRAM_WEBHOOK_SECRET": SECRET,
        "BYOC_TELEGRAM_MAX_WEBHOOK_AGE": "60",
        "BYOC_TELEGRAM_VIP_KIND": "telegram",
        "BYOC_TELEGRAM_VIP_BOT_TOKEN": "987654321:AAvipTOKEN0123456789abcdef",
        "BYOC_TELEGRAM_VIP_WEBHOOK_SECRET": "vip-secret-0123456789",
        "BYOC_TELEGRAM_VIP_MAX_WEBHOOK_AGE": "7200",
    }
    first, second = load_settings(settings).choose_channels().enabled
    assert isinstance(first, TelegramChannel) and isinstance(second, TelegramChannel)
    assert (first.freshness.max_age, second.freshness.max_age) == (60, 7200)


# -- the window, as properties -------------------------------------------------------------------

CLOCK = FakeClock()
CHANNEL = TelegramChannel(bot_token=TOKEN, webhook_secret=SECRET, clock=CLOCK)
FUZZ = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
EMULATOR = TelegramEmulator(token=TOKEN, clock=CLOCK)
USER = EMULATOR.user("Minjun")


def request(update: dict[str, Any]) -> WebhookRequest:
    body = json.dumps(update, ensure_ascii=False).encode()
    return WebhookRequest(body=body, headers={SECRET_HEADER.lower(): SECRET})


def dated(branch: str, sent: int) -> dict[str, Any]:
    message = EMULATOR.message_update(USER, {"text": "hi"})["message"]
    if branch == "edited_message":
        message["edit_date"] = sent
    elif branch == "my_chat_member":
        message = {
            "chat": message["chat"],
            "from": message["from"],
            "date": sent,
            "new_chat_member": {"status": "kicked"},
        }
    else:
        message["date"] = sent
    return {"update_id": 1, branch: message}


@FUZZ
@given(
    age=st.integers(-3 * DAY, 8 * DAY),
    branch=st.sampled_from(["message", "edited_message", "my_chat_member"]),
)
async def test_a_dated_update_is_taken_exactly_within_the_window(age: int, branch: str) -> None:
    update = dated(branch, int(CLOCK.time()) - age)
    if -300 <= age <= 90000:
        assert len(await CHANNEL.parse(request(update))) == 1
    else:
        with pytest.raises(StaleUpdate) as caught:
            await CHANNEL.parse(request(update))
        assert isinstance(caught.value, StaleWebhook) and caught.value.status_code == 200
        assert str(caught.value).startswith("stale webhook: Telegram update sent at ")


@FUZZ
@given(
    sent=st.one_of(
        st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=10), st.integers(2**63)
    )
)
async def test_a_date_that_is_not_unix_seconds_is_malformed(sent: Any) -> None:
    with pytest.raises(MalformedPayload, match="'date' must be Unix seconds"):
        await CHANNEL.parse(request(dated("message", sent)))


async def test_with_the_window_off_any_time_is_accepted() -> None:
    off = TelegramChannel(
        bot_token=TOKEN,
        webhook_secret=SECRET,
        clock=CLOCK,
        freshness=FreshnessWindow(max_age=0, max_skew=0),
    )
    assert len(await off.parse(request(dated("message", 0)))) == 1
    assert len(await off.parse(request(dated("message", 2**62)))) == 1
