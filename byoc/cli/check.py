"""`byoc check`: validate the settings and try each credential; exit 1 on any failure.

The checks run at once, each given at most `--timeout` seconds, and each line is printed as its
check ends: a dead service costs one timeout, and the lines show what is still awaited.
"""

from __future__ import annotations

import argparse
import asyncio
import math
from typing import Any

from ..checks import DEFAULT_TIMEOUT, Finding, planned_subjects, run_checks
from .config import add_config_option, redact_logs, settings_from

__all__ = ["register", "run"]

_MARKS = {"ok": "ok  ", "warn": "warn", "fail": "FAIL", "skip": "--  "}
# "freshchat webhooks", the longest subject a check adds to the planned ones.
_MIN_WIDTH = 18


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "check",
        help="check the configuration and try the Freshchat and channel credentials",
        description="Check every setting, then make one read-only call with each credential "
        "(Freshchat GET /accounts/configuration, Viber get_account_info), all at once. Exits 1 "
        "if anything failed; each failure says how to fix it.",
    )
    parser.add_argument(
        "--timeout",
        type=_seconds,
        default=DEFAULT_TIMEOUT,
        metavar="SECONDS",
        help=f"how long each check may take (default {DEFAULT_TIMEOUT:g})",
    )
    add_config_option(parser)
    parser.set_defaults(run=run)


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds above 0")
    return value


def run(args: argparse.Namespace, rest: list[str]) -> int:
    settings = settings_from(args)
    redact_logs(settings)
    redactor = settings.redactor()
    subjects = planned_subjects(settings)
    width = max(_MIN_WIDTH, *(len(s) for s in subjects))
    print(f"checking {', '.join(subjects)} (at most {args.timeout:g} s each)", flush=True)

    def show(finding: Finding) -> None:
        message = redactor.redact(finding.message)
        print(f"[{_MARKS[finding.status]}] {finding.subject:<{width}}  {message}", flush=True)

    findings = asyncio.run(run_checks(settings, timeout=args.timeout, report=show))
    failed = sum(1 for f in findings if f.status == "fail")
    if failed:
        print(f"\n{failed} problem(s) to fix; the lines marked FAIL say how.")
        return 1
    print("\nall checks passed")
    return 0
