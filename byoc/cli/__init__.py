"""The `byoc` command. Each subcommand lives in its own module and registers itself here.

Exit codes: 0 success, 1 the operation failed (the message says why and how to fix it),
2 bad usage (argparse's convention).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

from ..errors import ByocError
from ..redaction import Redactor
from ..settings import load_settings
from . import channels, check, dead_letters, demo, emulate, install, serve
from .config import add_config_option

__all__ = ["main"]

_COMMANDS = (demo, serve, install, check, channels, dead_letters, emulate)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="byoc",
        description="Bring your own channel to Freshchat: bridge messengers to the help desk.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug details")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for command in _COMMANDS:
        command.register(sub)
    # Every command reads its settings from the environment over one TOML file.
    for command_parser in sub.choices.values():
        if not any("--config" in action.option_strings for action in command_parser._actions):
            add_config_option(command_parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    parser = build_parser()
    args, rest = parser.parse_known_args(argv)
    if rest and args.command != "emulate":
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if not args.verbose:
        # One line per HTTP request is the hop log's job, with the ids that matter.
        logging.getLogger("httpx").setLevel(logging.WARNING)
    try:
        if args.config is not None:
            # A missing or malformed file is the same clear error whatever the command.
            load_settings(config_file=args.config)
        code: int = args.run(args, rest)
    except ByocError as exc:
        # Messages never quote a credential on purpose; this catches one that slipped in.
        print(f"byoc: {Redactor.from_settings(os.environ).redact(str(exc))}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return code
