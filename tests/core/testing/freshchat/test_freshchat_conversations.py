"""Conversations: create, read (sparse), update, and the rules for user messages."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from freshchat_doubles import ISO_MS, UUID, Receiver, Steps

from byoc.testing.freshchat import FreshchatEmulator


def text_message(actor_id: str, text: str = "hi", actor_type: str = "user") -> dict[str, Any]:
    return {
        "message_parts": [{"text": {"content": text}}],
        "actor_type": actor_type,
        "actor_id": actor_id,
    }


async def test_create_returns_the_conversation_and_its_messages(
    api: httpx.AsyncClient, steps: Steps, emulator: FreshchatEmulator
) -> None:
    user_id = await steps.user()
    response = await api.post(
        "/conversations",
        json={
            "status": "new",
            "channel_id": steps.support_channel,
            "assigned_group_id": steps.group_id,
            "app_id": emulator.state.account.app_id,
            "users": [{"id": user_id}],
            "messages": [
                {**text_message(user_id, "첫 메시지"), "channel_id": steps.support_channel}
            ],
            "properties": {"priority": "Low", "cf_region": "West"},
        },
    )
    assert response.status_code == 200
    body = response.json()
    assert UUID.match(body["conversation_id"])
    assert body["status"] == "new" and body["channel_id"] == steps.support_channel
    assert body["user_id"] == user_id and body["assigned_group_id"] == steps.group_id
    assert body["properties"] == {"priority": "Low", "cf_region": "West"}
    assert isinstance(body["conversation_internal_id"], int)
    [message] = body["messages"]
    assert UUID.match(message["id"]) and ISO_MS.match(message["created_time"])
    assert message["message_parts"] == [{"text": {"content": "첫 메시지"}}]
    assert message["actor_type"] == "user" and message["actor_id"] == user_id
    assert message["conversation_id"] == body["conversation_id"]


async def test_a_new_conversation_gets_the_welcome_message_after_its_own(
    emulator: FreshchatEmulator, steps: Steps
) -> None:
    user_id = await steps.user()
    conversation_id = await steps.conversation(user_id, "hello")
    first, welcome = emulator.conversation_messages(conversation_id)
    assert first["actor_type"] == "user"
    assert welcome["actor_type"] == "system" and welcome["message_source"] == "system"
    assert welcome["message_parts"] == [{"text": {"content": "Hi! How can we help you today?"}}]
    assert welcome["created_time"] > first["created_time"]


async def test_a_channel_without_welcome_message_sends_none(
    emulator: FreshchatEmulator, steps: Steps
) -> None:
    user_id = await steps.user()
    conversation_id = await steps.conversation(user_id, channel_id=steps.billing_channel)
    assert [m["actor_type"] for m in emulator.conversation_messages(conversation_id)] == ["user"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"users": [{"id": "00000000-0000-4000-8000-000000000000"}]}, "does not exist"),
        ({"users": []}, "users"),
        ({"users": "me"}, "users"),
        ({"channel_id": "no-such-channel"}, "Channel no-such-channel"),
        ({"channel_id": None}, "channel_id"),
        ({"status": "closed"}, "status"),
        ({"assigned_agent_id": "nobody"}, "Agent nobody"),
        ({"assigned_group_id": "nobody"}, "Group nobody"),
        ({"messages": "hi"}, "messages"),
        ({"properties": ["priority", "Low"]}, "Conversation payload not valid"),
    ],
)
async def test_create_validation(
    api: httpx.AsyncClient, steps: Steps, change: dict[str, Any], message: str
) -> None:
    user_id = await steps.user()
    body = {
        "channel_id": steps.support_channel,
        "users": [{"id": user_id}],
        "messages": [text_message(user_id)],
        **change,
    }
    response = await api.post("/conversations", json=body)
    assert response.status_code == 400
    assert response.json()["code"] == 400 and response.json()["status"] == "INVALID_VALUE"
    assert message in response.json()["message"]
    assert (await api.get(f"/users/{user_id}/conversations")).json() == {"conversations": []}


async def test_a_user_listed_twice_is_one_member(api: httpx.AsyncClient, steps: Steps) -> None:
    user_id = await steps.user()
    response = await api.post(
        "/conversations",
        json={"channel_id": steps.support_channel, "users": [{"id": user_id}, {"id": user_id}]},
    )
    assert response.status_code == 200 and response.json()["messages"] == []
    listed = (await api.get(f"/users/{user_id}/conversations")).json()["conversations"]
    assert listed == [{"id": response.json()["conversation_id"]}]


async def test_create_checks_that_message_actors_are_members(
    api: httpx.AsyncClient, steps: Steps
) -> None:
    ann, bob = await steps.user("viber:ann"), await steps.user("viber:bob")
    response = await api.post(
        "/conversations",
        json={
            "channel_id": steps.support_channel,
            "users": [{"id": ann}],
            "messages": [text_message(bob)],
        },
    )
    assert response.status_code == 400
    assert "not a member" in response.json()["message"]


async def test_agents_may_open_conversations(
    api: httpx.AsyncClient, steps: Steps, receiver: Receiver, emulator: FreshchatEmulator
) -> None:
    user_id = await steps.user()
    response = await api.post(
        "/conversations",
        json={
            "channel_id": steps.billing_channel,
            "users": [{"id": user_id}],
            "messages": [text_message(steps.agent_id, "Your invoice is ready", "agent")],
        },
    )
    assert response.status_code == 200
    await emulator.drain()
    [payload] = receiver.payloads("message_create")
    assert payload["actor"] == {"actor_type": "agent", "actor_id": steps.agent_id}


async def test_get_conversation_is_sparse(api: httpx.AsyncClient, steps: Steps) -> None:
    user_id = await steps.user()
    conversation_id = await steps.conversation(user_id)
    response = await api.get(f"/conversations/{conversation_id}")
    assert response.status_code == 200
    body = response.json()
    assert body["conversation_id"] == conversation_id and body["status"] == "new"
    assert "messages" not in body and "users" not in body
    missing = await api.get("/conversations/missing")
    assert missing.status_code == 404 and missing.json()["status"] == "CONVERSATION_NOT_FOUND"


async def test_put_changes_status_assignment_and_properties(
    api: httpx.AsyncClient, steps: Steps
) -> None:
    user_id = await steps.user()
    conversation_id = await steps.conversation(user_id)
    url = f"/conversations/{conversation_id}"

    assigned = await api.put(url, json={"status": "assigned", "assigned_agent_id": steps.agent_id})
    assert assigned.status_code == 200
    assert assigned.json()["status"] == "assigned"
    assert assigned.json()["assigned_agent_id"] == steps.agent_id
    assert assigned.json()["assigned_org_agent_id"].isdigit()

    grouped = await api.put(url, json={"status": "new", "assigned_group_id": steps.group_id})
    assert grouped.json()["assigned_group_id"] == steps.group_id

    unassigned = await api.put(url, json={"assigned_agent_id": " "})
    assert unassigned.json()["assigned_agent_id"] is None

    await api.put(url, json={"properties": {"priority": "High"}})
    props = await api.put(url, json={"properties": {"cf_region": "West"}})
    assert props.json()["properties"] == {"priority": "High", "cf_region": "West"}

    resolved = await api.put(url, json={"status": "resolved"})
    assert resolved.json()["status"] == "resolved"
    assert (await api.get(url)).json()["status"] == "resolved"


async def test_put_with_properties_as_an_array_is_refused(
    api: httpx.AsyncClient, steps: Steps
) -> None:
    user_id = await steps.user()
    conversation_id = await steps.conversation(user_id)
    response = await api.put(
        f"/conversations/{conversation_id}", json={"properties": [{"priority": "High"}]}
    )
    assert response.status_code == 400
    assert response.json() == {
        "code": 400,
        "status": "INVALID_VALUE",
        "message": "Conversation payload not valid",
    }


@pytest.mark.parametrize(
    "body",
    [
        {"status": "closed"},
        {"status": 3},
        {"assigned_agent_id": "nobody"},
        {"assigned_group_id": 1},
    ],
)
async def test_put_validation(api: httpx.AsyncClient, steps: Steps, body: dict[str, Any]) -> None:
    user_id = await steps.user()
    conversation_id = await steps.conversation(user_id)
    response = await api.put(f"/conversations/{conversation_id}", json=body)
    assert response.status_code == 400
    assert (await api.get(f"/conversations/{conversation_id}")).json()["status"] == "new"


async def test_put_on_a_missing_conversation_is_404(api: httpx.AsyncClient) -> None:
    response = await api.put("/conversations/missing", json={"status": "resolved"})
    assert response.status_code == 404


async def test_posting_a_message_returns_the_message(
    api: httpx.AsyncClient, steps: Steps, emulator: FreshchatEmulator
) -> None:
    user_id = await steps.user()
    conversation_id = await steps.conversation(user_id)
    response = await steps.say(conversation_id, user_id, "second 🙂")
    assert response.status_code == 200
    message = response.json()
    assert UUID.match(message["id"]) and ISO_MS.match(message["created_time"])
    assert message["user_id"] == user_id and message["message_source"] == "api"
    assert emulator.conversation_messages(conversation_id)[-1] == message


async def test_agents_and_bots_post_too(api: httpx.AsyncClient, steps: Steps) -> None:
    user_id = await steps.user()
    conversation_id = await steps.conversation(user_id)
    url = f"/conversations/{conversation_id}/messages"
    agent = await api.post(url, json=text_message(steps.agent_id, "hi", "agent"))
    note = await api.post(
        url, json={**text_message(steps.agent_id, "vip", "agent"), "message_type": "private"}
    )
    bot = await api.post(
        url, json={"message_parts": [{"text": {"content": "beep"}}], "actor_type": "bot"}
    )
    assert [agent.status_code, note.status_code, bot.status_code] == [200, 200, 200]
    assert note.json()["message_type"] == "private"
    assert bot.json()["actor_type"] == "bot" and bot.json()["actor_id"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"actor_id": "00000000-0000-4000-8000-000000000000"}, "does not exist"),
        ({"actor_type": "agent"}, "Agent"),
        ({"actor_type": "system"}, "actor_type"),
        ({"actor_id": None}, "actor_id"),
        ({"message_type": "private"}, "Only agents"),
        ({"message_type": "system"}, "message_type"),
        ({"message_parts": []}, "message_parts"),
        ({"message_parts": None}, "message_parts"),
        ({"message_parts": [{}]}, "exactly one part"),
        ({"message_parts": [{"text": {"content": "a"}, "image": {"url": "u"}}]}, "exactly one"),
        ({"message_parts": [{"sticker": {"id": 1}}]}, "unknown part"),
        ({"message_parts": ["hi"]}, "object"),
        ({"message_parts": [{"text": "hi"}]}, "object"),
        ({"message_parts": [{"text": {"content": 5}}]}, "text.content"),
        ({"message_parts": [{"file": {"name": "a.pdf"}}]}, "fileHash"),
        ({"message_parts": [{"url_button": {"url": "https://x"}}]}, "url_button.label"),
        ({"message_parts": [{"collection": {"sub_parts": "x"}}]}, "sub_parts"),
        ({"reply_parts": [{"nope": {}}]}, "reply_parts"),
        ({"user_id": 7}, "user_id"),
    ],
)
async def test_message_validation(
    api: httpx.AsyncClient, steps: Steps, change: dict[str, Any], message: str
) -> None:
    user_id = await steps.user()
    conversation_id = await steps.conversation(user_id)
    response = await api.post(
        f"/conversations/{conversation_id}/messages", json={**text_message(user_id), **change}
    )
    assert response.status_code == 400, response.text
    assert response.json()["status"] == "INVALID_VALUE"
    assert message in response.json()["message"]


async def test_a_user_must_be_a_member_to_post(api: httpx.AsyncClient, steps: Steps) -> None:
    ann, bob = await steps.user("viber:ann"), await steps.user("viber:bob")
    conversation_id = await steps.conversation(ann)
    response = await steps.say(conversation_id, bob, "let me in")
    assert response.status_code == 400 and "not a member" in response.json()["message"]


async def test_every_part_kind_is_accepted(api: httpx.AsyncClient, steps: Steps) -> None:
    user_id = await steps.user()
    conversation_id = await steps.conversation(user_id)
    parts = [
        {"text": {"content": "hi"}, "image": None, "file": None},
        {"image": {"url": "https://cdn.example/a.png"}},
        {"file": {"url": "https://cdn.example/a.pdf", "name": "a.pdf"}},
        {"video": {"url": "https://cdn.example/a.mp4", "content_type": "video/mp4"}},
        {"email": {"content": "hello", "subject": "Re"}},
        {"url_button": {"url": "https://x", "label": "Open", "target": "_blank"}},
        {"quick_reply_button": {"label": "Yes", "payload": "yes"}},
        {"callback": {"label": "Go", "payload": "go"}},
        {"collection": {"sub_parts": [{"quick_reply_button": {"label": "No"}}]}},
        {"reference": {"label": "Order", "reference_id": "42"}},
        {
            "template_content": {
                "type": "carousel",
                "sections": [{"name": "cards", "parts": [{"text": {"content": "card"}}]}],
            }
        },
    ]
    response = await api.post(
        f"/conversations/{conversation_id}/messages",
        json={**text_message(user_id), "message_parts": parts},
    )
    assert response.status_code == 200, response.text
    stored = response.json()["message_parts"]
    assert stored[0] == {"text": {"content": "hi"}}
    assert stored[1:] == parts[1:]


async def test_a_user_message_into_an_older_conversation_is_refused(
    api: httpx.AsyncClient, steps: Steps, emulator: FreshchatEmulator
) -> None:
    user_id = await steps.user()
    old = await steps.conversation(user_id)
    new = await steps.conversation(user_id)
    response = await steps.say(old, user_id, "late")
    assert response.status_code == 400
    assert response.json() == {
        "code": 400,
        "status": "INVALID_VALUE",
        "message": f"Conversation {old} is not the latest conversation",
    }
    assert (await steps.say(new, user_id, "fine")).status_code == 200
    # Agents may still write into the old one, and other channels have their own latest.
    agent = await api.post(
        f"/conversations/{old}/messages", json=text_message(steps.agent_id, "ok", "agent")
    )
    assert agent.status_code == 200
    await steps.conversation(user_id, channel_id=steps.billing_channel)
    assert (await steps.say(new, user_id, "still latest here")).status_code == 200
    assert [m["message_parts"][0]["text"]["content"] for m in emulator.conversation_messages(old)][
        -1
    ] == "ok"


async def test_a_user_message_reopens_a_resolved_latest_conversation(
    api: httpx.AsyncClient, steps: Steps, emulator: FreshchatEmulator, receiver: Receiver
) -> None:
    user_id = await steps.user()
    conversation_id = await steps.conversation(user_id)
    await emulator.resolve(conversation_id)
    response = await steps.say(conversation_id, user_id, "me again")
    assert response.status_code == 200
    assert (await api.get(f"/conversations/{conversation_id}")).json()["status"] == "reopened"
    await emulator.drain()
    assert receiver.actions()[-3:] == [
        "conversation_resolution",
        "conversation_reopen",
        "message_create",
    ]
    reopen = receiver.payloads("conversation_reopen")[0]["data"]["reopen"]
    assert reopen["reopener"] == "user" and reopen["reopener_id"] == user_id
    assert reopen["conversation"]["status"] == "reopened"


async def test_messages_are_listed_newest_first_and_paged_by_from_time(
    api: httpx.AsyncClient, steps: Steps
) -> None:
    user_id = await steps.user()
    conversation_id = await steps.conversation(user_id, "m0", channel_id=steps.billing_channel)
    for i in range(1, 7):
        assert (await steps.say(conversation_id, user_id, f"m{i}")).status_code == 200
    url = f"/conversations/{conversation_id}/messages"

    everything = (await api.get(url)).json()
    assert "link" not in everything
    texts = [m["message_parts"][0]["text"]["content"] for m in everything["messages"]]
    assert texts == ["m6", "m5", "m4", "m3", "m2", "m1", "m0"]

    page = (await api.get(url, params={"items_per_page": 3})).json()
    walked: list[str] = []
    while True:
        walked += [m["message_parts"][0]["text"]["content"] for m in page["messages"]]
        if "link" not in page:
            break
        link = page["link"]
        assert link["type"] == "GET" and "from_time=" in link["href"]
        assert link["href"].startswith(f"/v2{url}?page=1&items_per_page=3&from_time=")
        assert link["href"].endswith(page["messages"][-1]["created_time"])
        page = (await api.get(link["href"].removeprefix("/v2"))).json()
    assert walked == texts

    second = (await api.get(url, params={"items_per_page": 3, "page": 2})).json()
    assert [m["message_parts"][0]["text"]["content"] for m in second["messages"]] == [
        "m3",
        "m2",
        "m1",
    ]


async def test_message_listing_errors(api: httpx.AsyncClient, steps: Steps) -> None:
    user_id = await steps.user()
    conversation_id = await steps.conversation(user_id)
    url = f"/conversations/{conversation_id}/messages"
    assert (await api.get(url, params={"from_time": "soon"})).status_code == 400
    assert (await api.get(url, params={"items_per_page": "0"})).status_code == 400
    assert (await api.get("/conversations/missing/messages")).status_code == 404
    assert (await steps.say("missing", user_id, "hi")).status_code == 404
