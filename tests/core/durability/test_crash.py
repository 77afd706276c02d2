"""Real processes: a bridge on SQLite killed with SIGKILL mid-delivery, then restarted.

Every message the bridge acknowledged must reach Freshchat exactly once, in each user's order.
Freshchat is slowed down so that deliveries are in flight when the bridge dies, and keeps
handling requests whose client vanished — the "Freshchat took it, the bridge never heard"
window the recovery has to close.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from byoc.testing.fake_channel import FakeChannel
from byoc.testing.ports import free_port

from .crash_server import SECRET, TOKEN

ROOT = Path(__file__).resolve().parents[3]
USERS, MESSAGES = 6, 6


def spawn(*args: str, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(
            [sys.executable, *args],
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )


async def wait_http(url: str, deadline: float = 30.0) -> None:
    async with httpx.AsyncClient() as client:
        end = time.monotonic() + deadline
        while time.monotonic() < end:
            try:
                await client.get(url)
                return
            except httpx.TransportError:
                await asyncio.sleep(0.05)
    raise TimeoutError(f"{url} never answered")


class Freshchat:
    def __init__(self, tmp: Path) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.key = tmp / "freshchat-key.pem"
        self.proc = spawn(
            "-m",
            "byoc",
            "emulate",
            "freshchat",
            "--port",
            str(self.port),
            "--token",
            TOKEN,
            "--key-file",
            str(self.key),
            "--log-level",
            "warning",
            log=tmp / "freshchat.log",
        )
        self.http = httpx.AsyncClient(base_url=self.base, timeout=30)

    async def user_texts(self) -> dict[str, list[str]]:
        """Each channel user's texts in Freshchat, in conversation order."""
        users = (await self.http.get("/_emulator/users")).json()["users"]
        texts: dict[str, list[str]] = {}
        for user in users:
            channel_user = str(user["reference_id"]).removeprefix("fake:")
            for conversation in (await self.http.get("/_emulator/conversations")).json()[
                "conversations"
            ]:
                if conversation.get("user_id") != user["id"]:
                    continue
                url = f"/_emulator/conversations/{conversation['conversation_id']}/messages"
                for message in (await self.http.get(url)).json()["messages"]:
                    if message["actor_type"] == "user":
                        texts.setdefault(channel_user, []).extend(
                            p["text"]["content"] for p in message["message_parts"] if p.get("text")
                        )
        return texts


class BridgeProcess:
    def __init__(self, tmp: Path, freshchat: Freshchat) -> None:
        self.tmp, self.freshchat = tmp, freshchat
        self.port = free_port()
        self.store = tmp / "bridge.sqlite3"
        self.proc: subprocess.Popen[bytes] | None = None

    async def start(self) -> None:
        # The key file is written by the emulator on start; wait for it.
        deadline = time.monotonic() + 30
        while not self.freshchat.key.exists():
            assert time.monotonic() < deadline, "the Freshchat emulator wrote no key in 30 s"
            await asyncio.sleep(0.05)
        public = (await self.freshchat.http.get("/_emulator/public-key")).json()["public_key_text"]
        key_text = self.tmp / "freshchat-public.txt"
        key_text.write_text(public)
        self.proc = spawn(
            "-m",
            "tests.core.durability.crash_server",
            "--port",
            str(self.port),
            "--store",
            str(self.store),
            "--freshchat",
            f"{self.freshchat.base}/v2",
            "--key",
            str(key_text),
            log=self.tmp / "bridge.log",
        )
        await wait_http(f"http://127.0.0.1:{self.port}/healthz")

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def queued(self) -> int:
        with sqlite3.connect(self.store) as db:
            return int(db.execute("SELECT count(*) FROM jobs").fetchone()[0])


@pytest.fixture
async def processes(tmp_path: Path) -> AsyncIterator[tuple[Freshchat, BridgeProcess]]:
    freshchat = Freshchat(tmp_path)
    bridge = BridgeProcess(tmp_path, freshchat)
    try:
        await wait_http(f"{freshchat.base}/_emulator/calls")
        yield freshchat, bridge
    finally:
        for proc in (bridge.proc, freshchat.proc):
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait(10)
        await freshchat.http.aclose()


@pytest.fixture
def logs(tmp_path: Path) -> Iterator[None]:
    yield
    for name in ("bridge.log", "freshchat.log"):
        path = tmp_path / name
        if path.exists():
            sys.stdout.write(f"--- {name}\n{path.read_text()[-4000:]}\n")


async def test_sigkill_mid_delivery_loses_nothing_and_doubles_nothing(
    processes: tuple[Freshchat, BridgeProcess], logs: None
) -> None:
    freshchat, bridge = processes
    # Every post into a conversation takes 300 ms: many deliveries are in flight at the kill.
    fault = {
        "kind": "latency",
        "seconds": 0.3,
        "method": "POST",
        "route": "/v2/conversations/{id}/messages",
    }
    assert (await freshchat.http.post("/_emulator/faults", json=fault)).status_code == 200
    await bridge.start()
    channel = FakeChannel(secret=SECRET)
    url = f"http://127.0.0.1:{bridge.port}/channels/fake/webhook"
    expected = {f"u{u}": [f"u{u}-m{i}" for i in range(MESSAGES)] for u in range(USERS)}
    async with httpx.AsyncClient(timeout=30) as client:

        async def user(name: str) -> None:
            for text in expected[name]:
                body, headers = channel.user_message(name, text, message_id=text)
                response = await client.post(url, content=body, headers=headers)
                assert response.status_code == 200, response.text  # acknowledged: a promise

        await asyncio.gather(*(user(name) for name in expected))

    # Let each user's first message land (no latency on creating a conversation), then kill.
    deadline = time.monotonic() + 60
    while sum(len(t) for t in (await freshchat.user_texts()).values()) < USERS:
        assert time.monotonic() < deadline, "the first messages were not delivered in 60 s"
        await asyncio.sleep(0.05)
    bridge.kill()
    delivered_before = sum(len(t) for t in (await freshchat.user_texts()).values())
    assert delivered_before < USERS * MESSAGES, "the kill came too late to test anything"
    assert bridge.queued() > 0

    await bridge.start()
    deadline = time.monotonic() + 120
    while bridge.queued() and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    assert bridge.queued() == 0
    assert await freshchat.user_texts() == expected
    log = (bridge.tmp / "bridge.log").read_text()
    assert "were in flight when the bridge stopped" in log  # the recovery path really ran
