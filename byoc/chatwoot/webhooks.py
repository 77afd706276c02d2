"""Parsing of Chatwoot webhook bodies into `MessagingEvent`s (signatures are checked first, in
`signature.py`).

An API inbox posts every event of its conversations to its webhook URL, as `{"event": ...}`
with the record's fields at the top level:

- `message_created`: the message (`id`, `content`, `message_type` as a *string* here, while
  the REST API gives an integer; `private`, `sender{type}`, `attachments`, `created_at` in
  ISO 8601) with its `conversation` (display `id`, `inbox_id`, `contact_inbox.source_id`,
  `meta.sender` the contact). The inbox also receives the echoes of the bridge's own incoming
  posts and the agents' private notes: they are reported faithfully (`actor_type="user"`,
  `private=True`) for the sync algorithm's one filter to drop.

The conversation names its user twice over: `contact_inbox` (contact id and source id: the
user id the bridge keeps, see `identity.UserId`) and `meta.sender` (the contact, with its
`identifier`: the reference id, so a reply finds its channel user without a call).
- `conversation_status_changed`: the conversation itself (`id`, `status`) with
  `changed_attributes: [{"status": {"previous_value", "current_value"}}]`.

Other events (`message_updated`, `conversation_created`, `conversation_updated`,
`webwidget_triggered`, ...) give `[]`, as do events of another inbox or account (an account-wide
webhook pointed at the bridge). Ids are account-scoped integers; they become decimal strings.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from ..bounds import bounded
from ..errors import MalformedPayload
from ..messaging import AgentMessage, ConversationChanged, MessagingEvent
from ..models import utcnow
from ..webhook import parse_json_object
from .identity import MAX_SOURCE_ID, UserId
from .parts import from_chatwoot

__all__ = ["parse_webhook_body"]

JsonObject = dict[str, Any]

# message_type → (AgentMessage.message_type, actor_type when the sender does not say)
_MESSAGE_TYPES = {
    "incoming": ("normal", "user"),
    "outgoing": ("normal", "agent"),
    "activity": ("activity", "system"),
    "template": ("template", "bot"),
}
# The REST API (and older webhooks) give the enum's integer.
_MESSAGE_TYPE_NUMBERS = {0: "incoming", 1: "outgoing", 2: "activity", 3: "template"}
_SENDER_ACTORS = {
    "contact": "user",
    "user": "agent",
    "agent_bot": "bot",
    "captain_assistant": "bot",
}
_MAX_ID_DIGITS = 19
# Event names, statuses and content types are short words; a longer one is not Chatwoot's.
_MAX_WORD = 64


def parse_webhook_body(
    body: bytes,
    *,
    inbox_id: int | None = None,
    account_id: int | None = None,
    delivery_id: str | None = None,
) -> list[MessagingEvent]:
    """The events in one Chatwoot webhook body (already verified).

    Events of another inbox or account than `inbox_id` / `account_id` (when given) are not the
    bridge's: `[]`. `delivery_id` (the `X-Chatwoot-Delivery` header, the same on every retry)
    identifies a status change, so a redelivery is recognised.
    """
    payload = parse_json_object(body, what="Chatwoot webhook")
    event = payload.get("event")
    if not isinstance(event, str):
        raise MalformedPayload("Chatwoot webhook: `event` is missing or not a string")
    bounded(event, _MAX_WORD, "Chatwoot webhook: `event`")
    if event == "message_created":
        if not _ours(payload, inbox_id, account_id, _inbox_of_message(payload)):
            return []
        return [_agent_message(payload)]
    if event == "conversation_status_changed":
        if not _ours(payload, inbox_id, account_id, _optional_id(payload, "inbox_id", "")):
            return []
        return [_status_change(payload, delivery_id)]
    return []


def _ours(
    payload: JsonObject, inbox_id: int | None, account_id: int | None, inbox: str | None
) -> bool:
    if inbox_id is not None and inbox is not None and inbox != str(inbox_id):
        return False
    account = payload.get("account")
    if account_id is not None and isinstance(account, dict):
        found = _optional_id(account, "id", "account")
        if found is not None and found != str(account_id):
            return False
    return True


def _inbox_of_message(payload: JsonObject) -> str | None:
    inbox = payload.get("inbox")
    if isinstance(inbox, dict):
        return _optional_id(inbox, "id", "inbox")
    conversation = payload.get("conversation")
    if isinstance(conversation, dict):
        return _optional_id(conversation, "inbox_id", "conversation")
    return None


def _agent_message(payload: JsonObject) -> AgentMessage:
    conversation = _object(payload, "conversation")
    kind = payload.get("message_type")
    if isinstance(kind, int) and not isinstance(kind, bool):
        kind = _MESSAGE_TYPE_NUMBERS.get(kind)
    if not isinstance(kind, str) or kind not in _MESSAGE_TYPES:
        # The echo filter downstream depends on it: refuse rather than guess.
        raise MalformedPayload("Chatwoot webhook: message_type is missing or unknown")
    message_type, default_actor = _MESSAGE_TYPES[kind]
    sender = payload.get("sender")
    sender = sender if isinstance(sender, dict) else {}
    actor_type = default_actor
    if kind == "outgoing":
        # An outgoing message is an agent's, a bot's, or an automation's (no sender).
        actor_type = _SENDER_ACTORS.get(str(sender.get("type")), default_actor)
        if actor_type == "user":
            raise MalformedPayload("Chatwoot webhook: an outgoing message sent by a contact")
    private = payload.get("private", False)
    if not isinstance(private, bool) and private is not None:
        raise MalformedPayload("Chatwoot webhook: `private` is not a boolean")
    content_type = payload.get("content_type")
    if isinstance(content_type, str):
        bounded(content_type, _MAX_WORD, "Chatwoot webhook: `content_type`")
    return AgentMessage(
        message_id=_id(payload, "id", ""),
        conversation_id=_id(conversation, "id", "conversation"),
        user_id=_user_of(conversation),
        reference_id=_reference_of(conversation),
        actor_type=actor_type,
        actor_id=_optional_id(sender, "id", "sender"),
        message_type=message_type,
        private=bool(private),
        parts=from_chatwoot(
            payload.get("content"),
            content_type,
            payload.get("content_attributes"),
            payload.get("attachments"),
        ),
        created_at=_timestamp(payload.get("created_at")) or utcnow(),
    )


def _status_change(payload: JsonObject, delivery_id: str | None) -> ConversationChanged:
    conversation_id = _id(payload, "id", "")
    status = payload.get("status")
    if not isinstance(status, str) or not status:
        raise MalformedPayload("Chatwoot webhook: conversation `status` is missing")
    bounded(status, _MAX_WORD, "Chatwoot webhook: conversation `status`")
    previous = _previous_status(payload.get("changed_attributes"))
    if status == "open" and previous == "resolved":
        # Chatwoot has no "reopened" status: an open conversation that was resolved is one.
        status = "reopened"
    stamp = payload.get("updated_at") or payload.get("timestamp")
    event_id = delivery_id or (
        f"conversation_status_changed/{conversation_id}/{status}/{stamp}"
        if isinstance(stamp, int | float | str) and not isinstance(stamp, bool)
        else None
    )
    return ConversationChanged(
        conversation_id=conversation_id,
        status=status,
        user_id=_user_of(payload),
        event_id=event_id[:200] if event_id else None,
    )


def _previous_status(changes: object) -> str | None:
    if not isinstance(changes, list):
        return None
    for change in changes:
        status = change.get("status") if isinstance(change, dict) else None
        if isinstance(status, dict) and isinstance(status.get("previous_value"), str):
            previous: str = status["previous_value"]
            return previous
    return None


def _user_of(conversation: JsonObject) -> str | None:
    """The conversation's user id: `contact_inbox`'s contact and source id, else the contact
    alone (`meta.sender.id`)."""
    session = conversation.get("contact_inbox")
    if isinstance(session, dict):
        contact = _optional_id(session, "contact_id", "conversation.contact_inbox")
        source = _text(session.get("source_id"))
        if contact is not None:
            return str(UserId(contact_id=int(contact), source_id=source))
    meta = conversation.get("meta")
    sender = meta.get("sender") if isinstance(meta, dict) else None
    if isinstance(sender, dict):
        return _optional_id(sender, "id", "conversation.meta.sender")
    return None


def _reference_of(conversation: JsonObject) -> str | None:
    """The contact's identifier (`meta.sender.identifier`): the channel user's reference id."""
    meta = conversation.get("meta")
    sender = meta.get("sender") if isinstance(meta, dict) else None
    return _text(sender.get("identifier")) if isinstance(sender, dict) else None


def _text(value: object) -> str | None:
    # A longer one is not the bridge's: the user is then found by its contact id alone.
    return value if isinstance(value, str) and 0 < len(value) <= MAX_SOURCE_ID else None


def _object(parent: JsonObject, key: str) -> JsonObject:
    value = parent.get(key)
    if not isinstance(value, dict):
        raise MalformedPayload(f"Chatwoot webhook: `{key}` is missing or not an object")
    return value


def _id(parent: JsonObject, key: str, where: str) -> str:
    value = _optional_id(parent, key, where)
    if value is None:
        raise MalformedPayload(f"Chatwoot webhook: {where or 'the body'} has no {key}")
    return value


def _optional_id(parent: JsonObject, key: str, where: str) -> str | None:
    """An account-scoped integer id as its decimal string (a numeric string is accepted)."""
    value = parent.get(key)
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        text = str(value)
    elif isinstance(value, str) and value.isascii() and value.isdigit():
        text = str(int(value))
    else:
        raise MalformedPayload(f"Chatwoot webhook: {where}.{key} is not an id".lstrip("."))
    if len(text) > _MAX_ID_DIGITS:
        raise MalformedPayload(f"Chatwoot webhook: {where}.{key} is too long".lstrip("."))
    return text


def _timestamp(value: object) -> datetime | None:
    """ISO 8601 (`2024-05-01T10:00:02.123Z`, webhooks) or unix seconds (REST), as aware UTC."""
    try:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return datetime.fromtimestamp(value, tz=timezone.utc)
        if isinstance(value, str) and value:
            text = value[:-1] + "+00:00" if value.endswith(("Z", "z")) else value
            moment = datetime.fromisoformat(text)
            if moment.tzinfo is None:
                return moment.replace(tzinfo=timezone.utc)
            return moment.astimezone(timezone.utc)
    except (ValueError, OverflowError, OSError):
        return None
    return None
