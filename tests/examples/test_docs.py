"""The docs cannot drift silently from the code.

- Every Python block in `docs/*.md` compiles, and what it imports from byoc exists.
- Every `BYOC_*` setting the docs name is read by the package: some package module holds the
  name as a string literal of its own (as in `env.get("BYOC_STORE")`), not just in prose.
- Every `byoc` command the docs show is a command (and sub-command) of the CLI.
- Every relative link points at a file that exists.
"""

from __future__ import annotations

import ast
import importlib
import io
import re
import shlex
import tokenize
from argparse import ArgumentParser, _SubParsersAction
from pathlib import Path

import pytest

from byoc.cli import build_parser

ROOT = Path(__file__).resolve().parents[2]
DOCS = sorted((ROOT / "docs").glob("*.md"))
PACKAGES = ("byoc", "byoc_viber", "byoc_kakao", "byoc_telegram")

# The made-up messenger of writing-a-channel.md: its settings belong to a plugin that does not
# exist, by design; so do those of the second Viber account configuration.md names as an example
# (an instance's settings are read under its own name, which no code spells), and the notices
# every channel may have.
IMAGINARY_SETTINGS = re.compile(
    r"^BYOC_(MYCHAT|VIBER_EU)_|^BYOC_[A-Z0-9_]+_NOTICE_(ASSIGNED|RESOLVED)$"
)
# Written alongside these pages; a link to them may precede them.
PAGES_WRITTEN_ELSEWHERE = {"quickstart.md", "configuration.md"}

_FENCE = re.compile(r"^```(?P<lang>[\w+-]*)\n(?P<code>.*?)^```", re.MULTILINE | re.DOTALL)
_SETTING = re.compile(r"\bBYOC_[A-Z0-9]+(?:_[A-Z0-9]+)*\b")
_INLINE_CODE = re.compile(r"`([^`\n]+)`")
_LINK = re.compile(r"\]\((?!https?://|#|mailto:)([^)#\s]+)")


def blocks(lang: str) -> list[tuple[Path, int, str]]:
    found = []
    for page in DOCS:
        text = page.read_text(encoding="utf-8")
        for match in _FENCE.finditer(text):
            if match.group("lang") == lang:
                line = text.count("\n", 0, match.start()) + 2
                found.append((page, line, match.group("code")))
    return found


def test_there_are_docs_to_check() -> None:
    names = {page.name for page in DOCS}
    assert {"README.md", "architecture.md", "operations.md"} <= names
    assert blocks("python")


@pytest.mark.parametrize(
    ("page", "line", "code"),
    [pytest.param(*block, id=f"{block[0].name}:{block[1]}") for block in blocks("python")],
)
def test_python_blocks_compile_and_import_what_exists(page: Path, line: int, code: str) -> None:
    where = f"{page.name}:{line}"
    # Snippets may show `await bridge.install()` at the top level, as in a REPL.
    tree = compile(code, where, "exec", flags=ast.PyCF_ONLY_AST | ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    compile(tree, where, "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in PACKAGES:
            module = importlib.import_module(node.module or "")
            for alias in node.names:
                assert hasattr(module, alias.name), f"{where}: {node.module} has no {alias.name}"
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] in PACKAGES:
                    importlib.import_module(alias.name)


def settings_read_by_the_package() -> set[str]:
    """`BYOC_*` names that appear as a whole string literal in the packages' code."""
    read = set()
    for package in PACKAGES:
        for source in (ROOT / package).rglob("*.py"):
            text = source.read_text(encoding="utf-8")
            for token in tokenize.generate_tokens(io.StringIO(text).readline):
                if token.type != tokenize.STRING or "BYOC_" not in token.string:
                    continue
                try:
                    value = ast.literal_eval(token.string)
                except ValueError:
                    continue  # an f-string
                if isinstance(value, str) and _SETTING.fullmatch(value):
                    read.add(value)
    return read


def test_every_setting_the_docs_name_is_read_by_the_package() -> None:
    read = settings_read_by_the_package()
    assert "BYOC_FRESHCHAT_API_TOKEN" in read  # the scan itself works
    unknown = {
        f"{page.name}: {name}"
        for page in DOCS
        for name in _SETTING.findall(page.read_text(encoding="utf-8"))
        if name not in read and not IMAGINARY_SETTINGS.match(name)
    }
    assert not unknown, f"settings no code reads: {sorted(unknown)}"


def _subcommands(parser: ArgumentParser) -> dict[str, ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, _SubParsersAction):
            return dict(action.choices)
    return {}


def commands_in_docs() -> list[tuple[str, list[str]]]:
    """Each `byoc ...` command line in a shell block or inline code, as words."""
    found = []
    for page in DOCS:
        text = page.read_text(encoding="utf-8")
        lines = [
            line
            for match in _FENCE.finditer(text)
            if match.group("lang") in ("sh", "shell", "console", "bash")
            for line in match.group("code").splitlines()
        ]
        lines += _INLINE_CODE.findall(text)
        for line in lines:
            command = line.split("#", 1)[0].strip().removeprefix("$ ")
            if command.startswith("byoc "):
                found.append((page.name, shlex.split(command)[1:]))
    return found


def command_path(words: list[str]) -> list[str]:
    """The (sub)commands `byoc <words>` runs; AssertionError for a word the CLI does not know."""
    parser = build_parser()
    path: list[str] = []
    remaining = iter(words)
    for word in remaining:
        choices = _subcommands(parser)
        if not choices:
            break  # the command's own arguments follow
        if word.startswith("-"):
            action = parser._option_string_actions.get(word.split("=", 1)[0])
            assert action is not None, f"no option {word!r} in byoc {' '.join(path)}"
            if action.nargs != 0 and "=" not in word:
                next(remaining, None)  # its value
            continue
        assert word in choices, f"no command {word!r} in byoc {' '.join(path)}"
        parser = choices[word]
        path.append(word)
    return path


def test_every_byoc_command_in_the_docs_exists() -> None:
    shown = commands_in_docs()
    assert shown
    for page, words in shown:
        try:
            assert command_path(words), "names no command"
        except AssertionError as exc:
            raise AssertionError(f"{page}: byoc {' '.join(words)}: {exc}") from None


def test_relative_links_point_at_files() -> None:
    broken = []
    for page in DOCS:
        for target in _LINK.findall(page.read_text(encoding="utf-8")):
            path = (page.parent / target).resolve()
            if not path.exists() and path.name not in PAGES_WRITTEN_ELSEWHERE:
                broken.append(f"{page.name}: {target}")
    assert not broken, broken
