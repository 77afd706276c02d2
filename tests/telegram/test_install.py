"""Registering the webhook (`setWebhook` with the secret and the updates the bridge reads),
removing it, `byoc check`'s `getMe`, and the settings `from_env` reads."""

from __future__ import annotations

import re

import pytest

from byoc.errors import ConfigurationError
from byoc.settings import load_settings
from byoc_telegram import ALLOWED_UPDATES, TelegramChannel

from .conftest import SECRET, WEBHOOK_URL, World

TOKEN = "123456789:AAHkOUQ8nVEXAMPLEtokenPART0123456789"


async def test_install_registers_the_secret_and_the_updates_the_bridge_reads(world: World) -> None:
    hook = world.emulator.webhook
    assert hook is not None
    assert (hook.url, hook.secret) == (WEBHOOK_URL, SECRET)
    assert hook.allowed_updates == ALLOWED_UPDATES


async def test_check_says_the_bot_and_its_webhook(world: World) -> None:
    found = await world.channel.check()
    assert (found.account, found.webhook, found.reports_webhook) == (
        "@byoc_emulator_bot",
        WEBHOOK_URL,
        True,
    )
    await world.channel.uninstall()
    assert (await world.channel.check()).webhook is None


async def test_updates_sent_while_no_webhook_was_set_arrive_once_it_is(world: World) -> None:
    await world.channel.uninstall()
    alice = world.emulator.user("Alice")
    await world.emulator.send_text(alice, "anyone there?")
    await world.emulator.drain()
    assert world.endpoint.events == []
    await world.channel.install(WEBHOOK_URL)
    await world.emulator.drain()
    assert [e.parts[0].text for e in world.endpoint.events] == ["anyone there?"]


async def test_telegram_refusing_the_url_says_what_it_takes(world: World) -> None:
    world.emulator.require_https = True
    with pytest.raises(ConfigurationError, match="HTTPS .* port 443, 80, 88 or 8443"):
        await world.channel.install(WEBHOOK_URL)


def test_settings() -> None:
    env = {"BYOC_TELEGRAM_BOT_TOKEN": TOKEN, "BYOC_TELEGRAM_WEBHOOK_SECRET": SECRET}
    channel = TelegramChannel.from_env(env)
    assert channel.api_url == "https://api.telegram.org"
    custom = TelegramChannel.from_env({**env, "BYOC_TELEGRAM_API_URL": "http://127.0.0.1:8082/"})
    assert custom.api_url == "http://127.0.0.1:8082"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "BYOC_TELEGRAM_BOT_TOKEN is not set; @BotFather"),
        (
            {"BYOC_TELEGRAM_BOT_TOKEN": "nope", "BYOC_TELEGRAM_WEBHOOK_SECRET": SECRET},
            "BYOC_TELEGRAM_BOT_TOKEN is not a bot token",
        ),
        ({"BYOC_TELEGRAM_BOT_TOKEN": TOKEN}, "BYOC_TELEGRAM_WEBHOOK_SECRET is not set; make one"),
        (
            {"BYOC_TELEGRAM_BOT_TOKEN": TOKEN, "BYOC_TELEGRAM_WEBHOOK_SECRET": "short"},
            "BYOC_TELEGRAM_WEBHOOK_SECRET is unusable; make one with .*token_urlsafe",
        ),
        (
            {"BYOC_TELEGRAM_BOT_TOKEN": TOKEN, "BYOC_TELEGRAM_WEBHOOK_SECRET": "sp ace" * 4},
            "BYOC_TELEGRAM_WEBHOOK_SECRET is unusable",
        ),
        (
            {
                "BYOC_TELEGRAM_BOT_TOKEN": TOKEN,
                "BYOC_TELEGRAM_WEBHOOK_SECRET": SECRET,
                "BYOC_TELEGRAM_API_URL": "api.telegram.org",
            },
            "BYOC_TELEGRAM_API_URL must be an http",
        ),
    ],
)
def test_a_missing_or_wrong_setting_names_the_fix(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message) as caught:
        TelegramChannel.from_env(env)
    assert TOKEN not in str(caught.value)


def test_two_bots_from_the_settings_each_read_their_own() -> None:
    settings = {
        "BYOC_CHANNELS": "telegram,telegram-vip",
        "BYOC_TELEGRAM_BOT_TOKEN": TOKEN,
        "BYOC_TELEGRAM_WEBHOOK_SECRET": SECRET,
        "BYOC_TELEGRAM_VIP_KIND": "telegram",
        "BYOC_TELEGRAM_VIP_BOT_TOKEN": "987654321:AAvipTOKEN0123456789abcdef",
        "BYOC_TELEGRAM_VIP_WEBHOOK_SECRET": "vip-secret-0123456789",
    }
    first, second = load_settings(settings).choose_channels().enabled
    assert isinstance(first, TelegramChannel) and isinstance(second, TelegramChannel)
    assert (first.name, second.name) == ("telegram", "telegram-vip")
    assert "987654321:" in second._api.file_url("x") and TOKEN not in second._api.file_url("x")
    del settings["BYOC_TELEGRAM_VIP_BOT_TOKEN"]
    with pytest.raises(ConfigurationError, match="BYOC_TELEGRAM_VIP_BOT_TOKEN is not set"):
        load_settings(settings).choose_channels()


async def test_check_reports_telegrams_last_failed_delivery_within_a_day(world: World) -> None:
    await world.channel.install("http://nowhere.test/channels/telegram/webhook")
    alice = world.emulator.user("Alice")
    await world.emulator.send_text(alice, "anyone there?")
    await world.emulator.drain()  # an hour of retries, then Telegram gives up
    failed = (await world.channel.check()).webhook_error
    assert failed is not None
    assert re.fullmatch(r"Connection failed: ConnectError at 2023-11-14 2\d:\d\d:\d\d UTC", failed)
    await world.channel.uninstall()  # what comes now waits in Telegram
    await world.emulator.send_text(alice, "hello?")
    await world.emulator.send_text(alice, "hello??")
    found = await world.channel.check()
    assert found.webhook is None
    assert found.webhook_error == f"{failed}; 2 updates waiting"
    await world.clock.advance(24 * 3600 + 1)  # the failed update is gone from Telegram
    assert (await world.channel.check()).webhook_error is None
