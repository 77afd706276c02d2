"""The sync algorithm (`Sync`, a `MemoryStore`, a `FakeChannel`) over `ChatwootMessaging` and the
emulator: what the `Messaging` contract carries for Chatwoot, call by call. The invariants both
help desks share are in tests/core/invariants/; here is what is Chatwoot's own."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime, timezone

import attrs
import httpx
import pytest

from byoc.channel import Channel
from byoc.chatwoot import ChatwootMessaging
from byoc.delivery_modes import InlineDelivery
from byoc.errors import RetryableError
from byoc.hops import Hops
from byoc.media import MediaPart, MediaStream
from byoc.messaging import AgentMessage, ConversationChanged, Messaging
from byoc.models import Image, InboundMessage, Part, Profile, Text
from byoc.store import MemoryStore, Store
from byoc.sync import Outcome, ResolvedPolicy, Sync
from byoc.testing.chatwoot import ChatwootEmulator, Fault, FormFile
from byoc.testing.clock import FakeClock
from byoc.testing.fake_channel import FakeChannel
from byoc.testing.media_host import MediaHost
from byoc.testing.network import VirtualNetwork

from .conftest import CHATWOOT_URL, Inbox

ACCOUNT = "/api/v1/accounts/{account_id}"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(64)
Pump = Callable[[], Awaitable[list[Outcome]]]


def inbound(text: str, *, user: str = "alice", mid: str | None = None) -> InboundMessage:
    return InboundMessage(
        channel="fake",
        user_id=user,
        message_id=mid or f"{user}:{text}",
        parts=(Text(text=text),),
        profile=Profile(name="Alice Kim"),
    )


def _calls(chatwoot: ChatwootEmulator) -> list[str]:
    return [
        f"{m} {r.removeprefix(ACCOUNT)}" for (m, r), n in chatwoot.calls.items() for _ in range(n)
    ]


def _messaging(
    chatwoot: ChatwootEmulator, http: httpx.AsyncClient, timeout: float = 15.0
) -> ChatwootMessaging:
    return ChatwootMessaging(
        url=CHATWOOT_URL,
        account_id=1,
        inbox_id=1,
        token=chatwoot.token,
        hmac_token=chatwoot.inbox.secret,
        clock=chatwoot.clock,
        http=http,
        timeout=timeout,
    )


def make_sync(messaging: Messaging, channel: Channel, store: Store, **options: object) -> Sync:
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


@pytest.fixture
def channel() -> FakeChannel:
    return FakeChannel()


@pytest.fixture
def store(clock: FakeClock) -> MemoryStore:
    return MemoryStore(clock=clock)


@pytest.fixture
def sync(messaging: ChatwootMessaging, channel: FakeChannel, store: MemoryStore) -> Sync:
    return make_sync(messaging, channel, store)


@pytest.fixture
async def pump(
    chatwoot: ChatwootEmulator, messaging: ChatwootMessaging, inbox: Inbox, sync: Sync
) -> AsyncIterator[Pump]:
    """`await pump()`: deliver every webhook Chatwoot sent, as the bridge's route would."""

    async def run() -> list[Outcome]:
        await chatwoot.drain()
        outcomes = []
        for request in inbox.take():
            for event in await messaging.parse_webhook(request):
                if isinstance(event, AgentMessage):
                    outcomes.append(await sync.accept(event))
                else:
                    outcomes.append(await sync.accept(event))
        return outcomes

    yield run


async def _conversation_of(sync: Sync, user: str = "alice") -> int:
    link = await sync.store.get_link("fake", user)
    assert link is not None and link.conversation_id is not None
    return int(link.conversation_id)


async def test_a_new_user_costs_two_calls_then_one_per_message(
    chatwoot: ChatwootEmulator, sync: Sync
) -> None:
    assert await sync.accept(inbound("hello")) is Outcome.DELIVERED
    assert _calls(chatwoot) == ["POST /contacts", "POST /conversations"]
    chatwoot.reset_calls()
    for text in ("two", "three"):
        await sync.accept(inbound(text))
    assert _calls(chatwoot) == ["POST /conversations/{id}/messages"] * 2
    [contact] = chatwoot.contacts("fake:alice")
    assert contact["name"] == "Alice Kim"
    messages = chatwoot.conversation_messages(await _conversation_of(sync))
    assert [(m["content"], m["message_type"]) for m in messages] == [
        ("hello", 0),
        ("two", 0),
        ("three", 0),
    ]


async def test_concurrent_first_messages_make_one_contact_and_keep_order(
    chatwoot: ChatwootEmulator, sync: Sync
) -> None:
    texts = [f"m{i}" for i in range(6)]
    await asyncio.gather(*(sync.accept(inbound(t)) for t in texts))
    assert len(chatwoot.contacts("fake:alice")) == 1
    assert len(chatwoot.conversations()) == 1
    messages = chatwoot.conversation_messages(await _conversation_of(sync))
    assert [m["content"] for m in messages] == texts


async def test_a_duplicate_channel_message_is_posted_once(
    chatwoot: ChatwootEmulator, sync: Sync
) -> None:
    message = inbound("hello", mid="viber-token-1")
    assert await sync.accept(message) is Outcome.DELIVERED
    assert await sync.accept(message) is Outcome.DUPLICATE
    assert len(chatwoot.conversation_messages(await _conversation_of(sync))) == 1


async def test_agent_replies_reach_the_user_once_and_nothing_else_does(
    chatwoot: ChatwootEmulator, sync: Sync, channel: FakeChannel, pump: Pump
) -> None:
    chatwoot.inbox.greeting_message = "Thanks, we reply within the hour."
    await sync.accept(inbound("hello"))
    conversation = await _conversation_of(sync)
    await chatwoot.private_note(conversation, "VIP, be nice")
    chatwoot.faults.webhook_copies = 2  # every webhook delivered twice
    await chatwoot.agent_reply(
        conversation,
        "Here is the form",
        attachments=[FormFile(filename="form.pdf", content_type="application/pdf", data=b"%PDF")],
    )
    await chatwoot.agent_reply(conversation, "From the bot", bot=True)
    outcomes = await pump()
    sent = channel.outbox["alice"]
    assert [p for m in sent for p in m.parts if isinstance(p, Text)] == [
        Text(text="Here is the form"),
        Text(text="From the bot"),
    ]
    # The echo of "hello", the greeting (a template) and the note were dropped, the copies
    # deduplicated.
    assert outcomes.count(Outcome.DELIVERED) == 2
    assert outcomes.count(Outcome.DUPLICATE) == 2
    assert outcomes.count(Outcome.IGNORED) == 3


async def test_media_goes_both_ways(
    chatwoot: ChatwootEmulator, sync: Sync, channel: FakeChannel, cdn: MediaHost, pump: Pump
) -> None:
    photo = cdn.put("receipt.png", PNG)
    parts: list[Part] = [Image(url=photo, caption="my receipt")]
    await sync.accept(InboundMessage(channel="fake", user_id="alice", message_id="m1", parts=parts))
    conversation = await _conversation_of(sync)
    [message] = chatwoot.conversation_messages(conversation)
    assert message["attachments"][0]["file_type"] == "image"
    await chatwoot.agent_reply(
        conversation,
        attachments=[FormFile(filename="map.png", content_type="image/png", data=PNG)],
    )
    await pump()
    [reply] = channel.outbox["alice"]
    [image] = reply.parts
    assert isinstance(image, Image)
    async with chatwoot.client() as anyone:
        assert (await anyone.get(image.url, follow_redirects=True)).content == PNG


async def test_resolution_is_tracked_and_the_next_message_reopens(
    chatwoot: ChatwootEmulator, sync: Sync, pump: Pump
) -> None:
    await sync.accept(inbound("hello"))
    conversation = await _conversation_of(sync)
    await pump()
    await chatwoot.resolve(conversation)
    assert await pump() == [Outcome.DELIVERED]
    link = await sync.store.get_link("fake", "alice")
    assert link is not None and link.resolved
    await sync.accept(inbound("one more question"))
    assert chatwoot.conversations()[0]["status"] == "open"
    # Chatwoot reports the reopening too; the link already follows it.
    await pump()
    link = await sync.store.get_link("fake", "alice")
    assert link is not None and not link.resolved and link.conversation_id == str(conversation)


async def test_a_deleted_conversation_is_replaced_and_the_mapping_follows(
    chatwoot: ChatwootEmulator, sync: Sync
) -> None:
    await sync.accept(inbound("hello"))
    old = await _conversation_of(sync)
    await chatwoot.delete_conversation(old)
    await sync.accept(inbound("still there?"))
    new = await _conversation_of(sync)
    assert new != old
    assert [m["content"] for m in chatwoot.conversation_messages(new)] == ["still there?"]


async def test_a_reply_finds_its_user_after_the_store_was_lost(
    chatwoot: ChatwootEmulator,
    messaging: ChatwootMessaging,
    channel: FakeChannel,
    inbox: Inbox,
    clock: FakeClock,
) -> None:
    first = make_sync(messaging, channel, MemoryStore(clock=clock))
    await first.accept(inbound("hello"))
    conversation = await _conversation_of(first)
    await chatwoot.drain()
    inbox.take()
    fresh = make_sync(messaging, channel, MemoryStore(clock=clock))
    await chatwoot.agent_reply(conversation, "welcome back")
    await chatwoot.drain()
    chatwoot.reset_calls()
    for request in inbox.take():
        for event in await messaging.parse_webhook(request):
            assert isinstance(event, AgentMessage)
            assert await fresh.accept(event) is Outcome.DELIVERED
    # The webhook names the contact's identifier, the reference id: no call routes it.
    assert _calls(chatwoot) == []
    assert [m.parts for m in channel.outbox["alice"]] == [(Text(text="welcome back"),)]


async def test_a_post_whose_answer_was_lost_is_found_not_repeated(
    chatwoot: ChatwootEmulator, sync: Sync, network: VirtualNetwork, clock: FakeClock
) -> None:
    await sync.accept(inbound("hello"))
    since = datetime.fromtimestamp(clock.time(), tz=timezone.utc)
    # The post reaches Chatwoot, but its answer never reaches the bridge.
    chatwoot.faults.add(Fault(kind="hang", then_process=True, times=1))
    async with network.client() as impatient:
        hasty = make_sync(
            _messaging(chatwoot, impatient, timeout=0.05), sync.channels["fake"], sync.store
        )
        message = inbound("did this arrive?", mid="m-lost")
        with pytest.raises(RetryableError, match="timed out"):
            await hasty.perform(message)
        chatwoot.faults.release()
        await chatwoot.settle()  # the post goes through after all
    done = await sync.perform(message, recovering_since=since)
    assert done.outcome is Outcome.DELIVERED
    contents = [m["content"] for m in chatwoot.conversation_messages(await _conversation_of(sync))]
    assert contents == ["hello", "did this arrive?"]


async def test_a_new_conversation_after_a_restart_costs_one_call(
    chatwoot: ChatwootEmulator,
    sync: Sync,
    channel: FakeChannel,
    http: httpx.AsyncClient,
    pump: Pump,
) -> None:
    """The link's user id carries the contact's session: a restarted bridge starts a new
    conversation (the resolved policy NEW) without looking anything up."""
    await sync.accept(inbound("hello"))
    await chatwoot.resolve(await _conversation_of(sync))
    await pump()
    restarted = make_sync(
        _messaging(chatwoot, http), channel, sync.store, resolved_policy=ResolvedPolicy.NEW
    )
    chatwoot.reset_calls()
    await restarted.accept(inbound("a new question"))
    assert _calls(chatwoot) == ["POST /conversations"]
    assert len(chatwoot.conversations()) == 2


async def test_a_known_contact_without_a_link_is_created_then_found(
    chatwoot: ChatwootEmulator, messaging: ChatwootMessaging, channel: FakeChannel, clock: FakeClock
) -> None:
    """Chatwoot refuses a second contact with the same identifier: the bridge creates first
    and looks up only when refused, so a new user costs one call less and a user whose link
    was lost (another bridge, a lost store) one more."""
    first = make_sync(messaging, channel, MemoryStore(clock=clock))
    await first.accept(inbound("hello"))
    fresh = make_sync(messaging, channel, MemoryStore(clock=clock))
    chatwoot.reset_calls()
    await fresh.accept(inbound("still me"))
    assert _calls(chatwoot) == [
        "POST /contacts",
        "POST /contacts/filter",
        "GET /contacts/{id}/conversations",
        "POST /conversations/{id}/messages",
    ]
    assert len(chatwoot.contacts("fake:alice")) == 1 and len(chatwoot.conversations()) == 1


async def test_a_contact_deleted_in_chatwoot_is_made_again(
    chatwoot: ChatwootEmulator, sync: Sync
) -> None:
    await sync.accept(inbound("hello"))
    old = await sync.store.get_link("fake", "alice")
    assert old is not None
    await chatwoot.delete_contact(int(old.helpdesk_user_id.split(":")[0]))
    chatwoot.reset_calls()
    assert await sync.accept(inbound("are you there?")) is Outcome.DELIVERED
    assert _calls(chatwoot) == [
        "POST /conversations/{id}/messages",  # 404: the conversation went with the contact
        "GET /contacts/{id}/conversations",  # 404: the contact is gone
        "POST /contacts",
        "POST /conversations",
    ]
    new = await sync.store.get_link("fake", "alice")
    assert new is not None and new.helpdesk_user_id != old.helpdesk_user_id
    [contact] = chatwoot.contacts("fake:alice")
    [conversation] = chatwoot.conversations(contact["id"])
    assert new.conversation_id == str(conversation["id"])
    messages = chatwoot.conversation_messages(conversation["id"])
    assert [m["content"] for m in messages] == ["are you there?"]


class ExpiringMediaChannel(FakeChannel):
    """A channel whose media links expire, and whose files only it can fetch."""

    capabilities = attrs.evolve(FakeChannel.capabilities, media_urls_expire=True)

    def __init__(self, files: dict[str, bytes]) -> None:
        super().__init__()
        self.files = files

    async def fetch_media(self, part: MediaPart, *, max_bytes: int) -> MediaStream:
        return MediaStream.from_bytes(
            self.files[part.url], max_bytes=max_bytes, content_type="image/png"
        )


async def test_media_the_channel_fetches_reaches_chatwoot_in_the_message_call(
    chatwoot: ChatwootEmulator, messaging: ChatwootMessaging, store: MemoryStore
) -> None:
    channel = ExpiringMediaChannel({"fake-file:1": PNG})
    sync = make_sync(messaging, channel, store)
    parts: list[Part] = [Image(url="fake-file:1", caption="my receipt")]
    await sync.accept(InboundMessage(channel="fake", user_id="alice", message_id="m1", parts=parts))
    assert _calls(chatwoot) == ["POST /contacts", "POST /conversations"]
    [message] = chatwoot.conversation_messages(await _conversation_of(sync))
    assert message["content"] == "my receipt"
    [attachment] = message["attachments"]
    async with chatwoot.client() as anyone:
        assert (await anyone.get(attachment["data_url"], follow_redirects=True)).content == PNG


async def test_status_changes_chatwoot_has_and_byoc_ignores(
    chatwoot: ChatwootEmulator, sync: Sync, pump: Pump
) -> None:
    """`ConversationChanged.status` is resolved, reopened or assigned. Chatwoot also has pending
    (a bot holds it) and snoozed; they reach the algorithm and are ignored."""
    await sync.accept(inbound("hello"))
    conversation = await _conversation_of(sync)
    await pump()
    await chatwoot.set_status(conversation, "snoozed")
    await chatwoot.set_status(conversation, "pending")
    assert await pump() == [Outcome.IGNORED, Outcome.IGNORED]


async def test_a_status_change_event_names_the_contact(
    chatwoot: ChatwootEmulator, messaging: ChatwootMessaging, sync: Sync, inbox: Inbox
) -> None:
    await sync.accept(inbound("hello"))
    conversation = await _conversation_of(sync)
    await chatwoot.resolve(conversation)
    await chatwoot.drain()
    [change] = [
        e
        for r in inbox.take()
        for e in await messaging.parse_webhook(r)
        if isinstance(e, ConversationChanged)
    ]
    link = await sync.store.get_link("fake", "alice")
    assert link is not None and change.user_id == link.helpdesk_user_id
