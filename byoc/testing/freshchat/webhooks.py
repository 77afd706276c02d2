"""Signed webhook delivery: the emulator's RSA key, and an ordered, retrying sender.

Freshchat signs each webhook body with an RSA key whose public half the admin page shows
(reference §3): `X-Freshchat-Signature` is base64(PKCS#1 v1.5 over SHA-256 of the exact body
bytes). The admin page labels the key `-----BEGIN RSA PUBLIC KEY-----` although its base64 body
is an X.509 SubjectPublicKeyInfo; `WebhookKey.public_key_text` reproduces that quirk so a
client's key parsing is tested against what an admin will paste.

Real retry policy is undocumented (only `X-Retry-Count` proves retries exist), so the schedule
is a constructor argument; it is bounded by its length.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import textwrap
from collections import deque
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs
import httpx
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from ...clock import Clock, SystemClock
from ...http_client import HttpClientSlot

__all__ = ["DEFAULT_RETRY_DELAYS", "DeliveryAttempt", "WebhookKey", "WebhookSender"]

DEFAULT_RETRY_DELAYS: tuple[float, ...] = (1.0, 5.0, 30.0, 120.0)
_LOG_LIMIT = 10_000


class WebhookKey:
    """The RSA-2048 key pair webhooks are signed with.

    ```python
    key = WebhookKey.generate()
    signature = key.sign(body)        # the X-Freshchat-Signature header value
    print(key.public_key_text)        # what Freshchat's admin page shows
    ```
    """

    def __init__(self, private_key: rsa.RSAPrivateKey) -> None:
        self._private = private_key

    @classmethod
    def generate(cls) -> WebhookKey:
        return cls(rsa.generate_private_key(public_exponent=65537, key_size=2048))

    @classmethod
    def from_pem(cls, pem: bytes | str) -> WebhookKey:
        """Load a PEM private key (PKCS#1 or PKCS#8, unencrypted); `ValueError` if not RSA."""
        data = pem.encode() if isinstance(pem, str) else pem
        key = serialization.load_pem_private_key(data, password=None)
        if not isinstance(key, rsa.RSAPrivateKey):
            raise ValueError("the webhook signing key must be an RSA private key")
        return cls(key)

    @classmethod
    def load_or_create(cls, path: str | os.PathLike[str]) -> WebhookKey:
        """The key in the PEM file at `path`, created (mode 0600) when missing.

        Keeping the key in a file keeps the public key that was pasted into a bridge valid
        across emulator restarts.
        """
        file = Path(path)
        if file.exists():
            return cls.from_pem(file.read_bytes())
        key = cls.generate()
        file.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(key.private_key_pem)
        return key

    @property
    def private_key_pem(self) -> bytes:
        return self._private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    @property
    def public_key_pem(self) -> str:
        """The public key as a proper SPKI PEM (`-----BEGIN PUBLIC KEY-----`)."""
        return (
            self._private.public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode()
        )

    @property
    def public_key_text(self) -> str:
        """The public key as Freshchat's admin page shows it: SPKI in "RSA PUBLIC KEY" armour."""
        der = self._private.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        body = "\n".join(textwrap.wrap(base64.b64encode(der).decode(), 64))
        return f"-----BEGIN RSA PUBLIC KEY-----\n{body}\n-----END RSA PUBLIC KEY-----\n"

    def sign(self, body: bytes) -> str:
        """base64(RSA PKCS#1 v1.5 signature over SHA-256 of `body`)."""
        signature = self._private.sign(body, padding.PKCS1v15(), hashes.SHA256())
        return base64.b64encode(signature).decode()


@attrs.frozen(kw_only=True)
class DeliveryAttempt:
    """One POST of a webhook; `status_code` is None when the connection failed (`error`)."""

    url: str
    action: str
    conversation_id: str
    body: bytes
    retry_count: int
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
    action: str
    conversation_id: str
    body: bytes
    signature: str


class WebhookSender:
    """Posts signed webhooks in background tasks, in order per conversation, with retries.

    A delivery that gets a non-2xx answer or a connection error is retried after each delay
    of `retry_delays` in turn (with `X-Retry-Count` 1, 2, ...) and then given up. Deliveries of
    one conversation wait for each other, retries included, so a receiver sees that
    conversation's events in creation order; conversations do not wait for each other.

    `http` is the client to post with (inject one with `httpx.ASGITransport` to deliver into
    an in-process app); without one, the sender makes and owns its own.
    """

    def __init__(
        self,
        key: WebhookKey,
        *,
        http: httpx.AsyncClient | None = None,
        clock: Clock | None = None,
        retry_delays: Sequence[float] = DEFAULT_RETRY_DELAYS,
        timeout: float = 10.0,
    ) -> None:
        self.key = key
        self.retry_delays = tuple(retry_delays)
        self.attempts: deque[DeliveryAttempt] = deque(maxlen=_LOG_LIMIT)
        self._clock: Clock = clock or SystemClock()
        self._http = HttpClientSlot(http, factory=lambda: httpx.AsyncClient(timeout=timeout))
        self._timeout = timeout
        self._queues: dict[str, deque[_Delivery]] = {}
        self._workers: dict[str, asyncio.Task[None]] = {}

    def send(
        self, url: str, *, conversation_id: str, payload: dict[str, Any], copies: int = 1
    ) -> None:
        """Queue `payload` for `url` (`copies` times: duplicate deliveries); returns at once.

        Call it from inside the event loop that should run the deliveries.
        """
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
        action = str(payload.get("action") or payload.get("event"))
        delivery = _Delivery(
            url=url,
            action=action,
            conversation_id=conversation_id,
            body=body,
            signature=self.key.sign(body),
        )
        queue = self._queues.setdefault(conversation_id, deque())
        queue.extend([delivery] * max(copies, 1))
        if conversation_id not in self._workers:
            task = asyncio.get_running_loop().create_task(self._work(conversation_id))
            self._workers[conversation_id] = task

    @property
    def pending(self) -> int:
        """Deliveries queued and not yet finished (those being attempted included)."""
        return sum(len(q) for q in self._queues.values())

    async def drain(self) -> None:
        """Wait until every queued delivery, retries included, has finished."""
        while self._workers:
            await asyncio.gather(*self._workers.values())

    async def aclose(self) -> None:
        """Cancel what is still queued and close the client the sender owns."""
        workers = list(self._workers.values())
        for task in workers:
            task.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
        await self._http.aclose()

    async def _work(self, conversation_id: str) -> None:
        queue = self._queues[conversation_id]
        try:
            while queue:
                await self._deliver(queue[0])
                queue.popleft()
        finally:
            # No await between the last emptiness check and here: a concurrent `send` either
            # appended before the check or finds no worker and starts a new one.
            del self._queues[conversation_id]
            del self._workers[conversation_id]

    async def _deliver(self, delivery: _Delivery) -> None:
        for retry in range(len(self.retry_delays) + 1):
            if retry:
                await self._clock.sleep(self.retry_delays[retry - 1])
            headers = {
                "Content-Type": "application/json",
                "X-Freshchat-Signature": delivery.signature,
                "X-Freshchat-Payload-Version": "v1",
                "X-Retry-Count": str(retry),
            }
            status: int | None = None
            error: str | None = None
            try:
                response = await self._http.client.post(
                    delivery.url, content=delivery.body, headers=headers
                )
                status = response.status_code
            except (httpx.HTTPError, httpx.InvalidURL) as exc:
                error = f"{type(exc).__name__}: {exc}"
            attempt = DeliveryAttempt(
                url=delivery.url,
                action=delivery.action,
                conversation_id=delivery.conversation_id,
                body=delivery.body,
                retry_count=retry,
                status_code=status,
                error=error,
            )
            self.attempts.append(attempt)
            if attempt.ok:
                return
