"""`FakeClock`: sleepers wake when a test advances time, or at once with `autoadvance`."""

import asyncio

from byoc.testing.clock import FakeClock


async def test_sleepers_wake_in_deadline_order_when_time_is_advanced() -> None:
    clock = FakeClock()
    woke: list[str] = []

    async def sleeper(name: str, seconds: float) -> None:
        await clock.sleep(seconds)
        woke.append(name)

    tasks = [asyncio.create_task(sleeper(n, s)) for n, s in (("late", 30), ("early", 10))]
    await clock.advance(0)
    assert woke == []
    await clock.advance(29)
    assert woke == ["early"]
    await clock.advance(1)
    assert woke == ["early", "late"]
    await asyncio.gather(*tasks)
    assert clock.sleeps == [30, 10]


async def test_autoadvance_moves_time_by_each_sleep_without_adding_up_concurrent_ones() -> None:
    clock = FakeClock(start=100.0, autoadvance=True)
    await clock.sleep(3600)
    assert clock.time() == 3700.0
    await asyncio.gather(clock.sleep(5), clock.sleep(30))
    assert clock.time() == 3730.0
    await clock.advance(5)
    assert clock.time() == 3735.0 and clock.sleeps == [3600, 5, 30]
