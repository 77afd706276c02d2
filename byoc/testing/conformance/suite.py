"""`ChannelConformance`: the contract of `byoc.Channel`, as a pytest class to subclass.

```python
class TestMyChat(ChannelConformance):
    @pytest.fixture
    def harness(self, world: ConformanceWorld) -> MyChatHarness:
        return MyChatHarness(world)
```

Every check is a method of this class, named after what it proves; a failure says which part
of the contract broke. Outbound checks go through `byoc.degrade.fit_message` first, as the
bridge does. Needs pytest, pytest-asyncio and hypothesis (the `conformance` extra).
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import AsyncIterator, Iterable
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from typing import Any

import attrs
import httpx
import pytest
import pytest_asyncio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ...channel import AccountCheck, Channel
from ...degrade import fit_message
from ...errors import (
    ConfigurationError,
    MediaTooLarge,
    PermanentError,
    RateLimited,
    RequestError,
    RetryableError,
    SignatureError,
    UserUnreachable,
)
from ...media import MediaPart
from ...models import (
    Buttons,
    ChannelEvent,
    Contact,
    File,
    Image,
    InboundMessage,
    Link,
    Location,
    OutboundMessage,
    Part,
    QuickReplies,
    QuickReply,
    SendResult,
    Sticker,
    Text,
    UrlButton,
    Video,
)
from ...webhook import WebhookRequest
from ..channel_endpoint import ChannelEndpoint
from .harness import ConformanceHarness
from .world import ConformanceWorld

__all__ = ["ChannelConformance", "deliver"]

INSTANCE = "second-account"
"""The instance name every checked channel runs under: not its kind, so nothing may assume
the kind's name."""

# One method runs for every channel's subclass (differing executors by design), reusing the
# harness across examples (function-scoped fixtures by design).
_FUZZ = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.differing_executors,
    ],
)
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)
_PNG = bytes.fromhex("89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489")
_JPEG = bytes.fromhex("ffd8ffe000104a46494600010100000100010000ffd9")
_MP4 = bytes.fromhex("000000186674797069736f6d0000020069736f6d6d703432") + b"\x00" * 64
_PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


async def deliver(channel: Channel, user_id: str, *parts: Part) -> SendResult:
    """Send `parts` to `user_id` the way the bridge does: fitted to the channel's
    capabilities (`fit_message`), then `channel.send`."""
    message = OutboundMessage(
        message_id=f"kit-{uuid.uuid4().hex}", conversation_id="c-kit", parts=parts
    )
    fitted, notes = fit_message(message, channel.capabilities)
    result = await channel.send(user_id, fitted)
    return attrs.evolve(result, notes=(*notes, *result.notes))


def _strings(value: Any) -> Iterable[str]:
    """Every string inside an event (attrs values, tuples), to check they encode as UTF-8."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, tuple | list):
        for item in value:
            yield from _strings(item)
    elif attrs.has(type(value)):
        for field in attrs.fields(type(value)):
            yield from _strings(getattr(value, field.name))


def _text_of(event: InboundMessage) -> str:
    return "".join(p.text for p in event.parts if isinstance(p, Text))


def _leaves(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """The paths to every value inside a JSON document."""
    found = [path]
    if isinstance(value, dict):
        for key, item in value.items():
            found += _leaves(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _leaves(item, (*path, index))
    return found


def _replaced(document: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(document, dict):
        return {**document, head: _replaced(document[head], rest, new)}
    copy = list(document)
    copy[head] = _replaced(copy[head], rest, new)
    return copy


class ChannelConformance:
    """Subclass it, and give a `harness` fixture built from the `world` fixture."""

    # -- fixtures -------------------------------------------------------------------------------

    @pytest_asyncio.fixture
    async def world(self) -> AsyncIterator[ConformanceWorld]:
        made = ConformanceWorld(INSTANCE)
        yield made
        await made.aclose()

    @pytest.fixture
    def harness(self, world: ConformanceWorld) -> ConformanceHarness:
        raise NotImplementedError(
            "give the conformance class a `harness` fixture: "
            "`def harness(self, world): return MyHarness(world)`"
        )

    @pytest_asyncio.fixture
    async def kit(
        self, harness: ConformanceHarness, world: ConformanceWorld
    ) -> AsyncIterator[ConformanceHarness]:
        channel = harness.channel
        assert channel.name == world.name, (
            f"the channel is named {channel.name!r}; build it as the instance the kit runs "
            f"(`.named(world.name)`, {world.name!r}), as the core names a second account"
        )
        channel.bind(world.store)
        world.serve(ChannelEndpoint(channel))
        try:
            yield harness
        finally:
            await harness.aclose()
            await channel.aclose()

    async def _parse(self, kit: ConformanceHarness, request: WebhookRequest) -> list[ChannelEvent]:
        events = list(await kit.channel.parse(request))
        for event in events:
            assert event.channel == kit.channel.name, (
                f"an event says channel={event.channel!r}; every event carries the instance's "
                f"name, channel.name ({kit.channel.name!r}), never a literal"
            )
            for text in _strings(event):
                text.encode("utf-8")  # a lone surrogate would fail every later step
            for secret in kit.secrets:
                assert secret not in repr(event), "a credential is in an event"
        return events

    async def _one_message(
        self, kit: ConformanceHarness, request: WebhookRequest
    ) -> InboundMessage:
        messages = [e for e in await self._parse(kit, request) if isinstance(e, InboundMessage)]
        assert len(messages) == 1, f"one message was sent, parse gave {messages}"
        return messages[0]

    async def _parses_or_refuses(self, kit: ConformanceHarness, request: WebhookRequest) -> None:
        try:
            await self._parse(kit, request)
        except RequestError as exc:
            assert exc.status_code in (400, 401, 413), exc
        # Anything else raised here is the failure: parse may raise nothing else, ever.

    # -- the contract's shape -------------------------------------------------------------------

    @pytest.mark.asyncio
    async def test_the_channel_declares_what_it_can_show(self, kit: ConformanceHarness) -> None:
        caps = kit.channel.capabilities
        assert Text in caps.send, "every channel can send text: the fallback of every part"
        assert caps.max_text_length is None or caps.max_text_length >= 1
        assert caps.receive is None, "Capabilities.receive is deprecated: drop it"

    @pytest.mark.asyncio
    async def test_credentials_are_checked_without_error(self, kit: ConformanceHarness) -> None:
        answer = await kit.channel.check()
        assert answer is None or isinstance(answer, AccountCheck)

    # -- inbound: signatures, parsing, dedupe ---------------------------------------------------

    @pytest.mark.asyncio
    async def test_a_signed_message_becomes_one_inbound_message(
        self, kit: ConformanceHarness
    ) -> None:
        message = await self._one_message(kit, kit.message("kit-alice", "hello 안녕 👋"))
        assert "hello 안녕 👋" in _text_of(message)
        again = await self._one_message(kit, kit.message("kit-alice", "and again"))
        other = await self._one_message(kit, kit.message("kit-bob", "hello"))
        assert again.user_id == message.user_id, "a user keeps their id"
        assert other.user_id != message.user_id, "two users, two ids"

    @pytest.mark.asyncio
    async def test_the_webhook_is_answered_2xx(self, kit: ConformanceHarness) -> None:
        request = kit.message("kit-alice", "hello")
        events = await self._parse(kit, request)
        answer = await kit.channel.ack(request, events)
        assert 200 <= answer.status < 300

    @pytest.mark.asyncio
    async def test_a_missing_signature_is_refused(self, kit: ConformanceHarness) -> None:
        with pytest.raises(SignatureError):
            await kit.channel.parse(kit.sign(kit.message("kit-alice", "hello"), "missing"))

    @pytest.mark.asyncio
    async def test_a_forged_signature_is_refused(self, kit: ConformanceHarness) -> None:
        with pytest.raises(SignatureError):
            await kit.channel.parse(kit.sign(kit.message("kit-alice", "hello"), "forged"))

    @pytest.mark.asyncio
    async def test_a_redelivered_message_keeps_its_id_and_a_new_one_gets_another(
        self, kit: ConformanceHarness
    ) -> None:
        request = kit.message("kit-alice", "same words")
        first = await self._one_message(kit, request)
        again = await self._one_message(kit, request)
        other = await self._one_message(kit, kit.message("kit-alice", "same words"))
        assert first.message_id == again.message_id, "the bridge dedupes on message_id"
        assert other.message_id != first.message_id, "two messages, two ids"

    @pytest.mark.asyncio
    async def test_half_an_emoji_is_repaired_not_refused(self, kit: ConformanceHarness) -> None:
        marker = "KITSURROGATE"
        request = kit.with_text_bytes(
            kit.message("kit-alice", f"cut {marker}"), marker.encode(), rb"\ud83d"
        )
        message = await self._one_message(kit, request)
        assert "cut \ufffd" in _text_of(message)

    @pytest.mark.asyncio
    @_FUZZ
    @given(text=st.text(min_size=1, max_size=200))
    async def test_any_text_is_parsed_into_valid_unicode(
        self, kit: ConformanceHarness, text: str
    ) -> None:
        await self._parses_or_refuses(kit, kit.message("kit-alice", text))

    @pytest.mark.asyncio
    @_FUZZ
    @given(body=st.binary(max_size=500))
    async def test_any_signed_bytes_are_events_or_a_request_error(
        self, kit: ConformanceHarness, body: bytes
    ) -> None:
        template = kit.message("kit-alice", "x")
        await self._parses_or_refuses(kit, kit.sign(attrs.evolve(template, body=body)))

    @pytest.mark.asyncio
    @_FUZZ
    @given(document=_JSON)
    async def test_any_signed_json_is_events_or_a_request_error(
        self, kit: ConformanceHarness, document: Any
    ) -> None:
        body = json.dumps(document).encode()
        template = kit.message("kit-alice", "x")
        await self._parses_or_refuses(kit, kit.sign(attrs.evolve(template, body=body)))

    @pytest.mark.asyncio
    @_FUZZ
    @given(data=st.data())
    async def test_a_message_with_any_field_changed_is_events_or_a_request_error(
        self, kit: ConformanceHarness, data: st.DataObject
    ) -> None:
        template = kit.message("kit-alice", "hello")
        try:
            document = json.loads(template.body)
        except ValueError:
            pytest.skip("the messenger's webhook body is not JSON")
        path = data.draw(st.sampled_from(_leaves(document)), label="path")
        changed = _replaced(document, path, data.draw(_JSON, label="value"))
        body = json.dumps(changed, ensure_ascii=False).encode()
        await self._parses_or_refuses(kit, kit.sign(attrs.evolve(template, body=body)))

    # -- outbound: delivery, splitting, degrading -----------------------------------------------

    @pytest.mark.asyncio
    async def test_a_reply_reaches_the_user(self, kit: ConformanceHarness) -> None:
        before = len(await kit.received(kit.recipient))
        await deliver(kit.channel, kit.recipient, Text(text="Hello! 안녕하세요 👋"))
        got = (await kit.received(kit.recipient))[before:]
        assert any("Hello! 안녕하세요 👋" in text for text in got), got

    @pytest.mark.asyncio
    async def test_a_long_reply_is_split_at_max_text_length(self, kit: ConformanceHarness) -> None:
        limit = kit.channel.capabilities.max_text_length
        if limit is None:
            pytest.skip("the channel declares no text limit")
        words = [f"w{n:05d}" for n in range(limit * 5 // 14 + 3)]  # about 2.5 messages
        before = len(await kit.received(kit.recipient))
        await deliver(kit.channel, kit.recipient, Text(text=" ".join(words)))
        got = (await kit.received(kit.recipient))[before:]
        assert len(got) >= 2, "a text over max_text_length arrives as several messages"
        assert all(len(text) <= limit for text in got), [len(text) for text in got]
        assert re.findall(r"w\d{5}", "".join(got)) == words, "every word, once, in order"

    @pytest.mark.parametrize(
        "make",
        [
            lambda m: Image(url=m.put("kit/photo.jpg", _JPEG), caption="the photo"),
            lambda m: Video(url=m.put("kit/clip.mp4", _MP4), size=len(_MP4), caption="the clip"),
            lambda m: File(url=m.put("kit/report.pdf", _PDF), name="report.pdf", size=len(_PDF)),
            lambda m: Location(lat=37.5665, lon=126.978, label="Seoul City Hall"),
            lambda m: Contact(name="Ji-soo Park", phone="+821012345678"),
            lambda m: Sticker(sticker_id="40133", url=m.put("kit/sticker.png", _PNG)),
            lambda m: Link(url="https://shop.example/orders/1234", title="Your order"),
            lambda m: Buttons(
                text="Track it", buttons=[UrlButton(label="Open", url="https://shop.example/t")]
            ),
            lambda m: QuickReplies(
                text="Anything else?", replies=[QuickReply(label="Yes"), QuickReply(label="No")]
            ),
        ],
        ids=[
            "image",
            "video",
            "file",
            "location",
            "contact",
            "sticker",
            "link",
            "buttons",
            "quick",
        ],
    )
    @pytest.mark.asyncio
    async def test_every_part_arrives_natively_or_as_text(
        self, kit: ConformanceHarness, world: ConformanceWorld, make: Any
    ) -> None:
        part: Part = make(world.media)
        before = len(await kit.received(kit.recipient))
        result = await deliver(kit.channel, kit.recipient, part)
        got = (await kit.received(kit.recipient))[before:]
        assert got or result.notes, f"{type(part).__name__} vanished without a note"
        if type(part) not in kit.channel.capabilities.send:
            assert result.notes, "a degraded part is named in the notes"

    # -- outbound: the upstream's failures ------------------------------------------------------

    async def _send_failing(
        self, kit: ConformanceHarness, world: ConformanceWorld, fault: Any
    ) -> Exception:
        with world.faults.answering(fault), pytest.raises(Exception) as caught:
            await deliver(kit.channel, kit.recipient, Text(text="are you there?"))
        assert world.faults.requests, "the channel made no call to its messenger"
        for secret in kit.secrets:
            assert secret not in str(caught.value), "a credential is in an error text"
        return caught.value

    @pytest.mark.asyncio
    async def test_throttling_is_rate_limited_with_the_seconds_to_wait(
        self, kit: ConformanceHarness, world: ConformanceWorld
    ) -> None:
        error = await self._send_failing(kit, world, lambda request: kit.throttled("7"))
        assert isinstance(error, RateLimited), f"a 429 is RateLimited, got {error!r}"
        assert error.retry_after == 7

    @pytest.mark.asyncio
    async def test_throttling_with_an_http_date_is_rate_limited_with_the_wait(
        self, kit: ConformanceHarness, world: ConformanceWorld
    ) -> None:
        later = format_datetime(datetime.now(timezone.utc) + timedelta(seconds=90), usegmt=True)
        error = await self._send_failing(kit, world, lambda request: kit.throttled(later))
        assert isinstance(error, RateLimited), f"a 429 is RateLimited, got {error!r}"
        assert error.retry_after is not None and 60 < error.retry_after <= 90

    @pytest.mark.parametrize("status", [500, 502, 503, 504])
    @pytest.mark.asyncio
    async def test_server_errors_are_retryable(
        self, kit: ConformanceHarness, world: ConformanceWorld, status: int
    ) -> None:
        error = await self._send_failing(
            kit, world, lambda request: httpx.Response(status, text="upstream trouble")
        )
        assert isinstance(error, RetryableError), f"HTTP {status} is retryable, got {error!r}"

    @pytest.mark.parametrize(
        "failure", [httpx.ReadTimeout, httpx.ConnectTimeout, httpx.ConnectError]
    )
    @pytest.mark.asyncio
    async def test_timeouts_and_connection_errors_are_retryable(
        self, kit: ConformanceHarness, world: ConformanceWorld, failure: type[httpx.TransportError]
    ) -> None:
        def fail(request: httpx.Request) -> httpx.Response:
            raise failure("no answer", request=request)

        error = await self._send_failing(kit, world, fail)
        assert isinstance(error, RetryableError), f"{failure.__name__} is retryable, got {error!r}"

    @pytest.mark.parametrize("status", [400, 409, 422])
    @pytest.mark.asyncio
    async def test_other_refusals_are_permanent(
        self, kit: ConformanceHarness, world: ConformanceWorld, status: int
    ) -> None:
        error = await self._send_failing(
            kit, world, lambda request: httpx.Response(status, json={"error": "refused"})
        )
        assert isinstance(error, PermanentError), f"HTTP {status} is permanent, got {error!r}"

    @pytest.mark.asyncio
    async def test_a_user_who_blocked_the_account_is_unreachable(
        self, kit: ConformanceHarness
    ) -> None:
        if not await kit.block(kit.recipient):
            pytest.skip("the harness cannot make a user block the account")
        with pytest.raises(UserUnreachable):
            await deliver(kit.channel, kit.recipient, Text(text="are you there?"))

    # -- install ---------------------------------------------------------------------------------

    @pytest.mark.asyncio
    async def test_install_and_uninstall_are_idempotent(
        self, kit: ConformanceHarness, world: ConformanceWorld
    ) -> None:
        first = await kit.channel.install(world.webhook_url)
        again = await kit.channel.install(world.webhook_url)
        assert first == again, "installing twice gives the same result"
        assert first.target_url.startswith(world.webhook_url)
        if first.registered:
            await self._webhook_is(kit, first.target_url)
        else:
            assert first.instructions, "a manual install says where to paste the URL"
        await kit.channel.uninstall()
        await kit.channel.uninstall()
        await self._webhook_is(kit, None)
        assert await kit.channel.install(world.webhook_url) == first

    async def _webhook_is(self, kit: ConformanceHarness, expected: str | None) -> None:
        answer = await kit.channel.check()
        if isinstance(answer, AccountCheck) and answer.reports_webhook:
            assert (answer.webhook or None) == expected

    # -- media -----------------------------------------------------------------------------------

    async def _media(self, kit: ConformanceHarness) -> tuple[MediaPart, bytes]:
        sample = kit.media_message("kit-alice")
        if sample is None:
            pytest.skip("the harness has no media message")
        request, data = sample
        message = await self._one_message(kit, request)
        parts = [p for p in message.parts if isinstance(p, Image | Video | File)]
        assert len(parts) == 1, f"one picture or file was sent, parse gave {message.parts}"
        for secret in kit.secrets:
            assert secret not in parts[0].url, "a credential is in a media URL"
        return parts[0], data

    @pytest.mark.asyncio
    async def test_media_is_fetched_with_the_channels_credentials(
        self, kit: ConformanceHarness, world: ConformanceWorld
    ) -> None:
        part, data = await self._media(kit)
        media = await kit.channel.fetch_media(part, max_bytes=len(data))
        if media is None:
            # No credential needed: the help desk fetches the URL itself, so it must work so.
            async with world.client() as http:
                response = await http.get(part.url)
            assert response.content == data
            return
        assert kit.channel.capabilities.media_urls_expire, (
            "fetch_media answers, but media_urls_expire is False: the bridge would post the "
            "URL instead of copying the file"
        )
        async with media:
            assert await media.read() == data

    @pytest.mark.asyncio
    async def test_media_over_the_size_asked_for_is_refused(self, kit: ConformanceHarness) -> None:
        part, data = await self._media(kit)
        try:
            media = await kit.channel.fetch_media(part, max_bytes=len(data) - 1)
            if media is None:
                pytest.skip("the help desk fetches this channel's media itself")
            async with media:
                await media.read()
        except MediaTooLarge:
            return
        pytest.fail("fetch_media read more than max_bytes")

    @pytest.mark.asyncio
    async def test_missing_settings_are_a_configuration_error_naming_one(
        self, kit: ConformanceHarness
    ) -> None:
        channel_class = type(kit.channel)
        if channel_class.from_env.__func__ is Channel.from_env.__func__:  # type: ignore[attr-defined]
            pytest.skip("the channel is not configured from the environment")
        # Anything but a ConfigurationError here would stop `byoc serve` with a traceback.
        with pytest.raises(ConfigurationError, match="BYOC_"):
            channel_class.from_env({})
