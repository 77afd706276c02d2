"""How the emulator calls the bot's webhook: signed, per user in order, retried for an hour.

Viber "will retry the callback several times for an hour until the HTTP code 200 OK is
received"; the intervals are not documented, so the default schedule below is a guess and
every emulator takes its own. Any answer but 200 (and any connection error) is retried.
"""

from __future__ import annotations

import asyncio
import http
import json
import logging
import secrets
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import attrs
import httpx

from byoc.clock import Clock
from byoc.http_client import HttpClientSlot
from byoc.testing.emulation.deliveries import DeliveryTasks, RetryWindow

from ..signature import SIGNATURE_HEADER, sign

__all__ = ["DEFAULT_RETRY_SCHEDULE", "CallbackRecord", "Callbacks"]

logger = logging.getLogger("byoc.viber.emulator")

DEFAULT_RETRY_SCHEDULE: tuple[float, ...] = (1.0, 5.0, 30.0, 120.0, 600.0)
"""Seconds between attempts; the last one repeats until the retry window is over."""


@attrs.define
class CallbackRecord:
    """One callback and what became of it.

    `attempts` holds the HTTP status of each attempt, or the name of the error when the
    webhook could not be reached.
    """

    event: str
    payload: dict[str, Any]
    user_id: str | None
    attempts: list[int | str] = attrs.field(factory=list)
    delivered: bool = False
    gave_up: bool = False


OnDelivered = Callable[[CallbackRecord, bytes], Awaitable[None]]


def _java_id() -> str:
    return secrets.token_hex(4)


class Callbacks:
    """Signs and posts callbacks to the webhook the emulator holds."""

    def __init__(
        self,
        *,
        token: Callable[[], str],
        clock: Clock,
        client: httpx.AsyncClient | None,
        retry_schedule: Sequence[float],
        retry_window: float,
    ) -> None:
        self._retries = RetryWindow(retry_schedule, retry_window)
        self._token = token
        self._clock = clock
        self._client = HttpClientSlot(
            client, factory=lambda: httpx.AsyncClient(timeout=httpx.Timeout(10.0))
        )
        self._tasks = DeliveryTasks()
        self._order: dict[str, asyncio.Lock] = {}
        self.records: list[CallbackRecord] = []

    def _http(self) -> httpx.AsyncClient:
        return self._client.client

    async def _post(self, url: str, payload: dict[str, Any]) -> httpx.Response:
        raw = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(self._token(), raw),
            "User-Agent": "akka-http/10.1.10",
        }
        return await self._http().post(url, content=raw, headers=headers)

    async def verify(self, url: str, payload: dict[str, Any]) -> str | None:
        """Post set_webhook's `webhook` event; None when it got 200, else Viber's failure text."""
        request = f"Result[HttpRequest[POST  HTTP/1.1]@{_java_id()}"
        try:
            response = await self._post(url, payload)
        except httpx.TimeoutException:
            return f"{request} > HttpResponse[null 0 null]@{_java_id()}] " + (
                "java.util.concurrent.TimeoutException: Total timeout 5000 ms elapsed"
            )
        except Exception as exc:  # any failure to reach the URL is Viber's status 1
            logger.info("webhook verification of %s failed: %r", url, exc)
            return (
                f"{request} > HttpResponse[null 0 null]@{_java_id()}] "
                "java.net.ConnectException: Connection refused"
            )
        if response.status_code == 200:
            return None
        try:
            reason = http.HTTPStatus(response.status_code).phrase
        except ValueError:
            reason = "unknown status"
        return (
            f"{request} > HttpResponse[HTTP/1.1 {response.status_code} {reason}]@{_java_id()}] null"
        )

    def send(
        self,
        target: Callable[[], str | None],
        record: CallbackRecord,
        on_delivered: OnDelivered | None = None,
    ) -> None:
        """Start delivering `record` to the URL `target()` names at each attempt."""
        self.records.append(record)
        self._tasks.start(self._deliver(target, record, on_delivered))

    @property
    def pending(self) -> int:
        """Callbacks not yet delivered or given up."""
        return self._tasks.pending

    async def drain(self) -> None:
        """Wait until every callback (and those they caused) was delivered or given up."""
        await self._tasks.drain()

    async def aclose(self) -> None:
        await self._tasks.cancel()
        await self._client.aclose()

    async def _attempt(self, url: str, record: CallbackRecord) -> bytes | None:
        try:
            response = await self._post(url, record.payload)
        except Exception as exc:  # an unreachable webhook, whatever the cause
            record.attempts.append(type(exc).__name__)
            return None
        record.attempts.append(response.status_code)
        return response.content if response.status_code == 200 else None

    async def _deliver(
        self,
        target: Callable[[], str | None],
        record: CallbackRecord,
        on_delivered: OnDelivered | None,
    ) -> None:
        started = self._clock.time()
        url = target()
        if url is None:
            record.gave_up = True
            return
        # First attempts go out in the order the user acted; retries do not hold later ones up.
        lock = self._order.setdefault(record.user_id or "", asyncio.Lock())
        async with lock:
            answer = await self._attempt(url, record)
        retry = 0
        while answer is None:
            delay = self._retries.delay(retry, started=started, now=self._clock.time())
            retry += 1
            if delay is None:
                record.gave_up = True
                logger.info("gave up on %s callback after %d attempts", record.event, retry)
                return
            await self._clock.sleep(delay)
            url = target()
            if url is None:
                record.gave_up = True
                return
            answer = await self._attempt(url, record)
        record.delivered = True
        if on_delivered is not None:
            await on_delivered(record, answer)
