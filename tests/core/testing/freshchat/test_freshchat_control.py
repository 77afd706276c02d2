"""Call counting and the `/_emulator` control endpoints (agent actions, state, webhook routing)."""

from __future__ import annotations

import httpx
import pytest
from freshchat_doubles import HOOK_URL, Receiver, Steps

from byoc.testing.freshchat import ApiError, FreshchatEmulator, WebhookKey


async def test_calls_are_counted_per_route_pattern(
    api: httpx.AsyncClient, emulator: FreshchatEmulator, steps: Steps, control: httpx.AsyncClient
) -> None:
    user_id = await steps.user()
    conversation_id = await steps.conversation(user_id)
    await steps.say(conversation_id, user_id, "one")
    await steps.say(conversation_id, user_id, "two")
    await api.get("/users", params={"reference_id": "viber:ann"})
    async with emulator.client() as anonymous:
        await anonymous.get("/channels")  # refused calls count too: the client made them
    await control.get("/_emulator/faults")  # control calls do not
    await emulator.agent_reply(conversation_id, "agent actions do not either")

    assert emulator.calls == {
        ("POST", "/v2/users"): 1,
        ("POST", "/v2/conversations"): 1,
        ("POST", "/v2/conversations/{id}/messages"): 2,
        ("GET", "/v2/users"): 1,
        ("GET", "/v2/channels"): 1,
    }
    assert emulator.total_calls() == 6
    listed = (await control.get("/_emulator/calls")).json()
    assert listed["total"] == 6
    assert {"method": "POST", "route": "/v2/conversations/{id}/messages", "count": 2} in listed[
        "calls"
    ]
    assert (await control.delete("/_emulator/calls")).json() == {"calls": [], "total": 0}
    assert emulator.total_calls() == 0
    await api.get("/groups")
    emulator.reset_calls()
    assert emulator.calls == {}


async def test_agent_reply_with_every_kind_of_part(
    control: httpx.AsyncClient, emulator: FreshchatEmulator, steps: Steps, receiver: Receiver
) -> None:
    user_id = await steps.user()
    conversation_id = await steps.conversation(user_id)
    parts = [
        {"image": {"url": "https://cdn.example/a.png"}},
        {"file": {"url": "https://cdn.example/a.pdf", "name": "a.pdf"}},
        {"url_button": {"url": "https://example.com", "label": "Open"}},
    ]
    reply_parts = [
        {
            "collection": {
                "sub_parts": [
                    {"quick_reply_button": {"label": "Yes"}},
                    {"quick_reply_button": {"label": "No"}},
                ]
            }
        }
    ]
    response = await control.post(
        f"/_emulator/conversations/{conversation_id}/reply",
        json={"text": "Here you go", "parts": parts, "reply_parts": reply_parts},
    )
    assert response.status_code == 200, response.text
    message = response.json()
    assert message["actor_type"] == "agent" and message["actor_id"] == steps.agent_id
    assert message["message_source"] == "web"
    assert message["message_parts"] == [{"text": {"content": "Here you go"}}, *parts]
    assert message["reply_parts"] == reply_parts
    await emulator.drain()
    assert receiver.payloads("message_create")[-1]["data"]["message"] == message


@pytest.mark.parametrize(
    ("path", "body", "status"),
    [
        ("/_emulator/conversations/missing/reply", {"text": "hi"}, 404),
        ("/_emulator/conversations/{id}/reply", {}, 400),
        ("/_emulator/conversations/{id}/reply", {"parts": [{"gif": {}}]}, 400),
        ("/_emulator/conversations/{id}/reply", {"text": 5}, 400),
        ("/_emulator/conversations/{id}/reply", {"text": "hi", "parts": 5}, 400),
        ("/_emulator/conversations/{id}/reply", {"text": "hi", "reply_parts": {}}, 400),
        ("/_emulator/conversations/{id}/reply", {"text": "hi", "agent_id": "nobody"}, 400),
        ("/_emulator/conversations/{id}/note", {}, 400),
        ("/_emulator/conversations/{id}/assign", {"agent_id": "nobody"}, 400),
        ("/_emulator/conversations/missing/resolve", {}, 404),
    ],
)
async def test_agent_action_refusals(
    control: httpx.AsyncClient, steps: Steps, path: str, body: dict[str, object], status: int
) -> None:
    user_id = await steps.user()
    conversation_id = await steps.conversation(user_id)
    response = await control.post(path.format(id=conversation_id), json=body)
    assert response.status_code == status, response.text
    assert response.json()["code"] == status


async def test_note_resolve_reopen_assign_over_http(
    control: httpx.AsyncClient, emulator: FreshchatEmulator, steps: Steps, receiver: Receiver
) -> None:
    user_id = await steps.user()
    conversation_id = await steps.conversation(user_id)
    base = f"/_emulator/conversations/{conversation_id}"
    note = (await control.post(f"{base}/note", json={"text": "check billing"})).json()
    assert note["message_type"] == "private"
    assigned = (await control.post(f"{base}/assign", json={"agent_id": steps.agent_id})).json()
    assert assigned["status"] == "assigned" and assigned["assigned_agent_id"] == steps.agent_id
    grouped = (await control.post(f"{base}/assign", json={"group_id": steps.group_id})).json()
    assert grouped["assigned_group_id"] == steps.group_id
    assert grouped["assigned_agent_id"] == steps.agent_id
    assert (await control.post(f"{base}/resolve")).json()["status"] == "resolved"
    assert (await control.post(f"{base}/reopen", json={})).json()["status"] == "reopened"
    await emulator.drain()
    assert receiver.actions()[2:] == [
        "message_create",
        "conversation_assignment",
        "conversation_assignment",
        "conversation_resolution",
        "conversation_reopen",
    ]
    reopen = receiver.payloads("conversation_reopen")[0]["data"]["reopen"]
    assert reopen["reopener"] == "agent" and reopen["reopener_id"] == steps.agent_id


async def test_reading_state_over_http(
    control: httpx.AsyncClient, emulator: FreshchatEmulator, steps: Steps
) -> None:
    ann = await steps.user("viber:ann")
    await steps.user("viber:bob")
    first = await steps.conversation(ann, "first")
    second = await steps.conversation(ann, "second", channel_id=steps.billing_channel)
    await emulator.agent_reply(first, "answer")

    users = (await control.get("/_emulator/users", params={"reference_id": "viber:ann"})).json()
    assert [u["id"] for u in users["users"]] == [ann]
    assert len((await control.get("/_emulator/users")).json()["users"]) == 2
    conversations = (await control.get("/_emulator/conversations")).json()["conversations"]
    assert [c["conversation_id"] for c in conversations] == [second, first]
    messages = (await control.get(f"/_emulator/conversations/{first}/messages")).json()
    assert [m["actor_type"] for m in messages["messages"]] == ["user", "system", "agent"]
    assert (await control.get("/_emulator/conversations/missing/messages")).status_code == 404


async def test_public_key_and_webhook_routing_over_http(
    control: httpx.AsyncClient, emulator: FreshchatEmulator, steps: Steps, receiver: Receiver
) -> None:
    key = (await control.get("/_emulator/public-key")).json()
    assert key == {
        "public_key_text": emulator.public_key_text,
        "public_key_pem": emulator.public_key_pem,
    }
    state = (await control.get("/_emulator/webhook")).json()
    assert state == {"url": HOOK_URL, "payload": "webhook", "pending": 0, "attempts": []}

    off = await control.put("/_emulator/webhook", json={"url": None})
    assert off.json()["url"] is None
    user_id = await steps.user()
    await steps.conversation(user_id, channel_id=steps.billing_channel)
    await control.put("/_emulator/webhook", json={"url": HOOK_URL, "payload": "marketplace"})
    await emulator.agent_reply(next(iter(emulator.state.conversations)), "hi")
    drained = await control.post("/_emulator/drain")
    assert drained.json() == {"pending": 0}
    assert receiver.actions() == ["onMessageCreate"]
    attempts = (await control.get("/_emulator/webhook")).json()["attempts"]
    assert attempts == [
        {
            "action": "onMessageCreate",
            "conversation_id": next(iter(emulator.state.conversations)),
            "retry_count": 0,
            "status_code": 200,
            "error": None,
        }
    ]
    for bad in ({"url": "gopher://x"}, {"url": 5}, {"payload": "fax"}):
        response = await control.put("/_emulator/webhook", json=bad)
        assert response.status_code == 400
    assert emulator.webhook_url == HOOK_URL and emulator.payload == "marketplace"
    assert (await control.put("/_emulator/webhook", content=b"{")).status_code == 400


async def test_a_control_token_guards_the_control_endpoints(webhook_key: WebhookKey) -> None:
    async with (
        FreshchatEmulator(key=webhook_key, control_token="ops") as fc,
        fc.client(authenticated=True) as api,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=fc.app), base_url=fc.public_url
        ) as client,
    ):
        upload = await api.post("/images/upload", files={"image": ("a.gif", b"GIF89a\x01\x00")})
        refused = await client.get("/_emulator/public-key")
        ops = {"Authorization": "Bearer ops"}
        allowed = await client.get("/_emulator/public-key", headers=ops)
        api_token = await client.get(
            "/_emulator/public-key", headers={"Authorization": "Bearer test-token"}
        )
        file = await client.get(upload.json()["url"])
    assert refused.status_code == 401 and refused.json()["status"] == "UNAUTHORIZED"
    assert allowed.status_code == 200 and api_token.status_code == 401
    assert file.status_code == 200 and file.content == b"GIF89a\x01\x00"


async def test_python_agent_actions_raise_api_errors(
    emulator: FreshchatEmulator, steps: Steps
) -> None:
    with pytest.raises(ApiError) as missing:
        await emulator.agent_reply("missing", "hi")
    assert missing.value.code == 404
    user_id = await steps.user()
    conversation_id = await steps.conversation(user_id)
    with pytest.raises(ApiError) as empty:
        await emulator.agent_reply(conversation_id)
    assert empty.value.body()["status"] == "INVALID_VALUE"
