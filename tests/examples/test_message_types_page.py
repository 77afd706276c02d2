"""docs/message-types.md cannot rot: its matrix is complete and every test it names exists."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "message-types.md"

KINDS = [
    "text",
    "image",
    "video",
    "audio",
    "file",
    "location",
    "contact",
    "sticker",
    "url / link",
    "quick replies",
    "URL buttons",
    "carousel / template",
]
CHANNELS = ["`viber`", "`kakao`", "`kakao-chatbot`"]
VERDICT = re.compile(r"\*\*(native|converted|degraded|n/a)\*\*")
REFERENCE = re.compile(r"`(tests/[\w/]+\.py)(?:::(\w+))?`")


def tables() -> dict[str, list[list[str]]]:
    """The matrix tables by section title: their rows, each a list of cells."""
    found: dict[str, list[list[str]]] = {}
    section = ""
    for line in PAGE.read_text(encoding="utf-8").splitlines():
        if line.startswith("## "):
            section = line[3:].strip()
        elif line.startswith("|") and not line.startswith("|---"):
            cells = [cell.strip() for cell in line.strip().strip("|").split(" | ")]
            found.setdefault(section, []).append(cells)
    return found


def defined(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {
        node.name for node in tree.body if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    }


def references() -> list[tuple[str, str | None]]:
    return sorted(set(REFERENCE.findall(PAGE.read_text(encoding="utf-8"))), key=str)


def test_the_page_is_linked_from_the_docs_index() -> None:
    assert "(message-types.md)" in (ROOT / "docs" / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("section", ["User → agent", "Agent → user"])
def test_every_kind_and_channel_has_a_verdict_backed_by_a_test(section: str) -> None:
    header, *rows = tables()[section]
    assert header == ["kind", *CHANNELS]
    assert [row[0] for row in rows] == [
        kind
        if kind != "quick replies" or section == "Agent → user"
        else "quick replies (the user's tap)"
        for kind in KINDS
    ]
    for row in rows:
        assert len(row) == 1 + len(CHANNELS), row
        for channel, cell in zip(CHANNELS, row[1:], strict=True):
            where = f"{section} / {row[0]} / {channel}"
            assert VERDICT.search(cell), f"{where}: no verdict"
            assert any(name for _, name in REFERENCE.findall(cell)), f"{where}: no test named"


@pytest.mark.parametrize(
    ("path", "name"),
    [pytest.param(path, name or None, id=f"{path}::{name}") for path, name in references()],
)
def test_every_test_the_page_names_exists(path: str, name: str | None) -> None:
    file = ROOT / path
    assert file.is_file(), f"{path} does not exist"
    if name is not None:
        assert name in defined(file), f"{path} has no test {name}"


def test_the_page_names_tests() -> None:
    assert len(references()) >= 40
