"""`BridgeRig`: channel emulators on its network, settling, and telling bugs from refusals."""

import asyncio

import httpx
import pytest

from byoc.asgi import Receive, Scope, Send, send_response
from byoc.errors import PermanentError
from byoc.messaging import HelpdeskUser
from byoc.store import MemoryStore
from byoc.testing.clock import FakeClock
from byoc.testing.fake_channel import FakeChannel
from byoc.testing.freshchat import WebhookKey
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
            await rig.say(channel, user, "hello")
        await rig.settle()
        assert len(await rig.bridge.dead_letters()) == 2
        [crash] = await rig.unexpected_dead_letters()
        assert crash.job.lane == "in:fake:crashing"
        assert crash.job.attempts[-1].error.startswith("KeyError")


async def test_say_posts_every_copy_and_names_the_refusal() -> None:
    async with BridgeRig(helpdesk="chatwoot") as rig:
        channel = FakeChannel()
        rig.attach([channel])
        answer = await rig.say(channel, "minjun", "hello", copies=3)
        assert answer.status_code == 200
        forged = FakeChannel(secret="another-secret")
        refused = await rig.say(forged, "minjun", "forged", expect=None)
        assert refused.status_code == 401
        with pytest.raises(AssertionError, match="answered 401, not 200: .*signature"):
            await rig.say(forged, "minjun", "forged")
        with pytest.raises(ValueError, match="copies must be 1 or more"):
            await rig.say(channel, "minjun", "nothing", copies=0)
        await rig.settle()
        assert rig.texts_of("fake:minjun") == ["hello"]  # three copies, one message
        assert rig.texts_of("fake:nobody") == []
        assert rig.helpdesk.user_texts(rig.conversation_of("fake:minjun")) == ["hello"]
        with pytest.raises(AssertionError, match="fake:nobody has 0 conversations"):
            rig.conversation_of("fake:nobody")


async def test_run_for_moves_the_rigs_fake_clock_and_settles_on_the_way() -> None:
    clock = FakeClock()
    async with BridgeRig(clock=clock) as rig:
        channel = FakeChannel()
        rig.attach([channel], store=MemoryStore(clock=clock), clock=clock)
        rig.freshchat.faults.server_error(times=1, status=503, method="POST")
        await rig.say(channel, "minjun", "hello")
        await rig.run_for(0)
        assert rig.texts_of("fake:minjun") == []  # its retry waits on the clock
        start = clock.time()
        await rig.run_for(30, step=10)
        assert clock.time() == start + 30
        assert rig.texts_of("fake:minjun") == ["hello"]
        [[part]] = rig.user_parts(rig.conversation_of("fake:minjun"))
        assert part["text"] == {"content": "hello"}
    async with BridgeRig() as rig:
        rig.attach([FakeChannel()])
        with pytest.raises(TypeError, match=r"BridgeRig\(clock=FakeClock"):
            await rig.run_for(1)


async def test_the_rigs_of_a_process_sign_with_one_key_unless_given_their_own() -> None:
    own = WebhookKey.generate()
    async with BridgeRig() as first, BridgeRig() as second, BridgeRig(webhook_key=own) as third:
        assert first.freshchat.key is second.freshchat.key
        assert third.freshchat.key is own
        body = b'{"action":"message_create"}'
        assert own.sign(body) != first.freshchat.key.sign(body)
