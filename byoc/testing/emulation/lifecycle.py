"""What a help-desk emulator does around its calls: count them, drain webhooks, close.

`ServedDesk` is the base of the Chatwoot and Freshchat emulators: each sets `faults`,
`webhooks` and `calls` in its constructor (its own `Faults` and `WebhookSender`, whose
wire formats differ) and inherits the counting, draining and closing.
"""

from __future__ import annotations

from collections import Counter
from types import TracebackType
from typing import Protocol

from typing_extensions import Self

from .faults import FaultSet

__all__ = ["ServedDesk", "WebhookDeliveries"]


class WebhookDeliveries(Protocol):
    """The webhook sender as the lifecycle needs it."""

    async def drain(self) -> None: ...

    async def aclose(self) -> None: ...


class ServedDesk:
    """Call counts, webhook draining and closing, shared by the help-desk emulators."""

    faults: FaultSet
    webhooks: WebhookDeliveries
    calls: Counter[tuple[str, str]]

    async def drain(self) -> None:
        """Wait until every pending webhook delivery, retries included, has finished."""
        await self.webhooks.drain()

    async def aclose(self) -> None:
        """End hangs, cancel undelivered webhooks and close the client the emulator owns."""
        self.faults.release()
        await self.webhooks.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def total_calls(self) -> int:
        """API calls received since the start or the last `reset_calls()`."""
        return sum(self.calls.values())

    def reset_calls(self) -> None:
        self.calls.clear()
