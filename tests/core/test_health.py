"""`/healthz` tells the truth: a help desk that fails every delivery makes it 503, with why."""

from __future__ import annotations

from byoc.store import MemoryStore, StoreUnavailable
from byoc.testing.clock import FakeClock
from byoc.testing.fake_channel import FakeChannel
from byoc.testing.rig import BRIDGE_URL, BridgeRig


async def test_a_failing_help_desk_turns_healthz_unhealthy_until_it_delivers_again() -> None:
    clock = FakeClock()
    async with BridgeRig() as rig:
        channel = FakeChannel()
        rig.attach([channel], store=MemoryStore(clock=clock), clock=clock)
        rig.freshchat.faults.server_error(times=None, status=503)
        await rig.say(channel, "ana", "hello?")  # accepted (200): it waits in the queue
        await rig.settle()

        # One failure is no outage: the retry may cure it.
        assert (await rig.http.get(f"{BRIDGE_URL}/healthz")).status_code == 200
        for _ in range(6):
            await clock.advance(10)
            await rig.settle()
        health = await rig.http.get(f"{BRIDGE_URL}/healthz")
        assert health.status_code == 503
        (problem,) = health.json()["problems"]
        assert problem.startswith("the help desk: every delivery has failed for")
        assert "503" in problem

        rig.freshchat.faults.clear()
        for _ in range(30):
            await clock.advance(60)
            await rig.settle()
            if (await rig.http.get(f"{BRIDGE_URL}/healthz")).status_code == 200:
                break
        assert (await rig.http.get(f"{BRIDGE_URL}/healthz")).json() == {"status": "ok"}
        assert rig.freshchat.total_calls() > 0


class UnreachableStore(MemoryStore):
    """A store whose database stopped answering."""

    async def ping(self) -> None:
        raise StoreUnavailable("PostgreSQL at db.internal:5432 does not answer")


async def test_a_store_that_does_not_answer_makes_healthz_say_so() -> None:
    async with BridgeRig() as rig:
        rig.attach([FakeChannel()], store=UnreachableStore())
        health = await rig.http.get(f"{BRIDGE_URL}/healthz")
        assert health.status_code == 503
        assert health.json()["problems"][0].startswith("the store: PostgreSQL at db.internal")
