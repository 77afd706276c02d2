"""N users × M messages through the bridge against the Freshchat emulator, over real HTTP.

    python benchmarks/bridge.py [--users 40] [--messages 15]

The emulator runs as a server in a subprocess (`byoc emulate freshchat`), so every upstream call
crosses a real socket through the HTTP transport the bridge uses. In the same run, against the
same emulator, the same workload goes through:

- `bridge inline`   — the bridge delivering inside the webhook request (MemoryStore);
- `bridge durable`  — the default: the webhook is stored in SQLite, acknowledged, then delivered
                      by the workers (latency here is webhook → message in Freshchat);
- `naive`           — the seed algorithm of the marketplace apps: look the user up (and create
                      it), list its conversations, then post — every time, no mapping;
- `raw`             — one POST per message to a known conversation: the floor.

Users send their messages one after another; users run concurrently. Printed: upstream calls
per message (first message of a new user; steady state), messages/s, latency p50/p99 and the
latency the bridge adds over `raw`; for the durable path, the queue depth over time.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

# Measure this checkout, not whatever byoc an environment has installed.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx  # noqa: E402

from byoc.bridge import Bridge  # noqa: E402
from byoc.freshchat import FreshchatClient, FreshchatMessaging  # noqa: E402
from byoc.store import MemoryStore, SQLiteStore, Store  # noqa: E402
from byoc.testing.fake_channel import FakeChannel  # noqa: E402
from byoc.testing.ports import free_port  # noqa: E402

TOKEN = "bench-token"


class Emulator:
    """`byoc emulate freshchat` in a subprocess, and its control API."""

    def __init__(self) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "byoc",
                "emulate",
                "freshchat",
                "--port",
                str(self.port),
                "--token",
                TOKEN,
                "--log-level",
                "warning",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])},
        )
        self.control = httpx.AsyncClient(base_url=self.base, timeout=30)

    async def ready(self) -> None:
        for _ in range(200):
            try:
                await self.control.get("/_emulator/calls")
                return
            except httpx.TransportError:
                await asyncio.sleep(0.05)
        raise RuntimeError(
            "the emulator did not start: " + (self.proc.stderr.read() or b"").decode()
        )  # type: ignore[union-attr]

    async def public_key(self) -> str:
        return str((await self.control.get("/_emulator/public-key")).json()["public_key_text"])

    async def reset_calls(self) -> None:
        await self.control.delete("/_emulator/calls")

    async def total_calls(self) -> int:
        return int((await self.control.get("/_emulator/calls")).json()["total"])

    async def aclose(self) -> None:
        await self.control.aclose()
        self.proc.terminate()
        self.proc.wait(10)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class Result:
    def __init__(self, name: str) -> None:
        self.name = name
        self.latencies: list[float] = []
        self.answers: list[float] = []  # how long the webhook's sender waited for the 2xx
        self.first_calls = 0.0
        self.steady_calls = 0.0
        self.elapsed = 0.0
        self.messages = 0

    @property
    def rate(self) -> float:
        return self.messages / self.elapsed if self.elapsed else 0.0


async def run_workload(
    emulator: Emulator,
    result: Result,
    users: int,
    messages: int,
    send: Callable[[str, int], Awaitable[float]],
    settle: Callable[[], Awaitable[None]] | None = None,
) -> None:
    """Phase 1: every user's first message (concurrently); phase 2: the rest."""

    async def one_user(user: str, first: int, last: int) -> None:
        for i in range(first, last):
            result.latencies.append(await send(user, i))

    names = [f"{result.name.replace(' ', '-')}-{u}" for u in range(users)]
    await emulator.reset_calls()
    start = time.perf_counter()
    await asyncio.gather(*(one_user(n, 0, 1) for n in names))
    if settle:
        await settle()
    result.first_calls = await emulator.total_calls() / users
    await emulator.reset_calls()
    await asyncio.gather(*(one_user(n, 1, messages) for n in names))
    if settle:
        await settle()
    result.elapsed = time.perf_counter() - start
    result.steady_calls = await emulator.total_calls() / (users * (messages - 1))
    result.messages = users * messages


async def bench_bridge(
    emulator: Emulator, name: str, store: Store, delivery: str, users: int, messages: int
) -> tuple[Result, list[tuple[float, int]]]:
    result = Result(name)
    messaging = FreshchatMessaging(
        api_url=f"{emulator.base}/v2", token=TOKEN, webhook_public_key=await emulator.public_key()
    )
    channel = FakeChannel()
    bridge = Bridge(messaging=messaging, channels=[channel], store=store, delivery=delivery)  # type: ignore[arg-type]
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=bridge), base_url="http://bridge")
    # End-to-end latency: from the webhook to the help desk's answer for that message.
    sent_at: dict[str, float] = {}
    done_at: dict[str, float] = {}
    original_post = messaging.post_message
    original_create = messaging.create_conversation

    async def timed_post(conversation_id: str, user_id: str, parts: Any) -> Any:
        posted = await original_post(conversation_id, user_id, parts)
        done_at[parts[0].text] = time.perf_counter()
        return posted

    async def timed_create(user_id: str, parts: Any) -> Any:
        posted = await original_create(user_id, parts)
        done_at[parts[0].text] = time.perf_counter()
        return posted

    messaging.post_message = timed_post  # type: ignore[method-assign]
    messaging.create_conversation = timed_create  # type: ignore[method-assign]

    async def send(user: str, i: int) -> float:
        text = f"{user}/{i}"
        body, headers = channel.user_message(user, text, message_id=text)
        sent_at[text] = time.perf_counter()
        response = await client.post("/channels/fake/webhook", content=body, headers=headers)
        if response.status_code != 200:
            raise RuntimeError(f"{name}: {response.status_code} {response.text}")
        return time.perf_counter() - sent_at[text]

    depth: list[tuple[float, int]] = []
    sampling = True

    async def sample_depth() -> None:
        t0 = time.perf_counter()
        while sampling:
            depth.append((time.perf_counter() - t0, await store.depth()))
            await asyncio.sleep(0.05)

    sampler = asyncio.create_task(sample_depth()) if delivery == "durable" else None
    await run_workload(emulator, result, users, messages, send, bridge.wait_idle)
    sampling = False
    if sampler:
        await sampler
    if delivery == "durable":
        result.answers = result.latencies
        result.latencies = [done_at[t] - sent_at[t] for t in sent_at]
    await client.aclose()
    await bridge.aclose()
    return result, depth


async def bench_naive(emulator: Emulator, users: int, messages: int) -> Result:
    result = Result("naive")
    client = FreshchatClient(f"{emulator.base}/v2", TOKEN)
    channel_id = (await client.list_channels())["channels"][0]["id"]

    async def send(user: str, i: int) -> float:
        start = time.perf_counter()
        parts = [{"text": {"content": f"{user}/{i}"}}]
        found = (await client.find_users(f"fake:{user}"))["users"]
        user_id = (
            found[0]["id"]
            if found
            else (await client.create_user({"reference_id": f"fake:{user}"}))["id"]
        )
        conversations = (await client.list_user_conversations(user_id))["conversations"]
        message = {
            "message_parts": parts,
            "actor_type": "user",
            "actor_id": user_id,
            "message_type": "normal",
        }
        if conversations:
            await client.post_message(conversations[0]["id"], message)
        else:
            await client.create_conversation(
                {
                    "status": "new",
                    "channel_id": channel_id,
                    "users": [{"id": user_id}],
                    "messages": [message],
                }
            )
        return time.perf_counter() - start

    await run_workload(emulator, result, users, messages, send)
    await client.aclose()
    return result


async def bench_raw(emulator: Emulator, users: int, messages: int) -> Result:
    result = Result("raw")
    client = FreshchatClient(f"{emulator.base}/v2", TOKEN)
    channel_id = (await client.list_channels())["channels"][0]["id"]
    targets: dict[str, tuple[str, str]] = {}

    async def send(user: str, i: int) -> float:
        if user not in targets:  # set-up, not timed: the floor is one call per message
            created = await client.create_user({"reference_id": f"raw:{user}"})
            first = {
                "message_parts": [{"text": {"content": "set-up"}}],
                "actor_type": "user",
                "actor_id": created["id"],
                "message_type": "normal",
            }
            conversation = await client.create_conversation(
                {
                    "status": "new",
                    "channel_id": channel_id,
                    "users": [{"id": created["id"]}],
                    "messages": [first],
                }
            )
            targets[user] = (created["id"], conversation["conversation_id"])
            await emulator.reset_calls()
        user_id, conversation_id = targets[user]
        start = time.perf_counter()
        await client.post_message(
            conversation_id,
            {
                "message_parts": [{"text": {"content": f"{user}/{i}"}}],
                "actor_type": "user",
                "actor_id": user_id,
                "message_type": "normal",
            },
        )
        return time.perf_counter() - start

    # Set every user up first so the timed phases measure one call per message only.
    for u in range(users):
        await send(f"raw-{u}", -1)
    result.latencies.clear()
    await run_workload(emulator, result, users, messages, send)
    result.first_calls = 1.0  # the set-up above is outside the measurement
    await client.aclose()
    return result


def report(results: list[Result], depth: list[tuple[float, int]]) -> None:
    raw = next(r for r in results if r.name == "raw")
    inline = next(r for r in results if r.name == "bridge inline")
    raw_p50, raw_p99 = percentile(raw.latencies, 0.5), percentile(raw.latencies, 0.99)
    columns = ("calls/msg first", "steady", "msgs/s", "×raw", "p50 ms", "p99 ms", "+p50", "+p99")
    print(f"{'':16} " + " ".join(f"{c:>{max(6, len(c))}}" for c in columns))
    for r in results:
        p50, p99 = percentile(r.latencies, 0.5), percentile(r.latencies, 0.99)
        cells = (
            f"{r.first_calls:15.2f}",
            f"{r.steady_calls:6.2f}",
            f"{r.rate:6.0f}",
            f"{r.rate / raw.rate:6.2f}",
            f"{p50 * 1000:6.1f}",
            f"{p99 * 1000:6.1f}",
            f"{(p50 - raw_p50) * 1000:6.1f}",
            f"{(p99 - raw_p99) * 1000:6.1f}",
        )
        print(f"{r.name:16} " + " ".join(cells))
    durable = next((r for r in results if r.name == "bridge durable"), None)
    if durable is not None:
        print(
            f"\ndurable / inline throughput: {durable.rate / inline.rate:.2f}×"
            f"   p99 {percentile(durable.latencies, 0.99) * 1000:.1f} ms"
            f" vs {percentile(inline.latencies, 0.99) * 1000:.1f} ms"
            " (webhook to message in Freshchat)"
        )
        print(
            "durable webhook answered (stored, 2xx):"
            f" p50 {percentile(durable.answers, 0.5) * 1000:.1f} ms"
            f", p99 {percentile(durable.answers, 0.99) * 1000:.1f} ms"
        )
    if depth:
        step = max(1, len(depth) // 12)
        print(
            "durable queue depth over time: " + ", ".join(f"{t:.1f}s:{d}" for t, d in depth[::step])
        )
    print(f"\nHTTP transport: {type(FreshchatClient('http://x/v2', 't').http._transport).__name__}")  # noqa: SLF001


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--users", type=int, default=40)
    parser.add_argument("--messages", type=int, default=15)
    args = parser.parse_args()
    emulator = Emulator()
    try:
        await emulator.ready()
        with tempfile.TemporaryDirectory() as tmp:
            raw = await bench_raw(emulator, args.users, args.messages)
            naive = await bench_naive(emulator, args.users, args.messages)
            inline, _ = await bench_bridge(
                emulator, "bridge inline", MemoryStore(), "inline", args.users, args.messages
            )
            durable, depth = await bench_bridge(
                emulator,
                "bridge durable",
                SQLiteStore(Path(tmp) / "bench.sqlite3"),
                "durable",
                args.users,
                args.messages,
            )
        print(f"{args.users} users × {args.messages} messages, emulator over HTTP on 127.0.0.1\n")
        report([raw, naive, inline, durable], depth)
    finally:
        await emulator.aclose()


if __name__ == "__main__":
    asyncio.run(main())
