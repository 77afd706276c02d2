"""Replies sent over HTTP to the emulator: what arrives, and how Viber answers map to errors."""

from collections.abc import AsyncIterator

import httpx
import pytest

from byoc.errors import ConfigurationError, PermanentError, RateLimited, RetryableError
from byoc.models import Delivered, File, Image, OutboundMessage, Part, Seen, Text
from byoc.store import MemoryStore
from byoc_viber import ViberChannel
from byoc_viber.testing import SimulatedUser

from .conftest import World
from .support import make_channel


def reply(*parts: Part, message_id: str = "fc-msg-1") -> OutboundMessage:
    return OutboundMessage(message_id=message_id, conversation_id="conv-9", parts=parts)


@pytest.fixture
async def alice(installed: World) -> SimulatedUser:
    return installed.emulator.user(name="Alice", subscribed=True)


async def test_a_reply_reaches_the_user_and_delivery_reports_come_back(
    installed: World, alice: SimulatedUser
) -> None:
    result = await installed.channel.send(alice.id, reply(Text(text="Hello Alice")))
    [received] = alice.received
    assert received.text == "Hello Alice" and received.type == "text"
    assert received.body["sender"] == {"name": "Acme Support"}
    # No quick replies, so nothing to track: the conversation is the store's business.
    assert "tracking_data" not in received.body
    assert result.message_ids == (str(received.token),) and result.notes == ()

    await installed.emulator.drain()
    ids = {"channel": "viber", "user_id": alice.id, "message_id": str(received.token)}
    assert [(type(e), e.message_id) for e in installed.app.events] == [
        (Delivered, ids["message_id"]),
        (Seen, ids["message_id"]),
    ]


async def test_a_long_reply_goes_as_several_messages_in_order(
    installed: World, alice: SimulatedUser
) -> None:
    text = " ".join(["lorem"] * 3000)
    result = await installed.channel.send(alice.id, reply(Text(text=text)))
    assert len(alice.received) == 3
    assert " ".join(m.text or "" for m in alice.received) == text
    assert result.message_ids == tuple(str(m.token) for m in alice.received)
    assert result.notes


@pytest.mark.parametrize(
    ("status", "words"),
    [
        (5, "not a Viber user"),
        (6, "not subscribed"),
        (7, "blocked"),
        (9, "publicAccountSuspended"),
        (3, "badData"),
    ],
)
async def test_viber_statuses_that_will_not_change_are_permanent(
    installed: World, alice: SimulatedUser, status: int, words: str
) -> None:
    installed.emulator.fail_next("send_message", status=status)
    with pytest.raises(PermanentError, match=words):
        await installed.channel.send(alice.id, reply(Text(text="hi")))


async def test_an_unsubscribed_user_cannot_be_reached(installed: World) -> None:
    bob = installed.emulator.user(name="Bob")
    await bob.send_text("hi")
    await bob.unsubscribe()
    with pytest.raises(PermanentError, match="not subscribed"):
        await installed.channel.send(bob.id, reply(Text(text="still there?")))


async def test_an_unknown_receiver_is_permanent(installed: World) -> None:
    with pytest.raises(PermanentError, match="not a Viber user"):
        await installed.channel.send("nobody==", reply(Text(text="hi")))


async def test_after_100_unanswered_messages_viber_throttles_until_the_user_writes(
    installed: World, alice: SimulatedUser
) -> None:
    for i in range(100):
        await installed.channel.send(alice.id, reply(Text(text=f"{i}"), message_id=f"m{i}"))
    with pytest.raises(RetryableError, match="100 messages") as caught:
        await installed.channel.send(alice.id, reply(Text(text="one more")))
    assert not isinstance(caught.value, RateLimited)
    await alice.send_text("I'm here")
    await installed.channel.send(alice.id, reply(Text(text="one more")))
    assert alice.received[-1].text == "one more"


async def test_a_wrong_token_names_the_setting_to_fix(installed: World) -> None:
    async with installed.emulator.client() as http:
        channel = make_channel(installed.emulator, http, auth_token="not-the-token")
        with pytest.raises(ConfigurationError, match="BYOC_VIBER_AUTH_TOKEN"):
            await channel.send("anyone", reply(Text(text="hi")))


async def test_http_5xx_is_retryable_and_429_is_rate_limited(
    installed: World, alice: SimulatedUser
) -> None:
    installed.emulator.fail_next("send_message", http_status=503)
    with pytest.raises(RetryableError, match="503"):
        await installed.channel.send(alice.id, reply(Text(text="hi")))
    installed.emulator.fail_next("send_message", http_status=429, retry_after=7)
    with pytest.raises(RateLimited) as caught:
        await installed.channel.send(alice.id, reply(Text(text="hi")))
    assert caught.value.retry_after == 7
    assert alice.received == []


async def test_timeouts_and_refused_connections_are_retryable() -> None:
    def fail(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("send_message"):
            raise httpx.ReadTimeout("slow", request=request)
        raise httpx.ConnectError("refused", request=request)

    async with httpx.AsyncClient(transport=httpx.MockTransport(fail)) as http:
        channel = ViberChannel(auth_token="t", sender_name="Acme", http=http)
        with pytest.raises(RetryableError, match="timed out"):
            await channel.send("u", reply(Text(text="hi")))
        with pytest.raises(RetryableError, match="connect"):
            await channel.uninstall()


async def test_a_200_that_is_not_viber_json_is_retryable() -> None:
    def portal(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, html="<html>Sign in to the Wi-Fi</html>")

    async with httpx.AsyncClient(transport=httpx.MockTransport(portal)) as http:
        channel = ViberChannel(auth_token="t", sender_name="Acme", http=http)
        with pytest.raises(RetryableError, match="JSON"):
            await channel.send("u", reply(Text(text="hi")))


async def test_a_wrong_api_url_names_the_setting(installed: World) -> None:
    async with installed.emulator.client() as http:
        channel = make_channel(
            installed.emulator, http, api_url=f"{installed.emulator.public_url}/nope"
        )
        with pytest.raises(ConfigurationError, match="BYOC_VIBER_API_URL"):
            await channel.send("u", reply(Text(text="hi")))


async def test_a_reply_that_failed_half_way_resends_only_the_rest(
    installed: World, alice: SimulatedUser
) -> None:
    store = MemoryStore()
    installed.channel.bind(store)
    for i in range(98):  # two short of Viber's cap, so the third message of the reply fails
        await installed.channel.send(alice.id, reply(Text(text=f"{i}"), message_id=f"m{i}"))
    long = reply(Text(text=" ".join(["lorem"] * 3000)), message_id="long")
    with pytest.raises(RetryableError):
        await installed.channel.send(alice.id, long)
    assert len(alice.received) == 100

    await alice.send_text("ok, go on")
    result = await installed.channel.send(alice.id, long)
    tail = alice.received[-3:]
    assert len(alice.received) == 101
    assert result.message_ids == tuple(str(m.token) for m in tail)
    assert " ".join(m.text or "" for m in tail) == " ".join(["lorem"] * 3000)
    # Once sent in full, the progress is forgotten: a later resend starts from the top.
    assert await store.get_setting("viber:sent:long") == "[]"


# -- media sizes --------------------------------------------------------------------------------


@pytest.fixture
async def cdn_world(installed: World) -> AsyncIterator[tuple[World, ViberChannel, list[str]]]:
    """A channel whose client reaches the emulator and a CDN answering HEAD or ranged GET."""
    calls: list[str] = []

    def cdn(request: httpx.Request) -> httpx.Response:
        calls.append(f"{request.method} {request.url.path} {request.headers.get('range', '')}")
        path = request.url.path
        if path.startswith("/head/"):
            if request.method == "HEAD":
                return httpx.Response(200, headers={"Content-Length": "123456"})
        elif path.startswith("/ranged/"):
            if request.method == "HEAD":
                return httpx.Response(405)
            return httpx.Response(206, headers={"Content-Range": "bytes 0-0/654321"}, content=b"x")
        elif path.startswith("/uploads/"):
            # A help desk's upload URL: no extension, the type only in the answer.
            return httpx.Response(200, headers={"Content-Type": "image/png; q=1"}, content=b"png")
        return httpx.Response(404)

    mounts = {
        "all://viber.emulator": httpx.ASGITransport(app=installed.emulator.app),
        "all://cdn.test": httpx.MockTransport(cdn),
    }
    async with httpx.AsyncClient(mounts=mounts) as http:
        yield installed, make_channel(installed.emulator, http), calls


@pytest.mark.parametrize(
    ("path", "size"), [("/head/report.pdf", 123456), ("/ranged/report.pdf", 654321)]
)
async def test_an_unknown_file_size_is_found_with_head_or_a_ranged_get(
    cdn_world: tuple[World, ViberChannel, list[str]], path: str, size: int
) -> None:
    world, channel, calls = cdn_world
    bob = world.emulator.user(subscribed=True)
    await channel.send(bob.id, reply(File(url=f"https://cdn.test{path}", name="report.pdf")))
    [received] = bob.received
    assert received.body["size"] == size and received.type == "file"
    assert calls[0].startswith("HEAD")


async def test_a_file_whose_size_cannot_be_found_goes_as_a_link(
    cdn_world: tuple[World, ViberChannel, list[str]],
) -> None:
    world, channel, calls = cdn_world
    bob = world.emulator.user(subscribed=True)
    result = await channel.send(bob.id, reply(File(url="https://cdn.test/gone.pdf", name="x.pdf")))
    [received] = bob.received
    assert received.type == "text" and "https://cdn.test/gone.pdf" in (received.text or "")
    assert any("size" in note for note in result.notes)
    assert [c.split()[0] for c in calls] == ["HEAD", "GET"]


async def test_a_picture_at_a_url_without_extension_goes_as_a_file_named_by_its_type(
    cdn_world: tuple[World, ViberChannel, list[str]],
) -> None:
    world, channel, _ = cdn_world
    bob = world.emulator.user(subscribed=True)
    await channel.send(bob.id, reply(Image(url="https://cdn.test/uploads/5f1c")))
    [received] = bob.received
    assert received.type == "file"
    assert received.body["file_name"] == "picture.png" and received.body["size"] == 3
