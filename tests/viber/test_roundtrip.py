"""Viber ↔ bridge ↔ Freshchat end to end (see `roundtrip.py` for the network).

Simulated Viber users write; the Freshchat emulator's agent answers. Most tests run in both
delivery modes: durable (a SQLite queue in `tmp_path`) and inline.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from byoc.errors import ConfigurationError
from byoc.models import OutboundMessage, Text
from byoc.store import MemoryStore, SQLiteStore
from byoc.testing.rig import BridgeRig
from byoc.testing.routing import Response, Router
from byoc_viber import sign
from byoc_viber.limits import MAX_TEXT, viber_length
from byoc_viber.testing import SimulatedUser, validate_message

from .roundtrip import FILES, TOKEN, WEBHOOK, WELCOME, Trip, build_trip, kinds, texts

JPEG = bytes.fromhex("ffd8ffe000104a46494600010100000100010000ffd9")
MP4 = bytes.fromhex("000000186674797069736f6d0000020069736f6d6d703432") + b"\x00" * 100
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture(params=["durable", "inline"])
async def trip(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Trip]:
    delivery = request.param
    store = SQLiteStore(tmp_path / "byoc.sqlite3") if delivery == "durable" else MemoryStore()
    async with BridgeRig() as rig:
        yield await build_trip(rig, delivery, store)


# -- user → agent ----------------------------------------------------------------------------------


async def test_every_message_type_reaches_the_users_conversation_readably(trip: Trip) -> None:
    minjun = trip.user(name="김민준", language="ko", country="KR")
    await minjun.send_text("안녕하세요 👋 주문 #1234 문의드려요")
    await minjun.send_picture(JPEG, caption="영수증 사진", file_name="receipt.jpg")
    await minjun.send_video(MP4, file_name="unboxing.mp4")
    await minjun.send_file(PDF, file_name="견적서.pdf")
    await minjun.send_sticker(40133)
    await minjun.send_contact("Ji-soo Park", "+821012345678")
    await minjun.send_url("https://shop.example/orders/1234")
    await minjun.send_location(37.5665, 126.978)
    await trip.settle()

    user = trip.helpdesk_user(minjun)
    assert user["first_name"] == "김민준"
    assert {"name": "language", "value": "ko"} in user["properties"]
    text, picture, video, file, sticker, contact, url, location = trip.written(minjun)
    assert text == [{"text": {"content": "안녕하세요 👋 주문 #1234 문의드려요"}}]
    assert kinds(picture) == ["image", "text"] and texts(picture) == "영수증 사진"
    assert picture[0]["image"]["url"].startswith(FILES)
    # A video plays in Freshchat's video part while Viber's link lives; its copy stays.
    assert kinds(video) == ["video", "file"]
    assert video[0]["video"]["url"].startswith("http://viber.test/media/")
    assert video[0]["video"]["content_type"] == "video/mp4"
    # Freshchat references re-hosted videos and files by hash; it shows them at its own URL.
    for parts, name, data in ((video[1:], "unboxing.mp4", MP4), (file, "견적서.pdf", PDF)):
        assert kinds(parts) == ["file"]
        assert parts[0]["file"]["name"] == name
        assert parts[0]["file"]["fileHash"] == hashlib.sha256(data).hexdigest()
        assert parts[0]["file"]["url"].startswith(FILES)
    assert texts(sticker) == "[Sticker 40133: the channel gives no picture of it]"
    assert "Ji-soo Park" in texts(contact) and "+821012345678" in texts(contact)
    assert texts(url) == "https://shop.example/orders/1234"
    assert "37.566500" in texts(location) and "126.978000" in texts(location)
    assert all(record.attempts == [200] for record in trip.viber.callbacks)
    assert await trip.rig.bridge.dead_letters() == []


async def test_media_stays_downloadable_from_freshchat_after_the_viber_link_expired(
    trip: Trip,
) -> None:
    minjun = trip.user()
    await minjun.send_picture(JPEG, caption="", file_name="cat.jpg")
    await minjun.send_file(PDF, file_name="contract.pdf")
    await trip.settle()
    viber_links = [
        record.payload["message"]["media"]
        for record in trip.viber.callbacks
        if record.event == "message"
    ]
    picture, file = trip.written(minjun)
    copies = [picture[0]["image"]["url"], file[0]["file"]["url"]]

    await trip.viber_clock.advance(3601)
    http = trip.rig.http
    for link in viber_links:
        assert (await http.get(link)).status_code == 404
    assert [(await http.get(copy)).content for copy in copies] == [JPEG, PDF]


async def test_media_freshchat_refuses_becomes_a_placeholder_without_the_viber_link(
    trip: Trip,
) -> None:
    for route in ("/v2/images/upload", "/v2/files/upload"):
        trip.rig.freshchat.faults.server_error(times=None, status=400, route=route)
    minjun = trip.user()
    await minjun.send_picture(JPEG, caption="깨진 화면", file_name="screen.jpg")
    await minjun.send_file(PDF, file_name="invoice.pdf")
    await trip.settle()

    picture, file = trip.written(minjun)
    assert kinds(picture) == ["text"] and kinds(file) == ["text"]
    assert "picture (screen.jpg" in texts(picture) and "깨진 화면" in texts(picture)
    assert "file (invoice.pdf" in texts(file)
    for parts in (picture, file):
        # What the user sent, without the link: it may hold a credential and expires anyway.
        assert "not shown here" in texts(parts) and "viber.test" not in texts(parts)


async def test_an_upload_outage_delays_the_message_until_its_media_is_copied(
    trip: Trip,
) -> None:
    trip.rig.freshchat.faults.server_error(times=1, status=503, route="/v2/images/upload")
    minjun = trip.user()
    await minjun.send_picture(JPEG, caption="다시", file_name="screen.jpg")
    await trip.settle()
    if trip.rig.bridge.delivery.mode == "durable":
        # Nothing in Freshchat yet: the message waits for its retry.
        assert trip.rig.freshchat.users_by_reference(f"viber:{minjun.id}") == []
        await trip.bridge_clock.advance(60)
        await trip.settle()
    (picture,) = trip.written(minjun)
    assert kinds(picture)[0] == "image"
    assert not picture[0]["image"]["url"].startswith("http://viber.test/")


# -- agent → user ----------------------------------------------------------------------------------


async def agent_files(trip: Trip) -> tuple[str, str]:
    """A picture and a PDF uploaded to Freshchat, as an agent attaching them would: the
    picture's URL and the PDF's file hash."""
    client = trip.rig.messaging.client
    image = await client.upload_image("shelf.jpg", JPEG, "image/jpeg")
    document = await client.upload_file("보증서.pdf", PDF, "application/pdf")
    return image["url"], document["file_hash"]


async def test_agent_replies_of_every_kind_reach_the_viber_user_once_within_limits(
    trip: Trip,
) -> None:
    minjun = trip.user(name="김민준")
    await minjun.send_text("도와주세요")
    await trip.settle()
    conversation = trip.conversation(minjun)
    uploaded_picture, pdf_hash = await agent_files(trip)
    photo = trip.cdn.put("products/blue.jpg", JPEG)
    clip = trip.cdn.put("guides/setup.mp4", MP4)
    long_text = " ".join(f"{i:04d}번째 안내 문장입니다 🙂" for i in range(600))
    assert len(long_text) > MAX_TEXT

    freshchat = trip.rig.freshchat
    freshchat.faults.duplicate_webhooks(2)  # Freshchat delivering each webhook twice
    await freshchat.agent_reply(conversation, long_text)
    await freshchat.agent_reply(conversation, "제품 사진입니다", parts=[{"image": {"url": photo}}])
    await freshchat.agent_reply(conversation, parts=[{"image": {"url": uploaded_picture}}])
    file_part = {"fileHash": pdf_hash, "name": "보증서.pdf", "contentType": "application/pdf"}
    await freshchat.agent_reply(conversation, parts=[{"file": {**file_part}}])
    await freshchat.agent_reply(
        conversation, parts=[{"video": {"url": clip, "content_type": "video/mp4"}}]
    )
    await freshchat.agent_reply(
        conversation,
        "주문 내역은 여기서 보세요",
        parts=[{"url_button": {"url": "https://shop.example/orders", "label": "주문 내역"}}],
    )
    quick = [{"quick_reply_button": {"label": label}} for label in ("네", "아니요")]
    await freshchat.agent_reply(
        conversation, "해결되었나요?", reply_parts=[{"collection": {"sub_parts": quick}}]
    )
    await freshchat.private_note(conversation, "VIP 고객, 환불 검토 중")
    await trip.settle()

    received = [dict(message.body) for message in minjun.received]
    for body in received:
        assert validate_message(body) is None
        assert body["receiver"] == minjun.id and "tracking_data" not in body
        assert body["sender"] == {"name": "Acme Support"}
    first, second, caption, picture, upload, pdf, video, intro, buttons, replies = received
    assert [body["type"] for body in received] == [
        *("text", "text", "text", "picture"),
        *("file", "file", "video", "text", "rich_media", "text"),
    ]
    assert all(viber_length(body["text"]) <= MAX_TEXT for body in (first, second))
    assert f"{first['text']} {second['text']}" == long_text
    assert caption["text"] == "제품 사진입니다" and picture["media"] == photo
    # Freshchat's upload URL has no extension, so no Viber picture: a file named by its type.
    assert (upload["media"], upload["file_name"]) == (uploaded_picture, "picture.jpg")
    assert upload["size"] == len(JPEG)
    assert (pdf["file_name"], pdf["size"]) == ("보증서.pdf", len(PDF))
    assert pdf["media"].startswith(FILES)
    assert (video["media"], video["size"]) == (clip, len(MP4))
    assert intro["text"] == "주문 내역은 여기서 보세요"
    assert [(b["ActionType"], b["ActionBody"]) for b in buttons["rich_media"]["Buttons"]] == [
        ("open-url", "https://shop.example/orders")
    ]
    assert replies["text"] == "해결되었나요?"
    assert [(b["ActionType"], b["ActionBody"]) for b in replies["keyboard"]["Buttons"]] == [
        ("reply", "네"),
        ("reply", "아니요"),
    ]
    assert await trip.rig.bridge.dead_letters() == []


async def test_notes_welcome_messages_and_echoes_of_the_user_never_reach_viber(
    trip: Trip,
) -> None:
    minjun = trip.user()
    await minjun.send_text("첫 메시지")  # a new conversation: Freshchat adds its welcome message
    await minjun.send_text("두 번째")
    await trip.settle()
    conversation = trip.conversation(minjun)
    await trip.rig.freshchat.private_note(conversation, "내부 메모")
    await trip.settle()
    assert minjun.received == []
    await trip.rig.freshchat.agent_reply(conversation, "안녕하세요, 상담원입니다")
    await trip.settle()
    assert [message.text for message in minjun.received] == ["안녕하세요, 상담원입니다"]


# -- installation ----------------------------------------------------------------------------------


@pytest.fixture
async def uninstalled(tmp_path: Path) -> AsyncIterator[Trip]:
    async with BridgeRig() as rig:
        yield await build_trip(rig, "durable", SQLiteStore(tmp_path / "b.sqlite3"), install=False)


async def test_install_registers_the_bridge_which_answers_vibers_check(uninstalled: Trip) -> None:
    assert uninstalled.viber.webhook is None
    results = await uninstalled.rig.bridge.install(["viber"])
    assert results["viber"].registered and results["viber"].target_url == WEBHOOK
    assert uninstalled.viber.webhook == WEBHOOK
    assert await uninstalled.rig.bridge.installed_url("viber") == WEBHOOK
    minjun = uninstalled.user()
    await minjun.send_text("설치 후 첫 메시지")
    await uninstalled.settle()
    assert uninstalled.written(minjun) == [[{"text": {"content": "설치 후 첫 메시지"}}]]


async def test_install_explains_a_bridge_viber_cannot_reach(uninstalled: Trip) -> None:
    network = uninstalled.rig.network
    network.remove("bridge.test")
    with pytest.raises(ConfigurationError) as caught:
        await uninstalled.rig.bridge.install(["viber"])
    assert "Viber could not connect to the URL" in str(caught.value)
    assert WEBHOOK in str(caught.value) and "bridge must already be running" in str(caught.value)
    assert uninstalled.viber.webhook is None


async def test_install_explains_a_bridge_that_does_not_answer_200(uninstalled: Trip) -> None:
    # A proxy in front of the bridge that has no upstream.
    proxy = Router(not_found=lambda request: Response(status=502, body=b"Bad Gateway"))
    uninstalled.rig.network.add("bridge.test", proxy)
    with pytest.raises(ConfigurationError, match="answered HTTP 502 instead of 200"):
        await uninstalled.rig.bridge.install(["viber"])
    assert uninstalled.viber.webhook is None
    uninstalled.rig.network.add("bridge.test", uninstalled.rig.bridge)
    assert (await uninstalled.rig.bridge.install(["viber"]))["viber"].registered


# -- events other than messages --------------------------------------------------------------------


async def test_opening_the_chat_shows_the_welcome_message_and_status_events_create_nothing(
    trip: Trip,
) -> None:
    jisoo = trip.user(name="박지수")
    await jisoo.open(context="instagram-ad")
    await trip.settle()
    [welcome] = jisoo.received
    assert welcome.welcome and welcome.text == WELCOME and "receiver" not in welcome.body

    await jisoo.subscribe()
    sent = await trip.channel.send(
        jisoo.id, OutboundMessage(message_id="m-1", conversation_id="c-1", parts=[Text(text="!")])
    )
    await trip.settle()  # delivered and seen come back
    await trip.viber.fail_message(int(sent.message_ids[0]), "message validation failed")
    await jisoo.unsubscribe()
    await trip.settle()

    events = [record.event for record in trip.viber.callbacks]
    assert events == [
        "conversation_started",
        "subscribed",
        "delivered",
        "seen",
        "failed",
        "unsubscribed",
    ]
    assert all(record.attempts == [200] for record in trip.viber.callbacks)
    assert trip.rig.freshchat.users_by_reference(f"viber:{jisoo.id}") == []
    assert trip.rig.freshchat.total_calls() == 0


# -- retries and duplicates ------------------------------------------------------------------------


@pytest.fixture
async def inline_trip() -> AsyncIterator[Trip]:
    async with BridgeRig() as rig:
        yield await build_trip(rig, "inline", MemoryStore())


async def test_a_callback_viber_retries_after_a_503_becomes_one_message(inline_trip: Trip) -> None:
    inline_trip.rig.freshchat.faults.server_error(times=1, status=503)
    minjun = inline_trip.user()
    await minjun.send_text("한 번만 보여야 해요")
    await inline_trip.settle()
    [record] = inline_trip.viber.callbacks
    assert record.attempts == [503, 200]
    assert inline_trip.written(minjun) == [[{"text": {"content": "한 번만 보여야 해요"}}]]


async def test_a_durable_bridge_answers_at_once_and_retries_the_delivery_itself(
    tmp_path: Path,
) -> None:
    async with BridgeRig() as rig:
        trip = await build_trip(rig, "durable", SQLiteStore(tmp_path / "b.sqlite3"))
        rig.freshchat.faults.server_error(times=1, status=503)
        minjun = trip.user()
        await minjun.send_text("나중에라도 도착해야 해요")
        await trip.settle()
        [record] = trip.viber.callbacks
        assert record.attempts == [200]
        assert rig.freshchat.users_by_reference(f"viber:{minjun.id}") == []
        await trip.bridge_clock.advance(60)
        await trip.settle()
        assert trip.written(minjun) == [[{"text": {"content": "나중에라도 도착해야 해요"}}]]


def message_callback(user: SimulatedUser, token: int, text: str) -> bytes:
    """A `message` callback as Viber's servers write it (the token as a bare 64-bit number)."""
    payload = {
        "event": "message",
        "timestamp": 1_700_000_000_000,
        "chat_hostname": "SN-CHAT-01_",
        "message_token": token,
        "sender": user.as_json(),
        "message": {"type": "text", "text": text},
        "silent": False,
    }
    return json.dumps(payload, ensure_ascii=False).encode()


async def test_duplicates_are_dropped_by_their_exact_64_bit_token(trip: Trip) -> None:
    minjun = trip.user()
    first, second = 2**63 - 1, 2**63 - 2
    assert float(first) == float(second)  # a float would take them for one message
    for token, text in ((first, "하나"), (first, "하나"), (second, "둘"), (first, "하나")):
        body = message_callback(minjun, token, text)
        headers = {"X-Viber-Content-Signature": sign(TOKEN, body)}
        response = await trip.rig.http.post(WEBHOOK, content=body, headers=headers)
        assert response.status_code == 200
    await trip.settle()
    assert [texts(parts) for parts in trip.written(minjun)] == ["하나", "둘"]
