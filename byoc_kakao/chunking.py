"""Splitting text into bubbles Kakao accepts without breaking words, emoji or Hangul.

Both Kakao routes cap a text bubble at 1,000 characters (a HappyTalk `message`, an Open Builder
`simpleText`). Kakao's services run on the JVM, where a string's length counts UTF-16 code
units, so an emoji outside the Basic Multilingual Plane counts twice [inferred]. Counting the
same way here is never more lenient than counting code points.

```python
chunks = split_text("안녕하세요 " * 300, 1000)
assert "".join(chunks) == "안녕하세요 " * 300
assert all(kakao_length(c) <= 1000 for c in chunks)
```
"""

from __future__ import annotations

import unicodedata

__all__ = ["kakao_length", "split_text"]

_ZWJ = "\u200d"


def kakao_length(text: str) -> int:
    """The length of `text` as Kakao counts it: UTF-16 code units."""
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def _width(ch: str) -> int:
    return 2 if ord(ch) > 0xFFFF else 1


def _continues_cluster(ch: str) -> bool:
    """True when `ch` belongs to the character before it, so a split must not fall before it."""
    code = ord(ch)
    return (
        ch == _ZWJ
        or 0xFE00 <= code <= 0xFE0F  # variation selectors (emoji presentation)
        or 0x1F3FB <= code <= 0x1F3FF  # skin-tone modifiers
        or 0xE0020 <= code <= 0xE007F  # tag characters (subdivision flags)
        or 0x1160 <= code <= 0x11FF  # conjoining Hangul vowels and final consonants
        or 0xD7B0 <= code <= 0xD7FF  # their extended forms
        or unicodedata.combining(ch) != 0
    )


def _is_regional_indicator(ch: str) -> bool:
    return 0x1F1E6 <= ord(ch) <= 0x1F1FF


def _safe_cut(text: str, start: int, cut: int) -> int:
    """Move a hard cut left until it no longer splits a grapheme cluster.

    A cluster that would take more than half the chunk with it (a run of combining marks, say)
    is cut anyway: a few odd characters beat a message made of a thousand one-mark bubbles.
    """
    j = cut
    while j > start + 1 and (_continues_cluster(text[j]) or text[j - 1] == _ZWJ):
        j -= 1
    # A flag is a pair of regional indicators: never keep an odd number before the cut.
    if j > start + 1 and _is_regional_indicator(text[j]):
        run = 0
        while j - run - 1 >= start and _is_regional_indicator(text[j - run - 1]):
            run += 1
        if run % 2 == 1:
            j -= 1
    return j if j - start >= (cut - start) // 2 else cut


def split_text(text: str, limit: int) -> list[str]:
    """Cut `text` into chunks of at most `limit` UTF-16 units whose concatenation is `text`.

    A chunk ends after the last line break or space in its second half when there is one, so
    words stay whole; otherwise it is cut hard, but never inside an emoji sequence, a flag or a
    decomposed Hangul syllable unless a single such cluster is longer than `limit`. The
    whitespace at a break stays at the end of the earlier chunk, so nothing is lost.
    """
    if limit < 2:
        raise ValueError("limit must be at least 2 (one astral character)")
    chunks: list[str] = []
    start = 0
    n = len(text)
    while start < n:
        used = 0
        end = start
        while end < n and used + _width(text[end]) <= limit:
            used += _width(text[end])
            end += 1
        if end == n:
            chunks.append(text[start:])
            break
        window = text[start:end]
        half = len(window) // 2
        newline = window.rfind("\n")
        space = max(window.rfind(" "), window.rfind("\t"), window.rfind("\u3000"))
        if newline >= half:
            cut = start + newline + 1
        elif space >= half:
            cut = start + space + 1
        else:
            cut = _safe_cut(text, start, end)
        chunks.append(text[start:cut])
        start = cut
    return chunks
