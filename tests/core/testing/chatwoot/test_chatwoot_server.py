"""The command-line server really serves HTTP and prints what to paste into the bridge."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from byoc.testing.chatwoot.server import main

ROOT = Path(__file__).resolve().parents[4]


def test_the_server_serves_real_http_on_a_free_port() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [
        sys.executable,
        "-m",
        "byoc.testing.chatwoot.server",
        "--port",
        "0",
        "--token",
        "cw-test",
        "--secret",
        "whsec-kept",
        "--log-level",
        "warning",
    ]
    with subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    ) as process:
        try:
            assert process.stdout is not None
            settings = {}
            for line in process.stdout:
                if "=" in line:
                    key, _, value = line.strip().partition("=")
                    settings[key] = value
                if line.lstrip().startswith("Control:"):
                    break
            url = settings["BYOC_CHATWOOT_URL"]
            assert url.startswith("http://127.0.0.1:")
            assert settings["BYOC_CHATWOOT_HMAC_TOKEN"] == "whsec-kept"
            token = {"api_access_token": settings["BYOC_CHATWOOT_API_TOKEN"]}
            inbox = httpx.get(f"{url}/api/v1/accounts/1/inboxes/1", headers=token)
            assert inbox.status_code == 200 and inbox.json()["secret"] == "whsec-kept"
            assert httpx.get(f"{url}/api/v1/accounts/1/inboxes/1").status_code == 401
        finally:
            process.terminate()
            process.wait(timeout=30)


def test_a_busy_port_is_reported(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["--port", str(port)]) == 1
    assert "cannot listen" in capsys.readouterr().err


def test_a_bad_webhook_url_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--port", "0", "--webhook-url", "bridge.local/hook"]) == 2
    assert "webhook URL" in capsys.readouterr().err
