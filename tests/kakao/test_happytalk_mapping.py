"""HappyTalk's wire format ↔ byoc parts, without HTTP."""

import json
import string
from datetime import datetime, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from byoc.errors import MalformedPayload, PermanentError, RequestError
from byoc.models import (
    Buttons,
    Contact,
    File,
    Image,
    Link,
    Location,
    OutboundMessage,
    Part,
    QuickReplies,
    QuickReply,
    Sticker,
    Text,
    UrlButton,
    Video,
)
from byoc_kakao.chunking import kakao_length
from byoc_kakao.dealers import MediaUpload
from byoc_kakao.dealers.happytalk import (
    Stored,
    outbound_payloads,
    parse_webhook,
    serial_prefix,
    uploaded_body,
)
from byoc_kakao.testing import write_problem

SENDER = "3fd538ef7218a14a63e51ba47e83c76e1ff5ab62"
KOREAN = "안녕하세요, 주문한 상품이 아직 안 왔어요 😢🙏 👨‍👩‍👧"


def one(payload: dict[str, Any]) -> Part:
    [message] = parse_webhook(payload, channel="kakao", sender_key=SENDER)
    [part] = message.parts
    return part


def test_documented_text_webhook() -> None:
    payload = {
        "user_key": "c0eUY5TATGz1",
        "sender_key": SENDER,
        "serial_number": "291278922214444814881143",
        "message_type": "TX",
        "message": KOREAN,
    }
    [message] = parse_webhook(payload, channel="kakao", sender_key=SENDER)
    assert message.channel == "kakao"
    assert message.user_id == "c0eUY5TATGz1"
    assert message.message_id == "291278922214444814881143"
    assert message.parts == (Text(text=KOREAN),)
    assert message.parts[0].text.encode() == KOREAN.encode()  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ({"type": "text", "content": KOREAN}, Text(text=KOREAN)),
        (
            {"type": "photo", "content": "https://dn.kakao.com/p.jpg"},
            Image(url="https://dn.kakao.com/p.jpg"),
        ),
        (
            {"type": "photo", "content": {"url": "https://dn.kakao.com/p.jpg"}},
            Image(url="https://dn.kakao.com/p.jpg"),
        ),
        (
            {
                "type": "file",
                "content": {"url": "https://dn.kakao.com/a/%EA%B3%84%EC%95%BD.pdf", "size": 1234},
            },
            File(url="https://dn.kakao.com/a/%EA%B3%84%EC%95%BD.pdf", name="계약.pdf", size=1234),
        ),
        (
            {"message_type": "IM", "image_url": "https://dn.kakao.com/p.jpg"},
            Image(url="https://dn.kakao.com/p.jpg"),
        ),
        (
            {
                "message_type": "FI",
                "file_url": "https://x.kr/f",
                "file_name": "견적서.xlsx",
                "file_size": "77",
            },
            File(url="https://x.kr/f", name="견적서.xlsx", size=77),
        ),
        (
            {"message_type": "im", "content": {"url": "https://x.kr/i.png"}},
            Image(url="https://x.kr/i.png"),
        ),
        ({"message": "기본은 텍스트"}, Text(text="기본은 텍스트")),
        ({"message_type": "LI", "message": "링크 https://x.kr"}, Text(text="링크 https://x.kr")),
        ({"message_type": "ZZ", "content": "https://x.kr/page"}, Link(url="https://x.kr/page")),
        (
            {"type": "video", "content": {"url": "https://x.kr/v.mp4"}},
            Video(url="https://x.kr/v.mp4"),
        ),
        (
            {"type": "audio", "content": {"url": "https://x.kr/voice.m4a"}},
            File(url="https://x.kr/voice.m4a", name="voice.m4a", mime_type="audio/mp4"),
        ),
        (
            {"message_type": "AU", "audio_url": "https://x.kr/a", "file_name": "녹음"},
            File(url="https://x.kr/a", name="녹음", mime_type="audio/mp4"),
        ),
    ],
)
def test_both_spellings_of_every_shape(payload: dict[str, Any], expected: Part) -> None:
    base = {"user_key": "u1", "sender_key": SENDER, "serial_number": 42, "session_id": "s1"}
    assert one({**base, **payload}) == expected


def test_time_in_milliseconds_seconds_and_iso() -> None:
    base = {"user_key": "u", "serial_number": "1", "message": "hi"}
    expected = datetime(2025, 9, 19, 3, 0, tzinfo=timezone.utc)
    for value in (
        1758250800000,
        1758250800,
        "1758250800000",
        "2025-09-19T12:00:00+09:00",
        "2025-09-19 12:00:00",
    ):
        [message] = parse_webhook({**base, "time": value}, channel="kakao")
        assert message.timestamp == expected, value


def test_odd_digits_in_sizes_and_times_are_ignored_not_fatal() -> None:
    payload = {"user_key": "u", "serial_number": "1", "time": "²", "message_type": "FI"}
    [message] = parse_webhook(
        {**payload, "file_url": "https://x.kr/f", "file_size": "²"}, channel="kakao"
    )
    assert message.parts == (File(url="https://x.kr/f", name="f"),)


def test_an_empty_text_is_no_event() -> None:
    assert (
        parse_webhook({"user_key": "u", "serial_number": "1", "message": ""}, channel="kakao") == []
    )


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"user_key": "u"},
        {"serial_number": "1", "message": "x"},
        {"user_key": ["u"], "serial_number": "1", "message": "x"},
        {"user_key": "u", "serial_number": True, "message": "x"},
        {"user_key": "u", "serial_number": "1", "message_type": 3},
        {"user_key": "u", "serial_number": "1", "message": 5},
        {"user_key": "u", "serial_number": "1", "message_type": "IM"},
        {"user_key": "u", "serial_number": "1", "type": "photo", "content": "file:///etc/passwd"},
        {"user_key": "u", "serial_number": "1", "content": 12},
        {"user_key": "u", "serial_number": "1", "message_type": "ZZ"},
        {"user_key": "u", "serial_number": "1", "message": "x", "sender_key": "someone-else"},
        {"user_key": "u", "serial_number": "1", "type": "photo", "content": "http://[::1/a.jpg"},
    ],
)
def test_malformed_webhooks_raise_malformed_payload(payload: dict[str, Any]) -> None:
    with pytest.raises(MalformedPayload):
        parse_webhook(payload, channel="kakao", sender_key=SENDER)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(), children, max_size=3)
    ),
    max_leaves=10,
)
tricky = st.sampled_from(["²", "١٢٣", "http://[::1/x", "https://x.kr/a.jpg", "", " ", "NaN"])
json_values = json_values | tricky
webhook_like = st.fixed_dictionaries(
    {},
    optional={
        "user_key": st.text() | st.integers() | json_values,
        "sender_key": st.just(SENDER) | st.text(),
        "serial_number": st.text() | st.integers() | json_values,
        "message_type": st.sampled_from(["TX", "IM", "FI", "LI", "VI", "tx"])
        | st.text()
        | json_values,
        "type": st.sampled_from(["text", "photo", "file"]) | json_values,
        "message": st.text() | json_values,
        "content": st.text() | st.fixed_dictionaries({"url": st.text()}) | json_values,
        "image_url": st.sampled_from(["https://x.kr/a.jpg", "ftp://x"]) | json_values,
        "file_url": st.text() | json_values,
        "file_name": st.text() | json_values,
        "file_size": st.integers() | json_values,
        "time": st.integers() | st.floats() | st.text() | json_values,
    },
)


@settings(max_examples=300)
@given(webhook_like)
def test_any_webhook_body_gives_messages_or_malformed_payload(payload: dict[str, Any]) -> None:
    try:
        messages = parse_webhook(payload, channel="kakao", sender_key=SENDER)
    except RequestError:
        return
    for message in messages:
        assert message.user_id and message.message_id and message.parts


# -- outbound ----------------------------------------------------------------------------------


def message(*parts: Part, message_id: str = "fc-msg-1") -> OutboundMessage:
    return OutboundMessage(message_id=message_id, conversation_id="c1", parts=parts)


def bodies(*parts: Part) -> list[dict[str, Any]]:
    result = outbound_payloads("c0eUY5TATGz1", SENDER, message(*parts))
    return [dict(p.body) for p in result.payloads]


def test_long_text_splits_into_1000_character_messages() -> None:
    text = ("상담원 답변입니다 😀 " * 200).strip()
    sent = bodies(Text(text=text))
    assert len(sent) == 3
    assert all(b["message_type"] == "TX" and kakao_length(b["message"]) <= 1000 for b in sent)
    assert "".join(b["message"] for b in sent) == text


def test_images_files_and_videos_are_uploaded_then_sent_as_im_and_fi() -> None:
    result = outbound_payloads(
        "c0eUY5TATGz1",
        SENDER,
        message(
            Image(url="https://cdn.example.com/a.png", caption="사진 설명"),
            File(url="https://cdn.example.com/견적서.pdf", name="견적서.pdf", size=2048),
            Video(url="https://cdn.example.com/v/clip.mp4"),
            File(url="https://cdn.example.com/call.m4a", name="녹음.m4a"),
        ),
    )
    image, caption, document, video, audio = result.payloads
    assert dict(image.body) | {"serial_number": None} == {
        "user_key": "c0eUY5TATGz1",
        "sender_key": SENDER,
        "serial_number": None,
        "message_type": "IM",
    }
    assert image.upload == MediaUpload(
        url="https://cdn.example.com/a.png", kind="image", name="a.png"
    )
    assert caption.body["message"] == "사진 설명" and caption.upload is None
    assert document.body["message_type"] == "FI"
    assert document.upload == MediaUpload(
        url="https://cdn.example.com/견적서.pdf", kind="file", name="견적서.pdf"
    )
    assert video.upload is not None and video.upload.file_type == "video"
    assert video.upload.name == "clip.mp4"
    assert audio.upload is not None and audio.upload.file_type == "audio"
    assert result.notes == ()


def test_the_stored_copy_completes_the_body() -> None:
    [payload] = outbound_payloads(
        "u1", SENDER, message(File(url="https://x.kr/a.pdf", name="a.pdf"))
    ).payloads
    assert payload.upload is not None
    stored = Stored(url="http://dn.kakao.test/f/a.pdf", name="a.pdf", size=77)
    body = uploaded_body(payload.body, payload.upload, stored)
    assert (body["file_url"], body["file_name"], body["file_size"]) == (stored.url, "a.pdf", 77)
    assert write_problem(body) is None


def test_everything_else_degrades_to_text_with_notes() -> None:
    result = outbound_payloads(
        "u1",
        SENDER,
        message(
            Location(lat=37.5665, lon=126.978, label="서울시청"),
            Contact(name="고객센터", phone="1588-0000"),
            Buttons(text="더 보기", buttons=[UrlButton(label="홈", url="https://x.kr")]),
            QuickReplies(text="선택", replies=[QuickReply(label="예"), QuickReply(label="아니요")]),
            Sticker(sticker_id="s1"),
        ),
    )
    texts = [p.body["message"] for p in result.payloads]
    assert texts[0].startswith("서울시청\nhttps://map.kakao.com/link/map/")
    assert texts[1] == "고객센터\n1588-0000"
    assert texts[2] == "더 보기\n홈: https://x.kr"
    assert texts[3] == "선택\n- 예\n- 아니요"
    assert texts[4] == "(스티커)"
    assert len(result.notes) == 3


def test_serial_numbers_are_stable_per_message_and_unique_per_payload() -> None:
    first = outbound_payloads("u1", SENDER, message(Text(text="a " * 900)))
    again = outbound_payloads("u1", SENDER, message(Text(text="a " * 900)))
    other = outbound_payloads("u1", SENDER, message(Text(text="a"), message_id="fc-msg-2"))
    assert [p.serial for p in first.payloads] == [p.serial for p in again.payloads]
    assert len({p.serial for p in first.payloads}) == len(first.payloads) == 2
    assert other.payloads[0].serial.split("-")[0] != first.payloads[0].serial.split("-")[0]
    assert serial_prefix("u1", "fc-msg-1") == first.payloads[0].serial.split("-")[0]


def test_a_user_key_over_20_characters_is_refused() -> None:
    with pytest.raises(PermanentError):
        outbound_payloads("x" * 21, SENDER, message(Text(text="hi")))


urls = st.builds(lambda path: f"https://cdn.example.com/{path}", st.text(min_size=1, max_size=1200))
parts = st.one_of(
    st.builds(Text, text=st.text(max_size=3000)),
    st.builds(Image, url=urls, caption=st.text(max_size=1200)),
    st.builds(File, url=urls, name=st.text(max_size=1200), size=st.none() | st.integers(0, 10**9)),
    st.builds(
        Video, url=urls, caption=st.text(max_size=200), size=st.none() | st.integers(0, 10**9)
    ),
    st.builds(Link, url=urls, title=st.none() | st.text(max_size=200)),
    st.builds(
        Location,
        lat=st.floats(-90, 90),
        lon=st.floats(-180, 180),
        label=st.none() | st.text(max_size=100),
    ),
    st.builds(Contact, name=st.text(max_size=100), phone=st.text(max_size=30)),
    st.builds(Sticker, sticker_id=st.text(min_size=1), url=st.none() | urls),
    st.builds(
        Buttons,
        buttons=st.lists(st.builds(UrlButton, label=st.text(max_size=40), url=urls), max_size=12),
        text=st.text(max_size=500),
    ),
    st.builds(
        QuickReplies,
        replies=st.lists(st.builds(QuickReply, label=st.text(max_size=40)), max_size=14),
        text=st.text(max_size=500),
    ),
)
outbound = st.builds(
    OutboundMessage,
    message_id=st.text(min_size=1, max_size=80),
    conversation_id=st.text(),
    parts=st.lists(parts, max_size=6),
)


@settings(max_examples=200)
@given(st.text(alphabet=string.ascii_letters + string.digits, min_size=1, max_size=20), outbound)
def test_any_outbound_message_gives_payloads_within_every_limit(
    user_key: str, msg: OutboundMessage
) -> None:
    result = outbound_payloads(user_key, SENDER, msg)
    serials = [p.serial for p in result.payloads]
    assert len(set(serials)) == len(serials)
    for payload in result.payloads:
        body = payload.body
        if payload.upload is not None:
            stored = Stored(url="https://dn.kakao.test/" + "x" * 900, size=1)
            body = uploaded_body(body, payload.upload, stored)
            assert body["message_type"] == ("IM" if payload.upload.kind == "image" else "FI")
        assert write_problem(body) is None, body
        assert payload.body["serial_number"] == payload.serial
        json.dumps(payload.body, ensure_ascii=False).encode()  # serialisable as UTF-8


@given(st.lists(st.sampled_from(list(KOREAN + " \n")), max_size=2500).map("".join))
def test_korean_and_emoji_reach_the_dealer_byte_for_byte(text: str) -> None:
    result = outbound_payloads("u1", SENDER, message(Text(text=text)))
    sent = "".join(p.body["message"] for p in result.payloads)
    if text.strip():
        assert text.strip() in sent
        assert sent.encode() in text.encode()
