"""`byoc check` against `byoc emulate telegram` on a real port: Telegram's last failed delivery
to the webhook (`getWebhookInfo`) is a warning naming it, without the token."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.core.cli.emulators import FreshchatServer
from tests.core.cli.support import PATIENT, free_port, poll, run_byoc

from .served import TOKEN, TelegramServer

SECRET = "check-secret-0123456789"


@pytest.fixture
def servers() -> Iterator[tuple[FreshchatServer, TelegramServer]]:
    freshchat, telegram = FreshchatServer(), TelegramServer()
    yield freshchat, telegram
    telegram.stop()
    freshchat.stop()


def test_check_warns_with_the_delivery_error_telegram_reports(
    servers: tuple[FreshchatServer, TelegramServer],
) -> None:
    freshchat, telegram = servers
    public_url = f"http://127.0.0.1:{free_port()}"  # where no bridge listens
    api = f"{telegram.base}/bot{TOKEN}"
    httpx.post(
        f"{api}/setWebhook",
        json={"url": f"{public_url}/channels/telegram/webhook", "secret_token": SECRET},
    ).raise_for_status()
    telegram.sends(telegram.new_user(), text="anyone there?")
    poll(lambda: "last_error_message" in httpx.get(f"{api}/getWebhookInfo").json()["result"])

    env = freshchat.settings(
        BYOC_CHANNELS="telegram",
        BYOC_TELEGRAM_BOT_TOKEN=TOKEN,
        BYOC_TELEGRAM_WEBHOOK_SECRET=SECRET,
        BYOC_TELEGRAM_API_URL=telegram.base,
        BYOC_PUBLIC_URL=public_url,
    )
    result = run_byoc("check", *PATIENT, env=env)

    [warned] = [x for x in result.stdout.splitlines() if x.startswith("[warn") and "telegram" in x]
    assert f"webhook {public_url}/channels/telegram/webhook" in warned
    assert "reports its last delivery there failed: Connection failed: ConnectError at " in warned
    assert "; 1 update waiting" in warned and "Is `byoc serve` running" in warned
    assert TOKEN not in result.stdout + result.stderr
