"""Counters that survive restarts and add up across replicas: counted in memory, flushed in one
store write every few seconds.

Counting stays a dictionary update (`byoc.metrics.Counter.inc`): a store write per message would
cost more than the message. `CounterFlusher` adds what each counter gained since the last flush
to the store's totals (`Store.add_counts`) every `interval` seconds and at shutdown, then reads
the totals back, so a counter shows *stored totals + deltas not flushed yet*. On PostgreSQL
every replica adds to the same rows: the totals are the sum over replicas (each replica sees the
others' counts as of its last flush).

A flush that fails keeps its deltas for the next one; nothing is counted twice, since the
deltas move into the stored totals only once the write succeeded.

**Refusals.** The last webhook each endpoint refused is a value that replaces the one before,
not one that adds up, so it is kept as a setting row (`refused:<endpoint>`, JSON) written in
the same flush when it changed. Which endpoints have one is known from the stored refused
counter's labels.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable

from .hops import Hops, Refusal
from .metrics import Labels
from .store import Store

__all__ = [
    "DEFAULT_FLUSH_INTERVAL",
    "REFUSAL_SETTING",
    "CounterFlusher",
    "parse_series_key",
    "series_key",
]

log = logging.getLogger("byoc.counts")

DEFAULT_FLUSH_INTERVAL = 5.0
"""Seconds between flushes: what a crash (not a shutdown) may lose, at most."""

REFUSAL_SETTING = "refused:"
"""The prefix of the setting rows that hold each endpoint's last refusal."""

_REFUSED = "byoc_webhooks_refused_total"


def series_key(name: str, labels: Labels) -> str:
    """The store key of one series: `["<metric>", "<label value>", ...]` as JSON."""
    return json.dumps([name, *labels], ensure_ascii=False, separators=(",", ":"))


def parse_series_key(key: str) -> tuple[str, Labels] | None:
    """The metric name and label values of a store key; None for a key that is not one."""
    try:
        parts = json.loads(key)
    except ValueError:
        return None
    if not isinstance(parts, list) or not parts or not all(isinstance(p, str) for p in parts):
        return None
    return parts[0], tuple(parts[1:])


def _refusal_text(refusal: Refusal) -> str:
    return json.dumps(
        {"at": refusal.at, "status": refusal.status, "reason": refusal.reason},
        ensure_ascii=False,
    )


def _refusal_from_text(text: str) -> Refusal | None:
    try:
        fields = json.loads(text)
        return Refusal(
            at=float(fields["at"]), status=int(fields["status"]), reason=str(fields["reason"])
        )
    except (ValueError, KeyError, TypeError):
        return None


class CounterFlusher:
    """Keeps the counters of `hops` in `store` (see the module docstring).

    ```python
    flusher = CounterFlusher(hops, store)
    await flusher.start()    # loads the stored totals, then flushes every few seconds
    ...
    await flusher.stop()     # the last flush
    ```

    `sleep` waits between flushes (real time by default: housekeeping keeps pace with the
    machine, whatever clock rules the bridge's retries).
    """

    def __init__(
        self,
        hops: Hops,
        store: Store,
        *,
        interval: float = DEFAULT_FLUSH_INTERVAL,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.hops = hops
        self.store = store
        self.interval = interval
        self._sleep = sleep
        self._counters = {c.name: c for c in hops.registry.counters()}
        self._loaded = False
        self._saved_refusals: dict[str, Refusal] = {}
        self._task: asyncio.Task[None] | None = None
        self._flushing = asyncio.Lock()

    @property
    def loaded(self) -> bool:
        """Whether the stored totals were read at least once."""
        return self._loaded

    async def start(self) -> None:
        """Read the stored totals (unless done) and flush every `interval` seconds."""
        if self._task is not None:
            return
        await self.load()
        self._task = asyncio.get_running_loop().create_task(self._run(), name="byoc-counts")

    async def stop(self) -> None:
        """Stop the timer and flush what is left (a failure is logged: the store is going)."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        if not await self.flush():
            log.warning("counts of the last %.0f s could not be stored", self.interval)

    async def load(self) -> bool:
        """Read the stored totals once, if not read yet; False when the store failed (the next
        flush tries again)."""
        if self._loaded:
            return True
        try:
            await self._refresh()
            await self._load_refusals()
        except Exception as exc:
            log.warning("could not read the stored counts (%s); trying again later", exc)
            return False
        self._loaded = True
        return True

    async def flush(self) -> bool:
        """Add every counter's deltas to the store in one write, then read the totals back.

        Returns False when the store failed; the deltas are kept for the next flush.
        """
        async with self._flushing:
            if not await self.load():
                return False
            taken = {
                counter: dict(counter.values)
                for counter in self._counters.values()
                if counter.values
            }
            deltas = {
                series_key(counter.name, labels): round(amount)
                for counter, amounts in taken.items()
                for labels, amount in amounts.items()
            }
            try:
                await self.store.add_counts(deltas)
            except Exception as exc:
                log.warning("could not store the counts (%s); keeping them for later", exc)
                return False
            # Synchronous from here: nothing counted meanwhile is moved by mistake.
            for counter, amounts in taken.items():
                counter.hand_over(amounts)
            try:
                await self._save_refusals()
                await self._refresh()
            except Exception as exc:
                log.warning("could not finish storing the counts (%s); trying again later", exc)
                return False
            return True

    async def _run(self) -> None:
        while True:
            await self._sleep(self.interval)
            await self.flush()

    async def _refresh(self) -> None:
        """Replace each counter's `stored` with the store's totals (other replicas' too)."""
        totals: dict[str, dict[Labels, float]] = {name: {} for name in self._counters}
        for key, value in (await self.store.counts()).items():
            parsed = parse_series_key(key)
            if parsed is not None and parsed[0] in totals:
                totals[parsed[0]][parsed[1]] = float(value)
        for name, stored in totals.items():
            self._counters[name].stored = stored

    async def _load_refusals(self) -> None:
        refused = self._counters.get(_REFUSED)
        if refused is None:
            return
        for endpoint in sorted({labels[0] for labels in refused.stored}):
            text = await self.store.get_setting(REFUSAL_SETTING + endpoint)
            saved = None if text is None else _refusal_from_text(text)
            if saved is None:
                continue
            self._saved_refusals[endpoint] = saved
            mine = self.hops.last_refusal.get(endpoint)
            if mine is None or mine.at < saved.at:
                self.hops.last_refusal[endpoint] = saved

    async def _save_refusals(self) -> None:
        for endpoint, refusal in list(self.hops.last_refusal.items()):
            if self._saved_refusals.get(endpoint) != refusal:
                await self.store.set_setting(REFUSAL_SETTING + endpoint, _refusal_text(refusal))
                self._saved_refusals[endpoint] = refusal
