"""What one hop line costs to log, piece by piece: `python benchmarks/log_lines.py [--lines N]`.

A `helpdesk.posted` line (the ids of one delivered message) goes through the handler `byoc serve`
installs (a `RedactingFormatter` over a stream, here a file), with and without what cuts its
cost: the secret search skipped for lines of ids (`SECRET_FREE`), log records without the
caller's file and line or thread and process names (`byoc serve` switches those off), and a
level that is off (the line is then never formatted). Printed: CPU µs per line.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from byoc.hops import kv  # noqa: E402
from byoc.redaction import SECRET_FREE, RedactingFormatter, Redactor  # noqa: E402

FIELDS = {
    "hop": "helpdesk.posted",
    "channel": "viber",
    "channel_message_id": 5412345678901234567,
    "channel_user": "jc9HsWTZ2Yf2NkRZ8KcNug==",
    "helpdesk_user": "0a1b2c3d-1234-5678-9abc-def012345678",
    "conversation": "0a1b2c3d-1234-5678-9abc-def012345679",
    "helpdesk_message": "0a1b2c3d-1234-5678-9abc-def012345670",
}
SECRETS = ["4453b6ac12345678-e02c5f12174805f9-daec9cbb5448c51f", "fc-token-0123456789abcdef"]


def cost(action: Callable[[], object], lines: int) -> float:
    for _ in range(lines // 10):
        action()
    start = time.process_time()
    for _ in range(lines):
        action()
    return (time.process_time() - start) / lines * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=20000)
    args = parser.parse_args()
    log = logging.getLogger("byoc.hops")
    log.propagate = False
    with tempfile.TemporaryDirectory() as tmp, (Path(tmp) / "log").open("w") as out:
        handler = logging.StreamHandler(out)
        handler.setFormatter(
            RedactingFormatter(Redactor(SECRETS), "%(asctime)s %(levelname)s %(name)s: %(message)s")
        )
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        rows = [
            ("format the line only (str(kv(...)))", lambda: str(kv(**FIELDS))),
            ("log it, searched for secrets", lambda: log.info(kv(**FIELDS))),
            ("log it, SECRET_FREE", lambda: log.info(kv(**FIELDS), extra=SECRET_FREE)),
        ]
        results = [(label, cost(action, args.lines)) for label, action in rows]
        logging._srcfile = None
        logging.logThreads = False
        logging.logProcesses = False
        logging.logMultiprocessing = False
        results += [
            (f"{label}, lighter records", cost(action, args.lines)) for label, action in rows[1:]
        ]
        log.setLevel(logging.WARNING)
        results.append(
            ("level off: log.info(kv(...))", cost(lambda: log.info(kv(**FIELDS)), args.lines))
        )
    print(f"{'one hop line':50} {'CPU µs':>7}")
    for label, micros in results:
        print(f"{label:50} {micros:7.1f}")


if __name__ == "__main__":
    main()
