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


def make_rig(tmp_path: Path, channel: FakeChannel, timeout: float = 30.0) -> BridgeRig:
    clock = FakeClock()
    rig = BridgeRig(clock=clock, timeout=timeout)
    rig.attach(
        [channel],
        store=SQLiteStore(tmp_path / "byoc.sqlite3", clock=clock),
        clock=clock,
        retry_policy=RetryPolicy(base=1.0, max_delay=30.0, jitter=0.0, max_attempts=50),
    )
    return rig


@pytest.fixture
def channel() -> FakeChannel:
    return FakeChannel()


@pytest.fixture
async def rig(tmp_path: Path, channel: FakeChannel) -> AsyncIterator[BridgeRig]:
    async with make_rig(tmp_path, channel) as made:
        yield made


async def test_503_for_a_stretch_then_recovery_delivers_everything_once_in_order(
    rig: BridgeRig,
    channel: FakeChannel,
) -> None:
    await rig.say(channel, "ana", "first")
    await rig.settle()
    rig.freshchat.faults.server_error(times=5, status=503, method="POST", route=POSTS)
    for i in range(4):
        await rig.say(channel, "ana", f"during-{i}")
    await rig.settle()
    assert rig.texts_of("fake:ana") == ["first"]  # acknowledged, waiting for Freshchat
    await rig.run_for(40)
    assert rig.texts_of("fake:ana") == ["first"] + [f"during-{i}" for i in range(4)]
    assert await rig.bridge.dead_letters() == []


async def test_429_retry_after_is_waited_out_exactly(rig: BridgeRig, channel: FakeChannel) -> None:
    await rig.say(channel, "ana", "first")
    await rig.settle()
    rig.freshchat.faults.rate_limit(times=1, retry_after=30, method="POST", route=POSTS)
    await rig.say(channel, "ana", "second")
    await rig.settle()
    await rig.run_for(29)
    assert rig.texts_of("fake:ana") == ["first"]
    await rig.run_for(8)
    assert rig.texts_of("fake:ana") == ["first", "second"]


async def test_timeout_where_freshchat_took_the_message_is_not_posted_twice(tmp_path: Path) -> None:
    channel = FakeChannel()
    async with make_rig(tmp_path, channel, timeout=0.3) as rig:
        await rig.say(channel, "ana", "first")
        await rig.settle()
        # Freshchat holds the next post past the client's timeout, then handles it anyway.
        rig.freshchat.faults.hang(times=1, then_process=True, method="POST", route=POSTS)
        await rig.say(channel, "ana", "second")
        await rig.settle()  # the bridge timed out; its retry waits on the fake clock
        rig.freshchat.faults.release()
        await rig.run_for(5)
        assert rig.texts_of("fake:ana") == ["first", "second"]


async def test_duplicated_channel_and_freshchat_webhooks_have_one_effect(
    rig: BridgeRig, channel: FakeChannel
) -> None:
    rig.freshchat.faults.duplicate_webhooks(3)
    await rig.say(channel, "ana", "hello", copies=3)
    await rig.settle()
    (user,) = rig.freshchat.users_by_reference("fake:ana")
    (conversation,) = rig.freshchat.conversations_of(str(user["id"]))
    await rig.freshchat.agent_reply(str(conversation["conversation_id"]), "hi there")
    await rig.settle()
    assert rig.texts_of("fake:ana") == ["hello"]
    assert [m.parts[0].text for m in channel.outbox["ana"]] == ["hi there"]  # type: ignore[union-attr]


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
    channel = FakeChannel()
    rig = make_rig(tmp_path_factory.mktemp("run"), channel)
    faults = rig.freshchat.faults
    clock = rig.clock
    assert isinstance(clock, FakeClock)
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
            await rig.say(channel, user, text, copies=2 if fault == "dup-channel" else 1)
            sent.setdefault(user, []).append(text)
            if agent_answers and rig.texts_of(f"fake:{user}"):
                (hd_user,) = rig.freshchat.users_by_reference(f"fake:{user}")
                latest = rig.freshchat.conversations_of(str(hd_user["id"]))[0]
                reply = f"re-{text}"
                await rig.freshchat.agent_reply(str(latest["conversation_id"]), reply)
                replies.setdefault(user, []).append(reply)
            await clock.advance(0.5)
        faults.clear()
        faults.duplicate_webhooks(1)
        await rig.run_for(60, step=10)
        for user, texts in sent.items():
            assert rig.texts_of(f"fake:{user}") == texts, (user, program)
        for user, expected in replies.items():
            got = [m.parts[0].text for m in channel.outbox[user]]  # type: ignore[union-attr]
            assert got == expected, (user, program)
        assert await rig.bridge.dead_letters() == []
