"""`DemoKit`: one channel's part of the demo, found through the entry-point group `byoc.demos`.

A channel plugin that ships an emulator can join the demo (`byoc demo`, and `byoc serve` without
help-desk credentials) by registering a kit under its channel's name:

```toml
[project.entry-points."byoc.demos"]
mychat = "byoc_mychat.testing.demo:MyChatDemo"
```

The kit is built with the demo's `VirtualNetwork`; it puts its emulator on the network, makes
the channel configured against it, and plays the channel's users. The core never imports a
plugin: kits are loaded by name through `byoc.plugins`, each load wrapped as a channel's is.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import TYPE_CHECKING

from ..asgi import ASGIApp
from ..channel import Channel
from ..plugins import DEMOS_GROUP, installed, load_plugin
from ..testing.network import VirtualNetwork

if TYPE_CHECKING:
    from ..bridge import Bridge

__all__ = ["DEMOS_GROUP", "DemoKit", "DemoKitFactory", "demo_kits", "load_demo_kit"]


class DemoKit(ABC):
    """An emulated messenger with its channel, and users a person or a script can play.

    - `name`: the channel's name; `host`: the emulator's host name on the virtual network.
    - `channel`: the channel plugin, configured to call the emulator.
    - `app`: the emulator's ASGI app; `byoc serve` mounts it at `/emulators/<name>/` so its
      control endpoints can be driven with curl. None when there is nothing to mount.
    """

    name: str
    host: str
    user_label: str = "user"
    """How the demo names this channel's users ("Viber user")."""
    title: str = ""
    """How the demo names the messenger in a sentence ("Viber"); the channel name if empty."""

    @property
    @abstractmethod
    def channel(self) -> Channel:
        """The channel, configured against the emulator."""

    @property
    def app(self) -> ASGIApp | None:
        return None

    async def connect(self, bridge: Bridge) -> None:
        """Called once the bridge is attached: register its webhook with the emulator."""
        await bridge.install([self.name])

    @abstractmethod
    async def user_says(self, user: str, text: str) -> None:
        """The user named `user` (made on first use) writes `text` to the business."""

    @abstractmethod
    def user_id(self, user: str) -> str:
        """The channel's id of the user named `user` (made on first use)."""

    @abstractmethod
    def received(self, user: str) -> list[str]:
        """What the user has received so far, as text, oldest first."""

    async def settle(self) -> None:
        """Wait until what the emulator sends (webhooks, callbacks) has been answered."""

    def control_hints(self, base_url: str) -> list[str]:
        """Shell commands that let a person act as a user of the mounted emulator."""
        return []

    async def aclose(self) -> None:
        """Release what the kit made."""


DemoKitFactory = Callable[[VirtualNetwork], DemoKit]


def demo_kits() -> dict[str, str]:
    """The installed kits: channel name → entry-point target."""
    return installed(DEMOS_GROUP)


def load_demo_kit(name: str) -> DemoKitFactory:
    """The kit factory registered for channel `name`; `PluginError` when missing or broken."""
    factory = load_plugin(DEMOS_GROUP, name)
    assert callable(factory)  # checked by the loader
    return factory
