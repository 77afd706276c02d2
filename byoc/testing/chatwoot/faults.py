"""Fault injection: make chosen API calls slow, throttled, failing or hanging.

A fault matches calls by method and route pattern (the keys of `ChatwootEmulator.calls`, e.g.
`("POST", "/api/v1/accounts/{account_id}/conversations/{id}/messages")`); leaving either out
matches every method or route. `times=N` arms it for the next N matching calls, None for all.
Each status answers in the body the real path would give: Rack::Attack's text for 429, Rails'
JSON for 500, the proxy's HTML page for 502, 503 and 504.

```python
faults.add(Fault(kind="status", status=429, times=2, retry_after=1))
faults.add(Fault(kind="status", status=503, route=MESSAGES))
faults.add(Fault(kind="latency", seconds=0.2, method="GET"))
faults.add(Fault(kind="hang", then_process=True))   # answer only after `release()`, do it anyway
faults.webhook_copies = 2                           # every webhook delivered twice
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
from .wire import ApiError

__all__ = ["FAULT_KINDS", "Fault", "FaultKind", "Faults"]

FaultKind = Literal["latency", "status", "hang"]
FAULT_KINDS: tuple[FaultKind, ...] = ("latency", "status", "hang")
_PROXY_PAGE = (
    "<html>\r\n<head><title>{status} {reason}</title></head>\r\n<body>\r\n<center><h1>{status} "
    "{reason}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
)
_REASONS = {502: "Bad Gateway", 503: "Service Temporarily Unavailable", 504: "Gateway Time-out"}
# field → (accepted types, may be null)
_FIELDS: dict[str, tuple[tuple[type, ...], bool]] = {
    "kind": ((str,), False),
    "method": ((str,), True),
    "route": ((str,), True),
    "times": ((int,), True),
    "status": ((int,), False),
    "retry_after": ((int, float), True),
    "seconds": ((int, float), True),
    "then_process": ((bool,), False),
}


def _upper(value: str | None) -> str | None:
    return value.upper() if isinstance(value, str) else value


@attrs.frozen(kw_only=True)
class Fault:
    """One injected fault.

    - `latency`: wait `seconds` before handling the call (adds to the other kinds).
    - `status`: answer `status` instead of handling the call (429 with `Retry-After:
      retry_after` when given).
    - `hang`: answer nothing until `Faults.release()` (or `seconds`); then 504 without handling
      the call, or handle it normally when `then_process` (it timed out, but it happened).
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
        return self.method in (None, method) and self.route in (None, route)

    def to_json(self) -> dict[str, Any]:
        return attrs.asdict(self)

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> Fault:
        """A fault from its JSON form; `ValueError` says which field is wrong."""
        for name, value in obj.items():
            if name not in _FIELDS:
                raise ValueError(f"unknown fault field {name!r}")
            types, nullable = _FIELDS[name]
            wrong = isinstance(value, bool) and bool not in types
            if (value is None and not nullable) or (
                value is not None and (wrong or not isinstance(value, types))
            ):
                raise ValueError(f"fault field {name!r} has the wrong type")
        if obj.get("kind") not in FAULT_KINDS:
            raise ValueError(f"kind must be one of {', '.join(FAULT_KINDS)}")
        fault = cls(**obj)
        if fault.times is not None and fault.times < 1:
            raise ValueError("times must be at least 1 (or null for every call)")
        if not 400 <= fault.status <= 599:
            raise ValueError("status must be a 4xx or 5xx code")
        if any(
            v is not None and not (math.isfinite(v) and v >= 0)
            for v in (
                fault.retry_after,
                fault.seconds,
            )
        ):
            raise ValueError("retry_after and seconds must be finite and at least 0")
        return fault


class Faults:
    """The faults armed on one emulator, and how many copies of each webhook to deliver."""

    def __init__(self, clock: Clock | None = None) -> None:
        self._clock: Clock = clock or SystemClock()
        self._armed: list[list[Any]] = []  # [fault, calls left or None]
        self._release = asyncio.Event()
        self._hanging = asyncio.Event()
        self.webhook_copies = 1

    def add(self, fault: Fault) -> Fault:
        self._armed.append([fault, fault.times])
        return fault

    @property
    def active(self) -> list[tuple[Fault, int | None]]:
        """Each armed fault with how many calls it still applies to (None: all)."""
        return [(fault, left) for fault, left in self._armed]

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

    async def intercept(self, method: str, route: str) -> ApiError | None:
        """Apply the faults armed for this call: the error to answer instead, or None."""
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
            return None if fault.then_process else _failure(504, None)
        return _failure(fault.status, fault.retry_after)

    def _take(self, method: str, route: str, *, latency: bool) -> list[Fault]:
        """Consume the matching faults of one group: every latency, or the first other one."""
        taken: list[Fault] = []
        for entry in list(self._armed):
            fault, left = entry
            if (fault.kind == "latency") != latency or not fault.matches(method, route):
                continue
            if left is not None:
                entry[1] = left - 1
                if entry[1] == 0:
                    self._armed.remove(entry)
            taken.append(fault)
            if not latency:
                break
        return taken


def _failure(status: int, retry_after: float | None) -> ApiError:
    if status == 429:
        return ApiError.throttled(retry_after)
    headers = {"Retry-After": f"{retry_after:g}"} if retry_after is not None else {}
    if status in _REASONS:
        page = _PROXY_PAGE.format(status=status, reason=_REASONS[status])
        return ApiError(status, page, content_type="text/html", headers=headers)
    if status >= 500:
        body = {"status": status, "error": "Internal Server Error"}
        return ApiError(status, body, headers=headers)
    return ApiError(status, {"error": f"injected {status}"}, headers=headers)
