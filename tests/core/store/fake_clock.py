"""A clock that moves only when a test says so."""

from __future__ import annotations


class FakeClock:
    """`Clock` whose time moves only through `advance` (and through `sleep`, instantly)."""

    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def time(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds

    def advance(self, seconds: float) -> None:
        self.now += seconds
