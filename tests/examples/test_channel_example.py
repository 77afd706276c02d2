"""The example channel stays small, and docs/writing-a-channel.md quotes it as it is."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "channel"
PAGE = ROOT / "docs" / "writing-a-channel.md"
BLOCKS = re.findall(r"^```python\n(.*?)^```", PAGE.read_text(encoding="utf-8"), re.M | re.S)


def lines(name: str) -> int:
    return len((EXAMPLE / name).read_text().splitlines())


def test_the_channel_and_its_test_file_stay_within_their_budget() -> None:
    assert lines("mychat.py") <= 150
    assert lines("test_mychat.py") <= 40


@pytest.mark.parametrize("block", BLOCKS, ids=[f"block{n}" for n in range(len(BLOCKS))])
def test_every_python_block_of_the_page_is_quoted_from_the_example(block: str) -> None:
    sources = [(EXAMPLE / name).read_text() for name in ("mychat.py", "test_mychat.py")]
    quoted = [textwrap.indent(block, " " * depth) for depth in (0, 4)]
    assert any(q in source for q in quoted for source in sources), block[:200]


def test_the_page_quotes_the_whole_test_file() -> None:
    assert (EXAMPLE / "test_mychat.py").read_text() in BLOCKS
