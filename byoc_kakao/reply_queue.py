"""Agent replies waiting for Kakao to fetch them through an event-triggered skill call.

The Event API cannot carry a message itself: it runs an event block, and that block calls the
skill, whose answer is what the user sees. So each page of an agent's message is queued for its
user under an id, one Event API call is made per page with that id in its `params`, and the
event-triggered skill call returns exactly that page.

Fetching by id rather than oldest-first matters when an event's skill call is lost (the bridge
was down): serving oldest-first would then show every later reply one page late, for good.
A lost page instead stays behind until it expires after `ttl` seconds (the Event API's task
result reports it failed). When the id does not come back (`params` did not reach the skill),
the oldest page is served.
"""

from __future__ import annotations

import json
from typing import Any

from byoc.clock import Clock
from byoc.store.base import Store

__all__ = ["ReplyQueue"]


class ReplyQueue:
    """Per-user pages (SkillResponse templates) in the store's settings, in queuing order."""

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

    async def take(self, user_id: str, page_id: str | None = None) -> dict[str, Any] | None:
        """Remove and return page `page_id` (None if it is not queued: served already), or the
        oldest page when no id is given."""
        key = self._key(user_id)
        async with self._store.lock(key + ":lock"):
            items = await self._load(key)
            index = next(
                (n for n, i in enumerate(items) if page_id is None or i.get("id") == page_id),
                None,
            )
            if index is None:
                await self._save(key, items)
                return None
            item = items.pop(index)
            await self._save(key, items)
            template = item.get("template")
            return template if isinstance(template, dict) else None

    async def discard(self, user_id: str, page_id: str) -> None:
        """Drop a page whose Event API call failed (a retry queues it again)."""
        key = self._key(user_id)
        async with self._store.lock(key + ":lock"):
            items = [i for i in await self._load(key) if i.get("id") != page_id]
            await self._save(key, items)

    async def pending(self, user_id: str, *, within: float | None = None) -> int:
        """How many pages wait for the user (only those queued in the last `within` seconds)."""
        key = self._key(user_id)
        async with self._store.lock(key + ":lock"):
            items = await self._load(key)
        if within is None:
            return len(items)
        since = self._clock.time() - within
        return sum(1 for i in items if i.get("queued_at", 0) >= since)
