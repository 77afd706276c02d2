"""The same workload on Freshchat and on Chatwoot, side by side, over real sockets.

    python benchmarks/helpdesks.py [--users 20] [--messages 10] [--replies 5]

Each help desk's emulator runs as a server in a subprocess (`byoc emulate freshchat`,
`byoc emulate chatwoot`); the bridge (a fake channel, inline delivery, a memory store) is served
by uvicorn in this process, and the emulators post their webhooks to it. For each help desk, in
the same run:

- **in**: N users each send M messages to the bridge's channel webhook; a user's messages go one
  after another, users run concurrently. Printed: the help desk's API calls per message for a
  new user's first message and in the steady state, and messages/s.
- **out**: an agent answers each user R times through the emulator's control endpoints; the
  emulator's signed webhooks reach the bridge, which sends each reply to the user. Printed: the
  help desk's API calls per reply (the bridge's; the agent's own are not counted) and replies/s.

Compare the ratios of one run, not figures across runs or machines.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

# Measure this checkout, not whatever byoc an environment has installed.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx  # noqa: E402
import uvicorn  # noqa: E402

from byoc.bridge import Bridge  # noqa: E402
from byoc.chatwoot import ChatwootMessaging  # noqa: E402
from byoc.freshchat import FreshchatMessaging  # noqa: E402
from byoc.messaging import Messaging  # noqa: E402
from byoc.store import MemoryStore  # noqa: E402
from byoc.testing.fake_channel import FakeChannel  # noqa: E402
from byoc.testing.ports import free_port  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


class Emulator:
    """`byoc emulate <name>` in a subprocess: its settings for the bridge, its control API."""

    def __init__(self, name: str, webhook_url: str) -> None:
        self.name = name
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        options = {"port": str(self.port), "webhook-url": webhook_url, "log-level": "warning"}
        command = [sys.executable, "-m", "byoc", "emulate", name]
        command += [item for key, value in options.items() for item in (f"--{key}", value)]
        self.proc = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        self.printed = ""
        self.control = httpx.AsyncClient(base_url=f"{self.base}/_emulator", timeout=60)

    async def ready(self, until: str) -> None:
        """Read what the emulator prints until a line matches `until`."""
        assert self.proc.stdout is not None
        while not re.search(until, self.printed):
            line = await asyncio.to_thread(self.proc.stdout.readline)
            if not line:
                raise RuntimeError(f"the {self.name} emulator exited:\n{self.printed}")
            self.printed += line

    async def messaging(self) -> Messaging:
        if self.name == "chatwoot":
            await self.ready(r"BYOC_CHATWOOT_HMAC_TOKEN=\S+")
            found = dict(re.findall(r"(BYOC_CHATWOOT_\w+)=(\S+)", self.printed))
            return ChatwootMessaging.from_env(found)
        await self.ready(r"API token:\s+\S+")
        key = (await self.control.get("/public-key")).json()["public_key_text"]
        return FreshchatMessaging(
            api_url=f"{self.base}/v2",
            token=re.findall(r"API token:\s+(\S+)", self.printed)[0],
            webhook_public_key=key,
        )

    async def reset_calls(self) -> None:
        await self.control.delete("/calls")

    async def total_calls(self) -> int:
        return int((await self.control.get("/calls")).json()["total"])

    async def reply(self, conversation_id: str, text: str) -> None:
        answer = await self.control.post(
            f"/conversations/{conversation_id}/reply", json={"text": text}
        )
        answer.raise_for_status()

    async def aclose(self) -> None:
        await self.control.aclose()
        self.proc.terminate()
        self.proc.wait(10)


class Result:
    def __init__(self, name: str) -> None:
        self.name = name
        self.first_calls = 0.0
        self.steady_calls = 0.0
        self.rate = 0.0
        self.reply_calls = 0.0
        self.reply_rate = 0.0


async def serve(bridge: Bridge, port: int) -> Callable[[], Awaitable[None]]:
    """Serve `bridge` on 127.0.0.1:`port` in this process; the coroutine that stops it."""
    server = uvicorn.Server(
        uvicorn.Config(bridge, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)

    async def stop() -> None:
        server.should_exit = True
        await task

    return stop


async def bench(name: str, users: int, messages: int, replies: int) -> Result:
    result = Result(name)
    port = free_port()
    emulator = Emulator(name, f"http://127.0.0.1:{port}/messaging/webhook")
    channel = FakeChannel()
    bridge = Bridge(
        messaging=await emulator.messaging(),
        channels=[channel],
        store=MemoryStore(),
        delivery="inline",
    )
    stop = await serve(bridge, port)
    webhooks = httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60)
    names = [f"{name}-{u}" for u in range(users)]

    async def say(user: str, first: int, last: int) -> None:
        for i in range(first, last):
            body, headers = channel.user_message(user, f"{user}/{i}", message_id=f"{user}/{i}")
            answer = await webhooks.post("/channels/fake/webhook", content=body, headers=headers)
            if answer.status_code != 200:
                raise RuntimeError(f"{name}: {answer.status_code} {answer.text}")

    try:
        await emulator.reset_calls()
        start = time.perf_counter()
        await asyncio.gather(*(say(user, 0, 1) for user in names))
        result.first_calls = await emulator.total_calls() / users
        await emulator.reset_calls()
        await asyncio.gather(*(say(user, 1, messages) for user in names))
        result.rate = users * messages / (time.perf_counter() - start)
        result.steady_calls = await emulator.total_calls() / (users * (messages - 1) or 1)

        conversations = {}
        for user in names:
            link = await bridge.store.get_link("fake", user)
            assert link is not None and link.conversation_id is not None
            conversations[user] = link.conversation_id
        await emulator.reset_calls()
        start = time.perf_counter()
        for r in range(replies):
            await asyncio.gather(*(emulator.reply(conversations[u], f"answer {r}") for u in names))
        await asyncio.gather(*(channel.wait_for_replies(u, replies) for u in names))
        result.reply_rate = users * replies / (time.perf_counter() - start)
        # The agent's own calls (one per reply, through the control endpoint) are not the
        # bridge's: only API calls count.
        result.reply_calls = await emulator.total_calls() / (users * replies)
    finally:
        await webhooks.aclose()
        await stop()
        await bridge.aclose()
        await emulator.aclose()
    return result


def report(results: list[Result]) -> None:
    base = results[0]
    columns = ("calls/msg first", "steady", "msgs/s", "×" + base.name, "calls/reply", "replies/s")
    print(f"{'':10} " + " ".join(f"{c:>{max(6, len(c))}}" for c in columns))
    for r in results:
        cells = (
            f"{r.first_calls:15.2f}",
            f"{r.steady_calls:6.2f}",
            f"{r.rate:6.0f}",
            f"{r.rate / base.rate:{max(6, len(columns[3]))}.2f}",
            f"{r.reply_calls:11.2f}",
            f"{r.reply_rate:9.0f}",
        )
        print(f"{r.name:10} " + " ".join(cells))


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--messages", type=int, default=10)
    parser.add_argument("--replies", type=int, default=5)
    args = parser.parse_args()
    if args.users < 1 or args.messages < 2 or args.replies < 1:
        parser.error("--users and --replies must be at least 1, --messages at least 2")
    results = [
        await bench(name, args.users, args.messages, args.replies)
        for name in ("freshchat", "chatwoot")
    ]
    print(
        f"{args.users} users × {args.messages} messages in, × {args.replies} replies out; "
        "emulators over HTTP on 127.0.0.1, inline delivery\n"
    )
    report(results)


if __name__ == "__main__":
    asyncio.run(main())
