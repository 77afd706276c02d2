"""`byoc emulate NAME [options]`: run a bundled emulator (Freshchat, or a channel's) as a server.

Emulators register in the entry-point group `byoc.emulators`, each as a `main(argv) -> int`
that parses its own options (`byoc emulate viber --help`).
"""

from __future__ import annotations

import argparse
from importlib.metadata import entry_points
from typing import Any

from ..errors import PluginError
from ..plugins import EMULATORS_GROUP


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "emulate",
        help="run an emulator of Freshchat or a channel (byoc emulate NAME --help)",
        add_help=False,
    )
    parser.add_argument("name", nargs="?", help="freshchat, viber, kakao, kakao-chatbot, ...")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, rest: list[str]) -> int:
    available = {ep.name: ep for ep in entry_points(group=EMULATORS_GROUP)}
    if args.name is None or args.name in ("-h", "--help"):
        print("usage: byoc emulate NAME [options]   (NAME --help for its options)")
        print("emulators: " + (", ".join(sorted(available)) or "none installed"))
        return 0 if args.name else 2
    ep = available.get(args.name)
    if ep is None:
        raise PluginError(
            args.name, f"no such emulator (available: {', '.join(sorted(available)) or 'none'})"
        )
    emulator_main = ep.load()
    code: int = emulator_main(rest)
    return code
