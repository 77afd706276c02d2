"""The emulators enforce what the real services enforce."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from byoc.testing.clock import FakeClock
from byoc_kakao.testing import HappyTalkEmulator, OpenBuilderEmulator, write_problem
from byoc_kakao.testing.openbuilder import INVALID_TOKEN

from .rig import ChatbotRig, client_for

GOOD = {
    "user_key": "c0eUY5TATGz1",
    "sender_key": "3fd538ef7218a14a63e51ba47e83c76e1ff5ab62",
    "serial_number": "s-1",
    "message_type": "TX",
    "message": "안녕하세요",
}
AUTH = {"HT-Client-Id": "test-client-id", "HT-Client-Secret": "test-client-secret"}


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"user_key": "x" * 21}, "user_key"),
        ({"sender_key": "x" * 41}, "sender_key"),
        ({"serial_number": "x" * 31}, "serial_number"),
        ({"message_type": "XX"}, "message_type"),
        ({"message": "가" * 1001}, "message"),
        ({"message": "😀" * 501}, "message"),
        ({"message_type": "IM", "message": None}, "image_url"),
        ({"message_type": "FI", "file_url": "https://x", "file_name": "a"}, "file_size"),
        ({"message_type": "FI", "file_url": "https://x", "file_size": 1}, "file_name"),
    ],
)
def test_write_limits(change: dict[str, Any], problem: str) -> None:
    body = {k: v for k, v in {**GOOD, **change}.items() if v is not None}
    assert problem in (write_problem(body) or "")
    assert write_problem(GOOD) is None


async def test_happytalk_checks_credentials_limits_senders_and_unique_serials() -> None:
    emulator = HappyTalkEmulator()
    async with client_for(emulator.app, "http://happytalk.test") as http:
        assert (await http.post("/v1/chat/write", json=GOOD)).status_code == 401
        wrong = {**AUTH, "HT-Client-Secret": "nope"}
        assert (await http.post("/v1/chat/write", json=GOOD, headers=wrong)).status_code == 401
        too_long = {**GOOD, "message": "가" * 1001}
        answer = await http.post("/v1/chat/write", json=too_long, headers=AUTH)
        assert answer.status_code == 400 and answer.json()["code"] == -400
        other = {**GOOD, "sender_key": "someone-else"}
        answer = await http.post("/v1/chat/write", json=other, headers=AUTH)
        assert answer.json()["code"] == -501
        assert (await http.post("/v1/chat/write", json=GOOD, headers=AUTH)).json() == {"code": 0}
        again = await http.post("/v1/chat/write", json=GOOD, headers=AUTH)
        assert again.status_code == 400 and "duplicate" in again.json()["message"]
    assert [m.message for m in emulator.sent] == ["안녕하세요"]


async def test_happytalk_sends_only_media_uploaded_to_kakao() -> None:
    emulator = HappyTalkEmulator()
    sender = {"sender_key": GOOD["sender_key"]}
    jpeg = b"\xff\xd8\xff\xe0 photo"
    async with client_for(emulator.app, "http://happytalk.test") as http:
        image = "/kakaoWebhook/v3/bzc/image/upload"
        files = {"image": ("a.jpg", jpeg, "image/jpeg")}
        assert (await http.post(image, data=sender, files=files)).status_code == 401
        refused = await http.post(image, data={"sender_key": "x"}, files=files, headers=AUTH)
        assert refused.json()["code"] == -501
        not_a_picture = {"image": ("a.jpg", b"text", "image/jpeg")}
        answer = await http.post(image, data=sender, files=not_a_picture, headers=AUTH)
        assert answer.json() == {"code": "-505", "message": "InvalidImageSizeException"}
        missing = await http.post(image, data=sender, files={"file": files["image"]}, headers=AUTH)
        assert missing.status_code == 400
        stored = (await http.post(image, data=sender, files=files, headers=AUTH)).json()
        assert stored["code"] == "0000" and (await http.get(stored["image"])).content == jpeg

        uploaded_file = await http.post(
            "/kakaoWebhook/v3/bzc/file/upload",
            data={**sender, "file_type": "file"},
            files={"file": ("a.pdf", b"%PDF", "application/pdf")},
            headers=AUTH,
        )
        stored_file = uploaded_file.json()
        assert (stored_file["code"], stored_file["name"], stored_file["size"]) == (
            "0000",
            "a.pdf",
            4,
        )

        elsewhere = {**GOOD, "message_type": "IM", "image_url": "https://cdn.example.com/a.jpg"}
        answer = await http.post("/v1/chat/write", json=elsewhere, headers=AUTH)
        assert answer.status_code == 400 and "uploaded to Kakao" in answer.json()["message"]
        wrong_size = {
            **GOOD,
            "serial_number": "s-2",
            "message_type": "FI",
            "file_url": stored_file["file"],
            "file_name": "a.pdf",
            "file_size": 5,
        }
        answer = await http.post("/v1/chat/write", json=wrong_size, headers=AUTH)
        assert answer.status_code == 400 and "size" in answer.json()["message"]
        good = {**GOOD, "serial_number": "s-3", "message_type": "IM", "image_url": stored["image"]}
        assert (await http.post("/v1/chat/write", json=good, headers=AUTH)).json() == {"code": 0}
    assert [m.image_url for m in emulator.sent] == [stored["image"]]
    assert [u.kind for u in emulator.uploads.values()] == ["image", "file"]


async def test_happytalk_webhooks_need_a_url() -> None:
    emulator = HappyTalkEmulator()
    emulator.user().send_text("hi")
    with pytest.raises(RuntimeError, match="webhook_url"):
        await emulator.drain()


async def test_callback_urls_are_one_use(chatbot: ChatbotRig) -> None:
    exchange = await chatbot.emulator.user().say("hi")
    assert exchange.callback_url is not None
    body = {"version": "2.0", "template": {"outputs": [{"simpleText": {"text": "답"}}]}}
    async with client_for(chatbot.emulator.app, chatbot.emulator.base_url) as http:
        first = await http.post(exchange.callback_url, json=body)
        second = await http.post(exchange.callback_url, json=body)
    assert first.json()["status"] == "SUCCESS" and first.json()["taskId"]
    assert second.json() | {"taskId": "", "timestamp": 0} == {
        "taskId": "",
        "status": "FAIL",
        "message": INVALID_TOKEN,
        "timestamp": 0,
    }
    assert second.status_code == 400
    token = exchange.callback_url.rsplit("/", 1)[-1]
    assert chatbot.emulator.callback_posts == [(token, "SUCCESS"), (token, "FAIL")]


async def test_callback_urls_expire_after_60_seconds(chatbot: ChatbotRig) -> None:
    exchange = await chatbot.emulator.user().say("hi")
    assert exchange.callback_url is not None
    await chatbot.clock.advance(60.5)
    body = {"version": "2.0", "template": {"outputs": [{"simpleText": {"text": "답"}}]}}
    async with client_for(chatbot.emulator.app, chatbot.emulator.base_url) as http:
        late = await http.post(exchange.callback_url, json=body)
    assert late.json()["message"] == INVALID_TOKEN


async def test_callbacks_with_an_invalid_response_fail(chatbot: ChatbotRig) -> None:
    exchange = await chatbot.emulator.user().say("hi")
    assert exchange.callback_url is not None
    bad = {"version": "2.0", "template": {"outputs": [{"simpleText": {"text": "가" * 1001}}]}}
    async with client_for(chatbot.emulator.app, chatbot.emulator.base_url) as http:
        answer = await http.post(exchange.callback_url, json=bad)
    assert answer.json()["status"] == "FAIL"


def talk(users: list[dict[str, Any]], name: str = "agent_reply") -> dict[str, Any]:
    return {"event": {"name": name}, "user": users}


async def test_the_event_api_checks_key_bot_event_and_users(clock: FakeClock) -> None:
    emulator = OpenBuilderEmulator(clock=clock)
    known = emulator.user()
    path = f"/v2/bots/{emulator.bot_id}/talk"
    key = {"Authorization": "KakaoAK test-rest-api-key"}
    one = [{"type": "botUserKey", "id": known.bot_user_key}]
    async with client_for(emulator.app, emulator.base_url) as http:
        bad_key = await http.post(path, json=talk(one), headers={"Authorization": "KakaoAK x"})
        assert bad_key.status_code == 401
        bad_bot = await http.post("/v2/bots/nope/talk", json=talk(one), headers=key)
        assert "Invalid bot ID" in bad_bot.json()["message"]
        unknown_event = await http.post(path, json=talk(one, "nope"), headers=key)
        assert unknown_event.status_code == 400
        many = [{"type": "botUserKey", "id": f"u{n}"} for n in range(101)]
        assert (await http.post(path, json=talk(many), headers=key)).status_code == 400
        assert (await http.post(path, json=talk(one + one), headers=key)).status_code == 400
        odd_type = [{"type": "phone", "id": "010"}]
        assert (await http.post(path, json=talk(odd_type), headers=key)).status_code == 400
        dev = await http.post(f"/v2/bots/{emulator.bot_id}!/talk", json=talk(one), headers=key)
        assert dev.json()["status"] == "SUCCESS"
        no_auth = await http.post(path, json=talk(one))
        assert no_auth.json()["status"] == "SUCCESS"


async def answer_500(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 500, "headers": []})
    await send({"type": "http.response.body", "body": b""})


async def test_task_results_report_unknown_users_and_failing_skills(clock: FakeClock) -> None:
    emulator = OpenBuilderEmulator(clock=clock, skill_url="http://bridge.test/skill")
    emulator.http = client_for(answer_500)
    known = emulator.user()
    users = [
        {"type": "botUserKey", "id": known.bot_user_key},
        {"type": "plusfriendUserKey", "id": "never-seen"},
    ]
    async with client_for(emulator.app, emulator.base_url) as http:
        accepted = await http.post(f"/v2/bots/{emulator.bot_id}/talk", json=talk(users))
        task_id = accepted.json()["taskId"]
        await emulator.drain()
        result = (await http.get(f"/v1/tasks/{task_id}")).json()
        assert (await http.get(f"/v2/tasks/{task_id}")).json() == result
        assert (await http.get("/v1/tasks/missing")).status_code == 404
    assert result["status"] == "2 FAIL"
    assert result["userKeyResolvingFailCount"] == 1
    [failure] = result["fail"]["list"]
    assert failure["userId"] == known.bot_user_key
    assert failure["errorMsg"]["errorType"] == 201
    await emulator.http.aclose()


async def test_the_skill_timeout_is_enforced(clock: FakeClock) -> None:
    never = asyncio.Event()

    async def stuck_skill(scope: Any, receive: Any, send: Any) -> None:
        await never.wait()

    emulator = OpenBuilderEmulator(
        clock=clock, skill_url="http://bridge.test/skill", skill_timeout=0.05
    )
    emulator.http = client_for(stuck_skill)
    user = emulator.user()
    exchange = await user.say("hi")
    assert exchange.status is None and "did not answer" in exchange.problems[0]
    assert [b.via for b in user.bubbles] == ["error"]
    await emulator.http.aclose()


async def test_a_media_link_with_a_forged_signature_is_403_not_a_crash(clock: FakeClock) -> None:
    emulator = HappyTalkEmulator(clock=clock)
    url = emulator.media.put(b"jpeg", name="a.jpg", content_type="image/jpeg")
    async with client_for(emulator.app, emulator.base_url) as http:
        assert (await http.get(url)).content == b"jpeg"
        for forged in (url + "\u0080", url.replace("signature=", "signature=가"), url + "0"):
            assert (await http.get(forged)).status_code == 403
