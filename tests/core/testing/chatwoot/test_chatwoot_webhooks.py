"""Webhooks to the API inbox: what is sent, how it is signed, order, retries, duplicates."""

from __future__ import annotations

import asyncio

import httpx
from chatwoot_doubles import Receiver, Steps, expected_signature

from byoc.testing.chatwoot import ChatwootEmulator
from byoc.testing.clock import FakeClock


async def test_every_delivery_is_signed_with_the_inbox_secret(
    emulator: ChatwootEmulator, steps: Steps, receiver: Receiver, clock: FakeClock
) -> None:
    contact = await steps.contact("viber:a")
    conversation = await steps.conversation(contact, "안녕 <b>&</b> 😀")
    await emulator.agent_reply(conversation, "Ça va?")
    await emulator.drain()
    assert receiver.deliveries
    for delivery in receiver.deliveries:
        headers = delivery.headers
        timestamp = headers["x-chatwoot-timestamp"]
        assert int(timestamp) == int(clock.time())
        assert headers["x-chatwoot-signature"] == expected_signature(
            emulator.inbox.secret, timestamp, delivery.body
        )
        assert len(headers["x-chatwoot-delivery"]) == 36
        assert headers["content-type"] == "application/json"
    # Rails escapes HTML characters: re-encoding the JSON would break the signature.
    raw = receiver.deliveries[1].body
    assert b"\\u003cb\\u003e\\u0026\\u003c/b\\u003e" in raw and "안녕".encode() in raw


async def test_issue_13809_mode_signs_with_the_hmac_token(
    emulator: ChatwootEmulator, steps: Steps, receiver: Receiver
) -> None:
    emulator.signing = "hmac_token"
    await steps.conversation(await steps.contact("viber:a"))
    await emulator.drain()
    delivery = receiver.deliveries[-1]
    timestamp = delivery.headers["x-chatwoot-timestamp"]
    signature = delivery.headers["x-chatwoot-signature"]
    assert signature == expected_signature(emulator.inbox.hmac_token, timestamp, delivery.body)
    assert signature != expected_signature(emulator.inbox.secret, timestamp, delivery.body)


async def test_older_versions_send_unsigned_webhooks(
    emulator: ChatwootEmulator, steps: Steps, receiver: Receiver
) -> None:
    emulator.signing = "unsigned"
    await steps.conversation(await steps.contact("viber:a"))
    await emulator.drain()
    headers = receiver.deliveries[-1].headers
    assert "x-chatwoot-signature" not in headers and "x-chatwoot-timestamp" not in headers


async def test_the_inbox_hears_its_own_incoming_posts_notes_and_status_changes(
    emulator: ChatwootEmulator, steps: Steps, receiver: Receiver
) -> None:
    contact = await steps.contact("viber:a")
    conversation = await steps.conversation(contact, "hello")
    await emulator.agent_reply(conversation, "hi!")
    await emulator.private_note(conversation, "VIP customer")
    await emulator.resolve(conversation)
    await steps.incoming(conversation, "one more thing")
    await emulator.drain()
    assert receiver.actions() == [
        "conversation_created",
        "message_created",  # the user's first message, echoed
        "message_created",  # the agent's reply
        "message_created",  # the private note
        "conversation_status_changed",  # resolved
        "conversation_status_changed",  # reopened by the user's message, before it
        "message_created",
    ]
    echo, reply, note = receiver.payloads("message_created")[:3]
    assert (echo["message_type"], echo["sender"]["type"], echo["private"]) == (
        "incoming",
        "contact",
        False,
    )
    assert (reply["message_type"], reply["sender"]["type"]) == ("outgoing", "user")
    assert (note["message_type"], note["private"]) == ("outgoing", True)
    assert reply["conversation"]["contact_inbox"]["source_id"] == "viber:a"
    assert reply["conversation"]["meta"]["sender"]["id"] == contact["id"]
    assert reply["created_at"].endswith("Z") and "T" in reply["created_at"]
    resolved, reopened = receiver.payloads("conversation_status_changed")
    assert resolved["changed_attributes"] == [
        {"status": {"previous_value": "open", "current_value": "resolved"}}
    ]
    assert reopened["status"] == "open"


async def test_a_greeting_answers_the_first_incoming_message(
    emulator: ChatwootEmulator, steps: Steps, receiver: Receiver
) -> None:
    emulator.inbox.greeting_message = "Hi! We reply within the hour."
    conversation = await steps.conversation(await steps.contact("viber:a"), "hello")
    await steps.incoming(conversation, "anyone?")
    await emulator.drain()
    kinds = [(p["message_type"], p["content"]) for p in receiver.payloads("message_created")]
    assert kinds == [
        ("incoming", "hello"),
        ("template", "Hi! We reply within the hour."),
        ("incoming", "anyone?"),
    ]


async def test_a_failed_delivery_is_retried_with_the_same_delivery_id(
    emulator: ChatwootEmulator, steps: Steps, receiver: Receiver, clock: FakeClock
) -> None:
    receiver.script.extend([500, 503])
    await steps.conversation(await steps.contact("viber:b"))
    await emulator.drain()
    created = [d for d in receiver.deliveries if d.action == "conversation_created"]
    assert len(created) == 3
    assert len({d.headers["x-chatwoot-delivery"] for d in created}) == 1
    # Each attempt is signed when it is sent.
    stamps = [int(d.headers["x-chatwoot-timestamp"]) for d in created]
    assert stamps == sorted(stamps) and stamps[0] < stamps[-1]
    assert clock.sleeps[:2] == [1.0, 5.0]


async def test_a_conversations_events_keep_their_order_through_retries(
    emulator: ChatwootEmulator, steps: Steps, receiver: Receiver
) -> None:
    contact = await steps.contact("viber:a")
    receiver.script.extend([502])
    conversation = await steps.conversation(contact, "one")
    await steps.incoming(conversation, "two")
    await steps.incoming(conversation, "three")
    await emulator.drain()
    contents = [p["content"] for p in receiver.payloads("message_created")]
    assert contents == ["one", "two", "three"]


async def test_a_message_whose_webhook_fails_for_good_is_marked_failed(
    emulator: ChatwootEmulator, steps: Steps, receiver: Receiver
) -> None:
    conversation = await steps.conversation(await steps.contact("viber:a"))
    await emulator.drain()
    receiver.script.extend([500] * 4)
    reply = await emulator.agent_reply(conversation, "lost")
    await emulator.drain()
    shown = [m for m in emulator.conversation_messages(conversation) if m["id"] == reply["id"]]
    assert shown[0]["status"] == "failed"
    assert "external_error" in shown[0]["content_attributes"]


async def test_duplicate_deliveries_share_one_delivery_id(
    emulator: ChatwootEmulator, steps: Steps, receiver: Receiver
) -> None:
    contact = await steps.contact("viber:a")
    emulator.faults.webhook_copies = 2
    await steps.conversation(contact)
    await emulator.drain()
    created = [d for d in receiver.deliveries if d.action == "conversation_created"]
    assert len(created) == 2 and created[0].body == created[1].body
    assert created[0].headers["x-chatwoot-delivery"] == created[1].headers["x-chatwoot-delivery"]


async def test_conversations_do_not_wait_for_each_other(
    emulator: ChatwootEmulator, steps: Steps, receiver: Receiver
) -> None:
    receiver.gate = asyncio.Event()
    first = await steps.conversation(await steps.contact("viber:a"), "held")
    second = await steps.conversation(await steps.contact("viber:b"), "also held")
    assert emulator.webhooks.pending == 4
    receiver.gate.set()
    await emulator.drain()
    assert emulator.webhooks.pending == 0
    assert {p["id"] for p in receiver.payloads("conversation_created")} == {first, second}


async def test_no_webhook_url_sends_nothing_but_records_the_events(
    emulator: ChatwootEmulator, steps: Steps, receiver: Receiver
) -> None:
    emulator.webhook_url = None
    await steps.conversation(await steps.contact("viber:a"))
    await emulator.drain()
    assert receiver.deliveries == []
    assert [p["event"] for p in emulator.emitted] == ["conversation_created", "message_created"]


async def test_an_unreachable_receiver_is_logged_as_failed_attempts(
    clock: FakeClock,
) -> None:
    async with ChatwootEmulator(
        webhook_url="http://nowhere.invalid/hook",
        webhook_http=httpx.AsyncClient(transport=httpx.MockTransport(_refuse)),
        retry_delays=(1.0,),
        clock=clock,
    ) as emulator:
        api = emulator.client(authenticated=True)
        await api.post("/api/v1/accounts/1/contacts", json={"inbox_id": 1, "source_id": "s"})
        await api.post("/api/v1/accounts/1/conversations", json={"source_id": "s"})
        await emulator.drain()
        await api.aclose()
    attempts = list(emulator.webhooks.attempts)
    assert [a.attempt for a in attempts] == [0, 1]
    assert all(a.status_code is None and "ConnectError" in (a.error or "") for a in attempts)


def _refuse(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("refused", request=request)
