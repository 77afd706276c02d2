"""What only `PostgresStore` promises: migrations under a lock, several replicas on one
database (dedupe, lanes, locks, wake-ups across them), clear errors, surviving an outage."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import psycopg
import pytest

from byoc.errors import ConfigurationError
from byoc.store.base import StoreUnavailable
from byoc.store.postgres import PostgresStore, describe_url
from byoc.store.postgres_schema import MIGRATIONS, SCHEMA_VERSION, migrate, schema_version
from byoc.store.queue import Job, LeaseLost
from byoc.testing.clock import FakeClock
from byoc.testing.postgres import TemporaryPostgres

LEASE = 30.0

Replicas = Callable[..., Awaitable[PostgresStore]]


@pytest.fixture
async def replicas(postgres_url: str, clock: FakeClock) -> AsyncIterator[Replicas]:
    """Makes stores on one database, as several bridge processes would have."""
    made: list[PostgresStore] = []

    async def make(**options: Any) -> PostgresStore:
        store = PostgresStore(postgres_url, clock=clock, **options)
        made.append(store)
        return store

    yield make
    for store in made:
        await store.aclose()


async def sql(url: str, statement: str) -> list[tuple[Any, ...]]:
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as connection:
        cursor = await connection.execute(statement.encode())
        return await cursor.fetchall() if cursor.description else []


async def enqueue(store: PostgresStore, lane: str, key: str, owner: str | None = None) -> Job:
    job = await store.enqueue(
        lane=lane, kind="inbound", payload=key, dedupe_key=key, ttl=60, owner=owner, lease=LEASE
    )
    assert job is not None
    return job


# -- schema ------------------------------------------------------------------------------------


async def test_replicas_starting_together_migrate_once(
    replicas: Replicas, postgres_url: str
) -> None:
    stores = [await replicas() for _ in range(6)]
    await asyncio.gather(*(store.ping() for store in stores))
    assert await sql(postgres_url, "SELECT version FROM byoc_schema") == [(SCHEMA_VERSION,)]
    assert await stores[0].schema_version() == SCHEMA_VERSION


async def test_an_appended_step_upgrades_and_a_failing_one_changes_nothing(
    postgres_url: str,
) -> None:
    async with await psycopg.AsyncConnection.connect(postgres_url, autocommit=True) as conn:
        assert await schema_version(conn) == 0
        assert await migrate(conn) == SCHEMA_VERSION
        later = (*MIGRATIONS, ("CREATE TABLE byoc_later (id integer)",))
        assert await migrate(conn, later) == SCHEMA_VERSION + 1
        assert await migrate(conn, later) == SCHEMA_VERSION + 1
        broken = (*later, ("CREATE TABLE byoc_half (x integer)", "CREATE TABLE oops ("))
        with pytest.raises(psycopg.errors.SyntaxError):
            await migrate(conn, broken)
        assert await schema_version(conn) == SCHEMA_VERSION + 1
        cursor = await conn.execute(b"SELECT to_regclass('byoc_half')")
        assert await cursor.fetchone() == (None,)


async def test_a_database_newer_than_the_code_is_refused(
    replicas: Replicas, postgres_url: str
) -> None:
    await (await replicas()).ping()
    await sql(postgres_url, f"UPDATE byoc_schema SET version = {SCHEMA_VERSION + 1}")
    newcomer = await replicas()
    with pytest.raises(ConfigurationError, match="upgrade byoc") as raised:
        await newcomer.ping()
    assert "BYOC_STORE=postgresql://" in str(raised.value)


async def test_without_migrate_nothing_is_created(replicas: Replicas, postgres_url: str) -> None:
    looker = await replicas(migrate=False)
    assert await looker.schema_version() == 0
    assert await sql(postgres_url, "SELECT to_regclass('byoc_schema')") == [(None,)]


async def test_a_missing_database_is_a_configuration_error(postgres_url: str) -> None:
    url = postgres_url.replace("/postgres?", "/no_such_database_here?")
    store = PostgresStore(url)
    try:
        with pytest.raises(ConfigurationError, match="BYOC_STORE=.*no_such_database_here"):
            await store.ping()
    finally:
        await store.aclose()


def test_the_url_is_shown_without_its_password() -> None:
    shown = describe_url("postgresql://byoc:s3cret-pw@db.internal:6432/byoc?sslmode=require")
    assert shown == "postgresql://byoc@db.internal:6432/byoc"


async def test_text_with_nul_is_a_value_error_and_settings_keep_it(replicas: Replicas) -> None:
    store = await replicas()
    with pytest.raises(ValueError, match="NUL"):
        await store.claim("bad\x00key", ttl=1)
    await store.set_setting("k", "a\x00b")
    assert await store.get_setting("k") == "a\x00b"


# -- replicas on one database --------------------------------------------------------------------


async def test_one_webhook_on_two_replicas_queues_one_job(replicas: Replicas) -> None:
    a, b = await replicas(), await replicas()
    for n in range(20):
        results = await asyncio.gather(
            *(
                store.enqueue(lane="in:v", kind="inbound", payload="p", dedupe_key=f"m{n}", ttl=60)
                for store in (a, b, a, b)
            )
        )
        assert sum(job is not None for job in results) == 1
    assert await a.depth() == 20


async def test_replicas_taking_at_once_get_different_jobs(
    replicas: Replicas, clock: FakeClock
) -> None:
    a, b = await replicas(), await replicas()
    for n in range(40):
        await enqueue(a, f"lane-{n}", f"k{n}")
    taken = await asyncio.gather(
        *(
            store.take_due(owner=owner, now=clock.time(), limit=7, lease=LEASE)
            for _ in range(4)
            for store, owner in ((a, "a"), (b, "b"))
        )
    )
    ids = [job.id for jobs in taken for job in jobs]
    assert len(ids) == len(set(ids)) == 40


async def test_lanes_keep_order_under_concurrent_replicas(
    replicas: Replicas, clock: FakeClock
) -> None:
    """Two replicas enqueue into and work three lanes at once: every job runs once, in order
    within its lane, never two of one lane at the same time."""
    stores = {"a": await replicas(), "b": await replicas()}
    sent: dict[str, list[tuple[int, str]]] = {}
    done: dict[str, list[str]] = {}
    running: set[str] = set()
    rng = random.Random(3)

    async def producer(name: str) -> None:
        for n in range(30):
            lane = f"lane-{rng.randrange(3)}"
            key = f"{name}-{n}"
            job = await enqueue(stores[name], lane, key, owner=name)
            sent.setdefault(lane, []).append((job.id, key))

    async def worker(name: str) -> None:
        store = stores[name]
        idle = 0
        while idle < 50:
            jobs = await store.take_due(owner=name, now=clock.time(), limit=2, lease=LEASE)
            idle = 0 if jobs else idle + 1
            queue = list(jobs)
            while queue:
                job = queue.pop()
                assert job.lane not in running, "two jobs of one lane at once"
                running.add(job.lane)
                await asyncio.sleep(0)
                done.setdefault(job.lane, []).append(job.payload)
                running.discard(job.lane)
                following = await store.finish(job.id, owner=name, next_lease=LEASE)
                if following is not None:
                    queue.append(following)
            await asyncio.sleep(0.002)

    # Jobs enqueued with an owner come back leased; hand them to the workers by handing back.
    await asyncio.gather(producer("a"), producer("b"))
    for name, store in stores.items():
        await store.hand_back(owner=name)
    await asyncio.gather(worker("a"), worker("b"))
    # Accepted order is id order: ids are drawn under the lane's lock.
    assert done == {lane: [key for _, key in sorted(jobs)] for lane, jobs in sent.items()}


async def test_a_lock_excludes_across_replicas(replicas: Replicas) -> None:
    a, b = await replicas(), await replicas()
    inside: list[str] = []
    entered = asyncio.Event()
    leave = asyncio.Event()

    async def first() -> None:
        async with a.lock("in:viber:u1"):
            inside.append("a")
            entered.set()
            await leave.wait()
            inside.remove("a")

    async def second() -> None:
        await entered.wait()
        async with b.lock("in:viber:u1"):
            assert inside == []  # a has left
            inside.append("b")
        inside.remove("b")

    task_a = asyncio.create_task(first())
    task_b = asyncio.create_task(second())
    await entered.wait()
    async with b.lock("in:viber:other"):  # another key is free meanwhile
        pass
    await asyncio.sleep(0.05)  # b keeps trying; a holds the lock
    assert inside == ["a"] and not task_b.done()
    leave.set()
    await asyncio.wait_for(asyncio.gather(task_a, task_b), timeout=10)


async def test_a_job_queued_on_one_replica_wakes_the_others(
    replicas: Replicas, clock: FakeClock
) -> None:
    a, b = await replicas(), await replicas()
    woken = asyncio.Event()
    await b.ping()
    b.watch(woken.set)
    await asyncio.wait_for(woken.wait(), timeout=10)  # woken once on listening (catch-up)
    woken.clear()
    await enqueue(a, "lane", "k1", owner="a")  # leased on a: nothing to announce
    await enqueue(a, "lane", "k2")  # waits behind k1: nothing to announce either
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(woken.wait(), timeout=0.3)
    await enqueue(a, "other", "k3")  # a head anyone may take: announced
    await asyncio.wait_for(woken.wait(), timeout=10)
    woken.clear()
    assert await a.hand_back(owner="a") == 1  # handed back: announced
    await asyncio.wait_for(woken.wait(), timeout=10)


async def test_a_lease_taken_over_by_another_replica_refuses_the_old_owner(
    replicas: Replicas, clock: FakeClock
) -> None:
    a, b = await replicas(), await replicas()
    job = await enqueue(a, "lane", "k1", owner="a")
    await clock.advance(LEASE)
    (taken,) = await b.take_due(owner="b", now=clock.time(), limit=5, lease=LEASE)
    assert taken.id == job.id and taken.recovering
    with pytest.raises(LeaseLost):
        await a.finish(job.id, owner="a", claims=["posted:x"])
    assert await b.claim("posted:x", ttl=10)  # the refused finish recorded nothing


async def test_a_claim_cancelled_while_it_runs_is_undone(replicas: Replicas) -> None:
    store = await replicas()
    await store.ping()
    task = asyncio.create_task(store.claim("viber:m1", ttl=60))
    await asyncio.sleep(0)  # the claim is on its way to the database
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    for _ in range(100):  # the undo runs in the background, after the claim
        if await store.claim("viber:m1", ttl=60):
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the cancelled claim was never undone")


async def test_due_jobs_are_taken_through_indexes(replicas: Replicas, postgres_url: str) -> None:
    await (await replicas()).ping()
    for statement in (
        "SELECT id FROM byoc_jobs WHERE ready_at <= 1 ORDER BY ready_at, id LIMIT 10",
        "SELECT min(ready_at) FROM byoc_jobs WHERE ready_at IS NOT NULL",
        "SELECT key FROM byoc_claims WHERE expires_at <= 1 LIMIT 10",
        "SELECT id FROM byoc_dead_letters WHERE died_at < 1 LIMIT 10",
        "SELECT 1 FROM byoc_jobs WHERE lane = 'x'",
    ):
        async with await psycopg.AsyncConnection.connect(postgres_url, autocommit=True) as c:
            # An empty table is cheaper to scan; say what a big one would do.
            await c.execute(b"SET enable_seqscan = off")
            cursor = await c.execute(f"EXPLAIN {statement}".encode())
            plan = " ".join(row[0] for row in await cursor.fetchall())
        assert "Index" in plan and "Seq Scan" not in plan, (statement, plan)


# -- outage ------------------------------------------------------------------------------------


async def test_an_outage_raises_store_unavailable_and_work_resumes_after(
    postgres_server: TemporaryPostgres, clock: FakeClock
) -> None:
    store = PostgresStore(postgres_server.url, clock=clock, acquire_timeout=1.0)
    woken = asyncio.Event()
    try:
        await enqueue(store, "lane", "before")
        store.watch(woken.set)
        await asyncio.wait_for(woken.wait(), timeout=10)
        woken.clear()
        postgres_server.stop_server()
        for call in (store.ping(), store.get_link("viber", "u"), store.depth()):
            with pytest.raises(StoreUnavailable, match="unavailable"):
                await asyncio.wait_for(call, timeout=15)
        postgres_server.start_server()
        for _ in range(100):
            try:
                await store.ping()
                break
            except StoreUnavailable:
                await asyncio.sleep(0.1)
        assert await store.depth() == 1  # nothing acknowledged was lost
        assert (
            await store.enqueue(lane="lane", kind="k", payload="p", dedupe_key="before", ttl=60)
            is None
        )  # and the dedupe claim survived
        await asyncio.wait_for(woken.wait(), timeout=30)  # the listener is back and says so
    finally:
        await store.aclose()
