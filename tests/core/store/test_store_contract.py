"""The `Store` contract, run against every implementation.

A new store joins by adding a case to the `store` fixture; everything here must pass unchanged.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from byoc.store import MemoryStore, SQLiteStore, Store, UserLink
from byoc.store.postgres import PostgresStore
from byoc.store.queue import Job, LeaseLost
from byoc.testing.clock import FakeClock

STORES = ["memory", "sqlite", "postgres"]

MakeStore = Callable[..., Awaitable[Store]]


@pytest.fixture(params=STORES)
async def make_store(
    request: pytest.FixtureRequest, tmp_path: Path, clock: FakeClock
) -> AsyncIterator[MakeStore]:
    """Makes stores of one kind (closed after the test); keyword options go to the store."""
    made: list[Store] = []

    async def make(**options: Any) -> Store:
        store: Store
        if request.param == "memory":
            store = MemoryStore(clock=clock, **options)
        elif request.param == "sqlite":
            store = SQLiteStore(tmp_path / "byoc.db", clock=clock, **options)
        else:
            store = PostgresStore(request.getfixturevalue("postgres_url"), clock=clock, **options)
        made.append(store)
        return store

    yield make
    for store in made:
        await store.aclose()


@pytest.fixture
async def store(make_store: MakeStore) -> Store:
    return await make_store()


def link(user: str = "u1", **changes: Any) -> UserLink:
    fields: dict[str, Any] = {
        "channel": "viber",
        "channel_user_id": user,
        "helpdesk_user_id": f"hd-{user}",
        "conversation_id": f"conv-{user}",
    }
    fields.update(changes)
    return UserLink(**fields)


def lock_count(store: Store) -> int:
    """How many keys the store's lock table still holds (every store keeps a `KeyedLock`)."""
    return len(store._locks)  # type: ignore[attr-defined]


# -- links -------------------------------------------------------------------------------------


async def test_unknown_link_is_none_by_every_lookup(store: Store) -> None:
    assert await store.get_link("viber", "nobody") is None
    assert await store.get_link_by_helpdesk_user("hd-nobody") is None
    assert await store.get_link_by_conversation("conv-nobody") is None


async def test_saved_link_is_found_by_every_lookup(store: Store) -> None:
    saved = link("Ωmega ユーザー", resolved=True)
    await store.save_link(saved)

    assert await store.get_link("viber", "Ωmega ユーザー") == saved
    assert await store.get_link_by_helpdesk_user("hd-Ωmega ユーザー") == saved
    assert await store.get_link_by_conversation("conv-Ωmega ユーザー") == saved


async def test_links_are_per_channel(store: Store) -> None:
    viber = link("same-id")
    kakao = link("same-id", channel="kakao", helpdesk_user_id="hd-k", conversation_id="conv-k")
    await store.save_link(viber)
    await store.save_link(kakao)

    assert await store.get_link("viber", "same-id") == viber
    assert await store.get_link("kakao", "same-id") == kakao
    assert await store.get_link_by_helpdesk_user("hd-k") == kakao


async def test_link_without_conversation_is_not_routed(store: Store) -> None:
    saved = link(conversation_id=None)
    await store.save_link(saved)

    assert await store.get_link("viber", "u1") == saved
    assert await store.get_link_by_helpdesk_user("hd-u1") == saved
    assert await store.get_link_by_conversation("conv-u1") is None


async def test_save_link_replaces_the_link_of_that_user(store: Store) -> None:
    await store.save_link(link(conversation_id=None))
    updated = link(conversation_id="conv-2", resolved=True)
    await store.save_link(updated)

    assert await store.get_link("viber", "u1") == updated
    assert await store.get_link_by_helpdesk_user("hd-u1") == updated
    assert await store.get_link_by_conversation("conv-2") == updated


async def test_conversation_change_unmaps_the_old_conversation(store: Store) -> None:
    await store.save_link(link(conversation_id="conv-old"))
    await store.save_link(link(conversation_id="conv-new"))

    assert await store.get_link_by_conversation("conv-old") is None
    assert (await store.get_link_by_conversation("conv-new")) == link(conversation_id="conv-new")


async def test_dropping_the_conversation_unmaps_it(store: Store) -> None:
    await store.save_link(link(conversation_id="conv-old"))
    await store.save_link(link(conversation_id=None))

    assert await store.get_link_by_conversation("conv-old") is None


async def test_conversation_routes_to_the_link_saved_last(store: Store) -> None:
    first = link("a", conversation_id="shared")
    second = link("b", conversation_id="shared")
    await store.save_link(first)
    await store.save_link(second)
    assert await store.get_link_by_conversation("shared") == second

    await store.save_link(first)
    assert await store.get_link_by_conversation("shared") == first


# -- claims ------------------------------------------------------------------------------------


async def test_claim_then_duplicate(store: Store) -> None:
    assert await store.claim("viber:msg-1", ttl=60) is True
    assert await store.claim("viber:msg-1", ttl=60) is False
    assert await store.claim("viber:msg-2", ttl=60) is True


async def test_an_unsynced_claim_dedupes_as_a_synced_one_does(store: Store) -> None:
    assert await store.claim("viber:msg-1", ttl=60, synced=False) is True
    assert await store.claim("viber:msg-1", ttl=60) is False
    assert await store.claim("viber:msg-1", ttl=60, synced=False) is False
    await store.release("viber:msg-1")
    assert await store.claim("viber:msg-1", ttl=60, synced=False) is True


async def test_claim_expires_after_ttl(store: Store, clock: FakeClock) -> None:
    assert await store.claim("k", ttl=10)
    await clock.advance(9.5)
    assert not await store.claim("k", ttl=10)
    await clock.advance(0.5)
    assert await store.claim("k", ttl=10)
    assert not await store.claim("k", ttl=10)


async def test_duplicate_does_not_extend_the_claim(store: Store, clock: FakeClock) -> None:
    assert await store.claim("k", ttl=10)
    await clock.advance(5)
    assert not await store.claim("k", ttl=10)
    await clock.advance(5)
    assert await store.claim("k", ttl=10)


async def test_release_makes_the_key_claimable_again(store: Store) -> None:
    assert await store.claim("k", ttl=60)
    await store.release("k")
    assert await store.claim("k", ttl=60)


async def test_release_of_an_unknown_key_is_harmless(store: Store) -> None:
    await store.release("never-claimed")
    assert await store.claim("never-claimed", ttl=60)


async def test_expired_claims_stay_claimable_across_purges(store: Store, clock: FakeClock) -> None:
    # More claims than either store's purge interval, so a purge runs in between.
    keys = [f"k{i}" for i in range(1100)]
    for key in keys:
        assert await store.claim(key, ttl=1)
    await clock.advance(2)
    assert await store.claim("trigger", ttl=1)
    for key in keys[:5] + keys[-5:]:
        assert await store.claim(key, ttl=1)
        assert not await store.claim(key, ttl=1)


# -- settings ----------------------------------------------------------------------------------


async def test_settings(store: Store) -> None:
    assert await store.get_setting("viber.target_url") is None
    await store.set_setting("viber.target_url", "https://bridge.example/channels/viber/webhook")
    await store.set_setting("empty", "")
    await store.set_setting("кириллица", "值\x00with NUL")

    assert await store.get_setting("viber.target_url") == (
        "https://bridge.example/channels/viber/webhook"
    )
    assert await store.get_setting("empty") == ""
    assert await store.get_setting("кириллица") == "值\x00with NUL"

    await store.set_setting("viber.target_url", "https://other.example/")
    assert await store.get_setting("viber.target_url") == "https://other.example/"


# -- locks -------------------------------------------------------------------------------------


async def test_lock_excludes_and_serves_first_come_first_served(store: Store) -> None:
    tasks = 100
    inside = 0
    entered: list[int] = []
    arrived = 0
    all_arrived = asyncio.Event()

    async def worker(i: int) -> None:
        nonlocal inside, arrived
        arrived += 1
        if arrived == tasks:
            all_arrived.set()
        # No await between `arrived` and queueing on the lock: when the last task sets the
        # event, every task is already waiting in arrival order.
        async with store.lock("viber:u1"):
            inside += 1
            assert inside == 1
            entered.append(i)
            # A real store round trip while holding the lock, so others get to run.
            await store.get_setting("x")
            inside -= 1

    async with store.lock("viber:u1"):
        runners = asyncio.gather(*(worker(i) for i in range(tasks)))
        await all_arrived.wait()
    await runners

    assert entered == list(range(tasks))
    assert lock_count(store) == 0


async def test_locks_of_different_keys_do_not_exclude_each_other(store: Store) -> None:
    async def nested() -> None:
        async with store.lock("viber:a"), store.lock("viber:b"):
            pass

    async with store.lock("viber:c"):
        # Would deadlock if keys shared one lock; the timeout turns that into a failure.
        await asyncio.wait_for(nested(), timeout=5)
    assert lock_count(store) == 0


async def test_lock_is_dropped_after_an_error(store: Store) -> None:
    with pytest.raises(LookupError):
        async with store.lock("viber:u1"):
            raise LookupError("the work under the lock failed")
    assert lock_count(store) == 0
    async with store.lock("viber:u1"):
        assert lock_count(store) == 1


async def test_lock_is_dropped_when_a_waiter_is_cancelled(store: Store) -> None:
    waiting = asyncio.Event()

    async def waiter() -> None:
        waiting.set()
        async with store.lock("viber:u1"):
            raise AssertionError("a cancelled waiter must not get the lock")

    async with store.lock("viber:u1"):
        task = asyncio.create_task(waiter())
        # The waiter queues on the lock right after setting the event, with no await between.
        await waiting.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert lock_count(store) == 0


async def test_delete_setting(store: Store) -> None:
    await store.set_setting("k", "v")
    await store.delete_setting("k")
    await store.delete_setting("never-set")
    assert await store.get_setting("k") is None


# -- the delivery queue ------------------------------------------------------------------------

ME, OTHER = "replica-a", "replica-b"
LEASE = 10.0


async def _enqueue(store: Store, lane: str, key: str, *, owner: str | None = None) -> Job:
    job = await store.enqueue(
        lane=lane,
        kind="inbound",
        payload=f'"{key}"',
        dedupe_key=key,
        ttl=60,
        owner=owner,
        lease=LEASE,
    )
    assert job is not None
    return job


async def take(store: Store, clock: FakeClock, owner: str = ME, limit: int = 10) -> list[Job]:
    return await store.take_due(owner=owner, now=clock.time(), limit=limit, lease=LEASE)


async def test_enqueue_dedupes_and_takes_lane_heads_in_order(
    store: Store, clock: FakeClock
) -> None:
    a1 = await _enqueue(store, "a", "a1")
    b1 = await _enqueue(store, "b", "b1")
    a2 = await _enqueue(store, "a", "a2")
    assert (a1.payload, a1.accepted_at, a1.attempts, a1.owner) == ('"a1"', clock.time(), (), None)
    assert len({a1.id, b1.id, a2.id}) == 3
    assert (
        await store.enqueue(lane="a", kind="inbound", payload="x", dedupe_key="a1", ttl=60) is None
    )  # the same event again
    assert await store.depth() == 3
    taken = await take(store, clock)
    assert [j.id for j in taken] == [a1.id, b1.id]  # one per lane, the lane's oldest
    assert all(j.owner == ME and j.lease_until == clock.time() + LEASE for j in taken)
    assert await take(store, clock) == []  # both lanes busy
    assert await store.finish(taken[0].id, owner=ME) is None
    (next_a,) = await take(store, clock)
    assert next_a.id == a2.id and next_a.payload == '"a2"' and not next_a.recovering


async def test_due_jobs_come_oldest_first_up_to_the_limit(store: Store, clock: FakeClock) -> None:
    ids = []
    for n in range(5):
        ids.append((await _enqueue(store, f"lane-{n}", f"k{n}")).id)
        await clock.advance(1)
    assert [j.id for j in await take(store, clock, limit=2)] == ids[:2]
    assert [j.id for j in await take(store, clock, limit=10)] == ids[2:]


async def test_enqueue_with_an_owner_leases_a_lane_head_at_once(
    store: Store, clock: FakeClock
) -> None:
    head = await _enqueue(store, "a", "a1", owner=ME)
    behind = await _enqueue(store, "a", "a2", owner=ME)
    assert head.owner == ME and head.lease_until == clock.time() + LEASE
    assert behind.owner is None  # waits behind the head
    assert await take(store, clock, owner=OTHER) == []  # nothing is free to take
    assert await store.next_due() == clock.time() + LEASE


async def test_finish_hands_over_the_lanes_next_job_and_records_claims(
    store: Store, clock: FakeClock
) -> None:
    first = await _enqueue(store, "a", "a1", owner=ME)
    second = await _enqueue(store, "a", "a2", owner=ME)
    await _enqueue(store, "b", "b1")
    handed = await store.finish(
        first.id, owner=ME, claims=["posted:m-1", "posted:m-2"], claim_ttl=30, next_lease=LEASE
    )
    assert handed is not None and handed.id == second.id and handed.owner == ME
    assert not await store.claim("posted:m-1", ttl=60)  # recorded with the finish
    assert not await store.claim("posted:m-2", ttl=60)
    assert [j.lane for j in await take(store, clock, owner=OTHER)] == ["b"]  # a2 is held
    assert await store.finish(handed.id, owner=ME, next_lease=LEASE) is None  # lane empty
    await clock.advance(30)
    assert await store.claim("posted:m-1", ttl=60)  # the claims' own ttl


async def test_claims_recorded_with_finish_do_not_shorten_a_longer_claim(
    store: Store, clock: FakeClock
) -> None:
    assert await store.claim("posted:m-1", ttl=100)
    job = await _enqueue(store, "a", "a1", owner=ME)
    await store.finish(job.id, owner=ME, claims=["posted:m-1"], claim_ttl=10)
    await clock.advance(50)
    assert not await store.claim("posted:m-1", ttl=60)


async def test_retry_waits_then_bury_keeps_history_and_replay_requeues(
    store: Store, clock: FakeClock
) -> None:
    job = await _enqueue(store, "a", "a1")
    await _enqueue(store, "a", "a2")
    (job,) = await take(store, clock)
    await store.retry(
        job.id, owner=ME, not_before=clock.time() + 30, error="RetryableError: 503", at=clock.time()
    )
    assert await take(store, clock) == []  # the head waits, and so does a2: it keeps its lane
    assert await take(store, clock, owner=OTHER) == []
    assert await store.next_due() == clock.time() + 30
    await clock.advance(30)
    (again,) = await take(store, clock, owner=OTHER)  # any owner may run it now
    assert again.id == job.id and [a.error for a in again.attempts] == ["RetryableError: 503"]
    assert not again.recovering and again.not_before == clock.time()
    await store.bury(
        again.id, owner=OTHER, reason="refused", error="PermanentError: 400", at=clock.time()
    )
    assert await store.count_dead_letters() == 1
    (dead,) = await store.dead_letters()
    assert dead.reason == "refused" and len(dead.job.attempts) == 2
    assert dead.job.owner is None and dead.died_at == clock.time()
    assert await store.dead_letter(dead.id) == dead
    (a2,) = await take(store, clock)  # the lane moved on
    await store.finish(a2.id, owner=ME)
    replayed = await store.replay(dead.id, now=clock.time())
    assert replayed is not None and await store.count_dead_letters() == 0
    (back,) = await take(store, clock)
    assert back.id == replayed and back.payload == '"a1"' and back.attempts == ()
    assert await store.replay(dead.id, now=clock.time()) is None
    assert not await store.drop(dead.id)


async def test_bury_hands_over_the_next_job(store: Store, clock: FakeClock) -> None:
    first = await _enqueue(store, "a", "a1", owner=ME)
    second = await _enqueue(store, "a", "a2")
    handed = await store.bury(
        first.id, owner=ME, reason="refused", error="x", at=clock.time(), next_lease=LEASE
    )
    assert handed is not None and handed.id == second.id and handed.owner == ME


async def test_a_replayed_dead_letter_joins_the_end_of_its_lane(
    store: Store, clock: FakeClock
) -> None:
    job = await _enqueue(store, "a", "a1", owner=ME)
    await store.bury(job.id, owner=ME, reason="refused", error="x", at=clock.time())
    (dead,) = await store.dead_letters()
    later = await _enqueue(store, "a", "a2", owner=ME)
    replayed = await store.replay(dead.id, now=clock.time())
    assert await take(store, clock) == []  # a2 runs first
    handed = await store.finish(later.id, owner=ME, next_lease=LEASE)
    assert handed is not None and handed.id == replayed


async def test_an_expired_lease_is_taken_over_and_marked_recovering(
    store: Store, clock: FakeClock
) -> None:
    await _enqueue(store, "a", "a1")
    (job,) = await take(store, clock, owner=ME)
    await clock.advance(LEASE - 0.5)
    assert await take(store, clock, owner=OTHER) == []  # the lease is live
    await clock.advance(0.5)
    (taken,) = await take(store, clock, owner=OTHER)
    assert taken.id == job.id and taken.recovering and taken.owner == OTHER
    # The old owner learns it lost the job; nothing it says about it is recorded.
    for lost in (
        store.finish(job.id, owner=ME),
        store.retry(job.id, owner=ME, not_before=0, error="x", at=0),
        store.bury(job.id, owner=ME, reason="r", error="x", at=0),
    ):
        with pytest.raises(LeaseLost):
            await lost
    assert await store.renew(owner=ME, job_ids=[job.id], until=clock.time() + LEASE) == set()
    assert await store.depth() == 1
    await store.finish(taken.id, owner=OTHER)
    assert await store.depth() == 0


async def test_renewed_leases_are_not_taken_over(store: Store, clock: FakeClock) -> None:
    a = await _enqueue(store, "a", "a1", owner=ME)
    b = await _enqueue(store, "b", "b1", owner=ME)
    c = await _enqueue(store, "c", "c1", owner=OTHER)
    for _ in range(3):
        await clock.advance(LEASE / 2)
        kept = await store.renew(owner=ME, job_ids=[a.id, b.id, c.id], until=clock.time() + LEASE)
        assert kept == {a.id, b.id}  # c is not ME's to renew
    assert [j.id for j in await take(store, clock, owner=OTHER)] == [c.id]  # c's lease ran out
    assert await store.renew(owner=ME, job_ids=[], until=clock.time()) == set()


async def test_a_finished_job_cannot_be_finished_again(store: Store) -> None:
    job = await _enqueue(store, "a", "a1", owner=ME)
    await store.finish(job.id, owner=ME)
    with pytest.raises(LeaseLost):
        await store.finish(job.id, owner=ME)
    with pytest.raises(LeaseLost):
        await store.finish(987654, owner=ME)


async def test_hand_back_releases_only_the_owners_jobs_marked_recovering(
    store: Store, clock: FakeClock
) -> None:
    await _enqueue(store, "a", "a1", owner=ME)
    await _enqueue(store, "b", "b1", owner=OTHER)
    await _enqueue(store, "c", "c1")
    assert await store.hand_back(owner=ME) == 1
    assert await store.hand_back(owner=ME) == 0
    jobs = await take(store, clock, owner="replica-c")
    assert [(j.lane, j.recovering) for j in jobs] == [("a", True), ("c", False)]


async def test_purge_deletes_expired_claims_and_old_dead_letters(
    make_store: MakeStore, clock: FakeClock
) -> None:
    store = await make_store(dead_letter_retention=100)
    assert await store.claim("old", ttl=10)
    assert await store.claim("young", ttl=1000)
    job = await _enqueue(store, "a", "a1", owner=ME)
    await store.bury(job.id, owner=ME, reason="r", error="x", at=clock.time())
    await clock.advance(50)
    job = await _enqueue(store, "a", "a2", owner=ME)
    await store.bury(job.id, owner=ME, reason="r", error="x", at=clock.time())
    await clock.advance(60)
    # "old", the dedupe claims of a1 and a2 (60 s), and the first dead letter.
    assert await store.purge(now=clock.time()) == 4
    assert await store.purge(now=clock.time()) == 0
    assert [d.job.payload for d in await store.dead_letters()] == ['"a2"']
    assert not await store.claim("young", ttl=1)
    assert await store.claim("old", ttl=1)


async def test_ping_answers(store: Store) -> None:
    await store.ping()


async def test_the_queue_keeps_order_per_lane_with_many_owners(
    store: Store, clock: FakeClock
) -> None:
    """Random interleavings of owners taking, finishing, retrying and dying keep each lane in
    order, one job per lane at a time."""
    rng = random.Random(7)
    sent: dict[str, list[int]] = {}
    for n in range(60):
        lane = f"lane-{rng.randrange(5)}"
        job = await _enqueue(store, lane, f"k{n}")
        sent.setdefault(lane, []).append(job.id)
    done: dict[str, list[int]] = {}
    running: dict[str, Job] = {}
    owners = ["o1", "o2", "o3"]
    for _ in range(2000):
        if not await store.depth():
            break
        owner = rng.choice(owners)
        for job in await take(store, clock, owner=owner, limit=rng.randrange(1, 4)):
            assert job.lane not in running or running[job.lane].id == job.id, "two heads"
            running[job.lane] = job
        for lane, job in list(running.items()):
            roll = rng.random()
            if roll < 0.4:
                try:
                    await store.finish(job.id, owner=job.owner or "")
                except LeaseLost:
                    continue
                done.setdefault(lane, []).append(job.id)
                del running[lane]
            elif roll < 0.5:
                await store.retry(
                    job.id, owner=job.owner or "", not_before=clock.time() + 1, error="e", at=0
                )
                del running[lane]
        # Sometimes long enough for leases to lapse.
        await clock.advance(rng.choice([0.5, 1, LEASE]))
        for lane, job in list(running.items()):
            if job.lease_until is not None and job.lease_until <= clock.time():
                del running[lane]  # its owner is considered dead; it will be taken over
    assert done == sent


async def test_job_ids_are_never_reused(store: Store) -> None:
    first = await _enqueue(store, "a", "a1", owner=ME)
    await store.finish(first.id, owner=ME)
    second = await _enqueue(store, "a", "a2", owner=ME)
    assert second.id > first.id


# -- counters ----------------------------------------------------------------------------------


async def test_counts_start_empty_and_add_up(store: Store) -> None:
    assert await store.counts() == {}
    await store.add_counts({"a": 2, '["byoc_messages_in_total","viber"]': 1})
    await store.add_counts({"a": 3, "b": 1})
    await store.add_counts({})
    assert await store.counts() == {"a": 5, "b": 1, '["byoc_messages_in_total","viber"]': 1}


async def test_counts_from_two_stores_add_up(make_store: MakeStore, store: Store) -> None:
    if isinstance(store, MemoryStore):
        pytest.skip("a MemoryStore is one process's")
    await store.add_counts({"a": 1, "ü": 2})
    other = await make_store(**({} if isinstance(store, PostgresStore) else {"exclusive": False}))
    await other.add_counts({"a": 10})
    assert await store.counts() == await other.counts() == {"a": 11, "ü": 2}


async def test_link_keeps_when_the_user_became_unreachable(store: Store) -> None:
    await store.save_link(link(unreachable_since=1_700_000_123.5))
    found = await store.get_link("viber", "u1")
    assert found is not None and found.unreachable_since == 1_700_000_123.5
    await store.save_link(link())
    found = await store.get_link("viber", "u1")
    assert found is not None and found.unreachable_since is None
