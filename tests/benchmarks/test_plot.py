"""The plotting script draws both figures from what a side-by-side run records."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "plot.py"
BRIDGES = ("floor", "naive", "byoc durable", "byoc inline", "main@abc1234 durable")


def test_both_figures_are_drawn_for_every_bridge(tmp_path: Path) -> None:
    results = [
        {
            "phase": phase,
            "latency_ms": latency,
            "bridge": bridge,
            "messages": 100,
            "cpu_us": 500.0 + 100 * index,
            "rate": 1000.0 / latency,
            "p50_ms": 1.0,
            "p99_ms": 2.0,
            "max_ms": 3.0,
            "calls": 1.0,
        }
        for phase in ("in", "out")
        for latency in (2.0, 20.0, 100.0)
        for index, bridge in enumerate(BRIDGES)
    ]
    recorded = tmp_path / "results.json"
    recorded.write_text(json.dumps({"results": results}))

    run = subprocess.run(
        [sys.executable, str(SCRIPT), str(recorded), "--out", str(tmp_path / "figures")],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )

    written = [Path(line) for line in run.stdout.split()]
    assert [p.name for p in written] == ["throughput.png", "cpu.png"]
    for path in written:
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert 5_000 < path.stat().st_size < 200_000
