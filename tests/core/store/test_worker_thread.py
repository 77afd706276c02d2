"""The thread SQLiteStore's connection lives on: order, outcomes, cancellation, shutdown."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Iterator

import pytest

from byoc.store.worker_thread import WorkerThread


@pytest.fixture
def worker() -> Iterator[WorkerThread]:
    made = WorkerThread("test-worker")
    yield made
    made.stop()


async def test_jobs_run_in_order_off_the_event_loop(worker: WorkerThread) -> None:
    seen: list[tuple[int, str]] = []

    def record(n: int) -> int:
        seen.append((n, threading.current_thread().name))
        return n * 10

    results = await asyncio.gather(*(worker.run(record, n) for n in range(50)))

    assert results == [n * 10 for n in range(50)]
    assert seen == [(n, "test-worker") for n in range(50)]


async def test_an_error_reaches_the_caller(worker: WorkerThread) -> None:
    def fail() -> None:
        raise KeyError("missing")

    with pytest.raises(KeyError, match="missing"):
        await worker.run(fail)
    assert await worker.run(len, "still serving") == 13


def test_call_blocks_for_the_outcome(worker: WorkerThread) -> None:
    assert worker.call(threading.current_thread) is not threading.current_thread()
    with pytest.raises(ZeroDivisionError):
        worker.call(divmod, 1, 0)


async def test_a_job_cancelled_before_it_starts_is_skipped(worker: WorkerThread) -> None:
    gate = threading.Event()
    ran: list[str] = []
    worker.post(gate.wait, 10)
    task = asyncio.create_task(worker.run(ran.append, "skipped"))
    await asyncio.sleep(0)  # the task queues its job behind the gate
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    gate.set()

    await worker.run(ran.append, "after")
    assert ran == ["after"]


async def test_a_job_cancelled_while_it_runs_finishes_unheard(worker: WorkerThread) -> None:
    started = threading.Event()
    proceed = threading.Event()
    done: list[bool] = []

    def slow() -> None:
        started.set()
        proceed.wait(10)
        done.append(True)
        raise RuntimeError("nobody listens any more")

    task = asyncio.create_task(worker.run(slow))
    await asyncio.to_thread(started.wait, 10)
    task.cancel()
    proceed.set()
    with pytest.raises(asyncio.CancelledError):
        await task

    await worker.run(int)
    assert done == [True]


async def test_a_posted_job_that_fails_is_logged(
    worker: WorkerThread, caplog: pytest.LogCaptureFixture
) -> None:
    def fail() -> None:
        raise ValueError("disk on fire")

    with caplog.at_level(logging.ERROR, logger="byoc.store.worker_thread"):
        worker.post(fail)
        await worker.run(int)  # runs after the posted job

    assert "disk on fire" in caplog.text


def test_stop_lets_queued_jobs_finish() -> None:
    worker = WorkerThread("test-worker")
    ran: list[int] = []
    for n in range(20):
        worker.post(ran.append, n)
    worker.stop()

    assert ran == list(range(20))
    assert not worker.alive


def test_an_outcome_for_a_closed_loop_does_not_kill_the_thread(worker: WorkerThread) -> None:
    started = threading.Event()
    gate = threading.Event()

    def held() -> None:
        started.set()
        gate.wait(10)

    async def leave_a_job_running() -> None:
        # asyncio.run cancels the task and closes the loop while the job still runs.
        asyncio.get_running_loop().create_task(worker.run(held))
        await asyncio.to_thread(started.wait, 10)

    asyncio.run(leave_a_job_running())
    gate.set()
    served = threading.Event()
    worker.post(served.set)

    assert served.wait(10)
    assert worker.alive


class _Recorded:
    """A transaction that records how each batch began and ended."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    def begin(self, *, sync: bool) -> None:
        self.seen.append(f"begin sync={sync}")

    def commit(self) -> None:
        self.seen.append("commit")

    def rollback(self) -> None:
        self.seen.append("rollback")


async def test_a_batch_is_synced_when_any_of_its_jobs_asks() -> None:
    transaction = _Recorded()
    worker = WorkerThread("test-batches", transaction=transaction)

    async def batch_behind_a_blocker(*syncs: bool) -> None:
        # While one job holds the thread, the jobs queued behind it run as one batch.
        started, release = threading.Event(), threading.Event()

        def block() -> None:
            started.set()
            release.wait()

        blocker = asyncio.ensure_future(worker.run(block, sync=False))
        await asyncio.to_thread(started.wait)
        queued = [asyncio.ensure_future(worker.run(int, sync=sync)) for sync in syncs]
        await asyncio.sleep(0)  # let the futures put their jobs on the queue
        release.set()
        await asyncio.gather(blocker, *queued)

    try:
        await batch_behind_a_blocker(False, False, False)
        await batch_behind_a_blocker(False, True)
    finally:
        worker.stop()
    assert transaction.seen == [
        "begin sync=False", "commit",  # the blocker
        "begin sync=False", "commit",  # three jobs that need no sync
        "begin sync=False", "commit",  # the blocker
        "begin sync=True", "commit",  # one of two jobs asks for a sync
    ]  # fmt: skip


async def test_a_batch_wakes_the_event_loop_once_for_all_its_outcomes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    worker = WorkerThread("test-wakes", transaction=_Recorded())
    loop = asyncio.get_running_loop()
    wakes: list[object] = []
    threadsafe = loop.call_soon_threadsafe

    def counted(callback: object, *args: object) -> object:
        wakes.append(callback)
        return threadsafe(callback, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(loop, "call_soon_threadsafe", counted)
    started, release = threading.Event(), threading.Event()

    def block() -> None:
        started.set()
        release.wait()

    try:
        blocker = asyncio.ensure_future(worker.run(block))
        await asyncio.to_thread(started.wait)
        wakes.clear()
        queued = [asyncio.ensure_future(worker.run(divmod, n, 2 - n)) for n in range(5)]
        await asyncio.sleep(0)  # let the futures put their jobs on the queue
        release.set()
        await blocker
        outcomes = await asyncio.gather(*queued, return_exceptions=True)
    finally:
        worker.stop()

    # Two batches (the blocker; five jobs queued behind it, one failing), one wake-up each.
    assert outcomes[:2] == [(0, 0), (1, 0)]
    assert isinstance(outcomes[2], ZeroDivisionError)
    assert outcomes[3:] == [(-3, 0), (-2, 0)]
    assert len(wakes) == 2
