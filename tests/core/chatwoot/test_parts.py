"""Parts to and from a Chatwoot message: examples of each mapping, and properties for any input."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from byoc.chatwoot import ChatwootDraft, from_chatwoot, to_chatwoot
from byoc.chatwoot.parts import EMPTY_MESSAGE, MAX_ATTACHMENTS, MAX_CONTENT
from byoc.errors import MalformedPayload
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
from tests.core.freshchat.test_parts import PARTS

# -- byoc → Chatwoot -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("parts", "content", "attached"),
    [
        ([Text(text="안녕하세요")], "안녕하세요", []),
        ([Image(url="https://x/a.jpg", caption="receipt")], "receipt", ["https://x/a.jpg"]),
        ([Text(text="see"), File(url="https://x/f.pdf", name="f.pdf")], "see", ["https://x/f.pdf"]),
        ([Video(url="https://x/v.mp4")], "", ["https://x/v.mp4"]),
        ([Sticker(sticker_id="40133", url="https://x/s.png")], "", ["https://x/s.png"]),
        ([Sticker(sticker_id="40133")], "[sticker 40133]", []),
        (
            [Location(lat=37.5665, lon=126.978, label="Seoul City Hall")],
            "Location: Seoul City Hall\n"
            "https://www.google.com/maps/search/?api=1&query=37.566500,126.978000",
            [],
        ),
        ([Contact(name="Kim", phone="+821012345678")], "Shared contact: Kim, +821012345678", []),
        ([Link(url="https://x.com", title="X")], "X\nhttps://x.com", []),
        (
            [Buttons(text="Pick", buttons=[UrlButton(label="Site", url="https://s")])],
            "Pick\nSite: https://s",
            [],
        ),
        (
            [QuickReplies(text="Size?", replies=[QuickReply(label="S"), QuickReply(label="M")])],
            "Size?\nOptions: S | M",
            [],
        ),
        ([], EMPTY_MESSAGE, []),
        ([Text(text="   ")], EMPTY_MESSAGE, []),
    ],
)
def test_user_parts_become_content_and_attachments(
    parts: list[Part], content: str, attached: list[str]
) -> None:
    draft = to_chatwoot(parts)
    assert draft.content == content
    assert [m.url for m in draft.attachments] == attached


def test_attachments_past_the_limit_stay_links() -> None:
    images = [Image(url=f"https://x/{i}.jpg") for i in range(MAX_ATTACHMENTS + 2)]
    draft = to_chatwoot(images)
    assert len(draft.attachments) == MAX_ATTACHMENTS
    assert draft.content == "(attachment: https://x/15.jpg)\n(attachment: https://x/16.jpg)"


def test_content_is_shortened_to_chatwoots_limit_visibly() -> None:
    draft = to_chatwoot([Text(text="x" * (MAX_CONTENT + 10))])
    assert len(draft.content) == MAX_CONTENT
    assert draft.content.endswith("shortened to Chatwoot's limit]")


def test_something_that_is_not_a_part_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="not a byoc part"):
        to_chatwoot(["hello"])  # type: ignore[list-item]


@given(st.lists(PARTS, max_size=20))
def test_any_parts_become_a_valid_draft_without_losing_one(parts: list[Part]) -> None:
    draft = to_chatwoot(parts)
    assert isinstance(draft, ChatwootDraft)
    assert draft.content.strip() or draft.attachments
    assert len(draft.attachments) <= MAX_ATTACHMENTS and len(draft.content) <= MAX_CONTENT
    attached = {m.url for m in draft.attachments}
    for part in parts:
        if isinstance(part, Image | Video | File):
            assert part.url in attached or f"(attachment: {part.url})" in draft.content
        elif isinstance(part, Text) and part.text.strip():
            assert part.text in draft.content


# -- Chatwoot → byoc -----------------------------------------------------------------------------


def _attachment(file_type: str, **fields: Any) -> dict[str, Any]:
    return {"id": 1, "message_id": 2, "file_type": file_type, **fields}


@pytest.mark.parametrize(
    ("args", "parts"),
    [
        (("hello",), (Text(text="hello"),)),
        ((None,), ()),
        (("  ",), ()),
        (
            (
                "Pick one",
                "input_select",
                {"items": [{"title": "Yes", "value": "y"}, {"title": "No"}]},
            ),
            (
                QuickReplies(
                    text="Pick one",
                    replies=(QuickReply(label="Yes", payload="y"), QuickReply(label="No")),
                ),
            ),
        ),
        (
            (
                None,
                "cards",
                {
                    "items": [
                        {
                            "media_url": "https://x/shoe.jpg",
                            "title": "Shoe",
                            "description": "Red",
                            "actions": [
                                {"type": "link", "text": "Buy", "uri": "https://x/buy"},
                                {"type": "postback", "text": "More", "payload": "MORE"},
                            ],
                        }
                    ]
                },
            ),
            (
                Image(url="https://x/shoe.jpg"),
                Buttons(text="Shoe\nRed", buttons=(UrlButton(label="Buy", url="https://x/buy"),)),
                QuickReplies(replies=(QuickReply(label="More", payload="MORE"),)),
            ),
        ),
        (
            ("Read", "article", {"items": [{"title": "FAQ", "link": "https://x/faq"}, {}]}),
            (Text(text="Read"), Link(url="https://x/faq", title="FAQ")),
        ),
        ((None, "form", {"items": []}), (Text(text="[unsupported Chatwoot content: form]"),)),
        (("Email?", "input_email"), (Text(text="Email?"),)),
    ],
)
def test_agent_messages_become_parts(args: tuple[Any, ...], parts: tuple[Part, ...]) -> None:
    assert from_chatwoot(*args) == parts


@pytest.mark.parametrize(
    ("attachment", "part"),
    [
        (
            _attachment("image", data_url="https://cw/a.png", file_size=10),
            Image(url="https://cw/a.png", size=10),
        ),
        (_attachment("video", data_url="https://cw/v.mp4"), Video(url="https://cw/v.mp4")),
        (
            _attachment("audio", data_url="https://cw/blobs/x/voice.ogg"),
            File(url="https://cw/blobs/x/voice.ogg", name="voice.ogg"),
        ),
        (
            _attachment("file", data_url="https://cw/blobs/key", extension="pdf"),
            File(url="https://cw/blobs/key", name="file.pdf"),
        ),
        (
            _attachment(
                "location", coordinates_lat=37.5, coordinates_long=127.0, fallback_title="Here"
            ),
            Location(lat=37.5, lon=127.0, label="Here"),
        ),
        (
            _attachment("location", coordinates_lat=99, coordinates_long=0),
            Text(text="[location attachment could not be forwarded]"),
        ),
        (
            _attachment("fallback", external_url="https://x/page", fallback_title="A page"),
            Link(url="https://x/page", title="A page"),
        ),
        (_attachment("fallback", fallback_title="Shared"), Text(text="Shared")),
        (_attachment("image"), Text(text="[image attachment could not be forwarded]")),
        (
            _attachment("ig_reel", data_url="https://x"),
            Text(text="[unsupported Chatwoot attachment: ig_reel]"),
        ),
    ],
)
def test_each_attachment_becomes_one_part(attachment: dict[str, Any], part: Part) -> None:
    assert from_chatwoot("", "text", {}, [attachment]) == (part,)


@pytest.mark.parametrize(
    "args",
    [
        (42,),
        ("x", "text", ["not", "an", "object"]),
        ("x", "text", {}, {"not": "a list"}),
        ("x", "text", {}, ["not an object"]),
    ],
)
def test_a_wrong_structure_is_malformed(args: tuple[Any, ...]) -> None:
    with pytest.raises(MalformedPayload):
        from_chatwoot(*args)


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
_attachment_fields = st.fixed_dictionaries(
    {},
    optional={
        "file_type": st.sampled_from(["image", "video", "audio", "file", "location", "fallback"])
        | st.text(max_size=5),
        "data_url": _json,
        "external_url": _json,
        "fallback_title": _json,
        "coordinates_lat": _json,
        "coordinates_long": _json,
        "file_size": _json,
        "extension": _json,
    },
)


@given(_json, _json, _json, _json)
def test_any_json_maps_to_parts_or_is_malformed(
    content: Any, content_type: Any, attributes: Any, attachments: Any
) -> None:
    try:
        parts = from_chatwoot(content, content_type, attributes, attachments)
    except MalformedPayload:
        return
    assert all(
        isinstance(p, Text | Image | Video | File | Location | Link | Buttons | QuickReplies)
        for p in parts
    )


@given(
    st.none() | st.text(max_size=20),
    st.sampled_from(["text", "input_select", "cards", "article", "form"]),
    st.fixed_dictionaries(
        {},
        optional={
            "items": st.lists(st.dictionaries(st.text(max_size=8), _json, max_size=5), max_size=4)
        },
    ),
    st.lists(_attachment_fields, max_size=5),
)
def test_well_shaped_messages_always_map_and_keep_every_attachment(
    content: str | None, content_type: str, attributes: dict[str, Any], attachments: list[Any]
) -> None:
    parts = from_chatwoot(content, content_type, attributes, attachments)
    assert len(parts) >= len(attachments)
