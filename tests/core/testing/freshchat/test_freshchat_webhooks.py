"""Signed webhooks: what is sent, how it is signed, ordering, retries, duplicates, drain."""

from __future__ import annotations

import asyncio
import base64
import os
import stat
from pathlib import Path

import httpx
import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding
from freshchat_doubles import HOOK_URL, ISO_MS, Receiver, Steps, advertised_key

from byoc.testing.clock import FakeClock
from byoc.testing.freshchat import FreshchatEmulator, WebhookKey


async def test_every_delivery_verifies_with_the_advertised_key(
    emulator: FreshchatEmulator, steps: Steps, receiver: Receiver
) -> None:
    user_id = await steps.user()
    conversation_id = await steps.conversation(user_id, "안녕하세요 😀")
    await emulator.agent_reply(conversation_id, "Ça va?")
    await emulator.drain()
    key = advertised_key(emulator.public_key_text)
    assert receiver.deliveries
    for delivery in receiver.deliveries:
        signature = base64.b64decode(delivery.headers["x-freshchat-signature"])
        key.verify(signature, delivery.body, padding.PKCS1v15(), hashes.SHA256())
        assert delivery.headers["x-freshchat-payload-version"] == "v1"
        assert delivery.headers["x-retry-count"] == "0"
        assert delivery.headers["content-type"] == "application/json"
    # Non-ASCII text travels as raw UTF-8: re-encoding the JSON would break the signature.
    assert "안녕하세요 😀".encode() in receiver.deliveries[0].body
    tampered = receiver.deliveries[0].body.replace("😀".encode(), "🙂".encode())
    with pytest.raises(InvalidSignature):
        key.verify(
            base64.b64decode(receiver.deliveries[0].headers["x-freshchat-signature"]),
            tampered,
            padding.PKCS1v15(),
            hashes.SHA256(),
        )


def test_the_key_text_has_the_admin_page_quirk(webhook_key: WebhookKey) -> None:
    text = webhook_key.public_key_text
    lines = text.strip().splitlines()
    assert lines[0] == "-----BEGIN RSA PUBLIC KEY-----"
    assert lines[-1] == "-----END RSA PUBLIC KEY-----"
    assert lines[1].startswith("MIIBIjANBgkqh")  # an SPKI body, not PKCS#1
    proper = serialization.load_pem_public_key(webhook_key.public_key_pem.encode())
    assert proper.public_numbers() == advertised_key(text).public_numbers()  # type: ignore[union-attr]
    assert webhook_key.public_key_pem.startswith("-----BEGIN PUBLIC KEY-----")


def test_keys_load_from_pem_and_persist_in_a_key_file(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "freshchat.pem"
    created = WebhookKey.load_or_create(path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    again = WebhookKey.load_or_create(path)
    assert again.public_key_text == created.public_key_text
    assert WebhookKey.from_pem(created.private_key_pem.decode()).sign(b"x") == created.sign(b"x")
    ec_key = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    with pytest.raises(ValueError, match="RSA"):
        WebhookKey.from_pem(ec_key)


async def test_the_emulator_signs_with_a_given_private_key(
    webhook_key: WebhookKey, receiver: Receiver
) -> None:
    async with (
        httpx.AsyncClient(transport=httpx.ASGITransport(app=receiver.app)) as to_bridge,
        FreshchatEmulator(
            webhook_url=HOOK_URL,
            webhook_http=to_bridge,
            private_key_pem=webhook_key.private_key_pem,
        ) as fc,
    ):
        assert fc.public_key_text == webhook_key.public_key_text
        user = fc.desk.create_user({"reference_id": "viber:1"})
        async with fc.client(authenticated=True) as api:
            await Steps(fc, api).conversation(user.id)
        await fc.drain()
    assert receiver.deliveries


async def test_the_webhooks_of_a_conversation_lifecycle(
    api: httpx.AsyncClient, emulator: FreshchatEmulator, steps: Steps, receiver: Receiver
) -> None:
    user_id = await steps.user()
    conversation_id = await steps.conversation(user_id, "hello")
    agent = steps.agent_id
    reply = await emulator.agent_reply(conversation_id, "How can I help?")
    note = await emulator.private_note(conversation_id, "VIP customer")
    await emulator.assign(conversation_id, agent_id=agent, group_id=steps.group_id)
    await emulator.resolve(conversation_id)
    await steps.say(conversation_id, user_id, "one more thing")
    await api.put(f"/conversations/{conversation_id}", json={"status": "resolved"})
    await emulator.drain()

    assert receiver.actions() == [
        "message_create",  # the user's first message, echoed
        "message_create",  # the channel's welcome message
        "message_create",  # the agent's reply
        "message_create",  # the private note
        "conversation_assignment",
        "conversation_resolution",
        "conversation_reopen",
        "message_create",  # the user's message that reopened it
        "conversation_resolution",  # through the API
    ]
    user_echo, welcome, agent_reply, private, *_ = receiver.payloads()
    assert user_echo["actor"] == {"actor_type": "user", "actor_id": user_id}
    assert user_echo["data"]["message"]["message_parts"] == [{"text": {"content": "hello"}}]
    assert ISO_MS.match(user_echo["action_time"])
    assert welcome["actor"]["actor_type"] == "system"
    assert welcome["data"]["message"]["actor_type"] == "system"
    assert agent_reply["data"]["message"] == reply
    assert agent_reply["actor"] == {"actor_type": "agent", "actor_id": agent}
    assert private["data"]["message"] == note and note["message_type"] == "private"

    message = agent_reply["data"]["message"]
    for field in ("id", "conversation_id", "channel_id", "app_id", "user_id", "interaction_id"):
        assert message[field]
    assert message["freshchat_conversation_id"].isdigit()
    assert message["restrictResponse"] is False and message["botsPrivateNote"] is False

    [assignment] = receiver.payloads("conversation_assignment")
    data = assignment["data"]["assignment"]
    assert data["assignor"] == "agent" and data["assignor_id"] == agent
    assert (data["to_agent_id"], data["to_group_id"]) == (agent, steps.group_id)
    assert (data["from_agent_id"], data["from_group_id"]) == (None, None)
    assert data["conversation"]["status"] == "assigned"

    by_agent, by_api = receiver.payloads("conversation_resolution")
    resolve = by_agent["data"]["resolve"]
    assert resolve["resolver"] == "agent" and resolve["resolver_id"] == agent
    assert resolve["conversation"]["conversation_id"] == conversation_id
    assert resolve["conversation"]["status"] == "resolved"
    assert resolve["user"]["id"] == user_id
    assert by_api["data"]["resolve"]["resolver"] == "system"

    reopen = receiver.payloads("conversation_reopen")[0]["data"]["reopen"]
    assert reopen["interaction_id"] != resolve["interaction_id"]


async def test_api_reassignment_reports_from_and_to(
    api: httpx.AsyncClient, emulator: FreshchatEmulator, steps: Steps, receiver: Receiver
) -> None:
    user_id = await steps.user()
    conversation_id = await steps.conversation(user_id)
    url = f"/conversations/{conversation_id}"
    await api.put(url, json={"status": "assigned", "assigned_agent_id": steps.agent_id})
    await api.put(url, json={"assigned_agent_id": None})
    await api.put(url, json={"status": "new"})  # no assignment change, no resolve: no webhook
    await emulator.drain()
    first, second = receiver.payloads("conversation_assignment")
    assert first["actor"]["actor_type"] == "system"
    assert first["data"]["assignment"]["to_agent_id"] == steps.agent_id
    assert second["data"]["assignment"]["from_agent_id"] == steps.agent_id
    assert second["data"]["assignment"]["to_agent_id"] is None
    assert receiver.actions().count("conversation_assignment") == 2


async def test_deliveries_of_a_conversation_keep_creation_order(
    emulator: FreshchatEmulator, steps: Steps, receiver: Receiver
) -> None:
    user_id = await steps.user()
    conversation_id = await steps.conversation(user_id)
    for i in range(20):
        await emulator.agent_reply(conversation_id, f"reply {i}")
    receiver.script.extend([500, 200, 503])  # retries must not reorder anything
    await emulator.drain()
    texts = [
        p["data"]["message"]["message_parts"][0]["text"]["content"]
        for p in receiver.payloads("message_create")
        if p["actor"]["actor_type"] == "agent"
    ]
    assert texts == [f"reply {i}" for i in range(20)]


async def test_failed_deliveries_are_retried_on_schedule(
    emulator: FreshchatEmulator, steps: Steps, receiver: Receiver, clock: FakeClock
) -> None:
    user_id = await steps.user()
    receiver.script.extend([500, 429])
    await steps.conversation(user_id, channel_id=steps.billing_channel)
    await emulator.drain()
    assert [d.headers["x-retry-count"] for d in receiver.deliveries] == ["0", "1", "2"]
    assert len({d.body for d in receiver.deliveries}) == 1
    assert len({d.headers["x-freshchat-signature"] for d in receiver.deliveries}) == 1
    assert clock.sleeps == [1.0, 5.0]
    assert [a.status_code for a in emulator.webhooks.attempts] == [500, 429, 200]


async def test_retries_are_bounded_then_the_next_delivery_goes(
    emulator: FreshchatEmulator, steps: Steps, receiver: Receiver, clock: FakeClock
) -> None:
    user_id = await steps.user()
    receiver.script.extend([500] * 4)  # the first attempt and all three retries fail
    conversation_id = await steps.conversation(user_id, channel_id=steps.billing_channel)
    await emulator.agent_reply(conversation_id, "next")
    await emulator.drain()
    assert [d.headers["x-retry-count"] for d in receiver.deliveries] == ["0", "1", "2", "3", "0"]
    assert clock.sleeps == [1.0, 5.0, 30.0]
    assert receiver.payloads()[-1]["data"]["message"]["actor_type"] == "agent"
    assert emulator.webhooks.pending == 0


async def test_connection_errors_are_retried(webhook_key: WebhookKey, clock: FakeClock) -> None:
    seen: list[str] = []

    async def flaky(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["x-retry-count"])
        if len(seen) == 1:
            raise httpx.ConnectError("connection refused", request=request)
        return httpx.Response(200)

    async with (
        httpx.AsyncClient(transport=httpx.MockTransport(flaky)) as http,
        FreshchatEmulator(
            webhook_url=HOOK_URL, webhook_http=http, key=webhook_key, clock=clock
        ) as fc,
    ):
        user = fc.desk.create_user({"reference_id": "viber:1"})
        async with fc.client(authenticated=True) as api:
            steps = Steps(fc, api)
            await steps.conversation(user.id, channel_id=steps.billing_channel)
        await fc.drain()
        first, second = fc.webhooks.attempts
    assert seen == ["0", "1"]
    assert first.status_code is None and first.error and "ConnectError" in first.error
    assert second.ok


async def test_duplicate_deliveries(
    emulator: FreshchatEmulator, steps: Steps, receiver: Receiver
) -> None:
    emulator.faults.duplicate_webhooks(3)
    user_id = await steps.user()
    await steps.conversation(user_id, channel_id=steps.billing_channel)
    await emulator.drain()
    assert len(receiver.deliveries) == 3
    assert len({(d.body, d.headers["x-freshchat-signature"]) for d in receiver.deliveries}) == 1
    assert all(d.headers["x-retry-count"] == "0" for d in receiver.deliveries)
    with pytest.raises(ValueError):
        emulator.faults.duplicate_webhooks(0)


async def test_drain_waits_for_deliveries_in_flight(
    emulator: FreshchatEmulator, steps: Steps, receiver: Receiver
) -> None:
    receiver.gate = asyncio.Event()
    user_id = await steps.user()
    await steps.conversation(user_id)
    await receiver.entered.wait()
    drained = asyncio.create_task(emulator.drain())
    assert emulator.webhooks.pending == 2 and not drained.done()
    receiver.gate.set()
    await drained
    assert emulator.webhooks.pending == 0 and len(receiver.deliveries) == 2


async def test_aclose_cancels_undelivered_webhooks(
    webhook_key: WebhookKey, receiver: Receiver
) -> None:
    receiver.gate = asyncio.Event()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=receiver.app)) as to_bridge:
        fc = FreshchatEmulator(webhook_url=HOOK_URL, webhook_http=to_bridge, key=webhook_key)
        user = fc.desk.create_user({})
        async with fc.client(authenticated=True) as api:
            await Steps(fc, api).conversation(user.id)
        await receiver.entered.wait()
        await fc.aclose()
        assert fc.webhooks.pending == 0 and receiver.deliveries == []


async def test_without_a_webhook_url_nothing_is_sent_but_all_is_recorded(
    emulator: FreshchatEmulator, steps: Steps, receiver: Receiver
) -> None:
    emulator.webhook_url = None
    user_id = await steps.user()
    await steps.conversation(user_id)
    await emulator.drain()
    assert receiver.deliveries == []
    assert [p["action"] for p in emulator.emitted] == ["message_create", "message_create"]
    with pytest.raises(ValueError):
        emulator.webhook_url = "ftp://bridge.test/hook"


async def test_the_emulator_owns_a_client_when_none_is_given(webhook_key: WebhookKey) -> None:
    # Nothing listens on port 9 (discard): the owned client fails to connect and gives up.
    async with FreshchatEmulator(
        webhook_url="http://127.0.0.1:9/hook", key=webhook_key, retry_delays=()
    ) as fc:
        user = fc.desk.create_user({})
        async with fc.client(authenticated=True) as api:
            await Steps(fc, api).conversation(user.id, channel_id=fc.state.default_channel.id)
        await fc.drain()
        assert [a.error is not None for a in fc.webhooks.attempts] == [True, True]


async def test_marketplace_product_events(
    webhook_key: WebhookKey, receiver: Receiver, clock: FakeClock
) -> None:
    async with (
        httpx.AsyncClient(transport=httpx.ASGITransport(app=receiver.app)) as to_bridge,
        FreshchatEmulator(
            webhook_url=HOOK_URL,
            webhook_http=to_bridge,
            key=webhook_key,
            payload="marketplace",
            clock=clock,
        ) as fc,
        fc.client(authenticated=True) as api,
    ):
        steps = Steps(fc, api)
        user_id = await steps.user("kakao:user-key")
        conversation_id = await steps.conversation(user_id)
        reply = await fc.agent_reply(conversation_id, "hi there")
        await fc.resolve(conversation_id)
        await fc.drain()

    key = advertised_key(webhook_key.public_key_text)
    for delivery in receiver.deliveries:
        signature = base64.b64decode(delivery.headers["x-freshchat-signature"])
        key.verify(signature, delivery.body, padding.PKCS1v15(), hashes.SHA256())
    assert receiver.actions() == [
        "onMessageCreate",
        "onMessageCreate",
        "onMessageCreate",
        "onConversationUpdate",
    ]
    event = receiver.payloads()[2]
    assert event["account_id"] and event["region"] == "US" and event["version"] == "1.0.0"
    assert isinstance(event["timestamp"], int)
    data = event["data"]
    assert data["actor"]["type"] == "agent" and data["actor"]["id"] == steps.agent_id
    assert data["associations"]["user"]["reference_id"] == "kakao:user-key"
    assert data["associations"]["channel"]["id"] == steps.support_channel
    # The quirk: data.message is the conversation; the new message is in messages[].
    assert data["message"]["conversation_id"] == conversation_id
    [message] = data["message"]["messages"]
    assert message["id"] == reply["id"]
    assert message["message_parts"] == [
        {"text": {"content": "hi there"}, "image": None, "file": None}
    ]

    update = receiver.payloads()[3]["data"]
    assert update["conversation"]["status"] == "resolved"
    assert update["changes"]["model_changes"] == {"status": ["new", "resolved"]}
    with pytest.raises(ValueError):
        FreshchatEmulator(payload="carrier-pigeon", key=webhook_key)  # type: ignore[arg-type]
