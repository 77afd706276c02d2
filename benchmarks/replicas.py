"""The bridge as deployed: `byoc serve` processes on SQLite or on PostgreSQL, side by side.

    python benchmarks/replicas.py [--users 50] [--messages 20] [--latency 0.02] [--senders 64]
    python benchmarks/replicas.py --queries [--checkout PATH]

**Replicas.** In one run, against one Freshchat emulator (`byoc emulate freshchat`, every post
delayed by `--latency` seconds), the same inbound load goes through:

- `sqlite, 1 process`     — one `byoc serve` on a SQLite file (the default);
- `postgres, 1 replica`   — one `byoc serve` on PostgreSQL;
- `postgres, 2 replicas`  — two `byoc serve` on one PostgreSQL database, webhooks alternating.

PostgreSQL is a throwaway local server with fsync on (`TemporaryPostgres(durable=True)`), as
SQLite keeps `synchronous=FULL`. Each user first sends one message (creating its Freshchat user
and conversation: not measured); then `--senders` webhooks are kept in flight, each user's
messages in order, until every message is in Freshchat. Printed per setup: messages per second,
the CPU time of the bridge processes per message (user + system, from /proc, all replicas
together), and how long a webhook's sender waited for its answer (p50, p99).

**Queries.** `--queries` counts the queue calls a durable bridge (SQLite, in this process)
makes per inbound message at 2 and 100 ms upstream latency.

`--checkout PATH` measures another checkout of byoc instead (e.g. `git archive main | tar -x -C
/tmp/main`), to compare: its SQLite setup (it may know no other store), or its queue calls.
"""

from __future__ import annotations

import argparse
import asyncio
import inspect
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if "--checkout" in sys.argv:
    sys.path.insert(0, str(Path(sys.argv[sys.argv.index("--checkout") + 1]).resolve()))
else:
    sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

VIBER_TOKEN = "4453b6ac12345678-e02c5f12174805f9-daec9cbb5448c51f"
QUEUE_CALLS = (
    "enqueue",
    "take_due",
    "next_due",
    "renew",
    "finish",
    "retry",
    "bury",
    "release_all",
    "hand_back",
)
_TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (from /proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class Freshchat:
    """`byoc emulate freshchat` on a free port, with every message post delayed."""

    def __init__(self, latency: float, checkout: Path) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "byoc", "emulate", "freshchat", "--port", "0"]
            + ["--log-level", "warning"],
            cwd=checkout,
            env={**os.environ, "PYTHONPATH": str(checkout)},
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert self.process.stdout is not None
        lines = []
        while not any("Public key" in line for line in lines):
            lines.append(self.process.stdout.readline())
        text = "".join(lines)
        self.api_url = re.search(r"API URL:\s+(\S+)", text).group(1)  # type: ignore[union-attr]
        self.token = re.search(r"API token:\s+(\S+)", text).group(1)  # type: ignore[union-attr]
        self.base = self.api_url.removesuffix("/v2")
        self.http = httpx.Client(base_url=self.base, timeout=30)
        self.public_key = self.http.get("/_emulator/public-key").json()["public_key_text"]
        fault = {"kind": "latency", "seconds": latency, "method": "POST"}
        self.http.post("/_emulator/faults", json=fault).raise_for_status()

    def posts(self) -> int:
        """Messages Freshchat took so far (posts into a conversation, and new conversations)."""
        calls = self.http.get("/_emulator/calls").json()["calls"]
        return sum(
            c["count"]
            for c in calls
            if c["method"] == "POST"
            and c["route"] in ("/v2/conversations/{id}/messages", "/v2/conversations")
        )

    def settings(self) -> dict[str, str]:
        return {
            "BYOC_FRESHCHAT_API_URL": self.api_url,
            "BYOC_FRESHCHAT_API_TOKEN": self.token,
            "BYOC_FRESHCHAT_WEBHOOK_PUBLIC_KEY": self.public_key,
        }

    def stop(self) -> None:
        self.http.close()
        self.process.terminate()
        self.process.wait(10)


@contextmanager
def replicas(
    store: str, count: int, freshchat: Freshchat, checkout: Path
) -> Iterator[list[tuple[str, int]]]:
    """`count` `byoc serve` processes of `checkout` on `store`; their URLs and pids."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BYOC_")}
    env.update(freshchat.settings())
    env.update(
        PYTHONPATH=str(checkout),
        BYOC_STORE=store,
        BYOC_CHANNELS="viber",
        BYOC_VIBER_AUTH_TOKEN=VIBER_TOKEN,
        BYOC_VIBER_SENDER_NAME="Bench",
        BYOC_VIBER_API_URL="http://127.0.0.1:9/pa",  # inbound only: never called
    )
    processes = []
    try:
        for _ in range(count):
            port = free_port()
            process = subprocess.Popen(
                [sys.executable, "-m", "byoc", "serve", "--port", str(port)]
                + ["--log-level", "warning"],
                cwd=checkout,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            processes.append((f"http://127.0.0.1:{port}", process))
        for url, _ in processes:
            for _ in range(300):
                try:
                    httpx.get(f"{url}/healthz", timeout=1)
                    break
                except httpx.TransportError:
                    time.sleep(0.05)
        yield [(url, process.pid) for url, process in processes]
    finally:
        for _, process in processes:
            process.terminate()
            process.wait(30)


def viber_message(user: str, n: int) -> tuple[bytes, dict[str, str]]:
    from byoc_viber.signature import SIGNATURE_HEADER, sign

    payload = {
        "event": "message",
        "timestamp": int(time.time() * 1000),
        "chat_hostname": "SN-CHAT-01_",
        "message_token": abs(hash((user, n))) % 2**62,
        "sender": {"id": user, "name": user, "api_version": 10},
        "message": {"type": "text", "text": f"{user} message {n}"},
        "silent": False,
    }
    body = json.dumps(payload).encode()
    return body, {"content-type": "application/json", SIGNATURE_HEADER: sign(VIBER_TOKEN, body)}


async def load(
    urls: list[str], users: list[str], first: int, last: int, senders: int
) -> list[float]:
    """Each user's messages `first..last-1`, in order per user, `senders` webhooks in flight,
    alternating over `urls`; how long each webhook waited for its answer."""
    answers: list[float] = []
    turn = iter(range(10**9))
    queue: asyncio.Queue[str] = asyncio.Queue()
    for user in users:
        queue.put_nowait(user)
    progress = dict.fromkeys(users, first)
    limits = httpx.Limits(max_connections=senders, max_keepalive_connections=senders)
    async with httpx.AsyncClient(timeout=60, limits=limits) as http:

        async def sender() -> None:
            while not queue.empty():
                user = queue.get_nowait()
                n = progress[user]
                body, headers = viber_message(user, n)
                url = urls[next(turn) % len(urls)]
                started = time.perf_counter()
                while True:
                    try:
                        answer = await http.post(
                            f"{url}/channels/viber/webhook", content=body, headers=headers
                        )
                        if answer.status_code == 200:
                            break
                    except httpx.TransportError:  # a kept-alive connection closed under us
                        pass
                    await asyncio.sleep(0.1)  # as a messenger retries
                answers.append(time.perf_counter() - started)
                progress[user] = n + 1
                if n + 1 < last:
                    queue.put_nowait(user)

        await asyncio.gather(*(sender() for _ in range(senders)))
    return answers


def wait_for_posts(freshchat: Freshchat, expected: int, timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while freshchat.posts() < expected:
        if time.monotonic() > deadline:
            raise TimeoutError(f"only {freshchat.posts()} of {expected} messages arrived")
        time.sleep(0.02)


def measure(
    name: str,
    store: str,
    count: int,
    freshchat: Freshchat,
    args: argparse.Namespace,
    checkout: Path,
) -> dict[str, Any]:
    users = [f"{name.split(',')[0]}-{count}-u{n}==" for n in range(args.users)]
    with replicas(store, count, freshchat, checkout) as running:
        urls = [url for url, _ in running]
        before = freshchat.posts()
        asyncio.run(load(urls, users, 0, 1, args.senders))  # new users: not measured
        wait_for_posts(freshchat, before + len(users))
        base = freshchat.posts()
        cpu = sum(cpu_seconds(pid) for _, pid in running)
        started = time.perf_counter()
        answers = asyncio.run(load(urls, users, 1, args.messages + 1, args.senders))
        total = len(users) * args.messages
        wait_for_posts(freshchat, base + total)
        elapsed = time.perf_counter() - started
        cpu = sum(cpu_seconds(pid) for _, pid in running) - cpu
    return {
        "name": name,
        "rate": total / elapsed,
        "cpu_us": cpu / total * 1e6,
        "p50": percentile(answers, 0.5) * 1000,
        "p99": percentile(answers, 0.99) * 1000,
    }


def replicas_main(args: argparse.Namespace) -> None:
    checkout = Path(sys.path[0])
    freshchat = Freshchat(args.latency, ROOT)
    rows = []
    try:
        with tempfile.TemporaryDirectory() as directory:
            rows.append(
                measure(
                    "sqlite, 1 process", f"{directory}/bench.sqlite3", 1, freshchat, args, checkout
                )
            )
            if checkout == ROOT:  # another checkout may know no other store
                rows += postgres_rows(freshchat, args)
    finally:
        freshchat.stop()
    print(
        f"checkout {checkout}: {args.users} users x {args.messages} messages, {args.senders} "
        f"webhooks in flight, Freshchat {args.latency * 1000:g} ms per post, "
        f"{os.cpu_count()} cores"
    )
    print(f"{'':<22}{'msgs/s':>8}{'CPU us/msg':>12}{'answer p50':>12}{'p99 ms':>8}")
    for row in rows:
        print(
            f"{row['name']:<22}{row['rate']:>8.0f}{row['cpu_us']:>12.0f}"
            f"{row['p50']:>12.1f}{row['p99']:>8.1f}"
        )


def postgres_rows(freshchat: Freshchat, args: argparse.Namespace) -> list[dict[str, Any]]:
    from byoc.testing.postgres import TemporaryPostgres

    server = TemporaryPostgres.start(durable=True)
    try:
        return [
            measure(name, server.create_database(database), count, freshchat, args, ROOT)
            for name, database, count in (
                ("postgres, 1 replica", "bench1", 1),
                ("postgres, 2 replicas", "bench2", 2),
            )
        ]
    finally:
        server.stop()


# -- queue calls per message ---------------------------------------------------------------------


class CountingStore:
    """Passes every call to a store and counts the coroutine calls by name."""

    def __init__(self, store: Any) -> None:
        self._store = store
        self.calls: Counter[str] = Counter()

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._store, name)
        if not inspect.iscoroutinefunction(attribute):
            return attribute

        async def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls[name] += 1
            return await attribute(*args, **kwargs)

        return counted


async def queue_calls(latency: float, users: int, messages: int, directory: str) -> Counter[str]:
    from byoc.bridge import Bridge
    from byoc.freshchat import FreshchatMessaging
    from byoc.store import SQLiteStore
    from byoc.testing.fake_channel import FakeChannel

    checkout = Path(sys.path[0])
    freshchat = Freshchat(latency, checkout)
    store = CountingStore(SQLiteStore(f"{directory}/queries-{latency}.sqlite3"))
    channel = FakeChannel()
    messaging = FreshchatMessaging(
        api_url=freshchat.api_url, token=freshchat.token, webhook_public_key=freshchat.public_key
    )
    bridge = Bridge(messaging=messaging, channels=[channel], store=store)  # type: ignore[arg-type]
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=bridge), base_url="http://bridge")
    try:

        async def user(name: str) -> None:
            for n in range(messages):
                body, headers = channel.user_message(name, f"m{n}", message_id=f"{name}-{n}")
                answer = await http.post("/channels/fake/webhook", content=body, headers=headers)
                assert answer.status_code == 200, answer.text

        await asyncio.gather(*(user(f"u{n}") for n in range(users)))
        await bridge.wait_idle()
        assert freshchat.posts() == users * messages
    finally:
        await http.aclose()
        await bridge.aclose()
        freshchat.stop()
    return store.calls


def queries_main(args: argparse.Namespace) -> None:
    checkout = Path(sys.path[0])
    print(f"queue calls per inbound message, durable bridge on SQLite, checkout {checkout}")
    print(f"{args.users} users x {args.messages} messages, all users at once")
    with tempfile.TemporaryDirectory() as directory:
        for latency in (0.002, 0.1):
            calls = asyncio.run(queue_calls(latency, args.users, args.messages, directory))
            total = args.users * args.messages
            queue = {name: calls[name] / total for name in QUEUE_CALLS if calls[name]}
            spelled = ", ".join(f"{name} {per:.2f}" for name, per in queue.items())
            print(f"{latency * 1000:>5g} ms: {sum(queue.values()):.2f} ({spelled})")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--messages", type=int, default=20, help="per user, after the first")
    parser.add_argument("--latency", type=float, default=0.02, help="seconds per Freshchat post")
    parser.add_argument("--senders", type=int, default=64, help="webhooks in flight")
    parser.add_argument("--queries", action="store_true", help="count queue calls instead")
    parser.add_argument("--checkout", help="measure the byoc checkout there instead")
    arguments = parser.parse_args()
    if arguments.queries:
        queries_main(arguments)
    else:
        replicas_main(arguments)
