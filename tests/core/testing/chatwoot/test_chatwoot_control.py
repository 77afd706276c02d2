"""The `/_emulator` control endpoints drive the emulator over HTTP as its methods do."""

from __future__ import annotations

import base64

import httpx
from chatwoot_doubles import ACCOUNT, Receiver, Steps

from byoc.testing.chatwoot import ChatwootEmulator


async def test_an_agent_replies_with_a_file_over_http(
    emulator: ChatwootEmulator, control: httpx.AsyncClient, steps: Steps, receiver: Receiver
) -> None:
    conversation = await steps.conversation(await steps.contact("viber:a"))
    answer = await control.post(
        f"/_emulator/conversations/{conversation}/reply",
        json={
            "text": "the form",
            "attachments": [
                {
                    "name": "form.pdf",
                    "content_type": "application/pdf",
                    "data_base64": base64.b64encode(b"%PDF-1.4").decode(),
                }
            ],
        },
    )
    assert answer.json()["attachments"][0]["file_type"] == "file"
    assert (await control.post("/_emulator/drain")).json() == {"pending": 0}
    assert receiver.payloads("message_created")[-1]["content"] == "the form"


async def test_notes_statuses_and_readers(
    emulator: ChatwootEmulator, control: httpx.AsyncClient, steps: Steps
) -> None:
    contact = await steps.contact("viber:a")
    conversation = await steps.conversation(contact)
    note = await control.post(f"/_emulator/conversations/{conversation}/note", json={"text": "VIP"})
    assert note.json()["private"] is True
    status = await control.post(
        f"/_emulator/conversations/{conversation}/status", json={"status": "pending"}
    )
    assert status.json()["status"] == "pending"
    listed = await control.get("/_emulator/conversations", params={"contact_id": contact["id"]})
    assert [c["id"] for c in listed.json()["conversations"]] == [conversation]
    messages = await control.get(f"/_emulator/conversations/{conversation}/messages")
    assert [m["message_type"] for m in messages.json()["messages"]] == [0, 1, 2]
    found = await control.get("/_emulator/contacts", params={"identifier": "viber:a"})
    assert [c["id"] for c in found.json()["contacts"]] == [contact["id"]]


async def test_deleting_makes_the_api_answer_404(
    control: httpx.AsyncClient, api: httpx.AsyncClient, steps: Steps
) -> None:
    contact = await steps.contact("viber:a")
    conversation = await steps.conversation(contact)
    await control.delete(f"/_emulator/conversations/{conversation}")
    assert (await api.get(f"{ACCOUNT}/conversations/{conversation}")).status_code == 404
    await control.delete(f"/_emulator/contacts/{contact['id']}")
    assert (await api.get(f"{ACCOUNT}/contacts/{contact['id']}")).status_code == 404
    assert (await steps.contact("viber:a"))["identifier"] == "viber:a"  # free again


async def test_the_inbox_settings(emulator: ChatwootEmulator, control: httpx.AsyncClient) -> None:
    changed = await control.put(
        "/_emulator/inbox",
        json={
            "webhook_url": "http://elsewhere.test/hook",
            "signing": "hmac_token",
            "greeting_message": "Hi!",
            "lock_to_single_conversation": True,
        },
    )
    shown = changed.json()
    assert (shown["webhook_url"], shown["signing"], shown["greeting_message"]) == (
        "http://elsewhere.test/hook",
        "hmac_token",
        "Hi!",
    )
    assert shown["secret"] == emulator.inbox.secret and emulator.inbox.lock_to_single_conversation
    for bad in (
        {"signing": "rot13"},
        {"webhook_url": "ftp://x"},
        {"lock_to_single_conversation": 1},
    ):
        assert (await control.put("/_emulator/inbox", json=bad)).status_code == 422


async def test_faults_throttles_and_calls(
    emulator: ChatwootEmulator, control: httpx.AsyncClient, api: httpx.AsyncClient
) -> None:
    armed = await control.post(
        "/_emulator/faults", json={"kind": "status", "status": 503, "times": 1}
    )
    assert armed.json()["faults"][0]["remaining"] == 1
    assert (await control.post("/_emulator/faults", json={"kind": "nope"})).status_code == 422
    copies = await control.post(
        "/_emulator/faults", json={"kind": "duplicate_webhooks", "copies": 3}
    )
    assert copies.json()["webhook_copies"] == 3
    assert (await api.get(f"{ACCOUNT}/inboxes")).status_code == 503
    cleared = await control.delete("/_emulator/faults")
    assert cleared.json() == {"faults": [], "webhook_copies": 1}
    throttles = await control.put(
        "/_emulator/throttles",
        json={"name": "req/ip", "limit": 5, "period": 10, "retry_after_header": True},
    )
    assert {"name": "req/ip", "limit": 5, "period": 10.0} in throttles.json()["throttles"]
    calls = (await control.get("/_emulator/calls")).json()
    assert calls["total"] == 1
    assert (await control.delete("/_emulator/calls")).json()["total"] == 0


async def test_webhook_attempts_are_listed(
    control: httpx.AsyncClient, steps: Steps, receiver: Receiver
) -> None:
    receiver.script.append(500)
    await steps.conversation(await steps.contact("viber:a"))
    await control.post("/_emulator/drain")
    attempts = (await control.get("/_emulator/webhooks")).json()["attempts"]
    assert [(a["event"], a["attempt"], a["status_code"]) for a in attempts[:2]] == [
        ("conversation_created", 0, 500),
        ("conversation_created", 1, 200),
    ]


async def test_a_control_token_guards_the_control_endpoints() -> None:
    emulator = ChatwootEmulator(control_token="ctl")
    async with emulator, emulator.client() as client:
        assert (await client.get("/_emulator/inbox")).status_code == 401
        allowed = await client.get("/_emulator/inbox", headers={"Authorization": "Bearer ctl"})
        assert allowed.status_code == 200
