"""Bridge replicas as an operator runs them: real `byoc serve` processes on one PostgreSQL
database, behind a load balancer, between the bundled emulators on real ports.

```
 Viber emulator ──webhooks──► balancer ──► byoc serve (replica 0) ──► Freshchat emulator
 (byoc emulate viber)                  └─► byoc serve (replica 1) ──┘ (byoc emulate freshchat)
        ▲                                       │                          │
        └──────────── send_message ◄────────────┘◄── agent webhooks ── balancer
```

Everything is reached over HTTP; the tests wait on other processes by polling their state
(there is no event to wait on across processes).
"""

from __future__ import annotations

import contextlib
import queue
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from tests.core.cli.emulators import FreshchatServer
from tests.core.cli.emulators import _answers as answers
from tests.core.cli.support import ROOT, Running, clean_env, free_port

VIBER_TOKEN = "4453b6ac12345678-e02c5f12174805f9-daec9cbb5448c51f"


def wait_until(check: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


class Balancer:
    """`tests.replicas.balancer` in a process of its own."""

    def __init__(self, backends: list[str], log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        args = ["--port", str(self.port)]
        for backend in backends:
            args += ["--backend", backend]
        with log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "tests.replicas.balancer", *args],
                cwd=ROOT,
                env=clean_env(),
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        wait_until(lambda: answers(f"{self.url}/_balancer"), "the balancer")

    def mode(self, mode: str) -> None:
        httpx.put(f"{self.url}/_balancer", json={"mode": mode}, timeout=5).raise_for_status()

    def state(self) -> dict[str, Any]:
        answer: dict[str, Any] = httpx.get(f"{self.url}/_balancer", timeout=5).json()
        return answer

    def stop(self) -> None:
        self.process.kill()
        self.process.wait(10)


class Viber:
    """`byoc emulate viber`, calling its webhook through the balancer."""

    def __init__(self, webhook: str) -> None:
        port = free_port()
        self.base = f"http://127.0.0.1:{port}"
        self.api_url = f"{self.base}/pa"
        self.process = Running(
            "emulate",
            "viber",
            "--port",
            str(port),
            "--token",
            VIBER_TOKEN,
            "--webhook-url",
            webhook,
            "--log-level",
            "warning",
        )
        self.http = httpx.Client(base_url=self.base, timeout=30)
        wait_until(lambda: answers(f"{self.base}/_emulator/webhook"), "the Viber emulator")

    def user(self, name: str) -> str:
        created = self.http.post("/_emulator/users", json={"name": name})
        created.raise_for_status()
        return str(created.json()["id"])

    def say(self, user_id: str, text: str) -> None:
        message = {"type": "text", "text": text}
        self.http.post("/_emulator/send", json={"user_id": user_id, "message": message})

    def message_callbacks(self) -> list[dict[str, Any]]:
        return [c for c in self.http.get("/_emulator/callbacks").json() if c["event"] == "message"]

    def all_acknowledged(self) -> bool:
        """Every user message reached a replica that answered 200 (it is stored)."""
        return all(c["delivered"] for c in self.message_callbacks())

    def sent_texts(self, user_id: str) -> list[str]:
        sent = self.http.get("/_emulator/sent", params={"user_id": user_id}).json()
        return [m["body"].get("text", "") for m in sent if not m["welcome"]]

    def stop(self) -> None:
        self.http.close()
        self.process.stop()


class Freshchat:
    """`byoc emulate freshchat`, read through its control endpoints."""

    def __init__(self) -> None:
        self.server = FreshchatServer()
        self.http = httpx.Client(base_url=self.server.base, timeout=30)

    def route_webhooks(self, url: str) -> None:
        self.http.put("/_emulator/webhook", json={"url": url}).raise_for_status()

    def latency(self, seconds: float) -> None:
        fault = {
            "kind": "latency",
            "seconds": seconds,
            "method": "POST",
            "route": "/v2/conversations/{id}/messages",
        }
        self.http.post("/_emulator/faults", json=fault).raise_for_status()

    def users(self, viber_id: str) -> list[dict[str, Any]]:
        found = self.http.get("/_emulator/users", params={"reference_id": f"viber:{viber_id}"})
        users: list[dict[str, Any]] = found.json()["users"]
        return users

    def conversations(self, helpdesk_user: str) -> list[dict[str, Any]]:
        every = self.http.get("/_emulator/conversations").json()["conversations"]
        return [c for c in every if c.get("user_id") == helpdesk_user]

    def texts(self) -> dict[str, list[str]]:
        """Each Viber user's texts in Freshchat, oldest first, by Viber user id."""
        users = {
            u["id"]: str(u["reference_id"]).removeprefix("viber:")
            for u in self.http.get("/_emulator/users").json()["users"]
        }
        texts: dict[str, list[str]] = {}
        conversations = self.http.get("/_emulator/conversations").json()["conversations"]
        for conversation in reversed(conversations):  # oldest first
            owner = users.get(conversation.get("user_id"))
            if owner is None:
                continue
            url = f"/_emulator/conversations/{conversation['conversation_id']}/messages"
            for message in self.http.get(url).json()["messages"]:
                if message["actor_type"] == "user":
                    texts.setdefault(owner, []).extend(
                        p["text"]["content"] for p in message["message_parts"] if p.get("text")
                    )
        return texts

    def reply(self, conversation_id: str, text: str) -> None:
        url = f"/_emulator/conversations/{conversation_id}/reply"
        self.http.post(url, json={"text": text}).raise_for_status()

    def stop(self) -> None:
        self.http.close()
        self.server.stop()


class Cluster:
    """The emulators, the balancer and `replicas` bridge processes on `store`."""

    def __init__(self, tmp: Path, store: str, *, replicas: int = 2, lease: float = 2.0) -> None:
        self.tmp = tmp
        self.store = store
        self.lease = lease
        self.ports = [free_port() for _ in range(replicas)]
        self.urls = [f"http://127.0.0.1:{port}" for port in self.ports]
        self.freshchat = Freshchat()
        self.balancer = Balancer(self.urls, tmp / "balancer.log")
        self.viber = Viber(f"{self.balancer.url}/channels/viber/webhook")
        self.freshchat.route_webhooks(f"{self.balancer.url}/messaging/webhook")
        self.bridges: list[Running | None] = [None] * replicas
        for index in range(replicas):
            self.start(index)

    def env(self) -> dict[str, str]:
        return self.freshchat.server.settings(
            BYOC_STORE=self.store,
            BYOC_CHANNELS="viber",
            BYOC_VIBER_AUTH_TOKEN=VIBER_TOKEN,
            BYOC_VIBER_SENDER_NAME="Shop",
            BYOC_VIBER_API_URL=self.viber.api_url,
            BYOC_PUBLIC_URL=self.balancer.url,
            BYOC_LEASE=str(self.lease),
        )

    def start(self, index: int) -> None:
        bridge = Running("serve", "--port", str(self.ports[index]), env=self.env())
        bridge.wait_for(r"byoc serving on")
        self.bridges[index] = bridge

    def kill(self, index: int) -> None:
        """SIGKILL: no shutdown, no hand-back; its leases must run out."""
        bridge = self.bridges[index]
        assert bridge is not None
        bridge.kill()

    def log(self, index: int) -> str:
        """What the replica printed so far."""
        bridge = self.bridges[index]
        if bridge is None:
            return ""
        with contextlib.suppress(queue.Empty):
            while (line := bridge._queue.get_nowait()) is not None:
                bridge.lines.append(line)
        return bridge.output

    def delivered(self, expected: dict[str, list[str]], timeout: float = 90.0) -> None:
        """Wait until Freshchat holds as many user messages as `expected`."""
        total = sum(len(texts) for texts in expected.values())

        def arrived() -> bool:
            texts = self.freshchat.texts()
            return sum(len(texts.get(user, [])) for user in expected) >= total

        wait_until(arrived, f"{total} messages in Freshchat", timeout)
        # Anything beyond (a duplicate) would have arrived by now too: the queue is drained.
        wait_until(self.queue_empty, "an empty queue", timeout)

    def queue_empty(self) -> bool:
        import psycopg

        with psycopg.connect(self.store, autocommit=True) as connection:
            row = connection.execute(b"SELECT count(*) FROM byoc_jobs").fetchone()
        return row is not None and row[0] == 0

    def stop(self) -> None:
        for bridge in self.bridges:
            if bridge is not None:
                bridge.kill()
        for part in (self.viber, self.balancer, self.freshchat):
            try:
                part.stop()
            except Exception:  # the others must stop too
                pass

    def replicas_that_answered(self) -> Counter[str]:
        answered: Counter[str] = Counter()
        for key, count in self.balancer.state()["answered"].items():
            backend, status = key.rsplit(" ", 1)
            if status == "200":
                answered[backend] += count
        return answered
