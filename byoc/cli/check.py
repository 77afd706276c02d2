"""`byoc check`: validate the settings and try each credential; exit 1 on any failure."""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from ..checks import run_checks
from .config import add_config_option, redact_logs, settings_from

__all__ = ["register", "run"]

_MARKS = {"ok": "ok  ", "warn": "warn", "fail": "FAIL", "skip": "--  "}


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "check",
        help="check the configuration and try the Freshchat and channel credentials",
        description="Check every setting, then make one read-only call with each credential "
        "(Freshchat GET /accounts/configuration, Viber get_account_info). Exits 1 if anything "
        "failed; each failure says how to fix it.",
    )
    add_config_option(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, rest: list[str]) -> int:
    settings = settings_from(args)
    redact_logs(settings)
    redactor = settings.redactor()
    findings = asyncio.run(run_checks(settings))
    width = max(len(f.subject) for f in findings)
    for finding in findings:
        message = redactor.redact(finding.message)
        print(f"[{_MARKS[finding.status]}] {finding.subject:<{width}}  {message}")
    failed = sum(1 for f in findings if f.status == "fail")
    if failed:
        print(f"\n{failed} problem(s) to fix; the lines marked FAIL say how.")
        return 1
    print("\nall checks passed")
    return 0
