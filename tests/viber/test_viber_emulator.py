"""The emulator as a fake of Viber: its API over HTTP, its users' callbacks, retries, media."""

import base64
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from byoc.models import (
    Contact,
    Failed,
    File,
    Image,
    InboundMessage,
    Link,
    Location,
    OutboundMessage,
    QuickReplies,
    QuickReply,
    Seen,
    Sticker,
    Subscribed,
    Text,
    Unsubscribed,
    Video,
)
from byoc_viber import sign
from byoc_viber.testing import ALL_EVENT_TYPES, ViberEmulator

from .conftest import World
from .support import TOKEN, WEBHOOK_URL, events_of


@pytest.fixture
async def api(world: World) -> AsyncIterator[httpx.AsyncClient]:
    """A raw HTTP client on the emulator, authenticated with the bot's token."""
    async with world.emulator.client(headers={"X-Viber-Auth-Token": TOKEN}) as client:
        yield client


def message(receiver: str, **fields: Any) -> dict[str, Any]:
    return {"receiver": receiver, "sender": {"name": "Bot"}, **fields}


# -- the API ------------------------------------------------------------------------------------


async def test_unknown_methods_are_404(api: httpx.AsyncClient) -> None:
    assert (await api.post("/pa/send_smoke_signal", json={})).status_code == 404


async def test_the_token_comes_in_the_header_or_the_body(world: World) -> None:
    async with world.emulator.client() as bare:
        missing = await bare.post("/pa/get_account_info", json={})
        assert missing.status_code == 200 and missing.json()["status"] == 2
        in_body = await bare.post("/pa/get_account_info", json={"auth_token": TOKEN})
        assert in_body.json()["status"] == 0
        by_get = await bare.get("/pa/get_account_info", headers={"X-Viber-Auth-Token": TOKEN})
        assert by_get.json()["name"] == "byoc emulator"


async def test_set_webhook_echoes_every_event_when_none_are_chosen(
    world: World, api: httpx.AsyncClient
) -> None:
    answer = (await api.post("/pa/set_webhook", json={"url": WEBHOOK_URL})).json()
    assert answer["status"] == 0 and answer["event_types"] == list(ALL_EVENT_TYPES)
    chosen = {"url": WEBHOOK_URL, "event_types": ["seen", "bogus"]}
    answer = (await api.post("/pa/set_webhook", json=chosen)).json()
    assert answer["event_types"] == ["subscribed", "unsubscribed", "message", "seen"]


async def test_send_message_answers_a_63_bit_token_and_records_the_message(
    installed: World, api: httpx.AsyncClient
) -> None:
    alice = installed.emulator.user(subscribed=True)
    answer = await api.post("/pa/send_message", json=message(alice.id, type="text", text="hi"))
    body = answer.json()
    assert body["status"] == 0 and body["status_message"] == "ok"
    assert isinstance(body["message_token"], int) and 0 < body["message_token"] < 2**63
    assert body["chat_hostname"] and body["billing_status"] in (0, 1, 2, 3, 4, 5)
    [sent] = alice.received
    assert sent.token == body["message_token"] and installed.emulator.sent_to(alice.id) == [sent]


LINK = {"Columns": 6, "Rows": 1, "ActionType": "open-url", "ActionBody": "https://c.test/a"}


@pytest.mark.parametrize(
    ("fields", "status"),
    [
        ({"type": "text"}, 4),
        ({"type": "text", "text": "x" * 7001}, 3),
        ({"type": "picture", "text": "", "media": "https://c.test/a.bmp"}, 3),
        ({"type": "picture", "text": "c" * 769, "media": "https://c.test/a.jpg"}, 3),
        ({"type": "video", "media": "https://c.test/a.mp4"}, 4),
        ({"type": "video", "media": "https://c.test/a.mp4", "size": 27262977}, 3),
        ({"type": "file", "media": "https://c.test/a.exe", "size": 1, "file_name": "a.exe"}, 3),
        ({"type": "file", "media": "https://c.test/a.pdf", "size": 1}, 4),
        ({"type": "contact", "contact": {"name": "A", "phone_number": "1" * 19}}, 3),
        ({"type": "location", "location": {"lat": 91, "lon": 0}}, 3),
        ({"type": "url", "media": "https://c.test/" + "a" * 2000}, 3),
        ({"type": "sticker"}, 4),
        ({"type": "carrier_pigeon"}, 3),
        ({}, 4),
        ({"type": "text", "text": "x", "sender": {"name": "n" * 29}}, 3),
        ({"type": "text", "text": "x", "tracking_data": "t" * 4001}, 3),
        ({"keyboard": {"Type": "keyboard", "Buttons": [{"ActionType": "open-url"}]}}, 4),
        ({"keyboard": {"Buttons": [{"ActionBody": "x", "Columns": 7}]}}, 3),
        ({"type": "rich_media"}, 4),
        ({"type": "rich_media", "rich_media": {"ButtonsGroupRows": 8, "Buttons": [{}]}}, 3),
        ({"type": "rich_media", "rich_media": {"ButtonsGroupRows": 2, "Buttons": []}}, 3),
        # One button of one row does not fill a card of two rows.
        ({"type": "rich_media", "rich_media": {"ButtonsGroupRows": 2, "Buttons": [LINK]}}, 3),
        ({"type": "rich_media", "rich_media": {"ButtonsGroupRows": 1, "Buttons": [LINK] * 7}}, 3),
        (
            {
                "type": "rich_media",
                "rich_media": {"ButtonsGroupRows": 1, "Buttons": [{**LINK, "ActionBody": "x"}]},
            },
            3,
        ),
        (
            {
                "type": "rich_media",
                "rich_media": {"ButtonsGroupRows": 1, "Buttons": [LINK]},
                "alt_text": "a" * 7001,
            },
            3,
        ),
    ],
)
async def test_send_message_checks_viber_limits(
    installed: World, api: httpx.AsyncClient, fields: dict[str, Any], status: int
) -> None:
    alice = installed.emulator.user(subscribed=True)
    answer = (await api.post("/pa/send_message", json=message(alice.id, **fields))).json()
    assert answer["status"] == status, answer
    assert alice.received == []


async def test_bodies_over_30_kb_are_bad_data(installed: World, api: httpx.AsyncClient) -> None:
    alice = installed.emulator.user(subscribed=True)
    body = message(alice.id, type="text", text="x", padding="p" * 30_000)
    assert (await api.post("/pa/send_message", json=body)).json()["status"] == 3


async def test_receivers_must_exist_and_be_subscribed(
    installed: World, api: httpx.AsyncClient
) -> None:
    stranger = installed.emulator.user()
    text = {"type": "text", "text": "x"}
    assert (await api.post("/pa/send_message", json=message("ghost", **text))).json()["status"] == 5
    answer = (await api.post("/pa/send_message", json=message(stranger.id, **text))).json()
    assert answer == {**answer, "status": 6, "status_message": "receiverNotSubscribed"}


async def test_broadcast_and_get_online(installed: World, api: httpx.AsyncClient) -> None:
    fan, stranger = installed.emulator.user(subscribed=True), installed.emulator.user(online=False)
    body = {"broadcast_list": [fan.id, stranger.id], "sender": {"name": "B"}, "type": "text"}
    answer = (await api.post("/pa/broadcast_message", json={**body, "text": "sale"})).json()
    assert answer["status"] == 0 and [f["status"] for f in answer["failed_list"]] == [6]
    assert fan.received[0].text == "sale" and stranger.received == []
    online = (await api.post("/pa/get_online", json={"ids": [fan.id, stranger.id, "x"]})).json()
    assert [u["online_status"] for u in online["users"]] == [0, 1, 4]


async def test_nothing_is_sent_while_no_webhook_is_set(
    world: World, api: httpx.AsyncClient
) -> None:
    alice = world.emulator.user(subscribed=True)
    body = message(alice.id, type="text", text="hi")
    assert (await api.post("/pa/send_message", json=body)).json()["status"] == 10
    assert alice.received == []


async def test_faults_fail_the_next_calls_then_stop(world: World, api: httpx.AsyncClient) -> None:
    world.emulator.fail_next("get_account_info", status=9, times=2)
    statuses = [(await api.post("/pa/get_account_info", json={})).json()["status"] for _ in "abc"]
    assert statuses == [9, 9, 0]


# -- users and callbacks --------------------------------------------------------------------------


async def test_users_send_every_message_type_as_signed_callbacks(installed: World) -> None:
    emulator = installed.emulator
    alice = emulator.user(name="Alice", language="de", country="DE")
    await alice.send_text("Hallo")
    await alice.send_picture(caption="mein Hund")
    await alice.send_video(duration=4)
    await alice.send_file(file_name="Rechnung.pdf")
    await alice.send_sticker(40133)
    await alice.send_contact("Bob", "+4930123456")
    await alice.send_url("https://example.de")
    await alice.send_location(52.52, 13.405)
    await emulator.drain()
    messages = events_of(installed.app, InboundMessage)
    assert [type(m.parts[0]) for m in messages] == [
        Text,
        Image,
        Video,
        File,
        Sticker,
        Contact,
        Link,
        Location,
    ]
    assert {m.user_id for m in messages} == {alice.id}
    assert messages[0].profile is not None and messages[0].profile.language == "de"
    picture, video, file = (m.parts[0] for m in messages[1:4])
    assert isinstance(picture, Image) and picture.caption == "mein Hund"
    assert isinstance(video, Video) and video.duration == 4 and video.size
    assert isinstance(file, File) and file.name == "Rechnung.pdf" and file.size
    # Dedupe keys are the tokens, exact, and every one verified against the token.
    assert len({m.message_id for m in messages}) == 8
    assert all(r.attempts == [200] for r in emulator.callbacks)


async def test_callbacks_are_signed_with_the_bots_token(installed: World) -> None:
    seen: list[httpx.Request] = []

    def capture(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200)

    async with httpx.AsyncClient(transport=httpx.MockTransport(capture)) as client:
        emulator = ViberEmulator(token=TOKEN, callback_client=client, webhook_url=WEBHOOK_URL)
        await emulator.user(name="Zoë").send_text("ciao")
        await emulator.drain()
    [request] = seen
    assert request.headers["x-viber-content-signature"] == sign(TOKEN, request.content)
    assert json.loads(request.content)["sender"]["name"] == "Zoë"
    assert "Zoë".encode() in request.content  # UTF-8 on the wire, as Viber sends it


async def test_pending_counts_callbacks_until_answered(installed: World) -> None:
    installed.app.fail_next = [500] * 2
    alice = installed.emulator.user()
    await alice.send_text("one")
    await alice.send_text("two")
    assert installed.emulator.pending == 2
    await installed.emulator.drain()
    assert installed.emulator.pending == 0
    assert [r.attempts for r in installed.emulator.callbacks] == [[500, 200], [500, 200]]


async def test_media_users_send_expires_after_an_hour(installed: World) -> None:
    alice = installed.emulator.user()
    await alice.send_picture(b"\xff\xd8 jpeg bytes", file_name="cat.jpg")
    await installed.emulator.drain()
    [message] = events_of(installed.app, InboundMessage)
    url = message.parts[0].url
    async with installed.emulator.client() as http:
        fresh = await http.get(url)
        assert fresh.content == b"\xff\xd8 jpeg bytes"
        assert fresh.headers["content-type"] == "image/jpeg"
        await installed.clock.advance(3600)
        assert (await http.get(url)).status_code == 404


async def test_a_failing_webhook_is_retried_until_it_answers(installed: World) -> None:
    installed.app.fail_next = [500] * 2
    start = installed.clock.time()
    await installed.emulator.user().send_text("are you there?")
    await installed.emulator.drain()
    [record] = installed.emulator.callbacks
    assert record.attempts == [500, 500, 200] and record.delivered
    assert len(events_of(installed.app, InboundMessage)) == 1
    assert installed.clock.time() - start == pytest.approx(1 + 5)


async def test_retries_stop_after_an_hour(installed: World) -> None:
    installed.app.fail_next = [500] * 10_000
    start = installed.clock.time()
    await installed.emulator.user().send_text("hello?")
    await installed.emulator.drain()
    [record] = installed.emulator.callbacks
    assert record.gave_up and not record.delivered
    # 1 + 5 + 30 + 120 + 600 * 5 = 3156 s; one more 600 s wait would pass the hour.
    assert len(record.attempts) == 10
    assert installed.clock.time() - start <= 3600


async def test_retries_of_one_user_do_not_hold_up_the_next(installed: World) -> None:
    installed.app.fail_next = [500] * 1
    alice = installed.emulator.user()
    await alice.send_text("first")
    await alice.send_text("second")
    await installed.emulator.drain()
    first, second = installed.emulator.callbacks
    assert first.attempts == [500, 200] and second.attempts == [200]


async def test_a_tap_sends_the_button_and_echoes_tracking_data_of_the_last_message(
    installed: World,
) -> None:
    alice = installed.emulator.user(subscribed=True)
    replies = QuickReplies(
        text="Pick", replies=[QuickReply(label="Red", payload="c:red"), QuickReply(label="Blue")]
    )
    await installed.channel.send(
        alice.id, OutboundMessage(message_id="m", conversation_id="conv-77", parts=[replies])
    )
    assert [b["Text"] for b in alice.keyboard] == ["Red", "Blue"]
    with pytest.raises(LookupError, match="Green"):
        await alice.tap("Green")
    await alice.tap("Red")
    await installed.emulator.drain()
    [record] = [r for r in installed.emulator.callbacks if r.event == "message"]
    message = record.payload["message"]
    assert message["text"] == "Red"
    assert message["tracking_data"] == alice.received[-1].body["tracking_data"]
    [event] = [e for e in installed.app.events if isinstance(e, InboundMessage)]
    assert event.parts == (Text(text="Red", reply_payload="c:red"),)


async def test_subscribe_unsubscribe_and_their_callbacks(installed: World) -> None:
    bob = installed.emulator.user(name="Bob")
    await bob.subscribe()
    await bob.subscribe()  # already subscribed: nothing more happens
    await bob.unsubscribe()
    await installed.emulator.drain()
    assert [type(e) for e in installed.app.events] == [Subscribed, Unsubscribed]
    assert not bob.subscribed


async def test_filtered_events_are_not_sent(world: World) -> None:
    world.channel.event_types = ("delivered",)
    await world.channel.install(WEBHOOK_URL)
    alice = world.emulator.user(subscribed=True)
    await world.channel.send(
        alice.id, OutboundMessage(message_id="m", conversation_id="c", parts=[Text(text="x")])
    )
    await world.emulator.drain()
    assert [r.event for r in world.emulator.callbacks] == ["delivered"]
    assert events_of(world.app, Seen) == []


async def test_failed_callbacks_can_be_injected(installed: World) -> None:
    alice = installed.emulator.user(subscribed=True)
    result = await installed.channel.send(
        alice.id, OutboundMessage(message_id="m", conversation_id="c", parts=[Text(text="x")])
    )
    await installed.emulator.fail_message(int(result.message_ids[0]), "unsupported on device")
    await installed.emulator.drain()
    [failed] = events_of(installed.app, Failed)
    assert failed.message_id == result.message_ids[0] and failed.reason == "unsupported on device"


# -- control endpoints --------------------------------------------------------------------------


async def test_control_endpoints_drive_users_over_http(installed: World) -> None:
    async with installed.emulator.client() as http:
        # An id with the characters real ones have ("/" and "+" of base64).
        created = await http.post("/_emulator/users", json={"name": "Carol", "id": "a/b+c=="})
        user_id = created.json()["id"]
        me = {"user_id": user_id}
        hello = {**me, "message": {"type": "text", "text": "hi"}}
        sent = await http.post("/_emulator/send", json=hello)
        assert isinstance(sent.json()["message_token"], int)
        upload = {
            **me,
            "message": {"type": "file"},
            "data_base64": base64.b64encode(b"%PDF-1.4").decode(),
            "file_name": "cv.pdf",
        }
        await http.post("/_emulator/send", json=upload)
        await http.post("/_emulator/open", json={**me, "context": "qr"})
        await http.post("/_emulator/unsubscribe", json=me)
        assert (await http.post("/_emulator/drain")).status_code == 200

        callbacks = (await http.get("/_emulator/callbacks")).json()
        assert [c["event"] for c in callbacks] == [
            "message",
            "message",
            "conversation_started",
            "unsubscribed",
        ]
        [file] = [
            e for e in events_of(installed.app, InboundMessage) if isinstance(e.parts[0], File)
        ]
        assert file.user_id == "a/b+c=="
        assert (await http.get(file.parts[0].url)).content == b"%PDF-1.4"

        await http.post("/_emulator/subscribe", json=me)
        fault = {"method": "send_message", "status": 7}
        assert (await http.post("/_emulator/faults", json=fault)).status_code == 201
        assert (await http.delete("/_emulator/faults")).status_code == 200
        await installed.channel.send(
            user_id, OutboundMessage(message_id="m", conversation_id="c", parts=[Text(text="yo")])
        )
        bot_sent = (await http.get("/_emulator/sent", params=me)).json()
        assert [s["body"]["text"] for s in bot_sent] == ["yo"]
        webhook = (await http.get("/_emulator/webhook")).json()
        assert webhook["url"] == WEBHOOK_URL
        assert (await http.post("/_emulator/subscribe", json={"user_id": "x"})).status_code == 404
