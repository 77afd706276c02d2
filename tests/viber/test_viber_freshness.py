"""Viber callbacks outside their freshness window are refused; ids and texts have bounds.

Through the bridge's HTTP route, signed with the bot's token: a signature alone does not stop a
captured callback from being replayed once the bridge's 7-day dedupe has forgotten its token.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from byoc.errors import ConfigurationError, MalformedPayload, StaleWebhook
from byoc.freshness import FreshnessWindow
from byoc.store import MemoryStore
from byoc.testing.clock import FakeClock
from byoc.testing.rig import BRIDGE_URL, BridgeRig
from byoc_viber import ViberChannel, sign
from byoc_viber.channel import DEFAULT_FRESHNESS

from .support import TOKEN, signed

WEBHOOK = f"{BRIDGE_URL}/channels/viber/webhook"
SENDER = {"id": "jc9HsWTZ2Yf2NkRZ8KcNug==", "name": "Minjun"}


@attrs.define
class Bot:
    rig: BridgeRig
    clock: FakeClock
    tokens: int = 0

    def callback(self, text: str, *, sent: float | None = None, **sender: Any) -> bytes:
        """A signed-to-be `message` callback sent at `sent` (default: now)."""
        self.tokens += 1
        when = self.clock.time() if sent is None else sent
        payload = {
            "event": "message",
            "timestamp": int(when * 1000),
            "message_token": 5_000_000_000_000_000_000 + self.tokens,
            "sender": {**SENDER, **sender},
            "message": {"type": "text", "text": text},
        }
        return json.dumps(payload, ensure_ascii=False).encode()

    async def post(self, body: bytes) -> Any:
        headers = {"X-Viber-Content-Signature": sign(TOKEN, body)}
        return await self.rig.http.post(WEBHOOK, content=body, headers=headers)

    def written(self) -> list[str]:
        reference = f"viber:{SENDER['id']}"
        if not self.rig.helpdesk.users(reference):
            return []
        return self.rig.helpdesk.user_texts(self.rig.conversation_of(reference))


@pytest.fixture
async def bot() -> AsyncIterator[Bot]:
    clock = FakeClock()
    async with BridgeRig(clock=clock) as rig:
        channel = ViberChannel(auth_token=TOKEN, sender_name="Acme", http=rig.client(), clock=clock)
        rig.attach([channel], store=MemoryStore(clock=clock), clock=clock)
        yield Bot(rig=rig, clock=clock)


async def test_a_callback_replayed_after_the_dedupe_window_is_refused_not_delivered_again(
    bot: Bot,
) -> None:
    captured = bot.callback("이체해 주세요")
    assert (await bot.post(captured)).status_code == 200
    await bot.rig.settle()
    await bot.clock.advance(7 * 24 * 3600 + 60)  # the bridge has forgotten the message token

    replayed = await bot.post(captured)
    await bot.rig.settle()

    assert replayed.status_code == 401
    error = replayed.json()["error"]
    assert error.startswith("stale webhook: Viber callback sent at 2023-11-14T22:13:20Z")
    assert "604860 s ago, more than the 7200 s" in error and "replayed?" in error
    assert bot.written() == ["이체해 주세요"]


async def test_a_retry_within_vibers_hour_is_accepted_and_an_older_one_refused(bot: Bot) -> None:
    now = bot.clock.time()
    assert (await bot.post(bot.callback("an hour late", sent=now - 3600))).status_code == 200
    assert (await bot.post(bot.callback("just in", sent=now - 7200))).status_code == 200
    assert (await bot.post(bot.callback("too late", sent=now - 7201))).status_code == 401
    await bot.rig.settle()
    assert bot.written() == ["an hour late", "just in"]


async def test_a_callback_from_the_future_is_refused_beyond_the_clock_skew(bot: Bot) -> None:
    now = bot.clock.time()
    assert (await bot.post(bot.callback("a fast clock", sent=now + 300))).status_code == 200
    ahead = await bot.post(bot.callback("from tomorrow", sent=now + 86400))
    assert ahead.status_code == 401
    assert "86400 s in the future" in ahead.json()["error"]
    assert "check NTP" in ahead.json()["error"]
    # The admin page and /metrics show why.
    [refused] = (await bot.rig.bridge.status()).refused
    assert (refused.endpoint, refused.count, refused.last_status) == ("channel:viber", 1, 401)
    assert refused.last_reason.startswith("stale webhook")


async def test_the_set_webhook_ping_carries_no_time_and_is_answered(bot: Bot) -> None:
    # Viber's own example ping: its "timestamp" is no time at all.
    body = b'{"event":"webhook","timestamp":4977069964384421269,"message_token":1478683725125}'
    assert (await bot.post(body)).status_code == 200


async def test_a_70000_character_user_id_is_refused_at_the_door(
    bot: Bot, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    response = await bot.post(bot.callback("hi", id="A" * 70_000))
    await bot.rig.settle()
    assert response.status_code == 400
    assert len(response.content) < 300
    assert "'id' is 70,000 characters long, over the 256 accepted" in response.json()["error"]
    assert await bot.rig.bridge.dead_letters() == []
    assert max(len(record.getMessage()) for record in caplog.records) < 1000
    [refused] = (await bot.rig.bridge.status()).refused
    assert len(refused.last_reason) < 300


def test_the_window_comes_from_the_settings() -> None:
    env = {"BYOC_VIBER_AUTH_TOKEN": TOKEN, "BYOC_VIBER_SENDER_NAME": "Acme"}
    assert (
        ViberChannel.from_env(env).freshness
        == DEFAULT_FRESHNESS
        == FreshnessWindow(max_age=7200, max_skew=300)
    )
    tuned = {**env, "BYOC_VIBER_MAX_WEBHOOK_AGE": "600", "BYOC_VIBER_WEBHOOK_CLOCK_SKEW": "30"}
    assert ViberChannel.from_env(tuned).freshness == FreshnessWindow(max_age=600, max_skew=30)
    off = ViberChannel.from_env({**env, "BYOC_VIBER_MAX_WEBHOOK_AGE": "0"})
    assert not off.freshness.on
    with pytest.raises(ConfigurationError, match="BYOC_VIBER_MAX_WEBHOOK_AGE must be a number"):
        ViberChannel.from_env({**env, "BYOC_VIBER_MAX_WEBHOOK_AGE": "an hour"})
    with pytest.raises(ConfigurationError, match="shorter than the bridge's 604800 s"):
        ViberChannel.from_env({**env, "BYOC_VIBER_MAX_WEBHOOK_AGE": "604800"})


async def test_with_the_window_off_any_time_is_accepted() -> None:
    clock = FakeClock()
    channel = ViberChannel(
        auth_token=TOKEN,
        sender_name="Acme",
        clock=clock,
        freshness=FreshnessWindow(max_age=0, max_skew=0),
    )
    body = Bot(rig=None, clock=clock).callback("old", sent=0)  # type: ignore[arg-type]
    assert len(await channel.parse(signed(body))) == 1


# -- bounds, as properties -----------------------------------------------------------------------

CLOCK = FakeClock()
CHANNEL = ViberChannel(auth_token=TOKEN, sender_name="Acme", clock=CLOCK)
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def message(sender: dict[str, Any], body: dict[str, Any]) -> bytes:
    payload = {
        "event": "message",
        "timestamp": int(CLOCK.time() * 1000),
        "message_token": 1,
        "sender": sender,
        "message": body,
    }
    return json.dumps(payload, ensure_ascii=False).encode()


async def taken_only_within(body: bytes, *, within: bool, field: str) -> None:
    """`body` parses to one event when `within` its bound; else it is refused naming `field`."""
    if within:
        assert len(await CHANNEL.parse(signed(body))) == 1
    else:
        with pytest.raises(MalformedPayload, match=field):
            await CHANNEL.parse(signed(body))


@FUZZ
@given(length=st.integers(1, 2000))
async def test_a_user_id_is_accepted_exactly_up_to_256_characters(length: int) -> None:
    body = message({"id": "u" * length}, {"type": "text", "text": "hi"})
    await taken_only_within(body, within=length <= 256, field="'id' .* over the 256 accepted")


@FUZZ
@given(length=st.integers(1, 30_000), emoji=st.booleans())
async def test_a_text_is_accepted_up_to_twice_vibers_7000_units(length: int, emoji: bool) -> None:
    # Viber counts UTF-16 units: an emoji is two.
    text = ("😀" if emoji else "a") * length
    units = 2 * length if emoji else length
    body = message({"id": "u"}, {"type": "text", "text": text})
    await taken_only_within(body, within=units <= 14_000, field="'text'")


@FUZZ
@given(length=st.integers(1, 20_000), field=st.sampled_from(["name", "avatar", "language"]))
async def test_an_overlong_profile_field_is_dropped_and_the_message_kept(
    length: int, field: str
) -> None:
    sender = {"id": "u", field: "x" * length}
    [event] = await CHANNEL.parse(signed(message(sender, {"type": "text", "text": "hi"})))
    kept = {"name": event.profile.name, "avatar": event.profile.avatar_url}.get(
        field, event.profile.language
    )
    limit = {"name": 256, "avatar": 8192, "language": 64}[field]
    assert kept == ("x" * length if length <= limit else None)


@FUZZ
@given(length=st.integers(7000, 12_000))
async def test_a_media_url_is_accepted_up_to_8192_characters(length: int) -> None:
    url = "https://dl-media.viber.com/" + "a" * (length - 27)
    body = message({"id": "u"}, {"type": "url", "media": url})
    await taken_only_within(body, within=length <= 8192, field="'media'")


async def test_an_overlong_event_or_message_type_is_refused_without_echoing_it() -> None:
    for payload in (
        {"event": "x" * 70_000, "timestamp": int(CLOCK.time() * 1000)},
        json.loads(message({"id": "u"}, {"type": "y" * 70_000})),
    ):
        with pytest.raises(MalformedPayload) as caught:
            await CHANNEL.parse(signed(json.dumps(payload).encode()))
        assert len(str(caught.value)) < 200


async def test_a_stale_webhook_says_when_it_was_sent() -> None:
    body = message({"id": "u"}, {"type": "text", "text": "hi"})
    later = ViberChannel(auth_token=TOKEN, sender_name="Acme", clock=FakeClock(CLOCK.time() + 9000))
    with pytest.raises(StaleWebhook) as caught:
        await later.parse(signed(body))
    assert caught.value.status_code == 401
    assert str(caught.value) == (
        "stale webhook: Viber callback sent at 2023-11-14T22:13:20Z, 9000 s ago, more than the "
        "7200 s its sender retries for; replayed?"
    )
