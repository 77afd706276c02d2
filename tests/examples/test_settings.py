"""Every example builds its bridge with byoc's one `build_bridge`, from the server's settings."""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import ModuleType

import pytest

import byoc
from byoc import build_bridge, load_settings
from byoc.errors import ConfigurationError
from byoc.store import SQLiteStore
from examples import aiohttp_app, django_app, fastapi_app, flask_app, server, starlette_app

from ..helpdesk import Helpdesk

EXAMPLES = [fastapi_app, starlette_app, flask_app, django_app, aiohttp_app, server]


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda m: m.__name__.rsplit(".", 1)[-1])
def test_the_examples_share_the_one_builder(example: ModuleType) -> None:
    assert example.build_bridge is byoc.build_bridge


@pytest.mark.parametrize("form", ["path", "sqlite:///"])
def test_the_bridge_is_configured_from_byoc_settings(form: str, tmp_path: Path) -> None:
    env = Helpdesk().env(tmp_path / "byoc.sqlite3")
    path = env["BYOC_STORE"]
    if form == "sqlite:///":
        env["BYOC_STORE"] = f"sqlite:///{path}"
    bridge = build_bridge(load_settings(env))
    try:
        assert list(bridge.channels) == ["viber"]
        assert isinstance(bridge.store, SQLiteStore) and bridge.store.path == path
        assert bridge.target_url("viber") == "https://shop.example/byoc/channels/viber/webhook"
    finally:
        asyncio.run(bridge.aclose())


@pytest.mark.parametrize(
    "missing",
    ["BYOC_FRESHCHAT_API_TOKEN", "BYOC_VIBER_AUTH_TOKEN"],
)
def test_a_missing_setting_is_named(missing: str, tmp_path: Path) -> None:
    env = Helpdesk().env(tmp_path / "byoc.sqlite3")
    del env[missing]
    with pytest.raises(ConfigurationError, match=missing):
        build_bridge(load_settings(env))
