from hypothesis import given
from hypothesis import strategies as st

from byoc_kakao.chunking import kakao_length, split_text

KOREAN_EMOJI = "안녕하세요 😀 고객님! 👨‍👩‍👧 주문하신 상품은 🇰🇷 내일 도착합니다. "


def test_length_counts_astral_characters_twice_like_kakao() -> None:
    assert kakao_length("가") == 1
    assert kakao_length("😀") == 2
    assert kakao_length("👨‍👩‍👧") == 8


def test_splits_at_1000_on_word_boundaries_and_loses_nothing() -> None:
    text = "안녕하세요 " * 400  # 2,400 characters
    chunks = split_text(text, 1000)
    assert "".join(chunks) == text
    assert all(kakao_length(c) <= 1000 for c in chunks)
    assert all(c.endswith(" ") for c in chunks)  # never inside a word
    assert len(chunks) == 3


def test_prefers_a_line_break_to_a_later_space() -> None:
    text = "가" * 600 + "\n" + "나" * 299 + " " + "다" * 500
    chunks = split_text(text, 1000)
    assert chunks[0] == "가" * 600 + "\n"
    assert "".join(chunks) == text


def test_hard_cuts_never_split_an_emoji_sequence_or_flag() -> None:
    family = "👨‍👩‍👧"
    text = "a" + family * 200
    for chunk in split_text(text, 50):
        assert not chunk.startswith("\u200d")
        assert not chunk.endswith("\u200d")
    flags = "🇰🇷" * 100
    for chunk in split_text(flags, 25):
        assert len(chunk) % 2 == 0  # regional indicators stay in pairs


def test_decomposed_hangul_stays_whole() -> None:
    syllable = "\u1100\u1161\u11a8"  # 각 as conjoining jamo
    chunks = split_text(syllable * 50, 10)
    assert all(c.startswith("\u1100") for c in chunks)
    assert "".join(chunks) == syllable * 50


@given(st.text(), st.integers(min_value=2, max_value=1200))
def test_any_text_splits_within_the_limit_and_joins_back(text: str, limit: int) -> None:
    chunks = split_text(text, limit)
    assert "".join(chunks) == text
    assert all(0 < kakao_length(c) <= limit for c in chunks)


@given(st.lists(st.sampled_from(list(KOREAN_EMOJI)), max_size=3000).map("".join))
def test_korean_and_emoji_text_survives_byte_for_byte(text: str) -> None:
    chunks = split_text(text, 1000)
    assert "".join(chunks).encode() == text.encode()
