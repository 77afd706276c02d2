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

from collections.abc import Mapping
from typing import ClassVar, Literal

import attrs

from ..emulation import faults as shared
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


@attrs.frozen(kw_only=True)
class Fault(shared.Fault):
    """One injected fault (see `byoc.testing.emulation.faults`); `status` answers in
    Freshchat's error shape, and `stale` answers `400 INVALID_VALUE "Conversation <id> is not
    the latest conversation"`.
    """

    KINDS: ClassVar[tuple[shared.FaultKind, ...]] = FAULT_KINDS


class Faults(shared.FaultSet):
    """The faults armed on one emulator, answered in Freshchat's error shape."""

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

    async def intercept(
        self, method: str, route: str, params: Mapping[str, str]
    ) -> Response | None:
        """Apply the faults armed for this call: the response to answer instead, or None."""
        fault = await self.fired(method, route)
        if fault is None:
            return None
        if fault.kind == "hang":
            return _error(504)
        if fault.kind == "stale":
            conversation = params.get("id", "")
            return ApiError.invalid(
                f"Conversation {conversation} is not the latest conversation"
            ).response()
        return _error(fault.status, fault.retry_after)


def _error(status: int, retry_after: float | None = None) -> Response:
    name, message = _STATUS_NAMES.get(status, ("ERROR", f"HTTP {status}"))
    headers = {"Retry-After": _retry_after_value(retry_after)} if retry_after is not None else {}
    return ApiError(status, name, message, headers=headers).response()
