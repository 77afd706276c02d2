"""Chatwoot's wire format: records as the REST API and the webhooks show them, and its errors.

The two views of one record differ, as in Chatwoot, and a client must cope with both:

- **REST** (the jbuilder views): times are integer seconds, `message_type` is the enum's
  *integer* (0 incoming, 1 outgoing, 2 activity, 3 template), senders are `push_event_data`.
- **Webhooks** (`webhook_data`): a message's `created_at` is ISO 8601 with milliseconds and its
  `message_type` a *string*; the conversation comes as `push_data`, with `contact_inbox` and
  `meta.sender`.

Bodies are encoded as Rails encodes JSON: UTF-8, compact, with `<`, `>`, `&`, U+2028 and U+2029
escaped (`\\u003c`), so a receiver that re-encodes before verifying a signature fails as it
would in production. Errors come in Chatwoot's shapes: `{"error": ...}`,
`{"message": ..., "attributes": [...]}` for a failed validation, `{"errors": [...]}` when no
token was sent, Rack::Attack's plain-text 429 and Rails' HTML page for an unknown route.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

from ..emulation.refusal import Refusal
from ..routing import Response
from .state import (
    Attachment,
    Contact,
    ContactInbox,
    Conversation,
    Inbox,
    Message,
    State,
)

__all__ = [
    "MESSAGE_TYPES",
    "ApiError",
    "attachment_url",
    "contact_inbox_json",
    "contact_json",
    "conversation_json",
    "conversation_webhook",
    "inbox_json",
    "iso_time",
    "message_json",
    "message_webhook",
    "rails_json",
    "rails_response",
]

_SENDER_CLASSES = {"contact": "Contact", "user": "User", "agent_bot": "AgentBot"}
MESSAGE_TYPES = {"incoming": 0, "outgoing": 1, "activity": 2, "template": 3}
_ESCAPES = {
    "<": "\\u003c",
    ">": "\\u003e",
    "&": "\\u0026",
    "\u2028": "\\u2028",
    "\u2029": "\\u2029",
}
_NOT_FOUND_PAGE = (
    "<!DOCTYPE html>\n<html>\n<head>\n  <title>The page you were looking for doesn't exist "
    '(404)</title>\n</head>\n<body>\n  <div class="dialog"><h1>The page you were looking for '
    "doesn't exist.</h1></div>\n</body>\n</html>\n"
)


def rails_json(payload: Any) -> bytes:
    """`payload` encoded as Rails' `to_json` does (HTML-safe escapes, UTF-8, compact)."""
    text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    return "".join(_ESCAPES.get(c, c) for c in text).encode()


def rails_response(
    payload: Any, status: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    return Response(status=status, body=rails_json(payload), headers=dict(headers or {}))


def iso_time(moment: float) -> str:
    """Seconds since the epoch as Rails writes a time in JSON: `2024-05-01T10:00:02.123Z`."""
    value = datetime.fromtimestamp(moment, tz=timezone.utc)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


class ApiError(Refusal):
    """A refusal, rendered in the shape Chatwoot uses for it."""

    def __init__(
        self,
        status: int,
        body: Any,
        *,
        content_type: str = "application/json; charset=utf-8",
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(f"{status}: {body}")
        self.status = status
        self.body = body
        self.content_type = content_type
        self.headers = dict(headers or {})

    def response(self) -> Response:
        data = self.body.encode() if isinstance(self.body, str) else rails_json(self.body)
        return Response(
            status=self.status, body=data, content_type=self.content_type, headers=self.headers
        )

    @classmethod
    def error(cls, status: int, message: str) -> ApiError:
        """`{"error": message}`, what most controllers render."""
        return cls(status, {"error": message})

    @classmethod
    def invalid(cls, message: str, attributes: Sequence[str]) -> ApiError:
        """422 for a record that failed validation (`render_record_invalid`)."""
        return cls(422, {"message": message, "attributes": list(attributes)})

    @classmethod
    def not_found(cls) -> ApiError:
        return cls.error(404, "Resource could not be found")

    @classmethod
    def sign_in(cls) -> ApiError:
        """401 when no token came at all (Devise's answer)."""
        return cls(401, {"errors": ["You need to sign in or sign up before continuing."]})

    @classmethod
    def throttled(cls, retry_after: float | None) -> ApiError:
        """Rack::Attack's 429: plain text, `Retry-After` only when it is configured to send it."""
        # Whole seconds on the wire; fractions are kept so that tests can run fast.
        headers = {"Retry-After": f"{retry_after:g}"} if retry_after is not None else {}
        return cls(429, "Retry later\n", content_type="text/plain", headers=headers)

    @classmethod
    def no_route(cls) -> ApiError:
        """Rails' 404 page for a path no route matches (HTML, never JSON)."""
        return cls(404, _NOT_FOUND_PAGE, content_type="text/html; charset=utf-8")


# -- inboxes -------------------------------------------------------------------------------------


def inbox_json(inbox: Inbox, *, admin: bool = True) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": inbox.id,
        "avatar_url": "",
        "channel_id": inbox.channel_id,
        "name": inbox.name,
        "channel_type": inbox.channel_type,
        "greeting_enabled": inbox.greeting_message is not None,
        "greeting_message": inbox.greeting_message,
        "working_hours_enabled": False,
        "enable_email_collect": True,
        "csat_survey_enabled": False,
        "enable_auto_assignment": True,
        "out_of_office_message": None,
        "working_hours": [],
        "timezone": "UTC",
        "allow_messages_after_resolved": True,
        "lock_to_single_conversation": inbox.lock_to_single_conversation,
        "sender_name_type": "friendly",
        "business_name": None,
    }
    if inbox.channel_type == "Channel::Api":
        body["webhook_url"] = inbox.webhook_url
        body["inbox_identifier"] = f"inbox-{inbox.id}-{inbox.channel_id}"
        body["hmac_mandatory"] = False
        if admin:
            body["hmac_token"] = inbox.hmac_token
            body["secret"] = inbox.secret
    return body


def _inbox_brief(inbox: Inbox | None) -> dict[str, Any] | None:
    return {"id": inbox.id, "name": inbox.name} if inbox else None


# -- contacts ------------------------------------------------------------------------------------


def contact_json(contact: Contact, state: State, *, with_inboxes: bool = True) -> dict[str, Any]:
    """A contact as the `/contacts` views show it (`_contact.json.jbuilder`)."""
    body: dict[str, Any] = {
        "additional_attributes": dict(contact.additional_attributes),
        "availability_status": "offline",
        "email": contact.email,
        "id": contact.id,
        "name": contact.name,
        "phone_number": contact.phone_number,
        "blocked": False,
        "identifier": contact.identifier,
        "thumbnail": contact.avatar_url or "",
        "custom_attributes": dict(contact.custom_attributes),
        "last_activity_at": int(contact.last_activity_at) if contact.last_activity_at else None,
        "created_at": int(contact.created_at),
    }
    if with_inboxes:
        body["contact_inboxes"] = [
            contact_inbox_json(s, state) for s in state.sessions_of(contact.id)
        ]
    return body


def contact_inbox_json(session: ContactInbox, state: State) -> dict[str, Any]:
    return {"source_id": session.source_id, "inbox": inbox_json(state.inboxes[session.inbox_id])}


def _contact_push(contact: Contact) -> dict[str, Any]:
    return {
        "additional_attributes": dict(contact.additional_attributes),
        "custom_attributes": dict(contact.custom_attributes),
        "email": contact.email,
        "id": contact.id,
        "identifier": contact.identifier,
        "name": contact.name,
        "phone_number": contact.phone_number,
        "thumbnail": contact.avatar_url or "",
        "blocked": False,
        "type": "contact",
    }


def _sender_push(sender: tuple[str, int] | None, state: State) -> dict[str, Any] | None:
    """A message's sender as REST shows it (`push_event_data`)."""
    if sender is None:
        return None
    kind, ident = sender
    if kind == "contact" and ident in state.contacts:
        return _contact_push(state.contacts[ident])
    name = state.sender_name(sender)
    if kind == "user":
        return {
            "id": ident,
            "name": name,
            "available_name": name,
            "avatar_url": "",
            "type": "user",
            "availability_status": "online",
            "thumbnail": "",
        }
    return {"id": ident, "name": name, "avatar_url": "", "type": kind}


def _sender_webhook(
    sender: tuple[str, int] | None, state: State, account: dict[str, Any]
) -> dict[str, Any] | None:
    """A message's sender as a webhook shows it (`webhook_data`)."""
    if sender is None:
        return None
    kind, ident = sender
    if kind == "contact" and ident in state.contacts:
        contact = state.contacts[ident]
        body = _contact_push(contact)
        del body["blocked"]
        return {**body, "account": account, "avatar": contact.avatar_url or ""}
    if kind == "user" and ident in state.agents:
        agent = state.agents[ident]
        return {"id": agent.id, "name": agent.name, "email": agent.email, "type": "user"}
    return {"id": ident, "name": state.sender_name(sender), "type": kind}


# -- attachments and messages --------------------------------------------------------------------


def attachment_url(base_url: str, attachment: Attachment) -> str:
    """Where the file is served: an ActiveStorage redirect URL, readable without a token."""
    return f"{base_url}/rails/active_storage/blobs/redirect/{attachment.key}/{attachment.filename}"


def _attachment_push(attachment: Attachment, state: State, base_url: str) -> dict[str, Any]:
    url = attachment_url(base_url, attachment)
    return {
        "id": attachment.id,
        "message_id": attachment.message_id,
        "file_type": attachment.file_type,
        "account_id": state.account_id,
        "extension": attachment.extension,
        "data_url": url,
        "thumb_url": url if attachment.file_type == "image" else "",
        "file_size": len(attachment.data),
        "width": None,
        "height": None,
    }


def message_json(message: Message, state: State, base_url: str) -> dict[str, Any]:
    """A message as `POST`/`GET .../messages` show it (`_message.json.jbuilder`)."""
    conversation = state.conversations[message.conversation_id]
    body: dict[str, Any] = {
        "id": message.id,
        "content": message.content,
        "inbox_id": message.inbox_id,
        "conversation_id": conversation.display_id,
        "message_type": MESSAGE_TYPES[message.message_type],
        "content_type": message.content_type,
        "status": message.status,
        "content_attributes": dict(message.content_attributes),
        "created_at": int(message.created_at),
        "private": message.private,
        "source_id": message.source_id,
    }
    sender = _sender_push(message.sender, state)
    if sender is not None:
        body["sender"] = sender
    if message.attachments:
        body["attachments"] = [_attachment_push(a, state, base_url) for a in message.attachments]
    return body


def _message_push(message: Message, state: State, base_url: str) -> dict[str, Any]:
    """The message inside a conversation's `messages` (`push_event_data`)."""
    body = message_json(message, state, base_url)
    body["account_id"] = state.account_id
    kind, ident = message.sender or (None, None)
    body["sender_type"] = _SENDER_CLASSES.get(kind or "")
    body["sender_id"] = ident
    return body


def _account(state: State) -> dict[str, Any]:
    return {"id": state.account_id, "name": state.account_name}


def message_webhook(message: Message, state: State, base_url: str, event: str) -> dict[str, Any]:
    """The body of `message_created` / `message_updated` (`Message#webhook_data` + event)."""
    conversation = state.conversations[message.conversation_id]
    account = _account(state)
    body: dict[str, Any] = {
        "account": account,
        "additional_attributes": {},
        "content_attributes": dict(message.content_attributes),
        "content_type": message.content_type,
        "content": message.content,
        "conversation": _conversation_push(conversation, state, base_url),
        "created_at": iso_time(message.created_at),
        "id": message.id,
        "inbox": _inbox_brief(state.inboxes.get(message.inbox_id)),
        "message_type": message.message_type,
        "private": message.private,
        "sender": _sender_webhook(message.sender, state, account),
        "source_id": message.source_id,
        "event": event,
    }
    if message.attachments:
        body["attachments"] = [_attachment_push(a, state, base_url) for a in message.attachments]
    return body


# -- conversations -------------------------------------------------------------------------------


def _last_chat_message(conversation: Conversation, state: State) -> Message | None:
    chat = [
        m
        for m in state.messages.get(conversation.id, [])
        if m.message_type != "activity" and not m.private
    ]
    return chat[-1] if chat else None


def _unread(conversation: Conversation, state: State) -> int:
    return sum(
        1
        for m in state.messages.get(conversation.id, [])
        if m.message_type == "incoming" and m.created_at > conversation.agent_last_seen_at
    )


def _assignee_push(conversation: Conversation, state: State) -> dict[str, Any] | None:
    if conversation.assignee_id is None:
        return None
    return _sender_push(("user", conversation.assignee_id), state)


def conversation_json(conversation: Conversation, state: State, base_url: str) -> dict[str, Any]:
    """A conversation as the REST API shows it (`conversations/partials/_conversation`)."""
    contact = state.contacts[conversation.contact_id]
    inbox = state.inboxes[conversation.inbox_id]
    latest = state.messages.get(conversation.id, [])
    last = latest[-1] if latest else None
    meta: dict[str, Any] = {
        "sender": contact_json(contact, state, with_inboxes=False),
        "channel": inbox.channel_type,
        "hmac_verified": False,
    }
    assignee = _assignee_push(conversation, state)
    if assignee is not None:
        meta["assignee"] = assignee
    non_activity = _last_chat_message(conversation, state)
    return {
        "meta": meta,
        "id": conversation.display_id,
        "messages": [_message_push(last, state, base_url)] if last else [],
        "account_id": state.account_id,
        "uuid": conversation.uuid,
        "additional_attributes": dict(conversation.additional_attributes),
        "agent_last_seen_at": int(conversation.agent_last_seen_at),
        "assignee_last_seen_at": 0,
        "can_reply": True,
        "contact_last_seen_at": int(conversation.contact_last_seen_at),
        "custom_attributes": dict(conversation.custom_attributes),
        "inbox_id": conversation.inbox_id,
        "labels": [],
        "muted": False,
        "snoozed_until": None,
        "status": conversation.status,
        "created_at": int(conversation.created_at),
        "timestamp": int(conversation.last_activity_at),
        "first_reply_created_at": 0,
        "unread_count": _unread(conversation, state),
        "last_non_activity_message": (
            _message_push(non_activity, state, base_url) if non_activity else None
        ),
        "last_activity_at": int(conversation.last_activity_at),
        "priority": None,
        "waiting_since": 0,
    }


def _conversation_push(conversation: Conversation, state: State, base_url: str) -> dict[str, Any]:
    """A conversation as webhooks show it (`Conversations::EventDataPresenter#push_data`)."""
    contact = state.contacts[conversation.contact_id]
    session = state.contact_inboxes.get(conversation.contact_inbox_id)
    inbox = state.inboxes[conversation.inbox_id]
    last = _last_chat_message(conversation, state)
    return {
        "additional_attributes": dict(conversation.additional_attributes),
        "can_reply": True,
        "channel": inbox.channel_type,
        "contact_inbox": (
            {
                "id": session.id,
                "contact_id": session.contact_id,
                "inbox_id": session.inbox_id,
                "source_id": session.source_id,
                "created_at": iso_time(session.created_at),
                "updated_at": iso_time(session.created_at),
                "hmac_verified": session.hmac_verified,
                "pubsub_token": session.pubsub_token,
            }
            if session
            else None
        ),
        "id": conversation.display_id,
        "inbox_id": conversation.inbox_id,
        "messages": [_message_push(last, state, base_url)] if last else [],
        "labels": [],
        "meta": {
            "sender": _contact_push(contact),
            "assignee": _assignee_push(conversation, state),
            "assignee_type": "User" if conversation.assignee_id else None,
            "team": None,
            "hmac_verified": False,
        },
        "status": conversation.status,
        "custom_attributes": dict(conversation.custom_attributes),
        "snoozed_until": None,
        "unread_count": _unread(conversation, state),
        "first_reply_created_at": None,
        "priority": None,
        "waiting_since": 0,
        "agent_last_seen_at": int(conversation.agent_last_seen_at),
        "contact_last_seen_at": int(conversation.contact_last_seen_at),
        "last_activity_at": int(conversation.last_activity_at),
        "timestamp": int(conversation.last_activity_at),
        "created_at": int(conversation.created_at),
        "updated_at": conversation.updated_at,
    }


def conversation_webhook(
    conversation: Conversation,
    state: State,
    base_url: str,
    event: str,
    changes: Mapping[str, tuple[Any, Any]] | None = None,
) -> dict[str, Any]:
    """The body of `conversation_created` / `conversation_status_changed` / ..._updated."""
    body = _conversation_push(conversation, state, base_url)
    body["account"] = _account(state)
    body["event"] = event
    if changes is not None:
        body["changed_attributes"] = [
            {key: {"previous_value": old, "current_value": new}}
            for key, (old, new) in changes.items()
        ]
    return body
