"""The sync algorithm's branches, against an in-memory help desk (no I/O)."""

from __future__ import annotations

import asyncio

import pytest

from byoc.channel import Channel
from byoc.delivery_modes import InlineDelivery
from byoc.errors import PermanentError, RetryableError
from byoc.hops import Hops
from byoc.messaging import AgentMessage, ConversationChanged
from byoc.models import Image, InboundMessage, OutboundMessage, Profile, SendResult, Text
from byoc.store import MemoryStore, UserLink
from byoc.sync import Notices, Outcome, ReferenceIds, ResolvedPolicy, Sync
from byoc.testing.fake_channel import FakeChannel

from .recording_messaging import RecordingMessaging


def make_sync(
    messaging: RecordingMessaging, channel: Channel, store: MemoryStore, **options: object
) -> Sync:
    """The algorithm with inline delivery: each accepted event is performed at once."""
    hops = Hops()
    return Sync(
        messaging=messaging,
        channels={"fake": channel},
        store=store,
        delivery=InlineDelivery(store=store, hops=hops),
        hops=hops,
        **options,  # type: ignore[arg-type]
    )


def inbound(text: str, *, user: str = "alice", mid: str | None = None) -> InboundMessage:
    return InboundMessage(
        channel="fake",
        user_id=user,
        message_id=mid or f"{user}:{text}",
        parts=(Text(text=text),),
        profile=Profile(name="Alice Kim"),
    )


def reply(mid: str, conversation: str, user: str | None, **kw: object) -> AgentMessage:
    fields: dict[str, object] = {"actor_type": "agent", "parts": (Text(text="hi from agent"),)}
    fields.update(kw)
    return AgentMessage(message_id=mid, conversation_id=conversation, user_id=user, **fields)  # type: ignore[arg-type]


@pytest.fixture
def messaging() -> RecordingMessaging:
    return RecordingMessaging()


@pytest.fixture
def channel() -> FakeChannel:
    return FakeChannel()


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore()


@pytest.fixture
def sync(messaging: RecordingMessaging, channel: FakeChannel, store: MemoryStore) -> Sync:
    return make_sync(messaging, channel, store)


async def test_new_user_costs_three_calls_then_one_per_message(
    sync: Sync, messaging: RecordingMessaging, store: MemoryStore
) -> None:
    assert await sync.accept(inbound("one")) is Outcome.DELIVERED
    assert messaging.calls == ["find_user", "create_user", "create_conversation"]
    user = next(iter(messaging.users.values()))
    assert user.reference_id == "fake:alice"
    messaging.calls.clear()
    assert await sync.accept(inbound("two")) is Outcome.DELIVERED
    assert messaging.calls == ["post_message"]
    link = await store.get_link("fake", "alice")
    assert link is not None and link.helpdesk_user_id == user.id
    conversation = messaging.conversations[user.id][0]
    assert [p[0].text for p in messaging.messages[conversation]] == ["one", "two"]  # type: ignore[union-attr]


async def test_known_user_without_mapping_continues_latest_conversation(
    sync: Sync, messaging: RecordingMessaging
) -> None:
    user = await messaging.create_user("fake:alice", None)
    older = (await messaging.create_conversation(user.id, [Text(text="a")])).conversation_id
    latest = (await messaging.create_conversation(user.id, [Text(text="b")])).conversation_id
    messaging.calls.clear()
    await sync.accept(inbound("c"))
    assert messaging.calls == ["find_user", "list_conversations", "post_message"]
    assert len(messaging.messages[latest]) == 2 and len(messaging.messages[older]) == 1


async def test_known_user_without_conversations_gets_one(
    sync: Sync, messaging: RecordingMessaging
) -> None:
    await messaging.create_user("fake:alice", None)
    messaging.calls.clear()
    await sync.accept(inbound("c"))
    assert messaging.calls == ["find_user", "list_conversations", "create_conversation"]


async def test_stale_conversation_moves_to_the_latest_other_one(
    sync: Sync, messaging: RecordingMessaging, store: MemoryStore
) -> None:
    await sync.accept(inbound("one"))
    link = await store.get_link("fake", "alice")
    assert link is not None and link.conversation_id is not None
    newer = (
        await messaging.create_conversation(link.helpdesk_user_id, [Text(text="agent")])
    ).conversation_id
    messaging.stale.add(link.conversation_id)
    messaging.calls.clear()
    assert await sync.accept(inbound("two")) is Outcome.DELIVERED
    assert messaging.calls == ["post_message", "list_conversations", "post_message"]
    assert messaging.messages[newer][-1] == (Text(text="two"),)
    relinked = await store.get_link("fake", "alice")
    assert relinked is not None and relinked.conversation_id == newer


async def test_stale_conversation_with_no_other_starts_a_new_one(
    sync: Sync, messaging: RecordingMessaging, store: MemoryStore
) -> None:
    await sync.accept(inbound("one"))
    link = await store.get_link("fake", "alice")
    assert link is not None and link.conversation_id is not None
    messaging.stale.add(link.conversation_id)
    messaging.calls.clear()
    await sync.accept(inbound("two"))
    assert messaging.calls == ["post_message", "list_conversations", "create_conversation"]
    relinked = await store.get_link("fake", "alice")
    assert relinked is not None and relinked.conversation_id not in (None, link.conversation_id)
    assert messaging.messages[relinked.conversation_id] == [(Text(text="two"),)]  # type: ignore[index]


async def test_duplicate_message_is_delivered_once(
    sync: Sync, messaging: RecordingMessaging
) -> None:
    message = inbound("one", mid="m-1")
    assert await sync.accept(message) is Outcome.DELIVERED
    assert await sync.accept(message) is Outcome.DUPLICATE
    assert messaging.calls.count("create_conversation") + messaging.calls.count("post_message") == 1


async def test_failed_delivery_can_be_retried(sync: Sync, messaging: RecordingMessaging) -> None:
    await sync.accept(inbound("one"))
    messaging.fail_posts.append(RetryableError("down", retry_after=3))
    with pytest.raises(RetryableError):
        await sync.accept(inbound("two", mid="m-2"))
    assert await sync.accept(inbound("two", mid="m-2")) is Outcome.DELIVERED
    conversation = next(iter(messaging.messages))
    assert messaging.messages[conversation][-1] == (Text(text="two"),)


async def test_concurrent_first_messages_make_one_user_and_keep_order(
    sync: Sync, messaging: RecordingMessaging
) -> None:
    results = await asyncio.gather(*(sync.accept(inbound(f"m{i}")) for i in range(50)))
    assert set(results) == {Outcome.DELIVERED}
    assert len(messaging.users) == 1
    (conversations,) = messaging.conversations.values()
    assert len(conversations) == 1
    texts = [p[0].text for p in messaging.messages[conversations[0]]]  # type: ignore[union-attr]
    assert texts == [f"m{i}" for i in range(50)]


@pytest.mark.parametrize("policy", [ResolvedPolicy.REOPEN, ResolvedPolicy.NEW])
async def test_resolved_conversation_policy(
    messaging: RecordingMessaging, channel: FakeChannel, store: MemoryStore, policy: ResolvedPolicy
) -> None:
    sync = make_sync(messaging, channel, store, resolved_policy=policy)
    await sync.accept(inbound("one"))
    link = await store.get_link("fake", "alice")
    assert link is not None and link.conversation_id is not None
    changed = ConversationChanged(conversation_id=link.conversation_id, status="resolved")
    assert await sync.accept(changed) is Outcome.DELIVERED
    messaging.calls.clear()
    await sync.accept(inbound("two"))
    after = await store.get_link("fake", "alice")
    assert after is not None and not after.resolved
    if policy is ResolvedPolicy.REOPEN:
        assert messaging.calls == ["post_message"]
        assert after.conversation_id == link.conversation_id
    else:
        assert messaging.calls == ["create_conversation"]
        assert after.conversation_id != link.conversation_id


async def test_reply_reaches_the_user_once_and_echoes_do_not(
    sync: Sync, messaging: RecordingMessaging, channel: FakeChannel, store: MemoryStore
) -> None:
    await sync.accept(inbound("one"))
    link = await store.get_link("fake", "alice")
    assert link is not None and link.conversation_id is not None
    conv, user = link.conversation_id, link.helpdesk_user_id
    messaging.calls.clear()
    assert await sync.accept(reply("r1", conv, user)) is Outcome.DELIVERED
    assert await sync.accept(reply("r1", conv, user)) is Outcome.DUPLICATE
    assert await sync.accept(reply("u1", conv, user, actor_type="user")) is Outcome.IGNORED
    assert await sync.accept(reply("s1", conv, user, actor_type="system")) is Outcome.IGNORED
    assert await sync.accept(reply("p1", conv, user, message_type="private")) is Outcome.IGNORED
    assert await sync.accept(reply("p2", conv, user, private=True)) is Outcome.IGNORED
    assert await sync.accept(reply("b1", conv, user, actor_type="bot")) is Outcome.DELIVERED
    assert [m.message_id for m in channel.outbox["alice"]] == ["r1", "b1"]
    assert messaging.calls == []  # replies cost the help desk nothing


async def test_reply_routes_by_reference_id_when_the_mapping_is_missing(
    sync: Sync, messaging: RecordingMessaging, channel: FakeChannel, store: MemoryStore
) -> None:
    user = await messaging.create_user("fake:bob", None)
    conv = (await messaging.create_conversation(user.id, [Text(text="x")])).conversation_id
    messaging.calls.clear()
    await sync.accept(reply("r1", conv, user.id))
    await sync.accept(reply("r2", conv, user.id))
    assert messaging.calls == ["get_user"]
    assert len(channel.outbox["bob"]) == 2
    link = await store.get_link("fake", "bob")
    assert link is not None and link.conversation_id == conv


async def test_reply_to_a_foreign_user_is_ignored_and_remembered(
    sync: Sync, messaging: RecordingMessaging, channel: FakeChannel
) -> None:
    user = await messaging.create_user("web-visitor-17", None)
    messaging.calls.clear()
    assert await sync.accept(reply("r1", "conv-x", user.id)) is Outcome.IGNORED
    assert await sync.accept(reply("r2", "conv-x", user.id)) is Outcome.IGNORED
    assert messaging.calls == ["get_user"]
    assert not channel.outbox


async def test_reply_without_user_or_known_conversation_is_refused(sync: Sync) -> None:
    with pytest.raises(PermanentError):
        await sync.accept(reply("r1", "conv-unknown", None))


async def test_failed_send_is_retried_not_deduped(
    sync: Sync, channel: FakeChannel, store: MemoryStore
) -> None:
    await store.save_link(
        UserLink(
            channel="fake", channel_user_id="carol", helpdesk_user_id="u-c", conversation_id="c-1"
        )
    )
    channel.fail_next = 1
    with pytest.raises(RetryableError):
        await sync.accept(reply("r1", "c-1", "u-c"))
    assert await sync.accept(reply("r1", "c-1", "u-c")) is Outcome.DELIVERED
    assert len(channel.outbox["carol"]) == 1


def test_reference_ids_round_trip_and_legacy_mode() -> None:
    ids = ReferenceIds()
    assert ids.make("viber", "abc==") == "viber:abc=="
    assert ids.parse("viber:abc==", {"viber", "kakao"}) == ("viber", "abc==")
    assert ids.parse("viber:abc==", {"kakao"}) is None
    assert ids.parse("plain", {"viber"}) is None
    legacy = ReferenceIds(legacy_channel="viber")
    assert legacy.make("viber", "abc==") == "abc=="
    assert legacy.make("kakao", "k1") == "kakao:k1"
    assert legacy.parse("abc==", {"viber", "kakao"}) == ("viber", "abc==")
    assert legacy.parse("kakao:k1", {"viber", "kakao"}) == ("kakao", "k1")


class ExpiringMediaChannel(FakeChannel):
    capabilities = FakeChannel.capabilities.__class__(
        send=FakeChannel.capabilities.send,
        media_urls_expire=True,
    )


@pytest.mark.parametrize("upload_fails", [False, True])
async def test_expiring_media_is_copied_or_replaced_by_a_placeholder_without_its_url(
    messaging: RecordingMessaging, store: MemoryStore, upload_fails: bool
) -> None:
    sync = make_sync(messaging, ExpiringMediaChannel(), store)
    messaging.fail_rehost = upload_fails
    image = Image(url="https://media.channel.test/p/1.jpg?token=secret-token-1", name="cat.jpg")
    message = InboundMessage(channel="fake", user_id="dan", message_id="1", parts=(image,))
    await sync.accept(message)
    (posted,) = next(iter(messaging.messages.values()))
    if upload_fails:
        # The URL may carry the channel's credential: the agent reads what it was, not where.
        (placeholder,) = posted
        assert isinstance(placeholder, Text) and "picture (cat.jpg)" in placeholder.text
        assert "media.channel.test" not in placeholder.text and "secret" not in placeholder.text
        failures = sync.hops.media_copy_failures.total(channel="fake")
        assert failures == 1
    else:
        assert isinstance(posted[0], Image) and posted[0].helpdesk_ref == "ref"


class SessionChannel(FakeChannel):
    def __init__(self, *, fail: bool = False) -> None:
        super().__init__()
        self.ended: list[str] = []
        self.fail = fail

    async def conversation_resolved(self, user_id: str) -> None:
        if self.fail:
            raise RuntimeError("dealer down")
        self.ended.append(user_id)


@pytest.mark.parametrize("fail", [False, True])
async def test_resolution_tells_the_channel_best_effort(
    messaging: RecordingMessaging, store: MemoryStore, fail: bool
) -> None:
    channel = SessionChannel(fail=fail)
    sync = make_sync(messaging, channel, store)
    await sync.accept(inbound("one"))
    link = await store.get_link("fake", "alice")
    assert link is not None and link.conversation_id is not None
    resolved = ConversationChanged(conversation_id=link.conversation_id, status="resolved")
    assert await sync.accept(resolved) is Outcome.DELIVERED
    assert channel.ended == ([] if fail else ["alice"])
    after = await store.get_link("fake", "alice")
    assert after is not None and after.resolved


async def test_a_redelivered_resolution_tells_the_channel_once(
    messaging: RecordingMessaging, store: MemoryStore
) -> None:
    channel = SessionChannel()
    sync = make_sync(messaging, channel, store)
    await sync.accept(inbound("one"))
    link = await store.get_link("fake", "alice")
    assert link is not None and link.conversation_id is not None
    resolved = ConversationChanged(conversation_id=link.conversation_id, status="resolved")
    assert await sync.accept(resolved) is Outcome.DELIVERED
    assert await sync.accept(resolved) is Outcome.DUPLICATE
    assert channel.ended == ["alice"]
    reopened = ConversationChanged(conversation_id=link.conversation_id, status="reopened")
    assert await sync.accept(reopened) is Outcome.DELIVERED
    assert await sync.accept(resolved) is Outcome.DELIVERED
    assert channel.ended == ["alice", "alice"]


class NoticeChannel(SessionChannel):
    """Records, in one list, what reached the user and when the session ended."""

    def __init__(self) -> None:
        super().__init__()
        self.timeline: list[str] = []

    async def send(self, user_id: str, message: OutboundMessage) -> SendResult:
        result = await super().send(user_id, message)
        self.timeline += [f"sent {p.text}" for p in message.parts if isinstance(p, Text)]
        return result

    async def conversation_resolved(self, user_id: str) -> None:
        await super().conversation_resolved(user_id)
        self.timeline.append("session ended")


async def test_notices_are_off_by_default(
    messaging: RecordingMessaging, store: MemoryStore
) -> None:
    channel = NoticeChannel()
    sync = make_sync(messaging, channel, store)
    await sync.accept(inbound("one"))
    link = await store.get_link("fake", "alice")
    assert link is not None and link.conversation_id is not None
    assigned = ConversationChanged(conversation_id=link.conversation_id, status="assigned")
    assert await sync.accept(assigned) is Outcome.IGNORED
    resolved = ConversationChanged(conversation_id=link.conversation_id, status="resolved")
    assert await sync.accept(resolved) is Outcome.DELIVERED
    assert channel.timeline == ["session ended"]


async def test_notices_reach_the_user_once_and_before_the_session_ends(
    messaging: RecordingMessaging, store: MemoryStore
) -> None:
    channel = NoticeChannel()
    notices = {"fake": Notices(assigned="An agent is here.", resolved="Closed, thanks!")}
    sync = make_sync(messaging, channel, store, notices=notices)
    await sync.accept(inbound("one"))
    link = await store.get_link("fake", "alice")
    assert link is not None and link.conversation_id is not None
    conversation = link.conversation_id

    assigned = ConversationChanged(conversation_id=conversation, status="assigned", event_id="a1")
    assert await sync.accept(assigned) is Outcome.DELIVERED
    assert await sync.accept(assigned) is Outcome.DUPLICATE  # the webhook, delivered again
    resolved = ConversationChanged(conversation_id=conversation, status="resolved", event_id="r1")
    assert await sync.accept(resolved) is Outcome.DELIVERED
    again = ConversationChanged(conversation_id=conversation, status="resolved", event_id="r2")
    assert await sync.accept(again) is Outcome.DUPLICATE  # already resolved: no second notice
    assert channel.timeline == ["sent An agent is here.", "sent Closed, thanks!", "session ended"]
    assert [m.message_id for m in channel.outbox["alice"]] == ["notice:a1", "notice:r1"]


async def test_a_failed_notice_is_retried_with_its_event(
    messaging: RecordingMessaging, store: MemoryStore
) -> None:
    channel = NoticeChannel()
    sync = make_sync(messaging, channel, store, notices={"fake": Notices(resolved="Bye!")})
    await sync.accept(inbound("one"))
    link = await store.get_link("fake", "alice")
    assert link is not None and link.conversation_id is not None
    resolved = ConversationChanged(
        conversation_id=link.conversation_id, status="resolved", event_id="r1"
    )
    channel.fail_next = 1
    with pytest.raises(RetryableError):
        await sync.accept(resolved)
    after = await store.get_link("fake", "alice")
    assert after is not None and not after.resolved  # not recorded: the retry sends it
    assert await sync.accept(resolved) is Outcome.DELIVERED
    assert channel.timeline == ["sent Bye!", "session ended"]
