"""The emulated account's records: agents, a bot, inboxes, contacts, their inbox sessions,
conversations, messages and attachments.

Records are mutable entities; their JSON shapes live in `wire.py`. Every id is an integer, as
in Chatwoot: contacts, messages and attachments number from values far apart (so a test that
mixes them up fails), and each conversation has an internal id and the **display id** the API
and the dashboard show, counted per account from 1.

Times are float seconds since the epoch and **strictly increasing** across the state (two
records created in one millisecond get consecutive milliseconds), so "latest" is never a tie.
"""

from __future__ import annotations

import secrets
import uuid
from typing import Any

import attrs

from ...clock import Clock, SystemClock

__all__ = [
    "Agent",
    "Attachment",
    "Bot",
    "Contact",
    "ContactInbox",
    "Conversation",
    "Inbox",
    "Message",
    "State",
]


@attrs.define(kw_only=True)
class Agent:
    """A user of the account; `token` is their access token (`api_access_token`)."""

    id: int
    name: str
    email: str
    token: str
    role: str = "administrator"


@attrs.define(kw_only=True)
class Bot:
    """An agent bot; its replies have `sender.type == "agent_bot"`."""

    id: int
    name: str
    token: str


@attrs.define(kw_only=True)
class Inbox:
    """An inbox; `channel_type` "Channel::Api" is the bridge's kind.

    `secret` signs its webhooks (shown in the settings page and the REST API); `hmac_token`
    verifies contacts' identities. `greeting_message`, when set, greets each new conversation
    with a `template` message. `lock_to_single_conversation` makes `POST /conversations` give
    back the contact's last conversation instead of a new one.
    """

    id: int
    name: str
    channel_type: str
    channel_id: int
    webhook_url: str | None = None
    secret: str = attrs.field(factory=lambda: secrets.token_urlsafe(24))
    hmac_token: str = attrs.field(factory=lambda: secrets.token_urlsafe(24))
    greeting_message: str | None = None
    lock_to_single_conversation: bool = False
    created_at: float = 0.0


@attrs.define(kw_only=True)
class Contact:
    id: int
    created_at: float
    name: str = ""
    identifier: str | None = None
    email: str | None = None
    phone_number: str | None = None
    avatar_url: str | None = None
    additional_attributes: dict[str, Any] = attrs.field(factory=dict)
    custom_attributes: dict[str, Any] = attrs.field(factory=dict)
    last_activity_at: float | None = None


@attrs.define(kw_only=True)
class ContactInbox:
    """A contact's session in one inbox, named by `source_id` (unique in the inbox)."""

    id: int
    contact_id: int
    inbox_id: int
    source_id: str
    created_at: float
    pubsub_token: str = attrs.field(factory=lambda: secrets.token_urlsafe(18))
    hmac_verified: bool = False


@attrs.define(kw_only=True)
class Conversation:
    id: int
    display_id: int
    inbox_id: int
    contact_id: int
    contact_inbox_id: int
    created_at: float
    updated_at: float
    last_activity_at: float
    status: str = "open"
    assignee_id: int | None = None
    uuid: str = attrs.field(factory=lambda: str(uuid.uuid4()))
    additional_attributes: dict[str, Any] = attrs.field(factory=dict)
    custom_attributes: dict[str, Any] = attrs.field(factory=dict)
    agent_last_seen_at: float = 0.0
    contact_last_seen_at: float = 0.0


@attrs.define(kw_only=True)
class Attachment:
    """A file of a message, served at `/rails/active_storage/blobs/redirect/{key}/{filename}`."""

    id: int
    message_id: int
    file_type: str
    filename: str
    content_type: str
    data: bytes
    key: str = attrs.field(factory=lambda: secrets.token_urlsafe(16))

    @property
    def extension(self) -> str | None:
        _, dot, suffix = self.filename.rpartition(".")
        return suffix.lower() if dot and suffix else None


@attrs.define(kw_only=True)
class Message:
    """`message_type`: incoming (the contact), outgoing (an agent, a bot, an automation),
    activity (the desk's own notices) or template (automatic messages such as greetings).
    `sender` is `(type, id)` with type contact, user or agent_bot, or None."""

    id: int
    conversation_id: int
    inbox_id: int
    message_type: str
    created_at: float
    content: str | None = None
    content_type: str = "text"
    content_attributes: dict[str, Any] = attrs.field(factory=dict)
    private: bool = False
    sender: tuple[str, int] | None = None
    source_id: str | None = None
    status: str = "sent"
    attachments: list[Attachment] = attrs.field(factory=list)


class State:
    """Everything the emulated account holds, and the indexes that find it fast.

    Seeded with an account, an administrator (whose token the API takes), a second agent, an
    agent bot, the API inbox the bridge uses and a website-widget inbox beside it.
    """

    def __init__(
        self,
        clock: Clock | None = None,
        *,
        account_id: int = 1,
        inbox_id: int = 1,
        token: str = "test-token",
    ) -> None:
        self.clock: Clock = clock or SystemClock()
        self._last = 0.0
        self.account_id = account_id
        self.account_name = "Acme Support"
        self.agents: dict[int, Agent] = {}
        self.bots: dict[int, Bot] = {}
        self.inboxes: dict[int, Inbox] = {}
        self.contacts: dict[int, Contact] = {}
        self.contact_inboxes: dict[int, ContactInbox] = {}
        self.conversations: dict[int, Conversation] = {}
        self.messages: dict[int, list[Message]] = {}
        self.attachments: dict[str, Attachment] = {}
        self._ids = {"contact": 100, "contact_inbox": 500, "conversation": 7000, "message": 30_000}
        self._ids |= {"attachment": 90_000}
        self._display_ids = 0
        self._by_identifier: dict[str, Contact] = {}
        self._by_source: dict[tuple[int, str], ContactInbox] = {}
        self._by_display: dict[int, Conversation] = {}
        self._seed(inbox_id, token)

    def _seed(self, inbox_id: int, token: str) -> None:
        now = self.now()
        admin = Agent(id=1, name="API Integration", email="api@acme.example", token=token)
        agent = Agent(
            id=2, name="Alex Agent", email="alex@acme.example", token="agent-token", role="agent"
        )
        self.agents = {admin.id: admin, agent.id: agent}
        self.bots[1] = Bot(id=1, name="Helper Bot", token="bot-token")
        api = Inbox(
            id=inbox_id, name="byoc", channel_type="Channel::Api", channel_id=1, created_at=now
        )
        widget = Inbox(
            id=inbox_id + 1,
            name="Website",
            channel_type="Channel::WebWidget",
            channel_id=1,
            created_at=now,
        )
        self.inboxes = {api.id: api, widget.id: widget}

    @property
    def api_inbox(self) -> Inbox:
        return next(i for i in self.inboxes.values() if i.channel_type == "Channel::Api")

    @property
    def default_agent(self) -> Agent:
        return self.agents[2]

    def now(self) -> float:
        """The current time, later than every time handed out before (by 1 ms at least)."""
        moment = max(self.clock.time(), self._last + 0.001)
        self._last = moment
        return moment

    def next_id(self, kind: str) -> int:
        self._ids[kind] += 1
        return self._ids[kind]

    # -- contacts ------------------------------------------------------------------------------

    def add_contact(self, **fields: Any) -> Contact:
        contact = Contact(id=self.next_id("contact"), created_at=self.now(), **fields)
        self.contacts[contact.id] = contact
        if contact.identifier is not None:
            self._by_identifier[contact.identifier] = contact
        return contact

    def contact_by_identifier(self, identifier: str) -> Contact | None:
        return self._by_identifier.get(identifier)

    def set_identifier(self, contact: Contact, identifier: str | None) -> None:
        if contact.identifier is not None:
            self._by_identifier.pop(contact.identifier, None)
        contact.identifier = identifier
        if identifier is not None:
            self._by_identifier[identifier] = contact

    def remove_contact(self, contact: Contact) -> None:
        """Delete a contact with its sessions and conversations, as the dashboard does."""
        for conversation in [c for c in self.conversations.values() if c.contact_id == contact.id]:
            self.remove_conversation(conversation)
        for session in [s for s in self.contact_inboxes.values() if s.contact_id == contact.id]:
            del self.contact_inboxes[session.id]
            del self._by_source[(session.inbox_id, session.source_id)]
        self.set_identifier(contact, None)
        del self.contacts[contact.id]

    # -- contact inboxes -----------------------------------------------------------------------

    def add_contact_inbox(self, contact: Contact, inbox: Inbox, source_id: str) -> ContactInbox:
        session = ContactInbox(
            id=self.next_id("contact_inbox"),
            contact_id=contact.id,
            inbox_id=inbox.id,
            source_id=source_id,
            created_at=self.now(),
        )
        self.contact_inboxes[session.id] = session
        self._by_source[(inbox.id, source_id)] = session
        return session

    def contact_inbox_by_source(self, inbox_id: int, source_id: str) -> ContactInbox | None:
        return self._by_source.get((inbox_id, source_id))

    def sessions_of(self, contact_id: int) -> list[ContactInbox]:
        return [s for s in self.contact_inboxes.values() if s.contact_id == contact_id]

    # -- conversations and messages ------------------------------------------------------------

    def add_conversation(self, session: ContactInbox, *, status: str) -> Conversation:
        now = self.now()
        self._display_ids += 1
        conversation = Conversation(
            id=self.next_id("conversation"),
            display_id=self._display_ids,
            inbox_id=session.inbox_id,
            contact_id=session.contact_id,
            contact_inbox_id=session.id,
            created_at=now,
            updated_at=now,
            last_activity_at=now,
            status=status,
        )
        self.conversations[conversation.id] = conversation
        self._by_display[conversation.display_id] = conversation
        self.messages[conversation.id] = []
        return conversation

    def conversation_by_display(self, display_id: int) -> Conversation | None:
        return self._by_display.get(display_id)

    def remove_conversation(self, conversation: Conversation) -> None:
        for message in self.messages.pop(conversation.id, []):
            for attachment in message.attachments:
                self.attachments.pop(attachment.key, None)
        del self.conversations[conversation.id]
        del self._by_display[conversation.display_id]

    def conversations_of(self, contact_id: int) -> list[Conversation]:
        """The contact's conversations, the latest activity first."""
        found = [c for c in self.conversations.values() if c.contact_id == contact_id]
        return sorted(found, key=lambda c: -c.last_activity_at)

    def add_message(self, conversation: Conversation, **fields: Any) -> Message:
        now = self.now()
        message = Message(
            id=self.next_id("message"),
            conversation_id=conversation.id,
            inbox_id=conversation.inbox_id,
            created_at=now,
            **fields,
        )
        self.messages[conversation.id].append(message)
        if message.message_type != "activity":
            conversation.last_activity_at = now
        conversation.updated_at = now
        return message

    def add_attachment(
        self, message: Message, *, file_type: str, filename: str, content_type: str, data: bytes
    ) -> Attachment:
        attachment = Attachment(
            id=self.next_id("attachment"),
            message_id=message.id,
            file_type=file_type,
            filename=filename,
            content_type=content_type,
            data=data,
        )
        message.attachments.append(attachment)
        self.attachments[attachment.key] = attachment
        return attachment

    def sender_name(self, sender: tuple[str, int] | None) -> str | None:
        if sender is None:
            return None
        kind, ident = sender
        if kind == "contact" and ident in self.contacts:
            return self.contacts[ident].name
        if kind == "user" and ident in self.agents:
            return self.agents[ident].name
        if kind == "agent_bot" and ident in self.bots:
            return self.bots[ident].name
        return None
