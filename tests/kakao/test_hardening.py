"""Hostile input on both Kakao routes, through the bridge's HTTP routes: a 2xx or a clear 4xx.

HappyTalk's webhook is authenticated by the secret path segment, and dated by its `time`: a
webhook from outside the freshness window is a replay. Every field is length-bounded before it
goes anywhere, and nothing HappyTalk answers puts a credential into an error text.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from byoc.errors import ConfigurationError, PermanentError, StaleWebhook
from byoc.freshness import FreshnessWindow
from byoc.store import MemoryStore
from byoc.testing.clock import FakeClock
from byoc.testing.rig import BridgeRig
from byoc_kakao import EventApiClient, EventUser, HappyTalkDealer, KakaoDealerChannel
from byoc_kakao.callback import CallbackFailed, post_callback
from byoc_kakao.dealers.happytalk import DEFAULT_FRESHNESS, raise_for_answer
from byoc_kakao.testing import skill_payload

from .rig import SKILL_SECRET, WEBHOOK_SECRET
from .roundtrip import KakaoWorld

SECRET = "client-secret-0123456789"
SENDER_KEY = "3fd538ef7218a14a63e51ba47e83c76e1ff5ab62"


@pytest.fixture
async def world() -> AsyncIterator[KakaoWorld]:
    clock = FakeClock()
    async with BridgeRig(clock=clock) as rig:
        made = KakaoWorld(rig, clock)
        await made.attach([made.dealer, made.chatbot], store=MemoryStore(clock=clock))
        yield made
        await made.happytalk.aclose()
        await made.openbuilder.aclose()


async def post_webhook(world: KakaoWorld, **fields: Any) -> httpx.Response:
    body = world.happytalk.webhook_body("c0eUY5TATGz1", "TX", text="안녕하세요")
    body.update(fields)
    content = json.dumps(body, ensure_ascii=False).encode()
    return await world.rig.http.post(world.installed["kakao"].target_url, content=content)


def written(world: KakaoWorld) -> list[str]:
    users = world.freshchat.users_by_reference("kakao:c0eUY5TATGz1")
    if not users:
        return []
    return world.rig.helpdesk.user_texts(world.conversation("kakao", "c0eUY5TATGz1"))


async def test_a_time_of_4301_digits_is_no_500(world: KakaoWorld) -> None:
    # int() refuses more than 4,300 digits: read outside its `try`, it answered 500.
    answer = await post_webhook(world, time="9" * 4301)
    await world.settle()
    assert answer.status_code == 200, answer.text
    assert written(world) == ["안녕하세요"]


async def test_a_file_size_of_4301_digits_is_no_500(world: KakaoWorld) -> None:
    photo = world.happytalk.media.put(b"jpeg", name="p.jpg", content_type="image/jpeg")
    body = world.happytalk.webhook_body("c0eUY5TATGz1", "FI", url=photo, name="p.jpg")
    body["file_size"] = "7" * 4301
    url = world.installed["kakao"].target_url
    answer = await world.rig.http.post(url, content=json.dumps(body).encode())
    await world.settle()
    assert answer.status_code == 200, answer.text
    assert await world.rig.unexpected_dead_letters() == []


async def test_a_webhook_older_than_a_day_is_refused_as_a_replay(world: KakaoWorld) -> None:
    now = world.clock.time()
    assert (await post_webhook(world, time=int((now - 23 * 3600) * 1000))).status_code == 200
    stale = await post_webhook(world, time=int((now - 25 * 3600) * 1000))
    ahead = await post_webhook(world, time=int((now + 3600) * 1000))
    await world.settle()
    assert stale.status_code == 401
    assert stale.json()["error"].startswith("stale webhook: HappyTalk webhook sent at 2023-11-13")
    assert "90000 s ago, more than the 86400 s" in stale.json()["error"]
    assert ahead.status_code == 401 and "3600 s in the future" in ahead.json()["error"]
    assert written(world) == ["안녕하세요"]


async def test_a_naive_korean_time_is_dated_in_korean_time(world: KakaoWorld) -> None:
    # 2023-11-15 07:13:20 in Seoul is the fake clock's 2023-11-14 22:13:20 UTC.
    assert (await post_webhook(world, time="2023-11-15 07:13:20")).status_code == 200
    assert (await post_webhook(world, time="2023-11-13 07:13:20")).status_code == 401


async def test_a_webhook_without_a_readable_time_cannot_be_dated_and_is_taken(
    world: KakaoWorld,
) -> None:
    for time in (None, "soon", "²", True):
        answer = await post_webhook(world, time=time, serial_number=f"s-{time}")
        assert answer.status_code == 200, (time, answer.text)


@pytest.mark.parametrize("field", ["user_key", "serial_number"])
async def test_a_70000_character_id_is_refused_at_the_door(
    world: KakaoWorld, field: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    answer = await post_webhook(world, **{field: "k" * 70_000})
    await world.settle()
    assert answer.status_code == 400
    assert f"{field} is 70,000 characters long, over the 200 accepted" in answer.json()["error"]
    assert len(answer.content) < 300
    assert max(len(r.getMessage()) for r in caplog.records) < 1000
    assert written(world) == [] and await world.bridge.dead_letters() == []


async def test_an_overlong_text_or_url_is_refused(world: KakaoWorld) -> None:
    assert (await post_webhook(world, message="가" * 20_000)).status_code == 200
    assert (await post_webhook(world, message="가" * 20_001)).status_code == 400
    long_url = "https://cdn.test/" + "a" * 8200
    answer = await post_webhook(world, message_type="IM", image_url=long_url, message=None)
    assert answer.status_code == 400 and "image_url" in answer.json()["error"]


async def test_another_sending_profile_is_refused_without_quoting_either_key(
    world: KakaoWorld,
) -> None:
    answer = await post_webhook(world, sender_key="another-profiles-sender-key-0123")
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert "BYOC_KAKAO_SENDER_KEY" in error
    assert "another-profiles" not in error and world.happytalk.sender_key not in error


async def test_a_chatbot_user_id_of_70000_characters_is_refused_at_the_door(
    world: KakaoWorld, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    openbuilder = world.openbuilder
    user = openbuilder.user()
    user.bot_user_key = "b" * 70_000
    body = skill_payload(
        bot=openbuilder.bot, user=user, block=openbuilder.fallback_block, utterance="안녕"
    )
    url = world.installed["kakao-chatbot"].target_url
    answer = await world.rig.http.post(url, content=json.dumps(body).encode())
    await world.settle()
    assert answer.status_code == 400
    assert "user.id is 70,000 characters long, over the 256 accepted" in answer.json()["error"]
    assert max(len(r.getMessage()) for r in caplog.records) < 1000
    assert await world.bridge.dead_letters() == []
    assert SKILL_SECRET not in answer.text


async def test_a_chatbot_utterance_or_callback_url_over_its_bound_is_refused(
    world: KakaoWorld,
) -> None:
    openbuilder = world.openbuilder
    common: dict[str, Any] = {
        "bot": openbuilder.bot,
        "user": openbuilder.user(),
        "block": openbuilder.fallback_block,
    }
    url = world.installed["kakao-chatbot"].target_url
    for body, field in (
        (skill_payload(**common, utterance="x" * 20_001), "utterance"),
        (
            skill_payload(
                **common, utterance="x", callback_url="https://a.kakao.com/" + "c" * 9000
            ),
            "callbackUrl",
        ),
    ):
        answer = await world.rig.http.post(url, content=json.dumps(body).encode())
        assert answer.status_code == 400 and field in answer.json()["error"], answer.text


# -- what HappyTalk answers never carries a credential into an error ---------------------------


@pytest.mark.parametrize(
    ("status", "code", "exception", "error"),
    [
        (200, -505, "InvalidImageSizeException", PermanentError),
        (200, -501, "InvalidSenderException", ConfigurationError),
        (400, -400, "BadRequestException", PermanentError),
    ],
)
async def test_happytalks_error_texts_lose_the_credentials_they_echo(
    status: int, code: int, exception: str, error: type[Exception]
) -> None:
    said = (
        f"{exception}(senderKey={SENDER_KEY}, clientSecret={SECRET}) "
        f"at https://user:pw@kakao-api.happytalk.io/v1?token=abcdef123456"
    )

    def echo(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, json={"code": code, "message": said})

    async with httpx.AsyncClient(transport=httpx.MockTransport(echo)) as http:
        dealer = HappyTalkDealer(
            client_id="cid", client_secret=SECRET, sender_key=SENDER_KEY, http=http
        )
        channel = KakaoDealerChannel(dealer=dealer, webhook_secret=WEBHOOK_SECRET)
        with pytest.raises(error) as caught:
            await channel.end_session("u1")
    text = str(caught.value)
    assert exception in text
    for secret in (SENDER_KEY, SECRET, "user:pw", "abcdef123456"):
        assert secret not in text


def test_an_answer_quoted_in_an_error_is_one_short_line() -> None:
    response = httpx.Response(400, json={"code": -1, "message": "x\n" * 10_000})
    with pytest.raises(PermanentError) as caught:
        raise_for_answer(response, action="send a message")
    assert "\n" not in str(caught.value) and len(str(caught.value)) < 400


async def test_the_install_instructions_name_the_sender_key_setting_not_its_value() -> None:
    dealer = HappyTalkDealer(client_id="cid", client_secret=SECRET, sender_key=SENDER_KEY)
    channel = KakaoDealerChannel(dealer=dealer, webhook_secret=WEBHOOK_SECRET)
    result = await channel.install("https://bridge.example.com/channels/kakao/webhook")
    assert SENDER_KEY not in result.instructions
    assert "BYOC_KAKAO_SENDER_KEY" in result.instructions


def test_the_window_comes_from_the_settings() -> None:
    env = {
        "BYOC_KAKAO_CLIENT_ID": "cid",
        "BYOC_KAKAO_CLIENT_SECRET": SECRET,
        "BYOC_KAKAO_SENDER_KEY": SENDER_KEY,
        "BYOC_KAKAO_WEBHOOK_SECRET": WEBHOOK_SECRET,
    }
    assert HappyTalkDealer.from_env(env).freshness == DEFAULT_FRESHNESS
    assert DEFAULT_FRESHNESS == FreshnessWindow(max_age=86400, max_skew=300)
    tuned = HappyTalkDealer.from_env({**env, "BYOC_KAKAO_MAX_WEBHOOK_AGE": "3600"})
    assert tuned.freshness.max_age == 3600
    with pytest.raises(ConfigurationError, match="BYOC_KAKAO_WEBHOOK_CLOCK_SKEW"):
        HappyTalkDealer.from_env({**env, "BYOC_KAKAO_WEBHOOK_CLOCK_SKEW": "-1"})


def test_a_stale_webhook_is_refused_by_the_dealer_itself() -> None:
    dealer = HappyTalkDealer(
        client_id="cid", client_secret=SECRET, sender_key=SENDER_KEY, clock=FakeClock()
    )
    body = {"user_key": "u", "serial_number": "1", "message": "hi", "time": 1_600_000_000_000}
    with pytest.raises(StaleWebhook, match="HappyTalk webhook sent at 2020-09-13T12:26:40Z"):
        dealer.parse_webhook(body, channel="kakao")


async def test_the_event_apis_answers_lose_the_rest_api_key_they_echo() -> None:
    key = "rest-api-key-0123456789abcdef"

    def echo(request: httpx.Request) -> httpx.Response:
        said = f"invalid request: Authorization: KakaoAK {key} (key={key})"
        return httpx.Response(400, json={"status": "FAIL", "message": said})

    async with httpx.AsyncClient(transport=httpx.MockTransport(echo)) as http:
        client = EventApiClient(bot_id="bot", rest_api_key=key, http=http)
        with pytest.raises(PermanentError) as caught:
            await client.talk("agent_reply", [EventUser(id="u1")])
    assert "invalid request" in str(caught.value) and key not in str(caught.value)


async def test_a_refused_callback_never_quotes_its_url() -> None:
    url = "https://bot-api.kakao.com/callback/one-time-token-0123456789"

    def echo(request: httpx.Request) -> httpx.Response:
        return httpx.Response(400, json={"status": "FAIL", "message": f"Invalid callback {url}"})

    async with httpx.AsyncClient(transport=httpx.MockTransport(echo)) as http:
        with pytest.raises(CallbackFailed) as caught:
            await post_callback(http, url, {"version": "2.0"})
    assert "Invalid callback" in str(caught.value) and "one-time-token" not in str(caught.value)
