"""How the emulator delivers updates: with the secret header, per chat in order, retried.

Telegram repeats an update whose webhook answered anything but 2xx "and gives up after a
reasonable number of attempts"; the intervals are not documented, so the schedule below is a
guess that each emulator may replace. A 2xx answer may name a Bot API method to run
(`{"method": "answerCallbackQuery", ...}`), as Telegram allows: `on_answer` runs it.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import attrs
import httpx

from byoc.clock import Clock
from byoc.http_client import HttpClientSlot
from byoc.testing.emulation.deliveries import DeliveryTasks, RetryWindow

from ..channel import SECRET_HEADER

__all__ = ["DEFAULT_RETRY_SCHEDULE", "Delivery", "Webhook", "WebhookSender"]

logger = logging.getLogger("byoc.telegram.emulator")

DEFAULT_RETRY_SCHEDULE: tuple[float, ...] = (1.0, 5.0, 30.0, 120.0, 600.0)
"""Seconds between attempts; the last repeats until the retry window is over."""


@attrs.frozen(kw_only=True)
class Webhook:
    """Where updates go: the URL `setWebhook` set, its secret and the updates it asked for."""

    url: str
    secret: str | None = None
    allowed_updates: tuple[str, ...] = ()


@attrs.define
class Delivery:
    """One update on its way: `attempts` holds each HTTP status, or the error's name."""

    update: dict[str, Any]
    chat_id: int | None
    made: float = 0.0
    """When the update was made (the emulator's clock): Telegram keeps it for a day."""
    attempts: list[int | str] = attrs.field(factory=list)
    delivered: bool = False
    gave_up: bool = False


OnAnswer = Callable[[dict[str, Any]], Awaitable[None]]


class WebhookSender:
    """Posts updates to the webhook `target()` names at each attempt (None: stop)."""

    def __init__(
        self,
        *,
        clock: Clock,
        client: httpx.AsyncClient | None,
        on_answer: OnAnswer,
        retry_schedule: Sequence[float] = DEFAULT_RETRY_SCHEDULE,
        retry_window: float = 3600.0,
    ) -> None:
        self._retries = RetryWindow(retry_schedule, retry_window)
        self._clock = clock
        self._client = HttpClientSlot(client, factory=lambda: httpx.AsyncClient(timeout=10.0))
        self._on_answer = on_answer
        self._tasks = DeliveryTasks()
        self._order: dict[int | None, asyncio.Lock] = {}
        self.records: list[Delivery] = []
        self.last_error: tuple[float, str] | None = None
        """When the last attempt failed and why, as `getWebhookInfo` reports it."""

    def send(self, target: Callable[[], Webhook | None], delivery: Delivery) -> None:
        """Start delivering; `drain` waits for it."""
        self.records.append(delivery)
        self._tasks.start(self._deliver(target, delivery))

    @property
    def pending(self) -> int:
        return self._tasks.pending

    async def drain(self) -> None:
        """Wait until every update (and those its answers caused) is delivered or given up."""
        await self._tasks.drain()

    async def aclose(self) -> None:
        await self._tasks.cancel()
        await self._client.aclose()

    async def _attempt(self, hook: Webhook, delivery: Delivery) -> bool:
        headers = {"content-type": "application/json"}
        if hook.secret is not None:
            headers[SECRET_HEADER] = hook.secret
        body = json.dumps(delivery.update, ensure_ascii=False).encode()
        try:
            response = await self._client.client.post(hook.url, content=body, headers=headers)
        except Exception as exc:  # an unreachable webhook, whatever the cause
            delivery.attempts.append(type(exc).__name__)
            self.last_error = (self._clock.time(), f"Connection failed: {type(exc).__name__}")
            return False
        delivery.attempts.append(response.status_code)
        if not response.is_success:
            said = (
                f"Wrong response from the webhook: {response.status_code} {response.reason_phrase}"
            )
            self.last_error = (self._clock.time(), said)
            return False
        try:
            answer = json.loads(response.content) if response.content.strip() else None
        except ValueError:
            answer = None
        if isinstance(answer, dict) and isinstance(answer.get("method"), str):
            await self._on_answer(answer)
        return True

    async def _deliver(self, target: Callable[[], Webhook | None], delivery: Delivery) -> None:
        started = self._clock.time()
        retry = 0
        # A chat's first attempts go out in the order its updates came; retries hold none up.
        lock = self._order.setdefault(delivery.chat_id, asyncio.Lock())
        async with lock:
            hook = target()
            done = hook is not None and await self._attempt(hook, delivery)
        while not done:
            if target() is None:
                delivery.gave_up = True
                return
            delay = self._retries.delay(retry, started=started, now=self._clock.time())
            retry += 1
            if delay is None:
                delivery.gave_up = True
                logger.info(
                    "gave up on update %s after %d attempts",
                    delivery.update.get("update_id"),
                    retry,
                )
                return
            await self._clock.sleep(delay)
            hook = target()
            done = hook is not None and await self._attempt(hook, delivery)
        delivery.delivered = True
