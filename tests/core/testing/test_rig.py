"""`BridgeRig`: channel emulators on its network, settling, and telling bugs from refusals."""

import asyncio

import httpx

from byoc.asgi import Receive, Scope, Send, send_response
from byoc.errors import PermanentError
from byoc.messaging import HelpdeskUser
from byoc.testing.fake_channel import FakeChannel
from byoc.testing.rig import BRIDGE_URL, BridgeRig

WEBHOOK = f"{BRIDGE_URL}/channels/fake/webhook"


class Messenger:
    """A channel emulator in miniature: it posts webhooks in the background once released."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http
        self.released = asyncio.Event()
        self.tasks: set[asyncio.Task[None]] = set()
        self.closed = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send_response(send, 200, b"{}")

    def post(self, body: bytes, headers: dict[str, str]) -> None:
        async def deliver() -> None:
            await self.released.wait()
            await self.http.post(WEBHOOK, content=body, headers=headers)

        task = asyncio.create_task(deliver())
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    @property
    def pending(self) -> int:
        return len(self.tasks)

    async def drain(self) -> None:
        self.released.set()
        while self.tasks:
            await asyncio.gather(*self.tasks)

    async def aclose(self) -> None:
        self.closed = True


async def test_settle_waits_for_the_channel_emulators_calls() -> None:
    async with BridgeRig() as rig:
        channel = FakeChannel()
        messenger = Messenger(rig.client())
        rig.add_emulator("messenger.test", messenger)
        rig.attach([channel])
        assert (await rig.http.get("http://messenger.test/")).status_code == 200
        messenger.post(*channel.user_message("minjun", "안녕하세요"))
        await rig.settle()
        [user] = rig.freshchat.users_by_reference("fake:minjun")
        assert messenger.pending == 0 and rig.freshchat.conversations_of(str(user["id"]))
    assert messenger.closed


async def test_unexpected_dead_letters_are_crashes_not_refusals() -> None:
    async with BridgeRig() as rig:
        channel = FakeChannel()
        rig.attach([channel])

        async def find_user(reference_id: str) -> HelpdeskUser | None:
            if reference_id == "fake:refused":
                raise PermanentError("the help desk refused this user")
            raise KeyError(reference_id)

        rig.messaging.find_user = find_user  # type: ignore[method-assign]
        for user in ("refused", "crashing"):
            body, headers = channel.user_message(user, "hello")
            assert (await rig.http.post(WEBHOOK, content=body, headers=headers)).is_success
        await rig.settle()
        assert len(await rig.bridge.dead_letters()) == 2
        [crash] = await rig.unexpected_dead_letters()
        assert crash.job.lane == "in:fake:crashing"
        assert crash.job.attempts[-1].error.startswith("KeyError")
