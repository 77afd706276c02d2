"""Fault injection: make chosen API calls slow, throttled, failing, stale or hanging.

A fault matches calls by method and route pattern (the keys of `FreshchatEmulator.calls`,
e.g. `("POST", "/v2/conversations/{id}/messages")`); leaving either out matches every
method or route. `times=N` arms it for the next N matching calls, `times=None` for all of them.

```python
faults.rate_limit(times=2, retry_after=1)                     # 2x 429 on any route
faults.server_error(status=503, route="/v2/conversations")    # every POST/GET there fails
faults.stale_conversation()                                   # next message post: stale 400
faults.latency(0.2, method="GET")
faults.hang(then_process=True)     # answer only after `release()`, then do the work anyway
faults.duplicate_webhooks(2)       # every webhook delivered twice
faults.clear()
```
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import Mapping
from typing import Any, Literal

import attrs

from ...clock import Clock, SystemClock
from ..routing import Response
from .wire import ApiError

__all__ = ["FAULT_KINDS", "Fault", "FaultKind", "Faults"]

FaultKind = Literal["latency", "status", "stale", "hang"]
FAULT_KINDS: tuple[FaultKind, ...] = ("latency", "status", "stale", "hang")
_STATUS_NAMES = {
    429: ("TOO_MANY_REQUESTS", "Too many requests, try again later"),
    500: ("INTERNAL_SERVER_ERROR", "Internal server error"),
    502: ("BAD_GATEWAY", "Bad gateway"),
    503: ("SERVICE_UNAVAILABLE", "Service unavailable"),
    504: ("GATEWAY_TIMEOUT", "Gateway timeout"),
}


def _retry_after_value(seconds: float) -> str:
    # Whole seconds as the header requires; fractions are allowed so tests can run fast.
    return str(int(seconds)) if float(seconds).is_integer() else f"{seconds:g}"


def _upper(method: str | None) -> str | None:
    return method.upper() if isinstance(method, str) else method


@attrs.frozen(kw_only=True)
class Fault:
    """One injected fault.

    - `latency`: wait `seconds` before handling the call (stacks with the other kinds).
    - `status`: answer `status` (429 with `Retry-After: retry_after` when given) in
      Freshchat's error shape, without handling the call.
    - `stale`: answer `400 INVALID_VALUE "Conversation <id> is not the latest conversation"`.
    - `hang`: answer nothing until `Faults.release()` (or `seconds`, when set); then answer
      504 without handling the call, or handle it normally when `then_process` (the
      "timed out, but it happened" case a client cannot tell apart).
    """

    kind: FaultKind
    method: str | None = attrs.field(default=None, converter=_upper)
    route: str | None = None
    times: int | None = None
    status: int = 500
    retry_after: float | None = None
    seconds: float | None = None
    then_process: bool = False

    def matches(self, method: str, route: str) -> bool:
        return (self.method is None or self.method == method) and (
            self.route is None or self.route == route
        )

    def to_json(self) -> dict[str, Any]:
        return attrs.asdict(self)

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> Fault:
        """A fault from its JSON form (`to_json`); `ValueError` names what is wrong."""
        kind = obj.get("kind")
        if kind not in FAULT_KINDS:
            raise ValueError(f"kind must be one of {', '.join(FAULT_KINDS)}")
        unknown = set(obj) - {f.name for f in attrs.fields(cls)}
        if unknown:
            raise ValueError(f"unknown fault fields: {', '.join(sorted(unknown))}")
        checks: dict[str, tuple[type | tuple[type, ...], bool]] = {
            "method": (str, True),
            "route": (str, True),
            "times": (int, True),
            "status": (int, False),
            "retry_after": ((int, float), True),
            "seconds": ((int, float), True),
            "then_process": (bool, False),
        }
        for name, (types, nullable) in checks.items():
            value = obj.get(name)
            if name not in obj or (value is None and nullable):
                continue
            if isinstance(value, bool) and types is not bool or not isinstance(value, types):
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


@attrs.define
class _Armed:
    fault: Fault
    remaining: int | None


class Faults:
    """The faults armed on one emulator, and how many copies of each webhook to send."""

    def __init__(self, clock: Clock | None = None) -> None:
        self._clock: Clock = clock or SystemClock()
        self._armed: list[_Armed] = []
        self._release = asyncio.Event()
        self.webhook_copies = 1

    def add(self, fault: Fault) -> Fault:
        self._armed.append(_Armed(fault, fault.times))
        return fault

    def latency(
        self,
        seconds: float,
        *,
        method: str | None = None,
        route: str | None = None,
        times: int | None = None,
    ) -> Fault:
        return self.add(
            Fault(kind="latency", seconds=seconds, method=method, route=route, times=times)
        )

    def rate_limit(
        self,
        times: int | None = 1,
        *,
        retry_after: float | None = None,
        method: str | None = None,
        route: str | None = None,
    ) -> Fault:
        """429 Too Many Requests, with `Retry-After` when `retry_after` is given."""
        return self.add(
            Fault(
                kind="status",
                status=429,
                retry_after=retry_after,
                method=method,
                route=route,
                times=times,
            )
        )

    def server_error(
        self,
        times: int | None = 1,
        *,
        status: int = 500,
        method: str | None = None,
        route: str | None = None,
    ) -> Fault:
        return self.add(
            Fault(kind="status", status=status, method=method, route=route, times=times)
        )

    def stale_conversation(
        self,
        times: int | None = 1,
        *,
        method: str | None = "POST",
        route: str | None = "/v2/conversations/{id}/messages",
    ) -> Fault:
        return self.add(Fault(kind="stale", method=method, route=route, times=times))

    def hang(
        self,
        times: int | None = 1,
        *,
        seconds: float | None = None,
        then_process: bool = False,
        method: str | None = None,
        route: str | None = None,
    ) -> Fault:
        return self.add(
            Fault(
                kind="hang",
                seconds=seconds,
                then_process=then_process,
                method=method,
                route=route,
                times=times,
            )
        )

    def duplicate_webhooks(self, copies: int) -> None:
        """Deliver every webhook `copies` times (1 turns duplicates off)."""
        if copies < 1:
            raise ValueError("copies must be at least 1")
        self.webhook_copies = copies

    @property
    def active(self) -> list[tuple[Fault, int | None]]:
        """Each armed fault with how many calls it still applies to (None: all)."""
        return [(a.fault, a.remaining) for a in self._armed]

    def clear(self) -> None:
        """Disarm every fault, end every hang and stop duplicating webhooks."""
        self._armed.clear()
        self.webhook_copies = 1
        self.release()

    def release(self) -> None:
        """End the hangs in progress; later hangs wait for the next release."""
        self._release.set()
        self._release = asyncio.Event()

    async def intercept(
        self, method: str, route: str, params: Mapping[str, str]
    ) -> Response | None:
        """Apply the faults armed for this call: the response to answer instead, or None."""
        for fault in self._take(method, route, latency=True):
            await self._clock.sleep(fault.seconds or 0.0)
        taken = self._take(method, route, latency=False)
        if not taken:
            return None
        fault = taken[0]
        if fault.kind == "hang":
            release = self._release
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(release.wait(), fault.seconds)
            return None if fault.then_process else _error(504)
        if fault.kind == "stale":
            conversation = params.get("id", "")
            return ApiError.invalid(
                f"Conversation {conversation} is not the latest conversation"
            ).response()
        return _error(fault.status, fault.retry_after)

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


def _error(status: int, retry_after: float | None = None) -> Response:
    name, message = _STATUS_NAMES.get(status, ("ERROR", f"HTTP {status}"))
    headers = {"Retry-After": _retry_after_value(retry_after)} if retry_after is not None else {}
    return ApiError(status, name, message, headers=headers).response()
