"""Conversations whose posts hang hold only their own lanes: everyone else is delivered.

Round 1's dispatcher ran 32 deliveries at once, so 32 hung posts stalled every user until the
HTTP timeout. Now the cap is `Bridge(concurrency=...)`, 256 by default.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from byoc.store import SQLiteStore
from byoc.testing.clock import FakeClock
from byoc.testing.fake_channel import FakeChannel
from byoc.testing.rig import BridgeRig

POSTS = "/v2/conversations/{id}/messages"
HUNG = 40  # more than round 1's 32 slots


async def _until(done: Callable[[], bool], seconds: float = 20.0) -> None:
    async def wait() -> None:
        while not done():
            await asyncio.sleep(0.01)

    await asyncio.wait_for(wait(), seconds)


async def test_forty_hung_conversations_do_not_stall_the_next_user(tmp_path: Path) -> None:
    channel = FakeChannel()
    clock = FakeClock()
    async with BridgeRig(clock=clock, timeout=60.0) as rig:
        rig.attach(
            [channel], store=SQLiteStore(tmp_path / "byoc.sqlite3", clock=clock), clock=clock
        )
        users = [f"u{i}" for i in range(HUNG)] + ["last"]
        for user in users:
            await rig.say(channel, user, "hello")
        await rig.settle()

        # Every post into a conversation hangs, HUNG times: one per stuck user below.
        rig.freshchat.faults.hang(times=HUNG, then_process=True, method="POST", route=POSTS)
        for user in users[:-1]:
            await rig.say(channel, user, "stuck")
        await _until(lambda: rig.bridge.delivery.in_flight >= HUNG)
        await rig.say(channel, "last", "gets through")
        await _until(lambda: rig.texts_of("fake:last") == ["hello", "gets through"])
        assert all(rig.texts_of(f"fake:{user}") == ["hello"] for user in users[:-1])

        rig.freshchat.faults.release()
        await rig.settle()
        assert all(rig.texts_of(f"fake:{user}") == ["hello", "stuck"] for user in users[:-1])
        assert rig.texts_of("fake:last") == ["hello", "gets through"]
        assert await rig.bridge.dead_letters() == []
