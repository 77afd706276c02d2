"""The `kakao-chatbot` channel against the Open Builder emulator, over HTTP."""

from __future__ import annotations

import json

import httpx
import pytest

from byoc.errors import ConfigurationError, PermanentError, RetryableError, SignatureError
from byoc.models import (
    File,
    Image,
    InboundMessage,
    OutboundMessage,
    Part,
    QuickReplies,
    QuickReply,
    Text,
)
from byoc.store import MemoryStore
from byoc.testing.clock import FakeClock
from byoc.webhook import WebhookRequest
from byoc_kakao import KakaoChatbotChannel
from byoc_kakao.chatbot import DEFAULT_ACK_TEXT, DEFAULT_CALLBACK_TEXT
from byoc_kakao.testing import skill_payload

from .rig import SKILL_SECRET, ChatbotRig, client_for, make_chatbot_rig

KOREAN = "환불 문의드려요 🙏 주문번호는 2024-001 입니다 😊"


def reply(*parts: Part, message_id: str = "fc-1") -> OutboundMessage:
    return OutboundMessage(message_id=message_id, conversation_id="conv-1", parts=parts)


def inbound(rig: ChatbotRig) -> list[InboundMessage]:
    return [e for e in rig.endpoint.events if isinstance(e, InboundMessage)]


# -- inbound -----------------------------------------------------------------------------------


async def test_a_message_reaches_the_bridge_and_kakao_gets_a_callback_ack(
    chatbot: ChatbotRig,
) -> None:
    user = chatbot.emulator.user()
    exchange = await user.say(KOREAN)
    assert exchange.ok, exchange.problems
    assert exchange.response == {
        "version": "2.0",
        "useCallback": True,
        "data": {"text": DEFAULT_CALLBACK_TEXT},
    }
    [message] = inbound(chatbot)
    assert message.user_id == user.bot_user_key
    assert message.parts == (Text(text=KOREAN),)
    assert message.parts[0].text.encode() == KOREAN.encode()  # type: ignore[union-attr]
    assert [b.via for b in user.bubbles] == ["wait"]


async def test_without_callback_the_ack_is_a_simple_text(
    store: MemoryStore, clock: FakeClock
) -> None:
    rig, clients = make_chatbot_rig(store, clock, callback=False)
    user = rig.emulator.user()
    exchange = await user.say("안녕하세요")
    assert exchange.ok
    assert user.texts == [DEFAULT_ACK_TEXT]
    for client in clients:
        await client.aclose()


async def test_a_photo_arrives_as_an_image_that_can_be_fetched_until_it_expires(
    chatbot: ChatbotRig,
) -> None:
    user = chatbot.emulator.user()
    await user.send_photo(b"jpeg!")
    [message] = inbound(chatbot)
    [photo] = message.parts
    assert isinstance(photo, Image) and "signature=" in photo.url
    async with client_for(chatbot.emulator.app, chatbot.emulator.base_url) as http:
        assert (await http.get(photo.url)).content == b"jpeg!"
        await chatbot.clock.advance(3601)
        assert (await http.get(photo.url)).status_code == 403


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        ("", {}),
        ("wrong-secret-0123456789abcdefghij", {}),
        ("", {"X-Skill-Secret": "wrong"}),
    ],
)
async def test_a_missing_or_wrong_skill_secret_is_401(
    chatbot: ChatbotRig, path: str, headers: dict[str, str]
) -> None:
    chatbot.emulator.skill_url = f"http://bridge.test/channels/kakao-chatbot/webhook/{path}"
    chatbot.emulator.skill_headers = headers
    exchange = await chatbot.emulator.user().say("hi")
    assert exchange.status == 401
    assert chatbot.endpoint.events == []


async def test_the_secret_may_come_as_a_header(chatbot: ChatbotRig) -> None:
    chatbot.emulator.skill_url = "http://bridge.test/channels/kakao-chatbot/webhook"
    chatbot.emulator.skill_headers = {"X-Skill-Secret": SKILL_SECRET}
    assert (await chatbot.emulator.user().say("hi")).ok


async def test_parse_raises_signature_error_on_a_wrong_secret() -> None:
    channel = KakaoChatbotChannel(bot_id="b", rest_api_key="k", skill_secret=SKILL_SECRET)
    body = json.dumps({"userRequest": {"user": {"id": "u"}, "utterance": "hi"}}).encode()
    for request in (
        WebhookRequest(body=body),
        WebhookRequest(body=body, subpath=SKILL_SECRET + "x"),
        WebhookRequest(body=body, headers={"X-Skill-Secret": SKILL_SECRET.upper()}),
    ):
        with pytest.raises(SignatureError):
            await channel.parse(request)
    await channel.aclose()


async def test_turning_authentication_off_is_explicit_and_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    channel = KakaoChatbotChannel(bot_id="b", rest_api_key="k", skill_secret=None)
    assert "NOT authenticated" in caplog.text
    body = json.dumps({"userRequest": {"user": {"id": "u"}, "utterance": "hi"}}).encode()
    assert len(await channel.parse(WebhookRequest(body=body))) == 1
    await channel.aclose()


async def test_bad_bodies_are_400(chatbot: ChatbotRig) -> None:
    async with client_for(chatbot.endpoint, "http://bridge.test") as http:
        url = f"/channels/kakao-chatbot/webhook/{SKILL_SECRET}"
        for body in (b"", b"{}", b"[]", b'{"userRequest": {"user": {}}}', b"[" * 100_000):
            assert (await http.post(url, content=body)).status_code == 400


# -- outbound: callback, then Event API --------------------------------------------------------


async def test_the_callback_is_used_once_then_the_event_api(chatbot: ChatbotRig) -> None:
    user = chatbot.emulator.user()
    await user.say("배송 언제 오나요?")
    await chatbot.clock.advance(20)

    first = await chatbot.channel.send(user.bot_user_key, reply(Text(text="내일 도착합니다 🚚")))
    assert [b.via for b in user.bubbles] == ["wait", "callback"]
    assert user.texts[-1] == "내일 도착합니다 🚚"
    assert chatbot.emulator.event_calls == []

    second = await chatbot.channel.send(
        user.bot_user_key, reply(Text(text="추가로 안내드립니다"), message_id="fc-2")
    )
    assert len(chatbot.emulator.event_calls) == 1
    await chatbot.emulator.drain()
    assert [b.via for b in user.bubbles] == ["wait", "callback", "event"]
    assert user.texts[-1] == "추가로 안내드립니다"
    assert first.message_ids != second.message_ids
    status = await chatbot.channel.task_status(second.message_ids[0])
    assert status.succeeded and status.success_count == 1


async def test_a_tapped_quick_reply_reaches_the_bridge_with_its_payload(
    chatbot: ChatbotRig,
) -> None:
    user = chatbot.emulator.user()
    await user.say("배송 문의")
    choices = QuickReplies(
        text="무엇을 도와드릴까요?",
        replies=[QuickReply(label="배송 조회", payload="SHIP"), QuickReply(label="기타")],
    )
    await chatbot.channel.send(user.bot_user_key, reply(choices))  # by callback
    assert [q["label"] for q in user.quick_replies] == ["배송 조회", "기타"]
    exchange = await user.tap("배송 조회")
    assert exchange.ok, exchange.problems
    tapped = inbound(chatbot)[-1]
    assert tapped.parts == (Text(text="배송 조회", reply_payload="SHIP"),)

    # A reply without quick replies replaces them: typing the label again is just text.
    await chatbot.channel.send(user.bot_user_key, reply(Text(text="확인했습니다"), message_id="2"))
    await chatbot.emulator.drain()
    await user.say("배송 조회")
    assert inbound(chatbot)[-1].parts == (Text(text="배송 조회"),)
    with pytest.raises(LookupError, match="기타"):
        await user.tap("기타")


async def test_the_callback_expires_after_60_seconds(chatbot: ChatbotRig) -> None:
    user = chatbot.emulator.user()
    await user.say("여보세요")
    await chatbot.clock.advance(61)
    await chatbot.channel.send(user.bot_user_key, reply(Text(text="늦은 답변")))
    await chatbot.emulator.drain()
    assert [b.via for b in user.bubbles] == ["wait", "event"]


async def test_the_callback_is_not_used_near_its_deadline(chatbot: ChatbotRig) -> None:
    user = chatbot.emulator.user()
    await user.say("여보세요")
    await chatbot.clock.advance(56)  # valid for Kakao 4 s longer, but a POST could arrive too late
    await chatbot.channel.send(user.bot_user_key, reply(Text(text="답변")))
    await chatbot.emulator.drain()
    assert [b.via for b in user.bubbles] == ["wait", "event"]


async def test_a_refused_callback_falls_back_to_the_event_api(chatbot: ChatbotRig) -> None:
    user = chatbot.emulator.user()
    exchange = await user.say("여보세요")
    async with client_for(chatbot.emulator.app, chatbot.emulator.base_url) as http:
        assert exchange.callback_url is not None
        used = await http.post(
            exchange.callback_url,
            json={"version": "2.0", "template": {"outputs": [{"simpleText": {"text": "x"}}]}},
        )
        assert used.json()["status"] == "SUCCESS"
    await chatbot.channel.send(user.bot_user_key, reply(Text(text="답변")))
    await chatbot.emulator.drain()
    assert [b.via for b in user.bubbles] == ["wait", "callback", "event"]
    assert user.texts[-1] == "답변"


async def test_a_lost_event_call_does_not_delay_later_replies(chatbot: ChatbotRig) -> None:
    user = chatbot.emulator.user()
    await user.say("첫 질문")
    await chatbot.clock.advance(120)
    skill_url = chatbot.emulator.skill_url
    chatbot.emulator.skill_url = "http://bridge.test/down"  # the bridge misses the event call
    lost = await chatbot.channel.send(user.bot_user_key, reply(Text(text="첫 답변")))
    await chatbot.emulator.drain()
    assert not (await chatbot.channel.task_status(lost.message_ids[0])).succeeded

    chatbot.emulator.skill_url = skill_url
    await user.say("두 번째 질문")
    # A page queued moments ago may still be in flight: the callback must not overtake it.
    await chatbot.channel.send(
        user.bot_user_key, reply(Text(text="두 번째 답변"), message_id="fc-2")
    )
    await chatbot.emulator.drain()
    assert user.texts[-1] == "두 번째 답변"
    assert "callback" not in [b.via for b in user.bubbles]

    await chatbot.clock.advance(61)
    await user.say("세 번째 질문")
    await chatbot.channel.send(
        user.bot_user_key, reply(Text(text="세 번째 답변"), message_id="fc-3")
    )
    assert [b.via for b in user.bubbles][-1] == "callback"
    assert user.texts[-1] == "세 번째 답변"
    await chatbot.clock.advance(3600)
    assert await chatbot.channel.pending_replies(user.bot_user_key) == 0


async def test_a_long_reply_arrives_in_order_over_several_event_calls(chatbot: ChatbotRig) -> None:
    user = chatbot.emulator.user()
    await user.say("자세히 알려주세요")
    await chatbot.clock.advance(120)
    text = "".join(f"{n}번째 문단입니다. " + "가나다라 " * 190 + "\n" for n in range(8))
    result = await chatbot.channel.send(
        user.bot_user_key,
        reply(
            Text(text=text),
            QuickReplies(replies=[QuickReply(label=f"선택 {n}") for n in range(12)]),
        ),
    )
    await chatbot.emulator.drain()
    event_bubbles = [b for b in user.bubbles if b.via == "event"]
    assert len(result.message_ids) == len(chatbot.emulator.event_calls) == 3
    assert "".join(b.text or "" for b in event_bubbles) == text
    assert len(event_bubbles[-1].quick_replies) == 10
    assert any("quick replies" in n for n in result.notes)
    assert await chatbot.channel.pending_replies(user.bot_user_key) == 0


async def test_event_calls_carry_the_page_id_and_return_nothing_when_the_queue_is_empty(
    chatbot: ChatbotRig,
) -> None:
    user = chatbot.emulator.user()
    await user.say("hi")
    await chatbot.clock.advance(120)
    await chatbot.channel.send(user.bot_user_key, reply(Text(text="답변")))
    [call] = chatbot.emulator.event_calls
    assert call["event"] == {"name": "agent_reply", "data": {"text": "답변"}}
    assert call["user"] == [{"type": "botUserKey", "id": user.bot_user_key}]
    assert set(call["params"]) == {"byoc_page"}
    await chatbot.emulator.drain()

    # The event block fetches again (a duplicate run): nothing queued, nothing shown.
    payload = skill_payload(
        bot=chatbot.emulator.bot,
        user=user,
        utterance="",
        block=chatbot.emulator.event_blocks["agent_reply"],
        params=call["params"],
    )
    request = WebhookRequest(body=json.dumps(payload).encode(), subpath=SKILL_SECRET)
    assert await chatbot.channel.parse(request) == []
    answer = await chatbot.channel.ack(request, [])
    assert json.loads(answer.body) == {"version": "2.0", "template": {"outputs": []}}


async def test_the_event_block_is_recognised_by_its_id_when_params_do_not_arrive(
    store: MemoryStore, clock: FakeClock
) -> None:
    rig, clients = make_chatbot_rig(store, clock)
    block = rig.emulator.event_blocks["agent_reply"]
    channel = KakaoChatbotChannel(
        bot_id="b", rest_api_key="k", skill_secret=SKILL_SECRET, event_block_id=block["id"]
    )
    channel.bind(store)
    user = rig.emulator.user()
    payload = skill_payload(bot=rig.emulator.bot, user=user, utterance="이벤트", block=block)
    request = WebhookRequest(body=json.dumps(payload).encode(), subpath=SKILL_SECRET)
    assert await channel.parse(request) == []
    for client in clients:
        await client.aclose()
    await channel.aclose()


async def test_a_retry_after_a_failed_event_call_sends_only_the_rest(chatbot: ChatbotRig) -> None:
    user = chatbot.emulator.user()
    await user.say("hi")
    await chatbot.clock.advance(120)
    message = reply(Text(text="가" * 1000 + "나" * 1000 + "다" * 1000 + "라" * 10))
    chatbot.emulator.event_blocks.pop("agent_reply")  # the block is missing for now
    with pytest.raises(ConfigurationError, match="BYOC_KAKAO_EVENT_NAME"):
        await chatbot.channel.send(user.bot_user_key, message)
    assert await chatbot.channel.pending_replies(user.bot_user_key) == 0
    chatbot.emulator.event_blocks["agent_reply"] = {"id": "e1", "name": "agent_reply 블록"}
    result = await chatbot.channel.send(user.bot_user_key, message)
    await chatbot.emulator.drain()
    assert len(result.message_ids) == 2
    assert "".join(user.texts[1:]) == message.parts[0].text  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("key", "bot", "error", "named"),
    [
        ("wrong-key", None, ConfigurationError, "BYOC_KAKAO_REST_API_KEY"),
        (None, "000000000000000000000000", ConfigurationError, "BYOC_KAKAO_BOT_ID"),
    ],
)
async def test_event_api_refusals_name_the_setting(
    chatbot: ChatbotRig, key: str | None, bot: str | None, error: type[Exception], named: str
) -> None:
    async with client_for(chatbot.emulator.app, chatbot.emulator.base_url) as http:
        channel = KakaoChatbotChannel(
            bot_id=bot or chatbot.emulator.bot_id,
            rest_api_key=key or chatbot.emulator.rest_api_key,
            skill_secret=SKILL_SECRET,
            event_api_url=chatbot.emulator.base_url,
            http=http,
        )
        channel.bind(chatbot.store)
        with pytest.raises(error, match=named):
            await channel.send("someone", reply(Text(text="hi")))


async def test_event_api_outages_are_retryable_and_refusals_permanent(store: MemoryStore) -> None:
    answers = iter(
        [
            httpx.Response(503),
            httpx.Response(400, json={"status": "FAIL", "message": "user limit exceeded"}),
            httpx.Response(200, json={"status": "FAIL", "message": "wallet is empty"}),
        ]
    )
    async with httpx.AsyncClient(transport=httpx.MockTransport(lambda r: next(answers))) as http:
        channel = KakaoChatbotChannel(
            bot_id="b", rest_api_key="k", skill_secret=SKILL_SECRET, http=http
        )
        channel.bind(store)
        with pytest.raises(RetryableError):
            await channel.send("u", reply(Text(text="a")))
        with pytest.raises(PermanentError):
            await channel.send("u", reply(Text(text="a")))
        with pytest.raises(PermanentError):
            await channel.send("u", reply(Text(text="a")))


async def test_the_event_api_request_is_the_documented_one(store: MemoryStore) -> None:
    seen: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"taskId": "t-1", "status": "SUCCESS", "timestamp": 1})

    async with httpx.AsyncClient(transport=httpx.MockTransport(record)) as http:
        channel = KakaoChatbotChannel(
            bot_id="667e091c!", rest_api_key="rest", skill_secret=SKILL_SECRET, http=http
        )
        channel.bind(store)
        result = await channel.send("bot-user-1", reply(Text(text=KOREAN)))
    [request] = seen
    assert str(request.url) == "https://bot-api.kakao.com/v2/bots/667e091c!/talk"
    assert request.headers["Authorization"] == "KakaoAK rest"
    body = json.loads(request.content)
    assert body["event"] == {"name": "agent_reply", "data": {"text": KOREAN}}
    assert body["user"] == [{"type": "botUserKey", "id": "bot-user-1"}]
    assert result.message_ids == ("t-1",)


async def test_images_and_files_reach_the_user_as_kakao_components(chatbot: ChatbotRig) -> None:
    user = chatbot.emulator.user()
    await user.say("사진 보내주세요")
    await chatbot.clock.advance(120)
    await chatbot.channel.send(
        user.bot_user_key,
        reply(
            Image(url="https://cdn.example.com/receipt.png", caption="영수증"),
            File(url="https://cdn.example.com/guide.pdf", name="이용안내.pdf"),
        ),
    )
    await chatbot.emulator.drain()
    image, caption, card = [b.output for b in user.bubbles if b.via == "event"]
    assert image == {
        "simpleImage": {"imageUrl": "https://cdn.example.com/receipt.png", "altText": "영수증"}
    }
    assert caption == {"simpleText": {"text": "영수증"}}
    assert card["textCard"]["title"] == "이용안내.pdf"
    assert card["textCard"]["buttons"][0]["webLinkUrl"] == "https://cdn.example.com/guide.pdf"


async def test_queued_replies_expire_instead_of_arriving_out_of_context(
    chatbot: ChatbotRig,
) -> None:
    user = chatbot.emulator.user()
    await user.say("hi")
    chatbot.emulator.skill_url = "http://bridge.test/down"  # the event's skill call fails
    await chatbot.clock.advance(120)
    await chatbot.channel.send(user.bot_user_key, reply(Text(text="어제 답변")))
    await chatbot.emulator.drain()
    assert await chatbot.channel.pending_replies(user.bot_user_key) == 1
    await chatbot.clock.advance(3600)
    assert await chatbot.channel.pending_replies(user.bot_user_key) == 0


async def test_task_status_reports_failures(chatbot: ChatbotRig) -> None:
    await chatbot.clock.advance(1)
    result = await chatbot.channel.send("unknown-user", reply(Text(text="hi")))
    await chatbot.emulator.drain()
    status = await chatbot.channel.task_status(result.message_ids[0])
    assert status.finished and not status.succeeded
    assert status.user_key_resolving_fail_count == 1 and status.fail_count == 1


async def test_an_untrusted_callback_host_is_never_called(chatbot: ChatbotRig) -> None:
    chatbot.channel.callback_origins = ()
    user = chatbot.emulator.user()
    exchange = await user.say("hi")
    assert exchange.response["template"]["outputs"][0]["simpleText"]["text"] == DEFAULT_ACK_TEXT
    await chatbot.channel.send(user.bot_user_key, reply(Text(text="답변")))
    await chatbot.emulator.drain()
    assert [b.via for b in user.bubbles] == ["skill", "event"]


async def test_send_needs_the_store() -> None:
    channel = KakaoChatbotChannel(bot_id="b", rest_api_key="k", skill_secret=SKILL_SECRET)
    with pytest.raises(ConfigurationError, match="bind"):
        await channel.send("u", reply(Text(text="hi")))
    await channel.aclose()


# -- install and settings ----------------------------------------------------------------------


async def test_install_gives_the_skill_url(chatbot: ChatbotRig) -> None:
    result = await chatbot.channel.install(
        "https://bridge.example.com/channels/kakao-chatbot/webhook"
    )
    assert result.target_url.endswith(f"/webhook/{SKILL_SECRET}")
    assert result.registered is False
    assert "agent_reply" in result.instructions and "스킬" in result.instructions


def test_from_env() -> None:
    channel = KakaoChatbotChannel.from_env(
        {
            "BYOC_KAKAO_BOT_ID": "667e",
            "BYOC_KAKAO_REST_API_KEY": "rest",
            "BYOC_KAKAO_SKILL_SECRET": SKILL_SECRET,
            "BYOC_KAKAO_EVENT_NAME": "reply",
            "BYOC_KAKAO_CALLBACK_ORIGINS": "http://127.0.0.1:8092",
        }
    )
    assert channel.event_name == "reply"
    assert channel.events.base_url == "https://bot-api.kakao.com"
    assert channel.callback_origins[0].port == 8092


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({}, "BYOC_KAKAO_BOT_ID"),
        ({"BYOC_KAKAO_BOT_ID": "b"}, "BYOC_KAKAO_REST_API_KEY"),
        ({"BYOC_KAKAO_BOT_ID": "b", "BYOC_KAKAO_REST_API_KEY": "k"}, "BYOC_KAKAO_SKILL_SECRET"),
        (
            {
                "BYOC_KAKAO_BOT_ID": "b",
                "BYOC_KAKAO_REST_API_KEY": "k",
                "BYOC_KAKAO_SKILL_SECRET": "x",
            },
            "BYOC_KAKAO_SKILL_SECRET",
        ),
        (
            {
                "BYOC_KAKAO_BOT_ID": "b",
                "BYOC_KAKAO_REST_API_KEY": "k",
                "BYOC_KAKAO_SKILL_SECRET": SKILL_SECRET,
                "BYOC_KAKAO_MEDIA_ORIGINS": "kakaocdn.net",
            },
            "BYOC_KAKAO_MEDIA_ORIGINS",
        ),
    ],
)
def test_from_env_names_the_setting_to_fix(env: dict[str, str], named: str) -> None:
    with pytest.raises(ConfigurationError, match=named):
        KakaoChatbotChannel.from_env(env)
