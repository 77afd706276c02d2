"""The help-desk contract (Freshchat, Chatwoot) and the events it reports.

The sync algorithm talks to the help desk only through `Messaging`. Each method is one upstream
call (`get_or_create_user` one or two), so the algorithm's call count is the bridge's call
count.

Ids are opaque strings to the core: a help desk puts in them whatever it needs to act on them
later, so that nothing has to be looked up again after a restart. A Freshchat user id is
Freshchat's own; a Chatwoot one also carries the contact's session in the inbox, without which
Chatwoot cannot start a conversation.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from datetime import datetime

import attrs

from .channel import AccountCheck
from .errors import PermanentError
from .media import MediaPart, MediaStream
from .models import Part, Profile, _tuple, utcnow
from .webhook import WebhookRequest

__all__ = [
    "AgentMessage",
    "ConversationChanged",
    "HelpdeskUser",
    "Messaging",
    "MessagingEvent",
    "Posted",
]


@attrs.frozen(kw_only=True)
class HelpdeskUser:
    """A help-desk user; `reference_id` carries the channel user's id.

    `created` is True when the call that returned it made it: a user just made has no
    conversation yet, one found may have some.
    """

    id: str
    reference_id: str | None = None
    created: bool = False


@attrs.frozen(kw_only=True)
class Posted:
    """Where a message landed."""

    conversation_id: str
    message_id: str


@attrs.frozen(kw_only=True)
class AgentMessage:
    """A message created in a help-desk conversation, as its webhook reported it.

    Not every one is for the end user: the sync algorithm drops user-authored echoes
    (`actor_type == "user"`), private notes and system messages. `reference_id` is the channel
    user's reference id when the webhook names it (Chatwoot's does): a reply then finds its user
    without a `get_user` call, even after the bridge lost its store.
    """

    message_id: str
    conversation_id: str
    user_id: str | None
    actor_type: str
    actor_id: str | None = None
    message_type: str = "normal"
    private: bool = False
    parts: tuple[Part, ...] = attrs.field(converter=_tuple, factory=tuple)
    created_at: datetime = attrs.field(factory=utcnow)
    reference_id: str | None = None


@attrs.frozen(kw_only=True)
class ConversationChanged:
    """A conversation changed state; `status` is resolved, reopened or assigned (a help desk
    may report others, such as Chatwoot's pending and snoozed: the bridge ignores them)."""

    conversation_id: str
    status: str
    user_id: str | None = None
    event_id: str | None = None


MessagingEvent = AgentMessage | ConversationChanged


class Messaging(ABC):
    """What the bridge needs from a help desk. Every method is a single upstream call.

    - `title` names the help desk to people (the admin page, `byoc check`); `webhook_help`
      tells an administrator where to paste the bridge's messaging webhook URL.
    - `max_media_bytes` is the largest file the help desk stores: the bridge asks a channel's
      `fetch_media` for no more.

    Errors: `RetryableError` (with `retry_after`) for throttling and outages,
    `StaleConversation` when a conversation no longer takes messages, `UnknownUser` when the
    help desk deleted the user (the bridge makes it again), `PermanentError` for refusals,
    `ConfigurationError` for bad credentials; `parse_webhook` raises `SignatureError` or
    `MalformedPayload` for bad input.
    """

    title: str = "the help desk"
    webhook_help: str = "Paste this URL as the help desk's webhook."
    max_media_bytes: int = 25 * 1024 * 1024

    async def get_or_create_user(self, reference_id: str, profile: Profile | None) -> HelpdeskUser:
        """The user carrying `reference_id`, made now (`created`) when the help desk has none.

        The default looks first (`find_user`, then `create_user`): two calls for a new user.
        A help desk that refuses a second user with the same reference id (Chatwoot) creates
        first and looks only when refused: one call for a new user, and still one user when
        two bridges meet the same person at once.
        """
        found = await self.find_user(reference_id)
        if found is not None:
            return found
        return attrs.evolve(await self.create_user(reference_id, profile), created=True)

    @abstractmethod
    async def find_user(self, reference_id: str) -> HelpdeskUser | None:
        """The user whose `reference_id` is this, or None (several: the oldest)."""

    @abstractmethod
    async def create_user(self, reference_id: str, profile: Profile | None) -> HelpdeskUser:
        """Create a user carrying `reference_id` and what the channel told of its profile."""

    @abstractmethod
    async def get_user(self, user_id: str) -> HelpdeskUser:
        """The user with this help-desk id (`UnknownUser` when there is none any more)."""

    @abstractmethod
    async def list_conversations(self, user_id: str) -> list[str]:
        """Ids of the user's conversations, the most recent first as far as the help desk tells."""

    @abstractmethod
    async def create_conversation(self, user_id: str, parts: Sequence[Part]) -> Posted:
        """Start a conversation for `user_id` whose first message is `parts`."""

    @abstractmethod
    async def post_message(
        self, conversation_id: str, user_id: str, parts: Sequence[Part]
    ) -> Posted:
        """Add the user's message to a conversation (`StaleConversation` if it takes no more)."""

    @abstractmethod
    async def parse_webhook(self, request: WebhookRequest) -> Sequence[MessagingEvent]:
        """Verify (on the raw bytes) and parse a help-desk webhook."""

    async def find_posted(
        self, conversation_id: str, user_id: str, parts: Sequence[Part], since: datetime
    ) -> Sequence[Posted]:
        """The user's messages with these parts in the conversation since `since`, newest first.

        Used only to recover a delivery that may have reached the help desk unheard (a crash, a
        timeout): the help desk has no idempotency key, so the bridge looks before posting again,
        and takes a candidate it has not accounted for already (the user may have sent the same
        text twice). The default cannot tell (no candidates), and the message is posted again.
        """
        return ()

    async def rehost(self, part: Part) -> Part:
        """Copy a media part whose URL will expire into the help desk's own storage.

        The help desk downloads `part.url` itself, without credentials: for media a channel
        fetches with its own, the bridge uses `rehost_media`. The default keeps the part as it
        is. Implementations return a part pointing at the help desk's copy, or raise
        `DeliveryError` (the caller then posts a placeholder).
        """
        return part

    @property
    def verifies_signatures(self) -> bool:
        """Whether `parse_webhook` verifies signatures; False only when turned off explicitly
        (the admin page says so)."""
        return True

    async def rehost_media(self, part: MediaPart, media: MediaStream) -> Part:
        """Store media the bridge fetched from the channel (`Channel.fetch_media`) in the help
        desk; return `part` pointing at the copy (the channel's URL never reaches the help desk).

        One upload call. `media` is read here and closed by the caller. A help desk that takes
        files inside the message call instead returns the part holding its bytes
        (`byoc.media.hold`); the bridge hands it back to `post_message` or
        `create_conversation` in the same delivery, and never stores it. The default cannot
        store bytes: it raises `PermanentError`, and the bridge posts a placeholder instead.
        """
        raise PermanentError(f"{type(self).__name__} cannot store media files")

    async def check(self) -> AccountCheck | None:
        """Prove the settings work with the help desk's cheapest read-only call (`byoc check`).

        Raise `ConfigurationError` naming the setting when they do not. A help desk that tells
        where its webhooks go sets `reports_webhook` and `webhook`. The default makes no call
        and returns None.
        """
        return None

    async def aclose(self) -> None:
        """Release connections; called once when the bridge shuts down."""
