"""Store throughput: `python benchmarks/store.py [--ops N] [--concurrency C]`.

Prints operations per second of `get_link`, `save_link` and `claim` on MemoryStore and on
SQLiteStore with `synchronous="FULL"` and `"NORMAL"`, in one run on one machine, so the numbers
compare. "one by one" awaits each call before the next (the latency a single webhook sees);
"C in flight" keeps C calls outstanding (the throughput of a busy bridge).

FULL pays one fsync per write: its write numbers measure the disk as much as the code.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

# Measure the checkout this script lives in, not whichever byoc is installed.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from byoc.store import MemoryStore, SQLiteStore, Store, UserLink  # noqa: E402

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


async def main(ops: int, concurrency: int) -> None:
    names = list(STORES)
    table: dict[str, dict[str, tuple[float, float]]] = {}
    with tempfile.TemporaryDirectory() as directory:
        for name, make in STORES.items():
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


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ops", type=int, default=2000, help="operations per measurement")
    parser.add_argument("--concurrency", type=int, default=32, help="calls in flight")
    arguments = parser.parse_args()
    asyncio.run(main(arguments.ops, arguments.concurrency))
