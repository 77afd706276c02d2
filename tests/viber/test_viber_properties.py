"""Properties: any reply maps within Viber's limits; any callback parses or is refused cleanly."""

import asyncio
import json
from typing import Any

from hypothesis import event, given, settings
from hypothesis import strategies as st

from byoc.errors import RequestError
from byoc.freshness import FreshnessWindow
from byoc.models import (
    Buttons,
    Contact,
    File,
    Image,
    Link,
    Location,
    Part,
    QuickReplies,
    QuickReply,
    Sticker,
    Text,
    UrlButton,
    Video,
)
from byoc_viber import Sender, ViberChannel, map_message, split_text
from byoc_viber.api import encode_body
from byoc_viber.limits import FORBIDDEN_FILE_EXTENSIONS, extension, viber_length
from byoc_viber.outbound import wanted_sizes
from byoc_viber.testing import validate_message
from byoc_viber.tracking import decode_replies, encode_replies

from .support import TOKEN, signed

# Any timestamp: what is checked here is parsing (test_viber_freshness.py checks the window).
CHANNEL = ViberChannel(
    auth_token=TOKEN, sender_name="Acme Support", freshness=FreshnessWindow(max_age=0, max_skew=0)
)
SENDER = Sender(name="A" * 28, avatar="https://cdn.test/" + "a" * 200 + ".jpg")

texts = st.one_of(
    st.text(max_size=300),
    st.builds(lambda chunk, n: chunk * n, st.text(min_size=1, max_size=40), st.integers(1, 900)),
)
extensions = st.sampled_from(
    ["", ".jpg", ".JPEG", ".png", ".gif", ".webp", ".mp4", ".mov", ".pdf", ".exe", ".apk", ".x"]
)
urls = st.one_of(
    st.builds(
        lambda path, ext, query: f"https://cdn.test/{path}{ext}{query}",
        st.text(alphabet="abc/-_%", max_size=30),
        extensions,
        st.sampled_from(["", "?sig=1", "#frag"]),
    ),
    st.builds(
        lambda n, ext: "https://cdn.test/" + "a" * n + ext, st.integers(1990, 2100), extensions
    ),
    st.text(min_size=1, max_size=60),
)
sizes = st.none() | st.integers(0, 80 * 1024 * 1024)
content_types = (
    st.none()
    | st.text(max_size=40)
    | st.sampled_from(
        ["image/png", "application/pdf", "application/x-msdownload", "application/octet-stream"]
    )
)
names = st.text(max_size=300)

parts: st.SearchStrategy[Part] = st.one_of(
    st.builds(Text, text=texts),
    st.builds(Image, url=urls, caption=texts, size=sizes, name=st.none() | names),
    st.builds(
        Video,
        url=urls,
        caption=texts,
        size=sizes,
        duration=st.none() | st.integers(-5, 1000),
        thumbnail_url=st.none() | urls,
    ),
    st.builds(File, url=urls, name=names, size=sizes),
    st.builds(
        Location,
        lat=st.floats(),
        lon=st.floats(),
        label=st.none() | st.text(max_size=100),
    ),
    st.builds(Contact, name=st.text(max_size=60), phone=st.text(max_size=30)),
    st.builds(
        Sticker,
        sticker_id=st.one_of(st.from_regex(r"[0-9]{1,25}", fullmatch=True), st.text(max_size=20)),
        url=st.none() | urls,
    ),
    st.builds(Link, url=urls, title=st.none() | st.text(max_size=80)),
    st.builds(
        Buttons,
        buttons=st.lists(st.builds(UrlButton, label=st.text(max_size=300), url=urls), max_size=15),
        text=st.text(max_size=100),
    ),
    st.builds(
        QuickReplies,
        replies=st.lists(
            st.builds(QuickReply, label=st.text(max_size=300), payload=st.none() | texts),
            max_size=15,
        ),
        text=st.text(max_size=100),
    ),
)


def assert_within_viber_limits(body: dict[str, Any]) -> None:
    assert len(encode_body(body)) <= 30_000
    assert validate_message(body) is None, validate_message(body)
    assert viber_length(body["sender"]["name"]) <= 28
    assert viber_length(body.get("tracking_data", "")) <= 4000
    kind = body.get("type")
    if kind == "text":
        assert 0 < viber_length(body["text"]) <= 7000 and body["text"].strip()
    elif kind == "picture":
        assert viber_length(body["text"]) <= 768
        assert extension(body["media"]) in {".jpg", ".jpeg", ".png", ".gif"}
    elif kind == "video":
        assert 0 <= body["size"] <= 26 * 1024 * 1024 and extension(body["media"]) == ".mp4"
    elif kind == "file":
        assert 0 <= body["size"] <= 50 * 1024 * 1024
        assert 0 < viber_length(body["file_name"]) <= 256
        assert extension(body["file_name"]) not in FORBIDDEN_FILE_EXTENSIONS
        assert extension(body["media"]) not in FORBIDDEN_FILE_EXTENSIONS
    elif kind == "contact":
        assert viber_length(body["contact"]["name"]) <= 28
        assert 0 < viber_length(body["contact"]["phone_number"]) <= 18
    elif kind == "url":
        assert len(body["media"]) <= 2000
    elif kind == "rich_media":
        rich = body["rich_media"]
        assert 1 <= rich["ButtonsGroupRows"] <= 7 and rich["ButtonsGroupColumns"] == 6
        assert all(viber_length(b["Text"]) <= 250 for b in rich["Buttons"])
        assert viber_length(body["alt_text"]) <= 7000
    if "tracking_data" in body:
        assert len(body["tracking_data"].encode()) <= 2048
        assert decode_replies(body["tracking_data"])
    if "keyboard" in body:
        buttons = body["keyboard"]["Buttons"]
        assert 0 < len(buttons) <= 12
        assert all(viber_length(b["Text"]) <= 250 for b in buttons)
        taps = [b["ActionBody"] for b in buttons if b["ActionType"] == "reply"]
        assert all(viber_length(t) <= 7000 and t.strip() for t in taps)


@settings(max_examples=200, deadline=None)
@given(parts=st.lists(parts, max_size=6), data=st.data())
def test_any_reply_maps_to_bodies_within_every_viber_limit(
    parts: list[Part], data: st.DataObject
) -> None:
    wanted = wanted_sizes(parts)
    found = {url: data.draw(sizes, label=url) for url in wanted}
    types = {url: data.draw(content_types, label=f"type of {url}") for url in wanted}
    result = map_message(
        parts,
        sender=SENDER,
        receiver="jc9HsWTZ2Yf2NkRZ8KcNug==",
        sizes=found,
        content_types=types,
    )
    for body in result.bodies:
        assert body["receiver"] == "jc9HsWTZ2Yf2NkRZ8KcNug=="
        assert_within_viber_limits(body)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.builds(Text, text=texts), min_size=1, max_size=4))
def test_text_is_split_but_never_lost(parts: list[Text]) -> None:
    result = map_message(parts, sender=SENDER, receiver="u")
    sent = "".join("".join(b["text"].split()) for b in result.bodies)
    assert sent == "".join("".join(p.text.split()) for p in parts)


@settings(max_examples=200, deadline=None)
@given(text=texts, max_length=st.integers(2, 8000), max_bytes=st.integers(16, 40_000))
def test_split_text_respects_both_limits(text: str, max_length: int, max_bytes: int) -> None:
    for piece in split_text(text, max_length, max_bytes):
        assert piece.strip()
        assert viber_length(piece) <= max_length
        assert len(json.dumps(piece, ensure_ascii=False).encode()) - 2 <= max_bytes


# -- inbound ------------------------------------------------------------------------------------

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
anything = json_values | st.sampled_from(["", "u1", "5753750845017966998", "1.5e3"])
events = st.sampled_from(
    [
        "message",
        "subscribed",
        "unsubscribed",
        "conversation_started",
        "delivered",
        "seen",
        "failed",
        "webhook",
        "client_status",
    ]
)
message_types = st.sampled_from(
    ["text", "picture", "video", "file", "sticker", "contact", "url", "location", "poll"]
)


def maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Mostly `strategy`, sometimes any JSON value in its place."""
    return st.one_of(strategy, strategy, strategy, anything)


users = st.fixed_dictionaries(
    {"id": maybe(st.text(min_size=1, max_size=24))},
    optional={"name": anything, "avatar": anything, "language": anything, "country": anything},
)
viber_messages = st.fixed_dictionaries(
    {"type": maybe(message_types)},
    optional={
        "text": maybe(st.text(max_size=50)),
        "media": maybe(urls),
        "file_name": anything,
        "file_size": maybe(st.integers(-1, 2**40)),
        "size": anything,
        "duration": anything,
        "thumbnail": anything,
        "sticker_id": maybe(st.integers(0, 2**64)),
        "contact": maybe(
            st.fixed_dictionaries(
                {"name": maybe(st.text(max_size=30)), "phone_number": maybe(st.text(max_size=20))}
            )
        ),
        "location": maybe(
            st.fixed_dictionaries({"lat": maybe(st.floats()), "lon": maybe(st.floats())})
        ),
        "tracking_data": anything,
    },
)
callbacks = st.fixed_dictionaries(
    {"event": maybe(events)},
    optional={
        "timestamp": maybe(st.integers(-(2**63), 2**63)),
        "message_token": maybe(st.integers(0, 2**64)),
        "sender": maybe(users),
        "user": maybe(users),
        "user_id": anything,
        "message": maybe(viber_messages),
        "context": anything,
        "subscribed": anything,
        "desc": anything,
    },
)


tokens = st.integers(1, 2**63 - 1)
stamps = st.integers(0, 4_000_000_000_000)
user_ids = st.text(min_size=1, max_size=24)
well_formed_messages = st.fixed_dictionaries(
    {"type": message_types, "text": st.text(max_size=50), "media": urls},
    optional={
        "file_name": st.text(max_size=30),
        "file_size": st.integers(0, 2**40),
        "duration": st.integers(0, 600),
        "sticker_id": st.integers(0, 2**40),
        "contact": st.fixed_dictionaries(
            {"name": st.text(max_size=30), "phone_number": st.text(max_size=20)}
        ),
        "tracking_data": st.text(max_size=30),
    },
).map(
    lambda m: {
        **m,
        "sticker_id": m.get("sticker_id", 1),
        "contact": m.get("contact", {}),
        "location": {"lat": 1.5, "lon": -2},
    }
)
well_formed = st.one_of(
    st.fixed_dictionaries(
        {
            "event": st.just("message"),
            "timestamp": stamps,
            "message_token": tokens,
            "sender": users.filter(lambda u: isinstance(u["id"], str) and u["id"] != ""),
            "message": well_formed_messages,
        }
    ),
    st.fixed_dictionaries(
        {
            "event": st.sampled_from(["subscribed", "conversation_started"]),
            "timestamp": stamps,
            "message_token": tokens,
            "user": st.fixed_dictionaries({"id": user_ids}),
        }
    ),
    st.fixed_dictionaries(
        {
            "event": st.sampled_from(["unsubscribed", "delivered", "seen", "failed"]),
            "timestamp": stamps,
            "message_token": tokens,
            "user_id": user_ids,
        }
    ),
)


async def parses_or_refuses(body: bytes) -> None:
    try:
        events = await CHANNEL.parse(signed(body))
    except RequestError as exc:
        assert exc.status_code in (400, 401)
        event("refused")
        return
    assert isinstance(events, list)
    event(f"{len(events)} events")


@settings(max_examples=300, deadline=None)
@given(callbacks)
async def test_any_signed_callback_gives_events_or_a_request_error(payload: dict[str, Any]) -> None:
    await parses_or_refuses(json.dumps(payload, ensure_ascii=False).encode())


@settings(max_examples=300, deadline=None)
@given(well_formed)
async def test_any_well_formed_callback_gives_its_event(payload: dict[str, Any]) -> None:
    [parsed] = await CHANNEL.parse(signed(json.dumps(payload, ensure_ascii=False).encode()))
    assert parsed.channel == "viber"
    if payload["event"] != "message":
        return
    assert parsed.message_id == str(payload["message_token"])
    assert parsed.user_id == payload["sender"]["id"] and parsed.parts


@settings(max_examples=200, deadline=None)
@given(json_values)
async def test_any_signed_json_gives_events_or_a_request_error(payload: Any) -> None:
    await parses_or_refuses(json.dumps(payload).encode())


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
async def test_any_signed_bytes_give_events_or_a_request_error(body: bytes) -> None:
    await parses_or_refuses(body)


# -- tracking data --------------------------------------------------------------------------------


@given(st.dictionaries(st.text(max_size=300), texts, max_size=14))
def test_reply_payloads_round_trip_through_tracking_data_within_limits(
    replies: dict[str, str],
) -> None:
    encoded, left_out = encode_replies(replies)
    decoded = decode_replies(encoded)
    assert decoded == {k: v for k, v in replies.items() if k not in left_out}
    if encoded is not None:
        assert viber_length(encoded) <= 4000 and len(encoded.encode()) <= 2048
    else:
        assert set(left_out) == set(replies)


@given(json_values | st.text())
def test_any_tracking_data_decodes_to_a_map_of_strings(value: Any) -> None:
    decoded = decode_replies(value if isinstance(value, str) else json.dumps(value))
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in decoded.items())


def _tap(said: str, tracking_data: object) -> Text:
    tap = {
        "event": "message",
        "message_token": 1,
        "sender": {"id": "u"},
        "message": {"type": "text", "text": said, "tracking_data": tracking_data},
    }
    [message] = asyncio.run(CHANNEL.parse(signed(tap)))
    [part] = message.parts
    assert isinstance(part, Text) and part.text == said
    return part


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.builds(QuickReply, label=st.text(max_size=60), payload=st.none() | st.text(max_size=60)),
        min_size=1,
        max_size=14,
    )
)
def test_a_tap_on_any_reply_button_comes_back_with_the_payload_it_shows(
    replies: list[QuickReply],
) -> None:
    result = map_message([QuickReplies(replies=replies)], sender=SENDER, receiver="u")
    if not result.bodies:
        assert all(not r.label.strip() and not (r.payload or "").strip() for r in replies)
        return
    last = result.bodies[-1]
    tracking = last.get("tracking_data")
    buttons = last.get("keyboard", {}).get("Buttons", [])
    for button in buttons:
        said = button["ActionBody"]
        payload = _tap(said, tracking).reply_payload
        # Never a payload of another button: the one of a reply that says this text.
        assert payload is None or any(
            r.payload == payload and said in (r.label.strip(), r.payload) for r in replies
        )
    # A reply whose label no earlier button says, with a payload that says more, comes back
    # with that payload.
    shown = {b["ActionBody"] for b in buttons}
    fits = not any("did not fit" in note for note in result.notes)
    said_before: set[str] = set()
    for reply in replies:
        label, payload = reply.label.strip(), reply.payload
        own = label and label not in said_before
        if fits and own and label in shown and payload and payload.strip() and payload != label:
            assert _tap(label, tracking).reply_payload == payload
        said_before.update(t for t in (label, payload) if t)
