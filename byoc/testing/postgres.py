"""`TemporaryPostgres`: a throwaway PostgreSQL server for tests, benchmarks and CI.

```python
server = TemporaryPostgres.start()           # initdb + pg_ctl start on a free port
store = PostgresStore(server.create_database("t1"))
...
server.restart()                             # an outage, for the tests that need one
server.stop()                                # and its data directory is gone
```

It runs the server binaries of the machine (`pg_ctl` on the PATH, else the newest
`/usr/lib/postgresql/*/bin`). `initdb` and `pg_ctl` refuse to run as root, so as root they run
as the `postgres` OS user. Data go to a temporary directory with `fsync` off unless
`durable=True`: a test server trades crash safety for speed, a benchmark should not.

`python -m byoc.testing.postgres start|stop DIR` does the same from a shell (`.ci/run`).
"""

from __future__ import annotations

import glob
import os
import pwd
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from .ports import free_port

__all__ = ["TemporaryPostgres", "find_binaries", "unavailable_reason"]


def find_binaries() -> Path | None:
    """The directory of `initdb` and `pg_ctl`, or None."""
    found = shutil.which("pg_ctl")
    if found and shutil.which("initdb"):
        return Path(os.path.realpath(found)).parent
    versions = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"),
        key=lambda path: int(Path(path).parts[-3]) if Path(path).parts[-3].isdigit() else 0,
    )
    return Path(versions[-1]).parent if versions else None


def _server_user() -> str | None:
    """The OS user the server runs as: `postgres` when we are root, else ourselves."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        return "missing"
    return "postgres"


def unavailable_reason() -> str | None:
    """Why a server cannot be started here, or None when it can."""
    if find_binaries() is None:
        return "the PostgreSQL server binaries (initdb, pg_ctl) are not installed"
    if _server_user() == "missing":
        return "running as root, and there is no `postgres` OS user to run the server as"
    return None


class TemporaryPostgres:
    """A PostgreSQL server on 127.0.0.1 with a data directory of its own, user `byoc`."""

    def __init__(self, directory: Path, port: int) -> None:
        self.directory = directory
        self.port = port
        self._bin = find_binaries()
        self._user = _server_user()

    @property
    def url(self) -> str:
        """The URL of the `postgres` database (the maintenance database)."""
        return self.database_url("postgres")

    def database_url(self, name: str) -> str:
        return f"postgresql://byoc@127.0.0.1:{self.port}/{name}"

    @classmethod
    def start(
        cls, directory: Path | None = None, *, durable: bool = False, max_connections: int = 300
    ) -> TemporaryPostgres:
        """initdb a new cluster (unless `directory` holds one) and start it."""
        reason = unavailable_reason()
        if reason is not None:
            raise RuntimeError(f"cannot start PostgreSQL: {reason}")
        made = directory is None
        directory = directory or Path(tempfile.mkdtemp(prefix="byoc-pg-"))
        server = cls(directory, free_port())
        if server._user == "postgres":
            shutil.chown(directory, "postgres", "postgres")
        try:
            if not (directory / "data" / "PG_VERSION").exists():
                server._run(
                    "initdb",
                    "-D",
                    str(directory / "data"),
                    "-A",
                    "trust",
                    "-U",
                    "byoc",
                    "-E",
                    "UTF8",
                    "--no-sync",
                )
            options = [
                f"-p {server.port}",
                f"-k {directory}",
                "-c listen_addresses=127.0.0.1",
                f"-c max_connections={max_connections}",
            ]
            if not durable:
                options += ["-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off"]
            server._options = " ".join(options)
            server._pg_ctl("start")
        except BaseException:
            if made:
                shutil.rmtree(directory, ignore_errors=True)
            raise
        (directory / "port").write_text(str(server.port))
        return server

    _options = ""

    def _run(self, program: str, *args: str) -> None:
        assert self._bin is not None
        command = [str(self._bin / program), *args]
        if self._user == "postgres":
            command = ["su", "postgres", "-s", "/bin/sh", "-c", shlex.join(command)]
        done = subprocess.run(command, capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise RuntimeError(f"{program} failed: {done.stdout}{done.stderr}")

    def _pg_ctl(self, action: str, *more: str) -> None:
        args = ["-D", str(self.directory / "data"), "-l", str(self.directory / "log"), "-w"]
        if action == "start":
            args += ["-o", self._options]
        self._run("pg_ctl", *args, *more, action)

    def stop_server(self, mode: str = "fast") -> None:
        """Stop the server, keeping its data (`start_server` brings it back)."""
        self._pg_ctl("stop", "-m", mode)

    def start_server(self) -> None:
        self._pg_ctl("start")

    def restart(self) -> None:
        """Stop and start again: every connection is cut, nothing committed is lost."""
        self.stop_server("fast")
        self.start_server()

    def create_database(self, name: str) -> str:
        """A new empty database; its URL."""
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"'.encode())
        return self.database_url(name)

    def drop_database(self, name: str) -> None:
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'.encode())

    def stop(self) -> None:
        """Stop the server at once and delete its data."""
        try:
            self._pg_ctl("stop", "-m", "immediate")
        finally:
            shutil.rmtree(self.directory, ignore_errors=True)


def main(argv: list[str]) -> int:
    """`start DIR`: start a server with its data in DIR and print its URL; `stop DIR`."""
    if len(argv) != 2 or argv[0] not in ("start", "stop"):
        print("usage: python -m byoc.testing.postgres start|stop DIR", file=sys.stderr)
        return 2
    directory = Path(argv[1])
    if argv[0] == "start":
        directory.mkdir(parents=True, exist_ok=True)
        print(TemporaryPostgres.start(directory).url)
        return 0
    server = TemporaryPostgres(directory, int((directory / "port").read_text()))
    server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
