"""Store throughput and claim latency with a big claims table.

    python benchmarks/store.py [--ops N] [--concurrency C] [--postgres URL|auto]
    python benchmarks/store.py --claims-table 1000000 [--postgres auto]

The first form prints operations per second of `get_link`, `save_link` and `claim` on
MemoryStore, on SQLiteStore with `synchronous="FULL"` and `"NORMAL"`, and on PostgresStore
when `--postgres` names a database (`auto`: a throwaway server, fsync on), in one run on one
machine, so the numbers compare. "one by one" awaits each call before the next (the latency a
single webhook sees); "C in flight" keeps C calls outstanding (the throughput of a busy bridge).

The second fills the claims table with N claims first (a fifth of them expired, the rest
expiring over the next week, as a week of traffic leaves it), then times `--samples` claims
one by one and with C in flight, and prints p50/p99/p99.9/max in milliseconds: the stores'
purges of expired claims run meanwhile, as they do in service. "sqlite inline" is the FULL
store's claim as inline delivery makes it (`synced=False`: no fsync of its own).

FULL pays one fsync per write: its write numbers measure the disk as much as the code.
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

# Measure the checkout this script lives in, not whichever byoc is installed.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from byoc.store import MemoryStore, SQLiteStore, Store, UserLink  # noqa: E402
from byoc.testing.postgres import TemporaryPostgres  # noqa: E402

Operation = Callable[[Store, int], Awaitable[object]]


def link(n: int, conversation: int = 0) -> UserLink:
    return UserLink(
        channel="viber",
        channel_user_id=f"user-{n}",
        helpdesk_user_id=f"hd-{n}",
        conversation_id=f"conv-{n}-{conversation}",
    )


async def get_link(store: Store, n: int) -> object:
    return await store.get_link("viber", f"user-{n}")


async def save_link(store: Store, n: int) -> object:
    # An existing user moving to a new conversation: the upsert path, with index updates.
    await store.save_link(link(n, conversation=1))
    return None


async def claim(store: Store, n: int) -> object:
    return await store.claim(f"viber:message-{n}", ttl=3600)


OPERATIONS: dict[str, Operation] = {
    "get_link": get_link,
    "save_link": save_link,
    "claim": claim,
}


STORES: dict[str, Callable[[Path], Store]] = {
    "memory": lambda directory: MemoryStore(),
    "sqlite FULL": lambda directory: SQLiteStore(directory / "full.db", synchronous="FULL"),
    "sqlite NORMAL": lambda directory: SQLiteStore(directory / "normal.db", synchronous="NORMAL"),
}


def with_postgres(url: str | None) -> dict[str, Callable[[Path], Store]]:
    if url is None:
        return STORES
    from byoc.store.postgres import PostgresStore

    return {**STORES, "postgres": lambda directory: PostgresStore(url)}


async def one_by_one(store: Store, operation: Operation, keys: range) -> float:
    started = time.perf_counter()
    for n in keys:
        await operation(store, n)
    return len(keys) / (time.perf_counter() - started)


async def in_flight(store: Store, operation: Operation, keys: range, concurrency: int) -> float:
    async def runner(lane: int) -> None:
        for n in keys[lane::concurrency]:
            await operation(store, n)

    started = time.perf_counter()
    await asyncio.gather(*(runner(lane) for lane in range(concurrency)))
    return len(keys) / (time.perf_counter() - started)


async def measure(store: Store, ops: int, concurrency: int) -> dict[str, tuple[float, float]]:
    for n in range(ops):
        await store.save_link(link(n))
    results: dict[str, tuple[float, float]] = {}
    for name, operation in OPERATIONS.items():
        sequential = await one_by_one(store, operation, range(ops))
        # Claims need fresh keys, or the second run would only find duplicates.
        second = range(ops, 2 * ops) if name == "claim" else range(ops)
        concurrent = await in_flight(store, operation, second, concurrency)
        results[name] = (sequential, concurrent)
    return results


async def main(ops: int, concurrency: int, stores: dict[str, Callable[[Path], Store]]) -> None:
    names = list(stores)
    table: dict[str, dict[str, tuple[float, float]]] = {}
    with tempfile.TemporaryDirectory() as directory:
        for name, make in stores.items():
            store = make(Path(directory))
            try:
                table[name] = await measure(store, ops, concurrency)
            finally:
                await store.aclose()

    print(f"ops/s, {ops} operations per cell (one by one / {concurrency} in flight)")
    print(f"{'':<12}" + "".join(f"{name:>28}" for name in names))
    for operation in OPERATIONS:
        cells = "".join(
            f"{table[name][operation][0]:>13,.0f} /{table[name][operation][1]:>12,.0f}"
            for name in names
        )
        print(f"{operation:<12}{cells}")


# -- claims with a big table ---------------------------------------------------------------------

WEEK = 7 * 24 * 3600.0


def claim_rows(count: int, now: float) -> list[tuple[str, float]]:
    """A week of claims: a fifth expired already, the rest expiring over the next week."""
    expired = count // 5
    return [
        (f"viber:old-{n}", now - 1 - (n % 3600))
        if n < expired
        else (f"viber:live-{n}", now + WEEK * (n - expired) / (count - expired))
        for n in range(count)
    ]


def fill_sqlite(path: Path, rows: list[tuple[str, float]]) -> None:
    connection = sqlite3.connect(path)
    with connection:
        connection.executemany("INSERT INTO claims (key, expires_at) VALUES (?, ?)", rows)
    connection.close()


async def fill_postgres(url: str, count: int, now: float) -> None:
    import psycopg

    expired = count // 5
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as connection:
        await connection.execute(b"TRUNCATE byoc_claims")
        await connection.execute(
            b"""
            INSERT INTO byoc_claims (key, expires_at)
            SELECT 'viber:old-' || n, %(now)s - 1 - (n %% 3600) FROM generate_series(0, %(e)s - 1) n
            UNION ALL
            SELECT 'viber:live-' || n, %(now)s + %(week)s * (n - %(e)s) / (%(c)s - %(e)s)
            FROM generate_series(%(e)s, %(c)s - 1) n
            """,
            {"now": now, "e": expired, "c": count, "week": WEEK},
        )
        await connection.execute(b"VACUUM ANALYZE byoc_claims")


async def claim_latencies(
    store: Store, samples: int, concurrency: int, tag: str = "", *, synced: bool = True
) -> list[float]:
    latencies: list[float] = []
    keys = iter(range(samples))

    async def runner(prefix: str) -> None:
        for n in keys:
            started = time.perf_counter()
            key = f"viber:new-{tag}-{concurrency}-{prefix}-{n}"
            assert await store.claim(key, ttl=WEEK, synced=synced)
            latencies.append(time.perf_counter() - started)

    await asyncio.gather(*(runner(str(lane)) for lane in range(concurrency)))
    return latencies


def percentiles(latencies: list[float]) -> str:
    ordered = sorted(latencies)

    def at(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000

    return f"{at(0.5):>7.2f} {at(0.99):>7.2f} {at(0.999):>7.2f} {ordered[-1] * 1000:>8.2f}"


async def claims_main(count: int, samples: int, concurrency: int, postgres: str | None) -> None:
    now = time.time()
    flights = (("one by one", 1), (f"{concurrency} in flight", concurrency))
    results: list[tuple[str, str, str]] = []
    with tempfile.TemporaryDirectory() as directory:
        for synchronous in ("FULL", "NORMAL"):
            path = Path(directory) / f"claims-{synchronous}.db"
            await SQLiteStore(path).aclose()  # creates the schema
            started = time.perf_counter()
            fill_sqlite(path, claim_rows(count, now))
            print(f"sqlite: {count:,} claims stored in {time.perf_counter() - started:.1f}s")
            store = SQLiteStore(path, synchronous=synchronous)
            try:
                for label, flight in flights:
                    latencies = await claim_latencies(store, samples, flight)
                    results.append((f"sqlite {synchronous}", label, percentiles(latencies)))
                if synchronous == "FULL":
                    # Inline delivery's claim: the FULL store commits it without its own fsync.
                    for label, flight in flights:
                        latencies = await claim_latencies(
                            store, samples, flight, tag="inline", synced=False
                        )
                        results.append(("sqlite inline", label, percentiles(latencies)))
            finally:
                await store.aclose()
    if postgres is not None:
        from byoc.store.postgres import PostgresStore

        started = time.perf_counter()
        first = PostgresStore(postgres)
        await first.ping()  # creates the schema
        await first.aclose()
        await fill_postgres(postgres, count, now)
        print(f"postgres: {count:,} claims stored in {time.perf_counter() - started:.1f}s")
        # synchronous_commit=off: a commit does not wait for its WAL flush (the database stays
        # consistent; the last commits before a crash of the server may be lost).
        joiner = "&" if "?" in postgres else "?"
        for name, url in (
            ("postgres", postgres),
            ("postgres async", f"{postgres}{joiner}options=-c%20synchronous_commit%3Doff"),
        ):
            store = PostgresStore(url)
            try:
                for label, flight in flights:
                    latencies = await claim_latencies(store, samples, flight, tag=name)
                    results.append((name, label, percentiles(latencies)))
            finally:
                await store.aclose()
    print(f"claim latency in ms with {count:,} claims stored, {samples:,} claims per row")
    print(f"{'':<16}{'':<16}{'p50':>7} {'p99':>7} {'p99.9':>7} {'max':>8}")
    for name, label, cells in results:
        print(f"{name:<16}{label:<16}{cells}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ops", type=int, default=2000, help="operations per measurement")
    parser.add_argument("--concurrency", type=int, default=32, help="calls in flight")
    parser.add_argument(
        "--postgres",
        help="a PostgreSQL URL to measure too (its claims are emptied), or `auto` to start a "
        "server",
    )
    parser.add_argument(
        "--claims-table",
        type=int,
        nargs="+",
        help="claims stored before timing claims; several sizes compare in one run",
    )
    parser.add_argument("--samples", type=int, default=20_000, help="claims timed per row")
    arguments = parser.parse_args()
    server = TemporaryPostgres.start(durable=True) if arguments.postgres == "auto" else None
    url = server.url if server is not None else arguments.postgres
    try:
        for size in arguments.claims_table or ():
            asyncio.run(claims_main(size, arguments.samples, arguments.concurrency, url))
        if not arguments.claims_table:
            asyncio.run(main(arguments.ops, arguments.concurrency, with_postgres(url)))
    finally:
        if server is not None:
            server.stop()
