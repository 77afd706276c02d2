from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from byoc.errors import MalformedPayload
from byoc.freshchat.parts import EMPTY_MESSAGE, from_freshchat, to_freshchat
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

# -- byoc → Freshchat ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("parts", "message_parts"),
    [
        ([Text(text="hi 안녕 👋")], [{"text": {"content": "hi 안녕 👋"}}]),
        ([Image(url="https://cdn/x.jpg")], [{"image": {"url": "https://cdn/x.jpg"}}]),
        (
            [Image(url="https://cdn/x.jpg", caption="look")],
            [{"image": {"url": "https://cdn/x.jpg"}}, {"text": {"content": "look"}}],
        ),
        (
            # Re-hosted: `url` is already Freshchat's copy.
            [Image(url="https://assets.freshchat.com/i.jpg", helpdesk_ref="img-1")],
            [{"image": {"url": "https://assets.freshchat.com/i.jpg"}}],
        ),
        (
            [Video(url="https://cdn/v.mp4", mime_type="video/quicktime", caption="clip")],
            [
                {"video": {"url": "https://cdn/v.mp4", "content_type": "video/quicktime"}},
                {"text": {"content": "clip"}},
            ],
        ),
        (
            [Video(url="https://cdn/v.webm")],
            [{"video": {"url": "https://cdn/v.webm", "content_type": "video/webm"}}],
        ),
        (
            # Re-hosted: the video part plays the channel's link; the copy that stays follows.
            [Video(url="https://cdn/stream", helpdesk_ref="hash-v")],
            [
                {"video": {"url": "https://cdn/stream", "content_type": "video/mp4"}},
                {
                    "file": {
                        "fileHash": "hash-v",
                        "fileSource": "FRESHCHAT",
                        "name": "stream",
                        "contentType": "video/mp4",
                    }
                },
            ],
        ),
        (
            [File(url="https://cdn/a.pdf", name="a.pdf", size=1234)],
            [
                {
                    "file": {
                        "url": "https://cdn/a.pdf",
                        "name": "a.pdf",
                        "content_type": "application/pdf",
                        "file_size_in_bytes": 1234,
                    }
                }
            ],
        ),
        (
            [File(url="https://cdn/x", name="계약서.hwp", mime_type="application/x-hwp")],
            [
                {
                    "file": {
                        "url": "https://cdn/x",
                        "name": "계약서.hwp",
                        "content_type": "application/x-hwp",
                    }
                }
            ],
        ),
        (
            [File(url="https://cdn/a.pdf", name="a.pdf", helpdesk_ref="f1e2d3")],
            [
                {
                    "file": {
                        "fileHash": "f1e2d3",
                        "fileSource": "FRESHCHAT",
                        "name": "a.pdf",
                        "contentType": "application/pdf",
                    }
                }
            ],
        ),
        (
            [Location(lat=37.5665, lon=126.978, label="서울시청")],
            [
                {
                    "text": {
                        "content": "Location: 서울시청\nhttps://www.google.com/maps/search/"
                        "?api=1&query=37.566500,126.978000"
                    }
                }
            ],
        ),
        (
            [Location(lat=-33.5, lon=151)],
            [
                {
                    "text": {
                        "content": "Location: -33.500000,151.000000\nhttps://www.google.com/"
                        "maps/search/?api=1&query=-33.500000,151.000000"
                    }
                }
            ],
        ),
        (
            [Contact(name="Ann Lee", phone="+82 10 1234 5678")],
            [{"text": {"content": "Shared contact: Ann Lee, +82 10 1234 5678"}}],
        ),
        (
            [Sticker(sticker_id="40133", url="https://s/1.png")],
            [{"image": {"url": "https://s/1.png"}}],
        ),
        (
            [Sticker(sticker_id="40133")],
            [{"text": {"content": "[Sticker 40133: the channel gives no picture of it]"}}],
        ),
        (
            [Text(text="네", reply_payload="ORDER_OK")],
            [{"text": {"content": "네\n(quick reply payload: ORDER_OK)"}}],
        ),
        # A payload that says nothing more than the label is not repeated.
        ([Text(text="Yes", reply_payload="Yes")], [{"text": {"content": "Yes"}}]),
        ([Link(url="https://example.com/a")], [{"text": {"content": "https://example.com/a"}}]),
        (
            [Link(url="https://example.com/a", title="Our shop")],
            [{"text": {"content": "Our shop\nhttps://example.com/a"}}],
        ),
        (
            [Buttons(text="Pick", buttons=[UrlButton(label="Site", url="https://x")])],
            [
                {"text": {"content": "Pick"}},
                {"url_button": {"url": "https://x", "label": "Site", "target": "_blank"}},
            ],
        ),
    ],
)
def test_each_part_maps_to_freshchat(
    parts: list[Part], message_parts: list[dict[str, Any]]
) -> None:
    assert to_freshchat(parts) == (message_parts, [])


def test_quick_replies_travel_as_one_reply_collection() -> None:
    message_parts, reply_parts = to_freshchat(
        [
            QuickReplies(text="Sure?", replies=[QuickReply(label="Yes", payload="y")]),
            QuickReplies(replies=[QuickReply(label="No")]),
        ]
    )
    assert message_parts == [{"text": {"content": "Sure?"}}]
    assert reply_parts == [
        {
            "collection": {
                "sub_parts": [
                    {"quick_reply_button": {"label": "Yes", "payload": "y"}},
                    {"quick_reply_button": {"label": "No"}},
                ]
            }
        }
    ]


@pytest.mark.parametrize(
    "parts",
    [[], [Text(text="")], [Text(text="  \n")], [QuickReplies(replies=[])]],
)
def test_an_empty_message_still_yields_one_valid_part(parts: list[Part]) -> None:
    assert to_freshchat(parts) == ([{"text": {"content": EMPTY_MESSAGE}}], [])


def test_something_that_is_not_a_part_is_a_programming_error() -> None:
    with pytest.raises(TypeError, match="not a byoc part"):
        to_freshchat(["hello"])  # type: ignore[list-item]


def test_empty_text_parts_are_dropped_between_others() -> None:
    message_parts, _ = to_freshchat([Text(text=""), Text(text="a"), Text(text=" ")])
    assert message_parts == [{"text": {"content": "a"}}]


# Strategies for any byoc part, including awkward values.
_text = st.text(max_size=30)
_url = st.text(min_size=1, max_size=30)
PARTS = st.one_of(
    st.builds(Text, text=_text, reply_payload=st.none() | _text),
    st.builds(Image, url=_url, caption=_text, helpdesk_ref=st.none() | _url),
    st.builds(
        Video, url=_url, caption=_text, mime_type=st.none() | _text, helpdesk_ref=st.none() | _url
    ),
    st.builds(
        File,
        url=_url,
        name=_text,
        mime_type=st.none() | _text,
        size=st.none() | st.integers(0, 2**40),
        helpdesk_ref=st.none() | _url,
    ),
    st.builds(
        Location,
        lat=st.floats(allow_nan=True, allow_infinity=True),
        lon=st.floats(),
        label=st.none() | _text,
    ),
    st.builds(Contact, name=_text, phone=_text),
    st.builds(Sticker, sticker_id=_text, url=st.none() | _text),
    st.builds(Link, url=_url, title=st.none() | _text),
    st.builds(Buttons, text=_text, buttons=st.lists(st.builds(UrlButton, label=_text, url=_text))),
    st.builds(
        QuickReplies,
        text=_text,
        replies=st.lists(st.builds(QuickReply, label=_text, payload=st.none() | _text)),
    ),
)

_SHAPES = {
    "text": {"content"},
    "image": {"url"},
    "video": {"url", "content_type"},
    "url_button": {"url", "label", "target"},
}


def _assert_valid_part(part: dict[str, Any]) -> None:
    assert len(part) == 1
    [(key, body)] = part.items()
    if key == "file":
        assert set(body) in (
            {"fileHash", "fileSource", "name", "contentType"},
            {"url", "name", "content_type"},
            {"url", "name", "content_type", "file_size_in_bytes"},
        )
        assert body.get("url", "x") and body.get("fileHash", "x") and body["name"]
    else:
        assert set(body) == _SHAPES[key]
    for field in ("content", "label"):
        if field in body:
            assert isinstance(body[field], str) and body[field].strip()
    if key == "url_button":
        assert body["url"].strip()
    elif "url" in body:
        assert body["url"]  # media URLs are passed on as the channel gave them


@given(st.lists(PARTS, max_size=6))
def test_any_parts_become_valid_freshchat_parts(parts: list[Part]) -> None:
    message_parts, reply_parts = to_freshchat(parts)

    assert message_parts
    for part in message_parts:
        _assert_valid_part(part)
    assert len(reply_parts) <= 1
    for collection in reply_parts:
        assert list(collection) == ["collection"]
        for sub in collection["collection"]["sub_parts"]:
            assert list(sub) == ["quick_reply_button"]
            assert sub["quick_reply_button"]["label"].strip()
    json.dumps([message_parts, reply_parts], allow_nan=False)  # what httpx will send


@given(st.lists(PARTS, max_size=6))
def test_what_byoc_sends_reads_back_without_loss_of_a_part(parts: list[Part]) -> None:
    message_parts, reply_parts = to_freshchat(parts)
    assert from_freshchat(message_parts, reply_parts)


# -- Freshchat → byoc ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("message_parts", "expected"),
    [
        ([{"text": {"content": "안녕하세요 😀"}}], [Text(text="안녕하세요 😀")]),
        # Webhooks pad part objects with nulls.
        ([{"text": {"content": "hi"}, "image": None, "file": None}], [Text(text="hi")]),
        ([{"image": {"url": "https://fc/i.png"}}], [Image(url="https://fc/i.png")]),
        (
            [
                {
                    "file": {
                        "url": "https://fc/a.pdf",
                        "name": "a.pdf",
                        "file_size_in_bytes": 1234,
                        "content_type": "application/pdf",
                    }
                }
            ],
            [File(url="https://fc/a.pdf", name="a.pdf", size=1234, mime_type="application/pdf")],
        ),
        (
            [
                {
                    "file": {
                        "fileHash": "h1",
                        "fileSource": "FRESHCHAT",
                        "name": "a.pdf",
                        "contentType": "application/pdf",
                        "url": "https://fc/a.pdf",
                    }
                }
            ],
            [
                File(
                    url="https://fc/a.pdf",
                    name="a.pdf",
                    mime_type="application/pdf",
                    helpdesk_ref="h1",
                )
            ],
        ),
        (
            [{"file": {"fileHash": "h1", "fileSource": "FRESHCHAT", "name": "견적서.pdf"}}],
            [Text(text='[attachment "견적서.pdf" could not be forwarded]')],
        ),
        (
            [{"video": {"url": "https://fc/v.mp4", "content_type": "video/mp4"}}],
            [Video(url="https://fc/v.mp4", mime_type="video/mp4")],
        ),
        (
            [{"email": {"content": "Body", "subject": "Re: order"}}],
            [Text(text="Re: order\n\nBody")],
        ),
        ([{"reference": {"label": "Order #12", "reference_id": "o12"}}], [Text(text="Order #12")]),
        ([{"carousel": {"cards": []}}], [Text(text="[unsupported Freshchat part: carousel]")]),
        ([{"image": {"url": None}}], [Text(text="[image attachment could not be forwarded]")]),
        ([{"text": None, "image": None}], [Text(text="")]),
        ([{}], [Text(text="")]),
        ([{"text": {"content": ""}}], [Text(text="")]),
    ],
)
def test_each_freshchat_part_maps_to_byoc(
    message_parts: list[dict[str, Any]], expected: list[Part]
) -> None:
    assert from_freshchat(message_parts, None) == tuple(expected)


def test_consecutive_url_buttons_group_under_the_text_before_them() -> None:
    parts = from_freshchat(
        [
            {"text": {"content": "Links:"}},
            {"url_button": {"url": "https://a", "label": "A", "target": "_blank"}},
            {"url_button": {"url": "https://b", "label": "B"}},
            {"image": {"url": "https://i"}},
            {"url_button": {"url": "https://c", "label": ""}},
        ],
        [],
    )
    assert parts == (
        Buttons(
            text="Links:",
            buttons=[UrlButton(label="A", url="https://a"), UrlButton(label="B", url="https://b")],
        ),
        Image(url="https://i"),
        Buttons(buttons=[UrlButton(label="https://c", url="https://c")]),
    )


def test_quick_replies_in_reply_parts_collections() -> None:
    parts = from_freshchat(
        [{"text": {"content": "Did that help?"}}],
        [
            {
                "collection": {
                    "sub_parts": [
                        {"quick_reply_button": {"label": "Yes", "custom_reply_text": "y"}},
                        {"quick_reply_button": {"label": "No", "payload": "NO"}},
                    ]
                }
            },
            {"collection": {"sub_parts": [{"callback": {"label": "Agent", "payload": "AGENT"}}]}},
        ],
    )
    assert parts == (
        QuickReplies(
            text="Did that help?",
            replies=[
                QuickReply(label="Yes"),
                QuickReply(label="No", payload="NO"),
                QuickReply(label="Agent", payload="AGENT"),
            ],
        ),
    )


def test_quick_replies_without_text_stand_alone() -> None:
    parts = from_freshchat(
        [{"image": {"url": "https://i"}}], [{"quick_reply_button": {"label": "OK"}}]
    )
    assert parts == (Image(url="https://i"), QuickReplies(replies=[QuickReply(label="OK")]))


def test_template_content_keeps_text_pictures_and_buttons() -> None:
    parts = from_freshchat(
        [
            {
                "template_content": {
                    "type": "carousel",
                    "sections": [
                        {
                            "name": "card",
                            "parts": [
                                {"text": {"content": "Plan A"}},
                                {"image": {"url": "https://i/a.png"}},
                                {"url_button": {"url": "https://buy/a", "label": "Buy"}},
                                {"callback": {"label": "More", "payload": "MORE_A"}},
                            ],
                        },
                        {"name": "empty"},
                    ],
                }
            }
        ],
        None,
    )
    assert parts == (
        Text(text="Plan A"),
        Image(url="https://i/a.png"),
        Buttons(buttons=[UrlButton(label="Buy", url="https://buy/a")]),
        QuickReplies(replies=[QuickReply(label="More", payload="MORE_A")]),
    )


@pytest.mark.parametrize(
    "template", [{"type": "quick_reply_dropdown"}, {"sections": "x"}, {"sections": [{"parts": []}]}]
)
def test_an_unreadable_template_is_visible(template: dict[str, Any]) -> None:
    assert from_freshchat([{"template_content": template}]) == (
        Text(text="[unsupported Freshchat part: template_content]"),
    )


@pytest.mark.parametrize(
    ("message_parts", "reply_parts"),
    [
        ({"text": {}}, None),
        ("hello", None),
        ([["text"]], None),
        ([], {"collection": {}}),
        ([1], None),
    ],
)
def test_structural_nonsense_is_malformed(message_parts: object, reply_parts: object) -> None:
    with pytest.raises(MalformedPayload):
        from_freshchat(message_parts, reply_parts)


def test_deep_collections_stop_visibly() -> None:
    part: dict[str, Any] = {"text": {"content": "deep"}}
    for _ in range(50):
        part = {"collection": {"sub_parts": [part]}}
    assert from_freshchat([part]) == (Text(text="[unsupported Freshchat part: collection]"),)


_KEYS = st.sampled_from(
    [
        "text",
        "image",
        "file",
        "video",
        "email",
        "url_button",
        "quick_reply_button",
        "callback",
        "collection",
        "sub_parts",
        "reference",
        "template_content",
        "sections",
        "parts",
        "content",
        "url",
        "label",
        "payload",
        "name",
        "fileHash",
        "file_size_in_bytes",
        "content_type",
        "subject",
    ]
)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(_KEYS | st.text(max_size=5), children, max_size=4)
    ),
    max_leaves=25,
)


@given(JSON, JSON)
def test_any_json_maps_or_is_malformed_never_empty(message_parts: Any, reply_parts: Any) -> None:
    try:
        parts = from_freshchat(message_parts, reply_parts)
    except MalformedPayload:
        return
    if message_parts or reply_parts:
        assert parts
    for part in parts:
        assert isinstance(part, Text | Image | Video | File | Buttons | QuickReplies), part


@given(st.lists(st.dictionaries(_KEYS, JSON, max_size=3), min_size=1, max_size=4))
def test_any_list_of_part_objects_gives_parts(message_parts: list[dict[str, Any]]) -> None:
    assert from_freshchat(message_parts, None)
