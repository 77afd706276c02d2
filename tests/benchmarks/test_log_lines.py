"""The log-line benchmark stays runnable (`python benchmarks/log_lines.py`)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "log_lines.py"


def test_the_benchmark_prints_every_variant() -> None:
    run = subprocess.run(
        [sys.executable, str(SCRIPT), "--lines", "200"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )

    header, *rows = run.stdout.splitlines()
    assert "CPU µs" in header
    assert len(rows) == 6
    assert all(float(row.split()[-1]) > 0 for row in rows)
