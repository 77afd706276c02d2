"""The side-by-side benchmark stays runnable: its quick mode, tiny counts, prints its tables."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "side_by_side.py"
BRIDGES = ("floor", "naive", "byoc durable", "byoc inline")
# Tiny counts at one latency: the script runs through, not a measurement.
QUICK = ["--quick", "--latencies", "2", "--users", "4", "--messages", "8", "--warm", "4"]
QUICK += ["--paced-seconds", "0.2", "--rate", "40"]


def run_quick(*extra: str) -> subprocess.CompletedProcess[str]:
    """The script in quick mode with `extra` arguments; it must exit 0."""
    run = subprocess.run(
        [sys.executable, str(SCRIPT), *QUICK, *extra],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    return run


def test_the_quick_mode_measures_every_bridge_both_ways(tmp_path: Path) -> None:
    results = tmp_path / "results.json"
    run = run_quick("--json", str(results))

    lines = run.stdout.splitlines()
    titles = [n for n, line in enumerate(lines) if "upstream 2 ms away" in line]
    assert len(titles) == 3  # user → agent, agent → user, the steady rate
    for title in titles:
        assert [line.split("  ")[0] for line in lines[title + 2 : title + 6]] == list(BRIDGES)
    assert "CPU µs/msg" in lines[titles[0] + 1]
    assert "targets (this run):" in run.stdout

    recorded = json.loads(results.read_text())["results"]
    assert {(r["phase"], r["bridge"]) for r in recorded} == {
        (phase, bridge) for phase in ("in", "out", "paced") for bridge in BRIDGES
    }
    # Every measured message reached the upstream: one call each for all but the naive bridge.
    assert all(r["calls"] == 1 for r in recorded if r["bridge"] != "naive")


def test_a_subset_of_bridges_runs_alone_and_is_profiled_while_measured(tmp_path: Path) -> None:
    profiles = tmp_path / "profiles"
    run = run_quick("--bridges", "floor,byoc inline", "--profile", str(profiles))

    lines = run.stdout.splitlines()
    title = next(n for n, line in enumerate(lines) if "user → agent" in line)
    assert [line.split("  ")[0] for line in lines[title + 2 : title + 4]] == [
        "floor",
        "byoc inline",
    ]
    names = {line.split("  ")[0] for line in lines if line.startswith(("floor", "naive", "byoc"))}
    assert names == {"floor", "byoc inline"}
    # Only byoc bridges are sampled, once per measured phase.
    assert sorted(p.name for p in profiles.iterdir()) == [
        "byoc-inline-in-2ms.txt",
        "byoc-inline-out-2ms.txt",
    ]
    assert all(p.stat().st_size > 0 for p in profiles.iterdir())
