"""The Telegram pages cannot rot: the message-type table has every kind both ways, each cell
backed by a test (which `tests/examples/test_message_types_page.py` checks exists), and the
channel's page is linked from the docs index."""

from __future__ import annotations

from pathlib import Path

from tests.examples.test_message_types_page import KINDS, REFERENCE, VERDICT, tables

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_the_telegram_table_has_every_kind_both_ways_each_backed_by_a_test() -> None:
    header, *rows = tables()["Telegram"]
    assert header == ["kind", "user → agent", "agent → user"]
    assert [row[0] for row in rows] == KINDS
    for row in rows:
        assert len(row) == 3, row
        for direction, cell in zip(header[1:], row[1:], strict=True):
            where = f"Telegram / {row[0]} / {direction}"
            assert VERDICT.search(cell), f"{where}: no verdict"
            assert any(name for _, name in REFERENCE.findall(cell)), f"{where}: no test named"


def test_the_telegram_page_is_linked_from_the_index() -> None:
    index = (DOCS / "README.md").read_text(encoding="utf-8")
    assert "(telegram.md)" in index
    assert "(telegram.md)" in (DOCS / "configuration.md").read_text(encoding="utf-8")
