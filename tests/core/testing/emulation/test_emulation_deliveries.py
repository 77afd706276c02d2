"""The shared delivery tasks and retry window of the messenger emulators."""

from __future__ import annotations

import asyncio

import pytest

from byoc.testing.emulation.deliveries import DeliveryTasks, RetryWindow


def test_the_last_interval_repeats_until_the_window_is_over() -> None:
    retries = RetryWindow((1.0, 5.0), window=12.0)
    assert [retries.delay(n, started=0.0, now=0.0) for n in range(3)] == [1.0, 5.0, 5.0]
    assert retries.delay(2, started=0.0, now=7.0) == 5.0  # lands exactly at the window's end
    assert retries.delay(2, started=0.0, now=7.5) is None


def test_an_empty_schedule_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one interval"):
        RetryWindow((), window=60.0)


async def test_drain_waits_for_deliveries_started_by_deliveries() -> None:
    tasks = DeliveryTasks()
    done: list[str] = []
    gate = asyncio.Event()

    async def second() -> None:
        done.append("second")

    async def first() -> None:
        await gate.wait()
        done.append("first")
        tasks.start(second())

    tasks.start(first())
    assert tasks.pending == 1
    gate.set()
    await tasks.drain()
    assert done == ["first", "second"] and tasks.pending == 0


async def test_cancel_stops_what_still_runs() -> None:
    tasks = DeliveryTasks()
    never = asyncio.Event()

    async def hang() -> None:
        await never.wait()

    tasks.start(hang())
    await asyncio.sleep(0)
    await tasks.cancel()
    assert tasks.pending == 0
