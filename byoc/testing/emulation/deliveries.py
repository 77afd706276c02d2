"""Background deliveries of a messenger emulator: the running tasks and the retry schedule.

The Telegram and Viber emulators post to the bot's webhook in background tasks and retry on
an undocumented schedule for a window of time. How a delivery is signed, posted and judged
is each messenger's own; keeping the tasks and deciding when to retry is the same for both.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Sequence
from typing import Any

__all__ = ["DeliveryTasks", "RetryWindow"]


class DeliveryTasks:
    """Deliveries running in the background: started, counted, waited for, cancelled."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[None]] = set()

    def start(self, delivery: Coroutine[Any, Any, None]) -> None:
        """Run `delivery` in the background (call it inside the event loop)."""
        task = asyncio.get_running_loop().create_task(delivery)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    @property
    def pending(self) -> int:
        """Deliveries not yet delivered or given up."""
        return len(self._tasks)

    async def drain(self) -> None:
        """Wait until every delivery (and those started meanwhile) has finished."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks))

    async def cancel(self) -> None:
        """Cancel every delivery still running and wait until they have stopped."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*list(self._tasks), return_exceptions=True)


class RetryWindow:
    """Seconds between attempts (the last interval repeats) for at most `window` seconds."""

    def __init__(self, schedule: Sequence[float], window: float) -> None:
        if not schedule:
            raise ValueError("retry_schedule needs at least one interval")
        self.schedule = tuple(schedule)
        self.window = window

    def delay(self, retry: int, *, started: float, now: float) -> float | None:
        """How long to wait before retry number `retry` (0 first), or None: give up.

        It gives up when the retry would come later than `window` after `started`.
        """
        delay = self.schedule[min(retry, len(self.schedule) - 1)]
        return None if now + delay - started > self.window else delay
