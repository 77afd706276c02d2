"""The `Store` contract, run against every implementation.

A new store joins by adding a case to the `store` fixture; everything here must pass unchanged.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from fake_clock import FakeClock

from byoc.store import MemoryStore, SQLiteStore, Store, UserLink


@pytest.fixture(params=["memory", "sqlite"])
async def store(
    request: pytest.FixtureRequest, tmp_path: Path, clock: FakeClock
) -> AsyncIterator[Store]:
    made: Store
    if request.param == "memory":
        made = MemoryStore(clock=clock)
    else:
        made = SQLiteStore(tmp_path / "byoc.db", clock=clock)
    yield made
    await made.aclose()


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
    """How many keys the store's lock table still holds (both stores keep a `KeyedLock`)."""
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


async def test_claim_expires_after_ttl(store: Store, clock: FakeClock) -> None:
    assert await store.claim("k", ttl=10)
    clock.advance(9.5)
    assert not await store.claim("k", ttl=10)
    clock.advance(0.5)
    assert await store.claim("k", ttl=10)
    assert not await store.claim("k", ttl=10)


async def test_duplicate_does_not_extend_the_claim(store: Store, clock: FakeClock) -> None:
    assert await store.claim("k", ttl=10)
    clock.advance(5)
    assert not await store.claim("k", ttl=10)
    clock.advance(5)
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
    clock.advance(2)
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


async def _enqueue(store: Store, lane: str, key: str) -> int | None:
    return await store.enqueue(
        lane=lane, kind="inbound", payload=f'"{key}"', dedupe_key=key, ttl=60
    )


async def test_enqueue_dedupes_and_takes_lane_heads_in_order(store: Store) -> None:
    a1 = await _enqueue(store, "a", "a1")
    b1 = await _enqueue(store, "b", "b1")
    a2 = await _enqueue(store, "a", "a2")
    assert None not in (a1, b1, a2)
    assert await _enqueue(store, "a", "a1") is None  # the same event again
    assert await store.depth() == 3
    taken = await store.take_due(now=1e12, limit=10)
    assert [j.id for j in taken] == [a1, b1]  # one per lane, the lane's oldest
    assert await store.take_due(now=1e12, limit=10) == []  # both lanes busy
    assert taken[0].payload == '"a1"' and taken[0].attempts == ()
    await store.finish(taken[0].id)
    (next_a,) = await store.take_due(now=1e12, limit=10)
    assert next_a.id == a2


async def test_retry_waits_then_bury_keeps_history_and_replay_requeues(
    store: Store, clock: FakeClock
) -> None:
    job_id = await _enqueue(store, "a", "a1")
    assert job_id is not None
    await _enqueue(store, "a", "a2")
    (job,) = await store.take_due(now=clock.time(), limit=5)
    await store.retry(
        job.id, not_before=clock.time() + 30, error="RetryableError: 503", at=clock.time()
    )
    assert await store.take_due(now=clock.time(), limit=5) == []  # the head waits, so does a2
    assert await store.next_due() == clock.time() + 30
    (again,) = await store.take_due(now=clock.time() + 30, limit=5)
    assert again.id == job.id and [a.error for a in again.attempts] == ["RetryableError: 503"]
    await store.bury(again.id, reason="refused", error="PermanentError: 400", at=clock.time())
    assert await store.count_dead_letters() == 1
    (dead,) = await store.dead_letters()
    assert dead.reason == "refused" and len(dead.job.attempts) == 2
    assert await store.dead_letter(dead.id) == dead
    (a2,) = await store.take_due(now=clock.time(), limit=5)  # the lane moved on
    await store.finish(a2.id)
    replayed = await store.replay(dead.id, now=clock.time())
    assert replayed is not None and await store.count_dead_letters() == 0
    (back,) = await store.take_due(now=clock.time(), limit=5)
    assert back.payload == '"a1"' and back.attempts == ()
    assert await store.replay(dead.id, now=clock.time()) is None
    assert not await store.drop(dead.id)


async def test_release_all_hands_in_flight_jobs_back_marked_recovering(store: Store) -> None:
    await _enqueue(store, "a", "a1")
    await _enqueue(store, "b", "b1")
    await store.take_due(now=1e12, limit=1)
    assert await store.release_all(recovering=True) == 1
    jobs = await store.take_due(now=1e12, limit=5)
    assert [j.recovering for j in jobs] == [True, False]
    assert await store.release_all(recovering=False) == 2
    assert await store.next_due() is not None
