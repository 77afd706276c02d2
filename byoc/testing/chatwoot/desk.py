"""The help desk's rules, shared by the REST API, the agent actions and the control endpoints.

Every change validates first and mutates after, so a refused request leaves no trace, and
reports what happened as events in the order Chatwoot sends its webhooks. The rules a bridge
meets (from Chatwoot's controllers, builders and models):

- A contact's `identifier` is unique in the account (422 "Identifier has already been taken");
  a `source_id` is unique in its inbox (422 "source_id should be unique").
- `POST /conversations` with `inbox_id` and `contact_id` finds or makes the contact's session
  for that `source_id`; **without** a source id it makes a new session every time (a random
  one). With only a `source_id`, the session must exist (404). It always makes a new
  conversation, unless the inbox locks contacts to a single conversation.
- A message's `message_type` defaults to **outgoing**: a bridge that forgets to say "incoming"
  sends the user's own words back to them. Only API inboxes take incoming messages.
- An incoming message reopens a resolved or snoozed conversation (its status change is
  reported first, then the message). The first incoming message of a conversation is answered
  by the inbox's greeting (a `template` message) when it has one.
- Up to 15 attachments per message, 40 MB each, filed as image, audio, video or file by their
  content type; `content` up to 150,000 characters.
- Status changes add an `activity` message (never sent to webhooks).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs

from .forms import FormFile, flag, integer, text
from .state import Contact, ContactInbox, Conversation, Inbox, Message, State
from .wire import ApiError

__all__ = [
    "CONTACT_PAGE",
    "MAX_ATTACHMENT_BYTES",
    "STATUSES",
    "ConversationCreated",
    "Desk",
    "Event",
    "MessageCreated",
    "StatusChanged",
]

STATUSES = ("open", "resolved", "pending", "snoozed")
CONTENT_TYPES = frozenset(
    {
        "text",
        "input_text",
        "input_textarea",
        "input_email",
        "input_select",
        "cards",
        "form",
        "article",
        "incoming_email",
        "input_csat",
        "integrations",
    }
)
CONTACT_PAGE = 15
MAX_ATTACHMENTS = 15
MAX_ATTACHMENT_BYTES = 40 * 1024 * 1024
MAX_CONTENT = 150_000
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_E164 = re.compile(r"^\+[1-9]\d{1,14}$")
_FILTER_KEYS = ("name", "email", "phone_number", "identifier")
_FILTER_OPERATORS = ("equal_to", "not_equal_to", "contains", "does_not_contain", "starts_with")

Sender = tuple[str, int]


@attrs.frozen(kw_only=True)
class MessageCreated:
    message: Message


@attrs.frozen(kw_only=True)
class StatusChanged:
    conversation: Conversation
    previous: str


@attrs.frozen(kw_only=True)
class ConversationCreated:
    conversation: Conversation


Event = MessageCreated | StatusChanged | ConversationCreated


class Desk:
    """Applies requests to a `State` and reports each change through `emit`."""

    def __init__(self, state: State, *, emit: Callable[[Event], None]) -> None:
        self.state = state
        self._emit = emit

    # -- lookups -------------------------------------------------------------------------------

    def contact(self, contact_id: Any) -> Contact:
        found = self.state.contacts.get(_lookup_id(contact_id))
        if found is None:
            raise ApiError.not_found()
        return found

    def inbox(self, inbox_id: Any) -> Inbox:
        found = self.state.inboxes.get(_lookup_id(inbox_id))
        if found is None:
            raise ApiError.not_found()
        return found

    def conversation(self, display_id: Any) -> Conversation:
        found = self.state.conversation_by_display(_lookup_id(display_id))
        if found is None:
            raise ApiError.not_found()
        return found

    # -- contacts ------------------------------------------------------------------------------

    def create_contact(self, params: Mapping[str, Any]) -> tuple[Contact, ContactInbox | None]:
        """`POST /contacts`, with the contact's session in `inbox_id` when it is given."""
        fields = _contact_fields(params)
        identifier = fields.get("identifier")
        if identifier is not None and self.state.contact_by_identifier(identifier) is not None:
            raise ApiError.invalid("Identifier has already been taken", ["identifier"])
        email = fields.get("email")
        if email is not None and any(c.email == email for c in self.state.contacts.values()):
            raise ApiError.invalid("Email has already been taken", ["email"])
        inbox = self.inbox(params["inbox_id"]) if params.get("inbox_id") not in (None, "") else None
        source_id = text(params.get("source_id"), "source_id", 1000) or None
        if inbox is not None and source_id is not None:
            self._check_source_free(inbox, source_id, contact_id=None)
        contact = self.state.add_contact(**fields)
        session = self._session(contact, inbox, source_id) if inbox is not None else None
        return contact, session

    def add_contact_inbox(self, contact: Contact, params: Mapping[str, Any]) -> ContactInbox:
        """`POST /contacts/{id}/contact_inboxes`: the session for that source id (or a new one)."""
        if params.get("inbox_id") in (None, ""):
            raise ApiError.error(422, "param is missing or the value is empty: inbox_id")
        inbox = self.inbox(params["inbox_id"])
        return self._session(contact, inbox, text(params.get("source_id"), "source_id", 1000))

    def search_contacts(self, query: Any, page: int) -> tuple[list[Contact], bool]:
        """`GET /contacts/search`: contacts whose name, email or phone contain `query` (any
        case), whose identifier matches `%query%` as SQL LIKE does (case-sensitive, with `%`
        and `_` as wildcards), or whose id is `query`; 15 a page, and whether more follow."""
        if not isinstance(query, str) or not query.strip():
            raise ApiError.error(422, "Specify search string with parameter q")
        needle = query.strip()
        like = re.compile(
            ".*".join(
                ".".join(re.escape(p) for p in chunk.split("_")) for chunk in needle.split("%")
            ),
            re.DOTALL,
        )
        lowered = needle.lower()
        found = [
            c
            for c in sorted(self.state.contacts.values(), key=lambda c: c.id)
            if any(lowered in (v or "").lower() for v in (c.name, c.email, c.phone_number))
            or (c.identifier is not None and like.search(c.identifier) is not None)
            or (needle.isdigit() and c.id == int(needle))
        ]
        start = (page - 1) * CONTACT_PAGE
        return found[start : start + CONTACT_PAGE], len(found) > start + CONTACT_PAGE

    def filter_contacts(self, rules: Any, page: int) -> tuple[list[Contact], int]:
        """`POST /contacts/filter`: contacts matching the rules (text compared ignoring case;
        AND binds tighter than OR, as in the SQL Chatwoot builds); a page and the total."""
        if not isinstance(rules, list) or not rules:
            raise ApiError.error(422, "param is missing or the value is empty: payload")
        checks = [_filter_rule(rule) for rule in rules]
        found = [
            c
            for c in sorted(self.state.contacts.values(), key=lambda c: c.id)
            if _matches_rules(c, checks)
        ]
        start = (page - 1) * CONTACT_PAGE
        return found[start : start + CONTACT_PAGE], len(found)

    def delete_contact(self, contact: Contact) -> None:
        self.state.remove_contact(contact)

    def _check_source_free(self, inbox: Inbox, source_id: str, *, contact_id: int | None) -> None:
        taken = self.state.contact_inbox_by_source(inbox.id, source_id)
        if taken is not None and taken.contact_id != contact_id:
            raise ApiError.error(422, "source_id should be unique")

    def _session(self, contact: Contact, inbox: Inbox, source_id: str | None) -> ContactInbox:
        """`ContactInboxBuilder`: the contact's session with this source id, made if missing;
        no source id means a new random one."""
        if source_id is None:
            source_id = _random_source_id()
        self._check_source_free(inbox, source_id, contact_id=contact.id)
        existing = self.state.contact_inbox_by_source(inbox.id, source_id)
        return existing or self.state.add_contact_inbox(contact, inbox, source_id)

    # -- conversations -------------------------------------------------------------------------

    def create_conversation(self, params: Mapping[str, Any], actor: Sender) -> Conversation:
        """`POST /conversations`, then its first message when `params["message"]` is given."""
        status = params.get("status") or "open"
        if status not in STATUSES:
            raise ApiError.error(422, f"'{status}' is not a valid status")
        assignee = integer(params.get("assignee_id"), "assignee_id")
        if assignee is not None and assignee not in self.state.agents:
            raise ApiError.not_found()
        message = params.get("message")
        if message is not None and not isinstance(message, dict):
            raise ApiError.error(422, "message must be an object")
        inbox, contact, source_id = self._conversation_target(params)
        if message:
            self._message_fields(message, inbox, actor)  # refuse before creating anything
        session = self._session(contact, inbox, source_id)
        existing = [
            c for c in self.state.conversations.values() if c.contact_inbox_id == session.id
        ]
        if inbox.lock_to_single_conversation and existing:
            conversation = max(existing, key=lambda c: c.created_at)
        else:
            conversation = self.state.add_conversation(session, status=status)
            conversation.assignee_id = assignee
            for key in ("additional_attributes", "custom_attributes"):
                if isinstance(params.get(key), dict):
                    getattr(conversation, key).update(params[key])
            self._emit(ConversationCreated(conversation=conversation))
        if message:
            self.post_message(conversation, message, actor)
        return conversation

    def _conversation_target(self, params: Mapping[str, Any]) -> tuple[Inbox, Contact, str | None]:
        """The inbox, contact and source id a new conversation's session is found or made by."""
        source_id = text(params.get("source_id"), "source_id", 1000) or None
        if params.get("inbox_id") not in (None, "") and params.get("contact_id") not in (None, ""):
            inbox = self.inbox(params["inbox_id"])
            contact = self.contact(params["contact_id"])
            if source_id is not None:
                self._check_source_free(inbox, source_id, contact_id=contact.id)
            return inbox, contact, source_id
        # The old lookup by source id alone, in whichever inbox holds it.
        for session in self.state.contact_inboxes.values():
            if source_id is not None and session.source_id == source_id:
                inbox = self.state.inboxes[session.inbox_id]
                return inbox, self.state.contacts[session.contact_id], source_id
        raise ApiError.not_found()

    def post_message(
        self, conversation: Conversation, params: Mapping[str, Any], actor: Sender
    ) -> Message:
        """`POST /conversations/{id}/messages` (and the agent actions, which use it too)."""
        inbox = self.state.inboxes[conversation.inbox_id]
        fields, files = self._message_fields(params, inbox, actor)
        if fields["message_type"] == "incoming":
            fields["sender"] = ("contact", conversation.contact_id)
            if conversation.status in ("resolved", "snoozed"):
                self._set_status(conversation, "open", None)
        message = self.state.add_message(conversation, **fields)
        for file in files:
            self.state.add_attachment(
                message,
                file_type=_file_type(file.content_type),
                filename=file.filename or "file",
                content_type=file.content_type,
                data=file.data,
            )
        self._emit(MessageCreated(message=message))
        if message.message_type == "incoming":
            contact = self.state.contacts[conversation.contact_id]
            contact.last_activity_at = message.created_at
            self._greet(conversation, inbox, message)
        return message

    def _message_fields(
        self, params: Mapping[str, Any], inbox: Inbox, actor: Sender
    ) -> tuple[dict[str, Any], list[FormFile]]:
        kind = params.get("message_type") or "outgoing"
        if kind not in ("incoming", "outgoing", "template"):
            raise ApiError.error(422, f"'{kind}' is not a valid message_type")
        if kind == "incoming" and inbox.channel_type != "Channel::Api":
            raise ApiError.error(422, "Incoming messages are only allowed in Api inboxes")
        content = params.get("content")
        if content is not None and not isinstance(content, str):
            content = str(content)
        if content is not None and len(content) > MAX_CONTENT:
            raise ApiError.invalid(
                f"Content is too long (maximum is {MAX_CONTENT} characters)", ["content"]
            )
        content_type = params.get("content_type") or "text"
        if content_type not in CONTENT_TYPES:
            raise ApiError.error(422, f"'{content_type}' is not a valid content_type")
        attributes = params.get("content_attributes") or {}
        if not isinstance(attributes, dict):
            raise ApiError.error(422, "content_attributes must be an object")
        files = _files(params.get("attachments"))
        sender: Sender | None = actor
        if params.get("sender_type") == "AgentBot":
            bot = integer(params.get("sender_id"), "sender_id")
            sender = ("agent_bot", bot) if bot in self.state.bots else actor
        fields = {
            "message_type": kind,
            "content": content,
            "content_type": content_type,
            "content_attributes": dict(attributes),
            "private": flag(params.get("private")),
            "sender": sender if kind == "outgoing" else None,
            "source_id": text(params.get("source_id"), "source_id", 1000),
        }
        return fields, files

    def _greet(self, conversation: Conversation, inbox: Inbox, message: Message) -> None:
        incoming = [m for m in self.state.messages[conversation.id] if m.message_type == "incoming"]
        if inbox.greeting_message and incoming == [message]:
            greeting = self.state.add_message(
                conversation, message_type="template", content=inbox.greeting_message
            )
            self._emit(MessageCreated(message=greeting))

    def set_status(self, conversation: Conversation, status: Any, actor: Sender | None) -> str:
        """`POST .../toggle_status`: the given status, or open ↔ resolved without one."""
        if status in (None, ""):
            status = "open" if conversation.status == "resolved" else "resolved"
        if status not in STATUSES:
            raise ApiError.error(422, f"'{status}' is not a valid status")
        self._set_status(conversation, status, actor)
        return str(status)

    def _set_status(self, conversation: Conversation, status: str, actor: Sender | None) -> None:
        previous = conversation.status
        if previous == status:
            return
        conversation.status = status
        conversation.updated_at = self.state.now()
        self._emit(StatusChanged(conversation=conversation, previous=previous))
        who = self.state.sender_name(actor) if actor else None
        verb = {"open": "reopened", "resolved": "marked resolved"}.get(status, f"set {status}")
        notice = f"Conversation was {verb} by {who}" if who else f"Conversation was {verb}"
        self.state.add_message(conversation, message_type="activity", content=notice)

    def delete_conversation(self, conversation: Conversation) -> None:
        """An agent deletes the conversation: later calls on it answer 404."""
        self.state.remove_conversation(conversation)

    def messages_page(
        self, conversation: Conversation, *, before: int | None, after: int | None
    ) -> list[Message]:
        """`MessageFinder`: the latest 20 (before `before`, after `after`), oldest first."""
        found = self.state.messages[conversation.id]
        if before is not None:
            found = [m for m in found if m.id < before]
        if after is not None:
            found = [m for m in found if m.id > after]
            return found[:100]
        return found[-20:]


def _lookup_id(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) < 19:
        return int(value)
    return -1  # `find(params[:id])` with a non-number finds nothing


def _random_source_id() -> str:
    return f"{secrets.token_hex(4)}-{secrets.token_hex(2)}-{secrets.token_hex(2)}"


def _contact_fields(params: Mapping[str, Any]) -> dict[str, Any]:
    fields: dict[str, Any] = {"name": text(params.get("name"), "name") or ""}
    identifier = text(params.get("identifier"), "identifier")
    fields["identifier"] = identifier or None
    email = text(params.get("email"), "email")
    if email:
        if not _EMAIL.match(email):
            raise ApiError.invalid("Email Invalid email", ["email"])
        fields["email"] = email.lower()
    phone = text(params.get("phone_number"), "phone_number")
    if phone:
        if not _E164.match(phone):
            raise ApiError.invalid("Phone number should be in e164 format", ["phone_number"])
        fields["phone_number"] = phone
    avatar = text(params.get("avatar_url"), "avatar_url", 2000)
    if avatar:
        fields["avatar_url"] = avatar
    for key in ("additional_attributes", "custom_attributes"):
        value = params.get(key)
        if value is not None and not isinstance(value, dict):
            raise ApiError.error(422, f"{key} must be an object")
        fields[key] = dict(value or {})
    return fields


def _filter_rule(rule: Any) -> tuple[str, str, list[str], str]:
    if not isinstance(rule, dict):
        raise ApiError.error(422, "Invalid filter")
    key, operator = rule.get("attribute_key"), rule.get("filter_operator")
    if key not in _FILTER_KEYS:
        raise ApiError.error(422, f"Invalid attribute key - {key}")
    if operator not in _FILTER_OPERATORS:
        raise ApiError.error(
            422, f"Invalid operator. The allowed operators for {key} are {list(_FILTER_OPERATORS)}"
        )
    values = rule.get("values")
    values = values if isinstance(values, list) else [values]
    joiner = str(rule.get("query_operator") or "and").lower()
    return key, operator, [str(v).lower() for v in values if v is not None], joiner


def _matches_rules(contact: Contact, checks: Sequence[tuple[str, str, list[str], str]]) -> bool:
    groups: list[list[bool]] = [[]]
    for index, (key, operator, values, _) in enumerate(checks):
        if index > 0 and checks[index - 1][3] == "or":
            groups.append([])
        field = (getattr(contact, key) or "").lower()
        if operator == "equal_to":
            result = field in values
        elif operator == "not_equal_to":
            result = field not in values
        elif operator == "contains":
            result = any(v in field for v in values)
        elif operator == "does_not_contain":
            result = not any(v in field for v in values)
        else:
            result = any(field.startswith(v) for v in values)
        groups[-1].append(result)
    return any(all(group) for group in groups)


def _files(value: Any) -> list[FormFile]:
    if value is None or value == "":
        return []
    items = value if isinstance(value, list) else [value]
    if not all(isinstance(item, FormFile) for item in items):
        raise ApiError.error(422, "attachments must be uploaded files (multipart attachments[])")
    if len(items) > MAX_ATTACHMENTS:
        raise ApiError.invalid("Attachments exceeded maximum allowed", ["attachments"])
    for item in items:
        if len(item.data) > MAX_ATTACHMENT_BYTES:
            raise ApiError.invalid("File size is too big", ["file"])
    return list(items)


def _file_type(content_type: str) -> str:
    major = content_type.split("/", 1)[0].lower()
    return major if major in ("image", "audio", "video") else "file"
