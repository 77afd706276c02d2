"""Plugins found through entry points: channels, their emulators and their demo kits.

Built-in channels register exactly as third-party ones do, in their distribution's metadata,
each group under the channel's kind:

```toml
[project.entry-points."byoc.channels"]
mychat = "byoc_mychat:MyChatChannel"              # a Channel subclass whose name is "mychat"

[project.entry-points."byoc.emulators"]
mychat = "byoc_mychat.testing.server:main"        # main(argv) -> int, for `byoc emulate mychat`

[project.entry-points."byoc.demos"]
mychat = "byoc_mychat.testing.demo:MyChatDemo"    # a DemoKit factory, for `byoc demo`
```

One loader serves the three groups: plugins load lazily, by name, and each load is wrapped,
so a plugin that fails to import (or is not what its group needs) is reported with its error
(`byoc channels`, the log) and does not stop the others.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib.metadata import EntryPoint, entry_points

import attrs

from .channel import Channel
from .errors import PluginError

__all__ = [
    "CHANNELS_GROUP",
    "DEMOS_GROUP",
    "EMULATORS_GROUP",
    "PluginInfo",
    "discover",
    "installed",
    "load_channel_class",
    "load_emulator",
    "load_plugin",
]

CHANNELS_GROUP = "byoc.channels"
EMULATORS_GROUP = "byoc.emulators"
DEMOS_GROUP = "byoc.demos"

_WHAT = {
    CHANNELS_GROUP: "channel",
    EMULATORS_GROUP: "emulator",
    DEMOS_GROUP: "demo kit",
}

EmulatorMain = Callable[[list[str]], int]
"""An emulator's entry point: parses its own options, serves, returns the exit code."""


@attrs.frozen(kw_only=True)
class PluginInfo:
    """One installed plugin of a group, loaded or not (`error` says why not)."""

    name: str
    target: str
    distribution: str | None
    version: str | None
    group: str = CHANNELS_GROUP
    loaded: object | None = None
    error: str | None = None

    @property
    def channel_class(self) -> type[Channel] | None:
        """The channel class, for a channel plugin that loaded."""
        if self.group == CHANNELS_GROUP and isinstance(self.loaded, type):
            return self.loaded
        return None


def _entry_points(group: str) -> list[EntryPoint]:
    return sorted(entry_points(group=group), key=lambda ep: ep.name)


def _check(group: str, ep: EntryPoint, obj: object) -> None:
    """Raise `PluginError` when `obj` is not what `group` needs."""
    if group == CHANNELS_GROUP:
        if not (isinstance(obj, type) and issubclass(obj, Channel)):
            raise PluginError(ep.name, f"{ep.value} is not a byoc.Channel subclass")
        kind = getattr(obj, "name", None)
        if kind != ep.name:
            raise PluginError(
                ep.name,
                f"{ep.value} says name = {kind!r}, but it is registered as {ep.name!r}; a "
                "channel's class-level name must equal its entry-point name",
            )
    elif not callable(obj):
        raise PluginError(ep.name, f"{_WHAT.get(group, 'plugin')} {ep.value} is not callable")


def _load(group: str, ep: EntryPoint) -> object:
    what = _WHAT.get(group, "plugin")
    try:
        obj = ep.load()
    except Exception as exc:  # a third party's import error must not stop the others
        raise PluginError(
            ep.name, f"{what} cannot be imported ({type(exc).__name__}: {exc})"
        ) from exc
    _check(group, ep, obj)
    return obj


def discover(group: str = CHANNELS_GROUP) -> list[PluginInfo]:
    """Every plugin in `group`, each loaded, with the error that stopped it if any."""
    found = []
    for ep in _entry_points(group):
        dist = ep.dist
        info = PluginInfo(
            name=ep.name,
            target=ep.value,
            distribution=dist.name if dist is not None else None,
            version=dist.version if dist is not None else None,
            group=group,
        )
        try:
            info = attrs.evolve(info, loaded=_load(group, ep))
        except PluginError as exc:
            info = attrs.evolve(info, error=str(exc))
        found.append(info)
    return found


def installed(group: str = CHANNELS_GROUP) -> dict[str, str]:
    """The names registered in `group` and their targets, without loading anything."""
    return {ep.name: ep.value for ep in _entry_points(group)}


def load_plugin(group: str, name: str) -> object:
    """The object registered under `name` in `group`; `PluginError` when missing, registered
    twice, broken, or not what the group needs."""
    matches = [ep for ep in _entry_points(group) if ep.name == name]
    what = _WHAT.get(group, "plugin")
    if not matches:
        known = ", ".join(installed(group)) or "none"
        if group == CHANNELS_GROUP:
            raise PluginError(name, f"is not installed (installed channels: {known})")
        raise PluginError(name, f"has no {what} installed ({what}s: {known})")
    if len({ep.value for ep in matches}) > 1:
        targets = ", ".join(sorted({ep.value for ep in matches}))
        raise PluginError(name, f"is registered twice, by {targets}; uninstall one")
    return _load(group, matches[0])


def load_channel_class(name: str) -> type[Channel]:
    """The channel class registered under `name`; `PluginError` when missing or broken."""
    cls = load_plugin(CHANNELS_GROUP, name)
    assert isinstance(cls, type) and issubclass(cls, Channel)  # checked by _load
    return cls


def load_emulator(name: str) -> EmulatorMain:
    """The `main(argv) -> int` of the emulator registered under `name`."""
    main = load_plugin(EMULATORS_GROUP, name)
    assert callable(main)  # checked by _load
    return main
