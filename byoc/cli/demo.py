"""`byoc demo`: watch a message go from an (emulated) user to an (emulated) agent and back.

Everything runs in this process: the bridge, the help desk's emulator (Freshchat's, or
Chatwoot's with `--helpdesk chatwoot`) and the channel's emulator (Viber's when installed, else
the in-memory fake messenger). Nothing leaves the machine and no credential is needed.
`--interactive` reads `user: ...` / `agent: ...` lines from standard input.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from typing import Any

__all__ = ["register", "run"]

HELPDESKS = ("freshchat", "chatwoot")


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "demo",
        help="a message round trip between an emulated user and an emulated agent",
        description="Run the bridge on the bundled emulators and show a message going from a "
        "user to the help desk's agent and back. Nothing leaves this machine.",
    )
    parser.add_argument(
        "--helpdesk",
        choices=HELPDESKS,
        type=str.lower,
        help="the help desk to play: freshchat or chatwoot (default: BYOC_MESSAGING, else "
        "freshchat)",
    )
    parser.add_argument(
        "--channel",
        metavar="NAME",
        help="the channel to play (default: viber when installed, else the fake messenger)",
    )
    parser.add_argument(
        "--interactive",
        "-i",
        action="store_true",
        help='type "user: <text>" and "agent: <text>" lines yourself (read from standard input)',
    )
    parser.set_defaults(run=run)


async def _run(args: argparse.Namespace) -> int:
    # Imported here: the demo loads every emulator, which other commands never need.
    from ..demo import DemoWorld, choose_kits
    from ..demo.script import DemoFailed, channel_title, interactive, round_trip

    helpdesk = args.helpdesk or os.environ.get("BYOC_MESSAGING", "").strip().lower() or "freshchat"
    if helpdesk not in HELPDESKS:
        print(
            f"byoc demo: BYOC_MESSAGING must be freshchat or chatwoot, not {helpdesk!r}",
            file=sys.stderr,
        )
        return 2
    world = DemoWorld(choose_kits([args.channel] if args.channel else None), helpdesk=helpdesk)
    kit, desk = world.kits[0], world.helpdesk.title
    try:
        await world.start()
        if args.interactive:
            print(
                f"byoc demo: the bridge, an emulated {desk} account and an emulated "
                f"{channel_title(kit)} account, in this process.",
                flush=True,
            )
            return await interactive(
                world, kit, sys.stdin.readline, sys.stdout, prompt=sys.stdin.isatty()
            )
        print(
            f"byoc demo: a {kit.user_label} writes to the business, a {desk} agent answers.\n"
            f"The bridge, an emulated {desk} account and an emulated "
            f"{channel_title(kit)} account run in this process; nothing leaves this machine.\n",
            flush=True,
        )
        try:
            seconds = await round_trip(world, kit, sys.stdout)
        except DemoFailed as exc:
            print(f"\nbyoc demo failed: {exc}", file=sys.stderr)
            return 1
        print(
            f"\nRound trip done in {seconds:.2f} s.\n"
            "Next: `byoc demo --interactive` to type as the user and the agent, `byoc serve` to "
            "run it as a server (admin page, curl the emulators), docs/quickstart.md to connect "
            "a real Viber bot.",
            flush=True,
        )
        return 0
    finally:
        await world.aclose()


def run(args: argparse.Namespace, rest: list[str]) -> int:
    if not args.verbose:
        # The demo narrates; the bridge's own log lines are there with -v.
        logging.getLogger("byoc").setLevel(logging.WARNING)
    return asyncio.run(_run(args))
