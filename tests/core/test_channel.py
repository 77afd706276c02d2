"""The channel contract's optional parts: safe defaults, and plugins of the older API still
working (with a `DeprecationWarning`)."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import attrs
import pytest

from byoc.channel import (
    AccountCheck,
    Capabilities,
    Channel,
    InstallResult,
    settings_prefix_of,
)
from byoc.checks import account_check
from byoc.models import ChannelEvent, File, OutboundMessage, SendResult, Text
from byoc.webhook import WebhookRequest
from byoc_kakao import KakaoChatbotChannel, KakaoDealerChannel
from byoc_viber import ViberChannel


class Minimal(Channel):
    name = "minimal"
    capabilities = Capabilities(send=frozenset({Text}))

    async def parse(self, request: WebhookRequest) -> Sequence[ChannelEvent]:
        return []

    async def send(self, user_id: str, message: OutboundMessage) -> SendResult:
        return SendResult()


async def test_optional_methods_have_safe_defaults() -> None:
    channel = Minimal()
    assert await channel.fetch_media(File(url="https://cdn.test/f"), max_bytes=10) is None
    assert await channel.check() is None and await channel.installed() is None
    result = await channel.install("https://bridge.test/channels/minimal/webhook")
    assert result == InstallResult(
        target_url="https://bridge.test/channels/minimal/webhook",
        registered=False,
        instructions="Paste this URL as the webhook of your minimal account.",
    )
    await channel.uninstall()
    await channel.uninstall()  # nothing installed: still fine
    assert await account_check(channel) is None


def test_capabilities_receive_is_deprecated_but_still_accepted() -> None:
    with pytest.warns(DeprecationWarning, match="receive"):
        caps = Capabilities(send=frozenset({Text}), receive=frozenset({Text}))
    assert caps.receive == frozenset({Text})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Capabilities(send=frozenset({Text}), max_text_length=5)


def test_settings_prefix_follows_the_kind_unless_the_plugin_says_otherwise() -> None:
    assert settings_prefix_of(ViberChannel) == "BYOC_VIBER_"
    assert settings_prefix_of(KakaoDealerChannel) == "BYOC_KAKAO_"
    assert settings_prefix_of(KakaoChatbotChannel) == "BYOC_KAKAO_"
    assert settings_prefix_of(Minimal) == "BYOC_MINIMAL_"


class Declared(Minimal):
    async def check(self) -> AccountCheck:
        return AccountCheck(account="Acme", webhook=None, reports_webhook=True)


@attrs.frozen
class OldAnswer:
    name: str
    webhook: str


class OldAccountInfo(Minimal):
    """A plugin written when `byoc check` looked for `account_info()` by name."""

    async def account_info(self) -> OldAnswer:
        return OldAnswer(name="Old", webhook="https://bridge.test/channels/minimal/webhook")


class OldCheck(Minimal):
    """A plugin whose duck-typed `check()` was synchronous and answered its own type."""

    def check(self) -> Any:  # type: ignore[override]
        return {"name": "ignored: a dict has no attributes"}


async def test_check_is_the_declared_method() -> None:
    assert await account_check(Declared()) == AccountCheck(account="Acme", reports_webhook=True)


async def test_the_older_account_info_hook_still_works_with_a_warning() -> None:
    with pytest.warns(DeprecationWarning, match=r"account_info\(\) answered a OldAnswer"):
        found = await account_check(OldAccountInfo())
    assert found == AccountCheck(
        account="Old",
        webhook="https://bridge.test/channels/minimal/webhook",
        reports_webhook=True,
    )


async def test_an_older_synchronous_check_still_works_with_a_warning() -> None:
    with pytest.warns(DeprecationWarning, match=r"OldCheck.check\(\) answered a dict"):
        found = await account_check(OldCheck())
    assert found == AccountCheck(account=None, webhook=None, reports_webhook=False)
