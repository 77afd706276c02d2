"""The sync algorithm: every decision about one event, from its webhook to its peer.

It does no I/O of its own: it calls the injected `Channel`s, `Messaging`, `Store` and
`Delivery`, so every upstream call it makes is one `Messaging` or `Channel.send` call, and it
can be tested with fakes. The path of one message reads top to bottom in this module:

**A webhook arrives** (`channel_webhook`, `messaging_webhook`): the channel or the help desk
verifies and parses it into events; `accept` runs each one through `admit`, which decides what
the bridge does with it — nothing (an echo of the user's own message, a private note, a
delivery receipt, a change to a conversation that is not ours) or one `Work` item with its lane
(one user and direction: the unit of order) and its dedupe key. The `Delivery` (inline or
durable, chosen once by the bridge) dedupes the work on that key and either performs it at once
or stores it and performs it from its queue.

**User → agent** (`perform` of an `InboundMessage`), one lane per channel user, so concurrent
first messages of a new user make one help-desk user and one conversation, in arrival order:

1. Mapping hit → post to the mapped conversation: **one call**.
2. Miss → `get_or_create_user(reference_id)`: a user made now gets `create_conversation` with
   the message; one the help desk already knew gets `list_conversations` and the message in
   the most recent one, a conversation being created only when there is none. The mapping is
   saved.

A user the help desk deleted (`UnknownUser`): the mapping is dropped and the user made again,
as on a miss; the message goes into the new user's conversation.

Stale conversations (the help desk answers "not the latest conversation"): list the user's
conversations, post to the most recent other one; if that fails the same way or there is none,
create a new conversation. The message is never dropped and the mapping follows.

Resolved conversations follow `ResolvedPolicy`: `REOPEN` (default) posts into the resolved
conversation, which Freshchat reopens, so the agent sees the whole history; `NEW` starts a new
conversation with the user's next message.

A delivery that may have reached the help desk unheard (a crash, a timeout) is performed with
`recovering_since`: the help desk is asked first whether the message arrived after that time.
`Done.remember` names the help desk's id of each message posted, which the delivery records
with the work's completion, so such a recovery can tell the user's identical messages apart.

**Agent → user** (`perform` of an `AgentMessage`): find the channel user by the mapping
(fallback: the `reference_id` the webhook named, else one `get_user` for it, then remembered);
send through the channel: **one call**.

**Conversation changes** (`perform` of a `ConversationChanged`): record resolution (the
resolved-conversation policy reads it) and tell the channel, once per resolution; no
help-desk call. They share the lane of the user's replies, so an agent who answers "goodbye"
and resolves at once has the goodbye sent before the channel ends its session. A channel may
have `Notices`: a short text sent to the user when an agent takes the conversation or resolves
it (off by default), sent before the channel ends its session.
"""

from __future__ import annotations

import enum
import logging
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Collection, Mapping, Sequence
from datetime import datetime
from typing import Literal, Protocol

import attrs

from .channel import Channel
from .degrade import fit_message
from .errors import NotFound, PermanentError, StaleConversation, UnknownUser, UserUnreachable
from .hops import Hops, kv
from .media_copy import copy_media
from .messaging import AgentMessage, ConversationChanged, Messaging, Posted
from .models import (
    ChannelEvent,
    Failed,
    InboundMessage,
    OutboundMessage,
    Part,
    Subscribed,
    Text,
    Unsubscribed,
)
from .reachability import (
    REPLY_LANE_PREFIX,
    mark_reachable,
    mark_unreachable,
    refuse_unreachable,
)
from .redaction import SECRET_FREE
from .store import Store, UserLink
from .webhook import WebhookRequest, WebhookResponse

__all__ = [
    "DEFAULT_DEDUPE_TTL",
    "Delivery",
    "Done",
    "Event",
    "Notices",
    "Outcome",
    "Perform",
    "Receipt",
    "ReferenceIds",
    "ResolvedPolicy",
    "Sync",
    "Work",
    "WorkKind",
    "posted_key",
]

log = logging.getLogger("byoc.sync")

# A channel retries a webhook for an hour at most (Viber); a week covers every retry schedule
# seen while keeping the processed-id table small.
DEFAULT_DEDUPE_TTL = 7 * 24 * 3600.0

_AUTHORS_FOR_THE_USER = frozenset({"agent", "bot"})
_TRACKED_STATUSES = frozenset({"resolved", "reopened"})

Event = InboundMessage | AgentMessage | ConversationChanged
"""An event that may become work: a user's message, an agent's message, a conversation change."""

WorkKind = Literal["inbound", "reply", "change"]


def posted_key(helpdesk_message_id: str) -> str:
    """The claim that marks a help-desk message as posted by a delivery the bridge finished."""
    return f"posted:{helpdesk_message_id}"


class Outcome(enum.Enum):
    """What the bridge did with one event."""

    DELIVERED = "delivered"
    QUEUED = "queued"
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


@attrs.frozen(kw_only=True)
class Notices:
    """Texts sent to a channel's users when the help desk changes their conversation.

    `assigned`: when an agent takes the conversation; `resolved`: when it is resolved. None
    (the default) sends nothing. Each notice is sent once per help-desk event.
    """

    assigned: str | None = None
    resolved: str | None = None

    def for_status(self, status: str) -> str | None:
        return {"assigned": self.assigned, "resolved": self.resolved}.get(status)


@attrs.frozen(kw_only=True)
class Work:
    """An event the bridge took on: what to carry, in which lane, deduplicated on what.

    `lane` is one user and direction: work in a lane is performed one at a time, in order.
    `dedupe_key` is the same for every copy of the event (a webhook retried, or delivered to
    two replicas), so a copy is recognised and dropped.
    """

    kind: WorkKind
    lane: str
    dedupe_key: str
    event: Event


@attrs.frozen(kw_only=True)
class Done:
    """What performing one work item did.

    `remember` holds keys the delivery claims together with the work's completion: the help
    desk's id of a posted message, so a later recovery does not take it for a lost one.
    """

    outcome: Outcome
    remember: tuple[str, ...] = ()


@attrs.frozen(kw_only=True)
class Receipt:
    """How a delivery took a work item: performed, queued (as `job`), or a duplicate."""

    outcome: Outcome
    job: int | None = None


class Perform(Protocol):
    """Carries one event to its peer (`Sync.perform`)."""

    def __call__(
        self, event: Event, *, recovering_since: datetime | None = None
    ) -> Awaitable[Done]: ...


class Delivery(Protocol):
    """When work is performed: at once (inline) or from a durable queue (durable).

    `bind` is called once, by `Sync`, with the function that performs a work item.
    """

    def bind(self, perform: Perform) -> None: ...

    async def submit(self, work: Work) -> Receipt:
        """Dedupe `work` on its key, then perform it or queue it."""
        ...


class Sync:
    """The algorithm, bound to its ports. One instance serves every channel of a bridge."""

    def __init__(
        self,
        *,
        messaging: Messaging,
        channels: Mapping[str, Channel],
        store: Store,
        delivery: Delivery,
        reference_ids: ReferenceIds | None = None,
        resolved_policy: ResolvedPolicy = ResolvedPolicy.REOPEN,
        notices: Mapping[str, Notices] | None = None,
        hops: Hops | None = None,
    ) -> None:
        self.messaging = messaging
        self.channels = channels
        self.store = store
        self.delivery = delivery
        self.reference_ids = reference_ids or ReferenceIds()
        self.resolved_policy = resolved_policy
        self.notices = dict(notices or {})
        # Assignments matter only to a channel that tells its users about them.
        self._tracked = _TRACKED_STATUSES | (
            {"assigned"} if any(n.assigned for n in self.notices.values()) else set()
        )
        self.hops = hops or Hops()
        # Help-desk users that are not ours (web-widget visitors): remembered so that agent
        # messages to them cost no lookup after the first.
        self._foreign_users: OrderedDict[str, None] = OrderedDict()
        self._misnamed: set[str] = set()
        delivery.bind(self.perform)

    # -- webhooks ----------------------------------------------------------------------------

    async def channel_webhook(self, name: str, request: WebhookRequest) -> WebhookResponse:
        """Verify and parse a channel's webhook, take on its events, answer what it expects."""
        channel = self.channels.get(name)
        if channel is None:
            raise NotFound(f"no channel named {name!r} is enabled on this bridge")
        events = [self._stamped(name, event) for event in await channel.parse(request)]
        for event in events:
            await self.accept(event)
        return await channel.ack(request, events)

    def _stamped(self, name: str, event: ChannelEvent) -> ChannelEvent:
        """The event named after the instance it came through: its replies go back there."""
        if event.channel == name:
            return event
        if name not in self._misnamed:
            self._misnamed.add(name)
            log.warning(
                kv(
                    hop="channel.misnamed",
                    channel=name,
                    event_channel=event.channel,
                    note="the plugin names its events wrongly; the bridge renames them",
                )
            )
        return attrs.evolve(event, channel=name)

    async def messaging_webhook(self, request: WebhookRequest) -> WebhookResponse:
        """Verify and parse a help-desk webhook and take on its events."""
        for event in await self.messaging.parse_webhook(request):
            await self.accept(event)
        return WebhookResponse()

    async def accept(self, event: ChannelEvent | AgentMessage | ConversationChanged) -> Outcome:
        """Take on one event: decide what it needs, then hand that to the delivery."""
        work = await self.admit(event)
        if work is None:
            receipt = Receipt(outcome=Outcome.IGNORED)
        else:
            receipt = await self.delivery.submit(work)
        self._report_arrival(event, receipt)
        return receipt.outcome

    async def admit(self, event: ChannelEvent | AgentMessage | ConversationChanged) -> Work | None:
        """The work an event needs, or None when the bridge has nothing to do with it."""
        if isinstance(event, InboundMessage):
            return Work(
                kind="inbound",
                lane=f"in:{event.channel}:{event.user_id}",
                dedupe_key=f"q:in:{event.channel}:{event.message_id}",
                event=event,
            )
        if isinstance(event, AgentMessage):
            if not self.is_for_the_user(event):
                return None
            return Work(
                kind="reply",
                # One lane per help-desk user keeps an agent's replies in order.
                lane=_reply_lane(event.user_id or event.conversation_id),
                dedupe_key=f"q:out:{event.message_id}",
                event=event,
            )
        if isinstance(event, ConversationChanged):
            if event.status not in self._tracked:
                return None
            link = await self.store.get_link_by_conversation(event.conversation_id)
            if link is None:
                return None  # not a conversation of ours
            if event.status == "assigned" and not self._notice(link.channel, "assigned"):
                return None
            return Work(
                kind="change",
                lane=_reply_lane(event.user_id or link.helpdesk_user_id),
                # The help desk retries webhooks; without an id each delivery is its own event.
                dedupe_key=f"q:change:{event.event_id or uuid.uuid4().hex}",
                event=event,
            )
        if isinstance(event, Failed):
            self.hops.channel_failed(event)
        elif isinstance(event, Unsubscribed):
            await self._unreachable(
                event.channel, event.user_id, event.timestamp.timestamp(), why="unsubscribed"
            )
        elif isinstance(event, Subscribed):
            link = await self.store.get_link(event.channel, event.user_id)
            if link is not None:
                await self._reachable(link, why="subscribed")
        # Delivery receipts, subscriptions, conversation starts: nothing to carry.
        return None

    @staticmethod
    def is_for_the_user(event: AgentMessage) -> bool:
        """False for the user's own messages echoed back, system messages and private notes."""
        if event.actor_type not in _AUTHORS_FOR_THE_USER:
            return False
        return not event.private and event.message_type == "normal" and bool(event.parts)

    def _report_arrival(
        self, event: ChannelEvent | AgentMessage | ConversationChanged, receipt: Receipt
    ) -> None:
        outcome = receipt.outcome.value
        if isinstance(event, InboundMessage):
            self.hops.channel_webhook(event, outcome=outcome, job=receipt.job)
        elif isinstance(event, AgentMessage):
            self.hops.helpdesk_webhook(event, outcome=outcome, job=receipt.job)
        elif isinstance(event, ConversationChanged):
            log.info(
                kv(
                    hop="helpdesk.webhook",
                    conversation=event.conversation_id,
                    helpdesk_user=event.user_id,
                    status=event.status,
                    outcome=outcome,
                    job=receipt.job,
                )
            )
        elif log.isEnabledFor(logging.DEBUG):
            log.debug(
                kv(
                    hop="channel.event",
                    event=type(event).__name__,
                    channel=event.channel,
                    channel_user=event.user_id,
                )
            )

    # -- performing work ---------------------------------------------------------------------

    async def perform(self, event: Event, *, recovering_since: datetime | None = None) -> Done:
        """Carry one admitted event to its peer (the delivery calls this, once per work item)."""
        if isinstance(event, InboundMessage):
            return await self._deliver_inbound(event, recovering_since)
        if isinstance(event, AgentMessage):
            return await self._deliver_reply(event)
        return await self._conversation_changed(event)

    # -- user → agent ----------------------------------------------------------------------

    async def _deliver_inbound(
        self, message: InboundMessage, recovering_since: datetime | None
    ) -> Done:
        link, posted = await self._post_inbound(message, recovering_since)
        self.hops.inbound_delivered(message, link, posted)
        remember = (posted_key(posted.message_id),) if posted.message_id else ()
        return Done(outcome=Outcome.DELIVERED, remember=remember)

    async def _post_inbound(
        self, message: InboundMessage, recovering_since: datetime | None
    ) -> tuple[UserLink, Posted]:
        parts = await self._rehosted(message)
        link = await self.store.get_link(message.channel, message.user_id)
        if link is not None and link.unreachable_since is not None:
            link = await self._reachable(link, why="wrote")
        try:
            return await self._post_for(message, link, parts, recovering_since)
        except UnknownUser as exc:
            if link is None:
                raise  # a user met just now cannot be gone: the help desk contradicts itself
            log.warning(
                kv(
                    hop="helpdesk_user_gone",
                    channel=message.channel,
                    channel_user=message.user_id,
                    helpdesk_user=exc.user_id,
                    note="deleted in the help desk; making the user again",
                )
            )
            return await self._post_for(message, None, parts, recovering_since)

    async def _post_for(
        self,
        message: InboundMessage,
        link: UserLink | None,
        parts: Sequence[Part],
        recovering_since: datetime | None,
    ) -> tuple[UserLink, Posted]:
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

        if link is None:
            user = await self.messaging.get_or_create_user(
                self.reference_ids.make(message.channel, message.user_id), message.profile
            )
            link = UserLink(
                channel=message.channel, channel_user_id=message.user_id, helpdesk_user_id=user.id
            )
            if user.created:
                return link, await self._start_conversation(link, parts)
        # The help desk may hold conversations of this user from before the mapping existed
        # (another bridge, a lost store): continue the latest one.
        conversations = await self.messaging.list_conversations(link.helpdesk_user_id)
        if conversations:
            if recovering_since is not None:
                found = await self._already_posted(link, conversations[0], parts, recovering_since)
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
                posted_key(candidate.message_id), DEFAULT_DEDUPE_TTL
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
        """Media whose channel URL expires, copied into the help desk with the channel's
        credentials; what cannot be copied becomes a placeholder, never the URL."""
        channel = self.channels.get(message.channel)
        if channel is None:
            return message.parts
        parts, failures = await copy_media(message.parts, channel=channel, messaging=self.messaging)
        for failure in failures:
            self.hops.media_copy_failed(message, failure.kind, failure.error, failure.too_large)
        return parts

    # -- agent → user ----------------------------------------------------------------------

    async def _deliver_reply(self, event: AgentMessage) -> Done:
        target = await self._route(event)
        if target is None:
            return Done(outcome=Outcome.IGNORED)
        channel, link = target
        # Sending would fail (or reach a user who asked for silence): a dead letter at once.
        refuse_unreachable(link)
        outbound, notes = fit_message(
            OutboundMessage(
                message_id=event.message_id,
                conversation_id=event.conversation_id,
                parts=event.parts,
                timestamp=event.created_at,
            ),
            channel.capabilities,
            split=False,
        )
        try:
            result = await channel.send(link.channel_user_id, outbound)
        except UserUnreachable:
            await self._unreachable(
                link.channel, link.channel_user_id, self.hops.clock.time(), why="send refused"
            )
            raise
        if notes:
            result = attrs.evolve(result, notes=(*notes, *result.notes))
        self.hops.reply_delivered(event, link, result)
        return Done(outcome=Outcome.DELIVERED)

    async def _unreachable(self, channel: str, user_id: str, since: float, *, why: str) -> None:
        link = await mark_unreachable(self.store, channel, user_id, since)
        if link is not None and link.unreachable_since == since:
            log.info(
                kv(hop="user_unreachable", channel=channel, channel_user=user_id, why=why),
                extra=SECRET_FREE,
            )

    async def _reachable(self, link: UserLink, *, why: str) -> UserLink:
        if link.unreachable_since is not None:
            log.info(
                kv(
                    hop="user_reachable",
                    channel=link.channel,
                    channel_user=link.channel_user_id,
                    why=why,
                ),
                extra=SECRET_FREE,
            )
        return await mark_reachable(self.store, link)

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
        reference_id = event.reference_id
        if reference_id is None:
            reference_id = (await self.messaging.get_user(event.user_id)).reference_id
        target = self.reference_ids.parse(reference_id or "", self.channels.keys())
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
            helpdesk_user_id=event.user_id,
            conversation_id=event.conversation_id,
        )
        await self.store.save_link(link)
        return link

    def _remember_foreign(self, user_id: str) -> None:
        self._foreign_users[user_id] = None
        if len(self._foreign_users) > 10_000:
            self._foreign_users.popitem(last=False)

    # -- conversation changes --------------------------------------------------------------

    def _notice(self, channel: str, status: str) -> str | None:
        notices = self.notices.get(channel)
        return notices.for_status(status) if notices is not None else None

    async def _send_notice(self, link: UserLink, event: ConversationChanged, text: str) -> None:
        channel = self.channels.get(link.channel)
        if channel is None:
            return
        notice = OutboundMessage(
            # Stable across retries of this event: a channel that remembers what it sent of a
            # message (Viber's partial sends) does not send it again.
            message_id=f"notice:{event.event_id or event.status + ':' + event.conversation_id}",
            conversation_id=event.conversation_id,
            parts=(Text(text=text),),
        )
        result = await channel.send(link.channel_user_id, notice)
        log.info(
            kv(
                hop="channel.notice",
                status=event.status,
                conversation=event.conversation_id,
                channel=link.channel,
                channel_user=link.channel_user_id,
                channel_message_ids=",".join(result.message_ids) or None,
            )
        )

    async def _conversation_changed(self, event: ConversationChanged) -> Done:
        link = await self.store.get_link_by_conversation(event.conversation_id)
        if link is None:
            return Done(outcome=Outcome.IGNORED)
        # A user who unsubscribed or blocked the bot gets no notice: sending it would fail.
        notice = (
            None if link.unreachable_since is not None else self._notice(link.channel, event.status)
        )
        if event.status == "assigned":
            if notice is None:
                return Done(outcome=Outcome.IGNORED)
            await self._send_notice(link, event, notice)
            return Done(outcome=Outcome.DELIVERED)
        resolved = event.status == "resolved"
        if link.resolved == resolved:
            # A redelivered webhook: the channel heard already (a dealer would otherwise end
            # the session twice, and run its end-of-session bot message twice).
            return Done(outcome=Outcome.DUPLICATE)
        if notice is not None:
            # Before the resolution is recorded (a failed send is retried with the event) and
            # before the channel ends its session (a Kakao dealer's chat closes with it).
            await self._send_notice(link, event, notice)
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
        return Done(outcome=Outcome.DELIVERED)


def _reply_lane(helpdesk_user: str) -> str:
    return f"{REPLY_LANE_PREFIX}{helpdesk_user}"
