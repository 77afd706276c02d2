"""The `Dispatcher` on its own: hand-off without queries, no polling while busy, leases
renewed, any store error survived and reported."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Collection
from typing import Any

import pytest

from byoc.delivery import Dispatcher
from byoc.errors import RetryableError
from byoc.retry import RetryPolicy
from byoc.store import MemoryStore
from byoc.store.queue import Job
from byoc.testing.clock import FakeClock

LEASE = 15.0


class CountingStore(MemoryStore):
    """A memory store that counts queue calls and fails the ones it is told to."""

    def __init__(self, clock: FakeClock) -> None:
        super().__init__(clock=clock)
        self.calls: Counter[str] = Counter()
        self.failing: dict[str, int] = {}

    def _count(self, name: str) -> None:
        self.calls[name] += 1
        if self.failing.get(name, 0) > 0:
            self.failing[name] -= 1
            raise OSError(f"{name}: connection lost")

    async def take_due(self, **kwargs: Any) -> list[Job]:
        self._count("take_due")
        return await super().take_due(**kwargs)

    async def renew(self, **kwargs: Any) -> set[int]:
        self._count("renew")
        return await super().renew(**kwargs)

    async def finish(self, job_id: int, **kwargs: Any) -> Job | None:
        self._count("finish")
        return await super().finish(job_id, **kwargs)

    async def next_due(self) -> float | None:
        self._count("next_due")
        return await super().next_due()


class Handler:
    """Records what it delivers; `gate` holds deliveries until set."""

    def __init__(self) -> None:
        self.delivered: list[str] = []
        self.started: list[str] = []
        self.gate = asyncio.Event()
        self.gate.set()
        self.fail: list[Exception] = []
        self.claims: Collection[str] = ()
        self.arrived = asyncio.Event()
        self._changed = asyncio.Condition()

    async def started_count(self, count: int) -> None:
        """Wait until `count` deliveries have started."""
        async with self._changed:
            await self._changed.wait_for(lambda: len(self.started) >= count)

    async def __call__(self, job: Job) -> Collection[str]:
        self.started.append(job.payload)
        self.arrived.set()
        async with self._changed:
            self._changed.notify_all()
        await self.gate.wait()
        if self.fail:
            raise self.fail.pop(0)
        self.delivered.append(job.payload)
        return self.claims


class World:
    def __init__(self, concurrency: int = 8) -> None:
        self.clock = FakeClock()
        self.store = CountingStore(self.clock)
        self.handler = Handler()
        self.dispatcher = Dispatcher(
            store=self.store,
            handler=self.handler,
            clock=self.clock,
            concurrency=concurrency,
            lease=LEASE,
            policy=RetryPolicy(base=1.0, jitter=0.0, max_attempts=5),
        )

    async def send(self, lane: str, text: str) -> Job | None:
        return await self.dispatcher.enqueue(
            lane=lane, kind="inbound", payload=text, dedupe_key=text, ttl=60
        )


@pytest.fixture
async def world() -> AsyncIterator[World]:
    made = World()
    await made.dispatcher.start()
    await made.dispatcher.wait_idle()
    yield made
    made.handler.gate.set()
    await made.dispatcher.stop(grace=1)


async def test_a_job_handed_over_in_memory_costs_no_query(world: World) -> None:
    takes = world.store.calls["take_due"]
    for n in range(5):
        job = await world.send(f"lane-{n}", f"m{n}")
        assert job is not None and job.owner == world.dispatcher.owner
    for n in range(5):  # a user writing several messages: finish hands over the next
        await world.send("busy", f"b{n}")
    await world.dispatcher.wait_idle()
    assert sorted(world.handler.delivered) == sorted(
        [f"m{n}" for n in range(5)] + [f"b{n}" for n in range(5)]
    )
    assert [t for t in world.handler.delivered if t.startswith("b")] == [f"b{n}" for n in range(5)]
    assert world.store.calls["take_due"] == takes


async def test_with_every_slot_busy_it_waits_instead_of_polling(world: World) -> None:
    world.handler.gate.clear()
    takes = world.store.calls["take_due"]
    for n in range(20):  # 8 run, 12 wait in the store
        await world.send(f"lane-{n}", f"m{n}")
    await world.handler.started_count(8)
    assert world.dispatcher.in_flight == 8
    await world.clock.advance(30)  # thirty poll intervals: busy, it does not poll
    assert world.store.calls["take_due"] == takes  # no query per waiting message either
    world.handler.gate.set()
    await world.dispatcher.wait_idle()
    assert len(world.handler.delivered) == 20
    # One query per freed slot at most: the queue is asked only when it may hold due jobs.
    assert world.store.calls["take_due"] - takes <= 20


async def test_a_delivery_finishing_with_a_slot_free_does_not_wake_the_loop() -> None:
    clock = FakeClock()
    gates = {f"m{n}": asyncio.Event() for n in range(6)}

    async def deliver(job: Job) -> None:
        await gates[job.payload].wait()

    dispatcher = Dispatcher(
        store=MemoryStore(clock=clock), handler=deliver, clock=clock, concurrency=8
    )
    await dispatcher.start()
    await dispatcher.wait_idle()
    tasks = []
    for payload in gates:  # 6 of 8 slots: a slot is free all along
        job = await dispatcher.enqueue(
            lane=payload, kind="inbound", payload=payload, dedupe_key=payload, ttl=60
        )
        assert job is not None
        tasks.append(dispatcher._held[job.id])  # noqa: SLF001 - its task is awaited below
    woken = []
    for payload, task in zip(gates, tasks, strict=True):  # they finish one after another
        dispatcher._wakeup.clear()  # noqa: SLF001 - whether a finish sets it is what is checked
        gates[payload].set()
        await task  # its done-callbacks ran in order: the dispatcher's first
        woken.append(dispatcher._wakeup.is_set())  # noqa: SLF001
    await dispatcher.wait_idle()
    await dispatcher.stop(grace=1)

    # A wake-up costs the loop a turn and two timers; only the last one to finish wakes it,
    # so that it can call itself idle.
    assert woken == [False] * 5 + [True]


async def test_leases_are_renewed_while_a_job_runs(world: World) -> None:
    world.handler.gate.clear()
    job = await world.send("lane", "slow")
    await world.handler.arrived.wait()
    for _ in range(9):  # three leases' worth of time, a third of a lease at a time
        await world.clock.advance(LEASE / 3)
        assert (
            await world.store.take_due(owner="other", now=world.clock.time(), limit=5, lease=LEASE)
            == []
        )
    assert world.store.calls["renew"] >= 8
    world.handler.gate.set()
    await world.dispatcher.wait_idle()
    assert world.handler.delivered == ["slow"] and job is not None


async def test_a_lease_taken_over_elsewhere_stops_the_local_delivery(world: World) -> None:
    world.handler.gate.clear()
    await world.send("lane", "contested")
    await world.handler.arrived.wait()
    # This process cannot reach the store for a while; another one can, and takes over.
    world.store.failing.update(renew=10**6, take_due=10**6)
    await world.clock.advance(LEASE)
    (taken,) = await MemoryStore.take_due(
        world.store, owner="other", now=world.clock.time(), limit=5, lease=LEASE
    )
    assert taken.recovering
    world.store.failing.update(renew=0, take_due=0)
    await world.clock.advance(LEASE / 3)  # the next renewal learns the job is gone
    await world.dispatcher.wait_idle()
    assert world.dispatcher.in_flight == 0 and world.handler.delivered == []


async def test_store_failures_are_survived_reported_and_recovered_from(world: World) -> None:
    world.store.failing["take_due"] = 3
    world.dispatcher.wake()
    await world.send("lane", "first")  # handed over: needs no take
    for _ in range(5):
        await world.clock.advance(1)
    assert world.dispatcher.problem is not None and "take" in world.dispatcher.problem
    assert world.dispatcher.problem_since is not None
    for _ in range(10):
        await world.clock.advance(5)
    await world.dispatcher.wait_idle()
    assert world.dispatcher.problem is None and world.dispatcher.problem_since is None
    assert world.handler.delivered == ["first"]


async def test_a_failed_finish_is_retried_without_delivering_twice(world: World) -> None:
    world.store.failing["finish"] = 2
    world.handler.claims = ["posted:42"]
    await world.send("lane", "once")
    await world.send("lane", "then")
    for _ in range(10):
        await world.clock.advance(1)
    await world.dispatcher.wait_idle()
    assert world.handler.delivered == ["once", "then"]
    assert not await world.store.claim("posted:42", ttl=1)  # recorded with the finish
    assert world.dispatcher.problem is None


async def test_a_retry_holds_the_lane_and_fires_on_time(world: World) -> None:
    world.handler.fail.append(RetryableError("503"))
    await world.send("lane", "a1")
    await world.send("lane", "a2")
    await world.dispatcher.wait_idle()
    assert world.handler.delivered == []
    await world.clock.advance(1)
    await world.dispatcher.wait_idle()
    assert world.handler.delivered == ["a1", "a2"]


async def test_wakes_from_other_processes_are_heard(world: World) -> None:
    # Another process queued a job: it is in the store; the watch callback says so.
    await world.store.enqueue(lane="x", kind="inbound", payload="from-b", dedupe_key="b", ttl=60)
    world.dispatcher.wake()
    await world.dispatcher.wait_idle()
    assert world.handler.delivered == ["from-b"]


async def test_stop_hands_back_what_did_not_finish() -> None:
    made = World()
    await made.dispatcher.start()
    made.handler.gate.clear()
    await made.send("lane", "stuck")
    await made.handler.arrived.wait()
    await made.dispatcher.stop(grace=0.01)
    (job,) = await made.store.take_due(owner="next", now=made.clock.time(), limit=5, lease=LEASE)
    assert job.payload == "stuck" and job.recovering


async def test_a_bridge_does_not_start_on_a_closed_store() -> None:
    class Closed(MemoryStore):
        async def ping(self) -> None:
            raise RuntimeError("closed")

    dispatcher = Dispatcher(store=Closed(), handler=Handler())
    with pytest.raises(RuntimeError, match="closed"):
        await dispatcher.start()
    assert not dispatcher.started


async def test_a_job_accepted_while_stopping_is_handed_back_not_left_leased() -> None:
    made = World()
    await made.dispatcher.start()
    slow_enqueue = asyncio.Event()
    enqueue = made.store.enqueue

    async def held_up(**kwargs: Any) -> Job | None:
        await slow_enqueue.wait()
        return await enqueue(**kwargs)

    made.store.enqueue = held_up  # type: ignore[method-assign]
    sending = asyncio.create_task(made.send("lane", "late"))
    await asyncio.sleep(0)  # the webhook reserved a slot and waits for the store
    stopping = asyncio.create_task(made.dispatcher.stop(grace=1))
    # stop() waits for the webhook in progress (that it does not finish is what is checked,
    # so only a time limit can tell).
    done, _ = await asyncio.wait({stopping}, timeout=0.2)
    assert not done
    slow_enqueue.set()
    job = await sending
    await stopping
    assert job is not None and job.owner == made.dispatcher.owner  # leased, never started
    assert made.handler.started == []
    (back,) = await made.store.take_due(owner="next", now=made.clock.time(), limit=5, lease=LEASE)
    assert back.payload == "late" and back.recovering
