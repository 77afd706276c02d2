"""Several accounts of one messenger: each an instance with its own name and settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from byoc.errors import ConfigurationError
from byoc.settings import instance_settings, load_settings
from byoc_kakao import KakaoChatbotChannel, KakaoDealerChannel
from byoc_viber import ViberChannel

TWO_VIBER_BOTS = {
    "BYOC_CHANNELS": "viber,viber-eu",
    "BYOC_VIBER_AUTH_TOKEN": "token-of-the-first-bot-0123456789",
    "BYOC_VIBER_SENDER_NAME": "Acme",
    "BYOC_VIBER_EU_KIND": "viber",
    "BYOC_VIBER_EU_AUTH_TOKEN": "token-of-the-eu-bot-0123456789",
    "BYOC_VIBER_EU_SENDER_NAME": "Acme EU",
}


def test_two_viber_bots_from_the_environment() -> None:
    choice = load_settings(TWO_VIBER_BOTS).choose_channels()
    first, second = choice.enabled
    assert isinstance(first, ViberChannel) and isinstance(second, ViberChannel)
    assert (first.name, first.auth_token, first.sender.name) == (
        "viber",
        "token-of-the-first-bot-0123456789",
        "Acme",
    )
    assert (second.name, second.auth_token, second.sender.name) == (
        "viber-eu",
        "token-of-the-eu-bot-0123456789",
        "Acme EU",
    )
    assert choice.kinds == {"viber": "viber", "viber-eu": "viber"}


def test_two_viber_bots_from_a_toml_file(tmp_path: Path) -> None:
    config = tmp_path / "byoc.toml"
    config.write_text(
        'channels = ["viber", "viber-eu"]\n'
        '[viber]\nauth_token = "first-0123456789"\nsender_name = "Acme"\n'
        '[viber-eu]\nkind = "viber"\nauth_token = "eu-0123456789"\nsender_name = "Acme EU"\n',
        encoding="utf-8",
    )
    first, second = load_settings({}, config_file=str(config)).choose_channels().enabled
    assert isinstance(second, ViberChannel)
    assert (second.name, second.auth_token) == ("viber-eu", "eu-0123456789")
    assert first.name == "viber"


def test_an_instance_never_borrows_the_first_accounts_settings() -> None:
    settings = {
        "BYOC_CHANNELS": "viber-eu",
        "BYOC_VIBER_EU_KIND": "viber",
        "BYOC_VIBER_AUTH_TOKEN": "token-of-the-first-bot",
        "BYOC_VIBER_SENDER_NAME": "Acme",
    }
    # The error names the instance's own setting, not the first bot's.
    with pytest.raises(ConfigurationError, match=r"'viber-eu'.*BYOC_VIBER_EU_AUTH_TOKEN is not"):
        load_settings(settings).choose_channels()


def test_a_kind_that_reads_another_prefix_maps_its_instances_too() -> None:
    env = instance_settings(
        {
            "BYOC_KAKAO_BOT_ID": "first-bot",
            "BYOC_KAKAO_B_KIND": "kakao-chatbot",
            "BYOC_KAKAO_B_BOT_ID": "second-bot",
            "BYOC_PUBLIC_URL": "https://bridge.example.com",
        },
        name="kakao-b",
        channel_class=KakaoChatbotChannel,
    )
    assert env == {
        "BYOC_KAKAO_BOT_ID": "second-bot",
        "BYOC_PUBLIC_URL": "https://bridge.example.com",
    }


def test_without_a_list_declared_instances_are_enabled_when_configured() -> None:
    settings = {k: v for k, v in TWO_VIBER_BOTS.items() if k != "BYOC_CHANNELS"}
    choice = load_settings(settings).choose_channels()
    assert [c.name for c in choice.enabled] == ["viber", "viber-eu"]
    unconfigured = load_settings({"BYOC_VIBER_EU_KIND": "viber"}).choose_channels()
    assert "BYOC_VIBER_EU_AUTH_TOKEN" in unconfigured.skipped["viber-eu"]


@pytest.mark.parametrize(
    ("settings", "said"),
    [
        ({"BYOC_CHANNELS": "viber_eu"}, "'viber_eu' is not a channel name"),
        ({"BYOC_CHANNELS": "Viber"}, "'Viber' is not a channel name"),
        ({"BYOC_CHANNELS": "viber:eu"}, "'viber:eu' is not a channel name"),
        (
            {"BYOC_CHANNELS": "viber-eu", "BYOC_VIBER_EU_KIND": "vibr"},
            r"names 'viber-eu', but its kind 'vibr' \(BYOC_VIBER_EU_KIND\) is not installed",
        ),
    ],
)
def test_bad_instances_are_refused_with_the_fix(settings: dict[str, str], said: str) -> None:
    with pytest.raises(ConfigurationError, match=said):
        load_settings(settings).choose_channels()


def test_two_kakao_profiles_keep_their_own_secrets_and_sending_profiles() -> None:
    dealer = {
        "CLIENT_ID": "ht-client",
        "CLIENT_SECRET": "ht-secret",
        "WEBHOOK_SECRET": "first-profile-secret-0123456789abcdef",
        "SENDER_KEY": "first-sender-key",
    }
    settings = {f"BYOC_KAKAO_{k}": v for k, v in dealer.items()}
    settings |= {f"BYOC_KAKAO_B_{k}": v.replace("first", "second") for k, v in dealer.items()}
    settings |= {"BYOC_CHANNELS": "kakao,kakao-b", "BYOC_KAKAO_B_KIND": "kakao"}
    first, second = load_settings(settings).choose_channels().enabled
    assert isinstance(first, KakaoDealerChannel) and isinstance(second, KakaoDealerChannel)
    assert (first.name, second.name) == ("kakao", "kakao-b")
    assert second.webhook_secret == "second-profile-secret-0123456789abcdef"
    assert (first.dealer.sender_key, second.dealer.sender_key) == (  # type: ignore[attr-defined]
        "first-sender-key",
        "second-sender-key",
    )
