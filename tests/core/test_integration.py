"""The core engine end to end: fake channel ↔ bridge (HTTP) ↔ Freshchat emulator (HTTP)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from byoc.bridge import Bridge
from byoc.errors import ConfigurationError
from byoc.models import Image, OutboundMessage, Profile, SendResult, Text
from byoc.store import MemoryStore, SQLiteStore
from byoc.testing.fake_channel import FakeChannel
from byoc.testing.rig import BRIDGE_URL, BridgeRig

from .recording_messaging import RecordingMessaging

WEBHOOK = f"{BRIDGE_URL}/channels/fake/webhook"


PROFILE = Profile(name="Min-jun Kim", language="ko")


@pytest.fixture(params=["durable-sqlite", "durable-memory", "inline"])
async def rig(
    request: pytest.FixtureRequest, tmp_path: Path, channel: FakeChannel
) -> AsyncIterator[BridgeRig]:
    delivery, _, store_kind = request.param.partition("-")
    store = SQLiteStore(tmp_path / "byoc.sqlite3") if store_kind == "sqlite" else MemoryStore()
    async with BridgeRig() as made:
        made.attach([channel], store=store, delivery=delivery)
        yield made


@pytest.fixture
def channel() -> FakeChannel:
    return FakeChannel()


async def test_first_message_makes_one_user_and_conversation_then_one_call_each(
    rig: BridgeRig,
    channel: FakeChannel,
) -> None:
    await rig.say(channel, "minjun", "안녕하세요 👋", profile=PROFILE)
    await rig.settle()
    (user,) = rig.freshchat.users_by_reference("fake:minjun")
    assert user["first_name"] == "Min-jun"
    conversation = rig.conversation_of("fake:minjun")
    assert rig.helpdesk.user_texts(conversation) == ["안녕하세요 👋"]

    rig.freshchat.reset_calls()
    await rig.say(channel, "minjun", "second")
    await rig.settle()
    assert rig.freshchat.total_calls() == 1
    assert rig.freshchat.calls[("POST", "/v2/conversations/{id}/messages")] == 1
    assert rig.helpdesk.user_texts(conversation) == ["안녕하세요 👋", "second"]


async def test_agent_reply_reaches_the_user_once_and_echoes_do_not(
    rig: BridgeRig, channel: FakeChannel
) -> None:
    conversation = await rig.say_and_settle(channel, "minjun", "hello")
    rig.freshchat.reset_calls()
    await rig.freshchat.agent_reply(conversation, "How can I help? 😊")
    await rig.freshchat.private_note(conversation, "VIP customer")
    await rig.settle()
    replies = channel.outbox["minjun"]
    assert [m.parts for m in replies] == [(Text(text="How can I help? 😊"),)]
    # The user's own message and the system welcome message were echoed as webhooks too.
    assert rig.freshchat.total_calls() == 0  # a reply costs Freshchat nothing


async def test_fifty_concurrent_first_messages_make_one_user_one_conversation_in_order(
    rig: BridgeRig,
    channel: FakeChannel,
) -> None:
    await asyncio.gather(
        *(rig.say(channel, "jisoo", f"m{i:02d}", message_id=f"j-{i}") for i in range(50))
    )
    await rig.settle()
    assert len(rig.freshchat.users_by_reference("fake:jisoo")) == 1
    conversation = rig.conversation_of("fake:jisoo")
    assert rig.helpdesk.user_texts(conversation) == [f"m{i:02d}" for i in range(50)]


async def test_every_webhook_delivered_three_times_has_one_effect(
    rig: BridgeRig, channel: FakeChannel
) -> None:
    rig.freshchat.faults.duplicate_webhooks(3)
    conversation = await rig.say_and_settle(channel, "minjun", "one", message_id="x-1", copies=3)
    await rig.say(channel, "minjun", "two", message_id="x-2", copies=3)
    await rig.freshchat.agent_reply(conversation, "reply")
    await rig.settle()
    assert rig.helpdesk.user_texts(conversation) == ["one", "two"]
    assert [m.parts for m in channel.outbox["minjun"]] == [(Text(text="reply"),)]


async def test_stale_conversation_recovers_without_losing_the_message(
    rig: BridgeRig, channel: FakeChannel
) -> None:
    first = await rig.say_and_settle(channel, "minjun", "one")
    rig.freshchat.faults.stale_conversation(times=1)
    await rig.say(channel, "minjun", "two")
    await rig.settle()
    conversations = rig.helpdesk.conversations("fake:minjun")
    assert sorted(rig.texts_of("fake:minjun")) == ["one", "two"]
    link = await rig.bridge.store.get_link("fake", "minjun")
    assert link is not None and link.conversation_id in conversations
    del first


async def test_freshchat_webhook_signature_is_required(
    rig: BridgeRig, channel: FakeChannel
) -> None:
    await rig.say(channel, "minjun", "one")
    await rig.settle()
    body = json.dumps({"action": "message_create", "data": {}}).encode()
    url = f"{BRIDGE_URL}/messaging/webhook"
    missing = await rig.http.post(url, content=body)
    assert missing.status_code == 401
    signature = rig.freshchat.key.sign(body)
    flipped = await rig.http.post(
        url, content=body[:-2] + b"} ", headers={"x-freshchat-signature": signature}
    )
    assert flipped.status_code == 401
    valid = await rig.http.post(url, content=body, headers={"x-freshchat-signature": signature})
    assert valid.status_code == 400  # signed, but not a message Freshchat would send


async def test_media_is_passed_to_freshchat(rig: BridgeRig, channel: FakeChannel) -> None:
    await rig.say(channel, "minjun", [Image(url="https://cdn.example/p.png", caption="my receipt")])
    await rig.settle()
    (message,) = [
        m
        for m in rig.freshchat.conversation_messages(rig.conversation_of("fake:minjun"))
        if m["actor_type"] == "user"
    ]
    kinds = [next(k for k, v in p.items() if v is not None) for p in message["message_parts"]]
    assert kinds == ["image", "text"]


async def test_recovered_delivery_already_in_freshchat_is_not_posted_twice(tmp_path: Path) -> None:
    async with BridgeRig() as rig:
        channel = FakeChannel()
        bridge = rig.attach([channel], store=SQLiteStore(tmp_path / "s.sqlite3"))
        conversation = await rig.say_and_settle(channel, "minjun", "one")
        # Freshchat took "two", then the bridge died before recording it: the job is in flight.
        await bridge.delivery.stop()
        original = rig.messaging.post_message
        accepted = asyncio.Event()

        async def post_then_crash(*args: object) -> object:
            await original(*args)  # type: ignore[arg-type]
            accepted.set()
            await asyncio.Event().wait()  # never recorded
            raise AssertionError("unreachable")

        rig.messaging.post_message = post_then_crash  # type: ignore[method-assign, assignment]
        await rig.say(channel, "minjun", "two")
        await bridge.start()
        await accepted.wait()
        await bridge.delivery.stop(grace=0)
        rig.messaging.post_message = original  # type: ignore[method-assign]
        rig.freshchat.reset_calls()
        await bridge.start()
        await rig.settle()
        assert rig.helpdesk.user_texts(conversation) == ["one", "two"]
        assert rig.freshchat.calls[("GET", "/v2/conversations/{id}/messages")] == 1
        assert rig.freshchat.calls[("POST", "/v2/conversations/{id}/messages")] == 0


@settings(
    max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None
)
@given(
    body=st.one_of(
        st.binary(max_size=300),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.text(max_size=12),
            lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=8), c, max_size=3),
            max_leaves=15,
        ).map(lambda v: json.dumps(v).encode()),
        st.fixed_dictionaries(
            {
                "action": st.sampled_from(["message_create", "conversation_resolution", "x"]),
                "data": st.dictionaries(
                    st.sampled_from(["message", "resolve"]),
                    st.dictionaries(
                        st.sampled_from(
                            ["id", "conversation_id", "actor_type", "message_parts", "user_id"]
                        ),
                        st.none()
                        | st.integers()
                        | st.text(max_size=5)
                        | st.lists(st.integers(), max_size=2),
                    ),
                ),
            }
        ).map(lambda v: json.dumps(v).encode()),
    )
)
async def test_signed_or_not_any_body_gets_2xx_or_4xx(
    rig: BridgeRig, channel: FakeChannel, body: bytes
) -> None:
    signed = {"x-freshchat-signature": rig.freshchat.key.sign(body)}
    for url, headers in (
        (f"{BRIDGE_URL}/messaging/webhook", signed),
        (f"{BRIDGE_URL}/messaging/webhook", {}),
        (WEBHOOK, {"x-fake-signature": channel.sign(body)}),
    ):
        response = await rig.http.post(url, content=body, headers=headers)
        assert response.status_code < 500, response.text


class SessionChannel(FakeChannel):
    """A fake channel with chat sessions: `timeline` shows replies and session ends in order."""

    def __init__(self) -> None:
        super().__init__()
        self.timeline: list[str] = []

    async def send(self, user_id: str, message: OutboundMessage) -> SendResult:
        result = await super().send(user_id, message)
        self.timeline.extend(f"reply:{p.text}" for p in message.parts if isinstance(p, Text))
        return result

    async def conversation_resolved(self, user_id: str) -> None:
        self.timeline.append(f"end:{user_id}")


@pytest.mark.parametrize("delivery", ["durable", "inline"])
async def test_resolution_reaches_the_channel_after_the_replies_before_it_and_once(
    tmp_path: Path, delivery: str
) -> None:
    async with BridgeRig() as rig:
        channel = SessionChannel()
        rig.attach([channel], store=SQLiteStore(tmp_path / "s.sqlite3"), delivery=delivery)
        conversation = await rig.say_and_settle(channel, "minjun", "hello")
        rig.freshchat.faults.duplicate_webhooks(2)
        # The common ending: a last word, then resolve at once. Its reply is queued (durable)
        # when the resolution arrives; ending the session first would swallow it.
        await rig.freshchat.agent_reply(conversation, "goodbye")
        await rig.freshchat.resolve(conversation)
        await rig.settle()
        assert channel.timeline == ["reply:goodbye", "end:minjun"]
        # Reopened by the user, resolved again: a new session to end.
        await rig.say(channel, "minjun", "one more thing")
        await rig.settle()
        await rig.freshchat.resolve(conversation)
        await rig.settle()
        assert channel.timeline == ["reply:goodbye", "end:minjun", "end:minjun"]


async def test_resolving_a_conversation_that_is_not_ours_costs_no_queue_write() -> None:
    async with BridgeRig() as rig:
        store = MemoryStore()
        rig.attach([FakeChannel()], store=store)
        user = await rig.messaging.create_user("web:visitor", None)
        posted = await rig.messaging.create_conversation(user.id, [Text(text="from the widget")])
        await rig.settle()
        await rig.freshchat.resolve(posted.conversation_id)
        await rig.settle()
        assert await store.depth() == 0
        assert await rig.bridge.dead_letters() == []


class DeadlineChannel(FakeChannel):
    capabilities = attrs.evolve(FakeChannel.capabilities, answer_deadline=5.0)


def test_inline_delivery_is_refused_with_a_channel_that_must_answer_quickly() -> None:
    messaging = RecordingMessaging()
    with pytest.raises(ConfigurationError, match="'fake' must answer its webhook within 5 s"):
        Bridge(messaging=messaging, channels=[DeadlineChannel()], delivery="inline")
    Bridge(messaging=messaging, channels=[DeadlineChannel()], delivery="durable")
    Bridge(messaging=messaging, channels=[FakeChannel()], delivery="inline")
