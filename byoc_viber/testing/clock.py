"""A clock for tests: sleeping moves time forward at once instead of waiting."""

from __future__ import annotations

import asyncio

__all__ = ["VirtualClock"]


class VirtualClock:
    """Implements `byoc.clock.Clock`; `sleep(s)` returns at once, `s` seconds later in its time.

    Concurrent sleepers do not add up: each moves the time to at least its own wake-up time, so
    an hour of retries takes an hour of virtual time and no real time.

    ```python
    clock = VirtualClock()
    await clock.sleep(3600)
    clock.advance(1)  # or move time by hand
    ```
    """

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self._now = start

    def time(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        """Move time forward by `seconds`."""
        self._now += max(seconds, 0.0)

    async def sleep(self, seconds: float) -> None:
        wake = self._now + max(seconds, 0.0)
        # Yield, so a sleeping task lets the others run as a real sleep would.
        await asyncio.sleep(0)
        self._now = max(self._now, wake)
