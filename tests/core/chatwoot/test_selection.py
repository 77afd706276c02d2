"""Choosing Chatwoot by settings: `BYOC_MESSAGING`, `[chatwoot]` in TOML, the demo, the admin
page."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from byoc.admin.page import admin_page
from byoc.chatwoot import ChatwootMessaging
from byoc.cli.service import build_service
from byoc.demo import DemoWorld, FakeDemo
from byoc.demo.script import round_trip
from byoc.errors import ConfigurationError
from byoc.freshchat import FreshchatMessaging
from byoc.service import build_bridge, build_messaging
from byoc.settings import load_settings, read_config_file
from byoc.store import MemoryStore
from byoc.testing.fake_channel import FakeChannel
from byoc.testing.rig import BridgeRig

CHATWOOT = {
    "BYOC_MESSAGING": "chatwoot",
    "BYOC_CHATWOOT_URL": "https://chat.acme.com",
    "BYOC_CHATWOOT_ACCOUNT_ID": "3",
    "BYOC_CHATWOOT_INBOX_ID": "7",
    "BYOC_CHATWOOT_API_TOKEN": "token-0123456789",
    "BYOC_CHATWOOT_HMAC_TOKEN": "inbox-secret",
}
VIBER = {
    "BYOC_VIBER_AUTH_TOKEN": "445da6az1s345z78-dazcczb2542zv51a",
    "BYOC_VIBER_SENDER_NAME": "Acme",
}


@pytest.mark.parametrize(
    ("value", "chosen"), [(None, "freshchat"), ("chatwoot", "chatwoot"), (" Chatwoot ", "chatwoot")]
)
def test_byoc_messaging_names_the_help_desk(value: str | None, chosen: str) -> None:
    env = {} if value is None else {"BYOC_MESSAGING": value}
    assert load_settings(env).messaging == chosen


def test_an_unknown_help_desk_is_refused_with_the_choices() -> None:
    with pytest.raises(ConfigurationError, match="BYOC_MESSAGING must be freshchat or chatwoot"):
        load_settings({"BYOC_MESSAGING": "zendesk"})


def test_a_toml_file_chooses_chatwoot_and_its_table_is_checked(tmp_path: Path) -> None:
    config = tmp_path / "byoc.toml"
    config.write_text(
        'messaging = "chatwoot"\n[chatwoot]\nurl = "https://chat.acme.com"\naccount_id = 3\n'
        'inbox_id = 7\napi_token = "t0ken"\nhmac_token = "s3cret"\n'
    )
    settings = load_settings({}, config_file=str(config))
    assert settings.messaging == "chatwoot"
    assert settings.values["BYOC_CHATWOOT_INBOX_ID"] == "7"
    config.write_text('[chatwoot]\ninbox = "7"\n')
    with pytest.raises(
        ConfigurationError, match=r"unknown key\(s\) inbox in \[chatwoot\].*inbox_id"
    ):
        read_config_file(config)


@pytest.mark.parametrize(
    ("env", "demo"),
    [
        ({}, True),
        ({"BYOC_MESSAGING": "chatwoot"}, True),
        ({"BYOC_CHATWOOT_API_TOKEN": "t"}, False),
        ({"BYOC_FRESHCHAT_API_URL": "https://acme.freshchat.com/v2"}, False),
    ],
)
def test_the_demo_runs_only_without_any_help_desk_credential(
    env: dict[str, str], demo: bool
) -> None:
    assert load_settings(env).demo is demo


async def test_the_settings_build_chatwoot() -> None:
    messaging = build_messaging(load_settings(CHATWOOT))
    try:
        assert isinstance(messaging, ChatwootMessaging) and messaging.title == "Chatwoot"
    finally:
        await messaging.aclose()


async def test_the_bridge_is_built_on_chatwoot(tmp_path: Path) -> None:
    bridge = build_bridge(
        load_settings({**CHATWOOT, **VIBER, "BYOC_STORE": str(tmp_path / "byoc.sqlite3")})
    )
    try:
        assert isinstance(bridge.messaging, ChatwootMessaging)
        assert list(bridge.channels) == ["viber"]
    finally:
        await bridge.aclose()


def test_chatwoot_settings_without_byoc_messaging_say_what_to_set() -> None:
    only_chatwoot = {k: v for k, v in CHATWOOT.items() if k != "BYOC_MESSAGING"}
    with pytest.raises(ConfigurationError, match="set BYOC_MESSAGING=chatwoot"):
        build_messaging(load_settings(only_chatwoot))


def test_a_missing_chatwoot_setting_is_named() -> None:
    incomplete = {k: v for k, v in CHATWOOT.items() if k != "BYOC_CHATWOOT_INBOX_ID"}
    with pytest.raises(ConfigurationError, match="BYOC_CHATWOOT_INBOX_ID"):
        build_messaging(load_settings(incomplete))


async def test_freshchat_stays_the_default() -> None:
    messaging = build_messaging(
        load_settings(
            {
                "BYOC_FRESHCHAT_API_URL": "https://acme.freshchat.com/v2",
                "BYOC_FRESHCHAT_API_TOKEN": "token-0123456789",
            }
        )
    )
    try:
        assert isinstance(messaging, FreshchatMessaging)
    finally:
        await messaging.aclose()


async def test_serve_without_credentials_plays_chatwoot_when_chosen() -> None:
    service = build_service(load_settings({"BYOC_MESSAGING": "chatwoot", "BYOC_CHANNELS": "fake"}))
    try:
        assert service.demo and isinstance(service.app, DemoWorld)
        assert isinstance(service.bridge.messaging, ChatwootMessaging)
        assert any("/emulators/chatwoot/_emulator/conversations" in h for h in service.hints)
        assert not any("freshchat" in hint for hint in service.hints)
    finally:
        await service.app.aclose()  # type: ignore[attr-defined]


async def test_the_demo_round_trip_on_chatwoot() -> None:
    world = DemoWorld([FakeDemo], helpdesk="chatwoot")
    try:
        await world.start()
        out = io.StringIO()
        await round_trip(world, world.kits[0], out)
    finally:
        await world.aclose()
    said = out.getvalue()
    assert "2. Chatwoot shows it in conversation" in said
    assert "(2 Chatwoot API calls for a new user; each next message costs one)" in said
    assert "Same conversation, 1 Chatwoot API call." in said
    assert "Freshchat" not in said


async def test_the_admin_page_names_the_configured_help_desk() -> None:
    async with BridgeRig(helpdesk="chatwoot") as rig:
        bridge = rig.attach([FakeChannel()], store=MemoryStore(), admin_token="t" * 20)
        page = admin_page(await bridge.status(), base="/admin", csrf="c", nonce="n", now=0.0)
    assert "<h2>Chatwoot webhook</h2>" in page
    assert "the API inbox&#x27;s Webhook URL" in page
    assert "Freshchat" not in page
