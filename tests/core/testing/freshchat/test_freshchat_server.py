"""The command-line server really serves HTTP, prints what to paste, and keeps its key."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from byoc.testing.freshchat import WebhookKey
from byoc.testing.freshchat.server import main

ROOT = Path(__file__).resolve().parents[4]


def test_the_server_serves_real_http_on_a_free_port(tmp_path: Path) -> None:
    key_file = tmp_path / "freshchat.pem"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [
        sys.executable,
        "-m",
        "byoc.testing.freshchat.server",
        "--port",
        "0",
        "--token",
        "eyJ-test",
        "--key-file",
        str(key_file),
        "--log-level",
        "warning",
    ]
    with subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    ) as process:
        try:
            _check_serving(process, key_file)
        finally:
            process.terminate()
            process.wait(timeout=30)


def _check_serving(process: subprocess.Popen[str], key_file: Path) -> None:
    """Read the banner up to the key's end (the socket listens by then), then call the API."""
    assert process.stdout is not None
    banner: list[str] = []
    for line in process.stdout:
        banner.append(line)
        if line.startswith("-----END RSA PUBLIC KEY-----"):
            break
    text = "".join(banner)
    api_url = next(s.split("API URL:")[1].strip() for s in banner if "API URL:" in s)
    assert api_url.startswith("http://127.0.0.1:") and api_url.endswith("/v2")
    assert "eyJ-test" in text

    token = {"Authorization": "Bearer eyJ-test"}
    good = httpx.get(f"{api_url}/accounts/configuration", headers=token)
    bad = httpx.get(f"{api_url}/accounts/configuration")
    assert good.status_code == 200 and "app_id" in good.json()
    assert bad.status_code == 401

    # The printed key is the one kept in the key file, so a restart keeps it.
    key_text = WebhookKey.from_pem(key_file.read_bytes()).public_key_text
    assert key_text in text


def test_a_key_file_that_is_not_a_key_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.pem"
    bad.write_text("not a key")
    assert main(["--key-file", str(bad)]) == 2
    assert "cannot use the key file" in capsys.readouterr().err


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
