"""Every example reads the bundled server's settings, and a missing one names its fix."""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import ModuleType

import pytest

from byoc.errors import ConfigurationError
from byoc.store import SQLiteStore
from examples import aiohttp_app, django_app, fastapi_app, flask_app, server, starlette_app

from ..helpdesk import Helpdesk

EXAMPLES = [fastapi_app, starlette_app, flask_app, django_app, aiohttp_app, server]


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda m: m.__name__.rsplit(".", 1)[-1])
def test_the_bridge_is_configured_from_byoc_settings(example: ModuleType, tmp_path: Path) -> None:
    helpdesk = Helpdesk()
    env = helpdesk.env(tmp_path / "byoc.sqlite3")
    bridge = example.bridge_from_env(env)
    try:
        assert list(bridge.channels) == ["viber"]
        assert isinstance(bridge.store, SQLiteStore) and bridge.store.path == env["BYOC_STORE"]
        assert bridge.target_url("viber") == "https://shop.example/byoc/channels/viber/webhook"
    finally:
        asyncio.run(bridge.aclose())


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda m: m.__name__.rsplit(".", 1)[-1])
@pytest.mark.parametrize(
    "missing",
    ["BYOC_FRESHCHAT_API_TOKEN", "BYOC_FRESHCHAT_WEBHOOK_PUBLIC_KEY", "BYOC_VIBER_AUTH_TOKEN"],
)
def test_a_missing_setting_is_named(example: ModuleType, missing: str, tmp_path: Path) -> None:
    env = Helpdesk().env(tmp_path / "byoc.sqlite3")
    del env[missing]
    with pytest.raises(ConfigurationError, match=missing):
        example.bridge_from_env(env)
