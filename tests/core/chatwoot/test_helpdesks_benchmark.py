"""The help-desk benchmark stays runnable (`python benchmarks/helpdesks.py`), and its call counts
are the contract's: a new user's first message costs Freshchat three calls (and once, the lookup
of the channel conversations go to) and Chatwoot two; then one per message and none per reply."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[3] / "benchmarks" / "helpdesks.py"


def test_the_benchmark_puts_chatwoot_next_to_freshchat() -> None:
    run = subprocess.run(
        [sys.executable, str(SCRIPT), "--users", "4", "--messages", "3", "--replies", "2"],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    rows = {line.split()[0]: line.split()[1:] for line in run.stdout.splitlines()[3:] if line}
    first, steady, _, _, per_reply, _ = rows["freshchat"]
    assert (first, steady, per_reply) == ("3.25", "1.00", "0.00")
    first, steady, _, _, per_reply, _ = rows["chatwoot"]
    assert (first, steady, per_reply) == ("2.00", "1.00", "0.00")
