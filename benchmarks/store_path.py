"""CPU per message of the durable path's store calls alone, on SQLite.

    python benchmarks/store_path.py [--messages N] [--in-flight C] [--users U]
    PYTHONPATH=/path/to/other/checkout python benchmarks/store_path.py   # another revision

Each message makes the calls a durable bridge makes for a user message: `enqueue` (dedupe key
and job, leased to this process, as the dispatcher does when a slot is free), `get_link` (the
user's help-desk user), then `finish` (the posted message's id recorded, the job deleted),
with C messages in flight over U users. Printed: CPU µs per message of the whole process (the
event loop and the store's thread, fsyncs included: `synchronous="FULL"`), messages per second,
and the transactions per message. Without the HTTP around it the store's share is seen
clearly; compare revisions within one run of this script on each, on the same disk.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

# The checkout named by PYTHONPATH, else the one this script lives in.
if not os.environ.get("PYTHONPATH"):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from byoc.store import SQLiteStore, UserLink  # noqa: E402


async def one_message(store: SQLiteStore, user: int, n: int) -> None:
    job = await store.enqueue(
        lane=f"in:viber:u{user}",
        kind="inbound",
        payload='{"t":"InboundMessage","channel":"viber","user_id":"u","message_id":"m"}',
        dedupe_key=f"in:viber:{n}",
        ttl=7 * 24 * 3600,
        owner="bench",
        lease=30,
    )
    assert job is not None
    link = await store.get_link("viber", f"u{user}")
    assert link is not None
    await store.finish(job.id, owner="bench", claims=[f"posted:{n}"], claim_ttl=3600)


async def run(messages: int, in_flight: int, users: int) -> None:
    with tempfile.TemporaryDirectory(prefix="byoc-store-path-") as tmp:
        store = SQLiteStore(Path(tmp) / "byoc.db")
        try:
            for user in range(users):
                await store.save_link(
                    UserLink(
                        channel="viber",
                        channel_user_id=f"u{user}",
                        helpdesk_user_id=f"h{user}",
                        conversation_id=f"c{user}",
                    )
                )
            # Users take turns so that no two messages in flight share a lane (each is the
            # head of its lane and leased at once, as in the side-by-side benchmark).
            counter = iter(range(messages))

            async def sender() -> None:
                for n in counter:
                    await one_message(store, n % users, n)

            cpu, wall = time.process_time(), time.perf_counter()
            await asyncio.gather(*(sender() for _ in range(in_flight)))
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        finally:
            await store.aclose()
    print(
        f"{messages} messages, {in_flight} in flight: {1e6 * cpu / messages:.0f} µs CPU per"
        f" message, {messages / wall:.0f} messages/s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=3000, help="messages measured (3000)")
    parser.add_argument("--in-flight", type=int, default=32, help="messages in flight (32)")
    parser.add_argument("--users", type=int, default=256, help="users (256)")
    args = parser.parse_args()
    if args.users < args.in_flight:
        parser.error("--users must be at least --in-flight: one lane per message in flight")
    asyncio.run(run(args.messages, args.in_flight, args.users))


if __name__ == "__main__":
    main()
