"""`byoc emulate NAME [options]`: run a bundled emulator (Freshchat, or a channel's) as a server.

Emulators register in the entry-point group `byoc.emulators` (a third-party channel's too),
each as a `main(argv) -> int` that parses its own options (`byoc emulate viber --help`); they
load through `byoc.plugins`, like channels.
"""

from __future__ import annotations

import argparse
from typing import Any

from ..plugins import EMULATORS_GROUP, installed, load_emulator


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "emulate",
        help="run an emulator of Freshchat or a channel (byoc emulate NAME --help)",
        add_help=False,
    )
    parser.add_argument("name", nargs="?", help="freshchat, viber, kakao, kakao-chatbot, ...")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, rest: list[str]) -> int:
    if args.name is None or args.name in ("-h", "--help"):
        print("usage: byoc emulate NAME [options]   (NAME --help for its options)")
        print("emulators: " + (", ".join(sorted(installed(EMULATORS_GROUP))) or "none installed"))
        return 0 if args.name else 2
    # A missing or broken emulator is a PluginError naming it: `byoc` prints it, exit 1.
    return load_emulator(args.name)(rest)
