"""Webhook bodies into events: the emulator's real deliveries, edge shapes, and any bytes."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from byoc.chatwoot import parse_webhook_body
from byoc.errors import MalformedPayload
from byoc.messaging import AgentMessage, ConversationChanged
from byoc.models import File, Text
from byoc.testing.chatwoot import ChatwootEmulator, FormFile

from .conftest import Inbox

ACCOUNT = "/api/v1/accounts/1"


async def _conversation(chatwoot: ChatwootEmulator, text: str = "hello") -> tuple[int, int]:
    async with chatwoot.client(authenticated=True) as api:
        created = await api.post(
            f"{ACCOUNT}/contacts",
            json={"inbox_id": 1, "identifier": "viber:a", "source_id": "viber:a"},
        )
        contact = created.json()["payload"]["contact"]["id"]
        answer = await api.post(
            f"{ACCOUNT}/conversations",
            json={
                "source_id": "viber:a",
                "inbox_id": 1,
                "contact_id": contact,
                "message": {"content": text, "message_type": "incoming"},
            },
        )
        return contact, int(answer.json()["id"])


def _events(inbox: Inbox) -> list[Any]:
    return [e for r in inbox.take() for e in parse_webhook_body(r.body, inbox_id=1, account_id=1)]


async def test_what_an_api_inbox_hears_becomes_events(
    chatwoot: ChatwootEmulator, inbox: Inbox
) -> None:
    contact, conversation = await _conversation(chatwoot, "hello <there>")
    await chatwoot.agent_reply(
        conversation,
        "here",
        attachments=[FormFile(filename="a.pdf", content_type="application/pdf", data=b"%PDF")],
    )
    await chatwoot.private_note(conversation, "VIP")
    await chatwoot.agent_reply(conversation, "beep", bot=True)
    await chatwoot.resolve(conversation)
    await chatwoot.reopen(conversation)
    await chatwoot.drain()
    echo, reply, note, bot, resolved, reopened = _events(inbox)
    user = f"{contact}:viber:a"  # the contact and its session: the id the bridge keeps
    assert isinstance(echo, AgentMessage)
    assert (echo.actor_type, echo.user_id, echo.parts) == (
        "user",
        user,
        (Text(text="hello <there>"),),
    )
    assert isinstance(reply, AgentMessage)
    assert (reply.actor_type, reply.private, reply.message_type) == ("agent", False, "normal")
    assert (reply.conversation_id, reply.user_id) == (str(conversation), user)
    assert reply.reference_id == "viber:a"
    assert reply.parts[0] == Text(text="here") and isinstance(reply.parts[1], File)
    assert reply.actor_id == "2"
    assert isinstance(note, AgentMessage) and note.private
    assert isinstance(bot, AgentMessage) and bot.actor_type == "bot"
    assert resolved == ConversationChanged(
        conversation_id=str(conversation),
        status="resolved",
        user_id=user,
        event_id=resolved.event_id,
    )
    assert isinstance(reopened, ConversationChanged) and reopened.status == "reopened"
    assert resolved.event_id != reopened.event_id


async def test_greetings_are_templates(chatwoot: ChatwootEmulator, inbox: Inbox) -> None:
    chatwoot.inbox.greeting_message = "Hi!"
    await _conversation(chatwoot)
    await chatwoot.drain()
    greeting = _events(inbox)[-1]
    assert (greeting.message_type, greeting.actor_type) == ("template", "bot")


def _message(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "event": "message_created",
        "id": 30001,
        "content": "hi",
        "message_type": "outgoing",
        "created_at": "2024-05-01T10:00:02.123Z",
        "private": False,
        "sender": {"id": 2, "type": "user"},
        "inbox": {"id": 1, "name": "byoc"},
        "account": {"id": 1, "name": "Acme"},
        "conversation": {"id": 7, "inbox_id": 1, "meta": {"sender": {"id": 101}}},
    }
    body.update(changes)
    return body


def _parse(body: dict[str, Any], **options: Any) -> list[Any]:
    return parse_webhook_body(json.dumps(body).encode(), **options)


def test_events_of_another_inbox_or_account_are_not_ours() -> None:
    assert _parse(_message(inbox={"id": 9}), inbox_id=1) == []
    assert _parse(_message(account={"id": 9}), account_id=1) == []
    assert len(_parse(_message(), inbox_id=1, account_id=1)) == 1


def test_the_rest_apis_integer_message_type_and_times_are_read_too() -> None:
    [event] = _parse(_message(message_type=0, created_at=1714557602))
    assert event.actor_type == "user" and event.created_at.year == 2024


def test_the_user_is_the_contact_inbox_else_the_contact() -> None:
    session = {"contact_id": 55, "source_id": "viber:a"}
    [event] = _parse(_message(conversation={"id": 7, "contact_inbox": session}))
    assert (event.user_id, event.reference_id) == ("55:viber:a", None)
    [event] = _parse(_message())
    assert (event.user_id, event.reference_id) == ("101", None)
    sender = {"id": 101, "identifier": "kakao:x1"}
    [event] = _parse(_message(conversation={"id": 7, "meta": {"sender": sender}}))
    assert (event.user_id, event.reference_id) == ("101", "kakao:x1")


def test_a_source_id_or_identifier_too_long_to_be_ours_is_left_out() -> None:
    long = "viber:" + "x" * 300
    session = {"contact_id": 55, "source_id": long}
    conversation = {"id": 7, "contact_inbox": session, "meta": {"sender": {"identifier": long}}}
    [event] = _parse(_message(conversation=conversation))
    assert (event.user_id, event.reference_id) == ("55", None)


def test_an_automations_outgoing_message_without_sender_is_the_desks() -> None:
    [event] = _parse(_message(sender=None))
    assert (event.actor_type, event.actor_id) == ("agent", None)


def test_a_status_change_uses_the_delivery_id_when_there_is_one() -> None:
    body = {
        "event": "conversation_status_changed",
        "id": 7,
        "inbox_id": 1,
        "status": "pending",
        "updated_at": 1714557602.5,
        "meta": {"sender": {"id": 101}},
        "changed_attributes": [{"status": {"previous_value": "open", "current_value": "pending"}}],
    }
    [change] = _parse(body, delivery_id="2f1c-delivery")
    assert (change.status, change.event_id) == ("pending", "2f1c-delivery")
    [fallback] = _parse(body)
    assert fallback.event_id == "conversation_status_changed/7/pending/1714557602.5"


@pytest.mark.parametrize(
    "event",
    ["message_updated", "conversation_created", "conversation_updated", "webwidget_triggered"],
)
def test_other_events_are_ignored(event: str) -> None:
    assert _parse(_message(event=event)) == []


@pytest.mark.parametrize(
    ("body", "said"),
    [
        (b"[]", "JSON object"),
        (b"{", "not valid JSON"),
        (json.dumps({"id": 1}).encode(), "`event`"),
        (json.dumps(_message(conversation=None)).encode(), "`conversation`"),
        (json.dumps(_message(message_type="sideways")).encode(), "message_type"),
        (json.dumps(_message(id="x1")).encode(), "id is not an id"),
        (json.dumps(_message(id=None)).encode(), "has no id"),
        (json.dumps(_message(private="yes")).encode(), "private"),
        (json.dumps(_message(sender={"type": "contact", "id": 1})).encode(), "sent by a contact"),
        (json.dumps({"event": "conversation_status_changed", "id": 7}).encode(), "status"),
    ],
)
def test_a_body_chatwoot_would_not_send_is_malformed(body: bytes, said: str) -> None:
    with pytest.raises(MalformedPayload, match=said):
        parse_webhook_body(body)


@given(st.binary(max_size=300))
def test_any_bytes_give_events_or_malformed(body: bytes) -> None:
    try:
        events = parse_webhook_body(body, inbox_id=1, account_id=1)
    except MalformedPayload:
        return
    assert all(isinstance(e, AgentMessage | ConversationChanged) for e in events)


_value = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 10**20) | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(
            st.sampled_from(["id", "type", "sender", "meta", "status"]), children, max_size=3
        )
    ),
    max_leaves=10,
)


@given(
    st.sampled_from(["message_created", "conversation_status_changed"]),
    st.dictionaries(
        st.sampled_from(
            [
                "id",
                "content",
                "message_type",
                "private",
                "sender",
                "conversation",
                "attachments",
                "content_type",
                "content_attributes",
                "created_at",
                "status",
                "changed_attributes",
                "inbox",
                "account",
                "meta",
                "inbox_id",
            ]
        ),
        _value,
    ),
)
def test_any_shape_of_a_known_event_gives_events_or_malformed(
    event: str, fields: dict[str, Any]
) -> None:
    body = json.dumps({**fields, "event": event}).encode()
    try:
        events = parse_webhook_body(body, inbox_id=1, account_id=1, delivery_id="d")
    except MalformedPayload:
        return
    assert len(events) <= 1
