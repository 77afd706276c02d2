"""The public surface of `byoc_telegram` and its entry points, pinned so they cannot drift."""

from __future__ import annotations

import sys
from pathlib import Path

import byoc_telegram
import byoc_telegram.testing
from byoc.channel import Channel

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"


def test_exported_members() -> None:
    assert sorted(byoc_telegram.__all__) == [
        "ALLOWED_UPDATES",
        "BadRequest",
        "Call",
        "DEFAULT_API_URL",
        "Plan",
        "SECRET_HEADER",
        "TelegramApi",
        "TelegramChannel",
        "message_parts",
        "parse_update",
        "plan_reply",
    ]
    for name in byoc_telegram.__all__:
        assert getattr(byoc_telegram, name) is not None


def test_testing_exports() -> None:
    assert sorted(byoc_telegram.testing.__all__) == [
        "ApiError",
        "DEFAULT_RETRY_SCHEDULE",
        "DEFAULT_TOKEN",
        "Delivery",
        "Fault",
        "SentMessage",
        "StoredFile",
        "TelegramEmulator",
        "TelegramUser",
        "Webhook",
    ]


def test_entry_points_name_the_channel_its_emulator_and_its_demo() -> None:
    groups = tomllib.loads(PYPROJECT.read_text())["project"]["entry-points"]
    assert groups["byoc.channels"]["telegram"] == "byoc_telegram:TelegramChannel"
    assert groups["byoc.emulators"]["telegram"] == "byoc_telegram.testing.server:main"
    assert groups["byoc.demos"]["telegram"] == "byoc_telegram.testing.demo:TelegramDemo"
    assert issubclass(byoc_telegram.TelegramChannel, Channel)
    assert byoc_telegram.TelegramChannel.name == "telegram"


def test_the_plugin_uses_only_the_public_sdk() -> None:
    # A third party's plugin: byoc's public modules, never its internals or another plugin.
    allowed = (
        "byoc",
        "byoc.clock",
        "byoc.degrade",
        "byoc.errors",
        "byoc.media",
        "byoc.models",
        "byoc.upstream",
        "byoc.webhook",
    )
    for module in ("api", "channel", "freshness", "inbound", "limits", "outbound"):
        source = (PYPROJECT.parent / "byoc_telegram" / f"{module}.py").read_text()
        imported = {
            line.split()[1]
            for line in source.splitlines()
            if line.startswith("from byoc") and not line.startswith("from byoc_telegram")
        }
        assert imported <= set(allowed), (module, imported - set(allowed))
