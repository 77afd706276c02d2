"""The emulated account's state: users, conversations, messages, channels, agents, groups, uploads.

Records are mutable entities (a conversation changes status, a user is updated); the wire shapes
live in `wire.py`. Every id is a UUID string, as in the real service, and every timestamp is an
integer number of milliseconds since the epoch, rendered by `iso_time`.

Timestamps are **strictly increasing** across the whole state: two records created in the same
millisecond get consecutive milliseconds. The real service cannot promise that, but the emulator
pages messages with a `from_time` cursor (newest first), and unique times make that cursor exact.
"""

from __future__ import annotations

import functools
import secrets
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

import attrs

from ...clock import Clock, SystemClock

__all__ = [
    "Account",
    "Agent",
    "Channel",
    "Conversation",
    "Group",
    "Message",
    "State",
    "Upload",
    "User",
    "iso_time",
    "parse_iso_time",
]

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def iso_time(ms: int) -> str:
    """Milliseconds since the epoch as Freshchat writes them: `2021-08-17T08:06:22.803Z`."""
    seconds, millis = divmod(ms, 1000)
    return f"{_iso_second(seconds)}{millis:03d}Z"


@functools.lru_cache(maxsize=4096)
def _iso_second(seconds: int) -> str:
    # strftime is most of what rendering a message costs; its records share few seconds.
    return (_EPOCH + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%S.")


def parse_iso_time(text: str) -> int:
    """An ISO-8601 time (`Z` or an offset; no zone means UTC) as milliseconds since the epoch.

    Raises `ValueError` for anything else.
    """
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=timezone.utc)
        # Integer arithmetic: going through float seconds loses a millisecond now and then.
        return (moment - _EPOCH) // timedelta(milliseconds=1)
    except (OverflowError, OSError) as exc:
        raise ValueError(f"time out of range: {text!r}") from exc


def new_id() -> str:
    return str(uuid.uuid4())


@attrs.frozen(kw_only=True)
class Account:
    """What `GET /v2/accounts/configuration` reports."""

    organisation_id: str
    account_id: str
    app_id: str
    account_domain: str
    datacenter: str = "US"
    plan_type: str = "ENTERPRISE"


@attrs.define(kw_only=True)
class User:
    id: str
    created: int
    updated: int
    org_contact_id: str
    reference_id: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    phone: str | None = None
    avatar_url: str | None = None
    properties: list[dict[str, Any]] = attrs.field(factory=list)


@attrs.define(kw_only=True)
class Channel:
    """A Freshchat "topic"/inbox; its id is the `channel_id` of a new conversation."""

    id: str
    name: str
    updated: int
    enabled: bool = True
    public: bool = True
    locale: str = "en"
    welcome_message: str | None = None
    icon_url: str | None = None
    tags: list[str] = attrs.field(factory=list)


@attrs.define(kw_only=True)
class Agent:
    id: str
    email: str
    first_name: str
    last_name: str
    org_agent_id: str
    group_ids: list[str] = attrs.field(factory=list)
    role_name: str = "ACCOUNT_ADMIN"


@attrs.define(kw_only=True)
class Group:
    id: str
    name: str
    description: str = ""
    agent_ids: list[str] = attrs.field(factory=list)


@attrs.define(kw_only=True)
class Conversation:
    id: str
    internal_id: int
    channel_id: str
    user_ids: list[str]
    created: int
    updated: int
    interaction_id: str
    status: str = "new"
    assigned_agent_id: str | None = None
    assigned_group_id: str | None = None
    properties: dict[str, Any] = attrs.field(factory=dict)

    @property
    def user_id(self) -> str:
        """The conversation's end user (Freshchat conversations have one in practice)."""
        return self.user_ids[0]


@attrs.define(kw_only=True)
class Message:
    id: str
    conversation_id: str
    channel_id: str
    user_id: str
    actor_type: str
    actor_id: str | None
    message_type: str
    message_source: str
    created: int
    interaction_id: str
    org_actor_id: str | None
    parts: list[dict[str, Any]]
    reply_parts: list[dict[str, Any]] | None = None


@attrs.define(kw_only=True)
class Upload:
    """An uploaded image or file, served back by the emulator at `/_emulator/files/{id}`."""

    id: str
    kind: str
    name: str
    content_type: str
    data: bytes
    file_hash: str
    width: int | None = None
    height: int | None = None


class State:
    """Everything the emulated account holds, plus "the latest conversation per (user, channel)".

    Seeded with an account, two enabled channels ("Support", which has a welcome message, and
    "Billing", which has none), one group and one agent in it.
    """

    def __init__(self, clock: Clock | None = None) -> None:
        self.clock: Clock = clock or SystemClock()
        self._last_ms = 0
        self._org_ids = 1_000_000_000_000 + secrets.randbelow(10**12)
        self.account = Account(
            organisation_id=self.next_org_id(),
            account_id=self.next_org_id(),
            app_id=new_id(),
            account_domain="emulator.freshchat.test",
        )
        # Authors of messages and changes that no person made: welcome messages, API-made changes.
        self.system_actor_id = new_id()
        self.bot_actor_id = new_id()
        self.users: dict[str, User] = {}
        self.conversations: dict[str, Conversation] = {}
        self.messages: dict[str, list[Message]] = {}
        self.channels: dict[str, Channel] = {}
        self.agents: dict[str, Agent] = {}
        self.groups: dict[str, Group] = {}
        self.uploads: dict[str, Upload] = {}
        self.uploads_by_hash: dict[str, Upload] = {}
        self.latest: dict[tuple[str, str], str] = {}
        # Indexes, so lookups stay fast when a benchmark creates many users.
        self._by_reference: dict[str, list[User]] = {}
        self._user_conversations: dict[str, list[Conversation]] = {}
        self._seed()

    def _seed(self) -> None:
        now = self.now()
        group = Group(id=new_id(), name="Support team", description="First line")
        agent = Agent(
            id=new_id(),
            email="alex.agent@example.com",
            first_name="Alex",
            last_name="Agent",
            org_agent_id=self.next_org_id(),
            group_ids=[group.id],
        )
        group.agent_ids.append(agent.id)
        self.groups[group.id] = group
        self.agents[agent.id] = agent
        for channel in (
            Channel(
                id=new_id(),
                name="Support",
                updated=now,
                welcome_message="Hi! How can we help you today?",
            ),
            Channel(id=new_id(), name="Billing", updated=now),
        ):
            self.channels[channel.id] = channel

    def now(self) -> int:
        """The current time in milliseconds, later than every time handed out before."""
        ms = max(int(self.clock.time() * 1000), self._last_ms + 1)
        self._last_ms = ms
        return ms

    def next_org_id(self) -> str:
        """The next numeric "org" id (`org_contact_id`, `org_actor_id`, ...), digits as a string."""
        self._org_ids += 1
        return str(self._org_ids)

    @property
    def default_channel(self) -> Channel:
        return next(iter(self.channels.values()))

    @property
    def default_agent(self) -> Agent:
        return next(iter(self.agents.values()))

    def add_user(self, **fields: Any) -> User:
        now = self.now()
        user = User(
            id=new_id(), created=now, updated=now, org_contact_id=self.next_org_id(), **fields
        )
        self.users[user.id] = user
        if user.reference_id is not None:
            self._by_reference.setdefault(user.reference_id, []).append(user)
        return user

    def set_reference(self, user: User, reference_id: str | None) -> None:
        """Change a user's `reference_id`, keeping the lookup index right."""
        if user.reference_id is not None:
            self._by_reference[user.reference_id].remove(user)
        user.reference_id = reference_id
        if reference_id is not None:
            found = self._by_reference.setdefault(reference_id, [])
            found.append(user)
            found.sort(key=lambda u: u.created)

    def users_by_reference(self, reference_id: str) -> list[User]:
        """The users carrying `reference_id`, oldest first."""
        return list(self._by_reference.get(reference_id, ()))

    def add_conversation(
        self,
        *,
        channel_id: str,
        user_ids: list[str],
        status: str,
        assigned_agent_id: str | None,
        assigned_group_id: str | None,
        properties: dict[str, Any],
    ) -> Conversation:
        """Create a conversation; it becomes the latest one of each of its users in its channel."""
        user_ids = list(dict.fromkeys(user_ids))
        now = self.now()
        internal_id = 10**15 + len(self.conversations) + 1
        conversation = Conversation(
            id=new_id(),
            internal_id=internal_id,
            channel_id=channel_id,
            user_ids=list(user_ids),
            created=now,
            updated=now,
            interaction_id=f"{internal_id}-{now}",
            status=status,
            assigned_agent_id=assigned_agent_id,
            assigned_group_id=assigned_group_id,
            properties=dict(properties),
        )
        self.conversations[conversation.id] = conversation
        self.messages[conversation.id] = []
        for user_id in user_ids:
            self.latest[(user_id, channel_id)] = conversation.id
            self._user_conversations.setdefault(user_id, []).append(conversation)
        return conversation

    def add_message(
        self,
        conversation: Conversation,
        *,
        actor_type: str,
        actor_id: str | None,
        message_type: str,
        message_source: str,
        parts: list[dict[str, Any]],
        reply_parts: list[dict[str, Any]] | None = None,
    ) -> Message:
        now = self.now()
        message = Message(
            id=new_id(),
            conversation_id=conversation.id,
            channel_id=conversation.channel_id,
            user_id=conversation.user_id,
            actor_type=actor_type,
            actor_id=actor_id,
            message_type=message_type,
            message_source=message_source,
            created=now,
            interaction_id=conversation.interaction_id,
            org_actor_id=self.org_actor_id(actor_type, actor_id),
            parts=parts,
            reply_parts=reply_parts,
        )
        self.messages[conversation.id].append(message)
        conversation.updated = now
        return message

    def org_actor_id(self, actor_type: str, actor_id: str | None) -> str | None:
        if actor_type == "user" and actor_id in self.users:
            return self.users[actor_id].org_contact_id
        if actor_type == "agent" and actor_id in self.agents:
            return self.agents[actor_id].org_agent_id
        return None

    def add_upload(self, upload: Upload) -> Upload:
        self.uploads[upload.id] = upload
        self.uploads_by_hash[upload.file_hash] = upload
        return upload

    def conversations_of(self, user_id: str) -> list[Conversation]:
        """The user's conversations, the most recent first."""
        return self._user_conversations.get(user_id, [])[::-1]

    def is_latest(self, conversation: Conversation, user_id: str) -> bool:
        return self.latest.get((user_id, conversation.channel_id)) == conversation.id
