"""The sync algorithm: a channel user's message into the help desk, an agent's reply back.

It does no I/O of its own: it calls the injected `Messaging`, `Channel`s and `Store`, so every
upstream call it makes is one `Messaging` or `Channel.send` call, and it can be tested with fakes.

**User → agent** (`deliver_inbound`), under a per-user lock so concurrent first messages of a new
user make one help-desk user and one conversation, in arrival order:

1. Dedupe on `(channel, channel message id)`.
2. Mapping hit → post to the mapped conversation: **one call**.
3. Miss → `find_user(reference_id)` → `create_user` if absent (then `create_conversation` with the
   message), or, for a user the help desk already knew, `list_conversations` and post to the most
   recent one, creating a conversation only when there is none. The mapping is saved.

Stale conversations (the help desk answers "not the latest conversation"): list the user's
conversations, post to the most recent other one; if that fails the same way or there is none,
create a new conversation. The message is never dropped and the mapping follows.

Resolved conversations follow `ResolvedPolicy`: `REOPEN` (default) posts into the resolved
conversation, which Freshchat reopens, so the agent sees the whole history; `NEW` starts a new
conversation with the user's next message.

**Agent → user** (`deliver_reply`): drop user-authored echoes, private notes and system messages;
dedupe on the help desk's message id; find the channel user by the mapping (fallback: one
`get_user` for its `reference_id`, then remembered); send through the channel: **one call**.
"""

from __future__ import annotations

import enum
import logging
from collections import OrderedDict
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime

import attrs

from .channel import Channel
from .errors import DeliveryError, PermanentError, StaleConversation
from .hops import Hops, kv
from .messaging import AgentMessage, ConversationChanged, HelpdeskUser, Messaging, Posted
from .models import (
    ChannelEvent,
    File,
    Image,
    InboundMessage,
    OutboundMessage,
    Part,
    Text,
    Video,
)
from .store import Store, UserLink

__all__ = ["Outcome", "ReferenceIds", "ResolvedPolicy", "Sync"]

log = logging.getLogger("byoc.sync")

# A channel retries a webhook for an hour at most (Viber); a week covers every retry schedule
# seen while keeping the processed-id table small.
DEFAULT_DEDUPE_TTL = 7 * 24 * 3600.0

_AUTHORS_FOR_THE_USER = frozenset({"agent", "bot"})


def _posted_key(helpdesk_message_id: str) -> str:
    return f"posted:{helpdesk_message_id}"


class Outcome(enum.Enum):
    """What the algorithm did with one event."""

    DELIVERED = "delivered"
    DUPLICATE = "duplicate"
    IGNORED = "ignored"


class ResolvedPolicy(enum.Enum):
    """What a user's message does to a conversation the help desk resolved."""

    REOPEN = "reopen"
    NEW = "new"


@attrs.frozen(kw_only=True)
class ReferenceIds:
    """How a channel user id becomes the help desk's `reference_id`, and back.

    By default it is namespaced by channel (`viber:<id>`), so two channels can never collide.
    `legacy_channel` serves users migrating from an older integration that stored the raw id:
    that channel's users keep their raw id as reference id.
    """

    legacy_channel: str | None = None

    def make(self, channel: str, user_id: str) -> str:
        if channel == self.legacy_channel:
            return user_id
        return f"{channel}:{user_id}"

    def parse(self, reference_id: str, channels: Collection[str]) -> tuple[str, str] | None:
        """`(channel, user id)` for a reference id, or None when it is not one of ours."""
        prefix, sep, rest = reference_id.partition(":")
        if sep and rest and prefix in channels and prefix != self.legacy_channel:
            return prefix, rest
        if self.legacy_channel is not None and self.legacy_channel in channels:
            return self.legacy_channel, reference_id
        return None


class Sync:
    """The algorithm, bound to its ports. One instance serves every channel of a bridge."""

    def __init__(
        self,
        *,
        messaging: Messaging,
        channels: Mapping[str, Channel],
        store: Store,
        reference_ids: ReferenceIds | None = None,
        resolved_policy: ResolvedPolicy = ResolvedPolicy.REOPEN,
        dedupe_ttl: float = DEFAULT_DEDUPE_TTL,
        hops: Hops | None = None,
    ) -> None:
        self.messaging = messaging
        self.channels = channels
        self.store = store
        self.reference_ids = reference_ids or ReferenceIds()
        self.resolved_policy = resolved_policy
        self.dedupe_ttl = dedupe_ttl
        self.hops = hops or Hops()
        # Help-desk users that are not ours (web-widget visitors): remembered so that agent
        # messages to them cost no lookup after the first.
        self._foreign_users: OrderedDict[str, None] = OrderedDict()

    # -- user → agent ----------------------------------------------------------------------

    async def deliver_event(self, event: ChannelEvent) -> Outcome:
        """Handle any channel event inline; only messages reach the help desk."""
        if isinstance(event, InboundMessage):
            return await self.deliver_inbound(event)
        log.debug(
            kv(
                hop="channel.event",
                event=type(event).__name__,
                channel=event.channel,
                channel_user=event.user_id,
            )
        )
        return Outcome.IGNORED

    async def deliver_inbound(
        self,
        message: InboundMessage,
        *,
        dedupe: bool = True,
        recovering_since: datetime | None = None,
        track_posted: bool | list[str] = False,
    ) -> Outcome:
        """Bring one user message into the help desk, exactly once.

        `dedupe=False` when the caller deduped already (the durable queue does, on accepting
        the webhook). `recovering_since` is set for a delivery that may have reached the help
        desk unheard (a crash, a timeout): the help desk is asked first whether the message
        arrived after that time. `track_posted` records the help desk's id of each message
        posted, so such a recovery can tell the user's identical messages apart: `True` claims
        `posted:<id>` at once; a list receives the keys instead, for the caller to record
        together with the job's completion (`Store.finish(claims=...)`), so no crash can fall
        between them.
        """
        key = f"in:{message.channel}:{message.message_id}"
        async with self.store.lock(f"in:{message.channel}:{message.user_id}"):
            if dedupe and not await self.store.claim(key, self.dedupe_ttl):
                return Outcome.DUPLICATE
            try:
                link, posted = await self._post_inbound(message, recovering_since)
            except BaseException:
                # Not delivered: let the channel's retry try again.
                if dedupe:
                    await self.store.release(key)
                raise
            if isinstance(track_posted, list) and posted.message_id:
                track_posted.append(_posted_key(posted.message_id))
            elif track_posted and posted.message_id:
                # Accounted for: a later recovery must not take this message for a lost one.
                await self.store.claim(_posted_key(posted.message_id), self.dedupe_ttl)
        self.hops.inbound_delivered(message, link, posted)
        return Outcome.DELIVERED

    async def _post_inbound(
        self, message: InboundMessage, recovering_since: datetime | None
    ) -> tuple[UserLink, Posted]:
        parts = await self._rehosted(message)
        link = await self.store.get_link(message.channel, message.user_id)
        if link is not None and link.conversation_id is not None:
            if recovering_since is not None:
                found = await self._already_posted(
                    link, link.conversation_id, parts, recovering_since
                )
                if found is not None:
                    return link, found
            if link.resolved and self.resolved_policy is ResolvedPolicy.NEW:
                return link, await self._start_conversation(link, parts)
            return link, await self._post_to_link(link, link.conversation_id, parts)

        if link is not None:
            user, known = link.helpdesk_user_id, True
        else:
            helpdesk_user, known = await self._find_or_create_user(message)
            user = helpdesk_user.id
            link = UserLink(
                channel=message.channel, channel_user_id=message.user_id, helpdesk_user_id=user
            )
        if known:
            # The help desk may hold conversations of this user from before the mapping
            # existed (another bridge, a lost store): continue the latest one.
            conversations = await self.messaging.list_conversations(user)
            if conversations:
                if recovering_since is not None:
                    found = await self._already_posted(
                        link, conversations[0], parts, recovering_since
                    )
                    if found is not None:
                        return link, found
                return link, await self._post_to_link(link, conversations[0], parts)
        return link, await self._start_conversation(link, parts)

    async def _already_posted(
        self, link: UserLink, conversation_id: str, parts: Sequence[Part], since: datetime
    ) -> Posted | None:
        found = None
        candidates = await self.messaging.find_posted(
            conversation_id, link.helpdesk_user_id, parts, since
        )
        # Oldest first: the earliest copy nobody accounted for is the one in doubt.
        for candidate in reversed(candidates):
            if candidate.message_id and await self.store.claim(
                _posted_key(candidate.message_id), self.dedupe_ttl
            ):
                found = candidate
                break
        if found is not None:
            log.warning(
                kv(
                    hop="recovered",
                    conversation=conversation_id,
                    helpdesk_message=found.message_id,
                    note="already posted before a restart; not posting again",
                )
            )
            if link.conversation_id != conversation_id:
                await self.store.save_link(
                    attrs.evolve(link, conversation_id=conversation_id, resolved=False)
                )
        return found

    async def _find_or_create_user(self, message: InboundMessage) -> tuple[HelpdeskUser, bool]:
        reference_id = self.reference_ids.make(message.channel, message.user_id)
        user = await self.messaging.find_user(reference_id)
        if user is not None:
            return user, True
        return await self.messaging.create_user(reference_id, message.profile), False

    async def _post_to_link(
        self, link: UserLink, conversation_id: str, parts: Sequence[Part]
    ) -> Posted:
        try:
            posted = await self.messaging.post_message(
                conversation_id, link.helpdesk_user_id, parts
            )
        except StaleConversation:
            return await self._recover_stale(link, conversation_id, parts)
        if link.conversation_id != conversation_id or link.resolved:
            await self.store.save_link(
                attrs.evolve(link, conversation_id=conversation_id, resolved=False)
            )
        return posted

    async def _recover_stale(self, link: UserLink, stale_id: str, parts: Sequence[Part]) -> Posted:
        log.warning(
            kv(hop="stale_conversation", conversation=stale_id, helpdesk_user=link.helpdesk_user_id)
        )
        conversations = await self.messaging.list_conversations(link.helpdesk_user_id)
        for candidate in conversations:
            if candidate == stale_id:
                continue
            try:
                posted = await self.messaging.post_message(candidate, link.helpdesk_user_id, parts)
            except StaleConversation:
                break
            await self.store.save_link(
                attrs.evolve(link, conversation_id=candidate, resolved=False)
            )
            return posted
        return await self._start_conversation(link, parts)

    async def _start_conversation(self, link: UserLink, parts: Sequence[Part]) -> Posted:
        posted = await self.messaging.create_conversation(link.helpdesk_user_id, parts)
        await self.store.save_link(
            attrs.evolve(link, conversation_id=posted.conversation_id, resolved=False)
        )
        return posted

    async def _rehosted(self, message: InboundMessage) -> tuple[Part, ...]:
        """Copy media whose channel URL expires into the help desk; else keep the link, visibly."""
        channel = self.channels.get(message.channel)
        if channel is None or not channel.capabilities.media_urls_expire:
            return message.parts
        parts: list[Part] = []
        for part in message.parts:
            if not isinstance(part, (Image, Video, File)) or part.helpdesk_ref is not None:
                parts.append(part)
                continue
            try:
                parts.append(await self.messaging.rehost(part))
            except DeliveryError as exc:
                log.warning(kv(hop="rehost_failed", url=part.url, error=str(exc)))
                parts.append(part)
                parts.append(
                    Text(
                        text="(This attachment could not be copied and its link expires "
                        f"soon: {part.url})"
                    )
                )
        return tuple(parts)

    # -- agent → user ----------------------------------------------------------------------

    @staticmethod
    def is_for_the_user(event: AgentMessage) -> bool:
        """False for the user's own messages echoed back, system messages and private notes."""
        if event.actor_type not in _AUTHORS_FOR_THE_USER:
            return False
        return not event.private and event.message_type == "normal" and bool(event.parts)

    async def deliver_reply(self, event: AgentMessage, *, dedupe: bool = True) -> Outcome:
        """Send an agent's message to its channel user, exactly once."""
        if not self.is_for_the_user(event):
            return Outcome.IGNORED
        target = await self._route(event)
        if target is None:
            return Outcome.IGNORED
        channel, link = target
        key = f"out:{event.message_id}"
        async with self.store.lock(f"out:{link.channel}:{link.channel_user_id}"):
            if dedupe and not await self.store.claim(key, self.dedupe_ttl):
                return Outcome.DUPLICATE
            outbound = OutboundMessage(
                message_id=event.message_id,
                conversation_id=event.conversation_id,
                parts=event.parts,
                timestamp=event.created_at,
            )
            try:
                result = await channel.send(link.channel_user_id, outbound)
            except BaseException:
                if dedupe:
                    await self.store.release(key)
                raise
        self.hops.reply_delivered(event, link, result)
        return Outcome.DELIVERED

    async def _route(self, event: AgentMessage) -> tuple[Channel, UserLink] | None:
        link = None
        if event.user_id is not None:
            link = await self.store.get_link_by_helpdesk_user(event.user_id)
        if link is None:
            link = await self.store.get_link_by_conversation(event.conversation_id)
        if link is None:
            if event.user_id is None:
                raise PermanentError(
                    f"agent message {event.message_id} names no user and its conversation "
                    f"{event.conversation_id} is not one the bridge knows"
                )
            link = await self._link_from_reference_id(event)
            if link is None:
                return None
        channel = self.channels.get(link.channel)
        if channel is None:
            log.warning(
                kv(
                    hop="reply_dropped",
                    helpdesk_message=event.message_id,
                    channel=link.channel,
                    reason="channel not enabled",
                )
            )
            return None
        return channel, link

    async def _link_from_reference_id(self, event: AgentMessage) -> UserLink | None:
        assert event.user_id is not None
        if event.user_id in self._foreign_users:
            return None
        user = await self.messaging.get_user(event.user_id)
        target = self.reference_ids.parse(user.reference_id or "", self.channels.keys())
        if target is None:
            self._remember_foreign(event.user_id)
            log.info(
                kv(
                    hop="reply_ignored",
                    helpdesk_message=event.message_id,
                    helpdesk_user=event.user_id,
                    reason="not a channel user",
                )
            )
            return None
        link = UserLink(
            channel=target[0],
            channel_user_id=target[1],
            helpdesk_user_id=user.id,
            conversation_id=event.conversation_id,
        )
        await self.store.save_link(link)
        return link

    def _remember_foreign(self, user_id: str) -> None:
        self._foreign_users[user_id] = None
        if len(self._foreign_users) > 10_000:
            self._foreign_users.popitem(last=False)

    @staticmethod
    def tracks(event: ConversationChanged) -> bool:
        """Whether the change matters to the bridge: resolutions and reopenings do."""
        return event.status in ("resolved", "reopened")

    async def conversation_changed(self, event: ConversationChanged) -> Outcome:
        """Track resolution so the resolved-conversation policy can apply, and tell the channel
        when a conversation becomes resolved (once per resolution); no help-desk call."""
        if not self.tracks(event):
            return Outcome.IGNORED
        link = await self.store.get_link_by_conversation(event.conversation_id)
        if link is None:
            return Outcome.IGNORED
        resolved = event.status == "resolved"
        if link.resolved == resolved:
            # A redelivered webhook: the channel heard already (a dealer would otherwise end
            # the session twice, and run its end-of-session bot message twice).
            return Outcome.DUPLICATE
        await self.store.save_link(attrs.evolve(link, resolved=resolved))
        channel = self.channels.get(link.channel)
        if resolved and channel is not None:
            try:
                await channel.conversation_resolved(link.channel_user_id)
            except Exception as exc:  # the resolution is recorded; the channel's part is extra
                log.warning(
                    kv(
                        hop="session_end_failed",
                        channel=link.channel,
                        channel_user=link.channel_user_id,
                        error=str(exc),
                    )
                )
        return Outcome.DELIVERED
