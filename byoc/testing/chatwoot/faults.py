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

from typing import ClassVar, Literal

import attrs

from ..emulation import faults as shared
from .wire import ApiError

__all__ = ["FAULT_KINDS", "Fault", "FaultKind", "Faults"]

FaultKind = Literal["latency", "status", "hang"]
FAULT_KINDS: tuple[FaultKind, ...] = ("latency", "status", "hang")
_PROXY_PAGE = (
    "<html>\r\n<head><title>{status} {reason}</title></head>\r\n<body>\r\n<center><h1>{status} "
    "{reason}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
)
_REASONS = {502: "Bad Gateway", 503: "Service Temporarily Unavailable", 504: "Gateway Time-out"}


@attrs.frozen(kw_only=True)
class Fault(shared.Fault):
    """One injected fault: `latency`, `status` or `hang` (see `byoc.testing.emulation.faults`)."""

    KINDS: ClassVar[tuple[shared.FaultKind, ...]] = FAULT_KINDS


class Faults(shared.FaultSet):
    """The faults armed on one emulator, answered as Chatwoot and its proxy would."""

    async def intercept(self, method: str, route: str) -> ApiError | None:
        """Apply the faults armed for this call: the error to answer instead, or None."""
        fault = await self.fired(method, route)
        if fault is None:
            return None
        if fault.kind == "hang":
            return _failure(504, None)
        return _failure(fault.status, fault.retry_after)


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
