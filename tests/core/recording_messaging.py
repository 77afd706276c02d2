"""An in-memory help desk for testing the sync algorithm's branches in microseconds.

It keeps Freshchat's observable rules that the algorithm depends on (latest conversation per
user, "not the latest conversation" refusals) and records every call, one per upstream call.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import datetime

from byoc import codec
from byoc.errors import MalformedPayload, PermanentError, SignatureError, StaleConversation
from byoc.messaging import HelpdeskUser, Messaging, MessagingEvent, Posted
from byoc.models import File, Image, Part, Profile, Video
from byoc.webhook import WebhookRequest, parse_json_object


class RecordingMessaging(Messaging):
    def __init__(self) -> None:
        self.calls: list[str] = []
        self.users: dict[str, HelpdeskUser] = {}
        self.conversations: dict[str, list[str]] = {}  # user id → conversation ids, newest first
        self.messages: dict[str, list[tuple[Part, ...]]] = {}
        self.stale: set[str] = set()
        self.fail_posts: list[Exception] = []
        self.fail_rehost = False
        self._ids = itertools.count(1)

    def _id(self, kind: str) -> str:
        return f"{kind}-{next(self._ids)}"

    async def find_user(self, reference_id: str) -> HelpdeskUser | None:
        self.calls.append("find_user")
        return next((u for u in self.users.values() if u.reference_id == reference_id), None)

    async def create_user(self, reference_id: str, profile: Profile | None) -> HelpdeskUser:
        self.calls.append("create_user")
        user = HelpdeskUser(id=self._id("user"), reference_id=reference_id)
        self.users[user.id] = user
        self.conversations[user.id] = []
        return user

    async def get_user(self, user_id: str) -> HelpdeskUser:
        self.calls.append("get_user")
        return self.users[user_id]

    async def list_conversations(self, user_id: str) -> list[str]:
        self.calls.append("list_conversations")
        return list(self.conversations.get(user_id, []))

    async def create_conversation(self, user_id: str, parts: Sequence[Part]) -> Posted:
        self.calls.append("create_conversation")
        conversation = self._id("conv")
        self.conversations.setdefault(user_id, []).insert(0, conversation)
        self.messages[conversation] = [tuple(parts)]
        return Posted(conversation_id=conversation, message_id=f"{conversation}#0")

    async def post_message(
        self, conversation_id: str, user_id: str, parts: Sequence[Part]
    ) -> Posted:
        self.calls.append("post_message")
        if self.fail_posts:
            raise self.fail_posts.pop(0)
        if conversation_id in self.stale:
            raise StaleConversation("not the latest conversation", conversation_id=conversation_id)
        self.messages[conversation_id].append(tuple(parts))
        index = len(self.messages[conversation_id]) - 1
        return Posted(conversation_id=conversation_id, message_id=f"{conversation_id}#{index}")

    async def find_posted(
        self, conversation_id: str, user_id: str, parts: Sequence[Part], since: datetime
    ) -> list[Posted]:
        self.calls.append("find_posted")
        return [
            Posted(conversation_id=conversation_id, message_id=f"{conversation_id}#{i}")
            for i, posted in reversed(list(enumerate(self.messages.get(conversation_id, []))))
            if posted == tuple(parts)
        ]

    async def parse_webhook(self, request: WebhookRequest) -> Sequence[MessagingEvent]:
        """Webhooks of this help desk are codec-encoded event lists, signed with a shared secret."""
        if request.header("x-test-secret") != "s3cret":
            raise SignatureError("x-test-secret does not match")
        events = codec.decode(parse_json_object(request.body, what="test webhook").get("events"))
        if not isinstance(events, tuple):
            raise MalformedPayload("events must be a list")
        return events  # type: ignore[return-value]

    async def rehost(self, part: Part) -> Part:
        self.calls.append("rehost")
        if self.fail_rehost:
            raise PermanentError("upload refused")
        assert isinstance(part, (Image, Video, File))
        from attrs import evolve

        return evolve(
            part, url=f"https://cdn.helpdesk.test/{part.url.rsplit('/', 1)[-1]}", helpdesk_ref="ref"
        )
