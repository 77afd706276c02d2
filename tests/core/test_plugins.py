"""Plugins through entry points, as a third-party package registers them: channels, emulators
and demo kits load through one loader; a broken plugin is named and the others run."""

from __future__ import annotations

import importlib
import logging
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from byoc.channel import Channel
from byoc.errors import ConfigurationError, PluginError
from byoc.plugins import (
    DEMOS_GROUP,
    EMULATORS_GROUP,
    discover,
    load_channel_class,
    load_emulator,
    load_plugin,
)
from byoc.settings import load_settings

from .cli.support import clean_env, run_byoc

PACKAGE = '''
from byoc.demo import FakeDemo
from byoc.testing.fake_channel import FakeChannel


class EchoChannel(FakeChannel):
    """A messenger that lives in memory, configured by BYOC_ECHO_SECRET."""

    name = "echo"

    @classmethod
    def from_env(cls, env):
        from byoc.channel import require_setting

        return cls(secret=require_setting(env, "BYOC_ECHO_SECRET", "any string"))


class CrashingChannel(FakeChannel):
    """A plugin whose configuration has a bug."""

    name = "crashing"

    @classmethod
    def from_env(cls, env):
        return {}["missing"]


class MisnamedChannel(FakeChannel):
    name = "something-else"


class EchoDemo(FakeDemo):
    name = "echo"
    host = "echo.test"
    user_label = "Echo user"
    title = "Echo"


def emulate(argv):
    print("echo emulator serving with", argv)
    return 3
'''

ENTRY_POINTS = """
[byoc.channels]
echo = byoc_echo:EchoChannel
crashing = byoc_echo:CrashingChannel
misnamed = byoc_echo:MisnamedChannel
echo-broken = byoc_echo.broken:Nope
not-a-channel = byoc_echo:__name__

[byoc.emulators]
echo = byoc_echo:emulate
echo-broken = byoc_echo.broken:main

[byoc.demos]
echo = byoc_echo:EchoDemo
"""


@pytest.fixture
def third_party(tmp_path: Path) -> Iterator[Path]:
    """`byoc-echo` 1.2.3, installed: a channel, its emulator and demo kit, and broken ones."""
    pkg = tmp_path / "byoc_echo"
    pkg.mkdir()
    (pkg / "__init__.py").write_text(textwrap.dedent(PACKAGE))
    (pkg / "broken.py").write_text("raise ImportError('needs libecho 2')\n")
    dist = tmp_path / "byoc_echo-1.2.3.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: byoc-echo\nVersion: 1.2.3\n")
    (dist / "entry_points.txt").write_text(ENTRY_POINTS)
    sys.path.insert(0, str(tmp_path))
    importlib.invalidate_caches()
    try:
        yield tmp_path
    finally:
        sys.path.remove(str(tmp_path))
        for mod in [m for m in sys.modules if m.startswith("byoc_echo")]:
            del sys.modules[mod]


def with_plugin(where: Path, **settings: str) -> dict[str, str]:
    env = clean_env(**settings)
    env["PYTHONPATH"] = f"{env['PYTHONPATH']}:{where}"
    return env


def test_third_party_channel_is_discovered_and_loaded(third_party: Path) -> None:
    cls = load_channel_class("echo")
    assert issubclass(cls, Channel) and cls.name == "echo"
    echo = {p.name: p for p in discover()}["echo"]
    assert (echo.distribution, echo.version, echo.error) == ("byoc-echo", "1.2.3", None)
    assert echo.channel_class is cls


def test_broken_plugins_are_reported_without_stopping_others(third_party: Path) -> None:
    infos = {p.name: p for p in discover()}
    assert infos["echo"].channel_class is not None and infos["viber"].channel_class is not None
    broken = infos["echo-broken"]
    assert broken.channel_class is None and "needs libecho 2" in (broken.error or "")
    assert "not a byoc.Channel subclass" in (infos["not-a-channel"].error or "")
    with pytest.raises(PluginError, match="needs libecho 2"):
        load_channel_class("echo-broken")


def test_the_entry_point_name_must_be_the_channel_kind(third_party: Path) -> None:
    with pytest.raises(PluginError, match="says name = 'something-else'.*registered as 'misnamed'"):
        load_channel_class("misnamed")


def test_emulators_and_demo_kits_load_through_the_same_loader(third_party: Path) -> None:
    assert load_emulator("echo")(["--port", "0"]) == 3
    assert load_plugin(DEMOS_GROUP, "echo").__name__ == "EchoDemo"  # type: ignore[attr-defined]
    with pytest.raises(PluginError, match="'echo-broken': emulator cannot be imported"):
        load_emulator("echo-broken")
    with pytest.raises(PluginError, match="'nope': has no emulator installed"):
        load_plugin(EMULATORS_GROUP, "nope")


def test_missing_plugin_names_what_is_installed() -> None:
    with pytest.raises(PluginError, match="is not installed"):
        load_channel_class("no-such-channel")


def test_a_plugin_that_fails_to_configure_is_left_out_and_the_others_run(
    third_party: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = load_settings(
        {
            "BYOC_CHANNELS": "echo,crashing,echo-broken",
            "BYOC_ECHO_SECRET": "s3cret",
        }
    )
    with caplog.at_level(logging.ERROR, logger="byoc.settings"):
        choice = settings.choose_channels()
    assert [c.name for c in choice.enabled] == ["echo"]
    assert "from_env raised KeyError" in choice.broken["crashing"]
    assert "needs libecho 2" in choice.broken["echo-broken"]
    logged = caplog.text
    assert "channel=crashing" in logged and "channel=echo-broken" in logged


def test_without_a_list_broken_plugins_are_left_out_too(third_party: Path) -> None:
    choice = load_settings({"BYOC_ECHO_SECRET": "s3cret"}).choose_channels()
    assert [c.name for c in choice.enabled] == ["echo"]
    assert set(choice.broken) == {"crashing", "echo-broken", "misnamed", "not-a-channel"}
    assert "BYOC_VIBER_AUTH_TOKEN" in choice.skipped["viber"]


def test_a_named_channel_that_is_not_installed_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="BYOC_CHANNELS names 'nope'.*is not installed"):
        load_settings({"BYOC_CHANNELS": "nope"}).choose_channels()


def test_byoc_channels_names_broken_plugins_and_instances(third_party: Path) -> None:
    result = run_byoc("channels", env=with_plugin(third_party, BYOC_VIBER_EU_KIND="viber"))
    assert result.returncode == 1, result.stderr
    plugins, instances = result.stdout.split("channels of this configuration:\n")
    assert "BROKEN: channel plugin 'echo-broken'" in plugins and "byoc-echo 1.2.3" in plugins
    lines = {line.split()[0]: line for line in instances.splitlines()}
    assert lines["crashing"].split()[1:3] == ["kind", "crashing"]
    assert "BROKEN, left out" in lines["crashing"] and "KeyError" in lines["crashing"]
    assert "not enabled: BYOC_ECHO_SECRET is not set" in lines["echo"]
    assert lines["viber-eu"].split()[1:3] == ["kind", "viber"]
    assert "not enabled: BYOC_VIBER_EU_AUTH_TOKEN is not set" in lines["viber-eu"]


def test_byoc_emulate_runs_a_third_party_emulator(third_party: Path) -> None:
    result = run_byoc("emulate", "echo", "--port", "0", env=with_plugin(third_party))
    assert result.returncode == 3, result.stderr
    assert "echo emulator serving with ['--port', '0']" in result.stdout
    listed = run_byoc("emulate", "--help", env=with_plugin(third_party))
    assert "echo" in listed.stdout and "viber" in listed.stdout
    broken = run_byoc("emulate", "echo-broken", env=with_plugin(third_party))
    assert broken.returncode == 1
    assert "'echo-broken': emulator cannot be imported (ImportError: needs libecho 2)" in (
        broken.stderr
    )


def test_byoc_demo_plays_a_third_party_demo_kit(third_party: Path) -> None:
    result = run_byoc("demo", "--channel", "echo", env=with_plugin(third_party))
    assert result.returncode == 0, result.stderr
    assert "help-desk user echo:Alice" in result.stdout
    assert "Alice receives it on Echo" in result.stdout
