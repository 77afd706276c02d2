"""The store benchmark stays runnable (`python benchmarks/store.py`)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[3] / "benchmarks" / "store.py"


def run(*args: str) -> str:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return done.stdout


def test_the_benchmark_prints_every_store_and_operation() -> None:
    header, *rows = run("--ops", "20", "--concurrency", "4").splitlines()[1:]
    for store in ("memory", "sqlite FULL", "sqlite NORMAL"):
        assert store in header
    assert [row.split()[0] for row in rows] == ["get_link", "save_link", "claim"]


def test_the_claim_latency_benchmark_prints_percentiles() -> None:
    output = run("--claims-table", "300", "--samples", "40")
    rows = [line.split() for line in output.splitlines() if line.startswith("sqlite ")]
    assert [row[:2] for row in rows] == (
        [["sqlite", "FULL"]] * 2 + [["sqlite", "inline"]] * 2 + [["sqlite", "NORMAL"]] * 2
    )
    for row in rows:  # store, how, then p50, p99, p99.9 and max in milliseconds
        p50, p99, p999, top = map(float, row[-4:])
        assert 0 < p50 <= p99 <= p999 <= top
