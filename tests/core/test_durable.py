"""Durable delivery: acknowledged means delivered once, in order, across retries and restarts."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import attrs
import httpx
import pytest

from byoc.bridge import Bridge
from byoc.errors import PermanentError, RateLimited, RetryableError
from byoc.models import Text
from byoc.retry import RetryPolicy
from byoc.store import MemoryStore, SQLiteStore
from byoc.testing.clock import FakeClock
from byoc.testing.fake_channel import FakeChannel
from byoc.testing.rig import BridgeRig

from .recording_messaging import RecordingMessaging

DEAD_LEASE = 20.0


@attrs.define
class Harness:
    """A bridge on the rig, whose help desk is a `RecordingMessaging`, on one `FakeClock`."""

    rig: BridgeRig
    channel: FakeChannel
    messaging: RecordingMessaging
    store: MemoryStore | SQLiteStore
    clock: FakeClock

    @property
    def bridge(self) -> Bridge:
        return self.rig.bridge

    async def say(self, user: str, text: str, mid: str | None = None) -> httpx.Response:
        return await self.rig.say(
            self.channel, user, text, message_id=mid or f"{user}:{text}", expect=None
        )

    def texts(self, user_index: int = 0) -> list[str]:
        conversations = list(self.messaging.messages.values())
        return [p[0].text for p in conversations[user_index]]  # type: ignore[union-attr]


@pytest.fixture(params=["memory", "sqlite"])
async def h(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Harness]:
    clock = FakeClock()
    store: MemoryStore | SQLiteStore = (
        MemoryStore(clock=clock)
        if request.param == "memory"
        else SQLiteStore(tmp_path / "byoc.sqlite3", clock=clock)
    )
    async with BridgeRig(clock=clock) as rig:
        harness = Harness(rig, FakeChannel(), RecordingMessaging(), store, clock)
        rig.attach(
            [harness.channel],
            messaging=harness.messaging,
            store=store,
            clock=clock,
            retry_policy=RetryPolicy(base=1.0, factor=2.0, jitter=0.0, max_attempts=4),
        )
        yield harness


async def test_outage_is_acknowledged_then_delivered_once_with_backoff(h: Harness) -> None:
    assert (await h.say("alice", "one")).status_code == 200
    await h.bridge.wait_idle()
    h.messaging.fail_posts.extend([RetryableError("503 from help desk")] * 2)
    assert (await h.say("alice", "two")).status_code == 200
    await h.bridge.wait_idle()
    assert h.texts() == ["one"]
    await h.clock.advance(1.0)  # first retry after 1 s: fails again
    await h.bridge.wait_idle()
    assert h.texts() == ["one"]
    await h.clock.advance(1.9)  # second retry due 2 s after that: not yet
    await h.bridge.wait_idle()
    assert h.texts() == ["one"]
    await h.clock.advance(0.2)
    await h.bridge.wait_idle()
    assert h.texts() == ["one", "two"]
    assert await h.store.depth() == 0


async def test_retry_after_is_honoured(h: Harness) -> None:
    await h.say("alice", "one")
    await h.bridge.wait_idle()
    h.messaging.fail_posts.append(RateLimited("429", retry_after=30))
    await h.say("alice", "two")
    await h.bridge.wait_idle()
    due = await h.store.next_due()
    assert due is not None and 30 <= due - h.clock.time() <= 36
    await h.clock.advance(29)
    await h.bridge.wait_idle()
    assert h.texts() == ["one"]
    await h.clock.advance(7)
    await h.bridge.wait_idle()
    assert h.texts() == ["one", "two"]


async def test_a_user_waiting_for_a_retry_blocks_only_their_own_lane(h: Harness) -> None:
    await h.say("alice", "a1")
    await h.say("bob", "b1")
    await h.bridge.wait_idle()
    h.messaging.fail_posts.append(RetryableError("blip"))
    await h.say("alice", "a2")  # fails, waits 1 s
    await h.say("alice", "a3")  # must not overtake a2
    await h.say("bob", "b2")  # bob is not held up
    await h.bridge.wait_idle()
    assert h.texts(1) == ["b1", "b2"]
    assert h.texts(0) == ["a1"]
    await h.clock.advance(1)
    await h.bridge.wait_idle()
    assert h.texts(0) == ["a1", "a2", "a3"]


async def test_duplicate_webhooks_make_one_delivery(h: Harness) -> None:
    responses = await asyncio.gather(*(h.say("alice", "hi", mid="m-1") for _ in range(3)))
    assert [r.status_code for r in responses] == [200, 200, 200]
    await h.bridge.wait_idle()
    assert h.texts() == ["hi"]


async def test_permanent_refusal_is_a_dead_letter_that_replays_once(h: Harness) -> None:
    await h.say("alice", "one")
    await h.bridge.wait_idle()
    h.messaging.fail_posts.append(PermanentError("400 INVALID_VALUE"))
    await h.say("alice", "two")
    await h.say("alice", "three")  # the lane moves on past the dead letter
    await h.bridge.wait_idle()
    assert h.texts() == ["one", "three"]
    (dead,) = await h.bridge.dead_letters()
    assert "refused after 1 attempt" in dead.reason
    assert dead.job.attempts[-1].error == "PermanentError: 400 INVALID_VALUE"
    assert await h.bridge.replay(dead.id)
    assert not await h.bridge.replay(dead.id)
    await h.bridge.wait_idle()
    assert h.texts() == ["one", "three", "two"]
    assert await h.bridge.dead_letters() == []


async def test_retry_budget_used_up_is_a_dead_letter_with_history(h: Harness) -> None:
    await h.say("alice", "one")
    await h.bridge.wait_idle()
    h.messaging.fail_posts.extend([RetryableError(f"outage {i}") for i in range(4)])
    await h.say("alice", "two")
    for step in (0, 1.1, 2.1, 4.1):
        await h.clock.advance(step)
        await h.bridge.wait_idle()
    (dead,) = await h.bridge.dead_letters()
    assert "retry budget used up after 4 attempt(s)" in dead.reason
    assert [a.error for a in dead.job.attempts] == [f"RetryableError: outage {i}" for i in range(4)]
    assert await h.bridge.drop(dead.id)
    assert await h.bridge.dead_letters() == []


async def test_store_that_cannot_take_the_event_answers_503(h: Harness) -> None:
    async def broken(**_: object) -> int | None:
        raise OSError("disk full")

    h.store.enqueue = broken  # type: ignore[method-assign]
    response = await h.say("alice", "one")
    assert response.status_code == 503 and "could not store" in response.json()["error"]


async def test_job_in_flight_at_shutdown_is_finished_within_grace(h: Harness) -> None:
    await h.say("alice", "one")
    await h.bridge.wait_idle()
    gate, posting = asyncio.Event(), asyncio.Event()
    original = h.messaging.post_message

    async def slow(*args: object) -> object:
        posting.set()
        await gate.wait()
        return await original(*args)  # type: ignore[arg-type]

    h.messaging.post_message = slow  # type: ignore[method-assign, assignment]
    await h.say("alice", "two")
    await posting.wait()  # in flight
    stopping = asyncio.create_task(h.bridge.delivery.stop(grace=5))
    await asyncio.sleep(0)  # stop() has begun: it takes no new work from here
    gate.set()
    await stopping
    assert h.texts() == ["one", "two"]
    assert await h.store.depth() == 0


async def test_job_cut_off_at_shutdown_is_handed_back_marked_recovering(h: Harness) -> None:
    await h.say("alice", "one")
    await h.bridge.wait_idle()

    posting = asyncio.Event()

    async def hang(*args: object) -> object:
        posting.set()
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    h.messaging.post_message = hang  # type: ignore[method-assign, assignment]
    await h.say("alice", "two")
    await posting.wait()  # in flight
    await h.bridge.delivery.stop(grace=0.01)
    assert await h.store.depth() == 1
    (job,) = await h.store.take_due(owner="next", now=h.clock.time(), limit=10, lease=5)
    assert job.recovering and h.texts() == ["one"]
    del job


async def test_recovered_job_already_in_the_help_desk_is_not_posted_again(h: Harness) -> None:
    await h.say("alice", "one")
    await h.bridge.wait_idle()
    posted_calls = h.messaging.calls.count("post_message")
    await h.bridge.delivery.stop()
    # A crash after the help desk took "two" but before the bridge recorded it.
    link = await h.store.get_link("fake", "alice")
    assert link is not None and link.conversation_id is not None
    h.messaging.messages[link.conversation_id].append((Text(text="two"),))
    await h.store.enqueue(
        lane="in:fake:alice",
        kind="inbound",
        payload=_encoded("alice", "two"),
        dedupe_key="k",
        ttl=60,
    )
    # In flight when its process died.
    await h.store.take_due(owner="dead", now=h.clock.time(), limit=1, lease=DEAD_LEASE)
    await h.bridge.start()
    await h.bridge.wait_idle()
    assert h.messaging.calls.count("find_posted") == 0  # not before the dead lease ran out
    await h.clock.advance(DEAD_LEASE)
    await h.bridge.wait_idle()
    assert h.texts() == ["one", "two"]
    assert h.messaging.calls.count("post_message") == posted_calls
    assert h.messaging.calls[-1] == "find_posted"


def _encoded(user: str, text: str) -> str:
    import json

    from byoc import codec
    from byoc.models import InboundMessage

    message = InboundMessage(
        channel="fake", user_id=user, message_id=f"{user}:{text}", parts=(Text(text=text),)
    )
    return json.dumps(codec.encode(message))


async def test_recovery_tells_a_lost_message_from_an_identical_earlier_one(h: Harness) -> None:
    await h.say("alice", "ok", mid="m1")
    await h.bridge.wait_idle()
    await h.bridge.delivery.stop()
    # The user says "ok" again; the bridge dies before the help desk gets it.
    await h.store.enqueue(
        lane="in:fake:alice",
        kind="inbound",
        payload=_encoded("alice", "ok"),
        dedupe_key="m2",
        ttl=60,
    )
    await h.store.take_due(owner="dead", now=h.clock.time(), limit=1, lease=DEAD_LEASE)
    await h.bridge.start()
    await h.clock.advance(DEAD_LEASE)
    await h.bridge.wait_idle()
    assert h.texts() == ["ok", "ok"]  # the first "ok" was accounted for: the second is posted
