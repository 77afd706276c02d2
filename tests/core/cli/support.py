"""Running `byoc` as a user does: a subprocess on real ports, with a clean environment.

Also makes the entry points this checkout's pyproject declares visible when the environment
was installed from an older checkout (an editable install keeps the metadata of the day it was
installed): the missing ones are written as a small distribution on `sys.path` and on the
subprocesses' `PYTHONPATH`. After `pip install -e .` nothing is missing and nothing is written.
"""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from importlib.metadata import entry_points
from pathlib import Path

import httpx

from byoc.testing.ports import free_port as free_port  # the CLI tests' import point

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[3]
_extra_path: list[str] = []


def ensure_declared_entry_points(where: Path) -> None:
    """Make every entry point of pyproject.toml discoverable in this process and subprocesses."""
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["entry-points"]
    lines: list[str] = []
    for group, names in declared.items():
        present = {ep.name for ep in entry_points(group=group)}
        missing = {n: t for n, t in names.items() if n not in present}
        if missing:
            lines.append(f"[{group}]")
            lines += [f"{n} = {t}" for n, t in sorted(missing.items())]
    if not lines:
        return
    dist = where / "byoc_checkout_entry_points-0.dist-info"
    dist.mkdir(parents=True, exist_ok=True)
    (dist / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: byoc-checkout-entry-points\nVersion: 0\n"
    )
    (dist / "entry_points.txt").write_text("\n".join(lines) + "\n")
    if str(where) not in sys.path:
        sys.path.append(str(where))
        _extra_path.append(str(where))


def clean_env(**settings: str) -> dict[str, str]:
    """The environment of a subprocess: no BYOC_* from outside, this checkout's code first."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BYOC_")}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *_extra_path])
    env["PYTHONUNBUFFERED"] = "1"
    env.update(settings)
    return env


def byoc_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "byoc.cli", *args]


PATIENT = ("--timeout", "30")
"""`byoc check` arguments for a check against live emulators: on a loaded machine an emulator may
take seconds to answer, and only the timeout tests should be hasty."""


def run_byoc(
    *args: str,
    env: Mapping[str, str] | None = None,
    stdin: str | None = None,
    cwd: Path | None = None,
    timeout: float = 60.0,
) -> subprocess.CompletedProcess[str]:
    """Run `byoc ARGS...` to completion."""
    return subprocess.run(
        byoc_command(*args),
        env=dict(env) if env is not None else clean_env(),
        input=stdin,
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=timeout,
    )


class Running:
    """A long-running `byoc` process (serve, emulate) whose output is read as it comes.

    `command` runs another program instead (uvicorn or gunicorn serving an example).
    """

    def __init__(
        self,
        *args: str,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        command: list[str] | None = None,
        preexec_fn: Callable[[], None] | None = None,
    ) -> None:
        self.process = subprocess.Popen(
            command if command is not None else byoc_command(*args),
            env=dict(env) if env is not None else clean_env(),
            cwd=cwd,
            preexec_fn=preexec_fn,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        with self.process.stdout:
            for line in self.process.stdout:
                self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def wait_for(self, pattern: str, timeout: float = 30.0) -> re.Match[str]:
        """Read output until a line matches `pattern`; fail with everything read otherwise."""
        regex = re.compile(pattern)
        for line in self.lines:
            found = regex.search(line)
            if found:
                return found
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            try:
                line = self._queue.get(timeout=max(0.0, remaining))
            except queue.Empty:
                line = None
                remaining = 0
            if line is None:
                output = "\n".join(self.lines)
                reason = "timed out" if remaining <= 0 else "exited"
                raise AssertionError(f"{reason} waiting for {pattern!r}; output:\n{output}")
            self.lines.append(line)
            found = regex.search(line)
            if found:
                return found

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30.0) -> int:
        """Send `sig`, wait for the exit status, and collect the rest of the output."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
        code = self.process.wait(timeout=timeout)
        while True:
            line = self._queue.get(timeout=timeout)
            if line is None:
                break
            self.lines.append(line)
        return code

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


def poll(check: object, *, timeout: float = 20.0, every: float = 0.05) -> None:
    """Call `check()` until it returns true (waiting on another process: there is no event)."""
    deadline = time.monotonic() + timeout
    while True:
        if check():  # type: ignore[operator]
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        time.sleep(every)


def get_json(url: str, **kwargs: object) -> object:
    response = httpx.get(url, timeout=10.0, **kwargs)  # type: ignore[arg-type]
    response.raise_for_status()
    return response.json()
