"""The `kakao` channel against the HappyTalk emulator, over HTTP."""

from __future__ import annotations

import json

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from byoc.errors import (
    ConfigurationError,
    PermanentError,
    RateLimited,
    RequestError,
    RetryableError,
    SignatureError,
)
from byoc.models import File, Image, InboundMessage, OutboundMessage, Part, Text, Video
from byoc.store import MemoryStore
from byoc.webhook import WebhookRequest
from byoc_kakao import HappyTalkDealer, KakaoDealerChannel

from .rig import WEBHOOK_SECRET, DealerRig, client_for

KOREAN = "배송이 언제 되나요? 😢 빨리 받고 싶어요 🙏🏻"


def reply(*parts: Part, message_id: str = "fc-1") -> OutboundMessage:
    return OutboundMessage(message_id=message_id, conversation_id="conv-1", parts=parts)


def inbound(rig: DealerRig) -> list[InboundMessage]:
    return [e for e in rig.endpoint.events if isinstance(e, InboundMessage)]


# -- inbound -----------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", ["message_type", "type"])
async def test_text_photo_and_file_arrive_in_both_spellings(dealer: DealerRig, shape: str) -> None:
    user = dealer.emulator.user("c0eUY5TATGz1")
    s1 = user.send_text(KOREAN, shape=shape)  # type: ignore[arg-type]
    s2 = user.send_photo(b"jpeg-bytes", shape=shape)  # type: ignore[arg-type]
    s3 = user.send_file(b"%PDF-1.7", name="견적서.pdf", shape=shape)  # type: ignore[arg-type]
    await dealer.emulator.drain()

    messages = {m.message_id: m for m in inbound(dealer)}
    assert set(messages) == {s1, s2, s3}
    assert all(m.user_id == "c0eUY5TATGz1" for m in messages.values())
    [text] = messages[s1].parts
    assert isinstance(text, Text) and text.text.encode() == KOREAN.encode()
    [photo] = messages[s2].parts
    assert isinstance(photo, Image)
    [document] = messages[s3].parts
    assert isinstance(document, File) and document.name == "견적서.pdf"

    async with client_for(dealer.emulator.app, dealer.emulator.base_url) as http:
        assert (await http.get(photo.url)).content == b"jpeg-bytes"
        assert (await http.get(document.url)).content == b"%PDF-1.7"


async def test_the_webhook_is_answered_the_way_happytalk_expects(dealer: DealerRig) -> None:
    dealer.emulator.user().send_text("hi")
    await dealer.emulator.drain()
    assert [d.status for d in dealer.emulator.deliveries] == [200]


@pytest.mark.parametrize("subpath", ["", "wrong-secret-0123456789abcdef", WEBHOOK_SECRET[:-1]])
async def test_a_missing_or_wrong_secret_path_is_401(dealer: DealerRig, subpath: str) -> None:
    dealer.emulator.webhook_url = f"http://bridge.test/channels/kakao/webhook/{subpath}"
    dealer.emulator.user().send_text("hi")
    await dealer.emulator.drain()
    assert [d.status for d in dealer.emulator.deliveries] == [401]
    assert dealer.endpoint.events == []


async def test_the_optional_header_secret_is_checked_too(store: MemoryStore) -> None:
    channel = KakaoDealerChannel(
        dealer=HappyTalkDealer(client_id="i", client_secret="s", sender_key="k"),
        webhook_secret=WEBHOOK_SECRET,
        header_secret="header-secret-0123456789",
        header_name="X-Dealer-Secret",
    )
    body = json.dumps({"user_key": "u", "serial_number": "1", "message": "hi"}).encode()
    good = WebhookRequest(
        body=body, subpath=WEBHOOK_SECRET, headers={"X-Dealer-Secret": "header-secret-0123456789"}
    )
    assert len(await channel.parse(good)) == 1
    for headers in ({}, {"X-Dealer-Secret": "header-secret-012345678X"}):
        with pytest.raises(SignatureError):
            await channel.parse(WebhookRequest(body=body, subpath=WEBHOOK_SECRET, headers=headers))
    await channel.aclose()


async def test_secrets_are_compared_in_constant_time(
    dealer: DealerRig, monkeypatch: pytest.MonkeyPatch
) -> None:
    import byoc_kakao.shared_secret as shared_secret

    calls: list[tuple[bytes, bytes]] = []
    real = shared_secret.hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(shared_secret.hmac, "compare_digest", spy)
    body = b'{"user_key":"u","serial_number":"1","message":"hi"}'
    with pytest.raises(SignatureError):
        await dealer.channel.parse(WebhookRequest(body=body, subpath="nope"))
    assert calls == [(b"nope", WEBHOOK_SECRET.encode())]


async def test_redeliveries_keep_the_serial_number_as_message_id(dealer: DealerRig) -> None:
    dealer.emulator.webhook_retries = 2
    dealer.emulator.duplicate_deliveries = 1
    dealer.endpoint.fail_next = [503]
    serial = dealer.emulator.user().send_text("한 번만")
    await dealer.clock.wait_for_sleepers()  # the dealer waits before retrying
    await dealer.clock.advance(dealer.emulator.retry_delay)
    await dealer.emulator.drain()
    statuses = [(d.attempt, d.status, d.duplicate) for d in dealer.emulator.deliveries]
    assert statuses == [(1, 503, False), (2, 200, False), (1, 200, True)]
    assert [m.message_id for m in inbound(dealer)] == [serial, serial]  # the bridge dedupes


async def test_retries_wait_on_the_injected_clock(dealer: DealerRig) -> None:
    dealer.emulator.webhook_retries = 3
    dealer.emulator.retry_delay = 10
    dealer.endpoint.fail_next = [500, 500, 500, 500]
    dealer.emulator.user().send_text("hi")
    for attempt, delay in enumerate((10, 20, 30), start=1):
        await dealer.clock.wait_for_sleepers()
        assert len(dealer.emulator.deliveries) == attempt
        await dealer.clock.advance(delay - 0.5)
        assert len(dealer.emulator.deliveries) == attempt  # not before its time
        await dealer.clock.advance(0.5)
    await dealer.emulator.drain()
    assert len(dealer.emulator.deliveries) == 4
    assert dealer.clock.sleeps == [10, 20, 30]


async def test_bad_bodies_are_400_never_a_crash(dealer: DealerRig) -> None:
    async with client_for(dealer.endpoint, "http://bridge.test") as http:
        for body in (b"", b"[1]", b"{", b'{"user_key": 1}', b"[" * 100_000):
            answer = await http.post(dealer.webhook_url, content=body)
            assert answer.status_code == 400, body[:10]


@settings(max_examples=200)
@given(
    st.binary()
    | st.dictionaries(
        st.sampled_from(
            ["user_key", "serial_number", "message_type", "type", "message", "content"]
        ),
        st.text() | st.integers() | st.none() | st.lists(st.text(), max_size=2),
    ).map(lambda d: json.dumps(d).encode())
)
async def test_any_body_gives_events_or_a_request_error(body: bytes) -> None:
    channel = KakaoDealerChannel(
        dealer=HappyTalkDealer(client_id="i", client_secret="s", sender_key="k"),
        webhook_secret=WEBHOOK_SECRET,
    )
    try:
        events = await channel.parse(WebhookRequest(body=body, subpath=WEBHOOK_SECRET))
    except RequestError:
        return
    assert all(isinstance(e, InboundMessage) for e in events)


# -- outbound ----------------------------------------------------------------------------------


async def test_a_reply_reaches_the_user_split_at_1000_characters(dealer: DealerRig) -> None:
    text = ("상담원 답변입니다. 확인해 보니 내일 도착 예정이에요 😊 " * 80).strip()  # 2,639 units
    result = await dealer.channel.send("c0eUY5TATGz1", reply(Text(text=text)))
    received = dealer.emulator.user("c0eUY5TATGz1").received
    assert len(received) == len(result.message_ids) == 3
    assert [m.serial_number for m in received] == list(result.message_ids)
    assert "".join(m.message or "" for m in received) == text


JPEG = b"\xff\xd8\xff\xe0 a photo"
PDF = b"%PDF-1.7 guide"


async def test_images_and_files_are_uploaded_to_kakao_then_sent_as_im_and_fi(
    dealer: DealerRig,
) -> None:
    photo = dealer.cdn.put("a.jpg", JPEG)
    guide = dealer.cdn.put("b.pdf", PDF)
    clip = dealer.cdn.put("how-to.mp4", b"\x00\x00\x00\x18ftypmp42")
    await dealer.channel.send(
        "u1",
        reply(
            Image(url=photo),
            File(url=guide, name="안내문.pdf"),
            Video(url=clip, caption="사용법"),
        ),
    )
    image, document, video, caption = dealer.emulator.sent
    uploads = dealer.emulator.uploads
    assert image.message_type == "IM" and image.image_url in uploads
    assert uploads[image.image_url].data == JPEG and uploads[image.image_url].kind == "image"
    assert (document.message_type, document.file_name, document.file_size) == (
        "FI",
        "안내문.pdf",
        len(PDF),
    )
    assert document.file_url in uploads and uploads[document.file_url].file_type == "file"
    assert video.message_type == "FI" and video.file_name == "how-to.mp4"
    assert video.file_url in uploads and uploads[video.file_url].file_type == "video"
    assert caption.message == "사용법"
    # Only Kakao-stored media go out: the emulator refuses any other URL.
    assert all(url.startswith("http://happytalk.test/dn/") for url in uploads)


async def test_media_that_cannot_be_uploaded_goes_as_its_link(dealer: DealerRig) -> None:
    big = dealer.cdn.put("poster.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * (5 * 1024 * 1024))
    not_a_picture = dealer.cdn.put("fake.jpg", b"just text")
    gone = "https://cdn.example.com/removed.pdf"
    await dealer.channel.send(
        "u1", reply(Image(url=big), Image(url=not_a_picture), File(url=gone, name="r.pdf"))
    )
    assert [(m.message_type, m.message) for m in dealer.emulator.sent] == [
        ("TX", big),
        ("TX", not_a_picture),
        ("TX", f"r.pdf\n{gone}"),
    ]
    assert dealer.emulator.uploads == {}


async def test_a_retry_after_a_partial_failure_sends_only_the_rest(dealer: DealerRig) -> None:
    photo = dealer.cdn.put("a.jpg", JPEG)
    message = reply(Text(text="첫 번째"), Image(url=photo), Text(text="세 번째"))
    dealer.emulator.fail_next(status=503, after=1)
    with pytest.raises(RetryableError):
        await dealer.channel.send("u1", message)
    assert [m.message for m in dealer.emulator.sent] == ["첫 번째"]

    result = await dealer.channel.send("u1", message)
    assert [m.message_type for m in dealer.emulator.sent] == ["TX", "IM", "TX"]
    assert len(result.message_ids) == 3


async def test_a_message_with_nothing_to_show_says_so(dealer: DealerRig) -> None:
    result = await dealer.channel.send("u1", reply(Text(text="   ")))
    assert result.message_ids == ()
    assert result.notes and dealer.emulator.sent == []


@pytest.mark.parametrize(
    ("status", "code", "message", "error", "names"),
    [
        (401, -401, "unauthorized", ConfigurationError, "BYOC_KAKAO_CLIENT_SECRET"),
        (403, None, "", ConfigurationError, "BYOC_KAKAO_CLIENT_ID"),
        (
            200,
            -501,
            "InvalidSenderException(senderKey: x)",
            ConfigurationError,
            "BYOC_KAKAO_SENDER_KEY",
        ),
        (500, None, "", RetryableError, ""),
        (503, -1, "maintenance", RetryableError, ""),
        (400, -400, "message is required", PermanentError, ""),
        (200, -100, "blocked user", PermanentError, ""),
    ],
)
async def test_dealer_answers_map_to_byoc_errors(
    dealer: DealerRig,
    status: int,
    code: int | None,
    message: str,
    error: type[Exception],
    names: str,
) -> None:
    dealer.emulator.fail_next(status=status, code=code, message=message)
    with pytest.raises(error) as caught:
        await dealer.channel.send("u1", reply(Text(text="hi")))
    assert names in str(caught.value)
    # The payload was released: once the dealer is fine again the retry goes out.
    await dealer.channel.send("u1", reply(Text(text="hi")))
    assert len(dealer.emulator.sent) == 1


async def test_throttling_is_rate_limited_with_retry_after() -> None:
    def throttled(request: httpx.Request) -> httpx.Response:
        return httpx.Response(429, headers={"Retry-After": "7"}, json={"code": -429})

    async with httpx.AsyncClient(transport=httpx.MockTransport(throttled)) as http:
        dealer = HappyTalkDealer(client_id="i", client_secret="s", sender_key="k", http=http)
        channel = KakaoDealerChannel(dealer=dealer, webhook_secret=WEBHOOK_SECRET)
        with pytest.raises(RateLimited) as caught:
            await channel.send("u1", reply(Text(text="hi")))
    assert caught.value.retry_after == 7.0


async def test_timeouts_and_unreachable_dealers_are_retryable() -> None:
    def timeout(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    def refused(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    for handler in (timeout, refused):
        async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
            dealer = HappyTalkDealer(client_id="i", client_secret="s", sender_key="k", http=http)
            with pytest.raises(RetryableError):
                await KakaoDealerChannel(dealer=dealer, webhook_secret=WEBHOOK_SECRET).send(
                    "u1", reply(Text(text="hi"))
                )


async def test_the_client_credentials_and_sender_key_reach_happytalk() -> None:
    seen: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"code": 0})

    async with httpx.AsyncClient(transport=httpx.MockTransport(record)) as http:
        dealer = HappyTalkDealer(
            client_id="cid", client_secret="csecret", sender_key="skey", http=http
        )
        await KakaoDealerChannel(dealer=dealer, webhook_secret=WEBHOOK_SECRET).send(
            "u1", reply(Text(text=KOREAN))
        )
    [request] = seen
    assert str(request.url) == "https://kakao-api.happytalk.io/v1/chat/write"
    assert request.headers["HT-Client-Id"] == "cid"
    assert request.headers["HT-Client-Secret"] == "csecret"
    body = json.loads(request.content)
    assert body["sender_key"] == "skey" and body["message"] == KOREAN
    assert len(body["serial_number"]) <= 30


# -- session end, install, settings ------------------------------------------------------------


async def test_end_session_ends_the_users_consultation(dealer: DealerRig) -> None:
    user = dealer.emulator.user("c0eUY5TATGz1")
    user.send_text("상담 부탁드려요")
    await dealer.emulator.drain()
    session = await dealer.channel.end_session("c0eUY5TATGz1")
    assert session is not None
    assert dealer.emulator.ended_sessions == ["c0eUY5TATGz1"]
    assert await dealer.channel.end_session("c0eUY5TATGz1") is None  # nothing open any more


async def test_install_appends_the_secret_to_the_url_to_paste(
    dealer: DealerRig,
) -> None:
    result = await dealer.channel.install("https://bridge.example.com/channels/kakao/webhook/")
    assert (
        result.target_url == f"https://bridge.example.com/channels/kakao/webhook/{WEBHOOK_SECRET}"
    )
    assert result.registered is False
    assert "HappyTalk" in result.instructions


def test_from_env_builds_a_happytalk_channel() -> None:
    channel = KakaoDealerChannel.from_env(
        {
            "BYOC_KAKAO_CLIENT_ID": "cid",
            "BYOC_KAKAO_CLIENT_SECRET": "cs",
            "BYOC_KAKAO_SENDER_KEY": "sk",
            "BYOC_KAKAO_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "BYOC_KAKAO_DEALER_API_URL": "http://127.0.0.1:8091",
        }
    )
    assert isinstance(channel.dealer, HappyTalkDealer)
    assert channel.dealer.api_url == "http://127.0.0.1:8091"
    assert channel.header_secret is None


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({}, "BYOC_KAKAO_WEBHOOK_SECRET"),
        ({"BYOC_KAKAO_WEBHOOK_SECRET": "short"}, "BYOC_KAKAO_WEBHOOK_SECRET"),
        ({"BYOC_KAKAO_WEBHOOK_SECRET": "has/slash-0123456789abcdef"}, "BYOC_KAKAO_WEBHOOK_SECRET"),
        ({"BYOC_KAKAO_WEBHOOK_SECRET": WEBHOOK_SECRET}, "BYOC_KAKAO_CLIENT_ID"),
        (
            {"BYOC_KAKAO_WEBHOOK_SECRET": WEBHOOK_SECRET, "BYOC_KAKAO_DEALER": "nobody"},
            "BYOC_KAKAO_DEALER",
        ),
    ],
)
def test_from_env_names_the_setting_to_fix(env: dict[str, str], named: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        KakaoDealerChannel.from_env(env)
    assert named in str(caught.value)
