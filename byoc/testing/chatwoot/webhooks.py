"""Webhook delivery as Chatwoot's `WebhookJob` does it: signed, retried, in order per conversation.

Each attempt is signed when it is sent (so a retry carries a fresh timestamp) with the headers
of Chatwoot 4.13 and later:

- `X-Chatwoot-Timestamp`: unix seconds;
- `X-Chatwoot-Signature`: `sha256=` + hex HMAC-SHA256(key, `"<timestamp>." + body`);
- `X-Chatwoot-Delivery`: a UUID made when the delivery is queued, the same on every retry.

Which key signs is the emulator's choice (see `SigningMode`): the inbox's `secret`, its
`hmac_token` (Chatwoot issue #13809, where the key shown in the UI and the REST API is not the
one that signs) or none (Chatwoot before 4.13). An attempt times out after 5 s, as Chatwoot's
does; a non-2xx answer or a failed connection is retried after each of `retry_delays`.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import uuid
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any, Literal

import attrs
import httpx

from ...clock import Clock, SystemClock
from .wire import rails_json

__all__ = [
    "DEFAULT_RETRY_DELAYS",
    "SIGNING_MODES",
    "DeliveryAttempt",
    "SigningMode",
    "WebhookSender",
]

DEFAULT_RETRY_DELAYS: tuple[float, ...] = (3.0, 20.0, 120.0)
SigningMode = Literal["secret", "hmac_token", "unsigned"]
SIGNING_MODES: tuple[SigningMode, ...] = ("secret", "hmac_token", "unsigned")
_USER_AGENT = "rest-client/2.1.0 (linux x86_64) ruby/3.3.3p89"
_LOG_LIMIT = 10_000


@attrs.frozen(kw_only=True)
class DeliveryAttempt:
    """One POST of a webhook; `status_code` is None when it failed to connect (`error`)."""

    url: str
    event: str
    conversation_id: int | None
    delivery_id: str
    body: bytes
    headers: dict[str, str]
    attempt: int
    status_code: int | None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300

    def json(self) -> Any:
        return json.loads(self.body)


@attrs.frozen(kw_only=True)
class _Delivery:
    url: str
    event: str
    conversation_id: int | None
    delivery_id: str
    body: bytes
    key: str | None
    given_up: Callable[[], None] | None


class WebhookSender:
    """Posts webhooks in background tasks: one conversation's in order, retries included;
    conversations do not wait for each other.

    `http` is the client to post with (inject one over `httpx.ASGITransport` or a
    `VirtualNetwork` to deliver in process); without one, the sender makes and owns its own.
    """

    def __init__(
        self,
        *,
        http: httpx.AsyncClient | None = None,
        clock: Clock | None = None,
        retry_delays: Sequence[float] = DEFAULT_RETRY_DELAYS,
        timeout: float = 5.0,
    ) -> None:
        self.retry_delays = tuple(retry_delays)
        self.attempts: deque[DeliveryAttempt] = deque(maxlen=_LOG_LIMIT)
        self._clock: Clock = clock or SystemClock()
        self._http = http
        self._owns_http = http is None
        self._timeout = timeout
        self._tails: dict[int | None, asyncio.Task[None]] = {}
        self._running: set[asyncio.Task[None]] = set()

    def send(
        self,
        url: str,
        payload: dict[str, Any],
        *,
        key: str | None,
        conversation_id: int | None,
        copies: int = 1,
        given_up: Callable[[], None] | None = None,
    ) -> None:
        """Queue `payload` for `url`, signed with `key` (None: unsigned); returns at once.

        `copies` > 1 delivers the same delivery (same id) again, as a duplicate would arrive.
        `given_up` is called when every attempt of the first copy failed.
        """
        delivery = _Delivery(
            url=url,
            event=str(payload.get("event")),
            conversation_id=conversation_id,
            delivery_id=str(uuid.uuid4()),
            body=rails_json(payload),
            key=key,
            given_up=given_up,
        )
        for copy in range(max(copies, 1)):
            self._queue(delivery if copy == 0 else attrs.evolve(delivery, given_up=None))

    def _queue(self, delivery: _Delivery) -> None:
        previous = self._tails.get(delivery.conversation_id)
        task = asyncio.get_running_loop().create_task(self._after(previous, delivery))
        self._tails[delivery.conversation_id] = task
        self._running.add(task)
        task.add_done_callback(self._finished(delivery.conversation_id))

    def _finished(self, conversation_id: int | None) -> Callable[[asyncio.Task[None]], None]:
        def forget(task: asyncio.Task[None]) -> None:
            self._running.discard(task)
            if self._tails.get(conversation_id) is task:
                del self._tails[conversation_id]

        return forget

    @property
    def pending(self) -> int:
        """Deliveries queued and not yet finished (those being attempted included)."""
        return len(self._running)

    async def drain(self) -> None:
        """Wait until every queued delivery, retries included, has finished."""
        while self._running:
            await asyncio.wait(set(self._running))

    async def aclose(self) -> None:
        """Cancel what is still queued and close the client the sender owns."""
        running = list(self._running)
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)
        if self._owns_http and self._http is not None:
            await self._http.aclose()
            self._http = None

    async def _after(self, previous: asyncio.Task[None] | None, delivery: _Delivery) -> None:
        if previous is not None:
            await asyncio.wait({previous})
        for attempt in range(len(self.retry_delays) + 1):
            if attempt:
                await self._clock.sleep(self.retry_delays[attempt - 1])
            if (await self._attempt(delivery, attempt)).ok:
                return
        if delivery.given_up is not None:
            delivery.given_up()

    async def _attempt(self, delivery: _Delivery, attempt: int) -> DeliveryAttempt:
        if self._http is None:
            self._http = httpx.AsyncClient()
        headers = {
            "Content-Type": "application/json",
            "Accept": "application/json",
            "User-Agent": _USER_AGENT,
            "X-Chatwoot-Delivery": delivery.delivery_id,
        }
        if delivery.key is not None:
            timestamp = str(int(self._clock.time()))
            headers["X-Chatwoot-Timestamp"] = timestamp
            signed = timestamp.encode() + b"." + delivery.body
            digest = hmac.new(delivery.key.encode(), signed, hashlib.sha256).hexdigest()
            headers["X-Chatwoot-Signature"] = f"sha256={digest}"
        status: int | None = None
        error: str | None = None
        try:
            response = await self._http.post(
                delivery.url, content=delivery.body, headers=headers, timeout=self._timeout
            )
            status = response.status_code
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            error = f"{type(exc).__name__}: {exc}"
        result = DeliveryAttempt(
            url=delivery.url,
            event=delivery.event,
            conversation_id=delivery.conversation_id,
            delivery_id=delivery.delivery_id,
            body=delivery.body,
            headers=headers,
            attempt=attempt,
            status_code=status,
            error=error,
        )
        self.attempts.append(result)
        return result
