"""Settings: environment variables over a TOML file; bad values name the variable and the fix."""

from __future__ import annotations

import json
import string
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from byoc.errors import ConfigurationError
from byoc.settings import load_settings, read_config_file, store_path
from byoc_viber import ViberChannel

VIBER = {
    "BYOC_VIBER_AUTH_TOKEN": "445da6az1s345z78-dazcczb2542zv51a",
    "BYOC_VIBER_SENDER_NAME": "Acme",
}


def test_defaults_run_the_demo_on_the_default_store() -> None:
    s = load_settings({})
    assert s.demo
    assert (s.store, s.delivery, s.channel_names, s.admin_token, s.public_url) == (
        "byoc.sqlite3",
        "durable",
        None,
        None,
        None,
    )
    assert s.shutdown_grace == 10.0


def test_environment_values_are_read_and_checked() -> None:
    s = load_settings(
        {
            "BYOC_PUBLIC_URL": "https://byoc.example.com/base/",
            "BYOC_STORE": "sqlite:///data/byoc.db",
            "BYOC_CHANNELS": " viber , kakao,viber",
            "BYOC_DELIVERY": "Inline",
            "BYOC_ADMIN_TOKEN": "x" * 20,
            "BYOC_SHUTDOWN_GRACE": "2.5",
            "BYOC_FRESHCHAT_API_TOKEN": "t",
            "UNRELATED": "ignored",
        }
    )
    assert s.public_url == "https://byoc.example.com/base"
    assert s.store == "data/byoc.db"
    assert s.channel_names == ("viber", "kakao")
    assert s.delivery == "inline"
    assert s.admin_token is not None and s.admin_token.reveal() == "x" * 20
    assert s.shutdown_grace == 2.5
    assert not s.demo
    assert "UNRELATED" not in s.values


@pytest.mark.parametrize(
    ("name", "value", "said"),
    [
        ("BYOC_PUBLIC_URL", "ftp://example.com", "https://byoc.example.com"),
        ("BYOC_PUBLIC_URL", "https://example.com/?x=1", "BYOC_PUBLIC_URL"),
        ("BYOC_DELIVERY", "fast", "durable or inline"),
        ("BYOC_STORE", "redis://:hunter2hunter2@redis:6379/0", "sqlite:///"),
        ("BYOC_STORE", "sqlite:///", "names no file"),
        ("BYOC_STORE", "memory:", "keeps nothing"),
        ("BYOC_ADMIN_TOKEN", "short-secret", "at least 16"),
        ("BYOC_SHUTDOWN_GRACE", "soon", "seconds"),
        ("BYOC_CHANNELS", " , ", "lists no channel"),
    ],
)
def test_bad_values_name_the_variable_and_the_fix(name: str, value: str, said: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        load_settings({name: value})
    message = str(caught.value)
    assert name in message and said in message
    if name in ("BYOC_ADMIN_TOKEN", "BYOC_STORE"):
        # A credential is never repeated back (the Redis URL carries a password).
        assert "short-secret" not in message and "hunter2" not in message


def test_store_paths() -> None:
    assert store_path(None) == "byoc.sqlite3"
    assert store_path("state/byoc.sqlite3") == "state/byoc.sqlite3"
    assert store_path("sqlite:////var/lib/byoc.db") == "/var/lib/byoc.db"
    assert store_path("sqlite://rel.db") == "rel.db"


def test_toml_file_maps_to_the_same_names_and_the_environment_wins(tmp_path: Path) -> None:
    config = tmp_path / "byoc.toml"
    config.write_text(
        """
public_url = "https://from-file.example.com"
channels = ["viber"]
delivery = "inline"
shutdown_grace = 3

[freshchat]
api_url = "https://acme.freshchat.com/v2"
api_token = "file-token"
verify_signatures = false

[viber]
auth_token = "file-viber-token"
sender_name = "Acme"

[kakao-chatbot]
bot_id = "667e"
""",
        encoding="utf-8",
    )
    s = load_settings(
        {"BYOC_PUBLIC_URL": "https://env.example.com", "BYOC_CONFIG": str(config)},
    )
    assert s.public_url == "https://env.example.com"
    assert s.config_file == str(config)
    assert s.channel_names == ("viber",)
    assert s.delivery == "inline" and s.shutdown_grace == 3.0
    assert s.values["BYOC_FRESHCHAT_API_TOKEN"] == "file-token"
    assert s.values["BYOC_FRESHCHAT_VERIFY_SIGNATURES"] == "false"
    assert s.values["BYOC_VIBER_AUTH_TOKEN"] == "file-viber-token"
    assert s.values["BYOC_KAKAO_CHATBOT_BOT_ID"] == "667e"
    assert not s.demo


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("publc_url = 'x'", "unknown top-level key 'publc_url'"),
        ("[freshchat]\napi_tokn = 'x'", "unknown key(s) api_tokn in [freshchat]"),
        ("[viber.deep]\nx = 1", "nested too deep"),
        ("[viber]\nx = 2024-01-01", "expected a string"),
        ("public_url = ", "not valid TOML"),
    ],
)
def test_bad_files_say_what_is_wrong(tmp_path: Path, text: str, said: str) -> None:
    config = tmp_path / "bad.toml"
    config.write_text(text)
    with pytest.raises(ConfigurationError, match="bad.toml") as caught:
        load_settings({}, config_file=str(config))
    assert said in str(caught.value)


def test_a_missing_file_names_the_option(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="does not exist; check --config"):
        load_settings({}, config_file=str(tmp_path / "nope.toml"))


_names = st.text(string.ascii_lowercase + "_-", min_size=1, max_size=12).filter(
    lambda n: n[0].isalpha()
)


@given(table=_names, key=_names, value=st.text(max_size=40).filter(lambda v: "\x7f" not in v))
@settings(max_examples=60, deadline=None)
def test_any_table_key_maps_to_byoc_table_key(table: str, key: str, value: str) -> None:
    import tempfile

    if table == "freshchat":
        return
    with tempfile.TemporaryDirectory() as where:
        config = Path(where) / "c.toml"
        config.write_text(
            f'["{table}"]\n"{key}" = {json.dumps(value, ensure_ascii=False)}\n', encoding="utf-8"
        )
        found = read_config_file(config)
    name = "BYOC_" + table.upper().replace("-", "_") + "_" + key.upper().replace("-", "_")
    assert found == {name: value}


def test_named_channels_must_be_configured() -> None:
    with pytest.raises(ConfigurationError, match="BYOC_VIBER_AUTH_TOKEN is not set"):
        load_settings({"BYOC_CHANNELS": "viber"}).choose_channels()
    with pytest.raises(ConfigurationError, match="BYOC_CHANNELS names 'nope'.*is not installed"):
        load_settings({"BYOC_CHANNELS": "nope"}).choose_channels()
    choice = load_settings({"BYOC_CHANNELS": "viber", **VIBER}).choose_channels()
    assert [type(c) for c in choice.enabled] == [ViberChannel]


def test_without_a_list_every_configured_channel_is_enabled_and_the_rest_explained() -> None:
    choice = load_settings(VIBER).choose_channels()
    assert [c.name for c in choice.enabled] == ["viber"]
    assert "kakao" in choice.skipped and "BYOC_KAKAO" in choice.skipped["kakao"]
    assert load_settings({}).choose_channels().enabled == ()


def test_settings_never_show_credentials() -> None:
    s = load_settings(
        {"BYOC_ADMIN_TOKEN": "admin-token-0123456789", "BYOC_FRESHCHAT_API_TOKEN": "fc-tok-secret"}
    )
    shown = repr(s) + str(s.admin_token) + repr(s.admin_token)
    assert "admin-token-0123456789" not in shown and "fc-tok-secret" not in shown
    redactor = s.redactor()
    assert redactor.redact("Bearer fc-tok-secret!") == "Bearer ********!"
