"""Parsing of Freshchat webhook bodies into `MessagingEvent`s (signature checks come first,
in `signature.py`).

Two envelopes arrive at the bridge's messaging webhook:

- **Conversation Webhooks** (Admin settings, RSA-signed): `{"actor", "action", "action_time",
  "data"}`. `message_create` has the message at `data.message`; `conversation_resolution`,
  `conversation_reopen` and `conversation_assignment` have the conversation at
  `data.resolve|reopen|assignment.conversation`.
- **Marketplace `onMessageCreate`** product events forwarded by an app: `{"event", "data"}` where
  `data` may be a JSON string, `data.message` is the *conversation* and the new messages are in
  `data.message.messages[]`.

Ids are opaque strings (a number in the JSON becomes its decimal string) of at most 256
characters; names of actions, events and types at most 64. Unknown actions and events give
`[]`, for the caller to log; a body that is not what Freshchat sends raises `MalformedPayload`
saying what is wrong. `webhook_time` reads `action_time`, for the freshness window.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

from ..bounds import MAX_ID, bounded
from ..errors import MalformedPayload
from ..messaging import AgentMessage, ConversationChanged, MessagingEvent
from ..models import utcnow
from ..webhook import parse_json_object
from .parts import from_freshchat

__all__ = ["load_webhook", "parse_webhook_body", "parse_webhook_payload", "webhook_time"]

JsonObject = dict[str, Any]
_MAX_NAME = 64

# action → (key under `data`, ConversationChanged.status)
_CONVERSATION_ACTIONS = {
    "conversation_resolution": ("resolve", "resolved"),
    "conversation_reopen": ("reopen", "reopened"),
    "conversation_assignment": ("assignment", "assigned"),
}


def parse_webhook_body(body: bytes) -> list[MessagingEvent]:
    """The events in one Freshchat webhook body (already verified)."""
    return parse_webhook_payload(load_webhook(body))


def load_webhook(body: bytes) -> JsonObject:
    """The JSON object of a webhook body (lone surrogates repaired), or `MalformedPayload`."""
    return parse_json_object(body, what="Freshchat webhook")


def webhook_time(payload: JsonObject) -> datetime | None:
    """When Freshchat sent a Conversation Webhook (`action_time`); None when it names no time
    it can be read as (a forwarded product event has none)."""
    if "action" not in payload:
        return None
    return _timestamp(payload.get("action_time"))


def parse_webhook_payload(payload: JsonObject) -> list[MessagingEvent]:
    """`parse_webhook_body` for a body already decoded with `load_webhook`."""
    if "action" in payload:
        return _conversation_webhook(payload)
    if "event" in payload:
        return _product_event(payload)
    raise MalformedPayload("Freshchat webhook: neither an `action` nor an `event` field")


def _conversation_webhook(payload: JsonObject) -> list[MessagingEvent]:
    action = payload["action"]
    if not isinstance(action, str):
        raise MalformedPayload("Freshchat webhook: `action` is not a string")
    bounded(action, _MAX_NAME, "Freshchat webhook: `action`")
    actor = _optional_object(payload, "actor", "")
    if action == "message_create":
        data = _object(payload, "data", "")
        message = _object(data, "message", "data")
        return [
            _agent_message(
                message,
                where="data.message",
                actor_type=actor.get("actor_type"),
                actor_id=actor.get("actor_id"),
                fallback_time=payload.get("action_time"),
            )
        ]
    if action in _CONVERSATION_ACTIONS:
        key, status = _CONVERSATION_ACTIONS[action]
        data = _object(payload, "data", "")
        change = _object(data, key, "data")
        conversation = _object(change, "conversation", f"data.{key}")
        conversation_id = _id(conversation, "conversation_id", f"data.{key}.conversation")
        user = change.get("user")
        user_id = _optional_id(conversation, "user_id", f"data.{key}.conversation")
        if user_id is None and isinstance(user, dict):
            user_id = _optional_id(user, "id", f"data.{key}.user")
        action_time = payload.get("action_time")
        # Freshchat retries deliveries: the same action on the same conversation at the same
        # instant is the same event.
        event_id = (
            f"{action}/{conversation_id}/{action_time}"
            if isinstance(action_time, str) and len(action_time) <= _MAX_NAME
            else None
        )
        return [
            ConversationChanged(
                conversation_id=conversation_id, status=status, user_id=user_id, event_id=event_id
            )
        ]
    return []


def _product_event(payload: JsonObject) -> list[MessagingEvent]:
    if payload["event"] != "onMessageCreate":
        return []
    data = payload.get("data")
    if isinstance(data, str):
        # Forwarded product events sometimes carry `data` as a JSON string.
        try:
            data = json.loads(data)
        except (ValueError, RecursionError):
            raise MalformedPayload("onMessageCreate: `data` is a string but not JSON") from None
    if not isinstance(data, dict):
        raise MalformedPayload("onMessageCreate: `data` is not an object")
    conversation = _object(data, "message", "data")
    actor = _optional_object(data, "actor", "data")
    messages = conversation.get("messages")
    if messages is None and "message_parts" in conversation:
        # Not seen, but cheap to accept: `data.message` being the message itself.
        messages = [conversation]
    if not isinstance(messages, list):
        raise MalformedPayload("onMessageCreate: `data.message.messages` is not a list")
    events: list[MessagingEvent] = []
    for index, message in enumerate(messages):
        where = f"data.message.messages[{index}]"
        if not isinstance(message, dict):
            raise MalformedPayload(f"onMessageCreate: {where} is not an object")
        events.append(
            _agent_message(
                message,
                where=where,
                actor_type=actor.get("type"),
                actor_id=actor.get("id"),
                conversation=conversation,
                fallback_time=conversation.get("created_time"),
            )
        )
    return events


def _agent_message(
    message: JsonObject,
    *,
    where: str,
    actor_type: object,
    actor_id: object,
    fallback_time: object,
    conversation: JsonObject | None = None,
) -> AgentMessage:
    conversation_id = _optional_id(message, "conversation_id", where)
    if conversation_id is None and conversation is not None:
        conversation_id = _optional_id(conversation, "conversation_id", "data.message")
    if conversation_id is None:
        raise MalformedPayload(f"Freshchat webhook: {where} has no conversation_id")
    user_id = _optional_id(message, "user_id", where)
    if user_id is None and conversation is not None:
        user_id = _optional_id(conversation, "user_id", "data.message")
    # The echo filter downstream depends on actor_type: without one, refuse rather than guess.
    kind = message.get("actor_type") or actor_type
    if not isinstance(kind, str) or not kind:
        raise MalformedPayload(f"Freshchat webhook: {where} has no actor_type")
    bounded(kind, _MAX_NAME, f"Freshchat webhook: {where}.actor_type")
    message_type = message.get("message_type") or "normal"
    if not isinstance(message_type, str):
        raise MalformedPayload(f"Freshchat webhook: {where}.message_type is not a string")
    message_type = bounded(message_type, _MAX_NAME, f"Freshchat webhook: {where}.message_type")
    message_type = message_type.lower()
    return AgentMessage(
        message_id=_id(message, "id", where),
        conversation_id=conversation_id,
        user_id=user_id,
        actor_type=kind.lower(),
        actor_id=_optional_id(message, "actor_id", where) or _actor_id(actor_id),
        message_type=message_type,
        private=message_type == "private" or message.get("botsPrivateNote") is True,
        parts=from_freshchat(message.get("message_parts"), message.get("reply_parts")),
        created_at=_timestamp(message.get("created_time")) or _timestamp(fallback_time) or utcnow(),
    )


def _object(parent: JsonObject, key: str, where: str) -> JsonObject:
    value = parent.get(key)
    if not isinstance(value, dict):
        path = f"{where}.{key}" if where else key
        raise MalformedPayload(f"Freshchat webhook: `{path}` is missing or not an object")
    return value


def _optional_object(parent: JsonObject, key: str, where: str) -> JsonObject:
    value = parent.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        path = f"{where}.{key}" if where else key
        raise MalformedPayload(f"Freshchat webhook: `{path}` is not an object")
    return value


def _id(parent: JsonObject, key: str, where: str) -> str:
    value = _optional_id(parent, key, where)
    if value is None:
        raise MalformedPayload(f"Freshchat webhook: {where} has no {key}")
    return value


def _optional_id(parent: JsonObject, key: str, where: str) -> str | None:
    value = parent.get(key)
    if value is None or value == "":
        return None
    ident = _as_id(value)
    if ident is None:
        raise MalformedPayload(f"Freshchat webhook: {where}.{key} is not an id")
    return bounded(ident, MAX_ID, f"Freshchat webhook: {where}.{key}")


def _as_id(value: object) -> str | None:
    if isinstance(value, str):
        return value or None
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def _actor_id(value: object) -> str | None:
    ident = _as_id(value)
    return bounded(ident, MAX_ID, "Freshchat webhook: actor.actor_id") if ident else None


def _timestamp(value: object) -> datetime | None:
    """An ISO-8601 time (`2022-11-22T10:55:23.126Z`) as aware UTC, or None when unreadable."""
    if not isinstance(value, str) or not value or len(value) > _MAX_NAME:
        return None
    text = value[:-1] + "+00:00" if value.endswith(("Z", "z")) else value
    try:
        moment = datetime.fromisoformat(text)
        if moment.tzinfo is None:
            return moment.replace(tzinfo=timezone.utc)
        return moment.astimezone(timezone.utc)
    except (ValueError, OverflowError):
        return None
