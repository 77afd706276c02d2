"""Channel plugins found through the entry-point group `byoc.channels`.

Built-in channels register exactly as third-party ones do, in their distribution's metadata:

```toml
[project.entry-points."byoc.channels"]
mychat = "byoc_mychat:MyChatChannel"
```

Plugins load lazily, by name, and each load is wrapped: a broken plugin is reported with its
error (`byoc channels`) and does not stop the others.
"""

from __future__ import annotations

from importlib.metadata import EntryPoint, entry_points

import attrs

from .channel import Channel
from .errors import PluginError

__all__ = ["CHANNELS_GROUP", "EMULATORS_GROUP", "PluginInfo", "discover", "load_channel_class"]

CHANNELS_GROUP = "byoc.channels"
EMULATORS_GROUP = "byoc.emulators"


@attrs.frozen(kw_only=True)
class PluginInfo:
    """One installed channel plugin, loaded or not."""

    name: str
    target: str
    distribution: str | None
    version: str | None
    channel_class: type[Channel] | None = None
    error: str | None = None


def _entry_points(group: str) -> list[EntryPoint]:
    return sorted(entry_points(group=group), key=lambda ep: ep.name)


def _load(ep: EntryPoint) -> type[Channel]:
    try:
        obj = ep.load()
    except Exception as exc:  # a third party's import error must not stop the others
        raise PluginError(ep.name, f"cannot be imported ({type(exc).__name__}: {exc})") from exc
    if not (isinstance(obj, type) and issubclass(obj, Channel)):
        raise PluginError(ep.name, f"{ep.value} is not a byoc.Channel subclass")
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
        )
        try:
            info = attrs.evolve(info, channel_class=_load(ep))
        except PluginError as exc:
            info = attrs.evolve(info, error=str(exc))
        found.append(info)
    return found


def load_channel_class(name: str) -> type[Channel]:
    """The channel class registered under `name`; `PluginError` when missing or broken."""
    matches = [ep for ep in _entry_points(CHANNELS_GROUP) if ep.name == name]
    if not matches:
        known = ", ".join(ep.name for ep in _entry_points(CHANNELS_GROUP)) or "none"
        raise PluginError(name, f"is not installed (installed channels: {known})")
    if len({ep.value for ep in matches}) > 1:
        targets = ", ".join(sorted({ep.value for ep in matches}))
        raise PluginError(name, f"is registered twice, by {targets}; uninstall one")
    return _load(matches[0])
