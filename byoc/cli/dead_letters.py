"""`byoc dead-letters list|show|replay|drop`: what could not be delivered, and what to do.

Each dead letter is listed with the job it was (`job=17` in the log lines of its tries), and
every text that came from upstream or from the store is shown through
`byoc.redaction.displayable` with the settings' credentials.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from datetime import datetime, timezone
from typing import Any

from ..reachability import replaying
from ..redaction import Redactor, displayable
from ..store.queue import DeadLetter
from .config import open_existing_store, settings_from


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "dead-letters", help="list, inspect, replay or drop messages that could not be delivered"
    )
    parser.add_argument(
        "--store",
        help="store location (default: BYOC_STORE, from the environment or --config, else "
        "byoc.sqlite3)",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    actions.add_parser("list", help="one line per dead letter")
    for name, text in (
        ("show", "everything about one dead letter"),
        ("replay", "queue it again; a running bridge delivers it"),
        ("drop", "delete it for good"),
    ):
        actions.add_parser(name, help=text).add_argument("id", type=int)
    parser.set_defaults(run=run)


def _when(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%d %H:%M:%SZ")


_HEADER = f"{'#':>6}  {'job':>6}  {'died at (UTC)':<20}  {'lane':<30}  why (last error)"


def _summary(dead: DeadLetter, redactor: Redactor) -> str:
    last = dead.job.attempts[-1].error if dead.job.attempts else ""
    return displayable(
        f"{dead.id:>6}  {dead.job.id:>6}  {_when(dead.died_at)}  {dead.job.lane:<30}  "
        f"{dead.reason}  ({last[:500]})",
        redactor,
    )


def run(args: argparse.Namespace, rest: list[str]) -> int:
    return asyncio.run(_run(args))


async def _run(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    redactor = settings.redactor()
    store = open_existing_store(args.store or settings.store_url.reveal())
    try:
        if args.action == "list":
            letters = await store.dead_letters(limit=1000)
            if letters:
                print(_HEADER)
            for dead in letters:
                print(_summary(dead, redactor))
            if not letters:
                print("no dead letters")
            return 0
        if args.action == "show":
            found = await store.dead_letter(args.id)
            if found is None:
                print(f"no dead letter {args.id}")
                return 1
            print(_HEADER)
            print(_summary(found, redactor))
            print(f"tries of job {found.job.id} (the log's job={found.job.id}):")
            for attempt in found.job.attempts:
                print(f"    {_when(attempt.at)}  {displayable(attempt.error, redactor)}")
            payload = json.dumps(json.loads(found.job.payload), indent=2, ensure_ascii=False)
            print(displayable(payload, redactor))
            return 0
        if args.action == "replay":
            replayed = await store.dead_letter(args.id)
            if replayed is not None:
                # The user of a reply gets another chance, as from the admin page.
                await replaying(store, replayed.job)
            job_id = await store.replay(args.id, now=datetime.now(timezone.utc).timestamp())
            if job_id is None:
                print(f"no dead letter {args.id}")
                return 1
            print(f"dead letter {args.id} queued again as job {job_id}")
            return 0
        dropped = await store.drop(args.id)
        print(f"dead letter {args.id} dropped" if dropped else f"no dead letter {args.id}")
        return 0 if dropped else 1
    finally:
        await store.aclose()
