"""The sync invariants, one module for every help desk: the same tests, run unchanged against
the Freshchat and the Chatwoot emulator over HTTP.

A `FakeChannel` posts signed webhooks to the bridge (`BridgeRig`); the help desk's emulator
posts its own webhooks back; `HelpdeskDouble` reads what each help desk holds in the words they
share. Each invariant is one of docs/architecture.md's (design invariants 1, 2, 3 and 5).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from byoc.models import Text
from byoc.store import MemoryStore
from byoc.sync import ResolvedPolicy
from byoc.testing.fake_channel import FakeChannel
from byoc.testing.helpdesk import HELPDESK_NAMES
from byoc.testing.rig import BRIDGE_URL, BridgeRig

WEBHOOK = f"{BRIDGE_URL}/channels/fake/webhook"


@pytest.fixture
def channel() -> FakeChannel:
    return FakeChannel()


@pytest.fixture(params=HELPDESK_NAMES)
async def rig(request: pytest.FixtureRequest, channel: FakeChannel) -> AsyncIterator[BridgeRig]:
    async with BridgeRig(helpdesk=request.param) as made:
        made.attach([channel], store=MemoryStore())
        yield made


def received(channel: FakeChannel, user: str) -> list[str]:
    """The texts of the replies `user` received."""
    return [
        part.text
        for message in channel.outbox.get(user, [])
        for part in message.parts
        if isinstance(part, Text)
    ]


async def restart(rig: BridgeRig, channel: FakeChannel, **options: object) -> None:
    """A new bridge on the same help desk (and the same store unless `options` name one)."""
    store = rig.bridge.store
    await rig.bridge.aclose()
    rig.attach([channel], **{"store": store, **options})


async def test_concurrent_first_messages_make_one_user_and_one_conversation_in_order(
    rig: BridgeRig,
    channel: FakeChannel,
) -> None:
    # Two new users write at once, their messages interleaved.
    await asyncio.gather(
        *(
            rig.say(channel, user, f"{user} {i:02d}", message_id=f"{user}-{i}")
            for i in range(20)
            for user in ("jisoo", "minjun")
        )
    )
    await rig.settle()
    for user in ("jisoo", "minjun"):
        assert len(rig.helpdesk.users(f"fake:{user}")) == 1
        conversation = rig.conversation_of(f"fake:{user}")
        assert rig.helpdesk.user_texts(conversation) == [f"{user} {i:02d}" for i in range(20)]


async def test_steady_state_costs_one_call_per_message_and_none_per_reply(
    rig: BridgeRig, channel: FakeChannel
) -> None:
    conversation = await rig.say_and_settle(channel, "minjun", "hello")
    rig.helpdesk.reset_calls()
    for text in ("one", "two", "three"):
        await rig.say(channel, "minjun", text)
    await rig.settle()
    assert rig.helpdesk.total_calls() == 3
    rig.helpdesk.reset_calls()
    await rig.helpdesk.agent_reply(conversation, "Hello from support")
    await rig.settle()
    assert received(channel, "minjun") == ["Hello from support"]
    assert rig.helpdesk.total_calls() == 0


async def test_every_webhook_delivered_three_times_has_one_effect(
    rig: BridgeRig, channel: FakeChannel
) -> None:
    conversation = await rig.say_and_settle(channel, "minjun", "one", message_id="m-1", copies=3)
    rig.helpdesk.duplicate_webhooks(3)
    await rig.say(channel, "minjun", "two", message_id="m-2", copies=3)
    await rig.helpdesk.agent_reply(conversation, "reply")
    await rig.settle()
    assert rig.helpdesk.user_texts(conversation) == ["one", "two"]
    assert received(channel, "minjun") == ["reply"]


async def test_echoes_and_private_notes_never_reach_the_user(
    rig: BridgeRig, channel: FakeChannel
) -> None:
    conversation = await rig.say_and_settle(channel, "minjun", "my order is late")
    await rig.helpdesk.private_note(conversation, "VIP customer, be quick")
    await rig.helpdesk.agent_reply(conversation, "On its way!")
    await rig.say(channel, "minjun", "thanks")
    await rig.settle()
    # The help desk reported the user's own two messages and the note as well.
    assert received(channel, "minjun") == ["On its way!"]


async def test_a_stale_conversation_gives_way_without_losing_the_message(
    rig: BridgeRig, channel: FakeChannel
) -> None:
    stale = await rig.say_and_settle(channel, "minjun", "one")
    await rig.helpdesk.make_stale(stale)
    await rig.say(channel, "minjun", "two")
    await rig.settle()
    link = await rig.bridge.store.get_link("fake", "minjun")
    assert link is not None and link.conversation_id not in (None, stale)
    assert rig.helpdesk.user_texts(link.conversation_id) == ["two"]  # type: ignore[arg-type]
    assert len(rig.helpdesk.users("fake:minjun")) == 1
    await rig.say(channel, "minjun", "three")
    await rig.settle()
    assert rig.helpdesk.user_texts(link.conversation_id) == ["two", "three"]  # type: ignore[arg-type]


async def test_a_resolved_conversation_is_reopened_by_the_users_next_message(
    rig: BridgeRig,
    channel: FakeChannel,
) -> None:
    conversation = await rig.say_and_settle(channel, "minjun", "one")
    await rig.helpdesk.resolve(conversation)
    await rig.settle()
    link = await rig.bridge.store.get_link("fake", "minjun")
    assert link is not None and link.resolved
    await rig.say(channel, "minjun", "back again")
    await rig.settle()
    assert rig.helpdesk.conversations("fake:minjun") == [conversation]
    assert rig.helpdesk.user_texts(conversation) == ["one", "back again"]
    assert not rig.helpdesk.is_resolved(conversation)
    reopened = await rig.bridge.store.get_link("fake", "minjun")
    assert reopened is not None and not reopened.resolved


async def test_with_the_new_policy_a_resolved_conversation_is_followed_by_a_new_one(
    rig: BridgeRig,
    channel: FakeChannel,
) -> None:
    await restart(rig, channel, resolved_policy=ResolvedPolicy.NEW)
    old = await rig.say_and_settle(channel, "minjun", "one")
    await rig.helpdesk.resolve(old)
    await rig.settle()
    await rig.say(channel, "minjun", "a new question")
    await rig.settle()
    latest, *rest = rig.helpdesk.conversations("fake:minjun")
    assert rest == [old] and rig.helpdesk.is_resolved(old)
    assert rig.helpdesk.user_texts(latest) == ["a new question"]
    assert len(rig.helpdesk.users("fake:minjun")) == 1


async def test_replies_reach_their_own_user_even_after_the_store_is_lost(
    rig: BridgeRig, channel: FakeChannel
) -> None:
    for user in ("jisoo", "minjun"):
        await rig.say(channel, user, f"hi, {user} here")
    await rig.settle()
    await rig.helpdesk.agent_reply(rig.conversation_of("fake:jisoo"), "for jisoo")
    await rig.helpdesk.agent_reply(rig.conversation_of("fake:minjun"), "for minjun")
    await rig.settle()
    assert received(channel, "jisoo") == ["for jisoo"]
    assert received(channel, "minjun") == ["for minjun"]

    await restart(rig, channel, store=MemoryStore())  # the mapping is gone; the help desk remembers
    await rig.helpdesk.agent_reply(rig.conversation_of("fake:minjun"), "still there?")
    await rig.settle()
    assert received(channel, "minjun") == ["for minjun", "still there?"]
    await rig.say(channel, "minjun", "yes!")
    await rig.settle()
    # The same help-desk user and conversation: nothing was made twice.
    assert len(rig.helpdesk.users("fake:minjun")) == 1
    assert rig.helpdesk.user_texts(rig.conversation_of("fake:minjun")) == [
        "hi, minjun here",
        "yes!",
    ]
    assert received(channel, "jisoo") == ["for jisoo"]
