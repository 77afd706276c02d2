from __future__ import annotations

import copy
import json
import re
from datetime import datetime, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from byoc.errors import MalformedPayload
from byoc.freshchat.webhooks import parse_webhook_body
from byoc.messaging import AgentMessage, ConversationChanged
from byoc.models import Image, QuickReplies, QuickReply, Text
from byoc.sync import Sync

AGENT = "c8fddfaf-622a-4a0e-b060-4f3ccbeab606"
USER = "882f3926-b292-414b-a411-96380db373cd"
CONVERSATION = "c327498e-f713-481e-8d83-0603e03d2521"

# The reference's message_create sample, with Korean text and emoji.
MESSAGE_CREATE: dict[str, Any] = {
    "actor": {"actor_type": "agent", "actor_id": AGENT},
    "action": "message_create",
    "action_time": "2022-11-22T10:55:23.126Z",
    "data": {
        "message": {
            "message_parts": [{"text": {"content": "안녕하세요! 무엇을 도와드릴까요? 😊"}}],
            "app_id": "55b190fa-5d3c-45c4-bc49-74ddcfcf53d7",
            "actor_id": AGENT,
            "org_actor_id": "1940123456789",
            "id": "7a454fde-c720-4c97-a61d-0ffe70449eb6",
            "channel_id": "0534f78-b6e9-4f79-8853-11cedfc1f35b",
            "conversation_id": CONVERSATION,
            "freshchat_conversation_id": "1019183591791880",
            "interaction_id": "1019183591791880-1669114523126",
            "message_type": "normal",
            "actor_type": "agent",
            "created_time": "2022-11-22T10:55:23.126Z",
            "user_id": USER,
            "message_source": "web",
            "restrictResponse": False,
            "botsPrivateNote": False,
        }
    },
}


def _body(payload: Any) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


def test_message_create() -> None:
    [event] = parse_webhook_body(_body(MESSAGE_CREATE))
    assert event == AgentMessage(
        message_id="7a454fde-c720-4c97-a61d-0ffe70449eb6",
        conversation_id=CONVERSATION,
        user_id=USER,
        actor_type="agent",
        actor_id=AGENT,
        message_type="normal",
        private=False,
        parts=(Text(text="안녕하세요! 무엇을 도와드릴까요? 😊"),),
        created_at=datetime(2022, 11, 22, 10, 55, 23, 126000, tzinfo=timezone.utc),
    )


def test_non_ascii_survives_escaped_or_raw() -> None:
    escaped = json.dumps(MESSAGE_CREATE, ensure_ascii=True).encode()
    assert parse_webhook_body(escaped) == parse_webhook_body(_body(MESSAGE_CREATE))


def _message_create(**changes: Any) -> dict[str, Any]:
    payload = copy.deepcopy(MESSAGE_CREATE)
    payload["data"]["message"].update(changes)
    return payload


@pytest.mark.parametrize(
    ("changes", "private", "message_type"),
    [
        ({"message_type": "private"}, True, "private"),
        ({"message_type": "PRIVATE"}, True, "private"),
        ({"botsPrivateNote": True}, True, "normal"),
        ({"message_type": "system", "actor_type": "system"}, False, "system"),
        ({"message_type": None}, False, "normal"),
    ],
)
def test_private_notes_and_message_types(
    changes: dict[str, Any], private: bool, message_type: str
) -> None:
    [event] = parse_webhook_body(_body(_message_create(**changes)))
    assert isinstance(event, AgentMessage)
    assert (event.private, event.message_type) == (private, message_type)


@pytest.mark.parametrize(
    ("raw", "expected"), [("AGENT", "agent"), ("Bot", "bot"), ("user", "user")]
)
def test_actor_type_is_lower_cased(raw: str, expected: str) -> None:
    [event] = parse_webhook_body(_body(_message_create(actor_type=raw)))
    assert isinstance(event, AgentMessage) and event.actor_type == expected


def test_actor_falls_back_to_the_envelope() -> None:
    payload = _message_create(actor_type=None)
    del payload["data"]["message"]["actor_id"]
    [event] = parse_webhook_body(_body(payload))
    assert isinstance(event, AgentMessage)
    assert (event.actor_type, event.actor_id) == ("agent", AGENT)


def test_numeric_ids_become_strings_and_big_ones_stay_exact() -> None:
    payload = _message_create(
        id=2**70 + 1, conversation_id=1019183591791880, user_id=42, actor_id=7
    )
    [event] = parse_webhook_body(_body(payload))
    assert isinstance(event, AgentMessage)
    assert (event.message_id, event.conversation_id, event.user_id, event.actor_id) == (
        str(2**70 + 1),
        "1019183591791880",
        "42",
        "7",
    )


def test_null_padded_parts_and_reply_parts() -> None:
    payload = _message_create(
        message_parts=[
            {"text": {"content": "Pick one"}, "image": None, "file": None},
            {"text": None, "image": {"url": "https://fc/i.png"}},
        ],
        reply_parts=[{"collection": {"sub_parts": [{"quick_reply_button": {"label": "네"}}]}}],
    )
    [event] = parse_webhook_body(_body(payload))
    assert isinstance(event, AgentMessage)
    assert event.parts == (
        Text(text="Pick one"),
        Image(url="https://fc/i.png"),
        QuickReplies(replies=[QuickReply(label="네")]),
    )


def test_a_bot_message_is_sent_to_the_user_like_an_agents() -> None:
    # A Freshchat bot (or an automation posting as one) writes without an actor id, and offers
    # its choices as quick replies.
    payload = copy.deepcopy(MESSAGE_CREATE)
    payload["actor"] = {"actor_type": "bot"}
    message = payload["data"]["message"]
    del message["actor_id"]
    message.update(
        actor_type="bot",
        message_source="bot",
        message_parts=[{"text": {"content": "주문 조회를 도와드릴게요"}}],
        reply_parts=[
            {
                "collection": {
                    "sub_parts": [
                        {"quick_reply_button": {"label": "배송", "payload": "ship"}},
                        {"quick_reply_button": {"label": "환불", "custom_reply_text": "환불"}},
                    ]
                }
            }
        ],
    )
    [event] = parse_webhook_body(_body(payload))
    assert isinstance(event, AgentMessage)
    assert (event.actor_type, event.actor_id, event.private) == ("bot", None, False)
    assert event.parts == (
        QuickReplies(
            text="주문 조회를 도와드릴게요",
            replies=(QuickReply(label="배송", payload="ship"), QuickReply(label="환불")),
        ),
    )
    assert Sync.is_for_the_user(event)
    marketplace = copy.deepcopy(ON_MESSAGE_CREATE)
    marketplace["data"]["actor"] = {"type": "bot", "id": "bot-1"}
    for item in marketplace["data"]["message"]["messages"]:
        item.pop("actor_type", None)
        item.pop("actor_id", None)
    events = parse_webhook_body(_body(marketplace))
    assert [(e.actor_type, e.actor_id) for e in events if isinstance(e, AgentMessage)] == [
        ("bot", "bot-1"),
        ("bot", "bot-1"),
    ]
    assert all(Sync.is_for_the_user(e) for e in events if isinstance(e, AgentMessage))


def test_unreadable_times_fall_back_to_the_action_time() -> None:
    [event] = parse_webhook_body(_body(_message_create(created_time="yesterday")))
    assert isinstance(event, AgentMessage)
    assert event.created_at == datetime(2022, 11, 22, 10, 55, 23, 126000, tzinfo=timezone.utc)


# -- Marketplace onMessageCreate ---------------------------------------------------------------

ON_MESSAGE_CREATE: dict[str, Any] = {
    "account_id": "227655214724132",
    "domain": "web.freshchat.com",
    "event": "onMessageCreate",
    "region": "US",
    "timestamp": 1564393556026,
    "version": "1.0.0",
    "data": {
        "actor": {"type": "agent", "id": AGENT, "first_name": "민지", "org_actor_id": None},
        "associations": {"user": {"id": USER, "reference_id": "kakao:abc"}},
        "message": {
            "conversation_id": CONVERSATION,
            "app_id": "55b190fa",
            "channel_id": "0534f78",
            "user_id": USER,
            "status": "assigned",
            "assigned_agent_id": None,
            "created_time": "2019-07-29T09:45:55.962Z",
            "messages": [
                {
                    "id": "m-1",
                    "actor_id": AGENT,
                    "actor_type": "agent",
                    "message_type": "normal",
                    "message_source": "web",
                    "message_parts": [
                        {"text": {"content": "곧 연락드리겠습니다 🙏"}, "image": None}
                    ],
                    "conversation_id": CONVERSATION,
                    "channel_id": "0534f78",
                    "app_id": "55b190fa",
                    "user_id": USER,
                    "created_time": "2019-07-29T09:45:56.001Z",
                },
                # Not seen, but the array allows it; fields missing here come from the conversation.
                {"id": "m-2", "message_parts": [{"text": {"content": "2"}}]},
            ],
        },
    },
}

EXPECTED_ON_MESSAGE_CREATE = [
    AgentMessage(
        message_id="m-1",
        conversation_id=CONVERSATION,
        user_id=USER,
        actor_type="agent",
        actor_id=AGENT,
        parts=(Text(text="곧 연락드리겠습니다 🙏"),),
        created_at=datetime(2019, 7, 29, 9, 45, 56, 1000, tzinfo=timezone.utc),
    ),
    AgentMessage(
        message_id="m-2",
        conversation_id=CONVERSATION,
        user_id=USER,
        actor_type="agent",
        actor_id=AGENT,
        parts=(Text(text="2"),),
        created_at=datetime(2019, 7, 29, 9, 45, 55, 962000, tzinfo=timezone.utc),
    ),
]


def test_on_message_create_takes_messages_from_the_conversation() -> None:
    assert parse_webhook_body(_body(ON_MESSAGE_CREATE)) == EXPECTED_ON_MESSAGE_CREATE


def test_on_message_create_with_data_as_a_json_string() -> None:
    payload = {
        **ON_MESSAGE_CREATE,
        "data": json.dumps(ON_MESSAGE_CREATE["data"], ensure_ascii=False),
    }
    assert parse_webhook_body(_body(payload)) == EXPECTED_ON_MESSAGE_CREATE


def test_on_message_create_with_the_message_itself_at_data_message() -> None:
    message = ON_MESSAGE_CREATE["data"]["message"]["messages"][0]
    payload = {**ON_MESSAGE_CREATE, "data": {"actor": {"type": "agent"}, "message": message}}
    assert parse_webhook_body(_body(payload)) == EXPECTED_ON_MESSAGE_CREATE[:1]


# -- conversation events -----------------------------------------------------------------------


def _conversation_event(action: str, key: str, **extra: Any) -> dict[str, Any]:
    return {
        "actor": {"actor_type": "agent", "actor_id": AGENT},
        "action": action,
        "action_time": "2022-11-22T11:00:00.000Z",
        "data": {
            key: {
                **extra,
                "conversation": {
                    "conversation_id": CONVERSATION,
                    "app_id": "55b190fa",
                    "status": "resolved",
                    "channel_id": "0534f78",
                    "user_id": USER,
                    "skill_id": 0,
                },
                "interaction_id": "1019183591791880-1669114800000",
            }
        },
    }


@pytest.mark.parametrize(
    ("action", "key", "extra", "status"),
    [
        (
            "conversation_resolution",
            "resolve",
            {"resolver": "agent", "resolver_id": AGENT},
            "resolved",
        ),
        ("conversation_reopen", "reopen", {"reopener": "user", "reopener_id": USER}, "reopened"),
        (
            "conversation_assignment",
            "assignment",
            {"assignor": "agent", "assignor_id": AGENT, "to_agent_id": AGENT, "to_group_id": "g1"},
            "assigned",
        ),
    ],
)
def test_conversation_events(action: str, key: str, extra: dict[str, Any], status: str) -> None:
    [event] = parse_webhook_body(_body(_conversation_event(action, key, **extra)))
    assert event == ConversationChanged(
        conversation_id=CONVERSATION,
        status=status,
        user_id=USER,
        event_id=f"{action}/{CONVERSATION}/2022-11-22T11:00:00.000Z",
    )


def test_resolution_user_comes_from_the_resolve_user_when_the_conversation_has_none() -> None:
    payload = _conversation_event("conversation_resolution", "resolve", user={"id": "u-9"})
    del payload["data"]["resolve"]["conversation"]["user_id"]
    [event] = parse_webhook_body(_body(payload))
    assert isinstance(event, ConversationChanged) and event.user_id == "u-9"


@pytest.mark.parametrize(
    "payload",
    [
        {"actor": {}, "action": "user_create", "data": {}},
        {"action": "conversation_label_update", "data": {"x": 1}},
        {"event": "onConversationUpdate", "data": {"changes": {}}},
        {"event": "onAppInstall"},
    ],
)
def test_unknown_actions_and_events_give_nothing(payload: dict[str, Any]) -> None:
    assert parse_webhook_body(_body(payload)) == []


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"", "not valid JSON"),
        (b"\xff\xfe", "not valid JSON"),
        (b"[]", "expected a JSON object"),
        (b"{}", "neither an `action` nor an `event`"),
        (b"[" * 100_000, "JSON"),
        (_body({"action": 5}), "`action` is not a string"),
        (_body({"action": "message_create"}), "`data`"),
        (_body({"action": "message_create", "data": {"message": []}}), "`data.message`"),
        (_body({"action": "message_create", "actor": "x", "data": {}}), "`actor`"),
        (_body(_message_create(id=None)), "has no id"),
        (_body(_message_create(id=1.5)), "id is not an id"),
        (_body(_message_create(conversation_id=True)), "conversation_id is not an id"),
        (_body(_message_create(message_parts="hello")), "message_parts"),
        (
            _body({**MESSAGE_CREATE, "actor": {}} | {"data": {"message": {"id": "m"}}}),
            "conversation_id",
        ),
        (
            _body(
                {
                    "action": "message_create",
                    "data": {"message": {"id": "m", "conversation_id": "c"}},
                }
            ),
            "actor_type",
        ),
        (_body(_message_create(message_type=3)), "message_type"),
        (_body({"action": "conversation_reopen", "data": {"reopen": {}}}), "conversation"),
        (
            _body({"action": "conversation_resolution", "data": {"resolve": {"conversation": {}}}}),
            "conversation_id",
        ),
        (_body({"event": "onMessageCreate", "data": "{not json"}), "not JSON"),
        (_body({"event": "onMessageCreate", "data": "[1]"}), "not an object"),
        (_body({"event": "onMessageCreate", "data": {"message": {"messages": "x"}}}), "not a list"),
        (
            _body({"event": "onMessageCreate", "data": {"message": {"messages": [1]}}}),
            "not an object",
        ),
    ],
)
def test_malformed_bodies_say_why(body: bytes, reason: str) -> None:
    with pytest.raises(MalformedPayload, match=re.escape(reason)):
        parse_webhook_body(body)


# -- properties ----------------------------------------------------------------------------------


@given(st.binary(max_size=300))
def test_any_bytes_give_events_or_malformed(body: bytes) -> None:
    try:
        assert isinstance(parse_webhook_body(body), list)
    except MalformedPayload:
        pass


_KEYS = st.sampled_from(
    [
        "action",
        "event",
        "data",
        "actor",
        "actor_type",
        "actor_id",
        "type",
        "id",
        "message",
        "messages",
        "message_parts",
        "reply_parts",
        "message_type",
        "botsPrivateNote",
        "conversation_id",
        "user_id",
        "created_time",
        "action_time",
        "resolve",
        "reopen",
        "assignment",
        "conversation",
        "text",
        "content",
        "user",
    ]
)
_VALUES = st.sampled_from(
    [
        "message_create",
        "conversation_resolution",
        "conversation_reopen",
        "conversation_assignment",
        "onMessageCreate",
        "agent",
        "private",
        "2022-11-22T10:55:23.126Z",
        "0001-01-01T00:00:00+01:00",
    ]
)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8) | _VALUES,
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(_KEYS | st.text(max_size=4), children, max_size=5)
    ),
    max_leaves=30,
)


@given(JSON)
def test_any_json_gives_events_or_malformed(payload: Any) -> None:
    try:
        events = parse_webhook_body(_body(payload))
    except MalformedPayload:
        return
    assert all(isinstance(e, AgentMessage | ConversationChanged) for e in events)


@given(
    st.sampled_from(["message_create", "onMessageCreate"]),
    JSON,
    st.sampled_from(["message", "messages", "message_parts", "data"]),
)
def test_valid_envelopes_with_any_value_swapped_in(kind: str, value: Any, key: str) -> None:
    payload = copy.deepcopy(MESSAGE_CREATE if kind == "message_create" else ON_MESSAGE_CREATE)
    target = payload["data"]["message"]
    if key == "data":
        payload["data"] = value
    elif key == "messages" and kind == "onMessageCreate":
        target["messages"] = value
    else:
        target[key] = value
    body = _body(payload)
    try:
        events = parse_webhook_body(body)
    except MalformedPayload:
        return
    assert isinstance(events, list)
