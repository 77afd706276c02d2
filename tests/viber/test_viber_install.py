"""install / uninstall / account calls against the emulator, and the welcome message."""

import httpx
import pytest

from byoc.errors import ConfigurationError, RetryableError
from byoc.models import ConversationStarted, Profile
from byoc_viber.testing import ViberEmulator

from .conftest import World
from .support import TOKEN, WEBHOOK_URL, events_of, make_channel


async def test_install_registers_the_webhook_after_viber_verified_it(world: World) -> None:
    result = await world.channel.install(WEBHOOK_URL)
    assert result.registered and result.target_url == WEBHOOK_URL
    assert world.emulator.webhook == WEBHOOK_URL
    # The verification ping reached the channel, verified, and was answered 200 with no events.
    assert world.app.statuses == [200] and world.app.events == []
    assert set(world.emulator.event_types) == {
        "message",
        "subscribed",
        "unsubscribed",
        "delivered",
        "seen",
        "failed",
        "conversation_started",
    }
    assert "conversation_started" in result.instructions


async def test_install_explains_a_webhook_viber_could_not_reach(world: World) -> None:
    world.app.fail_next = [500] * 1
    with pytest.raises(ConfigurationError) as caught:
        await world.channel.install(WEBHOOK_URL)
    message = str(caught.value)
    assert WEBHOOK_URL in message and "answered HTTP 500 instead of 200" in message
    assert "bridge must already be running" in message and "HTTPS" in message
    assert "HttpResponse[HTTP/1.1 500 Internal Server Error]" in message
    assert world.emulator.webhook is None


async def test_install_when_nothing_listens_reports_the_connection_error() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("Connection refused", request=request)

    async with httpx.AsyncClient(transport=httpx.MockTransport(refuse)) as callbacks:
        emulator = ViberEmulator(token=TOKEN, callback_client=callbacks)
        async with emulator.client() as http:
            channel = make_channel(emulator, http)
            with pytest.raises(ConfigurationError, match="could not connect") as caught:
                await channel.install("https://down.test/hook")
            assert "ConnectException" in str(caught.value)


@pytest.mark.parametrize(
    ("said", "explained"),
    [
        (
            "Result[HttpRequest[POST  HTTP/1.1]@2a3ca559 > HttpResponse[HTTP/1.1 419 unknown "
            "status]@20d79eb3] null",
            "answered HTTP 419 instead of 200",
        ),
        (
            "Result[HttpRequest[POST  HTTP/1.1]@1 > HttpResponse[null 0 null]@2] "
            "java.util.concurrent.TimeoutException: Total timeout 5000 ms elapsed",
            "did not answer in time",
        ),
        (
            "Result[HttpRequest[POST  HTTP/1.1]@1 > HttpResponse[null 0 null]@2] "
            "javax.net.ssl.SSLHandshakeException: PKIX path building failed",
            "did not trust the URL's HTTPS certificate",
        ),
        (None, "not reachable from Viber or did not answer 200"),
    ],
)
async def test_each_webhook_failure_viber_reports_is_explained(
    world: World, said: str | None, explained: str
) -> None:
    world.emulator.fail_next("set_webhook", status=1, status_message=said)
    with pytest.raises(ConfigurationError, match=explained):
        await world.channel.install(WEBHOOK_URL)


async def test_emulators_that_insist_on_https_refuse_plain_http(world: World) -> None:
    world.emulator.require_https = True
    with pytest.raises(ConfigurationError, match="http://bridge.test/hook"):
        await world.channel.install("http://bridge.test/hook")


async def test_uninstall_removes_the_webhook(installed: World) -> None:
    await installed.channel.uninstall()
    assert installed.emulator.webhook is None
    alice = installed.emulator.user()
    await alice.send_text("anyone?")
    await installed.emulator.drain()
    assert installed.app.events == [] and installed.emulator.callbacks[-1].gave_up


async def test_account_info_tells_name_and_webhook(installed: World) -> None:
    installed.emulator.user(subscribed=True)
    info = await installed.channel.account_info()
    assert info.name == "byoc emulator" and info.id.startswith("pa:")
    assert info.webhook == WEBHOOK_URL and info.subscribers_count == 1
    assert "message" in info.event_types


async def test_user_details_gives_a_profile_twice_per_12_hours(installed: World) -> None:
    alice = installed.emulator.user(name="Alice", language="uk", country="UA", subscribed=True)
    expected = Profile(name="Alice", language="uk", country="UA")
    assert await installed.channel.user_details(alice.id) == expected
    assert await installed.channel.user_details(alice.id) == expected
    with pytest.raises(RetryableError):
        await installed.channel.user_details(alice.id)
    await installed.clock.advance(12 * 3600)
    assert await installed.channel.user_details(alice.id) == expected


async def test_opening_the_chat_shows_the_welcome_message(installed: World) -> None:
    async with installed.emulator.client() as http:
        installed.app.channel = make_channel(
            installed.emulator, http, welcome_message="Hi! An agent will answer shortly."
        )
        alice = installed.emulator.user(name="Alice")
        await alice.open(context="ad-campaign")
        await installed.emulator.drain()
    [started] = events_of(installed.app, ConversationStarted)
    assert started.context == "ad-campaign" and not started.subscribed
    [welcome] = alice.received
    assert welcome.welcome and welcome.text == "Hi! An agent will answer shortly."
    assert welcome.body["sender"] == {"name": "Acme Support"} and "receiver" not in welcome.body


async def test_without_a_welcome_message_opening_the_chat_shows_nothing(installed: World) -> None:
    alice = installed.emulator.user()
    await alice.open()
    await installed.emulator.drain()
    assert alice.received == [] and len(events_of(installed.app, ConversationStarted)) == 1
