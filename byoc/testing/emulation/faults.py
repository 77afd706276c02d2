"""Fault injection shared by the emulators: which calls to slow down, fail or hang.

A fault matches calls by method and route pattern (the keys of an emulator's `calls`);
leaving either out matches every method or route. `times=N` arms it for the next N matching
calls, `times=None` for all of them. Each emulator subclasses `Fault` to name the kinds it
knows and `FaultSet` to turn the fault that fired into its own error body: how an error reads
is part of the emulated wire format, so it stays with the emulator.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import Mapping
from typing import Any, ClassVar, Literal, TypeVar

import attrs
from typing_extensions import Self

from ...clock import Clock, SystemClock

__all__ = ["Fault", "FaultKind", "FaultSet"]

FaultKind = Literal["latency", "status", "stale", "hang"]
# field → (accepted types, may be null)
_FIELDS: dict[str, tuple[tuple[type, ...], bool]] = {
    "method": ((str,), True),
    "route": ((str,), True),
    "times": ((int,), True),
    "status": ((int,), False),
    "retry_after": ((int, float), True),
    "seconds": ((int, float), True),
    "then_process": ((bool,), False),
}


def _upper(method: str | None) -> str | None:
    return method.upper() if isinstance(method, str) else method


@attrs.frozen(kw_only=True)
class Fault:
    """One injected fault; `KINDS` are the kinds the emulator serving it knows.

    - `latency`: wait `seconds` before handling the call (stacks with the other kinds).
    - `status`: answer `status` (429 with `Retry-After: retry_after` when given) without
      handling the call.
    - `stale`: the emulator's own refusal of a call on a stale resource.
    - `hang`: answer nothing until `FaultSet.release()` (or `seconds`, when set); then answer
      504 without handling the call, or handle it normally when `then_process` (the "timed
      out, but it happened" case a client cannot tell apart).
    """

    KINDS: ClassVar[tuple[FaultKind, ...]] = ("latency", "status", "stale", "hang")

    kind: FaultKind
    method: str | None = attrs.field(default=None, converter=_upper)
    route: str | None = None
    times: int | None = None
    status: int = 500
    retry_after: float | None = None
    seconds: float | None = None
    then_process: bool = False

    def matches(self, method: str, route: str) -> bool:
        return self.method in (None, method) and self.route in (None, route)

    def to_json(self) -> dict[str, Any]:
        return attrs.asdict(self)

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> Self:
        """A fault from its JSON form (`to_json`); `ValueError` names what is wrong."""
        if obj.get("kind") not in cls.KINDS:
            raise ValueError(f"kind must be one of {', '.join(cls.KINDS)}")
        unknown = set(obj) - {f.name for f in attrs.fields(cls)}
        if unknown:
            raise ValueError(f"unknown fault fields: {', '.join(sorted(unknown))}")
        for name, (types, nullable) in _FIELDS.items():
            value = obj.get(name)
            if name not in obj or (value is None and nullable):
                continue
            if (isinstance(value, bool) and bool not in types) or not isinstance(value, types):
                raise ValueError(f"{name} has the wrong type")
        fault = cls(**obj)
        if fault.times is not None and fault.times < 1:
            raise ValueError("times must be at least 1 (or null for every call)")
        if not 400 <= fault.status <= 599:
            raise ValueError("status must be a 4xx or 5xx code")
        for name in ("retry_after", "seconds"):
            value = getattr(fault, name)
            if value is not None and not (math.isfinite(value) and value >= 0):
                raise ValueError(f"{name} must be a finite number of seconds, at least 0")
        return fault


_F = TypeVar("_F", bound=Fault)


@attrs.define
class _Armed:
    fault: Fault
    remaining: int | None


class FaultSet:
    """The faults armed on one emulator, and how many copies of each webhook to deliver."""

    def __init__(self, clock: Clock | None = None) -> None:
        self._clock: Clock = clock or SystemClock()
        self._armed: list[_Armed] = []
        self._release = asyncio.Event()
        self._hanging = asyncio.Event()
        self.webhook_copies = 1

    def add(self, fault: _F) -> _F:
        self._armed.append(_Armed(fault, fault.times))
        return fault

    def duplicate_webhooks(self, copies: int) -> None:
        """Deliver every webhook `copies` times (1 turns duplicates off)."""
        if copies < 1:
            raise ValueError("copies must be at least 1")
        self.webhook_copies = copies

    @property
    def active(self) -> list[tuple[Fault, int | None]]:
        """Each armed fault with how many calls it still applies to (None: all)."""
        return [(armed.fault, armed.remaining) for armed in self._armed]

    def clear(self) -> None:
        """Disarm every fault, end every hang and stop duplicating webhooks."""
        self._armed.clear()
        self.webhook_copies = 1
        self.release()

    def release(self) -> None:
        """End the hangs in progress; later hangs wait for the next release."""
        self._release.set()
        self._release = asyncio.Event()
        self._hanging = asyncio.Event()

    async def hanging(self) -> None:
        """Wait until a call hangs (one that hung since the last `release()` counts)."""
        await self._hanging.wait()

    async def fired(self, method: str, route: str) -> Fault | None:
        """Apply the faults armed for this call: the one to answer for, or None to handle it.

        Latencies are slept here and hangs waited out; a hang that ends without
        `then_process` comes back as the fault (the emulator answers it with a 504).
        """
        for fault in self._take(method, route, latency=True):
            await self._clock.sleep(fault.seconds or 0.0)
        taken = self._take(method, route, latency=False)
        if not taken:
            return None
        fault = taken[0]
        if fault.kind == "hang":
            release = self._release
            self._hanging.set()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(release.wait(), fault.seconds)
            return None if fault.then_process else fault
        return fault

    def _take(self, method: str, route: str, *, latency: bool) -> list[Fault]:
        """Consume the matching faults of one group: every latency, or the first other one."""
        taken: list[Fault] = []
        for armed in list(self._armed):
            if (armed.fault.kind == "latency") != latency or not armed.fault.matches(method, route):
                continue
            if armed.remaining is not None:
                armed.remaining -= 1
                if armed.remaining == 0:
                    self._armed.remove(armed)
            taken.append(armed.fault)
            if not latency:
                break
        return taken
