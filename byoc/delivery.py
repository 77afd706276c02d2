"""Delivery workers: run queued jobs in per-lane order, retry them, bury what cannot go.

The webhook handler only stores a job and answers; a `Dispatcher` delivers it afterwards:

- one job per lane at a time (a lane is one channel user and direction), across every bridge
  process sharing the store, so a user's messages never overtake each other, while different
  users proceed in parallel;
- at most `concurrency` jobs in flight, and only those in memory: the rest stay in the store.
  With every slot busy the dispatcher waits for one to free up; it never polls the store in a
  loop;
- each job runs under a lease in the store, renewed while it runs. A process that dies stops
  renewing; once its leases run out, another process (or this one after a restart) takes the
  jobs over, marked `recovering`;
- a failed job waits as the `RetryPolicy` says and blocks its lane meanwhile; a job the policy
  gives up on (or a permanent refusal) becomes a dead letter and the lane moves on;
- `stop()` lets jobs in flight finish within a grace period and hands back the rest.

**Few queries.** A job accepted through `enqueue` while a slot is free comes back from the
store already leased and runs at once: no query to find it. When it is delivered, `finish`
hands over the next job of its lane in the same transaction. The store is asked for due jobs
only when there may be some the dispatcher has not been handed: at start, when a retry comes
due, when another process says it queued work (`Store.watch`), after an overload, and every
`poll_interval` as a fallback.

**Store failures.** No store error stops the dispatcher. Taking jobs is retried with backoff;
recording a job's outcome is retried until it is recorded, the store says the lease was lost,
or `OUTCOME_PATIENCE` has passed (then the lease runs out and the job is taken over later).
While the store fails, `problem` says what is wrong and `problem_since` since when.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import heapq
import logging
import os
import secrets
import socket
from collections.abc import Awaitable, Callable, Collection
from typing import Any, Protocol, TypeVar

from .clock import Clock, SystemClock
from .errors import ByocError
from .retry import RetryPolicy
from .store import Store
from .store.queue import Job, LeaseLost

__all__ = [
    "DEFAULT_CONCURRENCY",
    "DEFAULT_LEASE",
    "DeliveryObserver",
    "Dispatcher",
    "JobHandler",
    "replica_id",
]

log = logging.getLogger("byoc.delivery")

_T = TypeVar("_T")

JobHandler = Callable[[Job], Awaitable[Collection[str] | None]]
"""Delivers one job; returns the keys to claim when it is finished (crash-recovery notes such
as `posted:<help-desk message id>`), or None."""

DEFAULT_CONCURRENCY = 256
"""Deliveries in flight per process. Each one mostly waits on an upstream call, so slots are
cheap (a task and a pooled connection) and a slow help desk must not stall other users: at
1 s per call, 256 slots still move 256 messages per second, more than a help desk's rate limits
usually allow."""

DEFAULT_LEASE = 15.0
"""Seconds a job stays leased without renewal: how long a dead process's deliveries wait
before another process takes them over. Renewed every third of it while the job runs."""

DEFAULT_CLAIM_TTL = 7 * 24 * 3600.0
"""How long the keys a handler returns stay claimed (as long as webhook dedupe keys)."""

OUTCOME_PATIENCE = 300.0
"""Seconds to keep trying to record a job's outcome while the store fails."""

_BACKOFF_FIRST, _BACKOFF_MAX = 0.05, 5.0


def replica_id() -> str:
    """A name for this process as a lease owner: host, pid, and a random part, so that a
    restarted process (containers reuse pid 1 and host names) is never taken for the old one."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


class DeliveryObserver(Protocol):
    """What a dispatcher reports (the bridge turns it into hop log lines and metrics)."""

    def finished(self, job: Job, now: float) -> None:
        """The job was delivered."""

    def retrying(self, job: Job, attempt: int, delay: float, error: str) -> None:
        """Attempt `attempt` failed with `error`; the job runs again in `delay` seconds."""

    async def buried(self, job: Job, reason: str, error: str) -> None:
        """The job became a dead letter."""


class _LogObserver:
    def finished(self, job: Job, now: float) -> None:
        return None

    def retrying(self, job: Job, attempt: int, delay: float, error: str) -> None:
        log.warning(
            "job %d (%s) attempt %d failed (%s); retrying in %.1fs",
            job.id,
            job.lane,
            attempt,
            error,
            delay,
        )

    async def buried(self, job: Job, reason: str, error: str) -> None:
        log.error("job %d (%s) is a dead letter: %s: %s", job.id, job.lane, reason, error)


class _Backoff:
    """Exponential waits between tries of a failing store call."""

    def __init__(self) -> None:
        self.delay = _BACKOFF_FIRST

    def next(self) -> float:
        delay, self.delay = self.delay, min(_BACKOFF_MAX, self.delay * 2)
        return delay


class Dispatcher:
    """Runs the store's queue through `handler`.

    ```python
    dispatcher = Dispatcher(store=store, handler=deliver, concurrency=256, lease=15.0)
    await dispatcher.start()
    job = await dispatcher.enqueue(lane="in:viber:u1", kind="inbound", payload=..., ...)
    ...
    await dispatcher.stop(grace=10.0)
    ```

    `owner` names this dispatcher in the store's leases (`replica_id()` by default); give
    every process its own. `lease` is how long a lease lasts without renewal; `poll_interval`
    how often the store is asked for due jobs when nothing said there are any.
    """

    def __init__(
        self,
        *,
        store: Store,
        handler: JobHandler,
        policy: RetryPolicy | None = None,
        clock: Clock | None = None,
        concurrency: int = DEFAULT_CONCURRENCY,
        poll_interval: float = 1.0,
        observer: DeliveryObserver | None = None,
        owner: str | None = None,
        lease: float = DEFAULT_LEASE,
        claim_ttl: float = DEFAULT_CLAIM_TTL,
    ) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        if lease <= 0 or poll_interval <= 0:
            raise ValueError("lease and poll_interval must be positive")
        self.store = store
        self.handler = handler
        self.policy = policy or RetryPolicy()
        self.clock = clock or SystemClock()
        self.concurrency = concurrency
        self.poll_interval = poll_interval
        self.observer: DeliveryObserver = observer or _LogObserver()
        self.owner = owner or replica_id()
        self.lease = lease
        self.claim_ttl = claim_ttl
        self.problem: str | None = None
        """What is wrong with the store, as the dispatcher last saw it; None when all is well."""
        self.problem_since: float | None = None
        """When `problem` started (clock time), or None."""
        self._tasks: set[asyncio.Task[None]] = set()
        self._held: dict[int, asyncio.Task[None]] = {}
        self._reserved = 0
        self._unreserved = asyncio.Event()
        # Whether the store may hold due jobs nobody handed us; `_wakes` counts the reasons
        # to think so, so that a take that raced with one does not clear it.
        self._maybe_due = True
        self._wakes = 0
        self._timers: list[float] = []
        self._last_take = float("-inf")
        self._wakeup = asyncio.Event()
        self._idle = asyncio.Event()
        self._loop_task: asyncio.Task[None] | None = None
        self._renew_task: asyncio.Task[None] | None = None
        self._stopping = False

    @property
    def started(self) -> bool:
        return self._loop_task is not None

    @property
    def in_flight(self) -> int:
        """Jobs being delivered by this dispatcher now."""
        return len(self._tasks)

    @property
    def free(self) -> int:
        """Delivery slots free now."""
        return self.concurrency - len(self._tasks) - self._reserved

    async def start(self) -> None:
        """Start delivering. Jobs other processes hold are left to them until their leases
        run out; nothing is handed back at start.

        Raises what `Store.ping` raises when the store does not answer: a bridge must not
        start serving without one.
        """
        if self._loop_task is not None:
            return
        await self.store.ping()
        self._stopping = False
        self.store.watch(self.wake)
        self.wake()
        self._loop_task = asyncio.create_task(self._loop(), name="byoc-dispatcher")
        self._renew_task = asyncio.create_task(self._renew_leases(), name="byoc-leases")

    def wake(self) -> None:
        """New work may be due in the store: look for it."""
        self._wakes += 1
        self._maybe_due = True
        self._idle.clear()
        self._wakeup.set()

    async def enqueue(
        self, *, lane: str, kind: str, payload: str, dedupe_key: str, ttl: float
    ) -> Job | None:
        """Store a job (see `Store.enqueue`) and, when a slot is free and the job is the head
        of its lane, start delivering it at once: the hand-off costs no query.

        Returns the job, or None when `dedupe_key` was claimed before (a duplicate).
        """
        lease = self.started and not self._stopping and self.free > 0
        if lease:
            self._reserved += 1
        try:
            job = await self.store.enqueue(
                lane=lane,
                kind=kind,
                payload=payload,
                dedupe_key=dedupe_key,
                ttl=ttl,
                owner=self.owner if lease else None,
                lease=self.lease,
            )
        finally:
            if lease:
                self._reserved -= 1
                if not self._reserved:
                    self._unreserved.set()
        if job is not None and job.owner == self.owner and not self._stopping:
            self._spawn(job)
        elif job is not None and not lease:
            # No slot was free: the job may be due and waits for one.
            self.wake()
        elif lease:
            # Otherwise the job waits behind its lane's head, which hands it over when
            # finished; the loop, which saw a slot reserved, looks again (it may be idle now).
            self._wakeup.set()
        return job

    async def wait_idle(self) -> None:
        """Wait until nothing is in flight here and nothing is due (jobs may wait for a retry,
        or be leased by another process)."""
        while True:
            await self._idle.wait()
            # The flag may predate a retry timer that has come due since: look, don't trust.
            due = await self.store.next_due()
            if not self._tasks and (due is None or due > self.clock.time()):
                return
            self.wake()

    async def stop(self, grace: float = 10.0) -> None:
        """Take no new work; let jobs in flight finish for `grace` seconds, hand back the rest."""
        if self._loop_task is None:
            return
        self._stopping = True
        self._wakeup.set()
        await self._loop_task
        self._loop_task = None
        if self._tasks:
            _, pending = await asyncio.wait(set(self._tasks), timeout=grace)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        while self._reserved:
            # A webhook's job may come back leased to us: wait, so that it is handed back too.
            self._unreserved.clear()
            await self._unreserved.wait()
        if self._renew_task is not None:
            self._renew_task.cancel()
            await asyncio.gather(self._renew_task, return_exceptions=True)
            self._renew_task = None
        try:
            # Whatever did not finish goes back to the queue; it may have reached the peer.
            handed_back = await self.store.hand_back(owner=self.owner)
        except Exception as exc:
            log.warning("could not hand jobs back at shutdown (%s); their leases run out", exc)
        else:
            if handed_back:
                log.warning("%d job(s) handed back to the queue at shutdown", handed_back)

    # -- health --------------------------------------------------------------------------------

    def _trouble(self, what: str, exc: BaseException) -> None:
        problem = f"store: {what} failed: {_describe(exc)}"
        if self.problem is None:
            self.problem_since = self.clock.time()
            log.error("delivery paused: %s", problem)
        self.problem = problem

    def _healthy(self) -> None:
        if self.problem is not None:
            log.warning("delivery resumed: the store answers again")
            self.problem = None
            self.problem_since = None

    # -- the loop that takes due jobs ----------------------------------------------------------

    async def _loop(self) -> None:
        backoff = _Backoff()
        while not self._stopping:
            self._wakeup.clear()
            try:
                if self.free > 0 and self._maybe_due:
                    await self._take()
                    backoff = _Backoff()
                    continue
                if not self._tasks and not self._reserved and not self._maybe_due:
                    self._idle.set()
                await self._sleep()
            except Exception as exc:  # the loop must outlive any store failure
                self._trouble("taking due jobs", exc)
                await self._pause(backoff.next())

    async def _pause(self, seconds: float) -> None:
        """Wait `seconds`, or less if woken (`stop` must not wait out a backoff)."""
        waits: set[asyncio.Future[Any]] = {
            asyncio.ensure_future(self._wakeup.wait()),
            asyncio.ensure_future(self.clock.sleep(seconds)),
        }
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for future in waits:
                if not future.done():
                    future.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await future

    async def _take(self) -> None:
        wakes = self._wakes
        limit = self.free
        now = self.clock.time()
        self._last_take = now
        jobs = await self.store.take_due(owner=self.owner, now=now, limit=limit, lease=self.lease)
        self._healthy()
        for job in jobs:
            # A job this process still runs (its lease ran out while the clock jumped) is not
            # run twice; the take renewed its lease.
            if job.id not in self._held and not self._stopping:
                self._spawn(job)
        if len(jobs) < limit and self._wakes == wakes:
            self._maybe_due = False

    async def _sleep(self) -> None:
        """Until woken, a retry timer is due, or it is time to poll."""
        now = self.clock.time()
        wake_at = self._last_take + self.poll_interval
        if self._timers:
            wake_at = min(wake_at, self._timers[0])
        if self.free <= 0:
            wake_at = float("inf")  # every slot busy: only a freed slot matters
        if wake_at <= now:
            self._timer_fired(now)
            return
        if wake_at == float("inf"):
            await self._wakeup.wait()
            return
        await self._pause(wake_at - now)
        if self.clock.time() >= wake_at:
            self._timer_fired(self.clock.time())

    def _timer_fired(self, now: float) -> None:
        while self._timers and self._timers[0] <= now:
            heapq.heappop(self._timers)
        self.wake()

    # -- leases --------------------------------------------------------------------------------

    async def _renew_leases(self) -> None:
        backoff = _Backoff()
        delay = self.lease / 3
        while True:
            await self.clock.sleep(delay)
            delay = self.lease / 3
            held = dict(self._held)
            if not held:
                continue
            try:
                kept = await self.store.renew(
                    owner=self.owner, job_ids=list(held), until=self.clock.time() + self.lease
                )
            except Exception as exc:
                self._trouble("renewing leases", exc)
                delay = min(delay, backoff.next())
                continue
            backoff = _Backoff()
            self._healthy()
            for job_id, task in held.items():
                if job_id not in kept and self._held.get(job_id) is task:
                    # Another process took the job over: stop, so that only it delivers.
                    log.warning("job %d: lease taken over by another process; stopping", job_id)
                    task.cancel()

    # -- running jobs --------------------------------------------------------------------------

    def _spawn(self, job: Job) -> None:
        self._idle.clear()
        task = asyncio.create_task(self._work(job), name=f"byoc-job-{job.id}")
        self._tasks.add(task)
        self._held[job.id] = task
        task.add_done_callback(functools.partial(self._done, job.id))

    def _done(self, job_id: int, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        # `_work` forgets each job it ran; only a task cancelled before it started leaves its
        # first job behind.
        if self._held.get(job_id) is task:
            del self._held[job_id]
        if not task.cancelled() and task.exception() is not None:
            log.error("delivery task failed", exc_info=task.exception())
        # The loop waits for a freed slot only when none was free, and calls itself idle only
        # when nothing runs: wake it for those. Waking it for every delivery cost a turn of the
        # loop and two new timers (about 50 µs) per message.
        if self.free == 1 or not self._tasks or self._maybe_due or self._stopping:
            self._wakeup.set()

    async def _work(self, job: Job | None) -> None:
        """Deliver `job`, then the next jobs of its lane the store hands over."""
        task = asyncio.current_task()
        assert task is not None
        while job is not None:
            self._held[job.id] = task
            try:
                following = await self._run_one(job)
            finally:
                if self._held.get(job.id) is task:
                    del self._held[job.id]
            job = following
            if self._stopping:
                # A job handed over now is leased to us but not started: `stop` hands it back.
                return

    async def _run_one(self, job: Job) -> Job | None:
        if job.recovering:
            log.warning("job %d (%s): recovering, it may have been delivered", job.id, job.lane)
        try:
            claims = await self.handler(job)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            next_job = await self._failed(job, exc)
        else:
            next_job = await self._record(
                job,
                "recording a delivery",
                lambda: self.store.finish(
                    job.id,
                    owner=self.owner,
                    claims=claims or (),
                    claim_ttl=self.claim_ttl,
                    next_lease=None if self._stopping else self.lease,
                ),
            )
            self._report(self.observer.finished, job, self.clock.time())
        return next_job

    async def _failed(self, job: Job, exc: Exception) -> Job | None:
        now = self.clock.time()
        attempt = len(job.attempts) + 1
        delay = self.policy.delay(attempt=attempt, error=exc, elapsed=now - job.accepted_at)
        error = _describe(exc)
        if delay is None:
            reason = (
                "refused" if not self.policy.retryable(exc) else "retry budget used up"
            ) + f" after {attempt} attempt(s)"
            if not isinstance(exc, ByocError):
                log.exception("job %d (%s) failed unexpectedly", job.id, job.lane, exc_info=exc)
            next_job = await self._record(
                job,
                "burying a job",
                lambda: self.store.bury(
                    job.id,
                    owner=self.owner,
                    reason=reason,
                    error=error,
                    at=now,
                    next_lease=None if self._stopping else self.lease,
                ),
            )
            try:
                await self.observer.buried(job, reason, error)
            except Exception:
                log.exception("reporting dead letter %d failed", job.id)
            return next_job
        self._report(self.observer.retrying, job, attempt, delay, error)
        await self._record(
            job,
            "recording a retry",
            lambda: self.store.retry(
                job.id, owner=self.owner, not_before=now + delay, error=error, at=now
            ),
        )
        heapq.heappush(self._timers, now + delay)
        self._wakeup.set()
        return None

    async def _record(self, job: Job, what: str, call: Callable[[], Awaitable[_T]]) -> _T | None:
        """Write a job's outcome, retrying while the store fails (see the module docstring)."""
        backoff = _Backoff()
        first_failure: float | None = None
        while True:
            try:
                result = await call()
            except LeaseLost:
                log.warning(
                    "job %d (%s): its lease was taken over before %s; the new owner delivers it",
                    job.id,
                    job.lane,
                    what,
                )
                return None
            except Exception as exc:
                now = self.clock.time()
                first_failure = now if first_failure is None else first_failure
                self._trouble(what, exc)
                if now - first_failure >= OUTCOME_PATIENCE:
                    log.error(
                        "job %d (%s): gave up %s; it will be taken over when its lease runs out",
                        job.id,
                        job.lane,
                        what,
                    )
                    return None
                await self.clock.sleep(backoff.next())
                continue
            self._healthy()
            return result

    @staticmethod
    def _report(call: Callable[..., None], *args: Any) -> None:
        try:
            call(*args)
        except Exception:
            log.exception("delivery observer failed")
