"""`fit_message`: what a channel cannot show becomes text, long texts are split; nothing is lost."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from byoc.channel import Capabilities
from byoc.degrade import as_text, fit_message, split_text
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

TEXT_ONLY = Capabilities(send=frozenset({Text}), max_text_length=10)


def message(*parts: Part) -> OutboundMessage:
    return OutboundMessage(message_id="m1", conversation_id="c1", parts=parts)


@pytest.mark.parametrize(
    ("part", "shown"),
    [
        (Image(url="https://cdn.test/a.png", caption="the receipt"), "the receipt\nhttps://cdn."),
        (Video(url="https://cdn.test/v.mp4"), "https://cdn.test/v.mp4"),
        (File(url="https://cdn.test/f.pdf", name="invoice.pdf"), "invoice.pdf: https://cdn."),
        (Link(url="https://shop.test", title="Shop"), "Shop\nhttps://shop.test"),
        (Location(lat=37.5, lon=127.0, label="Seoul"), "Seoul\nhttps://maps.google.com/?q=37."),
        (Contact(name="Minjun", phone="+82101234"), "Minjun: +82101234"),
        (Sticker(sticker_id="1", url="https://cdn.test/s.png"), "https://cdn.test/s.png"),
        (Sticker(sticker_id="1"), "(a sticker)"),
        (
            Buttons(text="Pick", buttons=[UrlButton(label="A", url="https://a.test")]),
            "Pick\nA: https",
        ),
        (QuickReplies(text="Pick", replies=[QuickReply(label="Yes")]), "Pick\n- Yes"),
    ],
)
def test_a_part_the_channel_cannot_send_becomes_text_with_its_link(part: Part, shown: str) -> None:
    caps = Capabilities(send=frozenset({Text}))
    fitted, notes = fit_message(message(part), caps)
    assert len(fitted.parts) == 1 and isinstance(fitted.parts[0], Text)
    assert fitted.parts[0].text.startswith(shown)
    assert len(notes) == 1 and notes[0].endswith("sent as text")


def test_what_the_channel_can_show_is_left_alone() -> None:
    original = message(Text(text="short"), Image(url="https://cdn.test/a.png"))
    caps = Capabilities(send=frozenset({Text, Image}), max_text_length=100)
    assert fit_message(original, caps) == (original, ())


def test_a_long_text_is_split_on_word_boundaries() -> None:
    fitted, notes = fit_message(message(Text(text="hello big wide world")), TEXT_ONLY)
    assert [p.text for p in fitted.parts if isinstance(p, Text)] == ["hello big ", "wide world"]
    assert notes == ("a text of 20 characters sent as 2",)


def test_a_word_longer_than_the_limit_is_cut() -> None:
    assert split_text("abcdefghijkl", 5) == ["abcde", "fghij", "kl"]
    with pytest.raises(ValueError):
        split_text("x", 0)


parts = st.one_of(
    st.builds(Text, text=st.text(max_size=60)),
    st.builds(Image, url=st.just("https://cdn.test/i.png"), caption=st.text(max_size=30)),
    st.builds(File, url=st.just("https://cdn.test/f"), name=st.text(min_size=1, max_size=20)),
    st.builds(Location, lat=st.floats(-90, 90), lon=st.floats(-180, 180)),
    st.builds(Contact, name=st.text(max_size=10), phone=st.text(max_size=10)),
    st.builds(Sticker, sticker_id=st.just("9")),
    st.builds(QuickReplies, replies=st.lists(st.builds(QuickReply, label=st.text(max_size=8)))),
)
kinds = st.sets(st.sampled_from([Image, File, Location, Contact, Sticker, QuickReplies]))


@given(st.lists(parts, max_size=6), kinds, st.integers(min_value=1, max_value=40))
def test_any_reply_fits_any_channel_and_keeps_every_word(
    given_parts: list[Part], kinds: set[type[Part]], limit: int
) -> None:
    caps = Capabilities(send=frozenset({Text, *kinds}), max_text_length=limit)
    fitted, _ = fit_message(message(*given_parts), caps)
    assert all(type(p) in caps.send for p in fitted.parts)
    assert all(len(p.text) <= limit for p in fitted.parts if isinstance(p, Text))
    shown = "".join(p.text if isinstance(p, Text) else as_text(p) for p in fitted.parts)
    assert shown == "".join(as_text(p) for p in given_parts)


@given(st.text(), st.integers(min_value=1, max_value=50))
def test_split_pieces_join_back_and_fit(text: str, limit: int) -> None:
    pieces = split_text(text, limit)
    assert "".join(pieces) == text
    assert all(len(piece) <= limit for piece in pieces)
