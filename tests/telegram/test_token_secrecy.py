"""The bot token is in every Bot API URL (`/bot<token>/<method>`): no error text, log line of
byoc's or dead letter carries it, even when Telegram, a proxy or the network quotes it back."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import httpx
import pytest

from byoc.errors import ConfigurationError, PermanentError, RateLimited, RetryableError
from byoc.models import Text
from byoc.redaction import MASK, RedactingFormatter, Redactor
from byoc.testing.rig import BridgeRig
from byoc_telegram import BadRequest, TelegramChannel
from byoc_telegram.testing import TelegramUser

from .conftest import SECRET, World
from .roundtrip import Trip, build_trip
from .test_send import send


@pytest.fixture
def bob(world: World) -> TelegramUser:
    return world.emulator.user("Bob")


@pytest.mark.parametrize(
    ("code", "error"),
    [(400, BadRequest), (401, ConfigurationError), (429, RateLimited), (500, RetryableError)],
)
async def test_a_description_quoting_the_token_is_blanked_out(
    world: World, bob: TelegramUser, code: int, error: type[Exception]
) -> None:
    token = world.emulator.token
    # A Bot API server of one's own (or a proxy) that quotes the request it refuses.
    world.emulator.fail_next(
        "sendMessage",
        code,
        f"Bad Request: POST /bot{token}/sendMessage refused for token {token}\n\tsee logs",
    )
    with pytest.raises(error) as caught:
        await send(world, bob, Text(text="hello"))
    text = str(caught.value)
    assert token not in text and token.split(":")[1] not in text
    assert f"refused for token {MASK}" in text and "\n" not in text
    assert text.startswith(f"Telegram sendMessage answered {code}: ")
    # A 5xx comes from a proxy's error page (`<h1>500 ...</h1>`), quoted the same way.
    assert f"Bad Request: POST /bot{MASK}/sendMessage" in text


async def test_a_long_description_is_one_short_line(world: World, bob: TelegramUser) -> None:
    world.emulator.fail_next("sendMessage", 400, "Bad Request: " + "x" * 5000)
    with pytest.raises(BadRequest) as caught:
        await send(world, bob, Text(text="hello"))
    assert len(str(caught.value)) < 400 and str(caught.value).endswith("…")


async def test_a_network_error_quoting_the_url_is_blanked_out() -> None:
    token = "123456789:AAHkOUQ8nVEXAMPLEtokenPART0123456789"

    def refuse(request: httpx.Request) -> httpx.Response:
        # What a proxy's or a resolver's error may say: the whole URL, token and all.
        raise httpx.ConnectError(f"cannot connect to {request.url}", request=request)

    async with httpx.AsyncClient(transport=httpx.MockTransport(refuse)) as http:
        channel = TelegramChannel(bot_token=token, webhook_secret=SECRET, http=http)
        for call in (channel.check(), channel.install("https://bridge.example.com/x")):
            with pytest.raises(RetryableError) as caught:
                await call
            assert token not in str(caught.value) and "/bot" + MASK in str(caught.value)


@pytest.fixture
async def trip() -> AsyncIterator[Trip]:
    async with BridgeRig() as rig:
        yield await build_trip(rig, delivery="durable")


async def test_a_dead_letter_and_the_logs_never_carry_the_token(
    trip: Trip, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    token = trip.telegram.token
    user, conversation = await trip.started()
    trip.telegram.fail_next("sendMessage", 400, f"Bad Request: chat not found (bot{token})")

    await trip.rig.freshchat.agent_reply(conversation, "are you still there?")
    await trip.settle()

    (dead,) = await trip.rig.bridge.dead_letters()
    error = dead.job.attempts[-1].error
    assert (
        error
        == f"BadRequest: Telegram sendMessage answered 400: Bad Request: chat not found (bot{MASK})"
    )
    assert token not in dead.reason
    ours = [r for r in caplog.records if r.name.startswith("byoc")]
    assert any("chat not found" in r.getMessage() for r in ours)
    assert not [r.getMessage() for r in ours if token in r.getMessage()]
    # httpx logs each request's URL, token and all; `byoc serve` formats every line through
    # the settings' redactor, which blanks it out.
    formatter = RedactingFormatter(Redactor.from_settings({"BYOC_TELEGRAM_BOT_TOKEN": token}))
    shown = [formatter.format(r) for r in caplog.records]
    assert any(f"/bot{MASK}/sendMessage" in line for line in shown)
    assert not [line for line in shown if token in line]


async def test_a_file_that_cannot_be_fetched_is_named_by_its_id_not_its_url(
    world: World,
) -> None:
    alice = world.emulator.user("Alice")
    update = await world.emulator.send_media(alice, "document", b"%PDF-1.4", file_name="a.pdf")
    await world.emulator.drain()
    [event] = world.endpoint.events
    [part] = event.parts
    assert "document" in update["message"]
    token = world.emulator.token
    world.emulator.fail_next("getFile", 400, f"Bad Request: wrong file_id for bot{token}")
    with pytest.raises(PermanentError) as caught:
        await world.channel.fetch_media(part, max_bytes=10**6)
    assert world.emulator.token not in str(caught.value)
    assert "wrong file_id" in str(caught.value)
