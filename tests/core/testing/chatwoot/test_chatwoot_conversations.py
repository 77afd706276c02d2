"""Conversations and messages: sessions, the outgoing default, attachments, statuses, paging."""

from __future__ import annotations

import httpx
from chatwoot_doubles import ACCOUNT, Steps

from byoc.testing.chatwoot import ChatwootEmulator, FormFile

PNG = b"\x89PNG\r\n\x1a\n" + bytes(40)


async def test_a_conversation_comes_from_a_contact_and_its_source_id(
    api: httpx.AsyncClient, steps: Steps
) -> None:
    contact = await steps.contact("viber:a")
    answer = await api.post(
        f"{ACCOUNT}/conversations",
        json={"source_id": "viber:a", "inbox_id": 1, "contact_id": contact["id"]},
    )
    conversation = answer.json()
    assert conversation["id"] == 1  # the display id, counted per account
    assert conversation["meta"]["sender"]["identifier"] == "viber:a"
    assert (conversation["inbox_id"], conversation["status"], conversation["messages"]) == (
        1,
        "open",
        [],
    )
    # Each call makes a new conversation (the inbox does not lock contacts to one).
    again = await api.post(
        f"{ACCOUNT}/conversations",
        json={"source_id": "viber:a", "inbox_id": 1, "contact_id": contact["id"]},
    )
    assert again.json()["id"] == 2
    shown = (await api.get(f"{ACCOUNT}/contacts/{contact['id']}")).json()["payload"]
    assert [s["source_id"] for s in shown["contact_inboxes"]] == ["viber:a"]


async def test_without_a_source_id_each_conversation_gets_a_new_session(
    api: httpx.AsyncClient, steps: Steps
) -> None:
    contact = await steps.contact("viber:a")
    for _ in range(2):
        await api.post(
            f"{ACCOUNT}/conversations", json={"inbox_id": 1, "contact_id": contact["id"]}
        )
    shown = (await api.get(f"{ACCOUNT}/contacts/{contact['id']}")).json()["payload"]
    assert len(shown["contact_inboxes"]) == 3


async def test_a_source_id_alone_must_name_an_existing_session(
    api: httpx.AsyncClient, steps: Steps
) -> None:
    await steps.contact("viber:a")
    assert (
        await api.post(f"{ACCOUNT}/conversations", json={"source_id": "viber:a"})
    ).status_code == 200
    missing = await api.post(f"{ACCOUNT}/conversations", json={"source_id": "viber:zz"})
    assert (missing.status_code, missing.json()) == (404, {"error": "Resource could not be found"})


async def test_a_first_message_without_a_type_is_outgoing(
    api: httpx.AsyncClient, steps: Steps
) -> None:
    contact = await steps.contact("viber:a")
    answer = await api.post(
        f"{ACCOUNT}/conversations",
        json={
            "source_id": "viber:a",
            "inbox_id": 1,
            "contact_id": contact["id"],
            "message": {"content": "hello"},
        },
    )
    [message] = answer.json()["messages"]
    # Chatwoot's default: the user's words would go back to the user as an agent's reply.
    assert (message["message_type"], message["sender"]["type"]) == (1, "user")


async def test_an_incoming_message_is_the_contacts(api: httpx.AsyncClient, steps: Steps) -> None:
    contact = await steps.contact("viber:a")
    conversation = await steps.conversation(contact, "first")
    message = await steps.incoming(conversation, "second", source_id="viber:msg-2")
    assert message["message_type"] == 0 and message["conversation_id"] == conversation
    assert message["sender"] == {**message["sender"], "type": "contact", "id": contact["id"]}
    assert message["source_id"] == "viber:msg-2"
    assert isinstance(message["created_at"], int)


async def test_only_api_inboxes_take_incoming_messages(
    emulator: ChatwootEmulator, api: httpx.AsyncClient, steps: Steps
) -> None:
    contact = await steps.contact("viber:a")
    created = await api.post(
        f"{ACCOUNT}/conversations",
        json={"source_id": "web-1", "inbox_id": 2, "contact_id": contact["id"]},
    )
    refused = await api.post(
        f"{ACCOUNT}/conversations/{created.json()['id']}/messages",
        json={"content": "x", "message_type": "incoming"},
    )
    assert (refused.status_code, refused.json()) == (
        422,
        {"error": "Incoming messages are only allowed in Api inboxes"},
    )


async def test_attachments_travel_as_multipart_in_the_message_call(
    api: httpx.AsyncClient, steps: Steps
) -> None:
    contact = await steps.contact("viber:a")
    conversation = await steps.conversation(contact)
    answer = await api.post(
        f"{ACCOUNT}/conversations/{conversation}/messages",
        data={"content": "look", "message_type": "incoming", "private": "false"},
        files=[
            ("attachments[]", ("a.png", PNG, "image/png")),
            ("attachments[]", ("clip.mp4", b"\x00\x00\x00\x18ftypmp42", "video/mp4")),
            ("attachments[]", ("note.txt", "안녕".encode(), "text/plain")),
        ],
    )
    message = answer.json()
    assert (message["content"], message["private"], message["message_type"]) == ("look", False, 0)
    kinds = [(a["file_type"], a["extension"], a["file_size"]) for a in message["attachments"]]
    assert kinds == [("image", "png", len(PNG)), ("video", "mp4", 12), ("file", "txt", 6)]
    # Anyone holding the URL can fetch the file, after Active Storage's redirect.
    served = await api.get(message["attachments"][0]["data_url"], follow_redirects=True)
    assert (served.content, served.headers["content-type"]) == (PNG, "image/png")
    redirect = await api.get(message["attachments"][0]["data_url"])
    assert redirect.status_code == 302


async def test_a_first_message_may_carry_attachments(api: httpx.AsyncClient, steps: Steps) -> None:
    contact = await steps.contact("viber:a")
    answer = await api.post(
        f"{ACCOUNT}/conversations",
        data={
            "source_id": "viber:a",
            "inbox_id": "1",
            "contact_id": str(contact["id"]),
            "message[content]": "photo",
            "message[message_type]": "incoming",
        },
        files=[("message[attachments][]", ("a.png", PNG, "image/png"))],
    )
    [message] = answer.json()["messages"]
    assert message["content"] == "photo" and message["attachments"][0]["file_type"] == "image"


async def test_at_most_15_attachments(api: httpx.AsyncClient, steps: Steps) -> None:
    contact = await steps.contact("viber:a")
    conversation = await steps.conversation(contact)
    answer = await api.post(
        f"{ACCOUNT}/conversations/{conversation}/messages",
        data={"message_type": "incoming"},
        files=[("attachments[]", (f"{i}.png", PNG, "image/png")) for i in range(16)],
    )
    assert (answer.status_code, answer.json()) == (
        422,
        {"message": "Attachments exceeded maximum allowed", "attributes": ["attachments"]},
    )


async def test_content_is_limited_and_a_bad_body_is_a_400(
    api: httpx.AsyncClient, steps: Steps
) -> None:
    contact = await steps.contact("viber:a")
    conversation = await steps.conversation(contact)
    url = f"{ACCOUNT}/conversations/{conversation}/messages"
    long = await api.post(url, json={"content": "x" * 150_001, "message_type": "incoming"})
    assert long.json()["attributes"] == ["content"]
    broken = await api.post(url, content=b"{", headers={"content-type": "application/json"})
    assert broken.status_code == 400
    wrong = await api.post(url, json={"content": "x", "message_type": "sideways"})
    assert wrong.status_code == 422


async def test_an_incoming_message_reopens_a_resolved_conversation(
    emulator: ChatwootEmulator, api: httpx.AsyncClient, steps: Steps
) -> None:
    contact = await steps.contact("viber:a")
    conversation = await steps.conversation(contact)
    toggled = await api.post(
        f"{ACCOUNT}/conversations/{conversation}/toggle_status", json={"status": "resolved"}
    )
    assert toggled.json()["payload"]["current_status"] == "resolved"
    await steps.incoming(conversation, "me again")
    shown = (await api.get(f"{ACCOUNT}/conversations/{conversation}")).json()
    assert shown["status"] == "open"
    # Each change left an activity message (never sent to webhooks).
    kinds = [m["message_type"] for m in emulator.conversation_messages(conversation)]
    assert kinds == [0, 2, 2, 0]


async def test_toggle_without_a_status_flips_open_and_resolved(
    api: httpx.AsyncClient, steps: Steps
) -> None:
    contact = await steps.contact("viber:a")
    conversation = await steps.conversation(contact)
    url = f"{ACCOUNT}/conversations/{conversation}/toggle_status"
    assert (await api.post(url)).json()["payload"]["current_status"] == "resolved"
    assert (await api.post(url)).json()["payload"]["current_status"] == "open"
    assert (await api.post(url, json={"status": "closed"})).status_code == 422


async def test_messages_are_the_latest_20_oldest_first_and_page_backwards(
    api: httpx.AsyncClient, steps: Steps
) -> None:
    contact = await steps.contact("viber:a")
    conversation = await steps.conversation(contact, "m0")
    for index in range(1, 25):
        await steps.incoming(conversation, f"m{index}")
    url = f"{ACCOUNT}/conversations/{conversation}/messages"
    latest = (await api.get(url)).json()
    contents = [m["content"] for m in latest["payload"]]
    assert contents == [f"m{i}" for i in range(5, 25)]
    assert latest["meta"]["contact"]["id"] == contact["id"]
    older = (await api.get(url, params={"before": latest["payload"][0]["id"]})).json()
    assert [m["content"] for m in older["payload"]] == [f"m{i}" for i in range(5)]


async def test_the_contacts_conversations_are_the_latest_activity_first(
    api: httpx.AsyncClient, steps: Steps
) -> None:
    contact = await steps.contact("viber:a")
    first = await steps.conversation(contact, "one")
    second = await steps.conversation(contact, "two")
    await steps.incoming(first, "back to the first")
    listed = (await api.get(f"{ACCOUNT}/contacts/{contact['id']}/conversations")).json()
    assert [c["id"] for c in listed["payload"]] == [first, second]


async def test_an_inbox_can_lock_contacts_to_one_conversation(
    emulator: ChatwootEmulator, api: httpx.AsyncClient, steps: Steps
) -> None:
    emulator.inbox.lock_to_single_conversation = True
    contact = await steps.contact("viber:a")
    assert await steps.conversation(contact, "one") == await steps.conversation(contact, "two")


async def test_a_deleted_conversation_is_not_found(
    emulator: ChatwootEmulator, api: httpx.AsyncClient, steps: Steps
) -> None:
    contact = await steps.contact("viber:a")
    conversation = await steps.conversation(contact)
    await emulator.delete_conversation(conversation)
    answer = await api.post(
        f"{ACCOUNT}/conversations/{conversation}/messages",
        json={"content": "x", "message_type": "incoming"},
    )
    assert (answer.status_code, answer.json()) == (404, {"error": "Resource could not be found"})


async def test_agent_replies_notes_and_bot_messages(
    emulator: ChatwootEmulator, steps: Steps
) -> None:
    contact = await steps.contact("viber:a")
    conversation = await steps.conversation(contact)
    reply = await emulator.agent_reply(
        conversation,
        "here you go",
        attachments=[
            FormFile(filename="invoice.pdf", content_type="application/pdf", data=b"%PDF")
        ],
    )
    assert (reply["message_type"], reply["sender"]["type"], reply["private"]) == (1, "user", False)
    assert reply["attachments"][0]["file_type"] == "file"
    note = await emulator.private_note(conversation, "VIP")
    assert (note["message_type"], note["private"]) == (1, True)
    bot = await emulator.agent_reply(conversation, "beep", bot=True)
    assert bot["sender"]["type"] == "agent_bot"
