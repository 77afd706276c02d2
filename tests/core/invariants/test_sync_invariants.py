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

from byoc.models import Profile, Text
from byoc.store import MemoryStore, Store
from byoc.sync import ResolvedPolicy
from byoc.testing.fake_channel import FakeChannel
from byoc.testing.helpdesk import HELPDESK_NAMES, HelpdeskDouble
from byoc.testing.rig import BRIDGE_URL, BridgeRig

WEBHOOK = f"{BRIDGE_URL}/channels/fake/webhook"


class World:
    """A bridge between a fake channel and one help desk's emulator."""

    def __init__(self, rig: BridgeRig, store: Store) -> None:
        self.rig = rig
        self.desk: HelpdeskDouble = rig.helpdesk
        self.channel = FakeChannel()
        self.store = store
        rig.attach([self.channel], store=store)

    async def say(self, user: str, text: str, *, mid: str | None = None, copies: int = 1) -> None:
        """The channel user writes; the channel delivers the webhook `copies` times."""
        body, headers = self.channel.user_message(
            user, text, message_id=mid, profile=Profile(name=user.title())
        )
        for _ in range(copies):
            answer = await self.rig.http.post(WEBHOOK, content=body, headers=headers)
            assert answer.status_code == 200, answer.text

    def conversations(self, user: str) -> list[str]:
        return self.desk.conversations(f"fake:{user}")

    def conversation(self, user: str) -> str:
        [conversation] = self.conversations(user)
        return conversation

    def received(self, user: str) -> list[str]:
        return [
            part.text
            for message in self.channel.outbox.get(user, [])
            for part in message.parts
            if isinstance(part, Text)
        ]

    async def restart(self, *, store: Store | None = None, **options: object) -> None:
        """A new bridge on the same help desk: on `store` (default: the same), with `options`."""
        await self.rig.bridge.aclose()
        self.store = store or self.store
        self.rig.attach([self.channel], store=self.store, **options)


@pytest.fixture(params=HELPDESK_NAMES)
async def world(request: pytest.FixtureRequest) -> AsyncIterator[World]:
    async with BridgeRig(helpdesk=request.param) as rig:
        yield World(rig, MemoryStore())


async def test_concurrent_first_messages_make_one_user_and_one_conversation_in_order(
    world: World,
) -> None:
    # Two new users write at once, their messages interleaved.
    await asyncio.gather(
        *(
            world.say(user, f"{user} {i:02d}", mid=f"{user}-{i}")
            for i in range(20)
            for user in ("jisoo", "minjun")
        )
    )
    await world.rig.settle()
    for user in ("jisoo", "minjun"):
        assert len(world.desk.users(f"fake:{user}")) == 1
        conversation = world.conversation(user)
        assert world.desk.user_texts(conversation) == [f"{user} {i:02d}" for i in range(20)]


async def test_steady_state_costs_one_call_per_message_and_none_per_reply(world: World) -> None:
    await world.say("minjun", "hello")
    await world.rig.settle()
    conversation = world.conversation("minjun")
    world.desk.reset_calls()
    for text in ("one", "two", "three"):
        await world.say("minjun", text)
    await world.rig.settle()
    assert world.desk.total_calls() == 3
    world.desk.reset_calls()
    await world.desk.agent_reply(conversation, "Hello from support")
    await world.rig.settle()
    assert world.received("minjun") == ["Hello from support"]
    assert world.desk.total_calls() == 0


async def test_every_webhook_delivered_three_times_has_one_effect(world: World) -> None:
    await world.say("minjun", "one", mid="m-1", copies=3)
    await world.rig.settle()
    conversation = world.conversation("minjun")
    world.desk.duplicate_webhooks(3)
    await world.say("minjun", "two", mid="m-2", copies=3)
    await world.desk.agent_reply(conversation, "reply")
    await world.rig.settle()
    assert world.desk.user_texts(conversation) == ["one", "two"]
    assert world.received("minjun") == ["reply"]


async def test_echoes_and_private_notes_never_reach_the_user(world: World) -> None:
    await world.say("minjun", "my order is late")
    await world.rig.settle()
    conversation = world.conversation("minjun")
    await world.desk.private_note(conversation, "VIP customer, be quick")
    await world.desk.agent_reply(conversation, "On its way!")
    await world.say("minjun", "thanks")
    await world.rig.settle()
    # The help desk reported the user's own two messages and the note as well.
    assert world.received("minjun") == ["On its way!"]


async def test_a_stale_conversation_gives_way_without_losing_the_message(world: World) -> None:
    await world.say("minjun", "one")
    await world.rig.settle()
    stale = world.conversation("minjun")
    await world.desk.make_stale(stale)
    await world.say("minjun", "two")
    await world.rig.settle()
    link = await world.store.get_link("fake", "minjun")
    assert link is not None and link.conversation_id not in (None, stale)
    assert world.desk.user_texts(link.conversation_id) == ["two"]  # type: ignore[arg-type]
    assert len(world.desk.users("fake:minjun")) == 1
    await world.say("minjun", "three")
    await world.rig.settle()
    assert world.desk.user_texts(link.conversation_id) == ["two", "three"]  # type: ignore[arg-type]


async def test_a_resolved_conversation_is_reopened_by_the_users_next_message(
    world: World,
) -> None:
    await world.say("minjun", "one")
    await world.rig.settle()
    conversation = world.conversation("minjun")
    await world.desk.resolve(conversation)
    await world.rig.settle()
    link = await world.store.get_link("fake", "minjun")
    assert link is not None and link.resolved
    await world.say("minjun", "back again")
    await world.rig.settle()
    assert world.conversations("minjun") == [conversation]
    assert world.desk.user_texts(conversation) == ["one", "back again"]
    assert not world.desk.is_resolved(conversation)
    reopened = await world.store.get_link("fake", "minjun")
    assert reopened is not None and not reopened.resolved


async def test_with_the_new_policy_a_resolved_conversation_is_followed_by_a_new_one(
    world: World,
) -> None:
    await world.restart(resolved_policy=ResolvedPolicy.NEW)
    await world.say("minjun", "one")
    await world.rig.settle()
    old = world.conversation("minjun")
    await world.desk.resolve(old)
    await world.rig.settle()
    await world.say("minjun", "a new question")
    await world.rig.settle()
    latest, *rest = world.conversations("minjun")
    assert rest == [old] and world.desk.is_resolved(old)
    assert world.desk.user_texts(latest) == ["a new question"]
    assert len(world.desk.users("fake:minjun")) == 1


async def test_replies_reach_their_own_user_even_after_the_store_is_lost(world: World) -> None:
    for user in ("jisoo", "minjun"):
        await world.say(user, f"hi, {user} here")
    await world.rig.settle()
    await world.desk.agent_reply(world.conversation("jisoo"), "for jisoo")
    await world.desk.agent_reply(world.conversation("minjun"), "for minjun")
    await world.rig.settle()
    assert world.received("jisoo") == ["for jisoo"]
    assert world.received("minjun") == ["for minjun"]

    await world.restart(store=MemoryStore())  # the mapping is gone; the help desk remembers
    await world.desk.agent_reply(world.conversation("minjun"), "still there?")
    await world.rig.settle()
    assert world.received("minjun") == ["for minjun", "still there?"]
    await world.say("minjun", "yes!")
    await world.rig.settle()
    # The same help-desk user and conversation: nothing was made twice.
    assert len(world.desk.users("fake:minjun")) == 1
    assert world.desk.user_texts(world.conversation("minjun")) == ["hi, minjun here", "yes!"]
    assert world.received("jisoo") == ["for jisoo"]
