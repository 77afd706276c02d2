"""The AI-chatbot callback: one reply within a minute of the user's message.

When a callback-enabled block calls the skill, the request carries `userRequest.callbackUrl`.
The skill answers `useCallback: true` at once and may then POST one SkillResponse to that URL,
within 60 seconds; a second or late POST fails with "Invalid callback token". `CallbackBook`
keeps each user's latest URL in the store and hands it out at most once, before it expires.
"""

from __future__ import annotations

import json
from typing import Any

import attrs
import httpx

from byoc.clock import Clock
from byoc.errors import PermanentError
from byoc.store.base import Store
from byoc.upstream import answer_text, transport_errors

__all__ = ["CALLBACK_TTL", "CallbackBook", "CallbackFailed", "CallbackResult", "post_callback"]

CALLBACK_TTL = 60.0


class CallbackFailed(PermanentError):
    """Kakao refused a callback POST (expired, used, or not a callback-enabled block)."""


@attrs.frozen(kw_only=True)
class CallbackResult:
    """Kakao's answer to a callback POST."""

    task_id: str
    status: str
    message: str = ""


class CallbackBook:
    """Each user's latest callback URL, usable once, until `ttl - margin` seconds after it came.

    The margin keeps a POST that starts just before the deadline from arriving after it.
    """

    def __init__(
        self,
        store: Store,
        *,
        namespace: str,
        clock: Clock,
        ttl: float = CALLBACK_TTL,
        margin: float = 5.0,
    ) -> None:
        self._store = store
        self._namespace = namespace
        self._clock = clock
        self.ttl = ttl
        self.margin = margin

    def _key(self, user_id: str) -> str:
        return f"{self._namespace}:callback:{user_id}"

    async def remember(self, user_id: str, url: str) -> None:
        """Keep `url` as the user's callback, replacing an older one."""
        record = {"url": url, "received_at": self._clock.time()}
        key = self._key(user_id)
        async with self._store.lock(key + ":lock"):
            await self._store.set_setting(key, json.dumps(record))

    async def take(self, user_id: str) -> str | None:
        """The user's callback URL if it is unused and still valid; it is then used up."""
        key = self._key(user_id)
        async with self._store.lock(key + ":lock"):
            raw = await self._store.get_setting(key)
            record: Any = json.loads(raw) if raw else None
            if not isinstance(record, dict):
                return None
            # Used up from now on, valid or not: the store has no delete, so write a tombstone.
            await self._store.set_setting(key, "null")
            age = self._clock.time() - float(record.get("received_at", 0.0))
            if age < 0 or age >= self.ttl - self.margin:
                return None
            url = record.get("url")
            return url if isinstance(url, str) else None


async def post_callback(
    http: httpx.AsyncClient, url: str, response: dict[str, Any], *, timeout: float = 10.0
) -> CallbackResult:
    """POST a SkillResponse to a callback URL.

    Raises `CallbackFailed` when Kakao answers FAIL/ERROR (or an HTTP error), `RetryableError`
    when it cannot be reached; a callback URL is single-use either way.
    """
    # The callback URL is a one-time credential: errors never quote it.
    with transport_errors("the Kakao callback"):
        answer = await http.post(
            url,
            content=json.dumps(response, ensure_ascii=False).encode(),
            headers={"Content-Type": "application/json"},
            timeout=timeout,
        )
    try:
        body = answer.json()
    except (ValueError, UnicodeDecodeError):
        body = {}
    body = body if isinstance(body, dict) else {}
    result = CallbackResult(
        task_id=str(body.get("taskId") or ""),
        status=str(body.get("status") or ""),
        message=str(body.get("message") or ""),
    )
    if answer.status_code >= 400 or result.status != "SUCCESS":
        # The callback URL is a credential for its minute: never quoted, even if echoed.
        said = answer_text(f"{result.status}: {result.message}", secrets=[url])
        raise CallbackFailed(f"Kakao refused the callback (HTTP {answer.status_code}, {said})")
    return result
