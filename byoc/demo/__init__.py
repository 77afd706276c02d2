"""The demo: the bridge on the bundled emulators, in one process (`byoc demo`, `byoc serve`).

- `kit`: `DemoKit`, one channel's emulator and users, found through `byoc.demos` entry points;
- `fake`: the kit of `FakeChannel`, used when no installed channel ships one;
- `world`: `DemoWorld`, everything wired together and served as one ASGI app;
- `script`: the scripted round trip and the interactive mode of `byoc demo`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from ..errors import PluginError
from .fake import FakeDemo
from .kit import DEMOS_GROUP, DemoKit, DemoKitFactory, demo_kits, load_demo_kit
from .world import DEMO_LABEL, DemoWorld

__all__ = [
    "DEMOS_GROUP",
    "DEMO_LABEL",
    "DemoKit",
    "DemoKitFactory",
    "DemoWorld",
    "FakeDemo",
    "choose_kits",
    "demo_kits",
    "load_demo_kit",
]

log = logging.getLogger("byoc.demo")

PREFERRED = "viber"


def choose_kits(names: Sequence[str] | None = None, *, every: bool = False) -> list[DemoKitFactory]:
    """The kits to run.

    `names` are loaded as given (`fake` is the built-in `FakeChannel` kit; a missing or broken
    kit raises `PluginError`). Otherwise: every installed kit when `every`, else the Viber kit
    when installed; the fake messenger when none loads.
    """
    if names:
        return [FakeDemo if name == "fake" else load_demo_kit(name) for name in names]
    wanted = sorted(demo_kits()) if every else [PREFERRED] if PREFERRED in demo_kits() else []
    chosen: list[DemoKitFactory] = []
    for name in wanted:
        try:
            chosen.append(load_demo_kit(name))
        except PluginError as exc:
            log.warning("%s; left out of the demo", exc)
    return chosen or [FakeDemo]
