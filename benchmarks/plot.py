"""Plots of a side-by-side run: `python benchmarks/plot.py RESULTS.json [--out docs/benchmarks]`.

Reads what `side_by_side.py --json RESULTS.json` wrote and draws two small PNGs:

- `throughput.png`: messages per second against the upstream latency, one line per bridge,
  user messages on the left and agent replies on the right;
- `cpu.png`: CPU µs per message of each bridge as bars, one group per upstream latency,
  both directions.

Needs matplotlib (`pip install 'byoc[bench]'`).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only, no display

import matplotlib.pyplot as plt  # noqa: E402

DIRECTIONS = (("in", "user → agent"), ("out", "agent → user"))
# The hand-written bridges first, then byoc as built here, then any baseline revision.
FIXED = ("floor", "naive", "byoc durable", "byoc inline")


def bridges(results: list[dict[str, Any]]) -> list[str]:
    named = {r["bridge"] for r in results}
    return [b for b in FIXED if b in named] + sorted(named - set(FIXED))


# Each baseline revision in its own dash (lines) and hatch (bars), in byoc's colours.
_BASELINE_LOOKS = (("--", "//"), ("-.", ".."), ((0, (1, 1)), "xx"))


def style(bridge: str, names: list[str]) -> dict[str, Any]:
    """Hand-written bridges grey, byoc in colour, each baseline in the same colours, dashed."""
    if bridge == "floor":
        return {"color": "0.2", "linestyle": ":", "hatch": None}
    if bridge == "naive":
        return {"color": "0.55", "linestyle": ":", "hatch": None}
    colour = "tab:blue" if bridge.endswith("durable") else "tab:orange"
    if bridge.startswith("byoc "):
        return {"color": colour, "linestyle": "-", "hatch": None}
    revisions = list(dict.fromkeys(n.rsplit(" ", 1)[0] for n in names if n not in FIXED))
    dash, hatch = _BASELINE_LOOKS[revisions.index(bridge.rsplit(" ", 1)[0]) % 3]
    return {"color": colour, "linestyle": dash, "hatch": hatch}


def save(figure: Any, axes: Any, ylabel: str, path: Path) -> Path:
    """Label, add one legend for both panels (on the right, clear of the data), write `path`."""
    axes[0].set_ylabel(ylabel)
    handles, labels = axes[0].get_legend_handles_labels()
    figure.legend(handles, labels, fontsize=7, loc="center right", frameon=False)
    figure.tight_layout(rect=(0, 0, 0.8, 1))
    figure.savefig(path, dpi=90)
    plt.close(figure)
    return path


def throughput(results: list[dict[str, Any]], out: Path) -> Path:
    names = bridges(results)
    figure, axes = plt.subplots(1, 2, figsize=(10, 3.4), sharey=True)
    for axis, (phase, title) in zip(axes, DIRECTIONS, strict=True):
        for bridge in names:
            rows = sorted(
                (r for r in results if r["phase"] == phase and r["bridge"] == bridge),
                key=lambda r: r["latency_ms"],
            )
            look = style(bridge, names)
            if rows:
                axis.plot(
                    [r["latency_ms"] for r in rows],
                    [r["rate"] for r in rows],
                    marker="o",
                    label=bridge,
                    color=look["color"],
                    linestyle=look["linestyle"],
                )
        latencies = sorted({r["latency_ms"] for r in results if r["phase"] == phase})
        axis.set_xscale("log")
        axis.set_xticks(latencies, [f"{latency:g}" for latency in latencies])
        axis.minorticks_off()
        axis.set_title(title, fontsize=10)
        axis.set_xlabel("upstream latency (ms)")
        axis.grid(alpha=0.3)
    return save(figure, axes, "messages / s", out / "throughput.png")


def cpu(results: list[dict[str, Any]], out: Path) -> Path:
    latencies = sorted({r["latency_ms"] for r in results if r["phase"] in ("in", "out")})
    names = bridges(results)
    figure, axes = plt.subplots(1, 2, figsize=(10, 3.4), sharey=True)
    width = 0.8 / max(1, len(names))
    for axis, (phase, title) in zip(axes, DIRECTIONS, strict=True):
        for index, bridge in enumerate(names):
            values = [
                next(
                    (
                        r["cpu_us"]
                        for r in results
                        if (r["phase"], r["bridge"], r["latency_ms"]) == (phase, bridge, latency)
                    ),
                    0.0,
                )
                for latency in latencies
            ]
            look = style(bridge, names)
            axis.bar(
                [x + index * width for x in range(len(latencies))],
                values,
                width,
                label=bridge,
                color=look["color"],
                hatch=look["hatch"],
                edgecolor="white",
            )
        axis.set_xticks([x + width * (len(names) - 1) / 2 for x in range(len(latencies))])
        axis.set_xticklabels([f"{latency:g} ms" for latency in latencies])
        axis.set_title(title, fontsize=10)
        axis.set_xlabel("upstream latency")
        axis.grid(axis="y", alpha=0.3)
    return save(figure, axes, "CPU µs per message", out / "cpu.png")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("results", type=Path, help="the JSON side_by_side.py --json wrote")
    parser.add_argument("--out", type=Path, default=Path("docs/benchmarks"))
    args = parser.parse_args()
    results = json.loads(args.results.read_text())["results"]
    args.out.mkdir(parents=True, exist_ok=True)
    for path in (throughput(results, args.out), cpu(results, args.out)):
        print(path)


if __name__ == "__main__":
    main()
