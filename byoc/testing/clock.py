"""`FakeClock`: time that moves only when a test says so, or as fast as code sleeps."""

from __future__ import annotations

import asyncio
import heapq
import itertools

__all__ = ["FakeClock"]


class FakeClock:
    """A `Clock` for tests.

    By default `sleep` returns when `advance` moves time past its deadline, so a test decides
    when each wait ends. With `autoadvance=True`, `sleep(s)` returns at once, `s` seconds later
    in this clock's time: an hour of an emulator's retries takes no real time. Concurrent
    sleepers then do not add up: each moves the time to at least its own wake-up time.

    `sleeps` records every requested delay, so a test can assert that a Retry-After was honoured.
    `wait_for_sleepers()` lets a test wait until work it started is blocked on the clock, so it
    knows the next `advance` wakes that work.

    ```python
    clock = FakeClock(autoadvance=True)
    await clock.sleep(3600)     # returns at once; clock.time() is an hour later
    await clock.advance(5)      # time moved by hand
    ```
    """

    def __init__(self, start: float = 1_700_000_000.0, *, autoadvance: bool = False) -> None:
        self.now = start
        self.autoadvance = autoadvance
        self.sleeps: list[float] = []
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = itertools.count()
        self._slept = asyncio.Event()

    def time(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        if self.autoadvance:
            wake = self.now + seconds
            # Yield, so a sleeping task lets the others run as a real sleep would.
            await asyncio.sleep(0)
            self.now = max(self.now, wake)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self.now + seconds, next(self._order), future))
        self._slept.set()
        await future

    @property
    def sleeping(self) -> int:
        """How many tasks wait for `advance` (cancelled sleeps do not count)."""
        return sum(1 for _, _, future in self._sleepers if not future.done())

    async def wait_for_sleepers(self, count: int = 1) -> None:
        """Wait until at least `count` tasks sleep on this clock."""
        while self.sleeping < count:
            self._slept.clear()
            await self._slept.wait()

    async def advance(self, seconds: float) -> None:
        """Move time forward, waking every sleeper whose deadline passed, in deadline order."""
        self.now += seconds
        while self._sleepers and self._sleepers[0][0] <= self.now:
            _, _, future = heapq.heappop(self._sleepers)
            if not future.done():
                future.set_result(None)
        # Let the woken tasks run before the test goes on.
        for _ in range(5):
            await asyncio.sleep(0)
