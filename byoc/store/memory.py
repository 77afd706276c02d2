"""A store in process memory: for tests and throwaway runs; nothing survives a restart."""

from __future__ import annotations

import heapq
import itertools
from collections import deque
from collections.abc import Callable, Collection, Mapping
from contextlib import AbstractAsyncContextManager

import attrs

from ..clock import Clock, SystemClock
from .base import UserLink
from .locks import KeyedLock
from .queue import DEFAULT_DEAD_LETTER_RETENTION, Attempt, DeadLetter, Job, LeaseLost

__all__ = ["MemoryStore"]


class MemoryStore:
    """`Store` in dictionaries, with the same queue semantics as the database stores.

    Lane heads that may be taken sit in a heap ordered by when they may run (as the SQL stores
    keep them in an index), and claims in a heap by expiry, so no call walks every job or claim.
    """

    purge_every = 1024
    """Expired claims are purged once every this many successful claims."""

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        dead_letter_retention: float = DEFAULT_DEAD_LETTER_RETENTION,
    ) -> None:
        self._clock = clock or SystemClock()
        self._retention = dead_letter_retention
        self._links: dict[tuple[str, str], UserLink] = {}
        self._by_helpdesk_user: dict[str, UserLink] = {}
        self._by_conversation: dict[str, UserLink] = {}
        self._claims: dict[str, float] = {}
        self._expiries: list[tuple[float, str]] = []
        self._claims_since_purge = 0
        self._settings: dict[str, str] = {}
        self._counts: dict[str, int] = {}
        self._locks = KeyedLock()
        self._ids = itertools.count(1)
        self._jobs: dict[int, Job] = {}
        self._lanes: dict[str, deque[int]] = {}
        # Lane heads by the time they may be taken; entries whose time changed since are stale
        # and skipped (`_ready_at` has the current time of each head).
        self._ready_at: dict[int, float] = {}
        self._ready: list[tuple[float, int]] = []
        self._dead: dict[int, DeadLetter] = {}
        self._deaths: deque[tuple[float, int]] = deque()

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

    async def claim(self, key: str, ttl: float, *, synced: bool = True) -> bool:
        now = self._clock.time()
        expires = self._claims.get(key)
        if expires is not None and expires > now:
            return False
        self._set_claim(key, now + ttl)
        self._claims_since_purge += 1
        if self._claims_since_purge >= self.purge_every:
            self._claims_since_purge = 0
            self._purge_claims(now, limit=2 * self.purge_every)
        return True

    def _set_claim(self, key: str, expires_at: float) -> None:
        self._claims[key] = expires_at
        heapq.heappush(self._expiries, (expires_at, key))

    def _purge_claims(self, now: float, *, limit: int) -> int:
        purged = 0
        while self._expiries and self._expiries[0][0] <= now and purged < limit:
            expires_at, key = heapq.heappop(self._expiries)
            # A claim taken again since has a later expiry of its own in the heap.
            if self._claims.get(key) == expires_at:
                del self._claims[key]
                purged += 1
        return purged

    async def release(self, key: str) -> None:
        self._claims.pop(key, None)

    async def get_setting(self, key: str) -> str | None:
        return self._settings.get(key)

    async def set_setting(self, key: str, value: str) -> None:
        self._settings[key] = value

    async def delete_setting(self, key: str) -> None:
        self._settings.pop(key, None)

    async def add_counts(self, deltas: Mapping[str, int]) -> None:
        for key, delta in deltas.items():
            self._counts[key] = self._counts.get(key, 0) + delta

    async def counts(self) -> dict[str, int]:
        return dict(self._counts)

    def lock(self, key: str) -> AbstractAsyncContextManager[None]:
        return self._locks(key)

    # -- queue ---------------------------------------------------------------------------------

    async def enqueue(
        self,
        *,
        lane: str,
        kind: str,
        payload: str,
        dedupe_key: str,
        ttl: float,
        owner: str | None = None,
        lease: float = 0.0,
    ) -> Job | None:
        if not await self.claim(dedupe_key, ttl):
            return None
        return self._add(
            lane=lane, kind=kind, payload=payload, now=self._clock.time(), owner=owner, lease=lease
        )

    def _add(
        self,
        *,
        lane: str,
        kind: str,
        payload: str,
        now: float,
        owner: str | None = None,
        lease: float = 0.0,
    ) -> Job:
        job = Job(
            id=next(self._ids),
            lane=lane,
            kind=kind,
            payload=payload,
            accepted_at=now,
            not_before=now,
        )
        queue = self._lanes.setdefault(lane, deque())
        queue.append(job.id)
        self._jobs[job.id] = job
        if len(queue) == 1:
            job = self._make_head(job, now=now, owner=owner, lease=lease)
        return job

    def _make_head(self, job: Job, *, now: float, owner: str | None, lease: float) -> Job:
        if owner is not None:
            return self._lease(job, owner=owner, until=now + lease, recovering=job.recovering)
        self._set_ready(job.id, job.not_before)
        return job

    def _set_ready(self, job_id: int, at: float) -> None:
        self._ready_at[job_id] = at
        heapq.heappush(self._ready, (at, job_id))

    def _lease(self, job: Job, *, owner: str, until: float, recovering: bool) -> Job:
        job = attrs.evolve(job, owner=owner, lease_until=until, recovering=recovering)
        self._jobs[job.id] = job
        # A leased head may be taken again once its lease runs out (its owner died).
        self._set_ready(job.id, until)
        return job

    async def take_due(self, *, owner: str, now: float, limit: int, lease: float) -> list[Job]:
        taken: list[Job] = []
        while self._ready and len(taken) < limit:
            at, job_id = heapq.heappop(self._ready)
            if self._ready_at.get(job_id) != at:
                continue  # stale
            if at > now:
                heapq.heappush(self._ready, (at, job_id))
                break
            job = self._jobs[job_id]
            # A job with an owner here had its lease run out: it is taken over.
            recovering = job.recovering or job.owner is not None
            taken.append(self._lease(job, owner=owner, until=now + lease, recovering=recovering))
        return taken

    async def renew(self, *, owner: str, job_ids: Collection[int], until: float) -> set[int]:
        held = set()
        for job_id in job_ids:
            job = self._jobs.get(job_id)
            if job is not None and job.owner == owner:
                self._lease(job, owner=owner, until=until, recovering=job.recovering)
                held.add(job_id)
        return held

    async def next_due(self) -> float | None:
        while self._ready:
            at, job_id = self._ready[0]
            if self._ready_at.get(job_id) == at:
                return at
            heapq.heappop(self._ready)
        return None

    def _held(self, job_id: int, owner: str) -> Job:
        job = self._jobs.get(job_id)
        if job is None or job.owner != owner:
            raise LeaseLost(job_id, owner)
        return job

    def _remove(self, job: Job, *, next_owner: str | None, next_lease: float | None) -> Job | None:
        """Drop the lane head `job`; the lane's next job becomes its head (and is returned
        leased to `next_owner` when `next_lease` is given)."""
        del self._jobs[job.id]
        self._ready_at.pop(job.id, None)
        queue = self._lanes[job.lane]
        queue.popleft()
        if not queue:
            del self._lanes[job.lane]
            return None
        following = self._jobs[queue[0]]
        now = self._clock.time()
        if next_lease is None:
            self._make_head(following, now=now, owner=None, lease=0.0)
            return None
        return self._make_head(following, now=now, owner=next_owner, lease=next_lease)

    async def finish(
        self,
        job_id: int,
        *,
        owner: str,
        claims: Collection[str] = (),
        claim_ttl: float = 0.0,
        next_lease: float | None = None,
    ) -> Job | None:
        job = self._held(job_id, owner)
        expires_at = self._clock.time() + claim_ttl
        for key in claims:
            self._set_claim(key, max(expires_at, self._claims.get(key, expires_at)))
        return self._remove(job, next_owner=owner, next_lease=next_lease)

    async def retry(
        self, job_id: int, *, owner: str, not_before: float, error: str, at: float
    ) -> None:
        job = self._held(job_id, owner)
        job = attrs.evolve(
            job,
            not_before=not_before,
            attempts=(*job.attempts, Attempt(at=at, error=error)),
            owner=None,
            lease_until=None,
        )
        self._jobs[job_id] = job
        self._set_ready(job_id, not_before)

    async def bury(
        self,
        job_id: int,
        *,
        owner: str,
        reason: str,
        error: str,
        at: float,
        next_lease: float | None = None,
    ) -> Job | None:
        job = self._held(job_id, owner)
        dead_job = attrs.evolve(
            job,
            attempts=(*job.attempts, Attempt(at=at, error=error)),
            owner=None,
            lease_until=None,
            recovering=False,
        )
        dead_id = next(self._ids)
        self._dead[dead_id] = DeadLetter(id=dead_id, job=dead_job, reason=reason, died_at=at)
        self._deaths.append((at, dead_id))
        return self._remove(job, next_owner=owner, next_lease=next_lease)

    async def hand_back(self, *, owner: str) -> int:
        mine = [job for job in self._jobs.values() if job.owner == owner]
        for job in mine:
            self._jobs[job.id] = attrs.evolve(job, owner=None, lease_until=None, recovering=True)
            self._set_ready(job.id, job.not_before)
        return len(mine)

    def watch(self, wake: Callable[[], None]) -> None:
        """Nothing to hear: only this process uses the store."""

    async def depth(self) -> int:
        return len(self._jobs)

    async def dead_letters(self, *, limit: int = 100) -> list[DeadLetter]:
        return list(itertools.islice(self._dead.values(), limit))

    async def count_dead_letters(self) -> int:
        return len(self._dead)

    async def dead_letter(self, dead_id: int) -> DeadLetter | None:
        return self._dead.get(dead_id)

    async def replay(self, dead_id: int, *, now: float) -> int | None:
        dead = self._dead.pop(dead_id, None)
        if dead is None:
            return None
        job = dead.job
        return self._add(lane=job.lane, kind=job.kind, payload=job.payload, now=now).id

    async def drop(self, dead_id: int) -> bool:
        return self._dead.pop(dead_id, None) is not None

    async def purge(self, *, now: float) -> int:
        purged = self._purge_claims(now, limit=10_000)
        cutoff = now - self._retention
        # In the order they died; replayed and dropped ones are gone from `_dead` already.
        while self._deaths and self._deaths[0][0] < cutoff:
            _, dead_id = self._deaths.popleft()
            purged += self._dead.pop(dead_id, None) is not None
        return purged

    async def ping(self) -> None:
        return None

    async def aclose(self) -> None:
        return None
