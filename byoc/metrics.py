"""Counters and histograms kept in memory, written out in Prometheus' text format.

Recording is a dictionary update (no lock: the bridge runs on one event loop), so the hot path
stays cheap; `Registry.render()` formats everything when `/metrics` is scraped.

```python
registry = Registry()
sent = registry.counter("byoc_messages_out_total", "Agent replies delivered.", ("channel",))
sent.inc("viber")
registry.render()   # ... byoc_messages_out_total{channel="viber"} 1
```
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable, Mapping, Sequence

__all__ = ["CONTENT_TYPE", "Counter", "Gauge", "Histogram", "Registry"]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

Labels = tuple[str, ...]

DEFAULT_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(names: Sequence[str], values: Sequence[str], extra: str = "") -> str:
    pairs = [f'{n}="{_escape(v)}"' for n, v in zip(names, values, strict=True)]
    if extra:
        pairs.append(extra)
    return "{" + ",".join(pairs) + "}" if pairs else ""


def _number(value: float) -> str:
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return str(int(value)) if float(value).is_integer() else repr(value)


class _Metric:
    kind = ""

    def __init__(self, name: str, help: str, labelnames: Sequence[str] = ()) -> None:
        self.name = name
        self.help = help
        self.labelnames = tuple(labelnames)

    def _check(self, labels: Labels) -> None:
        if len(labels) != len(self.labelnames):
            raise ValueError(f"{self.name} takes labels {self.labelnames}, got {labels}")

    def header(self) -> list[str]:
        return [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} {self.kind}"]

    def lines(self) -> list[str]:
        raise NotImplementedError


class Counter(_Metric):
    """A number that only goes up, per label values.

    Its value is `stored` (totals kept elsewhere, a store: see `byoc.counter_flush`) plus
    `values` (what this process counted and has not handed over yet). Counting touches
    `values` only.
    """

    kind = "counter"

    def __init__(self, name: str, help: str, labelnames: Sequence[str] = ()) -> None:
        super().__init__(name, help, labelnames)
        self.values: dict[Labels, float] = {}
        self.stored: dict[Labels, float] = {}

    def inc(self, *labels: str, amount: float = 1.0) -> None:
        self._check(labels)
        self.values[labels] = self.values.get(labels, 0.0) + amount

    def get(self, *labels: str) -> float:
        return self.stored.get(labels, 0.0) + self.values.get(labels, 0.0)

    def series(self) -> set[Labels]:
        """Every label set with a value, stored or counted here."""
        return self.stored.keys() | self.values.keys()

    def total(self, **match: str) -> float:
        """The sum over every label set whose labels include `match`."""
        index = {n: i for i, n in enumerate(self.labelnames)}
        return sum(
            self.get(*k) for k in self.series() if all(k[index[n]] == m for n, m in match.items())
        )

    def hand_over(self, amounts: Mapping[Labels, float]) -> None:
        """`amounts` of `values` reached the store: move them into `stored`."""
        for labels, amount in amounts.items():
            left = self.values.get(labels, 0.0) - amount
            if left:
                self.values[labels] = left
            else:
                self.values.pop(labels, None)
            self.stored[labels] = self.stored.get(labels, 0.0) + amount

    def lines(self) -> list[str]:
        return [
            f"{self.name}{_labels(self.labelnames, k)} {_number(self.get(*k))}"
            for k in sorted(self.series())
        ]


class Gauge(_Metric):
    """A value read when the metrics are rendered (set it just before)."""

    kind = "gauge"

    def __init__(self, name: str, help: str, labelnames: Sequence[str] = ()) -> None:
        super().__init__(name, help, labelnames)
        self.values: dict[Labels, float] = {}

    def set(self, value: float, *labels: str) -> None:
        self._check(labels)
        self.values[labels] = value

    def lines(self) -> list[str]:
        return [
            f"{self.name}{_labels(self.labelnames, k)} {_number(v)}"
            for k, v in sorted(self.values.items())
        ]


class Histogram(_Metric):
    """Observations counted in cumulative buckets, with their sum and count."""

    kind = "histogram"

    def __init__(
        self,
        name: str,
        help: str,
        labelnames: Sequence[str] = (),
        buckets: Iterable[float] = DEFAULT_BUCKETS,
    ) -> None:
        super().__init__(name, help, labelnames)
        self.buckets = tuple(sorted(buckets))
        # Per label set: counts per bucket (not cumulative; the last is +Inf), sum, count.
        self.counts: dict[Labels, list[int]] = {}
        self.sums: dict[Labels, float] = {}

    def observe(self, value: float, *labels: str) -> None:
        self._check(labels)
        counts = self.counts.get(labels)
        if counts is None:
            counts = self.counts[labels] = [0] * (len(self.buckets) + 1)
            self.sums[labels] = 0.0
        counts[bisect.bisect_left(self.buckets, value)] += 1
        self.sums[labels] += value

    def count(self, *labels: str) -> int:
        return sum(self.counts.get(labels, ()))

    def lines(self) -> list[str]:
        out = []
        for labels, counts in sorted(self.counts.items()):
            running = 0
            for bound, n in zip((*self.buckets, math.inf), counts, strict=True):
                running += n
                le = f'le="{_number(bound)}"'
                out.append(f"{self.name}_bucket{_labels(self.labelnames, labels, le)} {running}")
            out.append(f"{self.name}_sum{_labels(self.labelnames, labels)} {self.sums[labels]!r}")
            out.append(f"{self.name}_count{_labels(self.labelnames, labels)} {running}")
        return out


class Registry:
    """The metrics of one bridge, in the order they were made."""

    def __init__(self) -> None:
        self._metrics: dict[str, _Metric] = {}

    def _add(self, metric: _Metric) -> None:
        if metric.name in self._metrics:
            raise ValueError(f"a metric named {metric.name} exists already")
        self._metrics[metric.name] = metric

    def counter(self, name: str, help: str, labelnames: Sequence[str] = ()) -> Counter:
        made = Counter(name, help, labelnames)
        self._add(made)
        return made

    def gauge(self, name: str, help: str, labelnames: Sequence[str] = ()) -> Gauge:
        made = Gauge(name, help, labelnames)
        self._add(made)
        return made

    def histogram(
        self,
        name: str,
        help: str,
        labelnames: Sequence[str] = (),
        buckets: Iterable[float] = DEFAULT_BUCKETS,
    ) -> Histogram:
        made = Histogram(name, help, labelnames, buckets)
        self._add(made)
        return made

    def render(self) -> str:
        """Every metric in Prometheus' text exposition format (version 0.0.4)."""
        lines: list[str] = []
        for metric in self._metrics.values():
            lines.extend(metric.header())
            lines.extend(metric.lines())
        return "\n".join(lines) + "\n"

    def __getitem__(self, name: str) -> _Metric:
        return self._metrics[name]

    def counters(self) -> list[Counter]:
        """The counters, in the order they were made."""
        return [m for m in self._metrics.values() if isinstance(m, Counter)]

    def names(self) -> Mapping[str, str]:
        return {name: m.kind for name, m in self._metrics.items()}
