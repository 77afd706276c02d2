"""`FakeClock`: sleepers wake when a test advances time, or at once with `autoadvance`."""

from __future__ import annotations

import asyncio

from byoc.testing.clock import FakeClock


async def test_sleepers_wake_in_deadline_order_when_time_passes() -> None:
    clock = FakeClock(start=100.0)
    woke: list[float] = []

    async def nap(seconds: float) -> None:
        await clock.sleep(seconds)
        woke.append(clock.time())

    tasks = [asyncio.create_task(nap(s)) for s in (3.0, 1.0, 2.0)]
    await clock.wait_for_sleepers(3)
    await clock.advance(1.5)
    assert woke == [101.5]
    await clock.advance(5)
    await asyncio.gather(*tasks)
    assert woke == [101.5, 106.5, 106.5]
    assert clock.sleeps == [3.0, 1.0, 2.0]


async def test_wait_for_sleepers_returns_once_work_is_blocked_on_the_clock() -> None:
    clock = FakeClock()
    started = asyncio.Event()

    async def slow_call() -> str:
        started.set()
        await asyncio.sleep(0)  # some work before the slow part
        await clock.sleep(10)
        return "done"

    task = asyncio.create_task(slow_call())
    assert clock.sleeping == 0
    await clock.wait_for_sleepers()
    assert started.is_set() and clock.sleeping == 1
    await clock.advance(10)
    assert await task == "done" and clock.sleeping == 0


async def test_a_cancelled_sleep_is_not_counted() -> None:
    clock = FakeClock()
    task = asyncio.create_task(clock.sleep(5))
    await clock.wait_for_sleepers()
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert clock.sleeping == 0


async def test_autoadvance_moves_time_by_each_sleep_without_adding_up_concurrent_ones() -> None:
    clock = FakeClock(start=100.0, autoadvance=True)
    await clock.sleep(3600)
    assert clock.time() == 3700.0
    await asyncio.gather(clock.sleep(5), clock.sleep(30))
    assert clock.time() == 3730.0
    await clock.advance(5)
    assert clock.time() == 3735.0 and clock.sleeps == [3600, 5, 30]
