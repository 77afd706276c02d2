"""The pure mapper: parts → send_message bodies, split and degraded within Viber's limits."""

import json
from typing import Any

import pytest

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
from byoc_viber import Mapped, Sender, map_message, split_text
from byoc_viber.api import encode_body
from byoc_viber.outbound import wanted_sizes
from byoc_viber.tracking import decode_replies

SENDER = Sender(name="Acme Support", avatar="https://cdn.test/avatar.jpg")
COMMON = {
    "receiver": "jc9HsWTZ2Yf2NkRZ8KcNug==",
    "sender": {"name": "Acme Support", "avatar": "https://cdn.test/avatar.jpg"},
}


def mapped(
    *parts: Part,
    sizes: dict[str, int | None] | None = None,
    content_types: dict[str, str | None] | None = None,
) -> Mapped:
    return map_message(
        parts,
        sender=SENDER,
        receiver="jc9HsWTZ2Yf2NkRZ8KcNug==",
        sizes=sizes,
        content_types=content_types,
    )


def bodies(*parts: Part, sizes: dict[str, int | None] | None = None) -> list[dict[str, Any]]:
    return list(mapped(*parts, sizes=sizes).bodies)


def typed(body: dict[str, Any]) -> dict[str, Any]:
    """A body without the fields every body carries."""
    return {k: v for k, v in body.items() if k not in COMMON}


def test_a_text_is_one_message_with_sender_and_receiver() -> None:
    assert bodies(Text(text="Hello!")) == [{**COMMON, "type": "text", "text": "Hello!"}]


def test_the_welcome_form_has_no_receiver_and_no_avatar_when_none_is_set() -> None:
    result = map_message([Text(text="Hi")], sender=Sender(name="Bot"), receiver=None)
    assert result.bodies == ({"sender": {"name": "Bot"}, "type": "text", "text": "Hi"},)


def test_long_text_splits_on_word_boundaries_and_says_so() -> None:
    text = " ".join(f"word{i}" for i in range(3000))  # ~ 26,000 characters
    result = mapped(Text(text=text))
    pieces = [b["text"] for b in result.bodies]
    assert len(pieces) == 4 and all(len(p) <= 7000 for p in pieces)
    assert " ".join(pieces) == text
    assert all(not p.startswith(" ") and not p.endswith(" ") for p in pieces)
    assert any("split into 4" in note for note in result.notes)


def test_a_word_longer_than_the_limit_is_cut_hard() -> None:
    word = "x" * 15_000
    assert [len(p) for p in split_text(word)] == [7000, 7000, 1000]
    assert "".join(split_text(word)) == word


def test_splits_prefer_a_line_break_in_the_second_half() -> None:
    text = "a" * 5000 + "\n" + "b " * 1500 + "c" * 10
    first, second = split_text(text)
    assert first == "a" * 5000 and second.startswith("b b")


def test_length_counts_utf16_units_so_emoji_count_twice() -> None:
    pieces = split_text("😀" * 4000)
    assert [len(p) for p in pieces] == [3500, 500]


def test_escaped_characters_keep_each_request_under_30_kb() -> None:
    # A control character costs 6 bytes as JSON (\u0001): 7000 of them would be 42 KB.
    result = mapped(Text(text="\x01" * 7000))
    assert len(result.bodies) == 2
    assert all(len(encode_body(b)) <= 30_000 for b in result.bodies)
    assert "".join(b["text"] for b in result.bodies) == "\x01" * 7000


def test_whitespace_only_text_sends_nothing() -> None:
    assert bodies(Text(text=" \n\t ")) == []


def test_a_picture_with_a_caption() -> None:
    [body] = bodies(Image(url="https://cdn.test/p/cat.JPG?sig=1", caption="our cat"))
    assert typed(body) == {
        "type": "picture",
        "text": "our cat",
        "media": "https://cdn.test/p/cat.JPG?sig=1",
    }


def test_a_caption_over_768_characters_continues_as_text() -> None:
    caption = " ".join(["meow"] * 300)  # 1,499 characters
    result = mapped(Image(url="https://cdn.test/cat.png", caption=caption))
    picture, rest = result.bodies
    assert picture["type"] == "picture" and len(picture["text"]) <= 768
    assert rest["type"] == "text"
    assert picture["text"] + " " + rest["text"] == caption
    assert any("768" in note for note in result.notes)


def test_a_picture_of_another_format_goes_as_a_file() -> None:
    result = mapped(
        Image(url="https://cdn.test/p/cat.webp", caption="cat", size=2048),
    )
    file, caption = result.bodies
    assert typed(file) == {
        "type": "file",
        "media": "https://cdn.test/p/cat.webp",
        "size": 2048,
        "file_name": "cat.webp",
    }
    assert caption["text"] == "cat"
    assert any(".jpg" in note for note in result.notes)


def test_a_picture_over_1_mb_goes_as_a_file() -> None:
    [body] = bodies(Image(url="https://cdn.test/big.jpg", size=3_000_000, name="big.jpg"))
    assert body["type"] == "file" and body["size"] == 3_000_000


def test_a_file_needs_its_size_and_name() -> None:
    part = File(url="https://cdn.test/f/123", name="report", size=None)
    assert wanted_sizes([part]) == ["https://cdn.test/f/123"]
    [body] = bodies(part, sizes={"https://cdn.test/f/123": 5000})
    assert typed(body) == {
        "type": "file",
        "media": "https://cdn.test/f/123",
        "size": 5000,
        "file_name": "report",
    }


def test_a_file_name_without_extension_gets_the_one_of_its_media_type() -> None:
    url = "https://desk.test/files/5f1c"
    [body] = bodies(File(url=url, name="scan", mime_type="application/pdf", size=1))
    assert body["file_name"] == "scan.pdf"
    result = mapped(File(url=url, name="scan"), sizes={url: 9}, content_types={url: "image/png"})
    assert result.bodies[0]["file_name"] == "scan.png"
    [body] = bodies(File(url=url, name="scan", mime_type="application/octet-stream", size=1))
    assert body["file_name"] == "scan"


def test_a_file_name_gets_the_extension_of_its_url_and_at_most_256_characters() -> None:
    [body] = bodies(File(url="https://cdn.test/f/doc.pdf", name="x" * 300, size=1))
    assert body["file_name"].endswith("….pdf") and len(body["file_name"]) == 256
    [body] = bodies(File(url="https://cdn.test/f/doc.pdf", name="Contract", size=1))
    assert body["file_name"] == "Contract.pdf"


@pytest.mark.parametrize(
    ("part", "reason"),
    [
        (File(url="https://cdn.test/setup.exe", name="setup.exe", size=10), ".exe"),
        (File(url="https://cdn.test/a", name="app.APK", size=10), ".apk"),
        (File(url="https://cdn.test/a.pdf", name="a.pdf", size=60 * 1024 * 1024), "50 MB"),
        (File(url="https://cdn.test/a.pdf", name="a.pdf"), "size"),
        (Video(url="https://cdn.test/v.mp4", size=30 * 1024 * 1024), "26 MB"),
        (Video(url="https://cdn.test/v.mp4"), "size"),
    ],
)
def test_what_viber_would_refuse_goes_as_a_visible_link(part: Part, reason: str) -> None:
    result = mapped(part)
    [body] = result.bodies
    assert body["type"] == "text" and part.url in body["text"]
    assert any(reason in note for note in result.notes)


def test_a_video_with_its_size_duration_and_thumbnail() -> None:
    part = Video(
        url="https://cdn.test/v/clip.mp4",
        caption="watch",
        size=1_000_000,
        duration=30,
        thumbnail_url="https://cdn.test/v/clip.jpg",
    )
    video, caption = bodies(part)
    assert typed(video) == {
        "type": "video",
        "media": "https://cdn.test/v/clip.mp4",
        "size": 1_000_000,
        "duration": 30,
        "thumbnail": "https://cdn.test/v/clip.jpg",
    }
    assert caption["text"] == "watch"


@pytest.mark.parametrize(
    "part",
    [
        Video(url="https://cdn.test/v/clip.mov", size=1000),
        Video(url="https://cdn.test/v/clip.mp4", size=1000, duration=600),
    ],
    ids=["not-mp4", "over-180s"],
)
def test_videos_viber_cannot_play_go_as_files(part: Video) -> None:
    [body] = bodies(part)
    assert body["type"] == "file" and body["media"] == part.url


def test_location_contact_sticker_and_link() -> None:
    parts: list[Part] = [
        Location(lat=48.8584, lon=2.2945, label="Eiffel Tower"),
        Contact(name="Itamar", phone="+972511123123"),
        Sticker(sticker_id="46105"),
        Link(url="https://example.com/a"),
    ]
    assert [typed(b) for b in bodies(*parts)] == [
        {"type": "location", "location": {"lat": 48.8584, "lon": 2.2945}},
        {"type": "text", "text": "Eiffel Tower"},
        {"type": "contact", "contact": {"name": "Itamar", "phone_number": "+972511123123"}},
        {"type": "sticker", "sticker_id": 46105},
        {"type": "url", "media": "https://example.com/a"},
    ]


def test_contacts_names_shorten_and_long_phones_become_text() -> None:
    [body] = bodies(Contact(name="Bartholomew Montgomery-Smythe III", phone="+44 20 7946 0958"))
    assert body["contact"]["name"] == "Bartholomew…"  # cut at a word, marked
    assert len(body["contact"]["name"]) <= 28
    [body] = bodies(Contact(name="Ann", phone="+44 (0) 20 7946 0958 ext. 12"))
    assert body == {**COMMON, "type": "text", "text": "Contact: Ann +44 (0) 20 7946 0958 ext. 12"}


def test_a_location_off_the_map_is_text() -> None:
    [body] = bodies(Location(lat=91.0, lon=0.0))
    assert body["type"] == "text" and "91.0" in body["text"]


def test_foreign_stickers_send_their_picture_or_a_placeholder() -> None:
    [body] = bodies(Sticker(sticker_id="kakao:4412", url="https://cdn.test/s.png"))
    assert typed(body) == {"type": "picture", "text": "", "media": "https://cdn.test/s.png"}
    result = mapped(Sticker(sticker_id="kakao:4412"))
    assert result.bodies[0]["text"] == "[sticker]" and result.notes


def test_links_with_a_title_or_over_2000_characters_are_text() -> None:
    [titled] = bodies(Link(url="https://example.com", title="Our shop"))
    assert titled["text"] == "Our shop\nhttps://example.com"
    long_url = "https://example.com/" + "a" * 2000
    [long] = bodies(Link(url=long_url))
    assert long["type"] == "text" and long["text"] == long_url


def test_url_buttons_become_a_rich_media_card_after_their_text() -> None:
    result = bodies(
        Buttons(
            text="Track your order",
            buttons=[
                UrlButton(label="Tracking", url="https://shop.test/track/1"),
                UrlButton(label="Returns & <refunds>", url="https://shop.test/returns"),
            ],
        )
    )
    assert [typed(b) for b in result] == [
        {"type": "text", "text": "Track your order"},
        {
            "type": "rich_media",
            "rich_media": {
                "Type": "rich_media",
                "ButtonsGroupColumns": 6,
                "ButtonsGroupRows": 2,
                "BgColor": "#FFFFFF",
                "Buttons": [
                    {
                        "Columns": 6,
                        "Rows": 1,
                        "ActionType": "open-url",
                        "ActionBody": "https://shop.test/track/1",
                        "Text": "Tracking",
                        "TextSize": "regular",
                        "TextVAlign": "middle",
                        "TextHAlign": "center",
                        "Silent": True,
                    },
                    {
                        "Columns": 6,
                        "Rows": 1,
                        "ActionType": "open-url",
                        "ActionBody": "https://shop.test/returns",
                        # Rich media texts read HTML: the label's own markup is escaped.
                        "Text": "Returns &amp; &lt;refunds&gt;",
                        "TextSize": "regular",
                        "TextVAlign": "middle",
                        "TextHAlign": "center",
                        "Silent": True,
                    },
                ],
            },
            "alt_text": "Tracking: https://shop.test/track/1\n"
            "Returns & <refunds>: https://shop.test/returns",
        },
    ]


def test_many_url_buttons_fill_cards_of_one_grid() -> None:
    links = [UrlButton(label=f"Page {i}", url=f"https://shop.test/{i}") for i in range(9)]
    [body] = bodies(Buttons(buttons=links))
    rich = body["rich_media"]
    # 9 links in 2 cards of 5 rows: the last button of the second card is 2 rows tall.
    assert rich["ButtonsGroupRows"] == 5
    assert [b["Rows"] for b in rich["Buttons"]] == [1, 1, 1, 1, 1, 1, 1, 1, 2]


def test_quick_replies_send_their_label_and_carry_payloads_in_tracking_data() -> None:
    [body] = bodies(
        QuickReplies(
            text="Did that help?",
            replies=[
                QuickReply(label="Yes"),
                QuickReply(label="No", payload="help:no"),
                QuickReply(label="Same", payload="Same"),
            ],
        )
    )
    buttons = body["keyboard"]["Buttons"]
    assert [(b["ActionType"], b["ActionBody"], b["Text"]) for b in buttons] == [
        ("reply", "Yes", "Yes"),
        ("reply", "No", "No"),
        ("reply", "Same", "Same"),
    ]
    assert decode_replies(body["tracking_data"]) == {"No": "help:no"}


def test_a_repeated_label_sends_its_payload_so_each_tap_says_which_it_was() -> None:
    [body] = bodies(
        QuickReplies(
            replies=[QuickReply(label="Ok", payload="a"), QuickReply(label="Ok", payload="b")]
        )
    )
    assert [b["ActionBody"] for b in body["keyboard"]["Buttons"]] == ["Ok", "b"]
    assert decode_replies(body["tracking_data"]) == {"Ok": "a"}


def test_without_quick_reply_payloads_there_is_no_tracking_data() -> None:
    [body] = bodies(QuickReplies(text="?", replies=[QuickReply(label="Yes")]))
    assert "tracking_data" not in body


def test_the_keyboard_goes_on_the_last_message_because_the_app_shows_the_last_one() -> None:
    result = bodies(
        QuickReplies(text="Pick one", replies=[QuickReply(label="A")]),
        Image(url="https://cdn.test/menu.png"),
    )
    assert [b["type"] for b in result] == ["text", "picture"]
    assert "keyboard" not in result[0] and result[1]["keyboard"]["Buttons"][0]["ActionBody"] == "A"


def test_buttons_without_text_and_nothing_else_make_a_keyboard_only_message() -> None:
    [body] = bodies(QuickReplies(replies=[QuickReply(label="Start")]))
    assert "type" not in body and body["keyboard"]["Buttons"][0]["Text"] == "Start"


def test_beyond_12_buttons_the_rest_are_text_and_bad_urls_never_become_buttons() -> None:
    replies = [QuickReply(label=f"option {i}") for i in range(14)]
    result = mapped(
        QuickReplies(text="Choose", replies=replies),
        Buttons(buttons=[UrlButton(label="Call us", url="tel:+441234")]),
    )
    texts = [b.get("text") for b in result.bodies]
    assert texts == ["Choose", "option 12", "option 13", "Call us: tel:+441234"]
    assert len(result.bodies[-1]["keyboard"]["Buttons"]) == 12
    assert len(result.notes) == 3


def test_button_texts_are_cropped_to_250_characters() -> None:
    [body] = bodies(QuickReplies(text="?", replies=[QuickReply(label="y" * 300)]))
    button = body["keyboard"]["Buttons"][0]
    assert len(button["Text"]) == 250 and button["ActionBody"] == "y" * 300


def test_payloads_that_would_crowd_the_message_are_left_out_and_said_so() -> None:
    replies = [QuickReply(label=f"option {i}", payload="p" * 1500) for i in range(3)]
    result = map_message([QuickReplies(replies=replies)], sender=SENDER, receiver="u")
    [body] = result.bodies
    assert len(body["tracking_data"].encode()) <= 2048
    assert decode_replies(body["tracking_data"]) == {"option 0": "p" * 1500}
    assert sum("did not fit" in note for note in result.notes) == 2


def test_lone_surrogates_from_upstream_json_still_encode() -> None:
    [body] = bodies(Text(text=json.loads('"broken \\ud83d text"')))
    assert body["text"] == "broken \ufffd text"
    encode_body(body)
