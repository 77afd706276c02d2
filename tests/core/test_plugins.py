"""Channel discovery through entry points, as a third-party plugin would register."""

from __future__ import annotations

import importlib
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from byoc.channel import Channel
from byoc.errors import PluginError
from byoc.plugins import discover, load_channel_class


@pytest.fixture
def third_party(tmp_path: Path) -> Iterator[Path]:
    """A tiny installed distribution `byoc-echo` with one good and one broken channel."""
    pkg = tmp_path / "byoc_echo"
    pkg.mkdir()
    (pkg / "__init__.py").write_text(
        textwrap.dedent(
            """
            from byoc.testing.fake_channel import FakeChannel

            class EchoChannel(FakeChannel):
                name = "echo"
            """
        )
    )
    (pkg / "broken.py").write_text("raise ImportError('needs libecho 2')\n")
    dist = tmp_path / "byoc_echo-1.2.3.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: byoc-echo\nVersion: 1.2.3\n")
    (dist / "entry_points.txt").write_text(
        "[byoc.channels]\necho = byoc_echo:EchoChannel\necho-broken = byoc_echo.broken:Nope\n"
        "not-a-channel = byoc_echo:__name__\n"
    )
    sys.path.insert(0, str(tmp_path))
    importlib.invalidate_caches()
    try:
        yield tmp_path
    finally:
        sys.path.remove(str(tmp_path))
        for mod in [m for m in sys.modules if m.startswith("byoc_echo")]:
            del sys.modules[mod]


def test_third_party_channel_is_discovered_and_loaded(third_party: Path) -> None:
    cls = load_channel_class("echo")
    assert issubclass(cls, Channel) and cls.name == "echo"
    infos = {p.name: p for p in discover()}
    echo = infos["echo"]
    assert (echo.distribution, echo.version, echo.error) == ("byoc-echo", "1.2.3", None)


def test_broken_plugins_are_reported_without_stopping_others(third_party: Path) -> None:
    infos = {p.name: p for p in discover()}
    assert infos["echo"].channel_class is not None
    broken = infos["echo-broken"]
    assert broken.channel_class is None and "needs libecho 2" in (broken.error or "")
    assert "not a byoc.Channel subclass" in (infos["not-a-channel"].error or "")
    with pytest.raises(PluginError, match="needs libecho 2"):
        load_channel_class("echo-broken")


def test_missing_plugin_names_what_is_installed() -> None:
    with pytest.raises(PluginError, match="is not installed"):
        load_channel_class("no-such-channel")
