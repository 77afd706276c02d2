"""`byoc channels`: the installed channel plugins, with their distribution and any load error."""

from __future__ import annotations

import argparse
from typing import Any

from ..plugins import discover


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "channels", help="list installed channel plugins and whether they load"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, rest: list[str]) -> int:
    plugins = discover()
    if not plugins:
        print("no channel plugins installed (entry-point group byoc.channels)")
        return 0
    width = max(len(p.name) for p in plugins)
    failed = False
    for plugin in plugins:
        origin = f"{plugin.distribution or '?'} {plugin.version or ''}".strip()
        status = "ok" if plugin.error is None else f"BROKEN: {plugin.error}"
        failed = failed or plugin.error is not None
        print(f"{plugin.name:<{width}}  {origin:<20}  {plugin.target}  {status}")
    return 1 if failed else 0
