"""Agent replies waiting for Kakao to fetch them through an event-triggered skill call.

The Event API cannot carry a message itself: it runs an event block, and that block calls the
skill, whose answer is what the user sees. So each page of an agent's message is queued for its
user under an id (which makes queuing idempotent), one Event API call is made per page, and
each event-triggered skill call returns the oldest page. Pages expire after `ttl` seconds, so
a page whose event never arrived (the user blocked the channel) is not served much later, out
of context.
"""

from __future__ import annotations

import json
from typing import Any

from byoc.clock import Clock
from byoc.store.base import Store

__all__ = ["ReplyQueue"]


class ReplyQueue:
    """Per-user FIFO of pages (SkillResponse templates) in the store's settings."""

    def __init__(self, store: Store, *, namespace: str, clock: Clock, ttl: float) -> None:
        self._store = store
        self._namespace = namespace
        self._clock = clock
        self.ttl = ttl

    def _key(self, user_id: str) -> str:
        return f"{self._namespace}:queue:{user_id}"

    async def _load(self, key: str) -> list[dict[str, Any]]:
        raw = await self._store.get_setting(key)
        items = json.loads(raw) if raw else []
        if not isinstance(items, list):
            return []
        now = self._clock.time()
        return [i for i in items if isinstance(i, dict) and now - i.get("queued_at", 0) < self.ttl]

    async def _save(self, key: str, items: list[dict[str, Any]]) -> None:
        await self._store.set_setting(key, json.dumps(items, ensure_ascii=False))

    async def put(self, user_id: str, page_id: str, template: dict[str, Any]) -> None:
        """Queue a page; queuing the same id again keeps one copy in its first place."""
        key = self._key(user_id)
        async with self._store.lock(key + ":lock"):
            items = await self._load(key)
            if not any(i.get("id") == page_id for i in items):
                items.append({"id": page_id, "template": template, "queued_at": self._clock.time()})
            await self._save(key, items)

    async def take(self, user_id: str) -> dict[str, Any] | None:
        """Remove and return the user's oldest page, or None.

        Oldest first, whichever event call asks: Kakao may run a user's events out of order,
        and the pages must still read in order.
        """
        key = self._key(user_id)
        async with self._store.lock(key + ":lock"):
            items = await self._load(key)
            if not items:
                return None
            item = items.pop(0)
            await self._save(key, items)
            template = item.get("template")
            return template if isinstance(template, dict) else None

    async def discard(self, user_id: str, page_id: str) -> None:
        """Drop a page whose event call failed (a retry queues it again)."""
        key = self._key(user_id)
        async with self._store.lock(key + ":lock"):
            items = [i for i in await self._load(key) if i.get("id") != page_id]
            await self._save(key, items)

    async def pending(self, user_id: str) -> int:
        """How many pages wait for the user."""
        key = self._key(user_id)
        async with self._store.lock(key + ":lock"):
            return len(await self._load(key))
