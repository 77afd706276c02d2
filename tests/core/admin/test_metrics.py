"""`GET /metrics` and the hop log lines: what an operator's dashboards and greps rely on."""

from __future__ import annotations

import logging
import math
import re
from collections.abc import AsyncIterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from byoc.hops import kv
from byoc.metrics import Registry
from byoc.store import MemoryStore
from byoc.testing.fake_channel import FakeChannel
from byoc.testing.rig import BRIDGE_URL, BridgeRig

SAMPLE = re.compile(r"^(?P<name>[a-z_]+)(?:\{(?P<labels>.*)\})? (?P<value>\S+)$")


def samples(text: str) -> dict[str, float]:
    """`name{labels}` → value, for every sample line of a Prometheus text page."""
    found = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        match = SAMPLE.match(line)
        assert match, f"not a sample line: {line!r}"
        key = match.group("name") + (
            f"{{{match.group('labels')}}}" if match.group("labels") else ""
        )
        found[key] = float(match.group("value"))
    return found


def test_registry_renders_counters_and_histograms() -> None:
    registry = Registry()
    counter = registry.counter("byoc_things_total", "Things.", ("channel",))
    counter.inc('vi"ber\n')
    counter.inc('vi"ber\n', amount=2)
    histogram = registry.histogram("byoc_seconds", "Seconds.", ("direction",), buckets=(0.1, 1.0))
    for value in (0.05, 0.1, 0.5, 3.0):
        histogram.observe(value, "in")
    text = registry.render()
    assert "# TYPE byoc_things_total counter" in text
    assert 'byoc_things_total{channel="vi\\"ber\\n"} 3' in text
    found = samples(text)
    assert found['byoc_seconds_bucket{direction="in",le="0.1"}'] == 2
    assert found['byoc_seconds_bucket{direction="in",le="1"}'] == 3
    assert found['byoc_seconds_bucket{direction="in",le="+Inf"}'] == 4
    assert found['byoc_seconds_count{direction="in"}'] == 4
    assert math.isclose(found['byoc_seconds_sum{direction="in"}'], 3.65)
    with pytest.raises(ValueError):
        counter.inc()


@given(st.lists(st.floats(min_value=0, max_value=1e6, allow_nan=False), max_size=50))
def test_histogram_buckets_are_cumulative(values: list[float]) -> None:
    registry = Registry()
    histogram = registry.histogram("byoc_h", "H.", ("d",))
    for value in values:
        histogram.observe(value, "x")
    found = samples(registry.render())
    buckets = [v for k, v in found.items() if k.startswith("byoc_h_bucket")]
    assert buckets == sorted(buckets)
    if values:
        assert buckets[-1] == len(values) == found['byoc_h_count{d="x"}']


def test_kv_quotes_what_needs_it_and_leaves_out_none() -> None:
    line = kv(hop="x", channel="viber", error='Boom: "no"', empty="", skipped=None, n=3)
    assert str(line) == 'hop=x channel=viber error="Boom: \\"no\\"" empty="" n=3'


class CountingStore(MemoryStore):
    def __init__(self) -> None:
        super().__init__()
        self.calls: list[str] = []

    async def depth(self) -> int:
        self.calls.append("depth")
        return await super().depth()

    async def dead_letters(self, *, limit: int = 100):  # type: ignore[no-untyped-def]
        self.calls.append("dead_letters")
        return await super().dead_letters(limit=limit)

    async def count_dead_letters(self) -> int:
        self.calls.append("count_dead_letters")
        return await super().count_dead_letters()


async def scrape(rig: BridgeRig) -> dict[str, float]:
    response = await rig.http.get(f"{BRIDGE_URL}/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    return samples(response.text)


@pytest.fixture
def channel() -> FakeChannel:
    return FakeChannel()


@pytest.fixture
def store() -> CountingStore:
    return CountingStore()


@pytest.fixture
async def rig(channel: FakeChannel, store: CountingStore) -> AsyncIterator[BridgeRig]:
    async with BridgeRig() as made:
        made.attach([channel], store=store)
        yield made


async def test_metrics_count_a_round_trip_duplicates_and_dead_letters(
    rig: BridgeRig, channel: FakeChannel
) -> None:
    await rig.say(channel, "minjun", "hello", copies=2)
    await rig.settle()
    (user,) = rig.freshchat.users_by_reference("fake:minjun")
    (conversation,) = rig.freshchat.conversations_of(str(user["id"]))
    await rig.freshchat.agent_reply(conversation["conversation_id"], "Hi!")
    await rig.settle()
    channel.refuse_users.add("minjun")
    await rig.freshchat.agent_reply(conversation["conversation_id"], "Still there?")
    await rig.settle()
    bad = await rig.http.post(f"{BRIDGE_URL}/channels/fake/webhook", content=b"{}")
    assert bad.status_code == 401

    found = await scrape(rig)
    assert found['byoc_messages_received_total{channel="fake"}'] == 1
    assert found['byoc_messages_in_total{channel="fake"}'] == 1
    assert found['byoc_messages_out_total{channel="fake"}'] == 1
    assert found['byoc_duplicates_total{direction="in"}'] == 1
    assert found['byoc_messages_failed_total{channel="fake",direction="out"}'] == 1
    assert found['byoc_webhooks_refused_total{endpoint="channel:fake",status="401"}'] == 1
    assert found['byoc_delivery_seconds_count{direction="in"}'] == 1
    assert found['byoc_delivery_seconds_count{direction="out"}'] == 1
    assert found["byoc_queue_depth"] == 0 and found["byoc_dead_letters"] == 1
    assert found['byoc_info{mode="live"}'] == 1


async def test_a_scrape_reads_the_store_only_for_depth_and_dead_letters(
    rig: BridgeRig, channel: FakeChannel, store: CountingStore
) -> None:
    await rig.say(channel, "minjun", "hello")
    await rig.settle()
    store.calls.clear()
    await scrape(rig)
    assert sorted(store.calls) == ["count_dead_letters", "depth"]


async def test_each_hop_logs_one_line_with_the_ids_that_tie_it_together(
    rig: BridgeRig, channel: FakeChannel, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="byoc.hops")
    await rig.say(channel, "minjun", "hello")
    await rig.settle()
    (user,) = rig.freshchat.users_by_reference("fake:minjun")
    (conversation,) = rig.freshchat.conversations_of(str(user["id"]))
    conversation_id = conversation["conversation_id"]
    reply = await rig.freshchat.agent_reply(conversation_id, "Hi!")
    await rig.settle()

    lines = [r.getMessage() for r in caplog.records if r.name == "byoc.hops"]

    def one(hop: str, **ids: str) -> str:
        found = [
            line
            for line in lines
            if line.startswith(f"hop={hop} ") and all(f"{k}={v}" in line for k, v in ids.items())
        ]
        assert len(found) == 1, (hop, ids, lines)
        return found[0]

    webhook = one("channel.webhook", channel="fake", channel_user="minjun", outcome="queued")
    message_id = re.search(r"channel_message_id=(\S+)", webhook)
    assert message_id is not None
    one(
        "helpdesk.posted",
        channel_message_id=message_id.group(1),
        helpdesk_user=str(user["id"]),
        conversation=conversation_id,
    )
    one("helpdesk.webhook", helpdesk_message=reply["id"], actor="agent", outcome="queued")
    one(
        "channel.sent",
        helpdesk_message=reply["id"],
        conversation=conversation_id,
        channel="fake",
        channel_user="minjun",
    )


@pytest.mark.parametrize(
    ("options", "allowed", "refused"),
    [
        ({}, [None], []),
        ({"admin_token": "admin-token-0123456789"}, ["admin-token-0123456789"], [None, "x"]),
        (
            {"admin_token": "admin-token-0123456789", "metrics_token": "scrape-token-0123456789"},
            ["scrape-token-0123456789", "admin-token-0123456789"],
            [None, "nope"],
        ),
    ],
)
async def test_metrics_are_behind_the_metrics_or_admin_token_when_one_is_set(
    options: dict[str, str], allowed: list[str | None], refused: list[str | None]
) -> None:
    async with BridgeRig() as rig:
        rig.attach([FakeChannel()], store=CountingStore(), **options)

        async def scrape(token: str | None) -> int:
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            return (await rig.http.get(f"{BRIDGE_URL}/metrics", headers=headers)).status_code

        assert [await scrape(t) for t in allowed] == [200] * len(allowed)
        assert [await scrape(t) for t in refused] == [401] * len(refused)


async def test_refused_webhooks_show_per_endpoint_with_the_last_reason(
    rig: BridgeRig, channel: FakeChannel
) -> None:
    forged = await rig.http.post(
        f"{BRIDGE_URL}/channels/fake/webhook", content=b"{}", headers={"x-fake-signature": "0"}
    )
    assert forged.status_code == 401
    # The sender learns that the check failed, not which setting holds the key.
    assert forged.json()["error"] == "the request's signature or secret does not verify"
    await rig.http.post(f"{BRIDGE_URL}/messaging/webhook", content=b"{}")
    await rig.http.post(f"{BRIDGE_URL}/channels/no-such-channel/webhook", content=b"{}")

    status = await rig.bridge.status()
    shown = {r.endpoint: (r.count, r.last_status) for r in status.refused}
    assert shown == {"channel:fake": (1, 401), "helpdesk": (1, 401), "unknown": (1, 404)}
    reasons = {r.endpoint: r.last_reason for r in status.refused}
    assert "X-Fake-Signature" in reasons["channel:fake"]
    assert "X-Freshchat-Signature" in reasons["helpdesk"]
    found = await scrape(rig)
    assert found['byoc_webhooks_refused_total{endpoint="unknown",status="404"}'] == 1
    assert status.helpdesk_signatures is True
