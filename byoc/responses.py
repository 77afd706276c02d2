"""Calling the peers byoc talks to (help desks, channel APIs) and reading whatever they answer.

Each client maps a peer's own refusals (what a 404 means differs per API); what every client
does alike is here, once:

- `transport_errors(what, ...)`: a failed exchange as byoc's errors (a timeout or a lost
  connection is retryable; a URL httpx cannot use is a setting to fix).
- `raise_transient(response, said=...)`: the statuses whose meaning is the same everywhere: a
  redirect (a wrong URL setting), 408, 429 and 5xx (try again, after `Retry-After`).

- `json_object(response, what=...)`: the JSON object of a 2xx answer (`{}` for no body), or a
  `PermanentError`: the call succeeded, so an unreadable body must not become a retry (a POST
  would be repeated).
- `summary(text)`: one readable line of a body that is not JSON (an HTML error page's title,
  else its text without tags), for error messages and logs.
- `parse_retry_after(value, now=...)`: seconds to wait from a `Retry-After` header.

```python
with transport_errors(what, timeout=15.0, url_help="set BYOC_X_URL"):
    response = await http.get(url, timeout=15.0)
raise_transient(response, said=f"{what} answered {response.status_code}", url_help="...")
payload = json_object(response, what=what)
```
"""

from __future__ import annotations

import contextlib
import email.utils
import html
import json
import math
import re
import time
from collections.abc import Iterator
from datetime import timezone
from typing import Any

import httpx

from .errors import ConfigurationError, PermanentError, RateLimited, RetryableError

__all__ = [
    "json_object",
    "parse_retry_after",
    "raise_transient",
    "summary",
    "transport_errors",
]

_DELTA_SECONDS = re.compile(r"^\d+(\.\d+)?$")
_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)
_SCRIPT = re.compile(r"<(script|style)\b.*?</\1>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]+>")


@contextlib.contextmanager
def transport_errors(what: str, *, timeout: float, url_help: str) -> Iterator[None]:
    """Turn httpx's failures inside the block into byoc's errors, naming the call `what`."""
    try:
        yield
    except httpx.TimeoutException as exc:
        raise RetryableError(
            f"{what} timed out after {timeout:g} s ({type(exc).__name__})"
        ) from exc
    except httpx.UnsupportedProtocol as exc:
        raise ConfigurationError(f"{what}: {exc}; {url_help}") from exc
    except httpx.TransportError as exc:
        raise RetryableError(f"{what} failed: {type(exc).__name__}: {exc}") from exc


def raise_transient(response: httpx.Response, *, said: str, url_help: str) -> None:
    """Raise for a redirect, 408, 429 or 5xx; `said` is the message (the call and its answer)."""
    code = response.status_code
    if code == 429 or code == 408 or code >= 500:
        retry_after = parse_retry_after(response.headers.get("retry-after"), now=time.time())
        kind = RateLimited if code == 429 else RetryableError
        raise kind(said, retry_after=retry_after)
    if 300 <= code < 400:
        location = response.headers.get("location", "elsewhere")
        raise ConfigurationError(f"{said} (a redirect to {location}); {url_help}")


def json_object(response: httpx.Response, *, what: str) -> dict[str, Any]:
    """The JSON object `response` carries; `what` names the call in the error."""
    if not response.content.strip():
        return {}
    try:
        payload = json.loads(response.content)
    except (ValueError, RecursionError) as exc:
        text = response.content.decode("utf-8", errors="replace")
        raise PermanentError(
            f"{what} answered {response.status_code} with a body that is not JSON: {summary(text)}"
        ) from exc
    if not isinstance(payload, dict):
        raise PermanentError(
            f"{what} answered {response.status_code} with JSON {type(payload).__name__}, "
            "not an object"
        )
    return payload


def summary(text: str, limit: int = 200) -> str:
    """One readable line from a body that is not JSON: an HTML page's title, else its text."""
    title = _TITLE.search(text)
    plain = title.group(1) if title else _TAG.sub(" ", _SCRIPT.sub(" ", text))
    line = " ".join(html.unescape(plain).split())
    if not line:
        return "(empty body)"
    return line if len(line) <= limit else line[: limit - 1] + "…"


def parse_retry_after(value: str | None, *, now: float) -> float | None:
    """Seconds to wait from a `Retry-After` header (delta-seconds or an HTTP-date); None when
    absent or unreadable. A date in the past means "now" (0.0)."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    if _DELTA_SECONDS.match(value):
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    seconds = when.timestamp() - now
    return max(0.0, seconds) if math.isfinite(seconds) else None
