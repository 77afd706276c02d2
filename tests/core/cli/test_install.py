"""`byoc install` / `uninstall` and `serve --install` with the emulators on real ports."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from .emulators import FreshchatServer, ViberServer
from .support import Running, clean_env, free_port, run_byoc

ADMIN_TOKEN = "install-admin-token-0123456789"


@pytest.fixture(scope="module")
def servers() -> Iterator[tuple[FreshchatServer, ViberServer]]:
    freshchat, viber = FreshchatServer(), ViberServer()
    yield freshchat, viber
    freshchat.stop()
    viber.stop()


def test_install_needs_a_public_url(tmp_path: Path) -> None:
    env = clean_env(
        BYOC_FRESHCHAT_API_URL="https://acme.freshchat.com/v2",
        BYOC_FRESHCHAT_API_TOKEN="token-0123456789",
    )
    result = run_byoc("install", env=env, cwd=tmp_path)
    assert result.returncode == 1
    assert "BYOC_PUBLIC_URL is not set" in result.stderr and "https://" in result.stderr


def test_install_in_the_demo_explains_there_is_nothing_to_install(tmp_path: Path) -> None:
    result = run_byoc("install", env=clean_env(BYOC_PUBLIC_URL="https://x.example"), cwd=tmp_path)
    assert result.returncode == 1
    assert "nothing to install" in result.stderr and "demo" in result.stderr


def test_serve_install_registers_viber_and_the_cli_uninstalls_and_reinstalls(
    servers: tuple[FreshchatServer, ViberServer], tmp_path: Path
) -> None:
    freshchat, viber = servers
    port = free_port()
    public = f"http://127.0.0.1:{port}"
    env = freshchat.settings(
        BYOC_PUBLIC_URL=public,
        BYOC_STORE=str(tmp_path / "byoc.sqlite3"),
        BYOC_ADMIN_TOKEN=ADMIN_TOKEN,
        BYOC_VIBER_AUTH_TOKEN=viber.token,
        BYOC_VIBER_SENDER_NAME="Acme",
        BYOC_VIBER_API_URL=viber.api_url,
    )
    bridge = Running("serve", "--port", str(port), "--install", env=env)
    try:
        target = f"{public}/channels/viber/webhook"
        bridge.wait_for(rf"viber: registered {target}")
        bridge.wait_for(rf"^\s+{public}/messaging/webhook$")
        assert viber.webhook() == target

        result = run_byoc("uninstall", "viber", env=env)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "viber: uninstalled" in result.stdout
        assert viber.webhook() is None

        page = httpx.get(f"{public}/admin", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
        assert 'data-state="not-installed"' in page.text

        # Install comes before the help desk's webhook key: Freshchat shows the key once the
        # URL that install prints is pasted there. So install needs no Freshchat setting.
        before_the_key = {k: v for k, v in env.items() if "FRESHCHAT" not in k}
        before_the_key["BYOC_FRESHCHAT_API_URL"] = env["BYOC_FRESHCHAT_API_URL"]
        before_the_key["BYOC_FRESHCHAT_API_TOKEN"] = env["BYOC_FRESHCHAT_API_TOKEN"]
        result = run_byoc("install", env=before_the_key)
        assert result.returncode == 0, result.stdout + result.stderr
        assert f"viber: registered {target}" in result.stdout
        assert f"{public}/messaging/webhook" in result.stdout
        assert "BYOC_FRESHCHAT_WEBHOOK_PUBLIC_KEY" in result.stdout
        assert viber.webhook() == target

        page = httpx.get(f"{public}/admin", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
        assert 'data-state="registered"' in page.text

        unknown = run_byoc("install", "nope", env=env)
        assert unknown.returncode == 1 and "nope: not enabled (enabled: viber)" in unknown.stderr
    finally:
        assert bridge.stop(signal.SIGTERM) == 0, bridge.output


def test_install_reports_a_channel_that_cannot_call_the_bridge_back(
    servers: tuple[FreshchatServer, ViberServer], tmp_path: Path
) -> None:
    freshchat, viber = servers
    env = freshchat.settings(
        # Nothing serves this address, so Viber's check of the URL fails.
        BYOC_PUBLIC_URL=f"http://127.0.0.1:{free_port()}",
        BYOC_STORE=str(tmp_path / "byoc.sqlite3"),
        BYOC_VIBER_AUTH_TOKEN=viber.token,
        BYOC_VIBER_SENDER_NAME="Acme",
        BYOC_VIBER_API_URL=viber.api_url,
    )
    result = run_byoc("install", "viber", env=env)
    assert result.returncode == 1
    assert "viber: FAILED: Viber could not register the webhook" in result.stdout
    assert "Is `byoc serve` running and reachable at" in result.stdout


def test_a_kakao_dealers_install_prints_the_url_to_paste_but_never_the_sender_key(
    tmp_path: Path,
) -> None:
    sender_key = "3fd538ef7218a14a63e51ba47e83c76e1ff5ab62"
    webhook_secret = "dealer-webhook-secret-0123456789"
    env = clean_env(
        BYOC_FRESHCHAT_API_URL="https://acme.freshchat.com/v2",
        BYOC_FRESHCHAT_API_TOKEN="token-0123456789",
        BYOC_PUBLIC_URL="https://bridge.example.com",
        BYOC_CHANNELS="kakao",
        BYOC_KAKAO_CLIENT_ID="client-id",
        BYOC_KAKAO_CLIENT_SECRET="client-secret-0123456789",
        BYOC_KAKAO_SENDER_KEY=sender_key,
        BYOC_KAKAO_WEBHOOK_SECRET=webhook_secret,
        BYOC_STORE=str(tmp_path / "byoc.sqlite3"),
    )
    result = run_byoc("install", "kakao", env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    # The URL must be pasted whole, its secret included; the sender key is named, not shown.
    assert f"https://bridge.example.com/channels/kakao/webhook/{webhook_secret}" in result.stdout
    assert "BYOC_KAKAO_SENDER_KEY" in result.stdout
    assert sender_key not in result.stdout + result.stderr
