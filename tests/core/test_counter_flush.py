"""Counters kept in the store: they survive restarts, add up across replicas, and a failed
flush loses nothing."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Mapping
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from byoc.counter_flush import CounterFlusher, parse_series_key, series_key
from byoc.hops import Hops
from byoc.store import MemoryStore, SQLiteStore, Store, StoreUnavailable
from byoc.store.postgres import PostgresStore
from byoc.testing.clock import FakeClock
from byoc.testing.fake_channel import FakeChannel
from byoc.testing.rig import BRIDGE_URL, BridgeRig
from tests.core.admin.test_metrics import samples
from tests.postgres import postgres_url  # noqa: F401

MakeStore = Callable[[], Store]

IN = 'byoc_messages_in_total{channel="fake"}'
OUT = 'byoc_messages_out_total{channel="fake"}'
REFUSED = 'byoc_webhooks_refused_total{endpoint="channel:fake",status="401"}'


@pytest.fixture(params=["sqlite", "postgres"])
def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> MakeStore:
    """Opens the same durable store again each time it is called."""
    if request.param == "sqlite":
        return lambda: SQLiteStore(tmp_path / "byoc.db")
    url = request.getfixturevalue("postgres_url")
    return lambda: PostgresStore(url)


class Bridged:
    """A rig whose bridge has one fake channel, on a given store."""

    def __init__(self, rig: BridgeRig, store: Store) -> None:
        self.rig = rig
        self.channel = FakeChannel()
        self.bridge = rig.attach([self.channel], store=store)

    async def say(self, user: str, text: str) -> None:
        body, headers = self.channel.user_message(user, text)
        response = await self.rig.http.post(
            f"{BRIDGE_URL}/channels/fake/webhook", content=body, headers=headers
        )
        assert response.status_code == 200

    async def forge(self) -> None:
        response = await self.rig.http.post(f"{BRIDGE_URL}/channels/fake/webhook", content=b"{}")
        assert response.status_code == 401

    async def metrics(self) -> dict[str, float]:
        response = await self.rig.http.get(f"{BRIDGE_URL}/metrics")
        assert response.status_code == 200
        return samples(response.text)


@pytest.fixture
async def rigs() -> AsyncIterator[list[BridgeRig]]:
    made: list[BridgeRig] = []
    yield made
    for rig in made:
        await rig.aclose()


def new_rig(rigs: list[BridgeRig]) -> BridgeRig:
    rig = BridgeRig()
    rigs.append(rig)
    return rig


async def test_counts_carry_on_after_a_restart(make_store: MakeStore) -> None:
    async with BridgeRig() as rig:
        first = Bridged(rig, make_store())
        await first.say("minjun", "hello")
        await rig.settle()
        (user,) = rig.freshchat.users_by_reference("fake:minjun")
        (conversation,) = rig.freshchat.conversations_of(str(user["id"]))
        await rig.freshchat.agent_reply(conversation["conversation_id"], "Hi!")
        await rig.settle()
        await first.forge()
        assert (await first.metrics())[IN] == 1
    # Closing the rig closed the bridge: its last flush stored the counts.

    async with BridgeRig() as rig:
        again = Bridged(rig, make_store())
        found = await again.metrics()
        assert (found[IN], found[OUT], found[REFUSED]) == (1, 1, 1)
        status = await again.bridge.status()
        (row,) = status.channels
        assert (row.messages_in, row.messages_out, row.failed) == (1, 1, 0)
        (refused,) = status.refused
        assert refused.endpoint == "channel:fake" and refused.count == 1
        assert refused.last_status == 401 and refused.last_reason
        await again.forge()
        assert (await again.metrics())[REFUSED] == 2  # stored 1 + 1 not flushed yet
    async with BridgeRig() as rig:
        assert (await Bridged(rig, make_store()).metrics())[REFUSED] == 2


async def test_two_bridges_on_one_postgresql_show_the_sums(
    postgres_url: str,  # noqa: F811
    rigs: list[BridgeRig],
) -> None:
    one = Bridged(new_rig(rigs), PostgresStore(postgres_url))
    two = Bridged(new_rig(rigs), PostgresStore(postgres_url))
    await one.say("minjun", "hello")
    await one.rig.settle()
    for _ in range(2):
        await one.forge()
    for _ in range(3):
        await two.forge()
    assert (await one.metrics())[REFUSED] == 2
    assert await one.bridge.counter_flusher.flush()
    assert await two.bridge.counter_flusher.flush()
    # `one` learns of `two`'s counts at its next flush.
    assert await one.bridge.counter_flusher.flush()
    for bridge in (one, two):
        found = await bridge.metrics()
        assert found[REFUSED] == 5 and found[IN] == 1
        (refused,) = (await bridge.bridge.status()).refused
        assert refused.count == 5


class FailingStore(MemoryStore):
    """Refuses `add_counts` while `down`; `during` runs inside the write (a count that
    arrives while a flush is on its way)."""

    def __init__(self) -> None:
        super().__init__()
        self.down = False
        self.during: Callable[[], None] = lambda: None

    async def add_counts(self, deltas: Mapping[str, int]) -> None:
        self.during()
        if self.down:
            raise StoreUnavailable("the database is restarting")
        await super().add_counts(deltas)


async def test_a_failed_flush_loses_nothing() -> None:
    hops, store = Hops(), FailingStore()
    flusher = CounterFlusher(hops, store)
    for _ in range(3):
        hops.messages_in.inc("viber")
    store.down = True
    assert not await flusher.flush()
    assert await store.counts() == {}
    assert hops.messages_in.get("viber") == 3
    hops.messages_in.inc("viber")
    store.down = False
    store.during = lambda: hops.messages_in.inc("viber")
    assert await flusher.flush()
    assert await store.counts() == {series_key("byoc_messages_in_total", ("viber",)): 4}
    # The count made while the write was on its way waits for the next flush.
    assert hops.messages_in.get("viber") == 5
    assert hops.messages_in.values == {("viber",): 1.0}
    store.during = lambda: None
    assert await flusher.flush()
    assert await store.counts() == {series_key("byoc_messages_in_total", ("viber",)): 5}
    assert hops.messages_in.get("viber") == 5 and not hops.messages_in.values


async def test_counts_are_flushed_every_interval_not_per_message() -> None:
    clock, hops = FakeClock(), Hops()
    writes: list[Mapping[str, int]] = []

    class Recording(MemoryStore):
        async def add_counts(self, deltas: Mapping[str, int]) -> None:
            writes.append(dict(deltas))
            await super().add_counts(deltas)

    flusher = CounterFlusher(hops, Recording(), interval=5.0, sleep=clock.sleep)
    await flusher.start()
    for _ in range(100):
        hops.messages_out.inc("telegram")
    assert writes == []
    await clock.wait_for_sleepers()
    await clock.advance(5)
    assert writes == [{series_key("byoc_messages_out_total", ("telegram",)): 100}]
    hops.failed.inc("telegram", "out")
    await flusher.stop()
    assert writes[-1] == {series_key("byoc_messages_failed_total", ("telegram", "out")): 1}


@given(st.text(min_size=1), st.lists(st.text(), max_size=4))
def test_series_keys_read_back(name: str, labels: list[str]) -> None:
    assert parse_series_key(series_key(name, tuple(labels))) == (name, tuple(labels))


@given(st.text())
def test_anything_else_is_not_a_series_key(text: str) -> None:
    parsed = parse_series_key(text)  # never raises
    if parsed is not None:
        assert json.loads(text) == [parsed[0], *parsed[1]]
