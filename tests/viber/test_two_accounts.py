"""Two Viber bots on one bridge: two instances, two routes, two reference-id namespaces, and
every reply goes back through the bot its user wrote to."""

from __future__ import annotations

from collections.abc import AsyncIterator

import attrs
import pytest

from byoc.testing.clock import FakeClock
from byoc.testing.rig import BRIDGE_URL, BridgeRig
from byoc_viber import ViberChannel
from byoc_viber.testing import ViberEmulator

# Viber gives a user a different id per bot; the same id on both shows that nothing but the
# instance name keeps them apart.
SAME_ID = "01234567890A+/bcdEFGhij=="


@attrs.define
class TwoBots:
    rig: BridgeRig
    home: ViberEmulator
    eu: ViberEmulator


async def bot(rig: BridgeRig, host: str, token: str) -> ViberEmulator:
    emulator = ViberEmulator(
        token=token,
        clock=FakeClock(autoadvance=True),
        callback_client=rig.client(),
        public_url=f"http://{host}",
        account_name=host,
    )
    rig.add_emulator(host, emulator)
    return emulator


@pytest.fixture
async def bots() -> AsyncIterator[TwoBots]:
    async with BridgeRig() as rig:
        home = await bot(rig, "viber-home.test", "home-token-0123456789abcdef")
        eu = await bot(rig, "viber-eu.test", "eu-token-0123456789abcdef")
        channels = [
            ViberChannel(
                auth_token=emulator.token,
                sender_name=sender,
                api_url=emulator.api_url,
                http=rig.client(),
                clock=emulator.clock,
            )
            for emulator, sender in ((home, "Acme"), (eu, "Acme EU"))
        ]
        rig.attach([channels[0], channels[1].named("viber-eu")])
        await rig.bridge.install()
        yield TwoBots(rig=rig, home=home, eu=eu)


async def test_each_bot_has_its_own_webhook(bots: TwoBots) -> None:
    assert bots.home.webhook == f"{BRIDGE_URL}/channels/viber/webhook"
    assert bots.eu.webhook == f"{BRIDGE_URL}/channels/viber-eu/webhook"


async def test_two_accounts_each_get_their_own_replies(bots: TwoBots) -> None:
    rig = bots.rig
    at_home = bots.home.user(name="Minjun", id=SAME_ID)
    in_eu = bots.eu.user(name="Minjun", id=SAME_ID)
    await at_home.send_text("hello from the home bot")
    await in_eu.send_text("hello from the EU bot")
    await rig.settle()

    (home_user,) = rig.freshchat.users_by_reference(f"viber:{SAME_ID}")
    (eu_user,) = rig.freshchat.users_by_reference(f"viber-eu:{SAME_ID}")
    assert home_user["id"] != eu_user["id"]
    for user, answer in ((home_user, "home answer"), (eu_user, "EU answer")):
        (conversation,) = rig.freshchat.conversations_of(str(user["id"]))
        await rig.freshchat.agent_reply(str(conversation["conversation_id"]), answer)
    await rig.settle()

    assert [m.text for m in bots.home.sent_to(SAME_ID)] == ["home answer"]
    assert [m.text for m in bots.eu.sent_to(SAME_ID)] == ["EU answer"]
    assert [m.body["sender"]["name"] for m in bots.eu.sent_to(SAME_ID)] == ["Acme EU"]
    assert await rig.bridge.dead_letters() == []
