"""CPU per message and messages per second of byoc next to hand-written bridges, in one run.

    python benchmarks/side_by_side.py [--quick] [--baseline main] [--json results.json]
                                      [--bridges "floor,byoc durable"] [--profile DIR]

Every bridge is a server process of its own on uvicorn, fed over real sockets:

- `floor`: the least a correct bridge does (verify, parse, dict lookup, one call), `naive`:
  the lookup-everything-every-time algorithm (3 Freshchat calls per message, 2 per reply);
  both in `forwarders.py`;
- `byoc durable` and `byoc inline`: `byoc serve` from this checkout (SQLite store, the Viber
  channel, settings from the environment as in production, logs at INFO to a file);
- with `--baseline REF` (repeatable): the same two from git revision REF, installed as its own
  `server` extra says (uvloop and httptools are hidden from it unless it lists them).

Freshchat and Viber are byoc's emulators, each in its own process (`upstream.py`), every API
call delayed by the upstream latency (2, 20 and 100 ms). The load (`load.py`) comes from this
process, prepared ahead: signed Viber callbacks for user messages, RSA-signed Freshchat
`message_create` webhooks for agent replies, spread over many users, a fixed number in flight.

Each bridge first gets one message per user (users, conversations and mappings are created:
not measured), and before each measured phase a warm-up batch, not measured either. A phase then
reads the server process's CPU time from `/proc/<pid>/stat` (user + system, all threads),
sends its messages, waits until the upstream has received every one of them, and reads the CPU
time again. Printed, per direction and latency: CPU µs per message, upstream calls per message,
messages per second (until the last one reached the upstream), webhook answer p50/p99; and
ratios against the floor and the naive bridge of the same run. A last phase sends user messages
at a steady rate (200/s) and shows how long the webhook's sender waits for its answer.

Absolute figures move with the machine and its load; compare ratios within one run.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import hmac
import io
import itertools
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import uuid
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

import httpx  # noqa: E402
from load import closed_loop, http_post, paced  # noqa: E402

from byoc.testing.freshchat.webhooks import WebhookKey  # noqa: E402

FRESHCHAT_TOKEN = "bench-freshchat-token"
VIBER_TOKEN = "bench-viber-token-0123456789"
HOST = "127.0.0.1"

# Runs `byoc serve` with some modules made unimportable (BENCH_HIDE), so that a revision runs
# as its own extras would install it even when this environment has more.
_LAUNCH = (
    "import os, sys\n"
    "for name in filter(None, os.environ.get('BENCH_HIDE', '').split(',')):\n"
    "    sys.modules[name] = None\n"
    "from byoc.cli import main\n"
    "sys.exit(main(sys.argv[1:]))\n"
)


# -- processes --------------------------------------------------------------------------------


class Process:
    """A helper or server process: its URL (read from its first lines) and its CPU time."""

    def __init__(self, name: str, proc: asyncio.subprocess.Process, log: Path) -> None:
        self.name = name
        self.proc = proc
        self.log = log
        self.url = ""
        self._ticks = os.sysconf("SC_CLK_TCK")
        self._drain: asyncio.Task[None] | None = None

    @classmethod
    async def start(
        cls, name: str, argv: Sequence[str], *, log: Path, env: dict[str, str], cwd: Path
    ) -> Process:
        with log.open("wb") as err:
            proc = await asyncio.create_subprocess_exec(
                *argv, stdout=subprocess.PIPE, stderr=err, env=env, cwd=cwd
            )
        started = cls(name, proc, log)
        await started._read_url()
        return started

    async def _read_url(self) -> None:
        assert self.proc.stdout is not None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                line = await asyncio.wait_for(self.proc.stdout.readline(), 5)
            except asyncio.TimeoutError:
                continue
            if not line:
                break
            text = line.decode(errors="replace").strip()
            for marker in ("ready ", "byoc serving on "):
                if text.startswith(marker):
                    self.url = text[len(marker) :].split()[0]
                    self._drain = asyncio.create_task(self._drain_stdout())
                    return
        raise RuntimeError(f"{self.name} did not start; its log:\n{self.log.read_text()[-3000:]}")

    async def _drain_stdout(self) -> None:
        assert self.proc.stdout is not None
        while await self.proc.stdout.readline():
            pass

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    def cpu_seconds(self) -> float:
        """User + system CPU time of the process so far (every thread)."""
        stat = Path(f"/proc/{self.proc.pid}/stat").read_text()
        fields = stat[stat.rindex(")") + 2 :].split()
        return (int(fields[11]) + int(fields[12])) / self._ticks

    async def stop(self) -> None:
        if self.proc.returncode is None:
            self.proc.terminate()
            try:
                await asyncio.wait_for(self.proc.wait(), 20)
            except asyncio.TimeoutError:
                self.proc.kill()
                await self.proc.wait()
        if self._drain is not None:
            await self._drain


class Upstream:
    """An emulator process (`upstream.py`) and its `/_bench` control."""

    def __init__(self, process: Process) -> None:
        self.process = process
        self.http = httpx.AsyncClient(base_url=process.url, timeout=60)

    async def counts(self) -> dict[str, float]:
        return dict((await self.http.get("/_bench/counts")).json())

    async def set_latency(self, seconds: float) -> None:
        (await self.http.put("/_bench/latency", json={"seconds": seconds})).raise_for_status()

    async def wait_delivered(self, target: int, timeout: float = 600) -> None:
        deadline = time.monotonic() + timeout
        while (await self.counts())["delivered"] < target:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.process.name}: fewer than {target} deliveries")
            await asyncio.sleep(0.02)

    async def aclose(self) -> None:
        await self.http.aclose()
        await self.process.stop()


# -- bridges and their traffic ----------------------------------------------------------------


@dataclass
class Bridge:
    """One bridge under test, its users, and how far each user's messages have got."""

    name: str
    process: Process
    viber_ids: list[str]
    sent: int = 0
    helpdesk: dict[str, tuple[str, str]] = field(default_factory=dict)  # Viber id → (user, conv)

    def viber_requests(self, count: int) -> list[bytes]:
        """The next `count` user messages, one user after another (round robin)."""
        now = int(time.time() * 1000)
        requests = []
        for _ in range(count):
            user = self.viber_ids[self.sent % len(self.viber_ids)]
            self.sent += 1
            body = json.dumps(
                {
                    "event": "message",
                    "timestamp": now,
                    "chat_hostname": "SN-CHAT-01_",
                    "message_token": next(_tokens),
                    "sender": {
                        "id": user,
                        "name": f"User {user[:6]}",
                        "language": "en",
                        "country": "GB",
                        "api_version": 10,
                    },
                    "message": {"type": "text", "text": f"message {self.sent} from {user}"},
                    "silent": False,
                },
                separators=(",", ":"),
            ).encode()
            signature = hmac.new(VIBER_TOKEN.encode(), body, hashlib.sha256).hexdigest()
            requests.append(
                http_post(
                    "/channels/viber/webhook",
                    body,
                    {"content-type": "application/json", "x-viber-content-signature": signature},
                )
            )
        return requests

    def reply_bodies(self, count: int, channel_id: str) -> list[bytes]:
        """The next `count` agent replies as Freshchat `message_create` webhook bodies."""
        bodies = []
        for index in range(count):
            user, conversation = self.helpdesk[self.viber_ids[index % len(self.viber_ids)]]
            now = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
            message_id = str(uuid.uuid4())
            message = {
                "id": message_id,
                "created_time": now,
                "conversation_id": conversation,
                "freshchat_conversation_id": "1",
                "channel_id": channel_id,
                "freshchat_channel_id": "1",
                "app_id": "bench-app",
                "interaction_id": "1",
                "actor_type": "agent",
                "actor_id": "agent-bench",
                "org_actor_id": "1",
                "user_id": user,
                "message_type": "normal",
                "message_source": "web",
                "message_parts": [{"text": {"content": f"reply {message_id[:8]}"}}],
                "restrictResponse": False,
                "botsPrivateNote": False,
            }
            webhook = {
                "actor": {"actor_type": "agent", "actor_id": "agent-bench"},
                "action": "message_create",
                "action_time": now,
                "data": {"message": message},
            }
            bodies.append(json.dumps(webhook, separators=(",", ":")).encode())
        return bodies


_tokens = itertools.count(5_000_000_000_000_000_001, 2)


def _sign_all(pem: bytes, bodies: list[bytes]) -> list[bytes]:
    key = WebhookKey.from_pem(pem)
    return [
        http_post(
            "/messaging/webhook",
            body,
            {"content-type": "application/json", "x-freshchat-signature": key.sign(body)},
        )
        for body in bodies
    ]


def viber_id(bridge: str, index: int) -> str:
    # Viber ids are 16 bytes in base64; "+" and "/" in them are part of the test.
    return base64.b64encode(hashlib.sha256(f"{bridge}/{index}".encode()).digest()[:16]).decode()


# -- measurement ------------------------------------------------------------------------------


@dataclass
class Result:
    phase: str  # "in", "out" or "paced"
    latency_ms: float
    bridge: str
    messages: int
    cpu_us: float
    rate: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    calls: float
    refused: int = 0  # steady-rate phase: answers other than 2xx (the sender would retry)


def combine(results: list[Result]) -> list[Result]:
    """One result per phase, latency and bridge: the median of its rounds, field by field."""
    groups: dict[tuple[str, float, str], list[Result]] = {}
    for result in results:
        groups.setdefault((result.phase, result.latency_ms, result.bridge), []).append(result)
    combined = []
    for (phase, latency, bridge), rounds in groups.items():

        def median(field: str, rounds: list[Result] = rounds) -> float:
            return float(statistics.median(getattr(r, field) for r in rounds))

        combined.append(
            Result(
                phase=phase,
                latency_ms=latency,
                bridge=bridge,
                messages=rounds[0].messages,
                cpu_us=median("cpu_us"),
                rate=median("rate"),
                p50_ms=median("p50_ms"),
                p99_ms=median("p99_ms"),
                max_ms=median("max_ms"),
                calls=median("calls"),
                refused=round(median("refused")),
            )
        )
    return combined


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


class Bench:
    def __init__(self, args: argparse.Namespace, tmp: Path) -> None:
        self.args = args
        self.tmp = tmp
        self.key = WebhookKey.generate()
        self.results: list[Result] = []
        self.bridges: list[Bridge] = []
        self.pool = ProcessPoolExecutor(max_workers=2)
        self.channel_id = ""

    # -- set-up ------------------------------------------------------------------------------

    def _env(self, extra: dict[str, str] | None = None, path: Path = ROOT) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("BYOC_")}
        env["PYTHONPATH"] = str(path)
        env.update(extra or {})
        return env

    async def start_upstreams(self, latency: float) -> None:
        def argv(name: str, token: str) -> list[str]:
            script = str(HERE / "upstream.py")
            return [sys.executable, script, name, "--token", token, "--latency", str(latency)]

        fc, vb = await asyncio.gather(
            Process.start(
                "freshchat",
                argv("freshchat", FRESHCHAT_TOKEN),
                log=self.tmp / "freshchat.log",
                env=self._env(),
                cwd=ROOT,
            ),
            Process.start(
                "viber",
                argv("viber", VIBER_TOKEN),
                log=self.tmp / "viber.log",
                env=self._env(),
                cwd=ROOT,
            ),
        )
        self.freshchat, self.viber = Upstream(fc), Upstream(vb)
        channels = await self.freshchat.http.get(
            "/v2/channels", headers={"Authorization": f"Bearer {FRESHCHAT_TOKEN}"}
        )
        self.channel_id = str(channels.json()["channels"][0]["id"])

    async def start_bridges(self) -> None:
        pem = self.tmp / "webhook-public.pem"
        pem.write_text(self.key.public_key_pem)
        common = ["--freshchat", f"{self.freshchat.process.url}/v2"]
        common += ["--freshchat-token", FRESHCHAT_TOKEN, "--viber", f"{self.viber.process.url}/pa"]
        common += ["--viber-token", VIBER_TOKEN, "--public-key-file", str(pem)]
        launches: list[tuple[str, Any]] = []
        for kind in ("floor", "naive"):
            if not self.wanted(kind):
                continue
            argv = [sys.executable, str(HERE / "forwarders.py"), kind, *common]
            launches.append(
                (
                    kind,
                    Process.start(
                        kind, argv, log=self.tmp / f"{kind}.log", env=self._env(), cwd=ROOT
                    ),
                )
            )
        checkouts = [("byoc", ROOT, "")]
        checkouts += [self._export(ref) for ref in self.args.baseline]
        for label, path, hide in checkouts:
            for delivery in ("durable", "inline"):
                name = f"{label} {delivery}"
                if not self.wanted(name):
                    continue
                slug = name.replace(" ", "-")
                env = self._env(
                    {
                        "BYOC_FRESHCHAT_API_URL": f"{self.freshchat.process.url}/v2",
                        "BYOC_FRESHCHAT_API_TOKEN": FRESHCHAT_TOKEN,
                        "BYOC_FRESHCHAT_WEBHOOK_PUBLIC_KEY": self.key.public_key_text,
                        "BYOC_VIBER_AUTH_TOKEN": VIBER_TOKEN,
                        "BYOC_VIBER_SENDER_NAME": "Bench",
                        "BYOC_VIBER_API_URL": f"{self.viber.process.url}/pa",
                        "BYOC_CHANNELS": "viber",
                        "BYOC_STORE": str(self.tmp / f"{slug}.sqlite3"),
                        "BYOC_DELIVERY": delivery,
                        "BENCH_HIDE": hide,
                    },
                    path,
                )
                argv = [sys.executable, "-c", _LAUNCH, "serve", "--host", HOST, "--port", "0"]
                launches.append(
                    (
                        name,
                        Process.start(name, argv, log=self.tmp / f"{slug}.log", env=env, cwd=path),
                    )
                )
        processes = await asyncio.gather(*(starting for _, starting in launches))
        for (name, _), process in zip(launches, processes, strict=True):
            ids = [viber_id(name, i) for i in range(self.args.users)]
            self.bridges.append(Bridge(name=name, process=process, viber_ids=ids))

    def wanted(self, name: str) -> bool:
        return not self.args.bridges or name in self.args.bridges

    def _export(self, ref: str) -> tuple[str, Path, str]:
        """`git archive` of `ref` in a temporary directory; its label, path, hidden modules."""
        commit = subprocess.run(
            ["git", "rev-parse", "--short", ref],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        archive = subprocess.run(
            ["git", "archive", "--format=tar", commit], cwd=ROOT, capture_output=True, check=True
        ).stdout
        path = self.tmp / f"baseline-{commit}"
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(path, filter="data")
        project = tomllib.loads((path / "pyproject.toml").read_text())["project"]
        server = " ".join(project.get("optional-dependencies", {}).get("server", []))
        hide = ",".join(m for m in ("uvloop", "httptools") if m not in server)
        return (commit if commit.startswith(ref) else f"{ref}@{commit}"), path, hide

    async def register_users(self) -> None:
        """Every bridge's users exist in the Viber emulator (replies go to them)."""
        viber = self.viber.http
        for bridge in self.bridges:
            for chunk in range(0, len(bridge.viber_ids), 64):
                await asyncio.gather(
                    *(
                        viber.post("/_emulator/users", json={"id": user, "subscribed": True})
                        for user in bridge.viber_ids[chunk : chunk + 64]
                    )
                )

    async def first_messages(self) -> None:
        """One message per user and bridge: users, conversations and mappings get made."""
        for bridge in self.bridges:
            await self._send(bridge, bridge.viber_requests(len(bridge.viber_ids)))
        users = (await self.freshchat.http.get("/_emulator/users")).json()["users"]
        conversations = (await self.freshchat.http.get("/_emulator/conversations")).json()
        by_user = {c["user_id"]: c["conversation_id"] for c in conversations["conversations"]}
        for bridge in self.bridges:
            for user in users:
                reference = str(user.get("reference_id") or "")
                viber = reference.removeprefix("viber:")
                if viber in bridge.viber_ids and user["id"] in by_user:
                    bridge.helpdesk[viber] = (user["id"], by_user[user["id"]])
            missing = len(bridge.viber_ids) - len(bridge.helpdesk)
            if missing:
                raise RuntimeError(f"{bridge.name}: {missing} users have no conversation")

    # -- phases ------------------------------------------------------------------------------

    async def _send(
        self, bridge: Bridge, requests: list[bytes], upstream: Upstream | None = None
    ) -> list[float]:
        upstream = upstream or self.freshchat
        target = (await upstream.counts())["delivered"] + len(requests)
        answers = await closed_loop(HOST, bridge.process.port, requests, self.args.in_flight)
        await upstream.wait_delivered(target)
        return answers

    async def measure(
        self,
        phase: str,
        latency_ms: float,
        bridge: Bridge,
        requests: list[bytes],
        warm: list[bytes],
    ) -> Result:
        upstream = self.freshchat if phase == "in" else self.viber
        if warm:
            await self._send(bridge, warm, upstream)
        await asyncio.sleep(0.2)  # let the warm-up's last store writes and log lines finish
        before = await self.counts()
        profiler = await self.profile(bridge, f"{phase}-{latency_ms:g}ms")
        cpu = bridge.process.cpu_seconds()
        start = time.perf_counter()
        answers = await closed_loop(HOST, bridge.process.port, requests, self.args.in_flight)
        await upstream.wait_delivered(int(before[phase]) + len(requests))
        elapsed = time.perf_counter() - start
        cpu = bridge.process.cpu_seconds() - cpu
        await self.stop_profile(profiler)
        after = await self.counts()
        return self._record(
            phase, latency_ms, bridge, requests, answers, cpu, elapsed, before, after
        )

    async def profile(self, bridge: Bridge, phase: str) -> asyncio.subprocess.Process | None:
        """With `--profile DIR`: py-spy samples a byoc bridge during a measured phase (its
        profiler's own CPU is not the bridge's, so the figures stand)."""
        if not self.args.profile or not bridge.name.startswith("byoc"):
            return None
        folder = Path(self.args.profile)
        folder.mkdir(parents=True, exist_ok=True)
        out = folder / f"{bridge.name.replace(' ', '-')}-{phase}.txt"
        spy = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or "py-spy"
        argv = [spy, "record", "--pid", str(bridge.process.proc.pid), "--nonblocking"]
        argv += ["--rate", "250", "--format", "raw", "--output", str(out)]
        profiler = await asyncio.create_subprocess_exec(
            *argv, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL
        )
        await asyncio.sleep(0.5)  # attached before the first measured message
        return profiler

    async def stop_profile(self, profiler: asyncio.subprocess.Process | None) -> None:
        if profiler is not None:
            profiler.send_signal(signal.SIGINT)  # py-spy writes its samples and exits
            await profiler.wait()

    async def measure_paced(self, latency_ms: float, bridge: Bridge) -> Result:
        count = int(self.args.rate * self.args.paced_seconds)
        await self._send(bridge, bridge.viber_requests(self.args.warm))
        requests = bridge.viber_requests(count)
        await asyncio.sleep(0.2)
        before = await self.counts()
        cpu = bridge.process.cpu_seconds()
        start = time.perf_counter()
        answers, refused = await paced(HOST, bridge.process.port, requests, self.args.rate)
        await self.freshchat.wait_delivered(int(before["in"]) + count - refused)
        elapsed = time.perf_counter() - start
        cpu = bridge.process.cpu_seconds() - cpu
        after = await self.counts()
        return self._record(
            "paced",
            latency_ms,
            bridge,
            requests[refused:],
            answers,
            cpu,
            elapsed,
            before,
            after,
            refused=refused,
        )

    async def counts(self) -> dict[str, float]:
        """Deliveries each way, and upstream calls of both kinds."""
        fc, vb = await asyncio.gather(self.freshchat.counts(), self.viber.counts())
        return {"in": fc["delivered"], "out": vb["delivered"], "calls": fc["calls"] + vb["calls"]}

    def _record(
        self,
        phase: str,
        latency_ms: float,
        bridge: Bridge,
        requests: list[bytes],
        answers: list[float],
        cpu: float,
        elapsed: float,
        before: dict[str, float],
        after: dict[str, float],
        refused: int = 0,
    ) -> Result:
        n = len(requests)
        result = Result(
            phase=phase,
            latency_ms=latency_ms,
            bridge=bridge.name,
            messages=n,
            cpu_us=cpu / n * 1e6,
            rate=n / elapsed,
            p50_ms=percentile(answers, 0.5) * 1000,
            p99_ms=percentile(answers, 0.99) * 1000,
            max_ms=max(answers, default=0.0) * 1000,
            calls=(after["calls"] - before["calls"]) / n,
            refused=refused,
        )
        self.results.append(result)
        return result

    async def replies(self, bridge: Bridge, count: int) -> list[bytes]:
        bodies = bridge.reply_bodies(count, self.channel_id)
        pem = self.key.private_key_pem
        chunks = [bodies[i : i + 50] for i in range(0, len(bodies), 50)]
        loop = asyncio.get_running_loop()
        signed = await asyncio.gather(
            *(loop.run_in_executor(self.pool, _sign_all, pem, chunk) for chunk in chunks)
        )
        return [request for chunk in signed for request in chunk]

    async def run(self) -> None:
        args = self.args
        await self.start_upstreams(args.latencies[0] / 1000)
        progress("upstreams started")
        await self.start_bridges()
        progress("bridges started")
        await self.register_users()
        await self.first_messages()
        progress("first messages sent")
        for latency in args.latencies:
            await self.freshchat.set_latency(latency / 1000)
            await self.viber.set_latency(latency / 1000)
            for round_ in range(args.rounds):
                # Each round starts with another bridge: none is always first after a change.
                turn = round_ % len(self.bridges)
                order = self.bridges[turn:] + self.bridges[:turn]
                await self.run_round(latency, order)

    async def run_round(self, latency: float, order: list[Bridge]) -> None:
        args = self.args
        for bridge in order:
            warm = bridge.viber_requests(args.warm)
            await self.measure("in", latency, bridge, bridge.viber_requests(args.messages), warm)
            progress(f"in  {latency:>5g} ms  {bridge.name}")
        if latency == args.paced_latency:
            for bridge in order:
                await self.measure_paced(latency, bridge)
                progress(f"paced {latency:>3g} ms  {bridge.name}")
        for bridge in order:
            replies = await self.replies(bridge, args.warm + args.messages)
            warm, measured = replies[: args.warm], replies[args.warm :]
            await self.measure("out", latency, bridge, measured, warm)
            progress(f"out {latency:>5g} ms  {bridge.name}")

    async def aclose(self) -> None:
        for bridge in self.bridges:
            await bridge.process.stop()
        for upstream in (getattr(self, "freshchat", None), getattr(self, "viber", None)):
            if upstream is not None:
                await upstream.aclose()
        self.pool.shutdown()


_clock = time.perf_counter()


def progress(text: str) -> None:
    print(f"  {time.perf_counter() - _clock:6.1f} s  {text}", file=sys.stderr, flush=True)


# -- report -----------------------------------------------------------------------------------


def _ratio(value: float, reference: float | None) -> str:
    return f"{value / reference:5.2f}" if reference else "    -"


def report(results: list[Result], args: argparse.Namespace) -> str:
    out = io.StringIO()
    titles = {
        "in": "user → agent (a Viber message to Freshchat)",
        "out": "agent → user (a Freshchat reply to Viber)",
    }
    for phase in ("in", "out"):
        for latency in args.latencies:
            rows = [r for r in results if r.phase == phase and r.latency_ms == latency]
            if not rows:
                continue
            floor = next((r for r in rows if r.bridge == "floor"), None)
            naive = next((r for r in rows if r.bridge == "naive"), None)
            print(f"\n{titles[phase]}, upstream {latency:g} ms away", file=out)
            print(
                f"{'':22} {'CPU µs/msg':>10} {'×floor':>6} {'×naive':>6} {'calls':>5}"
                f" {'msgs/s':>7} {'×naive':>6} {'answer p50':>10} {'p99 ms':>7}",
                file=out,
            )
            for r in rows:
                print(
                    f"{r.bridge:22} {r.cpu_us:10.0f} {_ratio(r.cpu_us, floor and floor.cpu_us):>6}"
                    f" {_ratio(r.cpu_us, naive and naive.cpu_us):>6} {r.calls:5.2f} {r.rate:7.0f}"
                    f" {_ratio(r.rate, naive and naive.rate):>6} {r.p50_ms:10.1f} {r.p99_ms:7.1f}",
                    file=out,
                )
    rows = [r for r in results if r.phase == "paced"]
    if rows:
        print(
            f"\nwebhook answer at a steady {args.rate:g} user messages/s, upstream"
            f" {args.paced_latency:g} ms away ({rows[0].messages} messages)",
            file=out,
        )
        print(
            f"{'':22} {'CPU µs/msg':>10} {'p50 ms':>7} {'p99 ms':>7} {'max ms':>7} {'refused':>7}",
            file=out,
        )
        for r in rows:
            print(
                f"{r.bridge:22} {r.cpu_us:10.0f} {r.p50_ms:7.1f} {r.p99_ms:7.1f} {r.max_ms:7.1f}"
                f" {r.refused:7d}",
                file=out,
            )
    return out.getvalue()


def summary(results: list[Result], args: argparse.Namespace) -> str:
    """The issue's targets, for each byoc bridge measured."""
    out = io.StringIO()

    def find(phase: str, latency: float, bridge: str) -> Result | None:
        return next(
            (r for r in results if (r.phase, r.latency_ms, r.bridge) == (phase, latency, bridge)),
            None,
        )

    labels = sorted({r.bridge.rsplit(" ", 1)[0] for r in results} - {"floor", "naive"})
    print("\ntargets (this run):", file=out)
    for label in labels:
        cells = []
        for what, phase, delivery, reference, limit in (
            ("durable CPU ×floor", "in", "durable", "floor", 2.0),
            ("inline CPU ×floor", "in", "inline", "floor", 1.5),
            ("reply CPU ×floor", "out", "durable", "floor", 2.0),
        ):
            ratios = []
            for latency in args.latencies:
                mine, ref = (
                    find(phase, latency, f"{label} {delivery}"),
                    find(phase, latency, reference),
                )
                if mine and ref and ref.cpu_us:
                    ratios.append(mine.cpu_us / ref.cpu_us)
            if ratios:
                worst = max(ratios)
                cells.append(
                    f"{what} ≤ {limit:g}: {' / '.join(f'{x:.2f}' for x in ratios)} "
                    f"{'ok' if worst <= limit else 'NOT MET'}"
                )
        for latency, limit in ((20, 2.5), (100, 4.0)):
            mine, naive = find("in", latency, f"{label} durable"), find("in", latency, "naive")
            if mine and naive:
                ratio = mine.rate / naive.rate
                cells.append(
                    f"msgs/s ×naive at {latency} ms ≥ {limit:g}: {ratio:.2f} "
                    f"{'ok' if ratio >= limit else 'NOT MET'}"
                )
        steady = find("paced", args.paced_latency, f"{label} durable")
        if steady:
            met = steady.p99_ms < 10 and not steady.refused
            refused = f" ({steady.refused} refused)" if steady.refused else ""
            cells.append(
                f"durable webhook p99 at {args.rate:g}/s < 10 ms: {steady.p99_ms:.1f}{refused} "
                f"{'ok' if met else 'NOT MET'}"
            )
        print(f"  {label}:", file=out)
        for cell in cells:
            print(f"    {cell}", file=out)
    return out.getvalue()


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="small counts: under a minute")
    parser.add_argument(
        "--baseline",
        metavar="REF",
        action="append",
        default=[],
        help="also run byoc from git revision REF (repeat for several)",
    )
    parser.add_argument("--latencies", help="upstream latencies in ms (default 2,20,100)")
    parser.add_argument("--users", type=int, help="users per bridge (default 256; quick 32)")
    parser.add_argument("--messages", type=int, help="measured per phase (default 2000; quick 150)")
    parser.add_argument(
        "--warm", type=int, help="warm-up messages per phase (default 200; quick 32)"
    )
    parser.add_argument(
        "--rounds", type=int, default=1, help="measure each bridge N times, report medians (1)"
    )
    parser.add_argument("--in-flight", type=int, default=32, help="webhooks in flight (32)")
    parser.add_argument("--rate", type=float, default=200, help="steady phase: messages/s (200)")
    parser.add_argument("--paced-seconds", type=float, help="steady phase length (10; quick 1)")
    parser.add_argument("--paced-latency", type=float, help="its upstream ms (20 when measured)")
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    parser.add_argument(
        "--bridges",
        help="only these, comma-separated (e.g. 'floor,byoc durable'; default: all)",
    )
    parser.add_argument(
        "--profile",
        metavar="DIR",
        help="sample each byoc bridge with py-spy during measured phases, into DIR",
    )
    args = parser.parse_args(argv)
    quick = args.quick
    args.latencies = [float(x) for x in (args.latencies or "2,20,100").split(",")]
    args.bridges = [b.strip() for b in args.bridges.split(",")] if args.bridges else []
    args.users = args.users or (32 if quick else 256)
    args.messages = args.messages or (150 if quick else 2000)
    args.warm = args.warm if args.warm is not None else (32 if quick else 200)
    args.paced_seconds = args.paced_seconds or (1.0 if quick else 10.0)
    if args.paced_latency is None:
        args.paced_latency = 20.0 if 20.0 in args.latencies else args.latencies[0]
    # Viber takes at most 100 messages to a user within an hour without an answer from them.
    replies = len(args.latencies) * args.rounds * (args.warm + args.messages) / args.users
    if replies > 90:
        parser.error(
            f"each user would get {replies:.0f} replies, over Viber's 100 an hour: "
            "raise --users or lower --messages, --warm or --rounds"
        )
    return args


async def amain(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="byoc-bench-") as tmp:
        bench = Bench(args, Path(tmp))
        started = time.perf_counter()
        try:
            await bench.run()
        finally:
            await bench.aclose()
        print(
            f"{args.users} users per bridge, {args.messages} messages per phase after"
            f" {args.warm} of warm-up, {args.in_flight} webhooks in flight,"
            f" median of {args.rounds} round(s);"
            f" CPU of each server process from /proc; {time.perf_counter() - started:.0f} s"
        )
        results = combine(bench.results)
        print(report(results, args), end="")
        print(summary(results, args), end="")
        if args.json:
            record = {
                "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
                "settings": {k: v for k, v in vars(args).items() if k != "json"},
                "results": [asdict(r) for r in results],
                "rounds": [asdict(r) for r in bench.results],
            }
            Path(args.json).write_text(json.dumps(record, indent=1) + "\n")


def main(argv: Sequence[str] | None = None) -> None:
    asyncio.run(amain(parse_args(argv)))


if __name__ == "__main__":
    main()
