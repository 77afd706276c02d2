"""Freshchat misbehaving (the emulator's fault injection) while the durable bridge delivers.

Time is a FakeClock shared by the bridge and the emulator: retries and Retry-After waits are
asserted without sleeping.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from byoc.retry import RetryPolicy
from byoc.store import SQLiteStore
from byoc.testing.clock import FakeClock
from byoc.testing.fake_channel import FakeChannel
from byoc.testing.rig import BRIDGE_URL, BridgeRig

POSTS = "/v2/conversations/{id}/messages"
WEBHOOK = f"{BRIDGE_URL}/channels/fake/webhook"


class World:
    def __init__(self, rig: BridgeRig, channel: FakeChannel, clock: FakeClock) -> None:
        self.rig, self.channel, self.clock = rig, channel, clock
        self.freshchat = rig.freshchat

    async def say(self, user: str, text: str, copies: int = 1) -> None:
        body, headers = self.channel.user_message(user, text, message_id=text)
        for _ in range(copies):
            response = await self.rig.http.post(WEBHOOK, content=body, headers=headers)
            assert response.status_code == 200, response.text

    def texts(self, user: str) -> list[str]:
        found = self.freshchat.users_by_reference(f"fake:{user}")
        if not found:
            return []
        return [
            part["text"]["content"]
            # Oldest conversation first (a stale one is followed by its replacement).
            for conversation in reversed(self.freshchat.conversations_of(str(found[0]["id"])))
            for message in self.freshchat.conversation_messages(
                str(conversation["conversation_id"])
            )
            if message["actor_type"] == "user"
            for part in message["message_parts"]
            if part.get("text")
        ]

    async def run_for(self, seconds: float, step: float = 1.0) -> None:
        """Let `seconds` of fake time pass, settling after each step."""
        elapsed = 0.0
        await self.rig.settle()
        while elapsed < seconds:
            await self.clock.advance(step)
            elapsed += step
            await self.rig.settle()


async def make_world(tmp_path: Path, timeout: float = 30.0) -> tuple[BridgeRig, World]:
    clock = FakeClock()
    rig = BridgeRig(clock=clock, timeout=timeout)
    channel = FakeChannel()
    rig.attach(
        [channel],
        store=SQLiteStore(tmp_path / "byoc.sqlite3", clock=clock),
        clock=clock,
        retry_policy=RetryPolicy(base=1.0, max_delay=30.0, jitter=0.0, max_attempts=50),
    )
    return rig, World(rig, channel, clock)


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    rig, made = await make_world(tmp_path)
    async with rig:
        yield made


async def test_503_for_a_stretch_then_recovery_delivers_everything_once_in_order(
    world: World,
) -> None:
    await world.say("ana", "first")
    await world.rig.settle()
    world.freshchat.faults.server_error(times=5, status=503, method="POST", route=POSTS)
    for i in range(4):
        await world.say("ana", f"during-{i}")
    await world.rig.settle()
    assert world.texts("ana") == ["first"]  # acknowledged, waiting for Freshchat
    await world.run_for(40)
    assert world.texts("ana") == ["first"] + [f"during-{i}" for i in range(4)]
    assert await world.rig.bridge.dead_letters() == []


async def test_429_retry_after_is_waited_out_exactly(world: World) -> None:
    await world.say("ana", "first")
    await world.rig.settle()
    world.freshchat.faults.rate_limit(times=1, retry_after=30, method="POST", route=POSTS)
    await world.say("ana", "second")
    await world.rig.settle()
    await world.run_for(29)
    assert world.texts("ana") == ["first"]
    await world.run_for(8)
    assert world.texts("ana") == ["first", "second"]


async def test_timeout_where_freshchat_took_the_message_is_not_posted_twice(tmp_path: Path) -> None:
    rig, world = await make_world(tmp_path, timeout=0.3)
    async with rig:
        await world.say("ana", "first")
        await rig.settle()
        # Freshchat holds the next post past the client's timeout, then handles it anyway.
        world.freshchat.faults.hang(times=1, then_process=True, method="POST", route=POSTS)
        await world.say("ana", "second")
        await rig.settle()  # the bridge timed out; its retry waits on the fake clock
        world.freshchat.faults.release()
        await world.run_for(5)
        assert world.texts("ana") == ["first", "second"]


async def test_duplicated_channel_and_freshchat_webhooks_have_one_effect(world: World) -> None:
    world.freshchat.faults.duplicate_webhooks(3)
    await world.say("ana", "hello", copies=3)
    await world.rig.settle()
    (user,) = world.freshchat.users_by_reference("fake:ana")
    (conversation,) = world.freshchat.conversations_of(str(user["id"]))
    await world.freshchat.agent_reply(str(conversation["conversation_id"]), "hi there")
    await world.rig.settle()
    assert world.texts("ana") == ["hello"]
    assert [m.parts[0].text for m in world.channel.outbox["ana"]] == ["hi there"]  # type: ignore[union-attr]


_FAULTS = st.sampled_from(
    ["none", "503", "429", "stale", "latency", "dup-channel", "dup-freshchat"]
)


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    program=st.lists(
        st.tuples(st.sampled_from(["ana", "bo", "chae"]), _FAULTS, st.booleans()),
        min_size=3,
        max_size=14,
    )
)
async def test_random_faults_lose_nothing_double_nothing_and_keep_order(
    tmp_path_factory: pytest.TempPathFactory, program: list[tuple[str, str, bool]]
) -> None:
    rig, world = await make_world(tmp_path_factory.mktemp("run"))
    faults = world.freshchat.faults
    sent: dict[str, list[str]] = {}
    replies: dict[str, list[str]] = {}
    async with rig:
        for n, (user, fault, agent_answers) in enumerate(program):
            if fault == "503":
                faults.server_error(times=2, status=503, method="POST")
            elif fault == "429":
                faults.rate_limit(times=1, retry_after=7, method="POST")
            elif fault == "stale":
                faults.stale_conversation(times=1)
            elif fault == "dup-freshchat":
                faults.duplicate_webhooks(2)
            text = f"{user}-{n}"
            await world.say(user, text, copies=2 if fault == "dup-channel" else 1)
            sent.setdefault(user, []).append(text)
            if agent_answers and world.texts(user):
                (hd_user,) = world.freshchat.users_by_reference(f"fake:{user}")
                latest = world.freshchat.conversations_of(str(hd_user["id"]))[0]
                reply = f"re-{text}"
                await world.freshchat.agent_reply(str(latest["conversation_id"]), reply)
                replies.setdefault(user, []).append(reply)
            await world.clock.advance(0.5)
        faults.clear()
        faults.duplicate_webhooks(1)
        await world.run_for(60, step=10)
        for user, texts in sent.items():
            assert world.texts(user) == texts, (user, program)
        for user, expected in replies.items():
            got = [m.parts[0].text for m in world.channel.outbox[user]]  # type: ignore[union-attr]
            assert got == expected, (user, program)
        assert await rig.bridge.dead_letters() == []
