"""Installing both Kakao channels on the bridge: URLs to paste by hand, kept, and working."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from byoc.store import SQLiteStore
from byoc.testing.clock import FakeClock
from byoc.testing.rig import BRIDGE_URL, BridgeRig

from .rig import SKILL_SECRET, WEBHOOK_SECRET
from .roundtrip import KOREAN, KakaoWorld


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[KakaoWorld]:
    clock = FakeClock()
    async with BridgeRig() as rig:
        made = KakaoWorld(rig, clock)
        rig.attach([made.dealer, made.chatbot], store=SQLiteStore(tmp_path / "s.sqlite3"))
        yield made
        await made.happytalk.aclose()
        await made.openbuilder.aclose()


async def test_install_gives_the_full_urls_to_paste_and_keeps_them(world: KakaoWorld) -> None:
    results = await world.bridge.install(["kakao", "kakao-chatbot"])

    dealer_url = f"{BRIDGE_URL}/channels/kakao/webhook/{WEBHOOK_SECRET}"
    skill_url = f"{BRIDGE_URL}/channels/kakao-chatbot/webhook/{SKILL_SECRET}"
    assert {name: (r.target_url, r.registered) for name, r in results.items()} == {
        "kakao": (dealer_url, False),
        "kakao-chatbot": (skill_url, False),
    }
    assert "HappyTalk" in results["kakao"].instructions
    assert "스킬" in results["kakao-chatbot"].instructions
    assert await world.bridge.installed_url("kakao") == dealer_url
    assert await world.bridge.installed_url("kakao-chatbot") == skill_url
    status = await world.bridge.status()
    shown = {row.name: (row.target_url, row.state) for row in status.channels}
    assert shown == {"kakao": (dealer_url, "manual"), "kakao-chatbot": (skill_url, "manual")}


async def test_after_uninstall_the_admin_page_shows_kakao_not_installed(
    world: KakaoWorld,
) -> None:
    await world.bridge.install(["kakao", "kakao-chatbot"])
    await world.bridge.uninstall(["kakao", "kakao-chatbot"])
    status = await world.bridge.status()
    assert {row.name: row.state for row in status.channels} == {
        "kakao": "not installed",
        "kakao-chatbot": "not installed",
    }
    assert await world.bridge.installed("kakao") is None


async def test_the_pasted_urls_take_the_emulators_calls_through_the_bridge(
    world: KakaoWorld,
) -> None:
    await world.bridge.install(["kakao", "kakao-chatbot"])
    # The operator pastes what the bridge kept, as an admin page would show it.
    world.happytalk.webhook_url = await world.bridge.installed_url("kakao")
    world.openbuilder.skill_url = await world.bridge.installed_url("kakao-chatbot")

    dealer_user = world.happytalk.user()
    dealer_user.send_text(KOREAN)
    chatbot_user = world.openbuilder.user()
    exchange = await chatbot_user.say(KOREAN)
    await world.settle()

    assert exchange.ok, exchange.problems
    assert [d.status for d in world.happytalk.deliveries] == [200]
    for channel, user_id in (
        ("kakao", dealer_user.user_key),
        ("kakao-chatbot", chatbot_user.bot_user_key),
    ):
        assert world.rig.helpdesk.user_texts(world.conversation(channel, user_id)) == [KOREAN]


async def test_the_url_without_its_secret_is_refused(world: KakaoWorld) -> None:
    await world.bridge.install(["kakao", "kakao-chatbot"])
    world.happytalk.webhook_url = f"{BRIDGE_URL}/channels/kakao/webhook"
    world.openbuilder.skill_url = f"{BRIDGE_URL}/channels/kakao-chatbot/webhook/{'x' * 33}"

    world.happytalk.user().send_text("hi")
    exchange = await world.openbuilder.user().say("hi")
    await world.settle()

    assert [d.status for d in world.happytalk.deliveries] == [401]
    assert exchange.status == 401
    assert world.freshchat.total_calls() == 0
