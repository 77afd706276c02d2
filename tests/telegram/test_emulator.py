"""The Telegram emulator speaks the Bot API's wire format: envelopes, errors, retries, files,
and the control endpoints a test in another process drives it with."""

from __future__ import annotations

import base64
from typing import Any

import httpx
import pytest

from byoc import OutboundMessage, QuickReplies, QuickReply
from byoc_telegram import SECRET_HEADER

from .conftest import SECRET, WEBHOOK_URL, World

API = "http://telegram.test"


def bot(world: World, method: str) -> str:
    return f"{API}/bot{world.emulator.token}/{method}"


async def test_a_wrong_token_and_an_unknown_method_answer_telegrams_envelopes(
    world: World, http: httpx.AsyncClient
) -> None:
    wrong = await http.post(f"{API}/bot123:wrong/getMe")
    assert (wrong.status_code, wrong.json()) == (
        401,
        {"ok": False, "error_code": 401, "description": "Unauthorized"},
    )
    unknown = await http.post(bot(world, "sendDice"))
    assert (unknown.status_code, unknown.json()["description"]) == (404, "Not Found")
    me = await http.get(bot(world, "GETME"))  # methods are case-insensitive
    assert me.json()["ok"] is True and me.json()["result"]["is_bot"] is True


@pytest.mark.parametrize(
    ("params", "status", "description"),
    [
        ({"chat_id": 42, "text": "hi"}, 400, "Bad Request: chat not found"),
        ({"text": "hi"}, 400, "Bad Request: chat not found"),
        ({"chat_id": "USER", "text": " "}, 400, "Bad Request: message text is empty"),
        ({"chat_id": "USER", "text": "x" * 4097}, 400, "Bad Request: message is too long"),
        (
            {
                "chat_id": "USER",
                "text": "x",
                "reply_markup": {"inline_keyboard": [[{"text": "a"}]]},
            },
            400,
            "Bad Request: can't parse inline keyboard button: Text buttons are unallowed in the "
            "inline keyboard",
        ),
        (
            {
                "chat_id": "USER",
                "text": "x",
                "reply_markup": {"inline_keyboard": [[{"text": "a", "callback_data": "d" * 65}]]},
            },
            400,
            "Bad Request: BUTTON_DATA_INVALID",
        ),
    ],
)
async def test_sends_are_checked_as_telegram_checks_them(
    world: World, http: httpx.AsyncClient, params: dict[str, Any], status: int, description: str
) -> None:
    user = world.emulator.user("Alice")
    if params.get("chat_id") == "USER":
        params = {**params, "chat_id": user.id}
    answer = await http.post(bot(world, "sendMessage"), json=params)
    assert (answer.status_code, answer.json()["description"]) == (status, description)


async def test_parameters_come_as_a_form_or_in_the_query_string(
    world: World, http: httpx.AsyncClient
) -> None:
    user = world.emulator.user("Alice")
    await http.post(bot(world, "sendMessage"), data={"chat_id": str(user.id), "text": "form"})
    await http.get(bot(world, "sendMessage"), params={"chat_id": user.id, "text": "query"})
    assert [m.text for m in world.emulator.sent_to(user.id)] == ["form", "query"]


async def test_documents_by_url_are_only_gif_pdf_or_zip(
    world: World, http: httpx.AsyncClient
) -> None:
    user = world.emulator.user("Alice")
    pdf, docx = world.cdn.put("a.pdf", b"%PDF-1.4"), world.cdn.put("a.docx", b"PK\x03\x04")
    ok = await http.post(bot(world, "sendDocument"), json={"chat_id": user.id, "document": pdf})
    assert ok.json()["result"]["document"]["file_name"] == "a.pdf"
    refused = await http.post(
        bot(world, "sendDocument"), json={"chat_id": user.id, "document": docx}
    )
    assert refused.json()["description"] == "Bad Request: wrong type of the web page content"


async def test_updates_carry_the_secret_and_are_retried_until_answered(
    world: World, http: httpx.AsyncClient
) -> None:
    world.endpoint.fail_next = [503, 503]
    alice = world.emulator.user("Alice")
    await world.emulator.send_text(alice, "hello")
    await world.emulator.drain()
    (delivery,) = world.emulator.deliveries
    assert delivery.attempts == [503, 503, 200] and delivery.delivered
    assert all(r.header(SECRET_HEADER) == SECRET for r in world.endpoint.requests)
    info = (await http.get(bot(world, "getWebhookInfo"))).json()["result"]
    assert info["url"] == WEBHOOK_URL and info["pending_update_count"] == 0
    assert info["last_error_message"] == "Wrong response from the webhook: 503 Service Unavailable"
    # The second attempt failed 1 s after the first; the third, 5 s later, was answered.
    assert info["last_error_date"] == int(world.clock.time()) - 5


async def test_updates_wait_for_a_webhook_for_a_day_then_are_dropped(
    world: World, http: httpx.AsyncClient
) -> None:
    await world.channel.uninstall()
    alice = world.emulator.user("Alice")
    await world.emulator.send_text(alice, "yesterday")
    await world.clock.advance(12 * 3600)
    await world.emulator.send_text(alice, "this morning")
    info = (await http.get(bot(world, "getWebhookInfo"))).json()["result"]
    assert (info["url"], info["pending_update_count"]) == ("", 2)
    await world.clock.advance(12 * 3600 + 1)
    info = (await http.get(bot(world, "getWebhookInfo"))).json()["result"]
    assert info["pending_update_count"] == 1
    await world.channel.install(WEBHOOK_URL)
    await world.emulator.drain()
    assert [e.parts[0].text for e in world.endpoint.events] == ["this morning"]


async def test_files_are_served_to_the_bots_token_only(
    world: World, http: httpx.AsyncClient
) -> None:
    stored = world.emulator.host_file(b"secret bytes", "documents", "a.txt", "text/plain")
    ok = await http.get(f"{API}/file/bot{world.emulator.token}/{stored.file_path}")
    assert ok.content == b"secret bytes"
    wrong = await http.get(f"{API}/file/bot123:other/{stored.file_path}")
    assert wrong.status_code == 404


async def test_faults_answer_telegrams_error_bodies(world: World, http: httpx.AsyncClient) -> None:
    user = world.emulator.user("Alice")
    world.emulator.fail_next("sendMessage", 429, retry_after=5)
    throttled = await http.post(bot(world, "sendMessage"), json={"chat_id": user.id, "text": "x"})
    assert throttled.status_code == 429
    assert throttled.json() == {
        "ok": False,
        "error_code": 429,
        "description": "Too Many Requests: retry after 5",
        "parameters": {"retry_after": 5},
    }
    world.emulator.fail_next("sendMessage", 502, "Bad Gateway")
    down = await http.post(bot(world, "sendMessage"), json={"chat_id": user.id, "text": "x"})
    assert (down.status_code, down.headers["content-type"]) == (502, "text/html")


async def test_the_control_endpoints_play_a_user(world: World, http: httpx.AsyncClient) -> None:
    control = f"{API}/_emulator"
    made = await http.post(f"{control}/users", json={"first_name": "민준", "language_code": "ko"})
    assert made.status_code == 201
    user_id = made.json()["id"]
    text = await http.post(f"{control}/send", json={"user_id": user_id, "text": "안녕"})
    photo = base64.b64encode(b"\xff\xd8\xff").decode()
    await http.post(
        f"{control}/send", json={"user_id": user_id, "kind": "photo", "data_base64": photo}
    )
    place = {"location": {"latitude": 1.5, "longitude": 2.5}}
    await http.post(f"{control}/send", json={"user_id": user_id, "message": place})
    await http.post(f"{control}/redeliver", json={"update_id": text.json()["update_id"]})
    await http.post(f"{control}/drain")
    deliveries = (await http.get(f"{control}/deliveries")).json()
    shown = {"text", "photo", "location"}
    kinds = [sorted(set(d["update"]["message"]) & shown) for d in deliveries]
    assert kinds == [["text"], ["photo"], ["location"], ["text"]]

    question = QuickReplies(text="예?", replies=[QuickReply(label="네")])
    reply = OutboundMessage(message_id="m1", conversation_id="c1", parts=[question])
    await world.channel.send(str(user_id), reply)
    (sent,) = (await http.get(f"{control}/sent", params={"user_id": user_id})).json()
    assert (sent["method"], sent["text"], sent["buttons"]) == ("sendMessage", "예?", ["네"])
    tapped = await http.post(f"{control}/tap", json={"user_id": user_id, "text": "네"})
    assert tapped.json()["message"]["text"] == "네"
    nothing = await http.post(f"{control}/tap", json={"user_id": user_id, "text": "아니요"})
    assert nothing.status_code == 409

    await http.post(f"{control}/block", json={"user_id": user_id})
    refused = await http.post(bot(world, "sendMessage"), json={"chat_id": user_id, "text": "x"})
    assert refused.json()["description"] == "Forbidden: bot was blocked by the user"
    missing = await http.post(f"{control}/send", json={"user_id": 1, "text": "x"})
    assert missing.status_code == 404
