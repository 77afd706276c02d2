"""The bridge's HTTP surface: routes, prefixes, limits, and errors mapped to status codes."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from byoc import codec
from byoc.bridge import Bridge
from byoc.errors import RetryableError
from byoc.messaging import AgentMessage
from byoc.models import Location, Text
from byoc.store import MemoryStore
from byoc.testing.fake_channel import FakeChannel

from .recording_messaging import RecordingMessaging


class Mounted:
    """The bridge mounted under /hooks by a parent app that sets root_path, as frameworks do."""

    def __init__(self, bridge: Bridge, prefix: str) -> None:
        self.bridge, self.prefix = bridge, prefix

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            scope = dict(scope, root_path=self.prefix)
        await self.bridge(scope, receive, send)


@pytest.fixture(params=["durable", "inline"])
async def parts(
    request: pytest.FixtureRequest,
) -> AsyncIterator[tuple[FakeChannel, RecordingMessaging, Bridge]]:
    channel = FakeChannel()
    messaging = RecordingMessaging()
    bridge = Bridge(
        messaging=messaging,
        channels=[channel],
        store=MemoryStore(),
        max_body_size=4096,
        delivery=request.param,
    )
    yield channel, messaging, bridge
    await bridge.aclose()


@pytest.fixture
async def client(
    parts: tuple[FakeChannel, RecordingMessaging, Bridge],
) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=parts[2]), base_url="http://bridge"
    ) as c:
        yield c


async def test_healthz_and_unknown_routes(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    missing = await client.get("/nothing")
    assert missing.status_code == 404 and "no route" in missing.json()["error"]
    assert (await client.get("/channels/fake/webhook")).status_code == 405
    unknown = await client.post("/channels/nope/webhook", content=b"{}")
    # The answer names the route asked for, never the channels that are configured.
    assert unknown.status_code == 404 and "'nope'" in unknown.json()["error"]
    assert "fake" not in unknown.json()["error"]


async def test_channel_webhook_delivers_and_acks(
    client: httpx.AsyncClient, parts: tuple[FakeChannel, RecordingMessaging, Bridge]
) -> None:
    channel, messaging, _ = parts
    body, headers = channel.user_message("alice", "안녕하세요 👋")
    response = await client.post("/channels/fake/webhook", content=body, headers=headers)
    assert response.status_code == 200, response.text
    await parts[2].wait_idle()
    (conversation,) = messaging.messages.values()
    assert conversation == [(Text(text="안녕하세요 👋"),)]


@pytest.mark.parametrize("prefix", ["/hooks", "/a/b/byoc"])
async def test_works_under_any_prefix(
    parts: tuple[FakeChannel, RecordingMessaging, Bridge], prefix: str
) -> None:
    channel, messaging, bridge = parts
    for app, path in (
        (Mounted(bridge, prefix), f"{prefix}/channels/fake/webhook"),
        (bridge, f"{prefix}/channels/fake/webhook"),
    ):
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://b"
        ) as c:
            body, headers = channel.user_message("alice", f"via {path}")
            assert (await c.post(path, content=body, headers=headers)).status_code == 200
            assert (await c.get(f"{prefix}/healthz")).status_code == 200
    await bridge.wait_idle()
    assert sum(len(m) for m in messaging.messages.values()) == 2


async def test_bad_signature_missing_signature_and_malformed_body(
    client: httpx.AsyncClient, parts: tuple[FakeChannel, RecordingMessaging, Bridge]
) -> None:
    channel, messaging, _ = parts
    body, headers = channel.user_message("alice", "hello")
    flipped = bytes([body[0] ^ 1]) + body[1:]
    assert (
        await client.post("/channels/fake/webhook", content=flipped, headers=headers)
    ).status_code == 401
    assert (await client.post("/channels/fake/webhook", content=body)).status_code == 401
    junk = b"not json"
    bad = await client.post(
        "/channels/fake/webhook", content=junk, headers={"x-fake-signature": channel.sign(junk)}
    )
    assert bad.status_code == 400 and "JSON" in bad.json()["error"]
    assert messaging.calls == []


async def test_body_over_the_limit_is_413(
    client: httpx.AsyncClient, parts: tuple[FakeChannel, RecordingMessaging, Bridge]
) -> None:
    channel = parts[0]
    body, headers = channel.user_message("alice", "x" * 5000)
    response = await client.post("/channels/fake/webhook", content=body, headers=headers)
    assert response.status_code == 413 and "4096" in response.json()["error"]


async def test_inline_retryable_failure_is_503_with_retry_after_and_the_retry_delivers() -> None:
    # Durable delivery acknowledges first and retries by itself: see test_durable.py.
    channel, messaging = FakeChannel(), RecordingMessaging()
    bridge = Bridge(messaging=messaging, channels=[channel], store=MemoryStore(), delivery="inline")
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=bridge), base_url="http://b")
    first, headers = channel.user_message("alice", "one", message_id="m1")
    assert (
        await client.post("/channels/fake/webhook", content=first, headers=headers)
    ).status_code == 200
    messaging.fail_posts.append(RetryableError("help desk throttled", retry_after=2.5))
    second, headers = channel.user_message("alice", "two", message_id="m2")
    deferred = await client.post("/channels/fake/webhook", content=second, headers=headers)
    assert deferred.status_code == 503 and deferred.headers["retry-after"] == "3"
    assert (
        await client.post("/channels/fake/webhook", content=second, headers=headers)
    ).status_code == 200
    (conversation,) = messaging.messages.values()
    assert conversation == [(Text(text="one"),), (Text(text="two"),)]


async def test_messaging_webhook_routes_agent_replies(
    client: httpx.AsyncClient, parts: tuple[FakeChannel, RecordingMessaging, Bridge]
) -> None:
    channel, messaging, bridge = parts
    body, headers = channel.user_message("alice", "hello")
    await client.post("/channels/fake/webhook", content=body, headers=headers)
    await bridge.wait_idle()
    link = await bridge.store.get_link("fake", "alice")
    assert link is not None and link.conversation_id is not None
    event = AgentMessage(
        message_id="a1",
        conversation_id=link.conversation_id,
        user_id=link.helpdesk_user_id,
        actor_type="agent",
        parts=(Text(text="how can I help?"),),
    )
    payload = json.dumps({"events": codec.encode([event])}).encode()
    for _ in range(3):  # delivered three times, sent once
        ok = await client.post(
            "/messaging/webhook", content=payload, headers={"x-test-secret": "s3cret"}
        )
        assert ok.status_code == 200
    await bridge.wait_idle()
    assert [m.parts for m in channel.outbox["alice"]] == [(Text(text="how can I help?"),)]
    assert (await client.post("/messaging/webhook", content=payload)).status_code == 401


def test_target_urls(parts: tuple[FakeChannel, RecordingMessaging, Bridge]) -> None:
    bridge = parts[2]
    assert (
        bridge.target_url("fake", "https://x.test/base/")
        == "https://x.test/base/channels/fake/webhook"
    )
    assert bridge.messaging_webhook_url("https://x.test") == "https://x.test/messaging/webhook"


@settings(
    max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None
)
@given(
    body=st.one_of(
        st.binary(max_size=600),
        st.recursive(
            st.none()
            | st.booleans()
            | st.integers()
            | st.floats(allow_nan=False)
            | st.text(max_size=20),
            lambda c: (
                st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=10), c, max_size=4)
            ),
            max_leaves=20,
        ).map(lambda v: json.dumps(v).encode()),
    ),
    signed=st.booleans(),
)
async def test_any_body_gets_2xx_or_4xx(
    parts: tuple[FakeChannel, RecordingMessaging, Bridge], body: bytes, signed: bool
) -> None:
    channel, _, bridge = parts
    headers = {"x-fake-signature": channel.sign(body)} if signed else {}
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=bridge), base_url="http://b"
    ) as c:
        for path, h in (
            ("/channels/fake/webhook", headers),
            ("/messaging/webhook", {"x-test-secret": "s3cret"} if signed else {}),
        ):
            response = await c.post(path, content=body, headers=h)
            assert response.status_code < 500, response.text


async def test_half_an_emoji_is_repaired_not_refused(
    client: httpx.AsyncClient, parts: tuple[FakeChannel, RecordingMessaging, Bridge]
) -> None:
    # A sender that cut a string in the middle of an emoji would get a 400 on every retry.
    channel, messaging, bridge = parts
    body = b'{"user_id":"a","message_id":"m1","parts":[{"type":"Text","text":"half \\ud83d"}]}'
    response = await client.post(
        "/channels/fake/webhook", content=body, headers={"x-fake-signature": channel.sign(body)}
    )
    assert response.status_code == 200, response.text
    await bridge.wait_idle()
    (conversation,) = messaging.messages.values()
    assert conversation == [(Text(text="half \ufffd"),)]


async def test_a_number_json_cannot_carry_is_refused_before_it_is_queued() -> None:
    # 1e999 parses as an infinite float, which a job's JSON (and the help desk's) cannot hold:
    # refused at the door with a reason, not queued to fail on every try.
    channel, messaging = FakeChannel(), RecordingMessaging()
    bridge = Bridge(
        messaging=messaging, channels=[channel], store=MemoryStore(), delivery="durable"
    )

    def body(lat: str) -> bytes:
        location = f'{{"type":"Location","lat":{lat},"lon":0.5}}'
        return f'{{"user_id":"a","message_id":"m1","parts":[{location}]}}'.encode()

    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=bridge), base_url="http://bridge"
    ) as c:
        refused = await c.post(
            "/channels/fake/webhook",
            content=body("1e999"),
            headers={"x-fake-signature": channel.sign(body("1e999"))},
        )
        assert refused.status_code == 400
        assert "number JSON cannot carry" in refused.text
        # Nothing was claimed: the same message id with a readable latitude goes through.
        fixed = await c.post(
            "/channels/fake/webhook",
            content=body("51.5"),
            headers={"x-fake-signature": channel.sign(body("51.5"))},
        )
        assert fixed.status_code == 200, fixed.text
        await bridge.wait_idle()
    (conversation,) = messaging.messages.values()
    assert conversation == [(Location(lat=51.5, lon=0.5),)]
    await bridge.aclose()
