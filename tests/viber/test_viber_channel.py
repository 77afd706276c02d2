"""Settings, capabilities, the public surface and the entry points of the Viber plugin."""

import importlib
import json
import sys

import pytest

import byoc_viber
import byoc_viber.testing
from byoc.errors import ConfigurationError
from byoc.models import (
    Buttons,
    ConversationStarted,
    Image,
    QuickReplies,
    Sticker,
    Text,
    Unsubscribed,
)
from byoc.webhook import WebhookRequest
from byoc_viber import DEFAULT_API_URL, ViberChannel

ENV = {
    "BYOC_VIBER_AUTH_TOKEN": "445da6az1s345z78-dazcczb2542zv51a",
    "BYOC_VIBER_SENDER_NAME": "Shop",
}


def test_from_env_reads_every_setting() -> None:
    channel = ViberChannel.from_env(
        {
            **ENV,
            "BYOC_VIBER_SENDER_AVATAR": "https://cdn.test/logo.jpg",
            "BYOC_VIBER_API_URL": "http://127.0.0.1:8081/pa/",
            "BYOC_VIBER_WELCOME_MESSAGE": "Welcome!",
        }
    )
    assert channel.auth_token == ENV["BYOC_VIBER_AUTH_TOKEN"]
    assert channel.sender.name == "Shop" and channel.sender.avatar == "https://cdn.test/logo.jpg"
    assert channel.api_url == "http://127.0.0.1:8081/pa"
    assert channel.welcome_message == "Welcome!"


def test_from_env_defaults() -> None:
    channel = ViberChannel.from_env(ENV)
    assert channel.api_url == DEFAULT_API_URL and channel.welcome_message is None
    assert channel.sender.avatar is None
    assert set(channel.event_types) == {
        "delivered",
        "seen",
        "failed",
        "subscribed",
        "unsubscribed",
        "conversation_started",
    }


def test_a_missing_token_says_where_to_get_it() -> None:
    with pytest.raises(ConfigurationError, match="BYOC_VIBER_AUTH_TOKEN.*Viber Admin Panel"):
        ViberChannel.from_env({"BYOC_VIBER_SENDER_NAME": "Shop"})


def test_a_missing_sender_name_is_named() -> None:
    with pytest.raises(ConfigurationError, match="BYOC_VIBER_SENDER_NAME"):
        ViberChannel.from_env({"BYOC_VIBER_AUTH_TOKEN": "t"})


@pytest.mark.parametrize(
    ("settings", "named"),
    [
        ({"sender_name": "S" * 29}, "BYOC_VIBER_SENDER_NAME"),
        ({"sender_name": "   "}, "BYOC_VIBER_SENDER_NAME"),
        ({"sender_name": "😀" * 15}, "BYOC_VIBER_SENDER_NAME"),  # 30 UTF-16 units
        ({"sender_avatar": "logo.png"}, "BYOC_VIBER_SENDER_AVATAR"),
        ({"api_url": "chatapi.viber.com/pa"}, "BYOC_VIBER_API_URL"),
        ({"welcome_message": "w" * 7001}, "BYOC_VIBER_WELCOME_MESSAGE"),
        ({"auth_token": ""}, "BYOC_VIBER_AUTH_TOKEN"),
        ({"event_types": ["delivered", "typing"]}, "typing"),
    ],
)
def test_settings_are_checked_at_construction(settings: dict[str, object], named: str) -> None:
    values: dict[str, object] = {"auth_token": "t", "sender_name": "Shop", **settings}
    with pytest.raises(ConfigurationError, match=named):
        ViberChannel(**values)  # type: ignore[arg-type]


def test_capabilities() -> None:
    caps = ViberChannel.capabilities
    assert caps.max_text_length == 7000 and caps.media_urls_expire
    assert {Text, Image, Sticker, Buttons, QuickReplies} <= caps.send
    assert ViberChannel.name == "viber"


async def test_ack_answers_the_welcome_message_to_conversation_started_only() -> None:
    channel = ViberChannel(auth_token="t", sender_name="Shop", welcome_message="Hello 👋")
    request = WebhookRequest(body=b"{}")
    started = ConversationStarted(channel="viber", user_id="u")
    welcome = await channel.ack(request, [started])
    assert welcome.status == 200
    assert json.loads(welcome.body) == {
        "sender": {"name": "Shop"},
        "type": "text",
        "text": "Hello 👋",
    }
    other = await channel.ack(request, [Unsubscribed(channel="viber", user_id="u")])
    assert other.status == 200 and json.loads(other.body) == {}
    quiet = ViberChannel(auth_token="t", sender_name="Shop")
    assert json.loads((await quiet.ack(request, [started])).body) == {}


async def test_aclose_closes_only_the_client_it_created() -> None:
    channel = ViberChannel(auth_token="t", sender_name="Shop")
    client = channel._http
    await channel.aclose()
    assert client.is_closed


async def test_the_api_object_is_kept_until_token_or_url_change() -> None:
    # Built once, not per reply; a setting changed afterwards is still honoured.
    channel = ViberChannel(auth_token="t-1", sender_name="Shop")
    first = channel._api
    assert channel._api is first

    channel.api_url = "https://viber.example/pa"
    moved = channel._api
    assert moved is not first and moved._api.base_url == "https://viber.example/pa"
    channel.auth_token = "t-2"
    assert channel._api is not moved
    await channel.aclose()


def test_the_public_surface_is_pinned() -> None:
    assert sorted(byoc_viber.__all__) == [
        "AccountInfo",
        "DEFAULT_API_URL",
        "DEFAULT_EVENT_TYPES",
        "EVENT_TYPES",
        "Mapped",
        "SIGNATURE_HEADER",
        "Sender",
        "ViberApi",
        "ViberChannel",
        "map_message",
        "sign",
        "split_text",
        "verify_signature",
    ]
    assert sorted(byoc_viber.testing.__all__) == [
        "ALL_EVENT_TYPES",
        "CallbackRecord",
        "DEFAULT_RETRY_SCHEDULE",
        "Fault",
        "MANDATORY_EVENT_TYPES",
        "SentMessage",
        "SimulatedUser",
        "ViberEmulator",
        "validate_message",
    ]
    for module in (byoc_viber, byoc_viber.testing):
        assert all(hasattr(module, name) for name in module.__all__)


@pytest.mark.skipif(sys.version_info < (3, 11), reason="tomllib")
def test_entry_points_name_real_objects() -> None:
    import tomllib

    with open("pyproject.toml", "rb") as f:
        points = tomllib.load(f)["project"]["entry-points"]
    assert points["byoc.channels"]["viber"] == "byoc_viber:ViberChannel"
    assert points["byoc.emulators"]["viber"] == "byoc_viber.testing.server:main"
    for target in (points["byoc.channels"]["viber"], points["byoc.emulators"]["viber"]):
        module, _, attribute = target.partition(":")
        assert callable(getattr(importlib.import_module(module), attribute))
