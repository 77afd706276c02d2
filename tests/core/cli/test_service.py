"""From settings to what `byoc serve` runs: the demo, or a bridge on SQLite."""

from __future__ import annotations

from pathlib import Path

import pytest

from byoc.bridge import Bridge
from byoc.cli.service import build_service
from byoc.demo import DEMO_LABEL, DemoWorld
from byoc.errors import ConfigurationError
from byoc.service import build_bridge, open_store
from byoc.settings import load_settings
from byoc.store import SQLiteStore
from byoc.testing.freshchat.webhooks import WebhookKey

KEY = WebhookKey.generate().public_key_text


def real(tmp_path: Path, **more: str) -> dict[str, str]:
    return {
        "BYOC_FRESHCHAT_API_URL": "https://acme.freshchat.com/v2",
        "BYOC_FRESHCHAT_API_TOKEN": "token-0123456789",
        "BYOC_FRESHCHAT_WEBHOOK_PUBLIC_KEY": KEY,
        "BYOC_STORE": str(tmp_path / "byoc.sqlite3"),
        **more,
    }


async def test_no_credentials_serve_the_demo_with_a_token_made_for_the_run() -> None:
    service = build_service(load_settings({"BYOC_SHUTDOWN_GRACE": "1"}))
    try:
        assert service.demo and isinstance(service.app, DemoWorld)
        assert service.bridge.label == DEMO_LABEL and service.bridge.shutdown_grace == 1.0
        assert service.admin_token_generated and service.bridge.admin_token == (
            service.admin_token_generated
        )
        assert {"viber", "kakao", "kakao-chatbot"} <= set(service.bridge.channels)
        assert any("/emulators/viber/_emulator/send" in hint for hint in service.hints)
    finally:
        await service.app.aclose()  # type: ignore[attr-defined]


async def test_the_demo_uses_the_given_admin_token_and_channels() -> None:
    settings = load_settings({"BYOC_ADMIN_TOKEN": "a" * 20, "BYOC_CHANNELS": "fake"})
    service = build_service(settings)
    try:
        assert service.admin_token_generated is None
        assert service.bridge.admin_token == "a" * 20
        assert list(service.bridge.channels) == ["fake"]
    finally:
        await service.app.aclose()  # type: ignore[attr-defined]


async def test_credentials_build_the_configured_bridge(tmp_path: Path) -> None:
    settings = load_settings(
        real(
            tmp_path,
            BYOC_VIBER_AUTH_TOKEN="445da6az1s345z78-dazcczb2542zv51a",
            BYOC_VIBER_SENDER_NAME="Acme",
            BYOC_PUBLIC_URL="https://byoc.example.com",
            BYOC_ADMIN_TOKEN="b" * 20,
            BYOC_DELIVERY="inline",
        )
    )
    bridge = build_bridge(settings)
    try:
        assert isinstance(bridge, Bridge) and isinstance(bridge.store, SQLiteStore)
        assert list(bridge.channels) == ["viber"] and bridge.delivery.mode == "inline"
        assert bridge.messaging_webhook_url() == "https://byoc.example.com/messaging/webhook"
        assert bridge.admin_token == "b" * 20 and bridge.label is None
    finally:
        await bridge.aclose()


def test_without_a_configured_channel_the_error_says_what_to_set(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="no channel is configured") as caught:
        build_bridge(load_settings(real(tmp_path)))
    assert "BYOC_VIBER_AUTH_TOKEN" in str(caught.value)


def test_a_store_that_cannot_open_names_byoc_store(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="BYOC_STORE.*writable"):
        open_store(str(tmp_path / "missing-dir" / "byoc.sqlite3"))


async def test_notices_are_configured_per_channel_by_environment_or_toml(tmp_path: Path) -> None:
    config = tmp_path / "byoc.toml"
    config.write_text('[viber]\nnotice_resolved = "Closed, thank you!"\n', encoding="utf-8")
    env = real(
        tmp_path,
        BYOC_VIBER_AUTH_TOKEN="445da6az1s345z78-dazcczb2542zv51a",
        BYOC_VIBER_SENDER_NAME="Acme",
        BYOC_VIBER_NOTICE_ASSIGNED="An agent has joined.",
    )
    bridge = build_bridge(load_settings(env, config_file=str(config)))
    try:
        notices = bridge.sync.notices["viber"]
        assert (notices.assigned, notices.resolved) == (
            "An agent has joined.",
            "Closed, thank you!",
        )
    finally:
        await bridge.aclose()
    plain = build_bridge(
        load_settings(
            real(
                tmp_path,
                BYOC_VIBER_AUTH_TOKEN="445da6az1s345z78-dazcczb2542zv51a",
                BYOC_VIBER_SENDER_NAME="Acme",
            )
        )
    )
    try:
        assert plain.sync.notices == {}
    finally:
        await plain.aclose()


async def test_the_demo_plays_a_second_account_with_its_kinds_kit() -> None:
    settings = load_settings(
        {
            "BYOC_ADMIN_TOKEN": "a" * 20,
            "BYOC_CHANNELS": "viber,viber-eu",
            "BYOC_VIBER_EU_KIND": "viber",
        }
    )
    service = build_service(settings)
    try:
        assert list(service.bridge.channels) == ["viber"]
    finally:
        await service.app.aclose()  # type: ignore[attr-defined]
