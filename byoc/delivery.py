"""Delivery workers: run queued jobs in per-lane order, retry them, bury what cannot go.

The webhook handler only stores a job and answers; a `Dispatcher` delivers it afterwards:

- one job per lane at a time (a lane is one channel user and direction), so a user's messages
  never overtake each other, while different users proceed in parallel;
- at most `concurrency` jobs in flight, and only those in memory: the rest stay in the store;
- a failed job waits as the `RetryPolicy` says and blocks its lane meanwhile; a job the policy
  gives up on (or a permanent refusal) becomes a dead letter and the lane moves on;
- `start()` first hands back jobs that were in flight when the process died, marked
  `recovering`; `stop()` lets jobs in flight finish within a grace period and hands back the rest.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from .clock import Clock, SystemClock
from .errors import ByocError
from .retry import RetryPolicy
from .store import Store
from .store.queue import Job

__all__ = ["DeliveryObserver", "Dispatcher", "JobHandler"]

log = logging.getLogger("byoc.delivery")

JobHandler = Callable[[Job], Awaitable[None]]


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


class Dispatcher:
    """Runs the store's queue through `handler`."""

    def __init__(
        self,
        *,
        store: Store,
        handler: JobHandler,
        policy: RetryPolicy | None = None,
        clock: Clock | None = None,
        concurrency: int = 32,
        poll_interval: float = 1.0,
        observer: DeliveryObserver | None = None,
    ) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self.store = store
        self.handler = handler
        self.policy = policy or RetryPolicy()
        self.clock = clock or SystemClock()
        self.concurrency = concurrency
        # Jobs queued by another process (a dead letter replayed from the command line) are
        # found by looking again this often.
        self.poll_interval = poll_interval
        self.observer: DeliveryObserver = observer or _LogObserver()
        self._running: set[asyncio.Task[None]] = set()
        self._wakeup = asyncio.Event()
        self._idle = asyncio.Event()
        self._loop_task: asyncio.Task[None] | None = None
        self._stopping = False

    @property
    def started(self) -> bool:
        return self._loop_task is not None

    @property
    def in_flight(self) -> int:
        return len(self._running)

    async def start(self) -> None:
        """Recover jobs a crash left in flight, then start delivering."""
        if self._loop_task is not None:
            return
        recovered = await self.store.release_all(recovering=True)
        if recovered:
            log.warning(
                "%d job(s) were in flight when the bridge stopped; retrying them", recovered
            )
        self._stopping = False
        self._loop_task = asyncio.create_task(self._loop(), name="byoc-dispatcher")

    def wake(self) -> None:
        """New work was queued."""
        self._idle.clear()
        self._wakeup.set()

    async def wait_idle(self) -> None:
        """Wait until nothing is in flight and nothing is due (jobs may wait for a retry)."""
        while True:
            await self._idle.wait()
            # The flag may predate a retry timer that has come due since: look, don't trust.
            due = await self.store.next_due()
            if not self._running and (due is None or due > self.clock.time()):
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
        if self._running:
            _, pending = await asyncio.wait(set(self._running), timeout=grace)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        # Whatever did not finish goes back to the queue; it may have reached the peer.
        handed_back = await self.store.release_all(recovering=True)
        if handed_back:
            log.warning("%d job(s) handed back to the queue at shutdown", handed_back)

    async def _loop(self) -> None:
        while not self._stopping:
            self._wakeup.clear()
            free = self.concurrency - len(self._running)
            taken: list[Job] = []
            if free > 0:
                taken = await self.store.take_due(now=self.clock.time(), limit=free)
                for job in taken:
                    task = asyncio.create_task(self._run(job), name=f"byoc-job-{job.id}")
                    self._running.add(task)
            if taken:
                self._idle.clear()
                continue
            if not self._running:
                self._idle.set()
            await self._sleep_until_work()

    async def _sleep_until_work(self) -> None:
        due = await self.store.next_due()
        if self._wakeup.is_set():
            return
        waits: set[asyncio.Future[Any]] = {asyncio.ensure_future(self._wakeup.wait())}
        delay = self.poll_interval
        if due is not None:
            delay = min(delay, max(0.0, due - self.clock.time()))
        waits.add(asyncio.ensure_future(self.clock.sleep(delay)))
        _, pending = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        for future in pending:
            future.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await future

    async def _run(self, job: Job) -> None:
        try:
            await self.handler(job)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            await self._failed(job, exc)
        else:
            await self.store.finish(job.id)
            self.observer.finished(job, self.clock.time())
        finally:
            task = asyncio.current_task()
            if task is not None:
                self._running.discard(task)
            self._wakeup.set()

    async def _failed(self, job: Job, exc: Exception) -> None:
        now = self.clock.time()
        attempt = len(job.attempts) + 1
        delay = self.policy.delay(attempt=attempt, error=exc, elapsed=now - job.accepted_at)
        if delay is None:
            reason = (
                "refused" if not self.policy.retryable(exc) else "retry budget used up"
            ) + f" after {attempt} attempt(s)"
            if not isinstance(exc, ByocError):
                log.exception("job %d (%s) failed unexpectedly", job.id, job.lane, exc_info=exc)
            await self.store.bury(job.id, reason=reason, error=_describe(exc), at=now)
            await self.observer.buried(job, reason, _describe(exc))
            return
        self.observer.retrying(job, attempt, delay, _describe(exc))
        await self.store.retry(job.id, not_before=now + delay, error=_describe(exc), at=now)
