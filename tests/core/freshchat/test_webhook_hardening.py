"""Signed Freshchat webhooks that are hostile: replayed, mistimed, oversized or half an emoji.

Through the bridge's HTTP route, signed with the emulator's key, so the signature passes and what
is exercised is the freshness window, the parser's bounds and everything after it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import attrs
import httpx
import pytest

from byoc.errors import ConfigurationError
from byoc.freshchat import FreshchatMessaging
from byoc.freshchat.messaging import DEFAULT_FRESHNESS
from byoc.freshness import FreshnessWindow
from byoc.store import MemoryStore
from byoc.testing.clock import FakeClock
from byoc.testing.fake_channel import FakeChannel
from byoc.testing.rig import BRIDGE_URL, BridgeRig

URL = f"{BRIDGE_URL}/messaging/webhook"


@attrs.define
class Desk:
    rig: BridgeRig
    clock: FakeClock
    channel: FakeChannel
    conversation: str

    async def post(self, payload: dict[str, Any]) -> httpx.Response:
        # ensure_ascii (the default) writes a lone surrogate as its `\\ud800` escape.
        body = json.dumps(payload).encode()
        signature = self.rig.freshchat.key.sign(body)
        return await self.rig.http.post(
            URL, content=body, headers={"x-freshchat-signature": signature}
        )

    def emitted(self, action: str) -> dict[str, Any]:
        return next(e for e in reversed(self.rig.freshchat.emitted) if e.get("action") == action)


@pytest.fixture
async def desk() -> AsyncIterator[Desk]:
    clock = FakeClock()
    async with BridgeRig(clock=clock) as rig:
        channel = FakeChannel()
        rig.attach([channel], store=MemoryStore(clock=clock), clock=clock)
        conversation = await rig.say_and_settle(channel, "ana", "hello")
        yield Desk(rig, clock, channel, conversation)


async def test_an_agent_reply_replayed_after_the_dedupe_window_is_refused(desk: Desk) -> None:
    await desk.rig.freshchat.agent_reply(desk.conversation, "환불해 드렸습니다")
    await desk.rig.settle()
    captured = desk.emitted("message_create")
    assert [m.parts[0].text for m in desk.channel.outbox["ana"]] == ["환불해 드렸습니다"]

    await desk.clock.advance(7 * 24 * 3600 + 60)
    replayed = await desk.post(captured)
    await desk.rig.settle()

    assert replayed.status_code == 401
    assert replayed.json()["error"].startswith("stale webhook: Freshchat webhook sent at 2023-11-1")
    assert "replayed?" in replayed.json()["error"]
    assert len(desk.channel.outbox["ana"]) == 1


async def test_a_webhook_within_a_day_is_taken_and_one_from_the_future_is_not(desk: Desk) -> None:
    await desk.rig.freshchat.agent_reply(desk.conversation, "one")
    await desk.rig.settle()
    message = desk.emitted("message_create")
    await desk.clock.advance(23 * 3600)
    late = {**message, "data": {"message": {**message["data"]["message"], "id": "late-retry"}}}
    assert (await desk.post(late)).status_code == 200
    ahead = {**late, "action_time": "2030-01-01T00:00:00.000Z"}
    ahead["data"] = {"message": {**late["data"]["message"], "id": "from-2030"}}
    answer = await desk.post(ahead)
    assert answer.status_code == 401 and "in the future" in answer.json()["error"]
    await desk.rig.settle()
    assert len(desk.channel.outbox["ana"]) == 2


@pytest.mark.parametrize("action", ["conversation_resolution", "conversation_reopen"])
async def test_a_lone_surrogate_conversation_id_is_no_500(desk: Desk, action: str) -> None:
    # Before the JSON decoder repaired lone surrogates, SQLite could not encode the id: a 500.
    if action == "conversation_resolution":
        await desk.rig.freshchat.resolve(desk.conversation)
    else:
        await desk.rig.freshchat.resolve(desk.conversation)
        await desk.rig.freshchat.reopen(desk.conversation)
    await desk.rig.settle()
    event = desk.emitted(action)
    key = {"conversation_resolution": "resolve", "conversation_reopen": "reopen"}[action]
    event["data"][key]["conversation"]["conversation_id"] = "\ud800"
    answer = await desk.post(event)
    await desk.rig.settle()
    assert answer.status_code < 500, answer.text
    assert await desk.rig.unexpected_dead_letters() == []


@pytest.mark.parametrize(
    "field", ["id", "conversation_id", "user_id", "actor_id", "actor_type", "message_type"]
)
async def test_an_oversized_field_is_refused_at_the_door(
    desk: Desk, field: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    await desk.rig.freshchat.agent_reply(desk.conversation, "hi")
    await desk.rig.settle()
    message = desk.emitted("message_create")
    message["data"]["message"][field] = "x" * 70_000
    answer = await desk.post(message)
    await desk.rig.settle()
    assert answer.status_code == 400
    assert "is 70,000 characters long" in answer.json()["error"]
    assert len(answer.content) < 300
    assert max(len(r.getMessage()) for r in caplog.records) < 1000
    assert len(desk.channel.outbox["ana"]) == 1


async def test_media_urls_and_names_past_their_bounds_are_not_forwarded(desk: Desk) -> None:
    await desk.rig.freshchat.agent_reply(desk.conversation, "hi")
    await desk.rig.settle()
    message = desk.emitted("message_create")
    message["data"]["message"]["id"] = "long-url"
    message["data"]["message"]["message_parts"] = [
        {"file": {"url": "https://cdn.test/" + "a" * 9000, "name": "n" * 300}},
        {"image": {"url": "https://cdn.test/a.png", "name": "n" * 300}},
    ]
    assert (await desk.post(message)).status_code == 200
    await desk.rig.settle()
    *_, reply = desk.channel.outbox["ana"]
    texts = [getattr(p, "text", None) for p in reply.parts]
    assert "[file attachment could not be forwarded]" in texts
    assert all(len(getattr(p, "url", "")) < 9000 for p in reply.parts)
    assert all(getattr(p, "name", None) in (None, "a.png") for p in reply.parts)


def test_the_window_comes_from_the_settings() -> None:
    env = {
        "BYOC_FRESHCHAT_API_URL": "https://acme.freshchat.com/v2",
        "BYOC_FRESHCHAT_API_TOKEN": "token-0123456789",
        "BYOC_FRESHCHAT_VERIFY_SIGNATURES": "false",
    }
    assert DEFAULT_FRESHNESS == FreshnessWindow(max_age=86400, max_skew=300)
    assert FreshchatMessaging.from_env(env).freshness == DEFAULT_FRESHNESS
    tuned = {**env, "BYOC_FRESHCHAT_MAX_WEBHOOK_AGE": "0"}
    assert not FreshchatMessaging.from_env(tuned).freshness.on
    with pytest.raises(ConfigurationError, match="BYOC_FRESHCHAT_MAX_WEBHOOK_AGE"):
        FreshchatMessaging.from_env({**env, "BYOC_FRESHCHAT_MAX_WEBHOOK_AGE": "nan"})
