"""The examples served as their docstrings say (uvicorn, gunicorn): the bridge's log lines show.

uvicorn and gunicorn configure only their own loggers; an example that did not call
`byoc.log_to_stderr()` would deliver messages without a line saying so.
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from ..core.cli.emulators import FreshchatServer, ViberServer
from ..core.cli.support import ROOT, Running, free_port, get_json, poll, run_byoc

SERVERS = {
    "fastapi under uvicorn": [
        "uvicorn",
        "examples.fastapi_app:create_app",
        "--factory",
        "--host",
        "127.0.0.1",
        "--port",
        "{port}",
    ],
    "flask under gunicorn": [
        "gunicorn",
        "--workers",
        "1",
        "--threads",
        "4",
        "--bind",
        "127.0.0.1:{port}",
        "examples.flask_app:create_app()",
    ],
}


@pytest.fixture(scope="module")
def emulators() -> Iterator[tuple[FreshchatServer, ViberServer]]:
    freshchat, viber = FreshchatServer(), ViberServer()
    yield freshchat, viber
    freshchat.stop()
    viber.stop()


@pytest.mark.parametrize("server", sorted(SERVERS))
def test_a_served_example_delivers_and_logs_each_hop(
    server: str, emulators: tuple[FreshchatServer, ViberServer], tmp_path: Path
) -> None:
    freshchat, viber = emulators
    port = free_port()
    public = f"http://127.0.0.1:{port}/byoc"
    env = freshchat.settings(
        BYOC_PUBLIC_URL=public,
        BYOC_STORE=str(tmp_path / "byoc.sqlite3"),
        BYOC_VIBER_AUTH_TOKEN=viber.token,
        BYOC_VIBER_SENDER_NAME="Acme",
        BYOC_VIBER_API_URL=viber.api_url,
    )
    tool = Path(sys.executable).with_name(SERVERS[server][0])
    command = [str(tool), *(a.format(port=port) for a in SERVERS[server][1:])]
    process = Running(command=command, env=env, cwd=ROOT)
    try:
        poll(lambda: _answers(f"{public}/healthz"))
        installed = run_byoc("install", "viber", env=env)
        assert installed.returncode == 0, installed.stdout + installed.stderr
        user = httpx.post(f"{viber.base}/_emulator/users", json={"name": "Ana"}).json()
        sent = httpx.post(
            f"{viber.base}/_emulator/send",
            json={"user_id": user["id"], "message": {"type": "text", "text": f"hi via {server}"}},
        )
        assert sent.status_code == 200
        process.wait_for(r"byoc\.hops: hop=helpdesk\.posted channel=viber .*channel_user=")
        messages = get_json(f"{freshchat.base}/_emulator/conversations")
        assert isinstance(messages, dict) and messages["conversations"]
    finally:
        process.stop(signal.SIGTERM)
    assert "byoc.hops: hop=channel.webhook channel=viber" in process.output


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2.0).status_code == 200
    except httpx.HTTPError:
        return False
