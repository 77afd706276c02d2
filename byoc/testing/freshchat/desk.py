"""The help desk's rules, shared by the REST API, the agent actions and the control endpoints.

Every change validates first and mutates after, so a refused request leaves no trace. Each
change reports what happened as events (`MessageCreated`, `ConversationChanged`) through the
`emit` callback, in the order the real service would send its webhooks.

The rules that matter to a bridge (reference §6):

- Each (user, channel) has a *latest* conversation: the one created last. A user message into
  any other conversation is refused with `400 INVALID_VALUE "Conversation <id> is not the
  latest conversation"`.
- A user message into a resolved latest conversation is accepted and reopens it (status
  `reopened`, a `conversation_reopen` event whose reopener is the user).
- Each new conversation gets the channel's welcome message from a `system` actor right after
  the messages it was created with.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs

from .payloads import ConversationDraft, ConversationUpdate, Keep, MessageDraft
from .state import Conversation, Message, State, Upload, User
from .wire import ApiError, not_found

__all__ = ["Actor", "ConversationChanged", "Desk", "Event", "MessageCreated"]


@attrs.frozen(kw_only=True)
class Actor:
    """Who made a change: `type` is user, agent, bot or system."""

    type: str
    id: str | None


@attrs.frozen(kw_only=True)
class MessageCreated:
    message: Message


@attrs.frozen(kw_only=True)
class ConversationChanged:
    """`action` is the webhook name: conversation_resolution, _reopen or _assignment.

    `changes` maps each changed field to `(old, new)`.
    """

    action: str
    conversation: Conversation
    actor: Actor
    changes: dict[str, tuple[Any, Any]]


Event = MessageCreated | ConversationChanged


class Desk:
    """Applies requests to a `State` and reports each change through `emit`.

    `file_url(upload)` is the public URL of an upload, for file parts that name a `fileHash`.
    """

    def __init__(
        self,
        state: State,
        *,
        emit: Callable[[Event], None],
        file_url: Callable[[Upload], str],
    ) -> None:
        self.state = state
        self._emit = emit
        self._file_url = file_url

    @property
    def api_actor(self) -> Actor:
        """The author of changes made through the REST API (the token's owner, not a person)."""
        return Actor(type="system", id=self.state.system_actor_id)

    def create_user(self, fields: dict[str, Any]) -> User:
        return self.state.add_user(**fields)

    def update_user(self, user_id: str, fields: dict[str, Any]) -> User:
        user = self.user(user_id)
        fields = dict(fields)
        properties = fields.pop("properties", None)
        if "reference_id" in fields:
            self.state.set_reference(user, fields.pop("reference_id"))
        for key, value in fields.items():
            setattr(user, key, value)
        if properties is not None:
            # Whether a PUT replaces or merges properties is undocumented; merging by name keeps
            # what other integrations wrote.
            merged = {p["name"]: p for p in user.properties}
            merged.update({p["name"]: p for p in properties})
            user.properties = list(merged.values())
        user.updated = self.state.now()
        return user

    def user(self, user_id: str) -> User:
        user = self.state.users.get(user_id)
        if user is None:
            raise not_found("user", user_id)
        return user

    def conversation(self, conversation_id: str) -> Conversation:
        conversation = self.state.conversations.get(conversation_id)
        if conversation is None:
            raise not_found("conversation", conversation_id)
        return conversation

    def create_conversation(
        self, draft: ConversationDraft, *, source: str = "api"
    ) -> tuple[Conversation, list[Message]]:
        """Create a conversation with its first messages, then the channel's welcome message."""
        for user_id in draft.user_ids:
            if user_id not in self.state.users:
                raise ApiError.invalid(f"User {user_id} does not exist")
        channel = self.state.channels.get(draft.channel_id)
        if channel is None or not channel.enabled:
            raise ApiError.invalid(f"Channel {draft.channel_id} does not exist or is disabled")
        self._check_assignment(draft.assigned_agent_id, draft.assigned_group_id)
        messages = [(m, self._message_parts(m)) for m in draft.messages]
        for message, _ in messages:
            self._check_actor(message, draft.user_ids)

        conversation = self.state.add_conversation(
            channel_id=channel.id,
            user_ids=draft.user_ids,
            status=draft.status,
            assigned_agent_id=draft.assigned_agent_id,
            assigned_group_id=draft.assigned_group_id,
            properties=draft.properties,
        )
        created = [self._add_message(conversation, m, parts, source) for m, parts in messages]
        if channel.welcome_message:
            welcome = self.state.add_message(
                conversation,
                actor_type="system",
                actor_id=self.state.system_actor_id,
                message_type="normal",
                message_source="system",
                parts=[{"text": {"content": channel.welcome_message}}],
            )
            self._emit(MessageCreated(message=welcome))
        return conversation, created

    def post_message(
        self, conversation_id: str, draft: MessageDraft, *, source: str = "api"
    ) -> Message:
        """Add a message; a user's goes only into their latest conversation and reopens it."""
        conversation = self.conversation(conversation_id)
        self._check_actor(draft, conversation.user_ids)
        parts = self._message_parts(draft)
        if draft.actor_type == "user":
            assert draft.actor_id is not None  # a user message always names its user
            if not self.state.is_latest(conversation, draft.actor_id):
                raise ApiError.invalid(
                    f"Conversation {conversation.id} is not the latest conversation"
                )
            if conversation.status == "resolved":
                self._set_status(conversation, "reopened", Actor(type="user", id=draft.actor_id))
        return self._add_message(conversation, draft, parts, source)

    def update_conversation(
        self, conversation_id: str, update: ConversationUpdate, actor: Actor
    ) -> Conversation:
        """Apply a `PUT /conversations/{id}`: properties, then assignment, then status."""
        conversation = self.conversation(conversation_id)
        agent = (
            conversation.assigned_agent_id
            if isinstance(update.assigned_agent_id, Keep)
            else update.assigned_agent_id
        )
        group = (
            conversation.assigned_group_id
            if isinstance(update.assigned_group_id, Keep)
            else update.assigned_group_id
        )
        self._check_assignment(agent, group)
        if update.properties is not None:
            conversation.properties.update(update.properties)
            conversation.updated = self.state.now()

        status = update.status if update.status != conversation.status else None
        changes: dict[str, tuple[Any, Any]] = {}
        if agent != conversation.assigned_agent_id:
            changes["assigned_agent_id"] = (conversation.assigned_agent_id, agent)
        if group != conversation.assigned_group_id:
            changes["assigned_group_id"] = (conversation.assigned_group_id, group)
        if changes:
            conversation.assigned_agent_id, conversation.assigned_group_id = agent, group
            if status is not None and "resolved" not in (status, conversation.status):
                # A plain status change (new -> assigned) travels with the assignment; resolving
                # and reopening have webhooks of their own, sent after it.
                changes["status"] = (conversation.status, status)
                conversation.status, status = status, None
            conversation.updated = self.state.now()
            self._emit(
                ConversationChanged(
                    action="conversation_assignment",
                    conversation=conversation,
                    actor=actor,
                    changes=changes,
                )
            )
        if status is not None:
            self._set_status(conversation, status, actor)
        return conversation

    def _set_status(self, conversation: Conversation, status: str, actor: Actor) -> None:
        old = conversation.status
        conversation.status = status
        now = self.state.now()
        conversation.updated = now
        if status == "resolved":
            action = "conversation_resolution"
        elif old == "resolved":
            action = "conversation_reopen"
            conversation.interaction_id = f"{conversation.internal_id}-{now}"
        else:
            return
        self._emit(
            ConversationChanged(
                action=action,
                conversation=conversation,
                actor=actor,
                changes={"status": (old, status)},
            )
        )

    def _check_assignment(self, agent_id: str | None, group_id: str | None) -> None:
        if agent_id is not None and agent_id not in self.state.agents:
            raise ApiError.invalid(f"Agent {agent_id} does not exist")
        if group_id is not None and group_id not in self.state.groups:
            raise ApiError.invalid(f"Group {group_id} does not exist")

    def _check_actor(self, draft: MessageDraft, members: list[str]) -> None:
        if draft.actor_type == "user":
            if draft.actor_id not in self.state.users:
                raise ApiError.invalid(f"User {draft.actor_id} does not exist")
            if draft.actor_id not in members:
                raise ApiError.invalid(
                    f"User {draft.actor_id} is not a member of this conversation"
                )
            if draft.message_type == "private":
                raise ApiError.invalid("Only agents can post private messages")
        elif draft.actor_type == "agent" and draft.actor_id not in self.state.agents:
            raise ApiError.invalid(f"Agent {draft.actor_id} does not exist")

    def _message_parts(self, draft: MessageDraft) -> list[dict[str, Any]]:
        return [self._file_part(part) for part in draft.parts]

    def _file_part(self, part: dict[str, Any]) -> dict[str, Any]:
        """A file part naming an uploaded file's hash gets that file's URL, name and size."""
        file = part.get("file")
        if file is None:
            return part
        # Integrators are unsure which spelling is read and send both (reference §1.7).
        file_hash = file.get("fileHash") or file.get("file_hash")
        if not isinstance(file_hash, str):
            return part
        upload = self.state.uploads_by_hash.get(file_hash)
        if upload is None:
            raise ApiError.invalid(f"No uploaded file has the hash {file_hash}")
        return {
            "file": {
                "name": upload.name,
                "file_size_in_bytes": len(upload.data),
                "content_type": upload.content_type,
                **file,
                "url": self._file_url(upload),
            }
        }

    def _add_message(
        self,
        conversation: Conversation,
        draft: MessageDraft,
        parts: list[dict[str, Any]],
        source: str,
    ) -> Message:
        actor_id = draft.actor_id
        if draft.actor_type == "bot" and actor_id is None:
            actor_id = self.state.bot_actor_id
        message = self.state.add_message(
            conversation,
            actor_type=draft.actor_type,
            actor_id=actor_id,
            message_type=draft.message_type,
            message_source=source,
            parts=parts,
            reply_parts=draft.reply_parts,
        )
        self._emit(MessageCreated(message=message))
        return message
