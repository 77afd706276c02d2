"""Validly signed random callbacks through the whole bridge: 2xx or 4xx, and no crashed delivery.

Signing with the bot's token gets every body past the signature check, so the parser, the queue,
the sync and the Freshchat client all see it. Bodies are random JSON, and callbacks shaped like
Viber's where each field is either plausible or random; texts mix Korean, emoji, control
characters and lone surrogates (`"\\ud83d"`: an emoji cut in half).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from byoc.store import MemoryStore, SQLiteStore
from byoc.testing.rig import BridgeRig
from byoc_viber import sign

from .roundtrip import TOKEN, WEBHOOK, Trip, build_trip

# Placeholders replaced by URLs of media the Viber emulator really serves, and by the current
# time (a callback from another time is refused before anything else sees it).
PICTURE, DOCUMENT, NOW = "<hosted picture>", "<hosted document>", "<now>"

junk = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)
# `st.text` all but never draws surrogates; joining single characters does.
texts = st.lists(
    st.characters(codec=None, categories=None)
    | st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF, categories=None)
    | st.sampled_from("가나다한글😀👋 \n\t\u200b\u202e"),
    max_size=24,
).map("".join)


def mostly(plausible: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """The plausible value three times in four, anything else otherwise."""
    return st.one_of(plausible, plausible, plausible, junk)


# Past every bound: an id of 70,000 characters, more digits than int() reads, a long text.
huge = st.sampled_from(["u" * 70_000, "9" * 4301, "😀" * 7001])
ids = st.sampled_from(["jc9HsWTZ2Yf2NkRZ8KcNug==", "3SQNc4FPUQmysaM/AQEhXg==", "x"]) | texts | huge
timestamps = st.one_of(st.just(NOW), st.just(NOW), st.just(NOW), st.integers(0, 2**42))
numbers = st.integers() | st.floats() | st.text(alphabet="0123456789.-e+", max_size=8)
tokens = st.integers(-(2**70), 2**70) | st.text(alphabet="0123456789", min_size=1, max_size=25)
media = (
    st.sampled_from(
        [
            PICTURE,
            DOCUMENT,
            "http://viber.test/media/expired/a.jpg",
            "http://nowhere.test/a.png",
            "https://dl-media.viber.com/5/media/2/short/any/sig/image/0x0/abc.jpg",
            "ftp://x/y.png",
            "http://[::1/broken",
            "relative/path.pdf",
        ]
    )
    | texts
    | huge
)
file_names = texts | st.sampled_from(
    ["견적서.pdf", 'quote".pdf', "a\r\nContent-Type: text/html", "../../etc/passwd", "", "x.exe"]
)
user = st.fixed_dictionaries(
    {"id": mostly(ids)},
    optional={
        "name": mostly(texts),
        "avatar": mostly(media),
        "language": mostly(texts),
        "country": mostly(texts),
        "api_version": mostly(st.integers()),
    },
)
message = st.fixed_dictionaries(
    {
        "type": mostly(
            st.sampled_from(
                [
                    *("text", "picture", "video", "file", "sticker"),
                    *("contact", "url", "location", "rich_media", "keyboard"),
                ]
            )
        )
    },
    optional={
        "text": mostly(texts | huge),
        "media": mostly(media),
        "thumbnail": mostly(media),
        "file_name": mostly(file_names),
        "file_size": mostly(numbers),
        "size": mostly(numbers),
        "duration": mostly(numbers),
        "sticker_id": mostly(numbers),
        "contact": mostly(
            st.fixed_dictionaries(
                {}, optional={"name": mostly(texts), "phone_number": mostly(texts)}
            )
        ),
        "location": mostly(
            st.fixed_dictionaries(
                {}, optional={"lat": mostly(numbers), "lon": mostly(numbers), "address": texts}
            )
        ),
        "tracking_data": mostly(texts),
    },
)
events = st.sampled_from(
    [
        *("message", "subscribed", "unsubscribed", "conversation_started", "delivered"),
        *("seen", "failed", "webhook", "client_status", "action"),
    ]
)
callback = st.fixed_dictionaries(
    {
        "event": mostly(events),
        "timestamp": mostly(timestamps),
        "message_token": mostly(tokens),
    },
    optional={
        "sender": mostly(user),
        "user": mostly(user),
        "user_id": mostly(ids),
        "message": mostly(message),
        "desc": mostly(texts),
        "context": mostly(texts),
        "subscribed": junk,
        "type": junk,
        "silent": junk,
        "chat_hostname": mostly(texts),
    },
)
# Messages get most of the attention: they are what reaches the queue and Freshchat.
user_message = st.fixed_dictionaries(
    {
        "event": st.just("message"),
        "timestamp": timestamps,
        "message_token": tokens,
        "sender": user,
        "message": message,
    }
)
bodies = st.one_of(
    st.binary(max_size=64),
    junk.map(lambda value: json.dumps(value).encode()),
    callback.map(lambda value: json.dumps(value).encode()),
    # Unescaped UTF-8, lone surrogates passed through as the invalid bytes they become.
    callback.map(
        lambda value: json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass")
    ),
    user_message.map(lambda value: json.dumps(value).encode()),
    user_message.map(
        lambda value: json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass")
    ),
)


@pytest.fixture(params=["durable", "inline"])
async def trip(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Trip]:
    delivery = request.param
    store = SQLiteStore(tmp_path / "byoc.sqlite3") if delivery == "durable" else MemoryStore()
    async with BridgeRig() as rig:
        yield await build_trip(rig, delivery, store)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=bodies)
async def test_any_signed_callback_is_answered_2xx_or_4xx_and_crashes_no_delivery(
    trip: Trip, body: bytes
) -> None:
    picture = trip.viber.host_media(b"\xff\xd8\xff\xe0 jpeg", "사진.jpg")
    document = trip.viber.host_media(b"%PDF-1.4", 'quote" 견적.pdf')
    body = body.replace(PICTURE.encode(), picture.encode())
    body = body.replace(DOCUMENT.encode(), document.encode())
    body = body.replace(f'"{NOW}"'.encode(), str(int(trip.viber_clock.time() * 1000)).encode())
    headers = {"X-Viber-Content-Signature": sign(TOKEN, body), "Content-Type": "application/json"}
    response = await trip.rig.http.post(WEBHOOK, content=body, headers=headers)
    assert response.status_code < 500, response.text
    await trip.settle()
    assert await trip.rig.unexpected_dead_letters() == []
