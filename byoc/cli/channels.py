"""`byoc channels`: the installed channel plugins, and the channel instances the settings make.

Two lists: every plugin of the entry-point group `byoc.channels` with its distribution and any
load error; then every instance the settings name or imply (`viber`, `viber-eu` of kind
`viber`), enabled, not configured (and why), or broken. Exit code 1 when anything is broken.
"""

from __future__ import annotations

import argparse
from typing import Any

from ..errors import ConfigurationError
from ..plugins import discover
from .config import add_config_option, settings_from


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "channels",
        help="list installed channel plugins and the channels the settings enable",
    )
    add_config_option(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, rest: list[str]) -> int:
    plugins = discover()
    if not plugins:
        print("no channel plugins installed (entry-point group byoc.channels)")
        return 0
    failed = False
    print("installed channel plugins:")
    width = max(len(p.name) for p in plugins)
    target_width = max(len(p.target) for p in plugins)
    for plugin in plugins:
        origin = f"{plugin.distribution or '?'} {plugin.version or ''}".strip()
        status = "ok" if plugin.error is None else f"BROKEN: {plugin.error}"
        failed = failed or plugin.error is not None
        print(f"  {plugin.name:<{width}}  {origin:<16}  {plugin.target:<{target_width}}  {status}")
    print("channels of this configuration:")
    try:
        choice = settings_from(args).choose_channels()
    except ConfigurationError as exc:
        print(f"  cannot be built: {exc}")
        return 1
    rows = [(c.name, "enabled") for c in choice.enabled]
    rows += [(name, f"not enabled: {why}") for name, why in choice.skipped.items()]
    rows += [(name, f"BROKEN, left out: {error}") for name, error in choice.broken.items()]
    failed = failed or bool(choice.broken)
    width = max([len(name) for name, _ in rows] or [0])
    kinds = {name: f"kind {choice.kinds.get(name, name)}" for name, _ in rows}
    kind_width = max([len(kind) for kind in kinds.values()] or [0])
    for name, status in sorted(rows):
        print(f"  {name:<{width}}  {kinds[name]:<{kind_width}}  {status}")
    return 1 if failed else 0
