"""The store benchmark stays runnable (`python benchmarks/store.py`)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[3] / "benchmarks" / "store.py"


def test_the_benchmark_prints_every_store_and_operation() -> None:
    run = subprocess.run(
        [sys.executable, str(SCRIPT), "--ops", "20", "--concurrency", "4"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )

    header, *rows = run.stdout.splitlines()[1:]
    for store in ("memory", "sqlite FULL", "sqlite NORMAL"):
        assert store in header
    assert [row.split()[0] for row in rows] == ["get_link", "save_link", "claim"]
