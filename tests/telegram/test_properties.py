"""Property tests: any update parses into bounded events or a `MalformedPayload`; any reply maps
to Bot API calls within Telegram's limits."""

from __future__ import annotations

import json
from typing import Any

import attrs
from hypothesis import given, settings
from hypothesis import strategies as st

from byoc.errors import MalformedPayload
from byoc.models import (
    Buttons,
    Contact,
    File,
    Image,
    InboundMessage,
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
from byoc_telegram import plan_reply
from byoc_telegram.inbound import parse_update
from byoc_telegram.limits import (
    FILE_SCHEME,
    MAX_BUTTONS,
    MAX_CALLBACK_DATA,
    MAX_CAPTION,
    MAX_FILE_ID,
    MAX_INBOUND_TEXT,
    MAX_NAME,
    MAX_TEXT,
)

# -- the parser --------------------------------------------------------------------------------

# Short names, and names over the bound the parser cuts them to.
_NAME = st.text(max_size=20) | st.text(min_size=250, max_size=600)
_FILE = st.fixed_dictionaries(
    {"file_id": st.from_regex(r"[A-Za-z0-9_-]{1,600}", fullmatch=True)},
    optional={
        "file_unique_id": st.text(max_size=20),
        "file_size": st.integers(0, 2**40),
        "mime_type": st.sampled_from(["image/jpeg", "video/mp4", "audio/ogg", "x", ""]),
        "file_name": _NAME,
    },
)
_USER = st.fixed_dictionaries(
    {"id": st.integers(1, 2**52), "is_bot": st.just(False), "first_name": _NAME},
    optional={
        "last_name": _NAME,
        "username": st.text(max_size=40),
        "language_code": st.text(max_size=40),
    },
)
_CHAT = st.fixed_dictionaries(
    {"id": st.integers(-(2**52), 2**52), "type": st.sampled_from(["private"] * 4 + ["group"])}
)
_POINT = st.fixed_dictionaries({"latitude": st.floats(-90, 90), "longitude": st.floats(-180, 180)})
_CONTENT = st.one_of(
    st.fixed_dictionaries({"text": st.text(max_size=4096)}),
    st.fixed_dictionaries(
        {"photo": st.lists(_FILE, min_size=1, max_size=3)}, optional={"caption": st.text()}
    ),
    *(
        st.fixed_dictionaries({kind: _FILE}, optional={"caption": st.text()})
        for kind in ("document", "video", "voice", "audio", "animation", "video_note")
    ),
    st.fixed_dictionaries(
        {
            "sticker": _FILE.flatmap(
                lambda f: st.fixed_dictionaries(
                    {"is_animated": st.booleans(), "is_video": st.booleans()},
                    optional={"thumbnail": _FILE, "emoji": st.text(max_size=5)},
                ).map(lambda extra: {**f, **extra})
            )
        }
    ),
    st.fixed_dictionaries({"location": _POINT}),
    _POINT.flatmap(
        lambda p: st.fixed_dictionaries({"title": _NAME, "address": _NAME}).map(
            lambda v: {"location": p, "venue": {"location": p, **v}}
        )
    ),
    st.fixed_dictionaries(
        {
            "contact": st.fixed_dictionaries(
                {"phone_number": st.text(min_size=1, max_size=30), "first_name": _NAME}
            )
        }
    ),
    st.just({"poll": {"id": "1", "question": "?"}}),
)
_MESSAGE = st.tuples(
    st.fixed_dictionaries(
        {
            "message_id": st.integers(1, 2**31),
            "date": st.integers(0, 2**40),
            "chat": _CHAT,
            "from": _USER,
        }
    ),
    _CONTENT,
).map(lambda pair: {**pair[0], **pair[1]})
_BUTTON = st.fixed_dictionaries({"text": _NAME, "callback_data": st.text(min_size=1, max_size=64)})
_QUERY = st.fixed_dictionaries(
    {"id": st.text(min_size=1, max_size=30), "from": _USER, "chat_instance": st.text(max_size=20)},
    optional={
        # Telegram's callback_data is at most 64 bytes of UTF-8, not 64 characters.
        "data": st.text(min_size=1, max_size=64)
        .map(lambda s: s.encode()[:64].decode(errors="ignore"))
        .filter(bool),
        "message": _MESSAGE.flatmap(
            lambda m: st.lists(st.lists(_BUTTON, min_size=1, max_size=3), max_size=3).map(
                lambda rows: {**m, "reply_markup": {"inline_keyboard": rows}}
            )
        ),
    },
)
_MEMBER = st.fixed_dictionaries(
    {
        "chat": _CHAT,
        "from": _USER,
        "date": st.integers(0, 2**40),
        "new_chat_member": st.fixed_dictionaries(
            {"status": st.sampled_from(["kicked", "member", "left", "administrator"])}
        ),
    }
)
_UPDATE = st.integers(0, 2**31).flatmap(
    lambda update_id: st.one_of(
        *(
            branch.map(lambda value, key=key: {"update_id": update_id, key: value})
            for key, branch in (
                ("message", _MESSAGE),
                ("edited_message", _MESSAGE.map(lambda m: {**m, "edit_date": m["date"] + 1})),
                ("callback_query", _QUERY),
                ("my_chat_member", _MEMBER),
            )
        )
    )
)
_JUNK = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, tuple):
        return [s for item in value for s in _strings(item)]
    if attrs.has(type(value)):
        return [s for f in attrs.fields(type(value)) for s in _strings(getattr(value, f.name))]
    return []


def _check(update: dict[str, Any], events: list[Any]) -> None:
    for event in events:
        assert event.channel == "telegram-vip"
        assert event.user_id.lstrip("-").isdigit() and len(event.user_id) <= 20
        for text in _strings(event):
            text.encode("utf-8")
            assert len(text) <= MAX_INBOUND_TEXT + 100
        if isinstance(event, InboundMessage):
            assert event.parts, "a message always says something"
            assert event.message_id == str(update["update_id"])
            for part in event.parts:
                if isinstance(part, Image | Video | File):
                    assert part.url.startswith(FILE_SCHEME)
                    assert len(part.url) <= len(FILE_SCHEME) + MAX_FILE_ID + 1 + 12 * 100
                if isinstance(part, File):
                    assert len(part.name) <= MAX_NAME + 4
                if isinstance(part, Contact):
                    assert len(part.name) <= 2 * MAX_NAME + 1
                if isinstance(part, Location) and part.label is not None:
                    assert len(part.label) <= 2 * MAX_NAME + 2
        profile = getattr(event, "profile", None)
        if profile is not None and profile.name is not None:
            assert len(profile.name) <= 2 * MAX_NAME + 1


@settings(max_examples=300, deadline=None)
@given(update=_UPDATE)
def test_any_update_telegram_sends_is_bounded_events(update: dict[str, Any]) -> None:
    try:
        events = parse_update(json.dumps(update).encode(), channel="telegram-vip")
    except MalformedPayload as exc:
        # Only a file id over the bound makes a well-formed update unusable.
        assert "file id" in str(exc), exc
        return
    _check(update, events)
    if "message" in update and update["message"]["chat"]["type"] == "private":
        assert isinstance(events[0], InboundMessage)


# The fields the parser reads, and any other name.
_FIELDS = st.sampled_from(
    [
        "text",
        "caption",
        "photo",
        "document",
        "video",
        "voice",
        "audio",
        "sticker",
        "location",
        "venue",
        "contact",
        "chat",
        "from",
        "date",
        "edit_date",
        "data",
        "message",
        "id",
        "new_chat_member",
        "reply_markup",
    ]
) | st.text(max_size=8)


@settings(max_examples=300, deadline=None)
@given(update=_UPDATE, field=_FIELDS, value=_JUNK)
def test_an_update_with_any_field_changed_is_bounded_events_or_malformed(
    update: dict[str, Any], field: str, value: Any
) -> None:
    (branch,) = (key for key in update if key != "update_id")
    changed = {**update, branch: {**update[branch], field: value}}
    try:
        events = parse_update(json.dumps(changed).encode(), channel="telegram-vip")
    except MalformedPayload:
        return
    _check(changed, events)


@settings(max_examples=200, deadline=None)
@given(body=st.binary(max_size=300))
def test_any_bytes_are_events_or_malformed(body: bytes) -> None:
    try:
        parse_update(body, channel="telegram")
    except MalformedPayload:
        pass


# -- the outbound mapper ------------------------------------------------------------------------

_URL = st.sampled_from(
    ["https://cdn.example/a.jpg", "http://x.test/v.mp4", "ftp://no", "", "tg-file:abc"]
)
_ALPHABET = st.sampled_from("ab 가\n👋")
# Short texts, and texts around and over Telegram's limits: the edges are what breaks.
_WORDS = st.text(_ALPHABET, max_size=20) | st.text(_ALPHABET, min_size=1000, max_size=9000)
_LABEL = st.text(max_size=20) | st.text(min_size=200, max_size=300)
_PAYLOAD = st.none() | st.text(max_size=20) | st.text(min_size=62, max_size=70)


def _few_or_about_a_hundred(
    item: st.SearchStrategy[Any], small: st.SearchStrategy[Any]
) -> st.SearchStrategy[list[Any]]:
    """A few `item`s, or 98 to 104 `small` ones (keyboards hold at most 100 buttons; small,
    so that a hundred fit in what hypothesis draws)."""
    many = st.integers(98, 104).flatmap(lambda n: st.lists(small, min_size=n, max_size=n))
    return st.lists(item, max_size=4) | many


_PART: st.SearchStrategy[Part] = st.one_of(
    st.builds(Text, text=_WORDS),
    st.builds(Image, url=_URL.filter(bool), caption=_WORDS),
    st.builds(Video, url=_URL.filter(bool), caption=_WORDS),
    st.builds(File, url=_URL.filter(bool), name=st.text(max_size=50)),
    st.builds(
        Location,
        lat=st.floats(-200, 200),
        lon=st.floats(-200, 200),
        label=st.none() | _LABEL,
    ),
    st.builds(Contact, name=_LABEL, phone=st.text(max_size=20)),
    st.builds(Sticker, sticker_id=st.text(max_size=5), url=st.none() | _URL),
    st.builds(Link, url=_URL.filter(bool), title=st.none() | st.text(max_size=20)),
    st.builds(
        Buttons,
        buttons=_few_or_about_a_hundred(
            st.builds(UrlButton, label=_LABEL, url=_URL),
            st.builds(UrlButton, label=st.just("b"), url=st.just("https://x.test")),
        ),
        text=_WORDS,
    ),
    st.builds(
        QuickReplies,
        replies=_few_or_about_a_hundred(
            st.builds(QuickReply, label=_LABEL, payload=_PAYLOAD),
            st.builds(
                QuickReply, label=st.sampled_from("yn"), payload=st.sampled_from([None, "p"])
            ),
        ),
        text=_WORDS,
    ),
)


@settings(max_examples=150, deadline=None)
@given(parts=st.lists(_PART, max_size=6), chat_id=st.integers(-(2**52), 2**52))
def test_any_reply_maps_to_calls_within_telegrams_limits(parts: list[Part], chat_id: int) -> None:
    plan = plan_reply(parts, chat_id)
    for call in plan.calls:
        body = call.body
        assert body["chat_id"] == chat_id
        if call.method == "sendMessage":
            assert body["text"].strip() and len(body["text"]) <= MAX_TEXT
        for field in ("photo", "video", "document"):
            if field in body:
                assert body[field].startswith(("http://", "https://"))
        assert len(body.get("caption", "")) <= MAX_CAPTION
        markup = body.get("reply_markup")
        if markup is not None:
            rows = markup.get("inline_keyboard", markup.get("keyboard"))
            buttons = [button for row in rows for button in row]
            assert 0 < len(buttons) <= MAX_BUTTONS
            for button in buttons:
                assert button["text"].strip()
                if "callback_data" in button:
                    assert 0 < len(button["callback_data"].encode()) <= MAX_CALLBACK_DATA
                if "url" in button:
                    assert button["url"].startswith(("http://", "https://"))
        if call.method in ("sendLocation", "sendVenue"):
            assert -90 <= body["latitude"] <= 90 and -180 <= body["longitude"] <= 180
    if any(isinstance(p, Text) and p.text.strip() for p in parts):
        assert plan.calls, "a text never vanishes"
