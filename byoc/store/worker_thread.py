"""One thread that runs blocking calls in order, for asyncio code."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future
from contextlib import suppress
from queue import SimpleQueue
from typing import Any, Protocol, TypeVar

from typing_extensions import TypeVarTuple, Unpack

__all__ = ["Transaction", "WorkerThread"]

_Ts = TypeVarTuple("_Ts")
_R = TypeVar("_R")

_log = logging.getLogger(__name__)

# A job: the call, where its outcome goes (an asyncio future on its loop, a concurrent future
# for a blocking caller, or nowhere), whether it may share a transaction with others, and
# whether its commit must be synced to disk before its outcome is handed out.
_Job = tuple[
    Callable[..., Any],
    tuple[Any, ...],
    asyncio.AbstractEventLoop | None,
    asyncio.Future[Any] | Future[Any] | None,
    bool,
    bool,
]

# Bounds the latency one batch adds to the jobs in it.
_MAX_BATCH = 256


class Transaction(Protocol):
    """How to open and close the transaction a batch of jobs shares."""

    def begin(self, *, sync: bool) -> None:
        """`sync=False`: no job in the batch needs its commit synced to disk; a later synced
        commit (or a checkpoint) makes it durable."""

    def commit(self) -> None: ...

    def rollback(self) -> None: ...


class WorkerThread:
    """A thread of its own for a resource that must not block the event loop (a sqlite3
    connection): jobs run one at a time, in the order they were submitted.

    ```python
    worker = WorkerThread("byoc-sqlite")
    connection = worker.call(sqlite3.connect, path)
    row = await worker.run(query, connection, "SELECT 1")
    worker.stop()
    ```

    Cheaper per call than `loop.run_in_executor` on a one-thread `ThreadPoolExecutor` (a
    third to a half less CPU per round trip where it was measured): the outcome goes straight
    to the caller's asyncio future with one `call_soon_threadsafe`, without a
    `concurrent.futures.Future` and its lock in between.

    The thread is a daemon: a program that exits without `stop()` is not kept alive by it
    (a job cut short that way is like a crash, which SQLite survives).
    """

    def __init__(self, name: str, *, transaction: Transaction | None = None) -> None:
        self._transaction = transaction
        self._jobs: SimpleQueue[_Job | None] = SimpleQueue()
        self._thread = threading.Thread(target=self._serve, name=name, daemon=True)
        self._thread.start()

    async def run(
        self,
        fn: Callable[[Unpack[_Ts]], _R],
        *args: Unpack[_Ts],
        alone: bool = False,
        sync: bool = True,
    ) -> _R:
        """Run `fn(*args)` on the thread and return (or raise) its outcome.

        With a `transaction`, jobs queued together share one (group commit) and their outcomes
        are handed out once it committed; `alone=True` runs a job outside any transaction.
        `sync=False` lets the transaction commit without syncing to disk when no job in it asks
        for that: the write survives a crash of the process at once, and a power loss once a
        later synced commit (or a checkpoint) covered it.
        If the caller is cancelled before the job starts, the job is skipped; once started, it
        runs to the end and its outcome is dropped.
        """
        loop = asyncio.get_running_loop()
        future: asyncio.Future[_R] = loop.create_future()
        self._jobs.put((fn, args, loop, future, not alone, sync))
        return await future

    def call(self, fn: Callable[[Unpack[_Ts]], _R], *args: Unpack[_Ts]) -> _R:
        """Run `fn(*args)` on the thread, outside any transaction, blocking the calling thread."""
        future: Future[_R] = Future()
        self._jobs.put((fn, args, None, future, False, True))
        return future.result()

    def post(
        self, fn: Callable[[Unpack[_Ts]], object], *args: Unpack[_Ts], alone: bool = False
    ) -> None:
        """Queue `fn(*args)` and return at once; an error it raises is logged. `alone=True`
        runs it outside any transaction, as `run` does."""
        self._jobs.put((fn, args, None, None, not alone, True))

    def stop(self) -> None:
        """Let the jobs already queued finish, then end the thread and wait for it."""
        self._jobs.put(None)
        self._thread.join()

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def _serve(self) -> None:
        while (job := self._jobs.get()) is not None:
            if self._transaction is None or not job[4]:
                self._run_one(job)
                continue
            batch = [job]
            stopping = False
            while len(batch) < _MAX_BATCH and not self._jobs.empty():
                more = self._jobs.get()
                if more is None:
                    stopping = True
                    break
                if not more[4]:
                    # A job that must run outside a transaction ends the batch; it runs next.
                    self._run_batch(batch)
                    batch = []
                    self._run_one(more)
                    break
                batch.append(more)
            if batch:
                self._run_batch(batch)
            if stopping:
                return

    def _run_one(self, job: _Job) -> None:
        fn, args, loop, future, _, _ = job
        if future is not None and future.cancelled():
            return
        try:
            result = fn(*args)
        except BaseException as exc:  # handed to the caller, whatever it is
            _deliver(loop, future, None, exc)
        else:
            _deliver(loop, future, result, None)

    def _run_batch(self, batch: list[_Job]) -> None:
        """Run jobs in one transaction (group commit): one fsync for all of them.

        Outcomes are handed out only after the commit: a caller told "stored" must be able to
        rely on it. If the commit fails, every job of the batch gets that error.
        """
        assert self._transaction is not None
        outcomes: list[tuple[_Job, Any, BaseException | None]] = []
        try:
            self._transaction.begin(sync=any(job[5] for job in batch))
        except BaseException as exc:
            for job in batch:
                _deliver(job[2], job[3], None, exc)
            return
        for job in batch:
            fn, args, _, future, _, _ = job
            if future is not None and future.cancelled():
                continue
            try:
                outcomes.append((job, fn(*args), None))
            except BaseException as exc:
                outcomes.append((job, None, exc))
        try:
            self._transaction.commit()
        except BaseException as exc:
            with suppress(BaseException):
                self._transaction.rollback()
            for job, _, _ in outcomes:
                _deliver(job[2], job[3], None, exc)
            return
        # One wake-up of each caller's loop for the whole batch, not one per job.
        settled: dict[asyncio.AbstractEventLoop, list[tuple[Any, Any, BaseException | None]]] = {}
        for job, result, error in outcomes:
            loop, future = job[2], job[3]
            if isinstance(future, asyncio.Future) and loop is not None:
                settled.setdefault(loop, []).append((future, result, error))
            else:
                _deliver(loop, future, result, error)
        for loop, items in settled.items():
            # RuntimeError: the callers' loop is closed, so nobody is left to tell.
            with suppress(RuntimeError):
                loop.call_soon_threadsafe(_settle_all, items)


def _deliver(
    loop: asyncio.AbstractEventLoop | None,
    future: asyncio.Future[Any] | Future[Any] | None,
    result: Any,
    error: BaseException | None,
) -> None:
    if isinstance(future, asyncio.Future):
        assert loop is not None
        # RuntimeError: the caller's loop is closed, so nobody is left to tell.
        with suppress(RuntimeError):
            loop.call_soon_threadsafe(_settle, future, result, error)
    elif future is not None:
        if error is None:
            future.set_result(result)
        else:
            future.set_exception(error)
    elif error is not None:
        _log.error("background store job %r failed", error, exc_info=error)


def _settle_all(items: list[tuple[asyncio.Future[Any], Any, BaseException | None]]) -> None:
    for future, result, error in items:
        _settle(future, result, error)


def _settle(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    # On the caller's loop, where cancellation happens too, so this check does not race.
    if future.cancelled():
        return
    if error is None:
        future.set_result(result)
    else:
        future.set_exception(error)
