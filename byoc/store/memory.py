"""A store in process memory: for tests and throwaway runs; nothing survives a restart."""

from __future__ import annotations

import itertools
from collections import deque
from contextlib import AbstractAsyncContextManager

import attrs

from ..clock import Clock, SystemClock
from .base import UserLink
from .locks import KeyedLock
from .queue import Attempt, DeadLetter, Job

__all__ = ["MemoryStore"]


class MemoryStore:
    """`Store` in dictionaries."""

    def __init__(self, *, clock: Clock | None = None) -> None:
        self._clock = clock or SystemClock()
        self._links: dict[tuple[str, str], UserLink] = {}
        self._by_helpdesk_user: dict[str, UserLink] = {}
        self._by_conversation: dict[str, UserLink] = {}
        self._claims: dict[str, float] = {}
        self._settings: dict[str, str] = {}
        self._locks = KeyedLock()
        self._ids = itertools.count(1)
        self._jobs: dict[int, Job] = {}
        self._lanes: dict[str, deque[int]] = {}
        self._in_flight: set[int] = set()
        self._dead: dict[int, DeadLetter] = {}

    async def get_link(self, channel: str, channel_user_id: str) -> UserLink | None:
        return self._links.get((channel, channel_user_id))

    async def get_link_by_helpdesk_user(self, helpdesk_user_id: str) -> UserLink | None:
        return self._by_helpdesk_user.get(helpdesk_user_id)

    async def get_link_by_conversation(self, conversation_id: str) -> UserLink | None:
        return self._by_conversation.get(conversation_id)

    async def save_link(self, link: UserLink) -> None:
        old = self._links.get((link.channel, link.channel_user_id))
        if old is not None and old.conversation_id is not None:
            self._by_conversation.pop(old.conversation_id, None)
        self._links[(link.channel, link.channel_user_id)] = link
        self._by_helpdesk_user[link.helpdesk_user_id] = link
        if link.conversation_id is not None:
            self._by_conversation[link.conversation_id] = link

    async def claim(self, key: str, ttl: float) -> bool:
        now = self._clock.time()
        expires = self._claims.get(key)
        if expires is not None and expires > now:
            return False
        self._claims[key] = now + ttl
        if len(self._claims) % 1024 == 0:
            self._purge(now)
        return True

    def _purge(self, now: float) -> None:
        for key in [k for k, exp in self._claims.items() if exp <= now]:
            del self._claims[key]

    async def release(self, key: str) -> None:
        self._claims.pop(key, None)

    async def get_setting(self, key: str) -> str | None:
        return self._settings.get(key)

    async def set_setting(self, key: str, value: str) -> None:
        self._settings[key] = value

    async def delete_setting(self, key: str) -> None:
        self._settings.pop(key, None)

    def lock(self, key: str) -> AbstractAsyncContextManager[None]:
        return self._locks(key)

    # -- queue ---------------------------------------------------------------------------------

    async def enqueue(
        self, *, lane: str, kind: str, payload: str, dedupe_key: str, ttl: float
    ) -> int | None:
        if not await self.claim(dedupe_key, ttl):
            return None
        return self._add(lane=lane, kind=kind, payload=payload, accepted_at=self._clock.time())

    def _add(self, *, lane: str, kind: str, payload: str, accepted_at: float) -> int:
        job = Job(
            id=next(self._ids), lane=lane, kind=kind, payload=payload, accepted_at=accepted_at
        )
        self._jobs[job.id] = job
        self._lanes.setdefault(lane, deque()).append(job.id)
        return job.id

    def _heads(self) -> list[Job]:
        busy = {self._jobs[i].lane for i in self._in_flight}
        return [self._jobs[q[0]] for lane, q in self._lanes.items() if lane not in busy]

    async def take_due(self, *, now: float, limit: int) -> list[Job]:
        due = sorted((j for j in self._heads() if j.not_before <= now), key=lambda j: j.id)
        taken = due[: max(0, limit)]
        self._in_flight.update(j.id for j in taken)
        return taken

    async def next_due(self) -> float | None:
        return min((j.not_before for j in self._heads()), default=None)

    def _remove(self, job_id: int) -> Job:
        job = self._jobs.pop(job_id)
        self._in_flight.discard(job_id)
        lane = self._lanes[job.lane]
        lane.remove(job_id)
        if not lane:
            del self._lanes[job.lane]
        return job

    async def finish(self, job_id: int) -> None:
        if job_id in self._jobs:
            self._remove(job_id)

    async def retry(self, job_id: int, *, not_before: float, error: str, at: float) -> None:
        job = self._jobs[job_id]
        self._jobs[job_id] = attrs.evolve(
            job, not_before=not_before, attempts=(*job.attempts, Attempt(at=at, error=error))
        )
        self._in_flight.discard(job_id)

    async def bury(self, job_id: int, *, reason: str, error: str, at: float) -> None:
        job = self._remove(job_id)
        job = attrs.evolve(job, attempts=(*job.attempts, Attempt(at=at, error=error)))
        dead_id = next(self._ids)
        self._dead[dead_id] = DeadLetter(id=dead_id, job=job, reason=reason, died_at=at)

    async def release_all(self, *, recovering: bool) -> int:
        released = len(self._in_flight)
        for job_id in self._in_flight:
            if recovering:
                self._jobs[job_id] = attrs.evolve(self._jobs[job_id], recovering=True)
        self._in_flight.clear()
        return released

    async def depth(self) -> int:
        return len(self._jobs)

    async def dead_letters(self, *, limit: int = 100) -> list[DeadLetter]:
        return list(self._dead.values())[:limit]

    async def count_dead_letters(self) -> int:
        return len(self._dead)

    async def dead_letter(self, dead_id: int) -> DeadLetter | None:
        return self._dead.get(dead_id)

    async def replay(self, dead_id: int, *, now: float) -> int | None:
        dead = self._dead.pop(dead_id, None)
        if dead is None:
            return None
        job = dead.job
        return self._add(lane=job.lane, kind=job.kind, payload=job.payload, accepted_at=now)

    async def drop(self, dead_id: int) -> bool:
        return self._dead.pop(dead_id, None) is not None

    async def aclose(self) -> None:
        return None
